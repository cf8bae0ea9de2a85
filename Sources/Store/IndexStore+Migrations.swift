import GRDB

extension IndexStore {
    /// Migrations are history: append new ones, never edit a landed one.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: images, embeddings, jobs, watches, prompt search") { db in
            try db.execute(sql: """
                CREATE TABLE image (
                    id INTEGER PRIMARY KEY,
                    path TEXT NOT NULL UNIQUE,
                    contentHash TEXT,
                    size INTEGER NOT NULL,
                    mtimeNs INTEGER NOT NULL,
                    width INTEGER,
                    height INTEGER,
                    format TEXT,
                    status TEXT NOT NULL CHECK (status IN ('indexed', 'failed')),
                    error TEXT,
                    metadataJSON TEXT,
                    prompt TEXT,
                    negativePrompt TEXT,
                    source TEXT,
                    caption TEXT,
                    keywordsJSON TEXT,
                    indexedAt REAL NOT NULL
                );
                CREATE INDEX image_contentHash ON image(contentHash);
                CREATE TABLE embedding (
                    imageId INTEGER NOT NULL REFERENCES image(id) ON DELETE CASCADE,
                    kind TEXT NOT NULL,
                    vector BLOB NOT NULL,
                    PRIMARY KEY (imageId, kind)
                );
                CREATE TABLE job (
                    id INTEGER PRIMARY KEY,
                    path TEXT NOT NULL UNIQUE,
                    reason TEXT NOT NULL,
                    enqueuedAt REAL NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    startedAt REAL
                );
                CREATE TABLE watch (
                    path TEXT PRIMARY KEY,
                    addedAt REAL NOT NULL
                );
                CREATE VIRTUAL TABLE image_prompt USING fts5(prompt, content='image', content_rowid='id');
                CREATE TRIGGER image_prompt_ai AFTER INSERT ON image BEGIN
                    INSERT INTO image_prompt(rowid, prompt) VALUES (new.id, new.prompt);
                END;
                CREATE TRIGGER image_prompt_ad AFTER DELETE ON image BEGIN
                    INSERT INTO image_prompt(image_prompt, rowid, prompt) VALUES ('delete', old.id, old.prompt);
                END;
                CREATE TRIGGER image_prompt_au AFTER UPDATE OF prompt ON image BEGIN
                    INSERT INTO image_prompt(image_prompt, rowid, prompt) VALUES ('delete', old.id, old.prompt);
                    INSERT INTO image_prompt(rowid, prompt) VALUES (new.id, new.prompt);
                END;
                """)
        }
        m.registerMigration("v2: learning: alignment and tier per image, imported prompt bank, training state") { db in
            try db.execute(sql: """
                ALTER TABLE image ADD COLUMN alignment REAL;
                ALTER TABLE image ADD COLUMN tier TEXT CHECK (tier IN ('easy', 'medium', 'hard'));
                CREATE TABLE prompt_bank (
                    id INTEGER PRIMARY KEY,
                    prompt TEXT NOT NULL UNIQUE,
                    source TEXT NOT NULL,
                    embedding BLOB NOT NULL,
                    addedAt REAL NOT NULL
                );
                CREATE TABLE training_state (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                );
                """)
        }
        m.registerMigration("v3: a job queued again while it runs is run again") { db in
            // Set by `enqueue` when the file changed (IN_CLOSE_WRITE, a
            // reconcile) while a worker had the job: completing the job then
            // puts it back in the queue instead of deleting it.
            try db.execute(sql: "ALTER TABLE job ADD COLUMN requeued INTEGER NOT NULL DEFAULT 0")
        }
        m.registerMigration("v4: counts kept by triggers, distinct labelled contents, the search matrix's change log") { db in
            // `index_counts` is kept exact by triggers in the transaction of
            // every write, so counting never scans; `labelled_content` counts
            // each labelled content once (copies are one example);
            // `search_dirty` names the images whose search rows (predicted and
            // known-prompt embeddings of indexed images) a transaction
            // changed: IndexStore.write drains it before the commit and hands
            // the new rows to the search matrix (see IndexStore+SearchRows).
            try db.execute(sql: """
                CREATE TABLE index_counts (
                    one INTEGER PRIMARY KEY CHECK (one = 1),
                    indexed INTEGER NOT NULL, failed INTEGER NOT NULL, withPrompt INTEGER NOT NULL,
                    labelledContents INTEGER NOT NULL, queued INTEGER NOT NULL
                );
                CREATE TABLE labelled_content (contentHash TEXT PRIMARY KEY, copies INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE search_dirty (imageId INTEGER PRIMARY KEY);
                INSERT INTO labelled_content (contentHash, copies)
                    SELECT contentHash, count(*) FROM image
                    WHERE status = 'indexed' AND prompt IS NOT NULL AND contentHash IS NOT NULL GROUP BY contentHash;
                INSERT INTO index_counts VALUES (1,
                    (SELECT count(*) FROM image WHERE status = 'indexed'), (SELECT count(*) FROM image WHERE status = 'failed'),
                    (SELECT count(*) FROM image WHERE prompt IS NOT NULL), (SELECT count(*) FROM labelled_content),
                    (SELECT count(*) FROM job));

                CREATE TRIGGER labelled_content_ai AFTER INSERT ON labelled_content BEGIN
                    UPDATE index_counts SET labelledContents = labelledContents + 1;
                END;
                CREATE TRIGGER labelled_content_ad AFTER DELETE ON labelled_content BEGIN
                    UPDATE index_counts SET labelledContents = labelledContents - 1;
                END;
                CREATE TRIGGER index_counts_job_ai AFTER INSERT ON job BEGIN
                    UPDATE index_counts SET queued = queued + 1;
                END;
                CREATE TRIGGER index_counts_job_ad AFTER DELETE ON job BEGIN
                    UPDATE index_counts SET queued = queued - 1;
                END;

                CREATE TRIGGER index_counts_image_ai AFTER INSERT ON image BEGIN
                    UPDATE index_counts SET indexed = indexed + (new.status = 'indexed'), failed = failed + (new.status = 'failed'),
                        withPrompt = withPrompt + (new.prompt IS NOT NULL);
                    INSERT INTO labelled_content (contentHash, copies) SELECT new.contentHash, 1
                        WHERE new.status = 'indexed' AND new.prompt IS NOT NULL AND new.contentHash IS NOT NULL
                        ON CONFLICT(contentHash) DO UPDATE SET copies = copies + 1;
                END;
                CREATE TRIGGER index_counts_image_ad AFTER DELETE ON image BEGIN
                    UPDATE index_counts SET indexed = indexed - (old.status = 'indexed'), failed = failed - (old.status = 'failed'),
                        withPrompt = withPrompt - (old.prompt IS NOT NULL);
                    UPDATE labelled_content SET copies = copies - 1
                        WHERE contentHash = old.contentHash AND old.status = 'indexed' AND old.prompt IS NOT NULL;
                    DELETE FROM labelled_content WHERE contentHash = old.contentHash AND copies <= 0;
                    INSERT OR IGNORE INTO search_dirty (imageId) VALUES (old.id);
                END;
                CREATE TRIGGER index_counts_image_au AFTER UPDATE OF status, prompt, contentHash ON image BEGIN
                    UPDATE index_counts SET
                        indexed = indexed - (old.status = 'indexed') + (new.status = 'indexed'),
                        failed = failed - (old.status = 'failed') + (new.status = 'failed'),
                        withPrompt = withPrompt - (old.prompt IS NOT NULL) + (new.prompt IS NOT NULL);
                    UPDATE labelled_content SET copies = copies - 1
                        WHERE contentHash = old.contentHash AND old.status = 'indexed' AND old.prompt IS NOT NULL;
                    DELETE FROM labelled_content WHERE contentHash = old.contentHash AND copies <= 0;
                    INSERT INTO labelled_content (contentHash, copies) SELECT new.contentHash, 1
                        WHERE new.status = 'indexed' AND new.prompt IS NOT NULL AND new.contentHash IS NOT NULL
                        ON CONFLICT(contentHash) DO UPDATE SET copies = copies + 1;
                    INSERT OR IGNORE INTO search_dirty (imageId) VALUES (new.id);
                END;

                CREATE TRIGGER search_dirty_embedding_ai AFTER INSERT ON embedding
                    WHEN new.kind IN ('prompt.predicted', 'prompt.known') BEGIN
                    INSERT OR IGNORE INTO search_dirty (imageId) VALUES (new.imageId);
                END;
                CREATE TRIGGER search_dirty_embedding_au AFTER UPDATE ON embedding
                    WHEN new.kind IN ('prompt.predicted', 'prompt.known') OR old.kind IN ('prompt.predicted', 'prompt.known') BEGIN
                    INSERT OR IGNORE INTO search_dirty (imageId) VALUES (old.imageId);
                    INSERT OR IGNORE INTO search_dirty (imageId) VALUES (new.imageId);
                END;
                CREATE TRIGGER search_dirty_embedding_ad AFTER DELETE ON embedding
                    WHEN old.kind IN ('prompt.predicted', 'prompt.known') BEGIN
                    INSERT OR IGNORE INTO search_dirty (imageId) VALUES (old.imageId);
                END;
                """)
        }
        m.registerMigration("v5: the prompt index's vocabulary (document frequency per word, for search's lexical evidence), images by prompt") { db in
            try db.execute(sql: "CREATE VIRTUAL TABLE image_prompt_vocab USING fts5vocab(image_prompt, row)")
            // Images of one prompt (seed variations) are one search result.
            try db.execute(sql: "CREATE INDEX image_by_prompt ON image(prompt) WHERE prompt IS NOT NULL")
        }
        m.registerMigration("v6: search matches the prompt's words without its syntax: image.searchText, the full-text index over it, prompt.search rows") { db in
            // `searchText` is `PromptText.searchText(prompt)` ("(red:1.3) fox,
            // <lora:foo_v2:0.8>" is "red fox"): what the full-text index
            // holds. The raw prompt stays what revsd shows and what training
            // targets. Images indexed before have none (cleaning took 0.7 ms
            // a prompt of the real corpus in a debug build: twelve minutes at
            // a million, too long for a start): the index holds their raw
            // prompt, as before, until an idle worker sets it with their
            // `prompt.search` (IndexStore+SearchText), through the view.
            try db.execute(sql: """
                ALTER TABLE image ADD COLUMN searchText TEXT;
                CREATE VIEW image_search_text AS SELECT id, coalesce(searchText, prompt) AS searchText FROM image;
                DROP TABLE image_prompt_vocab;
                DROP TRIGGER image_prompt_ai; DROP TRIGGER image_prompt_ad; DROP TRIGGER image_prompt_au;
                DROP TABLE image_prompt;
                CREATE VIRTUAL TABLE image_prompt USING fts5(searchText, content='image_search_text', content_rowid='id');
                CREATE TRIGGER image_prompt_ai AFTER INSERT ON image BEGIN
                    INSERT INTO image_prompt(rowid, searchText) VALUES (new.id, coalesce(new.searchText, new.prompt));
                END;
                CREATE TRIGGER image_prompt_ad AFTER DELETE ON image BEGIN
                    INSERT INTO image_prompt(image_prompt, rowid, searchText) VALUES ('delete', old.id, coalesce(old.searchText, old.prompt));
                END;
                CREATE TRIGGER image_prompt_au AFTER UPDATE OF prompt, searchText ON image BEGIN
                    INSERT INTO image_prompt(image_prompt, rowid, searchText) VALUES ('delete', old.id, coalesce(old.searchText, old.prompt));
                    INSERT INTO image_prompt(rowid, searchText) VALUES (new.id, coalesce(new.searchText, new.prompt));
                END;
                INSERT INTO image_prompt(image_prompt) VALUES ('rebuild');
                CREATE VIRTUAL TABLE image_prompt_vocab USING fts5vocab(image_prompt, row);
                """)
            // `prompt.search` (ImageAnalyzer.searchEmbeddings) is a search row
            // like the two others. Until an image has one, its `prompt.known`
            // stands in (IndexStore.searchRowClause).
            try db.execute(sql: """
                DROP TRIGGER search_dirty_embedding_ai; DROP TRIGGER search_dirty_embedding_au; DROP TRIGGER search_dirty_embedding_ad;
                CREATE TRIGGER search_dirty_embedding_ai AFTER INSERT ON embedding
                    WHEN new.kind IN ('prompt.predicted', 'prompt.known', 'prompt.search') BEGIN
                    INSERT OR IGNORE INTO search_dirty (imageId) VALUES (new.imageId);
                END;
                CREATE TRIGGER search_dirty_embedding_au AFTER UPDATE ON embedding
                    WHEN new.kind IN ('prompt.predicted', 'prompt.known', 'prompt.search')
                      OR old.kind IN ('prompt.predicted', 'prompt.known', 'prompt.search') BEGIN
                    INSERT OR IGNORE INTO search_dirty (imageId) VALUES (old.imageId);
                    INSERT OR IGNORE INTO search_dirty (imageId) VALUES (new.imageId);
                END;
                CREATE TRIGGER search_dirty_embedding_ad AFTER DELETE ON embedding
                    WHEN old.kind IN ('prompt.predicted', 'prompt.known', 'prompt.search') BEGIN
                    INSERT OR IGNORE INTO search_dirty (imageId) VALUES (old.imageId);
                END;
                """)
        }
        m.registerMigration("v7: the gallery: indexed images by mtime, contents whose last indexed image went (their thumbnails go)") { db in
            // `images` pages newest first and `image` finds its neighbours by
            // (mtimeNs, id) through `image_by_mtime`, never by sorting the
            // library; whether a copy is its content's newest (one card per
            // content), and how many contents a page's filters keep, are
            // answered from `image_copies_by_mtime` alone.
            // `content_gone` names each content hash whose indexed image was
            // deleted, changed content or failed, in the transaction that did
            // it: the daemon drains it and removes the thumbnails of those no
            // indexed image holds any more (IndexStore.takeGoneContents).
            // Not `INSERT OR IGNORE`: inside the upsert that stores a file
            // (`INSERT … ON CONFLICT DO UPDATE`), SQLite applies the outer
            // statement's conflict policy to the trigger's insert, so a hash
            // already recorded failed the whole store.
            try db.execute(sql: """
                CREATE INDEX image_by_mtime ON image(mtimeNs, id) WHERE status = 'indexed';
                CREATE INDEX image_copies_by_mtime ON image(contentHash, mtimeNs, id) WHERE status = 'indexed';
                CREATE TABLE content_gone (contentHash TEXT PRIMARY KEY) WITHOUT ROWID;
                CREATE TRIGGER content_gone_ad AFTER DELETE ON image
                    WHEN old.contentHash IS NOT NULL AND old.status = 'indexed' BEGIN
                    INSERT INTO content_gone (contentHash) SELECT old.contentHash
                        WHERE NOT EXISTS (SELECT 1 FROM content_gone WHERE contentHash = old.contentHash);
                END;
                CREATE TRIGGER content_gone_au AFTER UPDATE OF contentHash, status ON image
                    WHEN old.contentHash IS NOT NULL AND old.status = 'indexed'
                        AND (new.contentHash IS NOT old.contentHash OR new.status != 'indexed') BEGIN
                    INSERT INTO content_gone (contentHash) SELECT old.contentHash
                        WHERE NOT EXISTS (SELECT 1 FROM content_gone WHERE contentHash = old.contentHash);
                END;
                """)
        }
        m.registerMigration("v8: two phases: searchable by the known prompt first, analysed (pixels) after, its queue by image id") { db in
            // Phase 1 (the path's job) stores an image with its metadata and
            // its known prompt's embeddings, `analysed = 0`, and an
            // `analysis_queue` item for its id, in the transaction that
            // completes the job; phase 2 decodes it, runs the encoders and
            // stores features, prediction, caption and keywords, setting
            // `analysed = 1` and deleting the item in one transaction, when
            // the row still holds the content the item names
            // (IndexStore+Analysis). The item follows its image: a move keeps
            // the id, a delete cascades. `startedAt`/`attempts` as for jobs:
            // an item that was in progress at `maxAttempts` starts is given
            // up on (the image is recorded failed). `notBefore`: an item whose
            // file was missing is looked at again after a while (its move or
            // delete event is on its way). Images indexed before were
            // analysed in one pass: 1.
            // index_counts gains `analysed` (indexed and analysed),
            // `searchable` (indexed and with a search row: a known prompt,
            // or a prediction once analysed) and `analysisQueued`.
            try db.execute(sql: """
                ALTER TABLE image ADD COLUMN analysed INTEGER NOT NULL DEFAULT 1;
                CREATE TABLE analysis_queue (
                    imageId INTEGER PRIMARY KEY REFERENCES image(id) ON DELETE CASCADE,
                    contentHash TEXT NOT NULL,
                    enqueuedAt REAL NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    startedAt REAL,
                    notBefore REAL
                );
                ALTER TABLE index_counts ADD COLUMN analysed INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE index_counts ADD COLUMN searchable INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE index_counts ADD COLUMN analysisQueued INTEGER NOT NULL DEFAULT 0;
                UPDATE index_counts SET
                    analysed = (SELECT count(*) FROM image WHERE status = 'indexed' AND analysed = 1),
                    searchable = (SELECT count(*) FROM image WHERE status = 'indexed' AND (analysed = 1 OR prompt IS NOT NULL));

                CREATE TRIGGER index_counts_analysis_ai AFTER INSERT ON analysis_queue BEGIN
                    UPDATE index_counts SET analysisQueued = analysisQueued + 1;
                END;
                CREATE TRIGGER index_counts_analysis_ad AFTER DELETE ON analysis_queue BEGIN
                    UPDATE index_counts SET analysisQueued = analysisQueued - 1;
                END;
                CREATE TRIGGER index_counts_phases_ai AFTER INSERT ON image BEGIN
                    UPDATE index_counts SET
                        analysed = analysed + (new.status = 'indexed' AND new.analysed = 1),
                        searchable = searchable + (new.status = 'indexed' AND (new.analysed = 1 OR new.prompt IS NOT NULL));
                END;
                CREATE TRIGGER index_counts_phases_ad AFTER DELETE ON image BEGIN
                    UPDATE index_counts SET
                        analysed = analysed - (old.status = 'indexed' AND old.analysed = 1),
                        searchable = searchable - (old.status = 'indexed' AND (old.analysed = 1 OR old.prompt IS NOT NULL));
                END;
                CREATE TRIGGER index_counts_phases_au AFTER UPDATE OF status, prompt, analysed ON image BEGIN
                    UPDATE index_counts SET
                        analysed = analysed - (old.status = 'indexed' AND old.analysed = 1) + (new.status = 'indexed' AND new.analysed = 1),
                        searchable = searchable - (old.status = 'indexed' AND (old.analysed = 1 OR old.prompt IS NOT NULL))
                                                + (new.status = 'indexed' AND (new.analysed = 1 OR new.prompt IS NOT NULL));
                END;
                """)
        }
        m.registerMigration("v9: failed files by time") { db in
            // `status` lists the 20 most recent failures on every call, and
            // `failed` pages through them: along this index, not by reading
            // every image (25.6 ms a status at 100k images, bench/RESULTS.md).
            try db.execute(sql: "CREATE INDEX image_failed_by_time ON image(indexedAt, id) WHERE status = 'failed'")
        }
        m.registerMigration("v10: what made each prediction (image.predictionOrigin)") { db in
            // Search weighs a zero-shot prediction by zero-shot's measured
            // cosine to the truth, a learned one by the model's
            // (`PredictionOrigin`); NULL for the predictions stored before.
            try db.execute(sql: "ALTER TABLE image ADD COLUMN predictionOrigin TEXT")
        }
        return m
    }
}
