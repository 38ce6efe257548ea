//! The binary end to end: exit codes, formats, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::common::bin;

use predicates::prelude::*;

fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

#[test]
fn clean_config_exits_zero() {
    let dir = tree(&[(
        "nginx.conf",
        b"events {}\nhttp { server { listen 8080; } }\n",
    )]);
    bin()
        .args(["check", "--format", "concise"])
        .arg(dir.path())
        .assert()
        .code(0);
}

#[test]
fn parse_error_exits_two_with_file_line_col() {
    let dir = tree(&[(
        "nginx.conf",
        b"events {}\nhttp {\n    server {\n        listen 80\n    }\n}\n",
    )]);
    bin()
        .args(["check", "--format", "concise"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "nginx.conf:5:5: GW001 [error] unexpected \"}\"",
        ));
}

#[test]
fn findings_exit_one_and_exit_zero_flag() {
    let dir = tree(&[("nginx.conf", b"events {}\nhttp { include missing.conf; }\n")]);
    bin().arg("check").arg(dir.path()).assert().code(1);
    bin()
        .args(["check", "--exit-zero"])
        .arg(dir.path())
        .assert()
        .code(0);
    bin()
        .args(["check", "--ignore", "GW00"])
        .arg(dir.path())
        .assert()
        .code(0);
}

#[test]
fn json_contract_shape() {
    let dir = tree(&[("nginx.conf", b"events {}\nhttp { include missing.conf; }\n")]);
    let out = bin()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], 1);
    let d = &v["diagnostics"][0];
    for key in [
        "rule",
        "name",
        "severity",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "message",
        "help",
        "fix",
    ] {
        assert!(d.get(key).is_some(), "missing {key}");
    }
    assert_eq!(d["rule"], "GW002");
    assert_eq!(d["line"], 2);
    assert_eq!(d["column"], 8);
    assert_eq!(v["summary"]["errors"], 1);
    assert_eq!(v["files"].as_array().unwrap().len(), 1);
}

#[test]
fn nginx_t_dump_on_stdin() {
    let dump = "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp { include /etc/nginx/x.conf; }\n\n";
    bin()
        .args(["check", "-", "--format", "concise"])
        .write_stdin(dump)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("/etc/nginx/nginx.conf:2:8: GW002"));
    bin()
        .args(["check", "-"])
        .write_stdin("events {}\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not an `nginx -T` dump"));
}

/// `levels` nested `location / {` blocks inside `http` and `server`, each with a directive.
fn nested(levels: usize) -> String {
    let mut text = String::from("events {}\nhttp {\nserver {\nlisten 127.0.0.1:18999;\n");
    for _ in 0..levels {
        text.push_str("location / {\nadd_header X-Level on;\n");
    }
    text.push_str("return 200;\n");
    text.push_str(&"}".repeat(levels + 2));
    text.push('\n');
    text
}

#[test]
fn nesting_as_deep_as_nginx_starts_with_is_checked_without_recursion() {
    // 12,998 locations + http + server = MAX_DEPTH blocks: nginx 1.22 with its default 8 MiB
    // stack accepts this (it crashes near 13,100), so nginx-gwlint must read it, in every
    // output and through every walk, without overflowing its own stack.
    let levels = nginx_gwlint::syntax::MAX_DEPTH - 2;
    let dir = tree(&[("nginx.conf", nested(levels).as_bytes())]);
    if let Some(nginx) = common::oracle::nginx() {
        assert_eq!(
            common::nginx_test_with(&nginx, &dir.path().join("nginx.conf")),
            None
        );
    }
    for format in ["human", "json", "sarif", "github", "checkstyle"] {
        bin()
            .args(["check", "--format", format])
            .arg(dir.path())
            .assert()
            .code(0);
    }
    let out = bin()
        .arg("parse")
        .arg(dir.path().join("nginx.conf"))
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    assert!(out.starts_with(b"{\"status\":\"ok\""));
    // Every block as a `block` array: events, http, server and the locations.
    let blocks = out.windows(9).filter(|w| w == b"\"block\":[").count();
    assert_eq!(blocks, levels + 3);
    let baseline = dir.path().join("baseline.json");
    bin()
        .arg("check")
        .arg(dir.path())
        .arg("--write-baseline")
        .arg(&baseline)
        .assert()
        .code(0);
    bin()
        .arg("check")
        .arg(dir.path())
        .arg("--diff")
        .assert()
        .code(0);
}

#[test]
fn a_20k_file_include_chain_expands_without_recursion() {
    // Each file includes the next: the expansion follows the chain with an explicit stack and
    // checks for cycles in constant time (a recursive expansion overflowed the stack here).
    let n = 20_000;
    let dir = tree(&[("nginx.conf", b"events {}\nhttp {\ninclude f0.conf;\n}\n")]);
    for i in 0..n {
        let text = if i + 1 < n {
            format!("include f{}.conf;\n", i + 1)
        } else {
            "server { listen 127.0.0.1:18999; return 200; }\n".to_owned()
        };
        std::fs::write(dir.path().join(format!("f{i}.conf")), text).unwrap();
    }
    bin()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!("/f{}.conf\"", n - 1)));
}

#[test]
fn nesting_deeper_than_nginx_can_start_is_gw001() {
    let dir = tree(&[(
        "nginx.conf",
        nested(nginx_gwlint::syntax::MAX_DEPTH - 1).as_bytes(),
    )]);
    bin()
        .args(["check", "--format", "concise"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout(
            predicate::str::contains("GW001")
                .and(predicate::str::contains("nested more than 13000 levels")),
        );
}

#[test]
fn one_line_of_200k_findings_is_linear_in_columns_and_baselines() {
    // 200,000 duplicate directives on one line: a finding each (GW014). Counting each column
    // from the line start, or looking each finding's directive up among all its siblings, is
    // 10^10 steps here (hours); done linearly it is seconds.
    let n = 200_000;
    let mut text = String::from("events {} http { server { listen 127.0.0.1:18999; ");
    text.push_str(&"proxy_read_timeout 5s; ".repeat(n));
    text.push_str("} }\n");
    let dir = tree(&[("nginx.conf", text.as_bytes())]);
    let out = bin()
        .args(["check", "--format", "concise", "--select", "GW014"])
        .arg(dir.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let findings: Vec<&str> = out.lines().filter(|l| l.contains(": GW014 ")).collect();
    assert_eq!(findings.len(), n - 1);
    // The last finding: the first directive, reported as duplicated by the last one (or the
    // reverse): either way the columns are those of a directive start on line 1.
    let prefix = "events {} http { server { listen 127.0.0.1:18999; ".len();
    let width = "proxy_read_timeout 5s; ".len();
    for line in [findings[0], findings[findings.len() - 1]] {
        let col: usize = line.split(':').nth(2).unwrap().parse().unwrap();
        assert_eq!(line.split(':').nth(1), Some("1"));
        assert_eq!((col - 1 - prefix) % width, 0, "{line}");
    }
    let baseline = dir.path().join("baseline.json");
    bin()
        .args(["check", "--select", "GW014"])
        .arg(dir.path())
        .arg("--write-baseline")
        .arg(&baseline)
        .assert()
        .code(0);
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&baseline).unwrap()).unwrap();
    assert_eq!(written["entries"].as_array().map(Vec::len), Some(n - 1));
    bin()
        .args(["check", "--select", "GW014"])
        .arg(dir.path())
        .arg("--baseline")
        .arg(&baseline)
        .assert()
        .code(0);
}

#[test]
fn nginx_is_never_run_from_a_relative_path_entry_or_the_checked_tree() {
    // A repository with its own `nginx` script at its top and in bin/: with `.` (or the
    // repository's bin/) in PATH, asking for the installed version must not run either.
    let dir = tree(&[("nginx.conf", b"events {}\nhttp {}\n")]);
    let marker = dir.path().join("ran");
    let script = format!(
        "#!/bin/sh\ntouch '{}'\necho 'nginx version: nginx/1.99.0' >&2\n",
        marker.display()
    );
    for rel in ["nginx", "bin/nginx"] {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &script).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let path = format!(".:bin:{}:/usr/bin:/bin", dir.path().join("bin").display());
    for target in [".", "nginx.conf"] {
        bin()
            .current_dir(dir.path())
            .env("PATH", &path)
            .args(["check", "--format", "json", target])
            .assert()
            .code(0);
    }
    assert!(!marker.exists(), "the checked tree's ./nginx ran");
}

#[test]
fn binary_file_is_a_clear_error() {
    let dir = tree(&[
        ("nginx.conf", b"events {}\nhttp { include blob.bin; }\n"),
        ("blob.bin", b"\x7fELF\x02\x01\x01\x00\x00\x00binary"),
    ]);
    bin()
        .args(["check", "--format", "concise"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout(
            predicate::str::contains("blob.bin:1:8: GW001")
                .and(predicate::str::contains("binary file")),
        );
}

#[test]
fn missing_path_and_directory_include_exit_two() {
    bin()
        .args(["check", "/nonexistent/nginx-gwlint/nginx.conf"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "/nonexistent/nginx-gwlint/nginx.conf",
        ));
    let dir = tree(&[
        ("nginx.conf", b"events {}\nhttp { include sub; }\n"),
        ("sub/x.conf", b""),
    ]);
    bin()
        .args(["check", "--format", "concise"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout(predicate::str::contains("is a directory"));
}

#[test]
fn include_cycle_terminates() {
    let dir = tree(&[
        ("nginx.conf", b"events {}\nhttp { include a.conf; }\n"),
        ("a.conf", b"include nginx.conf;\n"),
    ]);
    bin()
        .args(["check", "--format", "concise"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("GW003"));
}

#[test]
fn huge_file_parses() {
    let mut text = String::from("events {}\nhttp {\n");
    for i in 0..200_000 {
        text.push_str(&format!(
            "    server {{ listen {}; server_name s{i}.example.com; }}\n",
            1024 + i % 60000
        ));
    }
    text.push_str("}\n");
    let dir = tree(&[("nginx.conf", text.as_bytes())]);
    bin().arg("check").arg(dir.path()).assert().code(0);
}

#[test]
fn unknown_selector_and_rule_are_usage_errors() {
    let dir = tree(&[("nginx.conf", b"events {}\n")]);
    bin()
        .args(["check", "--select", "GW9"])
        .arg(dir.path())
        .assert()
        .code(2);
    bin().args(["explain", "GW999"]).assert().code(2);
    bin().args(["check", "--bogus"]).assert().code(2);
}

#[test]
fn settings_file_unknown_key_is_an_error() {
    let dir = tree(&[
        ("nginx.conf", b"events {}\n"),
        (
            "custom.toml",
            b"[rules.GW001]\nseverity = \"warning\"\nbogus = 1\n",
        ),
    ]);
    bin()
        .args(["check", "--config"])
        .arg(dir.path().join("custom.toml"))
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown option `bogus`"));
}

#[test]
fn parse_prints_crossplane_shape() {
    let dir = tree(&[
        ("nginx.conf", b"events {}\nhttp {\n  include a.conf;\n}\n"),
        ("a.conf", b"server { listen \"80\"; }\n"),
    ]);
    let out = bin()
        .arg("parse")
        .arg(dir.path().join("nginx.conf"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["config"].as_array().unwrap().len(), 2);
    let http = &v["config"][0]["parsed"][1];
    assert_eq!(http["directive"], "http");
    assert_eq!(http["block"][0]["includes"][0], 1);
    assert_eq!(v["config"][1]["parsed"][0]["block"][0]["args"][0], "80");
}

#[test]
fn rules_and_explain() {
    bin()
        .arg("rules")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("GW001").and(predicate::str::contains("parse-error")));
    bin()
        .args(["explain", "include-cycle"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("# GW003 include-cycle"));
}

#[test]
fn gunicorn_and_uwsgi_configs_become_backends_for_gw104() {
    let dir = tree(&[
        (
            "nginx.conf",
            b"events {}\nhttp {\n    server {\n        listen 8080;\n        location /api/ {\n            proxy_pass http://127.0.0.1:8000;\n            proxy_read_timeout 30s;\n        }\n        location /py/ {\n            uwsgi_pass 127.0.0.1:3031;\n        }\n    }\n}\n",
        ),
        ("gunicorn.conf.py", b"bind = \"0.0.0.0:8000\"\ntimeout = 120\n"),
        ("app.ini", b"[uwsgi]\nsocket = 127.0.0.1:3031\nharakiri = 90\n"),
    ]);
    let app_configs = format!(
        "--app-config={},{}",
        dir.path().join("gunicorn.conf.py").display(),
        dir.path().join("app.ini").display()
    );
    let out = bin()
        .args([
            "check",
            "--format",
            "concise",
            "--select",
            "GW104",
            &app_configs,
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("nginx.conf:6:13: GW104")
            && text.contains("backend `gunicorn 127.0.0.1:8000` may work for 2m (120s)"),
        "{text}"
    );
    assert!(
        text.contains("nginx.conf:10:13: GW104")
            && text.contains("`uwsgi_read_timeout`, nginx's default")
            && text.contains("may work for 1m30s (90s)"),
        "{text}"
    );
    // Without the app configs nothing is known about those backends.
    bin()
        .args(["check", "--select", "GW104"])
        .arg(dir.path())
        .assert()
        .code(0);
}

/// The files of one glob are read on several threads: the problems keep the glob's order (the
/// include's first, which nginx stops at, is the one reported: findings at one span are one),
/// and the files that could be read are checked.
#[test]
fn unreadable_files_of_a_glob_are_reported_in_order() {
    let dir = tree(&[
        (
            "nginx.conf",
            b"events {}\nhttp {\n    include conf.d/*.conf;\n}\n",
        ),
        ("conf.d/a.conf", b"server { listen 81; }\n"),
        (
            "conf.d/c.conf",
            b"server { listen 82; bogus_directive x; }\n",
        ),
    ]);
    for name in ["b.conf", "d.conf"] {
        let ok = std::process::Command::new("mkfifo")
            .arg(dir.path().join("conf.d").join(name))
            .status()
            .unwrap()
            .success();
        assert!(ok, "mkfifo {name}");
    }
    let out = bin()
        .args(["check", "--format", "concise"])
        .arg(dir.path())
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("conf.d/b.conf\" failed (not a regular file)"),
        "{text}"
    );
    assert!(!text.contains("d.conf"), "{text}");
    assert!(text.contains("nginx.conf:3:5: GW002"), "{text}");
    // c.conf, read with the others, is checked.
    assert!(text.contains("c.conf:1:21: GW010"), "{text}");
}

#[test]
fn devices_and_fifos_are_refused_not_read_forever() {
    let dir = tree(&[("nginx.conf", b"events {}\nhttp { include zero.conf; }\n")]);
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.conf")).unwrap();
    bin()
        .args(["check", "--format", "concise"])
        .arg(dir.path())
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stdout(predicate::str::contains("not a regular file"));
    bin()
        .args(["check", "/dev/zero"])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a regular file"));
}
