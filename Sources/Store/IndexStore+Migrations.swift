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
        return m
    }
}
