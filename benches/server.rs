//! `cargo bench --bench server`: how long the language server takes to re-lint after a
//! keystroke, on a generated tree of 100 files and 1,000 server blocks
//! (benches/support/tree.rs). One iteration is one `didChange` (full text, alternating between
//! two versions of one site file) handled by `server::Session` and the lint and
//! publishDiagnostics it makes, exactly as over stdio minus the pipe. The stages are timed apart
//! too: loading with every file parsed and with only the edited one, the expansion, the
//! expansion plus the rules (`lint::check`), and the split the server itself measured over the
//! `didChange` iterations (printed at the end).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

// Shared with benches/parse.rs, which uses the other shapes.
#[allow(dead_code)]
#[path = "support/tree.rs"]
mod tree;

// The same allocator as the binary (src/main.rs), so the numbers are the tool's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion};
use lsp_server::{Message, Notification, Request};
use nginx_gwlint::config::{
    load_path, load_path_cached, load_path_with, LoadOptions, Overlay, ParseCache, ResolvedConfig,
};
use nginx_gwlint::lint::{check, lint, Selection};
use nginx_gwlint::server::{Options, Session};
use nginx_gwlint::settings::Settings;
use nginx_gwlint::workspace::Workspace;
use serde_json::json;

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    tree::write_tree(dir.path(), 100, 10).unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let site = root.join("sites/site0050.conf");
    let uri = format!("file://{}", site.display());
    let text = std::fs::read_to_string(&site).unwrap();
    let edited = text.replacen("proxy_read_timeout 30s;", "proxy_read_timeout 31s;", 1);

    let mut session = Session::new(Options::default());
    session.handle(Message::Request(Request::new(
        1.into(),
        "initialize".to_owned(),
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    )));
    session.handle(Message::Notification(Notification::new(
        "textDocument/didOpen".to_owned(),
        json!({"textDocument": {"uri": uri, "languageId": "nginx", "version": 1, "text": text}}),
    )));
    session.flush();
    let opened = session.take_outgoing();
    assert!(
        opened.len() >= 2,
        "initialize answered and diagnostics published"
    );

    let mut g = c.benchmark_group("server-100-files-1000-servers");
    g.sample_size(20);
    let mut version = 1;
    let mut split = Vec::new();
    g.bench_function("didChange -> publishDiagnostics", |b| {
        b.iter(|| {
            version += 1;
            let now = if version % 2 == 0 { &edited } else { &text };
            session.handle(Message::Notification(Notification::new(
                "textDocument/didChange".to_owned(),
                json!({"textDocument": {"uri": uri, "version": version},
                       "contentChanges": [{"text": now}]}),
            )));
            session.flush();
            split.push(session.timings());
            std::hint::black_box(session.take_outgoing().len());
        })
    });
    // The stages on their own, on the same tree with the edited file in an overlay.
    let overlay_of = |t: &str| {
        let mut o = Overlay::default();
        o.insert(site.clone(), t.as_bytes().to_vec());
        o
    };
    let overlays = [overlay_of(&edited), overlay_of(&text)];
    let main = root.join("nginx.conf");
    g.bench_function("load, every file parsed", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            std::hint::black_box(load_path_with(&main, &overlays[i % 2]).unwrap());
        })
    });
    let mut cache = ParseCache::default();
    let mut loads = 0;
    g.bench_function("load, the edited file parsed", |b| {
        b.iter(|| {
            loads += 1;
            let overlay = &overlays[loads % 2];
            let t = load_path_cached(&main, overlay, &LoadOptions::default(), &mut cache);
            std::hint::black_box(t.unwrap());
        })
    });
    // After the first load (a filter or `cargo test` may run it once, or not at all), each
    // load parses the edited file and reuses the rest.
    if loads > 1 {
        assert_eq!(
            (cache.misses, cache.hits),
            (1, 101),
            "one file parsed, the rest reused"
        );
    }
    let loaded = Workspace::nginx_only(load_path_with(&main, &overlays[0]).unwrap());
    g.bench_function("expand (ResolvedConfig::build)", |b| {
        b.iter(|| std::hint::black_box(ResolvedConfig::build(&loaded.tree).nodes.len()))
    });
    let settings = Settings::defaults().unwrap();
    g.bench_function("lint::check (expand + rules)", |b| {
        b.iter(|| {
            std::hint::black_box(check(&loaded, &settings, &Selection::default(), false).len())
        })
    });
    // The same tree through `check`'s path (load from disk + every rule), for comparison.
    g.bench_function("check (load + every rule)", |b| {
        b.iter(|| {
            let ws = Workspace::nginx_only(load_path(&root).unwrap());
            std::hint::black_box(lint(&ws, &settings, &Selection::default()).len());
        })
    });
    g.finish();
    let n = split.len().max(1) as u32;
    let mean = |f: fn(&nginx_gwlint::server::Timings) -> std::time::Duration| {
        split.iter().map(f).sum::<std::time::Duration>() / n
    };
    let last = split.last().copied().unwrap_or_default();
    // The whole re-lint of each didChange as the server timed it, sorted: the mean hides the
    // slow ones a typist notices, so the tail is printed too.
    let mut totals: Vec<std::time::Duration> =
        split.iter().map(|t| t.load + t.check + t.publish).collect();
    totals.sort_unstable();
    let at = |q: f64| {
        let i = ((totals.len() as f64 * q).ceil() as usize).clamp(1, totals.len().max(1)) - 1;
        totals.get(i).copied().unwrap_or_default()
    };
    eprintln!(
        "server split over {n} didChange: load {:.2?}, check {:.2?}, publish {:.2?}; \
         whole re-lint p50 {:.2?}, p95 {:.2?}, p99 {:.2?}, max {:.2?}; \
         last: {} parsed, {} reused, {} files published",
        mean(|t| t.load),
        mean(|t| t.check),
        mean(|t| t.publish),
        at(0.50),
        at(0.95),
        at(0.99),
        at(1.0),
        last.parsed,
        last.reused,
        last.published,
    );
}

criterion_group!(server, benches);
criterion_main!(server);
