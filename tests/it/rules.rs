//! Rule fixtures: `tests/fixtures/rules/GWnnn/<case>/` holds `nginx.conf` (plus any included
//! files), optionally `php/` (php.ini and pool files) and `nginx-gwlint.toml`. The findings of
//! that one rule, with their fixes, are compared with `expected.txt` (UPDATE_GOLDEN=1 writes
//! it). Cases named `ok-*` must produce no finding at all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::fmt::Write as _;
use std::path::Path;

use nginx_gwlint::backends;
use nginx_gwlint::config::load_path;
use nginx_gwlint::lint::{lint, Selection, Workspace};
use nginx_gwlint::report::{render_concise, Position};
use nginx_gwlint::settings::Settings;

fn run_case(rule: &str, case: &Path) -> (String, usize) {
    let tree = load_path(case).unwrap();
    let php = if case.join("php").is_dir() {
        backends::discover(&[case.join("php")])
    } else {
        backends::PhpSetup::default()
    };
    let settings = match case.join("nginx-gwlint.toml") {
        p if p.is_file() => Settings::with_file(&p).unwrap(),
        _ => Settings::defaults().unwrap(),
    };
    let ws = Workspace::new(tree, php, None);
    let selection = Selection {
        select: vec![rule.to_owned()],
        ignore: vec![],
    };
    let diagnostics: Vec<_> = lint(&ws, &settings, &selection)
        .into_iter()
        .filter(|d| d.rule == rule)
        .collect();
    let root = format!("{}/", case.display());
    let mut out = String::new();
    for d in &diagnostics {
        out.push_str(&render_concise(&ws.tree.sources, std::slice::from_ref(d)));
        for l in &d.labels {
            let p = Position::of(&ws.tree.sources, l.file, l.span);
            let _ = writeln!(
                out,
                "  note {}:{}:{}: {}",
                p.file, p.line, p.column, l.message
            );
        }
        if let Some(fix) = &d.fix {
            let _ = writeln!(out, "  fix ({}): {}", fix.applicability.as_str(), fix.title);
            for e in &fix.edits {
                let p = Position::of(&ws.tree.sources, e.file, e.span);
                let _ = writeln!(
                    out,
                    "    {}:{}:{}-{}:{} -> {:?}",
                    p.file, p.line, p.column, p.end_line, p.end_column, e.content
                );
            }
        }
    }
    (out.replace(&root, ""), diagnostics.len())
}

#[test]
fn rule_fixtures() {
    let base = common::root().join("tests/fixtures/rules");
    let mut rules: Vec<_> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    rules.sort();
    let mut cases = 0;
    for rule_dir in rules {
        let rule = rule_dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut dirs: Vec<_> = std::fs::read_dir(&rule_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            // `bad/` and `good/` hold the GW2xx-GW5xx cases of tests/upstream_rules.rs.
            .filter(|p| p.is_dir() && !p.ends_with("bad") && !p.ends_with("good"))
            .collect();
        dirs.sort();
        for case in dirs {
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            let (text, count) = run_case(&rule, &case);
            if name.starts_with("ok-") {
                assert_eq!(count, 0, "{rule}/{name} should have no finding:\n{text}");
            } else {
                assert!(count > 0, "{rule}/{name} should have a finding");
            }
            common::golden(&case.join("expected.txt"), &text);
            cases += 1;
        }
    }
    assert!(cases > 0);
}
