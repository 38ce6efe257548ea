//! Fixture tests for the upstream, socket, header and TLS rules (GW2xx-GW5xx).
//!
//! Each case is a directory `tests/fixtures/rules/GWnnn/{bad,good}/<case>/` holding `nginx.conf`
//! and optionally `php/` (read as `--php`), `sysroot/` (passwd, group, hosts: `--sysroot`) and
//! `settings.toml` (`--config`). Only the rule named by the directory runs. A `good` case must
//! give no finding; a `bad` case must give at least one, and its output (human format, every
//! fix, and the files after applying every fix, unsafe ones included) is compared with
//! `expected.txt` (UPDATE_GOLDEN=1 writes it). Fixed text must re-parse, and a second lint of the
//! fixed tree must offer no further change for the rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use nginx_gwlint::backends::{self, PhpSetup};
use nginx_gwlint::config::load_path;
use nginx_gwlint::diagnostic::Diagnostic;
use nginx_gwlint::diagnostic::Edit;
use nginx_gwlint::lint::{lint, Selection, Workspace};
use nginx_gwlint::report;
use nginx_gwlint::settings::Settings;
use nginx_gwlint::source::{FileId, SourceMap};

fn fixtures() -> PathBuf {
    common::root().join("tests/fixtures/rules")
}

fn cases(kind: &str) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for rule in std::fs::read_dir(fixtures()).unwrap() {
        let rule = rule.unwrap().path();
        let id = rule.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(dir) = std::fs::read_dir(rule.join(kind)) else {
            continue;
        };
        for case in dir {
            let case = case.unwrap().path();
            if case.join("nginx.conf").is_file() {
                out.push((id.clone(), case));
            }
        }
    }
    out.sort();
    out
}

struct Run {
    ws: Workspace,
    diagnostics: Vec<Diagnostic>,
}

fn run(rule: &str, case: &Path) -> Run {
    let tree = load_path(&case.join("nginx.conf")).unwrap();
    let sysroot = case.join("sysroot");
    let sysroot = sysroot.is_dir().then_some(sysroot);
    let php_dir = case.join("php");
    let php = if php_dir.is_dir() {
        backends::discover_with_root(&[php_dir], None)
    } else {
        PhpSetup::default()
    };
    let settings_file = case.join("settings.toml");
    let settings = if settings_file.is_file() {
        Settings::with_file(&settings_file).unwrap()
    } else {
        Settings::defaults().unwrap()
    };
    let ws = Workspace::new(tree, php, sysroot);
    let selection = Selection {
        select: vec![rule.to_owned()],
        ignore: Vec::new(),
    };
    let diagnostics = lint(&ws, &settings, &selection);
    Run { ws, diagnostics }
}

/// Applies edits per file, last first; overlapping edits are a test failure.
fn apply(sources: &SourceMap, edits: &[&Edit]) -> BTreeMap<FileId, Vec<u8>> {
    let mut by_file: BTreeMap<FileId, Vec<&Edit>> = BTreeMap::new();
    for e in edits {
        by_file.entry(e.file).or_default().push(e);
    }
    let mut out = BTreeMap::new();
    for (file, mut edits) in by_file {
        edits.sort_by_key(|e| (e.span.start, e.span.end));
        edits.dedup_by(|a, b| a == b);
        for pair in edits.windows(2) {
            assert!(
                pair[0].span.end <= pair[1].span.start
                    && !(pair[0].span.is_empty() && pair[0].span == pair[1].span),
                "overlapping edits {:?} {:?}",
                pair[0],
                pair[1]
            );
        }
        let mut text = sources.get(file).text.clone();
        for e in edits.iter().rev() {
            text.splice(e.span.start..e.span.end, e.content.bytes());
        }
        out.insert(file, text);
    }
    out
}

fn scrub(text: &str) -> String {
    text.replace(&fixtures().display().to_string(), "$FIXTURES")
        .replace("tests/fixtures/rules", "$FIXTURES")
}

#[test]
fn good_cases_give_no_finding() {
    let cases = cases("good");
    assert!(!cases.is_empty());
    for (rule, case) in cases {
        let r = run(&rule, &case);
        assert!(
            r.diagnostics.is_empty(),
            "{}: expected no {rule} finding, got:\n{}",
            case.display(),
            report::render_concise(&r.ws.tree.sources, &r.diagnostics)
        );
    }
}

#[test]
fn bad_cases_match_golden_and_fixes_converge() {
    let cases = cases("bad");
    assert!(!cases.is_empty());
    for (rule, case) in cases {
        let r = run(&rule, &case);
        let sources = &r.ws.tree.sources;
        assert!(
            !r.diagnostics.is_empty(),
            "{}: expected a {rule} finding",
            case.display()
        );
        assert!(r.diagnostics.iter().all(|d| d.rule == rule));
        let mut out = report::render_human(sources, &r.diagnostics, false);
        let edits: Vec<&Edit> = r
            .diagnostics
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .flat_map(|f| f.edits.iter())
            .collect();
        if !edits.is_empty() {
            let fixed = apply(sources, &edits);
            let tmp = tempfile::tempdir().unwrap();
            copy_dir(&case, tmp.path());
            for (file, text) in &fixed {
                let src = sources.get(*file);
                let _ = writeln!(out, "--- fixed {} ---", src.display);
                out.push_str(&String::from_utf8_lossy(text));
                let parsed = nginx_gwlint::syntax::parse(text);
                assert!(
                    parsed.is_ok(),
                    "{}: fixed {} does not parse: {:?}",
                    case.display(),
                    src.display,
                    parsed.err()
                );
                let rel = src.path.strip_prefix(&case).unwrap();
                std::fs::write(tmp.path().join(rel), text).unwrap();
            }
            let again = run(&rule, tmp.path());
            let more: Vec<&Diagnostic> = again
                .diagnostics
                .iter()
                .filter(|d| d.fix.is_some())
                .collect();
            assert!(
                more.is_empty(),
                "{}: a second fix pass still changes something: {more:#?}",
                case.display()
            );
        }
        common::golden(&case.join("expected.txt"), &scrub(&out));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `nginx -t` agrees: GW205/GW206 bad cases are refused with the message the rule quotes, good
/// cases pass, and the files written by the GW207/GW401/GW402 fixes pass too.
#[test]
fn nginx_agrees_with_rules_and_fixes() {
    if common::oracle::nginx().is_none() {
        return;
    }
    let refused = [
        (
            "GW205",
            "cannot have URI part in location given by regular expression",
        ),
        ("GW206", "no servers in upstream \"standby\""),
        ("GW208", "host not found in upstream \"bakend\""),
    ];
    for (rule, message) in refused {
        for (_, case) in cases("bad").into_iter().filter(|(r, _)| r == rule) {
            let got = common::nginx_test(&case.join("nginx.conf"));
            assert!(
                got.as_ref().is_some_and(|(m, _)| m.contains(message)),
                "{}: nginx -t said {got:?}",
                case.display()
            );
        }
    }
    for rule in [
        "GW205", "GW206", "GW207", "GW401", "GW402", "GW404", "GW405",
    ] {
        for (_, case) in cases("good").into_iter().filter(|(r, _)| r == rule) {
            // `unread-*` cases include a file that does not exist on purpose.
            if case
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("unread-")
            {
                continue;
            }
            let got = common::nginx_test(&case.join("nginx.conf"));
            assert_eq!(got, None, "{}", case.display());
        }
    }
    for rule in ["GW207", "GW401", "GW402", "GW404", "GW405"] {
        for (_, case) in cases("bad").into_iter().filter(|(r, _)| r == rule) {
            if case
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("unread-")
            {
                continue;
            }
            let r = run(rule, &case);
            let edits: Vec<&Edit> = r
                .diagnostics
                .iter()
                .filter_map(|d| d.fix.as_ref())
                .flat_map(|f| f.edits.iter())
                .collect();
            let fixed = apply(&r.ws.tree.sources, &edits);
            let tmp = tempfile::tempdir().unwrap();
            copy_dir(&case, tmp.path());
            for (file, text) in &fixed {
                let rel =
                    r.ws.tree
                        .sources
                        .get(*file)
                        .path
                        .strip_prefix(&case)
                        .unwrap();
                std::fs::write(tmp.path().join(rel), text).unwrap();
            }
            let got = common::nginx_test(&tmp.path().join("nginx.conf"));
            assert_eq!(got, None, "{}: fixed config refused", case.display());
        }
    }
}

/// GW207 and GW402 both add `proxy_http_version 1.1;` to a WebSocket location behind a
/// keep-alive upstream: they must make the identical edit, so a fixer applies it once (or
/// treats the pair as overlapping and takes the second in the next pass) and never writes the
/// directive twice, which nginx would refuse as a duplicate.
#[test]
fn gw207_and_gw402_add_the_http_version_with_one_identical_edit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        "events {}\nhttp {\n    map $http_upgrade $connection_upgrade {\n        default upgrade;\n        ''      \"\";\n    }\n    upstream app {\n        server 127.0.0.1:3000;\n        keepalive 8;\n    }\n    server {\n        listen 8080;\n        location /ws/ {\n            proxy_pass http://app;\n            proxy_set_header Upgrade $http_upgrade;\n            proxy_set_header Connection $connection_upgrade;\n        }\n    }\n}\n",
    )
    .unwrap();
    let a = run("GW207", dir.path());
    let b = run("GW402", dir.path());
    let edits = |r: &Run| -> Vec<Edit> {
        r.diagnostics
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .flat_map(|f| f.edits.clone())
            .collect()
    };
    let (ea, eb) = (edits(&a), edits(&b));
    assert_eq!(ea.len(), 1, "{ea:#?}");
    assert_eq!(ea, eb);
    assert_eq!(ea[0].content, "\n            proxy_http_version 1.1;");
}
