//! `nginx-gwlint diagnose` end to end on the lab's real nginx 1.22 / php-fpm 8.2 captures
//! (../shared/lab/scenarios/*: nginx.conf + expected.txt): every incident maps to the scenario's
//! handler line, timeouts to their `*_read_timeout` line, php-fpm kills to GW105.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::common::bin;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The lab scenarios, `None` without ../shared (the test is skipped, see common::oracle).
fn scenario_dirs() -> Option<Vec<PathBuf>> {
    let shared = common::oracle::shared()?;
    let dir = shared.join("lab").join("scenarios");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.txt").is_file() && p.join("nginx.conf").is_file())
        .collect();
    out.sort();
    assert_eq!(out.len(), 11, "lab scenarios changed: update this test");
    Some(out)
}

/// 1-based number of the first line of `file` whose trimmed text starts with `prefix`.
fn line_of(file: &Path, prefix: &str) -> u64 {
    let text = std::fs::read_to_string(file).unwrap();
    let n = text
        .lines()
        .position(|l| l.trim_start().starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in {}", file.display()));
    n as u64 + 1
}

fn run_json(args: &[&std::ffi::OsStr]) -> (i32, Value) {
    let out = bin()
        .arg("diagnose")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, json)
}

/// Scenario id -> (cause, status, rule) per incident, most frequent first (ties: by time, key).
fn expected(id: &str) -> Vec<(&'static str, u64, Option<&'static str>)> {
    match id {
        "A" | "G" => vec![("connection-refused", 502, Some("GW202"))],
        "B" => vec![("socket-missing", 502, Some("GW301"))],
        "C" => vec![("socket-permission", 502, Some("GW302"))],
        "D" | "E" => vec![("read-timeout", 504, Some("GW104"))],
        "F1" => vec![("php-fatal", 500, None)],
        "F2" | "H2" => vec![("backend-reset", 502, Some("GW105"))],
        "H1" => vec![("premature-close", 502, Some("GW107"))],
        // Request *1 tried both servers: one request, its last try refused.
        "I" => vec![
            ("connection-refused", 502, Some("GW202")),
            ("no-live-upstreams", 502, Some("GW206")),
        ],
        other => panic!("unknown scenario {other}"),
    }
}

#[test]
fn every_lab_incident_maps_to_its_handler_line() {
    let Some(dirs) = scenario_dirs() else {
        return;
    };
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let id = name.split('-').next().unwrap();
        let log = dir.join("expected.txt");
        let conf = dir.join("nginx.conf");
        // expected.txt holds the php-fpm log too: read it as both logs.
        let (code, json) = run_json(&[
            "--error-log".as_ref(),
            log.as_os_str(),
            "--fpm-log".as_ref(),
            log.as_os_str(),
            "--config-root".as_ref(),
            dir.as_os_str(),
        ]);
        assert_eq!(code, 1, "{name}: {json:#}");
        let incidents = json["incidents"].as_array().unwrap();
        let want = expected(id);
        assert_eq!(incidents.len(), want.len(), "{name}: {json:#}");
        // The capture's header lines and php-fpm lines are not nginx lines.
        assert!(json["unparsed_lines"].as_u64().unwrap() > 0, "{name}");
        let handler_line = ["proxy_pass", "fastcgi_pass", "grpc_pass"]
            .iter()
            .find_map(|d| {
                let text = std::fs::read_to_string(&conf).unwrap();
                text.lines()
                    .position(|l| l.trim_start().starts_with(d))
                    .map(|n| n as u64 + 1)
            })
            .unwrap();
        for (inc, (cause, status, rule)) in incidents.iter().zip(&want) {
            assert_eq!(inc["cause"], *cause, "{name}: {inc:#}");
            assert_eq!(inc["status"], *status, "{name}");
            assert_eq!(inc["rule"].as_str(), *rule, "{name}");
            assert_eq!(inc["count"], 1, "{name}");
            assert!(
                inc["file"].as_str().unwrap().ends_with("nginx.conf"),
                "{name}"
            );
            assert_eq!(inc["line"], handler_line, "{name}: {inc:#}");
            assert_eq!(inc["server"], "", "{name}");
            assert!(
                inc["request"].as_str().unwrap().starts_with("GET /"),
                "{name}"
            );
            assert!(!inc["fix"].as_str().unwrap().is_empty(), "{name}");
            assert!(!inc["message"].as_str().unwrap().is_empty(), "{name}");
            assert!(
                inc["first"].as_str().unwrap().starts_with("2026/11/26 "),
                "{name}"
            );
            assert_eq!(inc["first"], inc["last"], "{name}");
            assert!(
                inc["location"]["text"]
                    .as_str()
                    .unwrap()
                    .starts_with("location "),
                "{name}"
            );
            let notes = inc["notes"].as_array().unwrap();
            if id == "I" && inc["cause"] == "connection-refused" {
                assert_eq!(inc["tries"], 2, "{name}: {inc:#}");
                assert_eq!(inc["lines"], 2, "{name}: {inc:#}");
                assert_eq!(inc["max_tries"], 2, "{name}: {inc:#}");
                assert_eq!(notes.len(), 1, "{name}: {inc:#}");
                assert!(notes[0].as_str().unwrap().contains("tried 2 servers"));
            } else {
                assert_eq!(notes.len(), 0, "{name}: {inc:#}");
            }
        }
        let first = &incidents[0];
        match id {
            "A" => assert!(first["fix"]
                .as_str()
                .unwrap()
                .starts_with("nothing listens on 127.0.0.1:3999 — start the app or fix the port")),
            "D" => {
                assert_eq!(first["setting"]["directive"], "proxy_read_timeout");
                assert_eq!(first["setting"]["value"], "2s");
                assert_eq!(
                    first["setting"]["line"],
                    line_of(&conf, "proxy_read_timeout")
                );
            }
            "E" => {
                let fix = first["fix"].as_str().unwrap();
                let line = line_of(&conf, "fastcgi_read_timeout");
                assert!(
                    fix.starts_with(&format!("fastcgi_read_timeout is 2s ({}:{line}); the backend needed longer: raise it in that location, or make the request faster", conf.display())),
                    "{fix}"
                );
                assert_eq!(
                    first["upstream"],
                    "fastcgi://unix:/tmp/lab/run/E/php-fpm.sock"
                );
            }
            "F2" => {
                let fpm = &first["php_fpm"];
                assert_eq!(fpm["pool"], "lab", "{first:#}");
                assert_eq!(fpm["script"], "/tmp/lab/run/F2/www/slow.php");
                assert!(first["fix"]
                    .as_str()
                    .unwrap()
                    .contains("request_terminate_timeout killed"));
                assert_eq!(first["setting"]["value"], "10s");
            }
            "B" => assert!(first["fix"]
                .as_str()
                .unwrap()
                .contains("/tmp/lab/run/B/no-such-php-fpm.sock")),
            "C" => assert!(first["fix"].as_str().unwrap().contains("`nobody`")),
            "I" => {
                // The refused peers are the upstream block's servers; "no live upstreams" names
                // the block.
                let lines: Vec<u64> = incidents
                    .iter()
                    .map(|i| i["upstream_server"]["line"].as_u64().unwrap())
                    .collect();
                assert_eq!(
                    lines,
                    vec![
                        line_of(&conf, "server 127.0.0.1:3996"),
                        line_of(&conf, "upstream backend"),
                    ]
                );
                // One summary for the block: both servers failing.
                let ups = json["upstreams"].as_array().unwrap();
                assert_eq!(ups.len(), 1, "{json:#}");
                assert_eq!(ups[0]["servers"], 2);
                assert_eq!(ups[0]["failing"].as_array().unwrap().len(), 2);
                assert_eq!(ups[0]["block"]["line"], line_of(&conf, "upstream backend"));
                // The fix quotes the block's real max_fails/fail_timeout.
                assert!(
                    incidents[1]["fix"]
                        .as_str()
                        .unwrap()
                        .contains("max_fails=1 (default) fail_timeout=10s (default)"),
                    "{:#}",
                    incidents[1]
                );
            }
            _ => {}
        }
        // Without the php-fpm log, F2 is a plain reset.
        if id == "F2" {
            let (_, json) = run_json(&[
                "--error-log".as_ref(),
                log.as_os_str(),
                "--config-root".as_ref(),
                dir.as_os_str(),
            ]);
            assert!(json["incidents"][0]["php_fpm"].is_null());
            assert!(json["incidents"][0]["fix"]
                .as_str()
                .unwrap()
                .contains("--fpm-log"));
        }
    }
}

#[test]
fn human_format_names_cause_line_and_fix() {
    let Some(dirs) = scenario_dirs() else {
        return;
    };
    let dir = dirs
        .into_iter()
        .find(|d| d.ends_with("E-fastcgi-read-timeout"))
        .unwrap();
    let out = bin()
        .arg("diagnose")
        .arg("--error-log")
        .arg(dir.join("expected.txt"))
        .arg("--config-root")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("504 Gateway Time-out  read-timeout  1 request  2026/11/26 02:55:59\n"),
        "{text}"
    );
    assert!(
        text.contains("fastcgi_pass unix:/tmp/lab/run/E/php-fpm.sock"),
        "{text}"
    );
    assert!(text.contains("  rule      GW104"), "{text}");
    assert!(
        text.contains("1 group (1 failed request) in 16 lines"),
        "{text}"
    );
}

#[test]
fn several_logs_gzip_since_and_exit_codes() {
    let Some(dirs) = scenario_dirs() else {
        return;
    };
    let i_dir = dirs
        .iter()
        .find(|d| d.ends_with("I-no-live-upstreams"))
        .unwrap();
    let a_dir = dirs
        .iter()
        .find(|d| d.ends_with("A-proxy-conn-refused"))
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // A rotated, compressed log plus the current one.
    let gz = tmp.path().join("error.log.1.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&std::fs::read(i_dir.join("expected.txt")).unwrap())
        .unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let (code, json) = run_json(&[
        "--error-log".as_ref(),
        gz.as_os_str(),
        "--error-log".as_ref(),
        a_dir.join("expected.txt").as_os_str(),
        "--config-root".as_ref(),
        i_dir.as_os_str(),
    ]);
    assert_eq!(code, 1);
    // Requests: I's two (the first tried both servers) and A's one.
    assert_eq!(json["failures"], 3, "{json:#}");
    assert_eq!(json["failure_lines"], 4, "{json:#}");
    // A's line (port 18081) does not fit I's config: its handler is not the logged upstream.
    let a = json["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["upstream"] == "http://127.0.0.1:3999")
        .unwrap();
    assert!(
        a["notes"][0].as_str().unwrap().contains(
            "does not go to the logged upstream http://127.0.0.1:3999, and no other handler does"
        ),
        "{a:#}"
    );
    // No handler is claimed for it, and so no timeout or line.
    assert!(a["file"].is_null() && a["line"].is_null(), "{a:#}");
    assert_eq!(a["location"]["text"], "location /");

    // --since: absolute, and relative to the newest line (I at 02:56:11, A at 02:55:54).
    // `2026-11-26 02:56` is the form --help and the README show (seconds 0).
    for since in ["2026-11-26 02:56:00", "2026-11-26 02:56", "10s"] {
        let (code, json) = run_json(&[
            "--error-log".as_ref(),
            gz.as_os_str(),
            "--error-log".as_ref(),
            a_dir.join("expected.txt").as_os_str(),
            "--config-root".as_ref(),
            i_dir.as_os_str(),
            "--since".as_ref(),
            since.as_ref(),
        ]);
        assert_eq!(code, 1);
        assert_eq!(json["failures"], 2, "--since {since}: {json:#}");
        assert_eq!(json["before_since"], 1, "--since {since}");
        assert_eq!(
            json["since"],
            "2026/11/26 02:56:0".to_owned() + if since == "10s" { "1" } else { "0" }
        );
    }

    // No gateway errors: exit 0.
    let quiet = tmp.path().join("quiet.log");
    std::fs::write(
        &quiet,
        "2026/11/26 02:55:54 [error] 1#1: *1 open() \"/var/www/favicon.ico\" failed (2: No such file or directory), client: 1.2.3.4, server: a, request: \"GET /favicon.ico HTTP/1.1\", host: \"a\"\n",
    )
    .unwrap();
    let (code, json) = run_json(&[
        "--error-log".as_ref(),
        quiet.as_os_str(),
        "--config-root".as_ref(),
        i_dir.as_os_str(),
    ]);
    assert_eq!(code, 0);
    assert_eq!(json["incidents"].as_array().unwrap().len(), 0);
    assert_eq!(json["unparsed_lines"], 0);

    // Unreadable input: exit 2.
    bin()
        .args(["diagnose", "--error-log"])
        .arg(tmp.path().join("missing.log"))
        .arg("--config-root")
        .arg(i_dir)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("missing.log"));
    bin()
        .args(["diagnose", "--error-log"])
        .arg(&quiet)
        .arg("--config-root")
        .arg(tmp.path().join("no-such-dir"))
        .assert()
        .code(2);
    bin()
        .args(["diagnose", "--since", "yesterday", "--error-log"])
        .arg(&quiet)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("invalid --since"));
}

#[test]
fn config_from_an_nginx_t_dump_on_stdin() {
    let Some(dirs) = scenario_dirs() else {
        return;
    };
    let dir = dirs
        .into_iter()
        .find(|d| d.ends_with("D-proxy-read-timeout"))
        .unwrap();
    let conf = std::fs::read_to_string(dir.join("nginx.conf")).unwrap();
    let dump = format!("nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n# configuration file /etc/nginx/nginx.conf:\n{conf}\n");
    let out = bin()
        .args([
            "diagnose",
            "--config-root",
            "-",
            "--format",
            "json",
            "--error-log",
        ])
        .arg(dir.join("expected.txt"))
        .write_stdin(dump)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let inc = &json["incidents"][0];
    assert_eq!(inc["file"], "/etc/nginx/nginx.conf");
    assert_eq!(inc["line"], line_of(&dir.join("nginx.conf"), "proxy_pass"));
    assert_eq!(inc["setting"]["value"], "2s");
}

#[test]
fn inputs_drift_and_since_forms() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("nginx.conf");
    let log = tmp.path().join("error.log");
    std::fs::write(
        &log,
        "2026/11/26 02:55:54 [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: gone.example.com, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:3999/\", host: \"gone.example.com\"\n\
2026/11/26 02:56:30 [error] 1#1: *2 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: gone.example.com, request: \"GET /b HTTP/1.1\", upstream: \"http://127.0.0.1:3999/b\", host: \"gone.example.com\"\n",
    )
    .unwrap();
    // The config is written after the log: drift.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(
        &conf,
        "events {}\nhttp { server { listen 80; server_name shop.example.com; location / { proxy_pass http://127.0.0.1:3999; } } }\n",
    )
    .unwrap();
    let args = |extra: &[&str]| {
        let mut v: Vec<std::ffi::OsString> = vec![
            "--error-log".into(),
            log.clone().into(),
            "--config-root".into(),
            conf.clone().into(),
        ];
        v.extend(extra.iter().map(Into::into));
        v
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        let refs: Vec<&std::ffi::OsStr> = a.iter().map(|s| s.as_os_str()).collect();
        run_json(&refs)
    };
    let (code, json) = run(&[]);
    assert_eq!(code, 1);
    assert_eq!(json["failures"], 2);
    let notes: Vec<&str> = json["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("\"gone.example.com\" (2 requests)")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("modified after the log was last written")),
        "{notes:?}"
    );

    // The same log twice (and through a link) is read once.
    let link = tmp.path().join("error.log.link");
    std::os::unix::fs::symlink(&log, &link).unwrap();
    let (_, json) = run(&[
        "--error-log",
        log.to_str().unwrap(),
        "--error-log",
        link.to_str().unwrap(),
    ]);
    assert_eq!(json["failures"], 2, "{json:#}");
    assert_eq!(json["lines"], 2);

    // --since as in --help and the README: minutes without seconds.
    let (_, json) = run(&["--since", "2026-11-26 02:56"]);
    assert_eq!(json["failures"], 1, "{json:#}");
    assert_eq!(json["since"], "2026/11/26 02:56:00");

    // Not regular files: refused at once with exit 2 (never read forever).
    for bad in ["/dev/zero", "/tmp"] {
        for flag in ["--error-log", "--fpm-log", "--access-log"] {
            let mut cmd = bin();
            cmd.arg("diagnose").arg("--config-root").arg(&conf);
            if flag != "--error-log" {
                cmd.arg("--error-log").arg(&log);
            }
            cmd.args([flag, bad])
                .timeout(std::time::Duration::from_secs(20))
                .assert()
                .code(2)
                .stderr(predicates::str::contains(bad));
        }
        bin()
            .args(["diagnose", "--since", "1h", "--error-log", bad])
            .arg("--config-root")
            .arg(&conf)
            .timeout(std::time::Duration::from_secs(20))
            .assert()
            .code(2);
    }
    // --php is the configuration behind --fpm-log: alone it is a usage error, and a path
    // that does not exist is named.
    bin()
        .arg("diagnose")
        .arg("--error-log")
        .arg(&log)
        .args(["--php", "/etc"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--fpm-log"));
    bin()
        .arg("diagnose")
        .arg("--config-root")
        .arg(&conf)
        .arg("--error-log")
        .arg(&log)
        .arg("--fpm-log")
        .arg(&log)
        .args(["--php", "/nonexistent/pool.d"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--php /nonexistent/pool.d"));
}

/// Issue #16: past the group bound (10,000 groups, then 20,000 once the path is dropped) the
/// `server:` field stays in the key, so the coarsest groups (the biggest) still map to their own
/// server block and not to the port's default server.
#[test]
fn groups_past_the_bound_keep_their_server_block() {
    let dir = tempfile::tempdir().unwrap();
    let conf = common::write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp {\n    server {\n        listen 80 default_server;\n        server_name fill.example;\n        location / {\n            proxy_pass http://127.0.0.1:3002;\n        }\n    }\n    server {\n        listen 80;\n        server_name a.example;\n        location / {\n            proxy_pass http://127.0.0.1:3001;\n        }\n    }\n}\n",
    );
    let refused = |conn: u64, server: &str, path: &str, port: u32| {
        format!("2026/11/26 10:00:00 [error] 7#7: *{conn} connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: {server}, request: \"GET {path} HTTP/1.1\", upstream: \"http://127.0.0.1:{port}{path}\", host: \"{server}\"\n")
    };
    let bound = nginx_gwlint::diagnose::DEFAULT_MAX_GROUPS as u64;
    let mut log = String::new();
    let mut conn = 0;
    // Fill the first level (distinct paths), then the second (distinct peers).
    for i in 0..bound {
        conn += 1;
        log.push_str(&refused(conn, "fill.example", &format!("/f{i}"), 3002));
    }
    for i in 0..bound {
        conn += 1;
        log.push_str(&refused(conn, "fill.example", "/p", 20_000 + i as u32));
    }
    // Then 50 requests to a.example, each on its own path: one group of the coarsest level.
    for i in 0..50 {
        conn += 1;
        log.push_str(&refused(conn, "a.example", &format!("/a{i}"), 3001));
    }
    let log_path = common::write(dir.path(), "error.log", &log);
    let (code, json) = run_json(&[
        "--error-log".as_ref(),
        log_path.as_os_str(),
        "--config-root".as_ref(),
        conf.as_os_str(),
    ]);
    assert_eq!(code, 1);
    assert!(
        json["coarsened"].as_u64().unwrap() >= 50,
        "{}",
        json["coarsened"]
    );
    let incidents = json["incidents"].as_array().unwrap();
    let a = incidents
        .iter()
        .find(|i| i["server"] == "a.example")
        .unwrap_or_else(|| panic!("no group of a.example"));
    assert_eq!(a["count"], 50, "{a:#}");
    let handler = line_of(&conf, "proxy_pass http://127.0.0.1:3001");
    assert_eq!(a["line"], handler, "{a:#}");
    assert_eq!(
        a["server_block"]["line"],
        line_of(&conf, "server_name a.example") - 2
    );
    assert_eq!(a["key_detail"], "server", "{a:#}");
    // Nothing of fill.example was mapped to a.example's block or the other way round.
    for i in incidents {
        if i["server"] == "fill.example" && !i["line"].is_null() {
            assert_eq!(
                i["line"],
                line_of(&conf, "proxy_pass http://127.0.0.1:3002")
            );
        }
    }
}

/// `--format html`: one well-formed, self-contained page (no script, no external asset) in
/// which log text is escaped: a request path carrying `<script>` stays text.
#[test]
fn html_page_is_well_formed_self_contained_and_escapes_log_text() {
    let dir = tempfile::tempdir().unwrap();
    let conf = common::write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp {\n    log_format timed '$remote_addr [$time_local] \"$request\" $status $request_time \"$upstream_response_time\" $host';\n    access_log /var/log/nginx/access.log timed;\n    server {\n        listen 80;\n        server_name shop.example;\n        location / {\n            proxy_read_timeout 5s;\n            proxy_pass http://127.0.0.1:3001;\n        }\n    }\n}\n",
    );
    let evil = "/<script>alert(\"x&y\")</script>'";
    let error_log = common::write(
        dir.path(),
        "error.log",
        format!(
            "2026/11/26 10:00:00 [error] 7#7: *1 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.1, server: shop.example, request: \"GET {evil} HTTP/1.1\", upstream: \"http://127.0.0.1:3001{evil}\", host: \"shop.example\"\n\
2026/11/26 10:05:00 [error] 7#7: *2 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: shop.example, request: \"GET /a HTTP/1.1\", upstream: \"http://127.0.0.1:3001/a\", host: \"shop.example\"\n"
        ),
    );
    let mut access = String::new();
    for i in 0..200 {
        let (status, t) = if i % 50 == 0 {
            (504, "5.001")
        } else {
            (200, "0.120")
        };
        access.push_str(&format!(
            "10.0.0.1 [26/Nov/2026:10:00:{:02} +0000] \"GET {evil} HTTP/1.1\" {status} {t} \"{t}\" shop.example\n",
            i % 60
        ));
    }
    let access_log = common::write(dir.path(), "access.log", &access);
    let out = bin()
        .arg("diagnose")
        .arg("--error-log")
        .arg(&error_log)
        .arg("--access-log")
        .arg(&access_log)
        .arg("--config-root")
        .arg(&conf)
        .args(["--format", "html"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let html = String::from_utf8(out.stdout).unwrap();
    if let Some(path) = std::env::var_os("GWLINT_HTML_OUT") {
        std::fs::write(path, &html).unwrap();
    }
    assert!(html.starts_with("<!DOCTYPE html>\n"), "{html}");
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;"));
    // Self-contained: nothing fetched from elsewhere.
    for needle in [" src=", " href=", "url(", "@import", "<link"] {
        assert!(!lower.contains(needle), "{needle} in {html}");
    }
    // Well-formed XML (XHTML): every element closed, attributes quoted, entities known.
    let body = html.trim_start_matches("<!DOCTYPE html>\n");
    let doc = roxmltree::Document::parse(body).unwrap_or_else(|e| panic!("{e}\n{html}"));
    let names: Vec<&str> = doc.descendants().map(|n| n.tag_name().name()).collect();
    assert!(!names.contains(&"script"));
    assert!(
        names.contains(&"svg") && names.contains(&"rect"),
        "{names:?}"
    );
    let text: String = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    assert!(text.contains(evil), "the path reads as text");
    assert!(text.contains("Timeline") && text.contains("Access log: 200 requests"));
    assert!(text.contains("against proxy_read_timeout 5s"), "{text}");
}

/// Drift (issue #15): 504s that the access log shows ending after 3 s where
/// proxy_read_timeout is 60 s: that timeout cannot explain them, and the group says so.
#[test]
fn a_timeout_that_cannot_explain_the_504s_is_reported_as_drift() {
    let dir = tempfile::tempdir().unwrap();
    let conf = common::write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp {\n    log_format t '[$time_local] \"$request\" $status $request_time $upstream_response_time';\n    access_log /var/log/nginx/app.log t;\n    server {\n        listen 80;\n        server_name app.example;\n        location / {\n            proxy_read_timeout 60s;\n            proxy_pass http://127.0.0.1:3001;\n        }\n    }\n}\n",
    );
    let timeout = "upstream timed out (110: Connection timed out) while reading response header from upstream";
    let error_log = common::write(
        dir.path(),
        "error.log",
        format!("2026/11/26 10:00:03 [error] 7#7: *1 {timeout}, client: 10.0.0.1, server: app.example, request: \"GET /x HTTP/1.1\", upstream: \"http://127.0.0.1:3001/x\", host: \"app.example\"\n"),
    );
    let access_log = common::write(
        dir.path(),
        "app.log",
        "[26/Nov/2026:10:00:03 +0000] \"GET /x HTTP/1.1\" 504 3.004 3.001\n[26/Nov/2026:10:00:04 +0000] \"GET /y HTTP/1.1\" 200 0.050 0.049\n",
    );
    let run = |access: bool| {
        let mut cmd = bin();
        cmd.arg("diagnose").arg("--error-log").arg(&error_log);
        if access {
            cmd.arg("--access-log").arg(&access_log);
        }
        let out = cmd
            .arg("--config-root")
            .arg(&conf)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        json["incidents"][0]["notes"].clone()
    };
    let notes = run(true);
    let drift = notes
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|n| n.starts_with("drift:"))
        .unwrap_or_else(|| panic!("no drift note: {notes:#}"));
    assert!(
        drift.contains("at most 3.00s") && drift.contains("proxy_read_timeout is 60s"),
        "{drift}"
    );
    // Without the access log there is no evidence of the time taken: no drift claim.
    let without = run(false);
    assert!(!without.to_string().contains("drift:"), "{without:#}");
}

/// The closing table of issue #15, measured: per lab capture (one cause each), the requests that
/// failed (the capture's `request N: ... -> HTTP 5xx` lines), the requests `diagnose` reports,
/// whether every group points at the scenario's handler line (and a timeout at its
/// `*_read_timeout` line), and whether the fix names what the scenario broke. Written to
/// `$CARGO_TARGET_TMPDIR/diagnose-closing-table.md` and printed (`cargo test --test it
/// closing_table -- --nocapture`); every row must be right.
#[test]
fn closing_table_over_the_lab_captures() {
    let Some(dirs) = scenario_dirs() else {
        return;
    };
    // What the fix must say: the thing the scenario broke, with its address or setting.
    let fix_says = |id: &str, cause: &str| -> &'static str {
        match (id, cause) {
            ("A", _) => "nothing listens on 127.0.0.1:3999",
            ("B", _) => "does not exist",
            ("C", _) => "listen.owner",
            ("D", _) => "proxy_read_timeout is 2s",
            ("E", _) => "fastcgi_read_timeout is 2s",
            ("F1", _) => "raise max_execution_time",
            ("F2", _) => "request_terminate_timeout killed",
            ("G", _) => "nothing listens on 127.0.0.1:3998",
            ("H1" | "H2", _) => "closed the connection before answering",
            ("I", "connection-refused") => "nothing listens on 127.0.0.1:3996",
            ("I", _) => "every server of `upstream backend`",
            _ => panic!("unknown scenario {id}"),
        }
    };
    let mut table = String::from(
        "| scenario | cause | requests caused | requests reported | config line right | fix right |\n|---|---|---|---|---|---|\n",
    );
    let mut wrong = Vec::new();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let id = name.split('-').next().unwrap().to_owned();
        let log = dir.join("expected.txt");
        let conf = dir.join("nginx.conf");
        let text = std::fs::read_to_string(&log).unwrap();
        let caused = text
            .lines()
            .filter(|l| l.starts_with("request ") && l.contains(" -> HTTP 5"))
            .count() as u64;
        let (_, json) = run_json(&[
            "--error-log".as_ref(),
            log.as_os_str(),
            "--fpm-log".as_ref(),
            log.as_os_str(),
            "--config-root".as_ref(),
            dir.as_os_str(),
        ]);
        let incidents = json["incidents"].as_array().unwrap();
        let reported: u64 = incidents
            .iter()
            .map(|i| i["requests"].as_u64().unwrap())
            .sum();
        let conf_text = std::fs::read_to_string(&conf).unwrap();
        let first_line = |prefixes: &[&str]| {
            conf_text
                .lines()
                .position(|l| prefixes.iter().any(|p| l.trim_start().starts_with(p)))
                .map(|n| n as u64 + 1)
        };
        let handler = first_line(&["proxy_pass", "fastcgi_pass", "grpc_pass"]);
        let timeout = first_line(&[
            "proxy_read_timeout",
            "fastcgi_read_timeout",
            "grpc_read_timeout",
        ]);
        let causes: Vec<String> = incidents
            .iter()
            .map(|i| i["cause"].as_str().unwrap().to_owned())
            .collect();
        let line_right = !incidents.is_empty()
            && incidents.iter().all(|i| {
                i["line"].as_u64() == handler
                    && (i["cause"] != "read-timeout" || i["setting"]["line"].as_u64() == timeout)
            });
        let fix_right = !incidents.is_empty()
            && incidents.iter().all(|i| {
                i["fix"]
                    .as_str()
                    .unwrap()
                    .contains(fix_says(&id, i["cause"].as_str().unwrap()))
            });
        let yes = |b: bool| if b { "yes" } else { "NO" };
        table.push_str(&format!(
            "| {name} | {} | {caused} | {reported} | {} | {} |\n",
            causes.join(", "),
            yes(line_right),
            yes(fix_right)
        ));
        if caused != reported || !line_right || !fix_right {
            wrong.push(format!("{name}: {json:#}"));
        }
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("diagnose-closing-table.md");
    std::fs::write(&out, &table).unwrap();
    #[allow(clippy::print_stdout)] // the table is the output of this test
    {
        println!("{table}");
    }
    assert!(wrong.is_empty(), "{table}\n{}", wrong.join("\n"));
}
