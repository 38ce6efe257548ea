//! The language server's incremental state against a fresh start (issue #19): random sessions
//! of incremental and full-text edits (multi-byte and astral characters, braces, upstreams that
//! other files use), flushes at random points (changes queued and linted together), and hover,
//! definition, completion and code-action requests at random places. After each session:
//!
//! - nothing panicked, and every request got exactly one answer with its id;
//! - the diagnostics last published for every file of the tree equal those a fresh server
//!   publishes when it opens the final text: re-lints that reuse parses, published sets and
//!   the by-file comparison end where a first lint does;
//! - closing and reopening the document (with a lint in between or not) changes nothing;
//! - b.conf rewritten on disk between edits, with or without the client's
//!   didChangeWatchedFiles, is read again, as the fresh server reads it (untold, by the next
//!   lint of a changed text: the session ends with a keystroke then);
//! - the server's document text is the model's (the edits applied to a `String` with LSP's
//!   UTF-16 positions), as the fresh server's findings could not match otherwise.
//!
//! Runs in process (`server::Session`, no pipe). `PROPTEST_CASES` sets the number of sessions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use lsp_server::{Message, Notification, Request};
use nginx_gwlint::server::{Options, Session};
use proptest::prelude::*;
use serde_json::{json, Value};

const MAIN: &str = "events {}\nhttp {\n    include sites/*.conf;\n}\n";
/// The edited file: an upstream that b.conf uses, a WebSocket location without HTTP/1.1
/// (GW402), a timeout of the wrong module (GW101), and a non-ASCII comment.
const A: &str = "# Zoë 𝄞 site\nupstream app {\n    server 127.0.0.1:3000;\n}\nserver {\n    listen 8080;\n    location /ws/ {\n        proxy_pass http://app;\n        proxy_set_header Upgrade $http_upgrade;\n    }\n    location ~ \\.php$ {\n        fastcgi_pass 127.0.0.1:9000;\n        proxy_read_timeout 300s;\n    }\n}\n";
/// Another file of the tree, not open: its findings depend on a.conf (the upstream `app`).
const B: &str =
    "server {\n    listen 8081;\n    location / {\n        proxy_pass http://app;\n    }\n}\n";

/// What is typed: config fragments, structure, and characters UTF-16 counts apart.
const PIECES: &[&str] = &[
    "",
    "\n",
    ";",
    "{",
    "}",
    " ",
    "é",
    "𝄞",
    "$",
    "\"",
    "#",
    "upstream app { server 127.0.0.1:3001; }\n",
    "upstream other { server [::1]:80; }\n",
    "proxy_pass http://app;",
    "proxy_http_version 1.1;",
    "location /x/ { proxy_pass http://localhost:3000; }\n",
    "include sites/*.conf;",
    "server { listen 8080; }\n",
];

#[derive(Clone, Debug)]
enum Op {
    /// Replace the range between two places of the text (fractions of its length) by a piece.
    Edit { from: u16, to: u16, piece: usize },
    /// Replace the whole text by a piece (full sync).
    Full { piece: usize },
    /// Lint what is queued.
    Flush,
    /// A request at a place of the text.
    Ask { method: usize, at: u16 },
    /// b.conf (not open) rewritten on disk with a piece appended; the client tells the server
    /// (didChangeWatchedFiles) or not (the next lint sees the file's new size).
    Disk { piece: usize, tell: bool },
    /// The document closed (the disk's a.conf is the tree's again), linted so or not, and
    /// opened again with the text it had.
    Reopen { lint_between: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u16>(), any::<u16>(), 0..PIECES.len())
            .prop_map(|(from, to, piece)| Op::Edit { from, to, piece }),
        1 => (0..PIECES.len()).prop_map(|piece| Op::Full { piece }),
        3 => Just(Op::Flush),
        2 => (0..4usize, any::<u16>()).prop_map(|(method, at)| Op::Ask { method, at }),
        1 => (0..PIECES.len(), any::<bool>()).prop_map(|(piece, tell)| Op::Disk { piece, tell }),
        1 => any::<bool>().prop_map(|lint_between| Op::Reopen { lint_between }),
    ]
}

/// The char boundary at fraction `f / 65536` of `text`.
fn boundary(text: &str, f: u16) -> usize {
    let mut i = text.len() * f as usize / 65536;
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The LSP position (line, UTF-16 column) of byte offset `at`.
fn position(text: &str, at: usize) -> Value {
    let before = &text[..at];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    json!({"line": line, "character": before[start..].encode_utf16().count()})
}

fn uri_of(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn session() -> Session {
    let mut s = Session::new(Options::default());
    s.handle(Message::Request(Request::new(
        0.into(),
        "initialize".to_owned(),
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    )));
    s
}

fn notify(s: &mut Session, method: &str, params: Value) {
    s.handle(Message::Notification(Notification::new(
        method.to_owned(),
        params,
    )));
}

fn open(s: &mut Session, uri: &str, version: i32, text: &str) {
    notify(
        s,
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "nginx", "version": version, "text": text}}),
    );
}

/// Records what `s` sent: the latest diagnostics per file, and the ids answered.
fn drain(s: &mut Session, latest: &mut BTreeMap<String, Value>, answered: &mut Vec<i32>) {
    for m in s.take_outgoing() {
        match m {
            Message::Notification(n) if n.method == "textDocument/publishDiagnostics" => {
                let uri = n.params["uri"].as_str().unwrap_or_default().to_owned();
                latest.insert(uri, n.params["diagnostics"].clone());
            }
            Message::Response(r) => answered.push(r.id.to_string().parse().unwrap_or(-1)),
            _ => {}
        }
    }
}

/// The files with findings and their diagnostics (a file cleared to none counts as absent).
fn with_findings(latest: BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    latest
        .into_iter()
        .filter(|(_, d)| d.as_array().is_some_and(|a| !a.is_empty()))
        .collect()
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    crate::common::write(&root, "nginx.conf", MAIN);
    crate::common::write(&root, "sites/a.conf", A);
    crate::common::write(&root, "sites/b.conf", B);
    let uri = uri_of(&root.join("sites/a.conf"));
    let b_uri = uri_of(&root.join("sites/b.conf"));

    let mut s = session();
    let (mut latest, mut answered) = (BTreeMap::new(), Vec::new());
    open(&mut s, &uri, 1, A);
    let mut text = A.to_owned();
    let (mut version, mut asked) = (1, Vec::new());
    // A disk change nobody told the server of is seen by the next lint of a changed text;
    // none may follow.
    let mut untold = false;
    for (i, op) in ops.iter().enumerate() {
        match *op {
            Op::Edit { from, to, piece } => {
                let (a, b) = (boundary(&text, from), boundary(&text, to));
                let (a, b) = (a.min(b), a.max(b));
                let range = json!({"start": position(&text, a), "end": position(&text, b)});
                text.replace_range(a..b, PIECES[piece]);
                version += 1;
                notify(
                    &mut s,
                    "textDocument/didChange",
                    json!({"textDocument": {"uri": uri, "version": version},
                           "contentChanges": [{"range": range, "text": PIECES[piece]}]}),
                );
            }
            Op::Full { piece } => {
                text = PIECES[piece].to_owned();
                version += 1;
                notify(
                    &mut s,
                    "textDocument/didChange",
                    json!({"textDocument": {"uri": uri, "version": version},
                           "contentChanges": [{"text": text}]}),
                );
            }
            Op::Flush => s.flush(),
            Op::Reopen { lint_between } => {
                notify(
                    &mut s,
                    "textDocument/didClose",
                    json!({"textDocument": {"uri": uri}}),
                );
                if lint_between {
                    s.flush();
                }
                version += 1;
                open(&mut s, &uri, version, &text);
            }
            Op::Disk { piece, tell } => {
                crate::common::write(&root, "sites/b.conf", format!("{B}{}", PIECES[piece]));
                if !tell {
                    untold = true;
                    continue;
                }
                notify(
                    &mut s,
                    "workspace/didChangeWatchedFiles",
                    json!({"changes": [{"uri": b_uri, "type": 2}]}),
                );
            }
            Op::Ask { method, at } => {
                let id = i32::try_from(i + 1).unwrap();
                let place = position(&text, boundary(&text, at));
                let doc = json!({"uri": uri});
                let (name, params) = match method {
                    0 => (
                        "textDocument/hover",
                        json!({"textDocument": doc, "position": place}),
                    ),
                    1 => (
                        "textDocument/definition",
                        json!({"textDocument": doc, "position": place}),
                    ),
                    2 => (
                        "textDocument/completion",
                        json!({"textDocument": doc, "position": place}),
                    ),
                    _ => (
                        "textDocument/codeAction",
                        json!({"textDocument": doc, "range": {"start": place, "end": place},
                               "context": {"diagnostics": []}}),
                    ),
                };
                s.handle(Message::Request(Request::new(
                    id.into(),
                    name.to_owned(),
                    params,
                )));
                asked.push(id);
            }
        }
        drain(&mut s, &mut latest, &mut answered);
    }
    if untold {
        // A keystroke that changes the text from the last linted: one that leaves it as it was
        // is answered with the last lint (by design: nothing the server knows of changed).
        s.flush();
        drain(&mut s, &mut latest, &mut answered);
        text.push_str("\n# end\n");
        notify(
            &mut s,
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version + 1},
                   "contentChanges": [{"text": text}]}),
        );
    }
    s.flush();
    drain(&mut s, &mut latest, &mut answered);
    answered.retain(|id| *id != 0);
    answered.sort_unstable();
    prop_assert_eq!(&answered, &asked, "each request answered once");

    let mut fresh = session();
    let (mut first, mut none) = (BTreeMap::new(), Vec::new());
    open(&mut fresh, &uri, 1, &text);
    fresh.flush();
    drain(&mut fresh, &mut first, &mut none);
    let (now, then) = (with_findings(latest), with_findings(first));
    prop_assert_eq!(now, then, "final text:\n{}", text);
    Ok(())
}

proptest! {
    #![proptest_config(crate::common::proptest_cases(64))]

    #[test]
    fn incremental_sessions_end_where_a_fresh_server_starts(
        ops in proptest::collection::vec(op(), 1..24)
    ) {
        run(&ops)?;
    }
}

/// The fixed session the property starts from, so a failure of the plain path shows apart.
#[test]
fn a_typed_upstream_rename_and_back() {
    let ops = [
        Op::Edit {
            from: 0,
            to: 0,
            piece: 12,
        },
        Op::Flush,
        Op::Ask {
            method: 0,
            at: 30_000,
        },
        Op::Full { piece: 15 },
        Op::Edit {
            from: 65_535,
            to: 65_535,
            piece: 11,
        },
        Op::Flush,
    ];
    run(&ops).unwrap();
}
