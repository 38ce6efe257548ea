//! The CI gate end to end: inline suppressions, baselines, --fail-on / --select / --ignore /
//! severity overrides / --exit-zero, and the shell integration commands.
//!
//! Findings come from the structure rules (GW002 include-not-found, GW005
//! unused-suppression), which exist on every branch, so these tests do not move as rules land.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::bin;
use predicates::prelude::*;
use serde_json::Value;

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// `(rule, line, message)` of each finding, from `--format json`, plus the exit code.
fn findings(dir: &tempfile::TempDir, extra: &[&str]) -> (Vec<(String, u64, String)>, i32) {
    let out = bin()
        .current_dir(dir.path())
        .args(["check", "nginx.conf", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let list = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (list, out.status.code().unwrap())
}

fn rules_and_lines(list: &[(String, u64, String)]) -> Vec<(&str, u64)> {
    list.iter().map(|(r, l, _)| (r.as_str(), *l)).collect()
}

// ---------------------------------------------------------------------------------------
// Suppressions

#[test]
fn suppression_on_the_line_before() {
    let dir = tree(&[(
        "nginx.conf",
        "events {}\nhttp {\n    # nginx-gwlint: ignore GW002 created by the deploy job\n    include a.conf;\n    include b.conf;\n}\n",
    )]);
    let (list, code) = findings(&dir, &[]);
    assert_eq!(rules_and_lines(&list), [("GW002", 5)]);
    assert_eq!(code, 1);
}

#[test]
fn suppression_on_the_same_line() {
    let dir = tree(&[(
        "nginx.conf",
        "events {}\nhttp {\n    include a.conf;  # nginx-gwlint: ignore GW002 optional\n    include b.conf;\n}\n",
    )]);
    let (list, _) = findings(&dir, &[]);
    assert_eq!(rules_and_lines(&list), [("GW002", 4)]);
}

#[test]
fn suppression_does_not_reach_past_its_directive() {
    // A comment above a block covers the block's head, not what is inside it; comments in
    // between are fine; a trailing comment after `{` covers the block directive.
    let dir = tree(&[(
        "nginx.conf",
        "events {}\n# nginx-gwlint: ignore GW002\n# another comment\nhttp {\n    include a.conf;\n}\n",
    )]);
    let (list, _) = findings(&dir, &[]);
    assert_eq!(rules_and_lines(&list), [("GW005", 2), ("GW002", 5)]);
    assert!(list[0].2.contains("unused suppression: `GW002`"));
}

#[test]
fn suppression_after_an_opening_brace_or_inside_a_directive() {
    let dir = tree(&[(
        "nginx.conf",
        "events {}\nhttp {  # nginx-gwlint: ignore GW002 covers `http {`, not its body\n    include a.conf;\n    include # nginx-gwlint: ignore GW002 between the words\n        b.conf;\n}\n",
    )]);
    let (list, _) = findings(&dir, &[]);
    assert_eq!(rules_and_lines(&list), [("GW005", 2), ("GW002", 3)]);
    assert!(list[0].2.contains("on this directive"));
}

#[test]
fn suppression_of_several_ids_comma_or_space_separated() {
    let dir = tree(&[(
        "nginx.conf",
        "events {}\nhttp {\n    # nginx-gwlint: ignore GW003, gw002 GW001 reasons here\n    include a.conf;\n}\n",
    )]);
    let (list, _) = findings(&dir, &[]);
    // GW002 was used; GW001 and GW003 ran and found nothing there.
    assert_eq!(rules_and_lines(&list), [("GW005", 3)]);
    assert!(
        list[0].2.contains("`GW003`, `GW001`"),
        "unused ids listed: {}",
        list[0].2
    );
}

#[test]
fn file_level_suppression_covers_only_its_file() {
    let dir = tree(&[
        (
            "nginx.conf",
            "events {}\nhttp {\n    include sub.conf;\n    include x.conf;\n}\n",
        ),
        (
            "sub.conf",
            "include y.conf;\n# nginx-gwlint: ignore-file GW002 legacy vhosts\ninclude z.conf;\n",
        ),
    ]);
    let (list, _) = findings(&dir, &[]);
    let files: Vec<_> = rules_and_lines(&list);
    assert_eq!(
        files,
        [("GW002", 4)],
        "sub.conf findings silenced: {list:?}"
    );
}

#[test]
fn unused_and_unknown_suppressions_are_info_findings() {
    let dir = tree(&[(
        "nginx.conf",
        "events {} # nginx-gwlint: ignore GW002\nhttp {\n    # nginx-gwlint: ignore GW9999 typo\n    include a.conf;\n    # nginx-gwlint: ignore\n    # nginx-gwlint: disable GW002\n    server { listen 80; }\n    # nginx-gwlint: ignore GW002 nothing below\n}\n",
    )]);
    // GW002 must run for its suppression to be judged (as in ruff, only suppressions of rules
    // that ran can be called unused).
    let (list, _) = findings(&dir, &["--select", "GW002,GW005"]);
    let list: Vec<_> = list.into_iter().filter(|(r, _, _)| r == "GW005").collect();
    let lines = rules_and_lines(&list);
    assert_eq!(
        lines,
        [
            ("GW005", 1),
            ("GW005", 3),
            ("GW005", 5),
            ("GW005", 6),
            ("GW005", 8)
        ]
    );
    assert!(list[0].2.contains("unused suppression"));
    assert!(list[1].2.contains("unknown rule id `GW9999`"));
    assert!(list[2].2.contains("names no rule id"));
    assert!(list[3].2.contains("unknown suppression `disable`"));
    assert!(list[4].2.contains("annotates no directive"));
    // Info: below the default --fail-on warning.
    let (only, code) = findings(&dir, &["--select", "GW005"]);
    assert_eq!(
        only.len(),
        4,
        "GW002 did not run: its suppression is not judged"
    );
    assert_eq!(code, 0);
    let (_, code) = findings(&dir, &["--select", "GW005", "--fail-on", "info"]);
    assert_eq!(code, 1);
}

#[test]
fn suppressions_apply_before_selection_and_respect_disabled_rules() {
    let dir = tree(&[
        (
            "nginx.conf",
            "events {}\nhttp {\n    include a.conf;  # nginx-gwlint: ignore GW002\n    include b.conf;  # nginx-gwlint: ignore GW003\n}\n",
        ),
        ("off.toml", "[rules.GW003]\nenabled = false\n"),
    ]);
    // --ignore GW002 must not make the GW002 suppression look unused.
    let (list, _) = findings(&dir, &["--ignore", "GW002"]);
    assert_eq!(rules_and_lines(&list), [("GW005", 4)]);
    // A suppression of a rule turned off in settings is not called unused.
    let (list, _) = findings(&dir, &["--ignore", "GW002", "--config", "off.toml"]);
    assert!(list.is_empty(), "{list:?}");
    // GW005 itself can be turned off, silenced per file, or ignored.
    let (list, _) = findings(&dir, &["--ignore", "GW002,GW005"]);
    assert!(list.is_empty(), "{list:?}");
}

#[test]
fn ignore_file_gw005_silences_unused_reports() {
    let dir = tree(&[(
        "nginx.conf",
        "# nginx-gwlint: ignore-file GW005 suppressions kept for the next release\nevents {} # nginx-gwlint: ignore GW002\n",
    )]);
    let (list, code) = findings(&dir, &["--fail-on", "info"]);
    assert!(list.is_empty(), "{list:?}");
    assert_eq!(code, 0);
}

// ---------------------------------------------------------------------------------------
// Baselines

const BASELINE_CONF: &str =
    "events {}\nhttp {\n    include a.conf;\n    include b.conf;\n    include  b.conf ;\n}\n";

#[test]
fn baseline_hides_known_findings_and_survives_inserted_lines() {
    let dir = tree(&[("nginx.conf", BASELINE_CONF)]);
    bin()
        .current_dir(dir.path())
        .args(["check", "nginx.conf", "--write-baseline", "baseline.json"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "wrote 3 findings to baseline.json",
        ));
    let b: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("baseline.json")).unwrap()).unwrap();
    assert_eq!(b["version"], 2);
    let entries = b["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    for e in entries {
        assert_eq!(e["rule"], "GW002");
        assert_eq!(e["file"], "nginx.conf");
        let fp = e["fingerprint"].as_str().unwrap();
        assert!(fp.len() == 16 && fp.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(e["message"].as_str().unwrap().contains(".conf"));
    }
    // The two `include b.conf` (whitespace differs) are duplicates with distinct occurrences.
    assert_ne!(entries[1]["fingerprint"], entries[2]["fingerprint"]);

    let (list, code) = findings(&dir, &["--baseline", "baseline.json"]);
    assert!(list.is_empty());
    assert_eq!(code, 0);

    // Lines inserted above and re-indentation do not make old findings new.
    std::fs::write(
        dir.path().join("nginx.conf"),
        "# a new comment\n\nevents {}\nhttp {\n  gzip on;\n  include a.conf;\n\n  include b.conf;\n  include b.conf;\n}\n",
    )
    .unwrap();
    let (list, code) = findings(&dir, &["--baseline", "baseline.json"]);
    assert!(list.is_empty(), "{list:?}");
    assert_eq!(code, 0);

    // A third identical directive is one new finding; an edited directive is new too.
    std::fs::write(
        dir.path().join("nginx.conf"),
        "events {}\nhttp {\n    include a2.conf;\n    include b.conf;\n    include b.conf;\n    include b.conf;\n}\n",
    )
    .unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["check", "nginx.conf", "--format", "concise"])
        .args(["--baseline", "baseline.json"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "2 known findings hidden; 1 entry no longer found",
        ));
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.contains("nginx.conf:3:5: GW002"));
    assert!(stdout.contains("nginx.conf:6:5: GW002"));
}

#[test]
fn baseline_fingerprints_match_sarif_partial_fingerprints() {
    let dir = tree(&[("nginx.conf", BASELINE_CONF)]);
    bin()
        .current_dir(dir.path())
        .args(["check", "nginx.conf", "--write-baseline", "b.json"])
        .assert()
        .code(0);
    let b: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("b.json")).unwrap()).unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["check", "nginx.conf", "--format", "sarif"])
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let from_sarif: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["partialFingerprints"]["nginxGwlintFingerprint/v2"]
                .as_str()
                .unwrap()
        })
        .collect();
    let from_baseline: Vec<&str> = b["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(from_sarif, from_baseline);
}

#[test]
fn bad_baselines_are_errors() {
    let dir = tree(&[
        ("nginx.conf", "events {}\n"),
        ("bad.json", "{\"entries\": []}"),
        ("v9.json", "{\"version\": 9, \"entries\": []}"),
    ]);
    for (file, says) in [
        ("bad.json", "not a nginx-gwlint baseline"),
        ("v9.json", "version 9"),
        ("missing.json", "cannot read baseline"),
    ] {
        bin()
            .current_dir(dir.path())
            .args(["check", "nginx.conf", "--baseline", file])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    bin()
        .current_dir(dir.path())
        .args([
            "check",
            "nginx.conf",
            "--baseline",
            "a",
            "--write-baseline",
            "b",
        ])
        .assert()
        .code(2);
}

#[test]
fn writing_a_baseline_still_fails_on_parse_errors() {
    let dir = tree(&[("nginx.conf", "events {\n")]);
    bin()
        .current_dir(dir.path())
        .args(["check", "nginx.conf", "--write-baseline", "b.json"])
        .assert()
        .code(2);
}

// ---------------------------------------------------------------------------------------
// Gating

#[test]
fn fail_on_levels_and_severity_overrides() {
    let dir = tree(&[
        ("nginx.conf", "events {}\nhttp { include a.conf; }\n"),
        ("warn.toml", "[rules.GW002]\nseverity = \"warning\"\n"),
        (
            "info.toml",
            "[rules.include-not-found]\nseverity = \"info\"\n",
        ),
    ]);
    let code = |args: &[&str]| findings(&dir, args).1;
    // error finding
    assert_eq!(code(&[]), 1);
    assert_eq!(code(&["--fail-on", "error"]), 1);
    // warning finding
    assert_eq!(code(&["--config", "warn.toml"]), 1);
    assert_eq!(code(&["--config", "warn.toml", "--fail-on", "error"]), 0);
    assert_eq!(code(&["--config", "warn.toml", "--fail-on", "info"]), 1);
    // info finding
    assert_eq!(code(&["--config", "info.toml"]), 0);
    assert_eq!(code(&["--config", "info.toml", "--fail-on", "info"]), 1);
    // --exit-zero wins over any threshold
    assert_eq!(code(&["--fail-on", "info", "--exit-zero"]), 0);
    let (list, _) = findings(&dir, &["--config", "warn.toml"]);
    assert_eq!(list.len(), 1);
    // The override shows in the output too.
    let out = bin()
        .current_dir(dir.path())
        .args([
            "check",
            "nginx.conf",
            "--config",
            "warn.toml",
            "--format",
            "concise",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("GW002 [warning]"));
}

#[test]
fn select_and_ignore_by_id_name_and_family() {
    let dir = tree(&[("nginx.conf", "events {}\nhttp { include a.conf; }\n")]);
    for (args, expect) in [
        (&["--ignore", "GW002"][..], 0),
        (&["--ignore", "include-not-found"][..], 0),
        (&["--ignore", "GW0"][..], 0),
        (&["--select", "GW003"][..], 0),
        (&["--select", "GW00", "--ignore", "GW003"][..], 1),
        (&["--select", "include-not-found"][..], 1),
        (&["--select", "all"][..], 1),
    ] {
        assert_eq!(findings(&dir, args).1, expect, "{args:?}");
    }
    bin()
        .current_dir(dir.path())
        .args(["check", "nginx.conf", "--ignore", "no-such-rule"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("matches no rule"));
}

#[test]
fn format_values_are_all_accepted() {
    let dir = tree(&[("nginx.conf", "events {}\n")]);
    for format in ["human", "concise", "json", "sarif", "github", "checkstyle"] {
        bin()
            .current_dir(dir.path())
            .args(["check", "nginx.conf", "--format", format])
            .assert()
            .code(0);
    }
}

// ---------------------------------------------------------------------------------------
// Catalogue and shell integration

#[test]
fn rules_lists_every_rule_in_each_format() {
    let count = nginx_gwlint::rules::all_meta().count();
    let text = bin().arg("rules").output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(
        text.lines().count(),
        count + 1,
        "header + one line per rule"
    );
    for m in nginx_gwlint::rules::all_meta() {
        assert!(text.contains(m.id.code()) && text.contains(m.id.name()));
    }
    let json = bin().args(["rules", "--format", "json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    let rules = v["rules"].as_array().unwrap();
    assert_eq!(rules.len(), count);
    assert_eq!(rules[0]["id"], "GW001");
    for key in ["id", "name", "severity", "fix", "summary", "options"] {
        assert!(rules[0].get(key).is_some(), "{key}");
    }
    let md = bin()
        .args(["rules", "--format", "markdown"])
        .output()
        .unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert_eq!(md.lines().count(), count + 2);
}

#[test]
fn explain_prints_the_whole_page() {
    bin().args(["explain", "GW005"]).assert().code(0).stdout(
        predicate::str::contains("# GW005 unused-suppression")
            .and(predicate::str::contains("## Why it matters"))
            .and(predicate::str::contains("## Example"))
            .and(predicate::str::contains("## Use instead"))
            .and(predicate::str::contains("## Fix safety")),
    );
}

#[test]
fn completions_and_man_page() {
    for (shell, marker) in [
        ("bash", "complete -F _nginx__gwlint"),
        ("zsh", "#compdef nginx-gwlint"),
        ("fish", "complete -c nginx-gwlint"),
    ] {
        bin()
            .args(["completions", shell])
            .assert()
            .code(0)
            .stdout(predicate::str::contains(marker).and(predicate::str::contains("fail-on")));
    }
    bin().args(["completions", "tcsh"]).assert().code(2);
    bin().arg("man").assert().code(0).stdout(
        predicate::str::contains(".TH nginx-gwlint").and(predicate::str::contains("check")),
    );
}

// ---------------------------------------------------------------------------------------
// No panic on any input

mod no_panic {
    use nginx_gwlint::baseline;
    use nginx_gwlint::lint::{lint, Selection};
    use nginx_gwlint::settings::Settings;
    use nginx_gwlint::workspace::Workspace;
    use proptest::prelude::*;

    fn fragment() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "# nginx-gwlint: ignore GW002\n",
            "# nginx-gwlint: ignore-file GW002, GW005 x\n",
            "# nginx-gwlint: ignore\n",
            "# nginx-gwlint:\n",
            "#nginx-gwlint: ignore gw\u{e9}\n",
            "# nginx-gwlint: ignore GW002",
            "include a.conf;",
            "include a.conf; # nginx-gwlint: ignore GW002\n",
            "include # nginx-gwlint: ignore GW002\n a.conf;",
            "http {",
            "server { # nginx-gwlint: ignore GW003\n",
            "}",
            "\n",
            " ",
            ";",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn suppressions_and_fingerprints_never_panic(parts in prop::collection::vec(fragment(), 0..24)) {
            let dir = tempfile::tempdir().unwrap();
            let conf = dir.path().join("nginx.conf");
            std::fs::write(&conf, parts.concat()).unwrap();
            let tree = nginx_gwlint::config::load_path(&conf).unwrap();
            let ws = Workspace::nginx_only(tree);
            let settings = Settings::defaults().unwrap();
            let diags = lint(&ws, &settings, &Selection::default());
            let fps = baseline::fingerprints(&ws.tree, &diags);
            prop_assert_eq!(fps.len(), diags.len());
            let b = baseline::Baseline::of(&ws.tree, &diags, &fps);
            let (mut d2, mut f2) = (diags.clone(), fps.clone());
            prop_assert_eq!(b.matcher().hide(&ws.tree, &mut d2, &mut f2), diags.len());
            prop_assert!(d2.is_empty());
        }
    }
}

/// A baseline written while checking `x` hides the same findings when the tree is checked as
/// `./x`, `x/`, `x/nginx.conf` or by its absolute path, and shown paths never start with `./`.
#[test]
fn baseline_does_not_depend_on_how_the_path_is_spelled() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(site.join("nginx.conf"), BASELINE_CONF).unwrap();
    bin()
        .current_dir(dir.path())
        .args(["check", "site", "--write-baseline", "b.json"])
        .assert()
        .code(0);
    let absolute = site.display().to_string();
    for spelled in [
        "./site",
        "site/",
        "site/nginx.conf",
        "./site/nginx.conf",
        &absolute,
    ] {
        bin()
            .current_dir(dir.path())
            .args(["check", spelled, "--baseline", "b.json"])
            .assert()
            .code(0)
            .stderr(predicate::str::contains("3 known findings hidden"));
    }
    let out = bin()
        .current_dir(dir.path())
        .args(["check", "--format", "concise", "./site"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.is_empty() && text.lines().all(|l| l.starts_with("site/")),
        "{text}"
    );
}

/// A version 1 baseline (fingerprints over the path as it was typed) is still read and still
/// hides what it recorded, checked the way it was written.
#[test]
fn a_version_1_baseline_still_hides_what_it_recorded() {
    let dir = tree(&[("nginx.conf", BASELINE_CONF)]);
    bin()
        .current_dir(dir.path())
        .args(["check", "nginx.conf", "--write-baseline", "b.json"])
        .assert()
        .code(0);
    // The same findings as version 1 wrote them: FNV-1a over rule, display path, anchor text
    // and occurrence, each followed by a NUL but the last.
    let b: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("b.json")).unwrap()).unwrap();
    let mut entries = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for e in b["entries"].as_array().unwrap() {
        let rule = e["rule"].as_str().unwrap();
        let anchor = if e["message"].as_str().unwrap().contains("a.conf") {
            "include a.conf;"
        } else {
            "include b.conf;"
        };
        let n = seen.entry((rule.to_owned(), anchor)).or_insert(0usize);
        let key = format!("{rule}\0nginx.conf\0{anchor}\0{n}");
        *n += 1;
        let fp = format!("{:016x}", nginx_gwlint::baseline::fnv1a64(key.as_bytes()));
        entries.push(serde_json::json!({"rule": rule, "file": "nginx.conf", "fingerprint": fp, "message": e["message"]}));
    }
    let v1 = serde_json::json!({"version": 1, "entries": entries});
    std::fs::write(dir.path().join("v1.json"), v1.to_string()).unwrap();
    bin()
        .current_dir(dir.path())
        .args(["check", "nginx.conf", "--baseline", "v1.json"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("3 known findings hidden"));
}

// ---------------------------------------------------------------------------------------
// GW030 on this machine's own configuration

/// The installed nginx's own configuration (Debian's /etc/nginx, with the stream module's
/// `modules-enabled` link): GW030 looks its module and certificate files up on this machine,
/// and finds nothing missing where `nginx -t` accepts the configuration.
#[test]
fn startup_files_of_the_live_configuration_are_found() {
    let Some(nginx) = crate::common::oracle::nginx() else {
        return;
    };
    let conf = std::path::Path::new("/etc/nginx/nginx.conf");
    let accepted = std::process::Command::new(&nginx)
        .args(["-t", "-q"])
        .output()
        .unwrap()
        .status
        .success();
    if !conf.is_file() || !accepted {
        panic!("the installed nginx must accept its own /etc/nginx/nginx.conf for this test");
    }
    let out = bin()
        .args([
            "check",
            "/etc/nginx",
            "--select",
            "GW030",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["diagnostics"].as_array().map(Vec::len), Some(0), "{v}");
}

/// Every error at once (#13): a file with a semantic mistake, a missing `;` and a stray `}`
/// gets all three, nginx's first (line 6, `invalid URL prefix`) among them, and exit 2; an
/// included file's own errors are found too, since the include is read past the syntax error.
#[test]
fn syntax_errors_do_not_hide_the_other_errors() {
    let dir = tree(&[
        (
            "nginx.conf",
            "events {}\nhttp {\n    include site.conf;\n    server {\n        listen 8080;\n        location / { proxy_pass localhost:3000; }\n        location /b {\n            proxy_read_timeout 5s\n        }\n    }\n}\n}\n",
        ),
        ("site.conf", "server { listen 8081; return abc; }\n"),
    ]);
    let (list, code) = findings(&dir, &[]);
    assert_eq!(code, 2, "{list:?}");
    let errors: Vec<(&str, u64)> = rules_and_lines(&list);
    for want in [("GW022", 6), ("GW001", 9), ("GW001", 12), ("GW027", 1)] {
        assert!(errors.contains(&want), "{want:?} missing from {list:?}");
    }
    // A quote left open swallows the rest of the file: only the load rules run then.
    let dir = tree(&[(
        "nginx.conf",
        "events {}\nhttp {\n    server {\n        listen 8080;\n        location / { proxy_pass localhost:3000; }\n        add_header X \"unclosed;\n    }\n}\n",
    )]);
    let (list, code) = findings(&dir, &[]);
    assert_eq!(code, 2);
    assert_eq!(rules_and_lines(&list), vec![("GW001", 9)], "{list:?}");
}

/// GW010 on this machine's own configuration: Debian builds the stream module as a dynamic
/// module, so `stream { }` is unknown to nginx until `load_module` loads ngx_stream_module.so
/// (Debian's nginx.conf does so through modules-enabled/). The live nginx.conf without that
/// include, given as the unsaved text of /etc/nginx/nginx.conf, gets nginx's own verdict;
/// with it, nothing.
#[test]
fn a_dynamic_module_used_before_load_module_on_the_live_configuration() {
    let Some(nginx) = crate::common::oracle::nginx() else {
        return;
    };
    let live = std::fs::read_to_string("/etc/nginx/nginx.conf").unwrap();
    let include = "include /etc/nginx/modules-enabled/*.conf;";
    assert!(
        live.contains(include),
        "Debian's nginx.conf loads modules-enabled/"
    );
    let stream = "stream { server { listen 127.0.0.1:19999; return ok; } }";
    let without = live.replace(include, stream);
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("nginx.conf");
    std::fs::write(&copy, &without).unwrap();
    let oracle = std::process::Command::new(&nginx)
        .args(["-t", "-p", "/etc/nginx/", "-c"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&oracle.stderr).contains("unknown directive \"stream\""));
    let run = |text: &str| -> Vec<String> {
        let out = bin()
            .args(["check", "--stdin-filename", "/etc/nginx/nginx.conf", "-"])
            .args(["--select", "GW010", "--format", "json"])
            .write_stdin(text.to_owned())
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let found = run(&without);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("unknown directive \"stream\""),
        "{found:?}"
    );
    assert_eq!(
        run(&live.replace("events {", &format!("{stream}\nevents {{"))),
        Vec::<String>::new()
    );
}
