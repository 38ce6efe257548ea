//! The flags users bring from ruff and shellcheck (issue #17): `-o`, `-q`, `--statistics`,
//! `--color` with NO_COLOR / FORCE_COLOR / CLICOLOR_FORCE, `--min-severity`, `explain --all`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use assert_cmd::Command;

fn bin() -> Command {
    let mut c = Command::cargo_bin("nginx-gwlint").unwrap();
    c.env_remove("NO_COLOR")
        .env_remove("FORCE_COLOR")
        .env_remove("CLICOLOR_FORCE");
    c
}

fn example() -> std::path::PathBuf {
    common::root().join("examples/node-proxy")
}

#[test]
fn output_file_gets_the_report_and_stdout_stays_empty() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.json");
    let out = bin()
        .args(["check", "--format", "json", "-o"])
        .arg(&file)
        .arg(example())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(!report["diagnostics"].as_array().unwrap().is_empty());
    // Only the report is left in the directory: the temp file was renamed.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn quiet_keeps_the_report_and_drops_the_notes() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("np");
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(example())
        .arg(&copy)
        .status()
        .unwrap();
    assert!(ok.success());
    let loud = bin()
        .args(["check", "--diff", "--no-verify"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(!loud.stderr.is_empty());
    let quiet = bin()
        .args(["check", "--diff", "--no-verify", "-q"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    assert_eq!(quiet.stdout, loud.stdout);
}

#[test]
fn statistics_count_findings_per_rule() {
    let out = bin()
        .args(["check", "--statistics"])
        .arg(example())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let json = bin()
        .args(["check", "--format", "json"])
        .arg(example())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let total: usize = text
        .lines()
        .map(|l| {
            l.split('\t')
                .next()
                .unwrap()
                .trim()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        total,
        report["diagnostics"].as_array().unwrap().len(),
        "{text}"
    );
    assert!(text.lines().any(|l| l.contains("\tGW104\t[*] ")), "{text}");
    assert!(text.lines().any(|l| l.contains("\tGW201\t[-] ")), "{text}");
}

#[test]
fn color_follows_the_flag_and_the_environment() {
    let has_color = |cmd: &mut Command| {
        let out = cmd.arg("check").arg(example()).output().unwrap();
        String::from_utf8_lossy(&out.stdout).contains("\x1b[")
    };
    assert!(!has_color(&mut bin()));
    assert!(has_color(bin().env("FORCE_COLOR", "1")));
    assert!(has_color(bin().env("CLICOLOR_FORCE", "1")));
    assert!(!has_color(
        bin().env("FORCE_COLOR", "1").env("NO_COLOR", "1")
    ));
    let mut always = bin();
    always.args(["check", "--color", "always"]).arg(example());
    assert!(String::from_utf8_lossy(&always.output().unwrap().stdout).contains("\x1b["));
    let mut never = bin();
    never
        .args(["check", "--color", "never"])
        .arg(example())
        .env("FORCE_COLOR", "1");
    assert!(!String::from_utf8_lossy(&never.output().unwrap().stdout).contains("\x1b["));
}

#[test]
fn min_severity_filters_output_not_the_gate() {
    let out = bin()
        .args(["check", "--format", "json", "--min-severity", "error"])
        .arg(example())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diags = report["diagnostics"].as_array().unwrap();
    assert!(!diags.is_empty());
    assert!(diags.iter().all(|d| d["severity"] == "error"));
    let warnings_only = bin()
        .args([
            "check",
            "--select",
            "GW103",
            "--min-severity",
            "error",
            "--format",
            "json",
        ])
        .arg(example())
        .output()
        .unwrap();
    // GW103 is a warning: hidden from the output, still failing the default gate.
    let report: serde_json::Value = serde_json::from_slice(&warnings_only.stdout).unwrap();
    assert!(report["diagnostics"].as_array().unwrap().is_empty());
    assert_eq!(warnings_only.status.code(), Some(1));
}

#[test]
fn explain_all_prints_every_page() {
    let out = bin().args(["explain", "--all"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let rules = bin().args(["rules", "--format", "json"]).output().unwrap();
    let rules: serde_json::Value = serde_json::from_slice(&rules.stdout).unwrap();
    for r in rules["rules"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        assert!(text.contains(id), "{id} missing");
    }
    assert_eq!(
        bin().args(["explain"]).output().unwrap().status.code(),
        Some(2)
    );
}

#[test]
fn every_subcommand_has_a_man_page_with_exit_status_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for page in [
        "nginx-gwlint.1",
        "nginx-gwlint-check.1",
        "nginx-gwlint-diagnose.1",
        "nginx-gwlint-parse.1",
        "nginx-gwlint-rules.1",
        "nginx-gwlint-explain.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".SH \"EXIT STATUS\""), "{page}");
        assert!(text.contains(".SH ENVIRONMENT"), "{page}");
    }
    let check = bin().args(["man", "check"]).output().unwrap();
    let text = String::from_utf8(check.stdout).unwrap();
    assert!(text.contains(".TH nginx-gwlint-check 1"), "{text}");
    assert!(text.contains("\\-\\-fail\\-on"), "{text}");
    assert_eq!(
        bin().args(["man", "nope"]).output().unwrap().status.code(),
        Some(2)
    );
}

fn tree_with_settings(settings: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let copy = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", example().display()))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(copy.success());
    std::fs::write(dir.path().join("nginx-gwlint.toml"), settings).unwrap();
    dir
}

fn rules_reported(dir: &std::path::Path, args: &[&str]) -> Vec<String> {
    let out = bin()
        .args(["check", "--format", "json"])
        .args(args)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut rules: Vec<String> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap().to_owned())
        .collect();
    rules.dedup();
    rules
}

#[test]
fn settings_select_ignore_extend_select_and_cli_precedence() {
    // The example declares a backend in nginx-gwlint.toml; keep it, add the selection keys.
    let original = std::fs::read_to_string(example().join("nginx-gwlint.toml")).unwrap();
    let with = |extra: &str| tree_with_settings(&format!("{extra}\n{original}"));

    let dir = with("select = [\"GW1\"]\nextend-select = [\"GW201\"]\nignore = [\"GW103\"]");
    let rules = rules_reported(dir.path(), &[]);
    assert!(
        rules.iter().all(|r| r.starts_with("GW1") || r == "GW201"),
        "{rules:?}"
    );
    assert!(
        rules.contains(&"GW201".to_owned()) && rules.contains(&"GW104".to_owned()),
        "{rules:?}"
    );
    assert!(!rules.contains(&"GW103".to_owned()), "{rules:?}");

    // --select replaces the file's select, and wins over its ignore and over enabled = false.
    let dir = with("ignore = [\"GW103\"]\n[rules.GW402]\nenabled = false");
    assert_eq!(
        rules_reported(dir.path(), &["--select", "GW103"]),
        ["GW103"]
    );
    assert_eq!(
        rules_reported(dir.path(), &["--select", "GW402"]),
        ["GW402"]
    );
    assert!(!rules_reported(dir.path(), &[]).contains(&"GW402".to_owned()));
}

#[test]
fn per_file_ignores_and_exclude() {
    let original = std::fs::read_to_string(example().join("nginx-gwlint.toml")).unwrap();
    let dir = tree_with_settings(&format!("exclude = [\"conf.d/*.conf\"]\n{original}"));
    assert!(rules_reported(dir.path(), &[]).is_empty());
    let dir = tree_with_settings(&format!(
        "[per-file-ignores]\n\"app.conf\" = [\"GW1\", \"localhost-upstream\"]\n{original}"
    ));
    let rules = rules_reported(dir.path(), &[]);
    assert!(!rules.is_empty());
    assert!(
        rules.iter().all(|r| !r.starts_with("GW1") && r != "GW201"),
        "{rules:?}"
    );
    let bad = tree_with_settings("select = [\"GW9\"]\n");
    let out = bin().arg("check").arg(bad.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches no rule"));
}

#[test]
fn suppressions_accept_rule_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        "events {}\nhttp {\n    server {\n        listen 8080;\n        location ~ \\.php$ {\n            fastcgi_pass 127.0.0.1:9000;\n            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n            # nginx-gwlint: ignore timeout-wrong-module kept for the proxy fallback\n            proxy_read_timeout 30s;\n        }\n    }\n}\n",
    )
    .unwrap();
    assert!(rules_reported(dir.path(), &[]).is_empty());
}
