//! The flags users bring from ruff and shellcheck (issue #17): `-o`, `-q`, `--statistics`,
//! `--color` with NO_COLOR / FORCE_COLOR / CLICOLOR_FORCE, `--min-severity`, `explain --all`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

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

/// The JSON report is streamed: a reader that stops early (`| head`) ends the output
/// quietly, with the exit code of the findings, and a full read parses.
#[test]
fn streamed_json_report_parses_and_survives_a_closed_pipe() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let mut conf = String::from("events {}\nhttp {\n    server {\n        listen 8080;\n");
    for i in 0..2000 {
        conf.push_str(&format!(
            "        location /l{i} {{ proxy_pass http://127.0.0.1:1; proxy_connect_timeout 90s; }}\n"
        ));
    }
    conf.push_str("    }\n}\n");
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    // Far more than a pipe holds (64 KiB).
    let full = bin()
        .args(["check", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(full.status.code(), Some(1));
    assert!(full.stdout.len() > 1 << 20, "{} bytes", full.stdout.len());
    let report: serde_json::Value = serde_json::from_slice(&full.stdout).unwrap();
    assert_eq!(report["diagnostics"].as_array().unwrap().len(), 2000);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("nginx-gwlint"))
        .args(["check", "--format", "json"])
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // The read end is closed here, with most of the report unwritten.
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(head.starts_with(b"{"));
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

/// `--stdin-filename NAME`: the buffer on stdin is NAME inside its tree (the upstream and the
/// settings file next to it are read from disk), findings name NAME, `--diff` plans fixes on the
/// buffer, `--fix` is refused, and nothing on disk changes.
#[test]
fn stdin_filename_checks_the_buffer_as_that_file() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&example(), dir.path()).unwrap();
    let app = dir.path().join("conf.d/app.conf");
    let on_disk = std::fs::read(&app).unwrap();
    let buffer = "server {\n    listen 80;\n    location / {\n        fastcgi_pass 127.0.0.1:9000;\n        proxy_read_timeout 30s;\n    }\n}\n";
    let out = bin()
        .current_dir(dir.path())
        .args([
            "check",
            "--format",
            "concise",
            "--stdin-filename",
            "conf.d/app.conf",
        ])
        .write_stdin(buffer)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("conf.d/app.conf:5:9: GW101"), "{text}");
    // The disk's version of the file is not what was checked.
    assert!(!text.contains("GW201"), "{text}");
    let diff = bin()
        .current_dir(dir.path())
        .args([
            "check",
            "--diff",
            "--no-verify",
            "--stdin-filename",
            "conf.d/app.conf",
        ])
        .write_stdin(buffer)
        .output()
        .unwrap();
    let diff = String::from_utf8_lossy(&diff.stdout);
    assert!(
        diff.contains("+        fastcgi_read_timeout 30s;"),
        "{diff}"
    );
    let fix = bin()
        .current_dir(dir.path())
        .args(["check", "--fix", "--stdin-filename", "conf.d/app.conf"])
        .write_stdin(buffer)
        .output()
        .unwrap();
    assert_eq!(fix.status.code(), Some(2));
    assert_eq!(std::fs::read(&app).unwrap(), on_disk);
}

/// `--dump DIR`: every saved `nginx -T` output is one host, in a section of its own; JSON names
/// the host; a device is refused before anything is printed.
#[test]
fn dump_checks_a_fleet_one_section_per_host() {
    let dir = tempfile::tempdir().unwrap();
    common::write(
        dir.path(),
        "web1.txt",
        "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp { server { location / { proxy_pass http://127.0.0.1:3000; } } }\n",
    );
    common::write(
        dir.path(),
        "web2.txt",
        "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp { server { location / { fastcgi_pass 127.0.0.1:9000; proxy_read_timeout 30s; } } }\n",
    );
    let out = bin()
        .args(["check", "--format", "concise", "--dump"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let web1 = text.find("== host web1 ==").unwrap();
    let web2 = text.find("== host web2 ==").unwrap();
    let finding = text.find("GW101").unwrap();
    assert!(web1 < web2 && web2 < finding, "{text}");
    let json = bin()
        .args(["check", "--format", "json", "--dump"])
        .arg(dir.path().join("web2.txt"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["host"], "web2");
    let device = bin()
        .args(["check", "--dump", "/dev/zero"])
        .output()
        .unwrap();
    assert_eq!(device.status.code(), Some(2));
    assert!(device.stdout.is_empty());
}

/// Rule options are typed: a wrong value is exit 2 naming file:line:column.
#[test]
fn a_wrong_option_value_is_exit_2_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let settings = common::write(
        dir.path(),
        "nginx-gwlint.toml",
        "[rules.GW103]\nmax-timeout = \"banana\"\n",
    );
    let out = bin()
        .args(["check", "--config"])
        .arg(&settings)
        .arg(example())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nginx-gwlint.toml:2:15") && err.contains("not an nginx time"),
        "{err}"
    );
}

/// A fleet is checked in parallel, and the report is the same as checking each host on its own,
/// one after another: the hosts in order, each section whole, the diffs of `--diff` included.
#[test]
fn dump_fleet_in_parallel_matches_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut hosts = Vec::new();
    for i in 0..12 {
        let body = match i % 3 {
            0 => format!("location / {{ proxy_pass http://localhost:{}; }}", 3000 + i),
            1 => "location ~ \\.php$ { fastcgi_pass 127.0.0.1:9000; proxy_read_timeout 30s; }"
                .to_owned(),
            _ => "location / { return 200; }".to_owned(),
        };
        let name = format!("web{i:02}.txt");
        common::write(
            dir.path(),
            &name,
            format!(
                "# configuration file /etc/nginx/nginx.conf:\nevents {{}}\nhttp {{\n    server {{\n        {body}\n    }}\n}}\n"
            ),
        );
        hosts.push(dir.path().join(name));
    }
    for extra in [&["--format", "concise"][..], &["--diff"][..]] {
        let fleet = bin()
            .args(["check", "--dump"])
            .arg(dir.path())
            .args(extra)
            .output()
            .unwrap();
        let mut one_by_one = Vec::new();
        let mut worst = 0;
        for host in &hosts {
            let out = bin()
                .args(["check", "--dump"])
                .arg(host)
                .args(extra)
                .output()
                .unwrap();
            worst = worst.max(out.status.code().unwrap());
            one_by_one.extend_from_slice(&out.stdout);
        }
        assert_eq!(
            String::from_utf8_lossy(&fleet.stdout),
            String::from_utf8_lossy(&one_by_one),
            "{extra:?}"
        );
        assert_eq!(fleet.status.code(), Some(worst), "{extra:?}");
    }
}
