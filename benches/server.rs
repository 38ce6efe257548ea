//! `cargo bench --bench server`: how long the language server takes to re-lint after a
//! keystroke, on a generated tree of 100 files and 1,000 server blocks
//! (benches/support/tree.rs). One iteration is one `didChange` (full text, alternating between
//! two versions of one site file) handled by `server::Session` and the lint and
//! publishDiagnostics it makes, exactly as over stdio minus the pipe.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Shared with benches/parse.rs, which uses the other shapes.
#[allow(dead_code)]
#[path = "support/tree.rs"]
mod tree;

// The same allocator as the binary (src/main.rs), so the numbers are the tool's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion};
use lsp_server::{Message, Notification, Request};
use nginx_gwlint::config::load_path;
use nginx_gwlint::lint::{lint, Selection};
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
            std::hint::black_box(session.take_outgoing().len());
        })
    });
    // The same tree through `check`'s path (load from disk + every rule), for comparison.
    let settings = Settings::defaults().unwrap();
    g.bench_function("check (load + every rule)", |b| {
        b.iter(|| {
            let ws = Workspace::nginx_only(load_path(&root).unwrap());
            std::hint::black_box(lint(&ws, &settings, &Selection::default()).len());
        })
    });
    g.finish();
}

criterion_group!(server, benches);
criterion_main!(server);
