//! Output formats: golden snapshots on a synthetic diagnostic set (labels, fixes, every
//! severity, characters each format must escape) and on tests/fixtures/gate (structure rules
//! only, so the snapshots do not move when other rules land); SARIF validated against the
//! official OASIS 2.1.0 schema; every format run on the bundled examples.
//!
//! `UPDATE_GOLDEN=1 cargo test --test it formats::` rewrites the snapshots in tests/formats/.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::common::bin;

use std::path::{Path, PathBuf};

use nginx_gwlint::diagnostic::{Diagnostic, Severity};
use nginx_gwlint::diagnostic::{Edit, Fix};
use nginx_gwlint::report;
use nginx_gwlint::source::{FileId, SourceFile, SourceMap};
use nginx_gwlint::syntax::Span;

const FORMATS: [&str; 8] = [
    "human",
    "concise",
    "json",
    "sarif",
    "github",
    "checkstyle",
    "gitlab",
    "junit",
];

fn snapshot_dir() -> PathBuf {
    common::root().join("tests/formats")
}

/// Two files, four findings: a fix with two edits, labels into another file, a multi-line
/// span, non-ASCII text before a column, and `%`, `,`, `:`, `<`, `"`, newlines to escape.
fn synthetic() -> (SourceMap, Vec<Diagnostic>, Vec<String>) {
    let mut sources = SourceMap::default();
    let app = "server {\n    listen 8080;\n    location ~ \\.php$ {\n        fastcgi_pass unix:/run/php/php7.4-fpm.sock;\n        proxy_read_timeout 300s;  # café\n    }\n}\n";
    let ini = "; php.ini\nmax_execution_time = 600\n";
    let app_id = sources.add(SourceFile::new(
        PathBuf::from("/srv/site/sites-enabled/app, v2.conf"),
        "sites-enabled/app, v2.conf".to_owned(),
        app.as_bytes().to_vec(),
    ));
    let ini_id = sources.add(SourceFile::new(
        PathBuf::from("/etc/php/8.2/fpm/php.ini"),
        "/etc/php/8.2/fpm/php.ini".to_owned(),
        ini.as_bytes().to_vec(),
    ));
    let at = |needle: &str| {
        let start = app.find(needle).unwrap();
        Span::new(start, start + needle.len())
    };
    let ini_at = |needle: &str| {
        let start = ini.find(needle).unwrap();
        Span::new(start, start + needle.len())
    };
    let timeout = at("proxy_read_timeout 300s;");
    let name = Span::new(
        timeout.start(),
        timeout.start() + "proxy_read_timeout".len(),
    );
    let diagnostics = vec![
        Diagnostic::new(
            "GW001",
            "parse-error",
            Severity::Error,
            app_id,
            at("location ~ \\.php$ {\n        fastcgi_pass"),
            "a span over two lines: 100% <broken>, \"quoted\"",
        ),
        Diagnostic::new(
            "GW002",
            "include-not-found",
            Severity::Warning,
            app_id,
            at("unix:/run/php/php7.4-fpm.sock"),
            "socket of an old PHP version: 502 (2: No such file or directory)",
        )
        .with_help("point fastcgi_pass at the socket of the installed php8.2-fpm pool")
        .with_fix(Fix::unsafe_edit(
            "use the php8.2 socket",
            vec![Edit::replace(
                app_id,
                at("php7.4-fpm.sock"),
                "php8.2-fpm.sock",
            )],
        )),
        Diagnostic::new(
            "GW003",
            "include-cycle",
            Severity::Info,
            app_id,
            name,
            "proxy_read_timeout has no effect in a fastcgi location\nsecond line: a, b",
        )
        .with_help("use fastcgi_read_timeout")
        .with_label(
            ini_id,
            ini_at("max_execution_time = 600"),
            "PHP allows 600s here",
        )
        .with_label(app_id, at("fastcgi_pass"), "the handler is fastcgi")
        .with_fix(Fix::safe(
            "rename to fastcgi_read_timeout, raise to 605s",
            vec![
                Edit::replace(app_id, name, "fastcgi_read_timeout"),
                Edit::replace(app_id, at("300s"), "605s"),
                Edit::insert(ini_id, 0, "; checked by nginx-gwlint\n"),
            ],
        )),
        Diagnostic::new(
            "GW005",
            "unused-suppression",
            Severity::Info,
            FileId(1),
            Span::empty(ini.len()),
            "at the very end of a file",
        ),
    ];
    let fingerprints = (0..diagnostics.len())
        .map(|i| format!("{:016x}", i + 1))
        .collect();
    (sources, diagnostics, fingerprints)
}

fn render(format: &str, sources: &SourceMap, diags: &[Diagnostic], fps: &[String]) -> String {
    match format {
        "human" => report::render_human(sources, diags, false),
        "concise" => report::render_concise(sources, diags),
        "json" => report::render_json(sources, &[FileId(0)], diags, &[]),
        "sarif" => report::render_sarif(vec![report::sarif_run(sources, diags, fps)]),
        "github" => report::render_github(sources, diags),
        "checkstyle" => report::render_checkstyle(&report::checkstyle_files(sources, diags)),
        "gitlab" => report::render_gitlab(report::gitlab_issues(sources, diags, fps)),
        "junit" => report::render_junit(&report::junit_suites(sources, &[FileId(0)], diags)),
        other => panic!("unknown format {other}"),
    }
}

/// SARIF without what moves whenever a rule lands: the catalogue (`tool.driver.rules`) and
/// each result's position in it (`ruleIndex`). Both are checked by the validity tests.
fn stable_sarif(text: &str) -> String {
    let mut log = parse_json(text);
    for run in log["runs"].as_array_mut().unwrap() {
        let count = run["tool"]["driver"]["rules"].as_array().unwrap().len();
        assert_eq!(count, nginx_gwlint::rules::all_meta().count());
        run["tool"]["driver"]["rules"] = "(the whole catalogue)".into();
        run["tool"]["driver"]["version"] = "VERSION".into();
        run["tool"]["driver"]["semanticVersion"] = "VERSION".into();
        for result in run["results"].as_array_mut().unwrap() {
            assert!(result["ruleIndex"].is_u64());
            result["ruleIndex"] = "(index)".into();
        }
    }
    let mut text = serde_json::to_string_pretty(&log).unwrap();
    text.push('\n');
    text
}

#[test]
fn synthetic_snapshots() {
    let (sources, diags, fps) = synthetic();
    for format in FORMATS {
        let mut text = render(format, &sources, &diags, &fps);
        if format == "sarif" {
            text = stable_sarif(&text);
        }
        common::golden(&snapshot_dir().join(format!("synthetic.{format}")), &text);
    }
}

#[test]
fn synthetic_sarif_is_valid_and_complete() {
    let (sources, diags, fps) = synthetic();
    let log = parse_json(&render("sarif", &sources, &diags, &fps));
    assert_valid_sarif(&log);
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), nginx_gwlint::rules::all_meta().count());
    for (i, result) in run["results"].as_array().unwrap().iter().enumerate() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert_eq!(
            result["partialFingerprints"][nginx_gwlint::report::sarif::FINGERPRINT_KEY],
            fps[i].as_str()
        );
    }
    let fixed = &run["results"][2];
    assert_eq!(fixed["relatedLocations"].as_array().unwrap().len(), 2);
    let changes = fixed["fixes"][0]["artifactChanges"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "one artifactChange per file");
    assert_eq!(changes[0]["replacements"].as_array().unwrap().len(), 2);
    assert_eq!(
        changes[0]["artifactLocation"]["uri"],
        "sites-enabled/app%2C%20v2.conf"
    );
    assert_eq!(
        changes[1]["artifactLocation"]["uri"],
        "file:///etc/php/8.2/fpm/php.ini"
    );
}

fn parse_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// The OASIS SARIF 2.1.0 schema, `None` without ../shared (validation skipped, see
/// common::oracle).
fn sarif_validator() -> Option<jsonschema::Validator> {
    let shared = common::oracle::shared()?;
    let path = shared.join("schemas/sarif-schema-2.1.0.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (see ../shared/schemas/README.md)", path.display()));
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    Some(
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap(),
    )
}

fn assert_valid_sarif(log: &serde_json::Value) {
    let Some(validator) = sarif_validator() else {
        return;
    };
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF output does not match the OASIS 2.1.0 schema:\n{}",
        errors.join("\n")
    );
}

#[test]
fn schema_validation_catches_invalid_sarif() {
    // The validator must not be vacuous: a result without a message is invalid SARIF.
    let mut log = parse_json(&report::render_sarif(vec![report::sarif_run(
        &synthetic().0,
        &synthetic().1,
        &[],
    )]));
    log["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    if let Some(validator) = sarif_validator() {
        assert!(!validator.is_valid(&log));
    }
}

fn gate_fixture() -> PathBuf {
    common::root().join("tests/fixtures/gate")
}

fn check_fixture(format: &str) -> (String, i32) {
    let out = bin()
        .current_dir(gate_fixture())
        .env("NO_COLOR", "1")
        .args([
            "check",
            "nginx.conf",
            "--select",
            "GW001,GW002,GW003,GW005",
            "--format",
            format,
        ])
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap(),
    )
}

#[test]
fn fixture_snapshots() {
    for format in FORMATS {
        let (text, code) = check_fixture(format);
        assert_eq!(code, 1, "{format}: findings at error level exit 1");
        let text = if format == "sarif" {
            stable_sarif(&text)
        } else {
            text
        };
        common::golden(&snapshot_dir().join(format!("gate.{format}")), &text);
    }
}

#[test]
fn fixture_sarif_is_valid() {
    let (text, _) = check_fixture("sarif");
    assert_valid_sarif(&parse_json(&text));
}

fn example(name: &str) -> PathBuf {
    common::root().join("examples").join(name)
}

/// Runs every format on a bundled example. The findings change as rules land, so this checks
/// shape only: SARIF valid, JSON parses, github lines are commands, checkstyle is one document.
fn all_formats_on(args: &[&str], dir: &Path) {
    for format in FORMATS {
        let out = bin()
            .current_dir(common::root())
            .args(["check", "--format", format])
            .args(args)
            .arg(dir)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{format} on {}: exit {:?}\n{}",
            dir.display(),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        match format {
            "sarif" => assert_valid_sarif(&parse_json(&text)),
            "json" => {
                parse_json(&text);
            }
            "github" => assert!(text.lines().all(|l| l.starts_with("::")), "{text}"),
            "checkstyle" => {
                assert!(text.starts_with("<?xml"));
                assert_eq!(text.matches("<checkstyle").count(), 1);
                roxmltree::Document::parse(&text).unwrap();
            }
            "gitlab" => assert_valid_gitlab(&parse_json(&text)),
            "junit" => assert_valid_junit(&text),
            _ => {}
        }
    }
}

/// GitLab Code Quality as its documentation defines a report
/// (docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format): an array of objects
/// with a string `description`, `check_name` and `fingerprint` (unique within the report), a
/// `severity` of info/minor/major/critical/blocker, a `location.path` and a positive
/// `location.lines.begin`.
fn assert_valid_gitlab(report: &serde_json::Value) {
    let issues = report.as_array().expect("a JSON array");
    let mut seen = std::collections::HashSet::new();
    for issue in issues {
        for key in ["description", "check_name", "fingerprint"] {
            assert!(
                issue[key].as_str().is_some_and(|s| !s.is_empty()),
                "{key}: {issue}"
            );
        }
        assert!(
            seen.insert(issue["fingerprint"].as_str().unwrap().to_owned()),
            "duplicate fingerprint: {issue}"
        );
        assert!(
            ["info", "minor", "major", "critical", "blocker"]
                .contains(&issue["severity"].as_str().unwrap_or("")),
            "{issue}"
        );
        assert!(
            issue["location"]["path"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{issue}"
        );
        assert!(
            issue["location"]["lines"]["begin"]
                .as_u64()
                .is_some_and(|n| n >= 1),
            "{issue}"
        );
    }
}

/// JUnit XML as Jenkins' and GitLab's readers take it: one `<testsuites>` of `<testsuite>`
/// elements whose `tests`/`failures` counts match their `<testcase>`s and `<failure>`s.
fn assert_valid_junit(text: &str) {
    let doc = roxmltree::Document::parse(text).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    for suite in root.children().filter(roxmltree::Node::is_element) {
        assert_eq!(suite.tag_name().name(), "testsuite");
        assert!(suite.attribute("name").is_some());
        let cases: Vec<_> = suite
            .children()
            .filter(roxmltree::Node::is_element)
            .collect();
        let failures = cases
            .iter()
            .filter(|c| c.children().any(|f| f.has_tag_name("failure")))
            .count();
        assert!(cases.iter().all(|c| c.has_tag_name("testcase")
            && c.attribute("name").is_some()
            && c.attribute("classname").is_some()));
        assert_eq!(
            suite.attribute("tests"),
            Some(cases.len().to_string().as_str())
        );
        assert_eq!(
            suite.attribute("failures"),
            Some(failures.to_string().as_str())
        );
    }
}

#[test]
fn examples_in_every_format() {
    all_formats_on(&[], &example("node-proxy"));
    let wp = example("php-fpm-wordpress");
    all_formats_on(&["--sysroot", wp.to_str().unwrap()], &wp.join("etc/nginx"));
}

#[test]
fn several_paths_make_one_sarif_log_with_a_run_each() {
    let out = bin()
        .current_dir(gate_fixture())
        .args(["check", "--format", "sarif", "nginx.conf", "nginx.conf"])
        .output()
        .unwrap();
    let log = parse_json(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(log["runs"].as_array().unwrap().len(), 2);
    assert_valid_sarif(&log);
}
