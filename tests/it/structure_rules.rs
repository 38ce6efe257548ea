//! Fixture tests for GW010-GW014: `tests/structure/gw01N/{bad,good}_*.conf`, each linted with the
//! default settings (plus `<case>.toml` beside it when present, and `# gwlint-test: target=X.Y.Z`
//! in the file's first line). The human report (no colour) is compared with `<case>.out`
//! (UPDATE_GOLDEN=1 rewrites). `bad_*` must have a finding of its folder's rule, `good_*` none of
//! GW010-GW014. Safe fixes are applied into `<case>.fixed`: the result re-parses, a second pass
//! finds nothing more to fix, and the fixed findings are gone.
//! `directives_nginx_oracle.rs` checks the same fixtures against the real nginx.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};

use nginx_gwlint::config::{load_path, ConfigTree};
use nginx_gwlint::diagnostic::Diagnostic;
use nginx_gwlint::diagnostic::Edit;
use nginx_gwlint::directives::Version;
use nginx_gwlint::lint::{lint, Selection, Workspace};
use nginx_gwlint::report::render_human;
use nginx_gwlint::settings::Settings;
use nginx_gwlint::syntax::parse;

const RULES: [&str; 5] = ["GW010", "GW011", "GW012", "GW013", "GW014"];

pub struct Case {
    pub conf: PathBuf,
    pub rule: String,
    pub bad: bool,
    pub target: Option<Version>,
}

pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for rule in RULES {
        let dir = common::root()
            .join("tests/structure")
            .join(rule.to_ascii_lowercase());
        for conf in common::conf_files(&dir) {
            let name = conf.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                name.starts_with("bad_") || name.starts_with("good_"),
                "{name}: fixtures are bad_* or good_*"
            );
            let text = std::fs::read_to_string(&conf).unwrap();
            let target = header_option(&text, "target").map(|v| v.parse().unwrap());
            out.push(Case {
                bad: name.starts_with("bad_"),
                conf,
                rule: rule.to_owned(),
                target,
            });
        }
    }
    out
}

/// `# gwlint-test: key=value ...` on the first line.
pub fn header_option<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let header = text.lines().next()?.strip_prefix("# gwlint-test:")?;
    header
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

fn settings_for(case: &Case) -> Settings {
    let toml = case.conf.with_extension("toml");
    let mut s = if toml.is_file() {
        Settings::with_file(&toml).unwrap()
    } else {
        Settings::defaults().unwrap()
    };
    if let Some(v) = case.target {
        s.directives.target = v;
    }
    s
}

fn structure_findings(ws: &Workspace, settings: &Settings) -> Vec<Diagnostic> {
    let selection = Selection {
        select: RULES.iter().map(|r| (*r).to_owned()).collect(),
        ignore: Vec::new(),
    };
    lint(ws, settings, &selection)
}

fn report(tree: &ConfigTree, found: &[Diagnostic], base: &Path) -> String {
    let text = render_human(&tree.sources, found, false);
    text.replace(&format!("{}/", base.display()), "")
}

/// Applies every safe fix (sorted, overlapping ones skipped) to `file`'s text.
fn apply_fixes(text: &[u8], file: nginx_gwlint::source::FileId, found: &[Diagnostic]) -> Vec<u8> {
    let mut edits: Vec<&Edit> = found
        .iter()
        .filter_map(|d| d.fix.as_ref())
        .filter(|f| f.applicability == nginx_gwlint::diagnostic::Applicability::Safe)
        .flat_map(|f| f.edits.iter())
        .filter(|e| e.file == file)
        .collect();
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    let mut out = Vec::new();
    let mut pos = 0;
    for e in edits {
        if e.span.start < pos {
            continue;
        }
        out.extend_from_slice(&text[pos..e.span.start]);
        out.extend_from_slice(e.content.as_bytes());
        pos = e.span.end;
    }
    out.extend_from_slice(&text[pos..]);
    out
}

#[test]
fn structure_fixtures_match_their_golden_reports() {
    let cases = cases();
    assert!(cases.len() >= 15, "fixtures missing");
    for case in &cases {
        let settings = settings_for(case);
        let ws = Workspace::nginx_only(load_path(&case.conf).unwrap());
        let tree = &ws.tree;
        assert!(
            !tree.has_parse_errors(),
            "{}: fixture does not parse",
            case.conf.display()
        );
        let found = structure_findings(&ws, &settings);
        let base = case.conf.parent().unwrap();
        common::golden(
            &case.conf.with_extension("out"),
            &report(tree, &found, base),
        );
        let own = found.iter().filter(|d| d.rule == case.rule).count();
        if case.bad {
            assert!(own > 0, "{}: no {} finding", case.conf.display(), case.rule);
        } else {
            assert!(
                found.is_empty(),
                "{}: expected no finding, got:\n{}",
                case.conf.display(),
                report(tree, &found, base)
            );
        }
        if found.iter().any(|d| d.fix.is_some()) {
            check_fixes(case, tree, &found, &settings);
        }
    }
}

fn check_fixes(case: &Case, tree: &ConfigTree, found: &[Diagnostic], settings: &Settings) {
    let root = tree.root;
    let fixed = apply_fixes(&tree.sources.get(root).text, root, found);
    common::golden(
        &case.conf.with_extension("fixed"),
        &String::from_utf8(fixed.clone()).unwrap(),
    );
    assert!(
        parse(&fixed).is_ok(),
        "{}: fixed text does not parse",
        case.conf.display()
    );
    // Re-lint the fixed file where it lives (so its includes resolve the same way).
    let dir = tempfile::tempdir().unwrap();
    copy_dir(case.conf.parent().unwrap(), dir.path());
    let fixed_path = dir.path().join(case.conf.file_name().unwrap());
    std::fs::write(&fixed_path, &fixed).unwrap();
    let ws2 = Workspace::nginx_only(load_path(&fixed_path).unwrap());
    let found2 = structure_findings(&ws2, settings);
    assert!(
        found2.iter().all(|d| d.fix.is_none()),
        "{}: a second fix pass would change more",
        case.conf.display()
    );
    let fixable_before = found.iter().filter(|d| d.fix.is_some()).count();
    let before = found.iter().filter(|d| d.rule == case.rule).count();
    let after = found2.iter().filter(|d| d.rule == case.rule).count();
    assert_eq!(
        after,
        before - fixable_before,
        "{}: fixed findings must be gone and no new ones appear",
        case.conf.display()
    );
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

#[test]
fn user_directive_settings_reject_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nginx-gwlint.toml");
    std::fs::write(
        &p,
        "[directives.my_directive]\ncontexts = [\"http\"]\nargs = \"TAKE1\"\nblok = true\n",
    )
    .unwrap();
    let err = Settings::with_file(&p).unwrap_err().to_string();
    assert!(err.contains("blok"), "{err}");
}
