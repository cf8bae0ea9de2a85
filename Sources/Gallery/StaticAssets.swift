import HTTPTypes
import Hummingbird
import NIOCore

/// The page's only script and stylesheet, served by revsd-web itself
/// (nothing from the internet: no framework, CDN or web font). The pages
/// work without the script; it adds search as you type, the keyboard and
/// the copy button. Data reaches it through data- attributes and links.
enum StaticAssets {
    static func response(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "private, max-age=3600"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static let javascript = #"""
    "use strict";
    (function () {
      var page = document.body.dataset.page;
      var q = document.getElementById("q");
      var timer = null;
      var pending = null;

      // The search as you type: the #results fragment of /grid, ~250 ms after the last key.
      function searchParams() {
        var filters = document.getElementById("filters");
        var params = filters ? new URLSearchParams(new FormData(filters)) : new URLSearchParams();
        params.set("q", q.value);
        params.delete("page");
        var out = new URLSearchParams();
        params.forEach(function (v, k) { if (v !== "") out.append(k, v); });
        return out.toString();
      }

      function search() {
        var results = document.getElementById("results");
        if (!results) { window.location.href = "/?" + searchParams(); return; }
        var query = searchParams();
        if (pending) pending.abort();
        pending = new AbortController();
        fetch("/grid" + (query ? "?" + query : ""), { credentials: "same-origin", signal: pending.signal })
          .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
          .then(function (html) {
            results.innerHTML = html;
            var hidden = document.querySelector("#filters input[name=q]");
            if (hidden) hidden.value = q.value;
            history.replaceState(null, "", query ? "/?" + query : "/");
            rememberGrid();
          })
          .catch(function () { /* the form still works without it */ });
      }

      if (q && page === "library") {
        q.addEventListener("input", function () {
          clearTimeout(timer);
          timer = setTimeout(search, 250);
        });
      }

      // Esc on an image page returns to the grid it was opened from (this tab's last one).
      function lastGrid() {
        try { return sessionStorage.getItem("revsd-grid") || "/"; } catch (e) { return "/"; }
      }
      function rememberGrid() {
        try { sessionStorage.setItem("revsd-grid", location.pathname + location.search); } catch (e) { /* private mode */ }
      }
      if (page === "library") {
        rememberGrid();
        window.addEventListener("popstate", rememberGrid);
      }

      // Copy the prompt.
      document.addEventListener("click", function (e) {
        var b = e.target.closest ? e.target.closest("button[data-copy]") : null;
        if (!b || !navigator.clipboard) return;
        navigator.clipboard.writeText(b.dataset.copy).then(function () {
          var label = b.textContent;
          b.textContent = "Copied";
          setTimeout(function () { b.textContent = label; }, 1200);
        });
      });

      // Keyboard: / focuses the search; on an image page ← newer, → older; Esc back to the grid.
      document.addEventListener("keydown", function (e) {
        var t = e.target;
        var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
        if (e.key === "Escape") {
          if (typing) { t.blur(); return; }
          if (page === "image") { window.location.href = lastGrid(); }
          return;
        }
        if (typing || e.altKey || e.ctrlKey || e.metaKey) return;
        if (e.key === "/" && q) { e.preventDefault(); q.focus(); q.select(); return; }
        if (page !== "image") return;
        var link = null;
        if (e.key === "ArrowLeft") link = document.getElementById("newer");
        if (e.key === "ArrowRight") link = document.getElementById("older");
        if (link) { e.preventDefault(); window.location.href = link.href; }
      });
    })();
    """#

    static let stylesheet = #"""
    :root { color-scheme: light dark; --bg: #fafafa; --fg: #1c1c1c; --muted: #666; --card: #fff; --line: #ddd; --accent: #2b6cb0; }
    @media (prefers-color-scheme: dark) { :root { --bg: #161616; --fg: #e8e8e8; --muted: #999; --card: #222; --line: #333; --accent: #7fb0e6; } }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.45 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
    a { color: var(--accent); }
    header.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .6rem 1rem; border-bottom: 1px solid var(--line); position: sticky; top: 0; background: var(--bg); z-index: 1; }
    header.top .home { font-weight: 700; text-decoration: none; font-size: 1.1rem; }
    header.top .search { flex: 1 1 16rem; }
    header.top input[type=search] { width: 100%; padding: .45rem .6rem; font: inherit; border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--fg); }
    header.top nav a { margin-left: .8rem; }
    main { padding: 1rem; max-width: 1600px; margin: 0 auto; }
    details.filter-box { margin-bottom: .6rem; }
    details.filter-box > summary { cursor: pointer; color: var(--muted); font-size: .9rem; margin-bottom: .4rem; }
    form.filters { display: flex; flex-wrap: wrap; gap: .5rem .8rem; align-items: end; margin-bottom: 1rem; font-size: .9rem; }
    form.filters label { display: flex; flex-direction: column; color: var(--muted); }
    form.filters input, form.filters select, button { font: inherit; padding: .3rem .4rem; border: 1px solid var(--line); border-radius: 4px; background: var(--card); color: var(--fg); }
    button { cursor: pointer; }
    .summary { color: var(--muted); margin: .3rem 0 .8rem; }
    .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: .8rem; }
    @media (max-width: 480px) { .grid { grid-template-columns: repeat(2, 1fr); gap: .5rem; } main { padding: .5rem; } }
    .card { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 6px; overflow: hidden; display: flex; flex-direction: column; }
    .card img { width: 100%; aspect-ratio: 1 / 1; object-fit: cover; display: block; background: var(--line); }
    .card figcaption { padding: .4rem .5rem; font-size: .82rem; overflow: hidden; display: -webkit-box; -webkit-line-clamp: 4; -webkit-box-orient: vertical; }
    .noimage { aspect-ratio: 1 / 1; display: flex; align-items: center; justify-content: center; color: var(--muted); font-size: .8rem; padding: .5rem; word-break: break-all; }
    .badge { display: inline-block; font-size: .72rem; padding: 0 .35rem; border-radius: 3px; border: 1px solid var(--line); color: var(--muted); }
    .badge.prompt { border-color: #2f855a; color: #2f855a; }
    .badge.predicted { border-color: #b7791f; color: #b7791f; }
    .badge.missing { border-color: #c53030; color: #c53030; }
    .score { font-variant-numeric: tabular-nums; color: var(--muted); font-size: .78rem; }
    .predicted { color: var(--muted); font-style: italic; }
    nav.pager, nav.neighbours { display: flex; gap: 1rem; justify-content: center; align-items: center; margin: 1rem 0; }
    .end { color: var(--muted); }
    .image-page { display: grid; grid-template-columns: minmax(0, 3fr) minmax(16rem, 2fr); gap: 1.5rem; }
    @media (max-width: 800px) { .image-page { grid-template-columns: 1fr; } }
    .original { margin: 0; }
    .original img { max-width: 100%; max-height: 85vh; display: block; margin: 0 auto; }
    .original figcaption { font-size: .8rem; color: var(--muted); word-break: break-all; margin-top: .3rem; }
    .prompt { white-space: pre-wrap; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .6rem; }
    .none { color: var(--muted); font-style: italic; }
    .error { color: #c53030; }
    .notice { background: var(--card); border-left: 4px solid var(--accent); padding: .4rem .7rem; }
    table { border-collapse: collapse; }
    table.parameters th { text-align: left; padding: .15rem 1rem .15rem 0; color: var(--muted); font-weight: normal; }
    table.failed { width: 100%; font-size: .85rem; }
    table.failed td, table.failed th { border-bottom: 1px solid var(--line); padding: .3rem; text-align: left; vertical-align: top; word-break: break-word; }
    dl.stats { display: flex; flex-wrap: wrap; gap: 1rem; }
    dl.stats div { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .5rem 1rem; }
    dl.stats dt { color: var(--muted); font-size: .8rem; }
    dl.stats dd { margin: 0; font-size: 1.4rem; font-variant-numeric: tabular-nums; }
    .keyword { display: inline-block; background: var(--card); border: 1px solid var(--line); border-radius: 999px; padding: 0 .5rem; margin: .1rem; font-size: .85rem; }
    section.error { max-width: 40rem; margin: 3rem auto; }
    code { word-break: break-all; }
    """#
}
