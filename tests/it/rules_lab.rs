//! GW404, GW405 and GW601 against a real nginx (and php-fpm) on 127.0.0.1: each test makes the
//! failure happen (a dropped Host header, php-fpm's "Primary script unknown", "Too many open
//! files"), asserts what nginx-gwlint says about that configuration, and where there is a fix,
//! applies it with `check --fix`, reloads nginx and sees the failure gone. Ports 18260-18269.
//! Needs root, nginx, php-fpm and curl (see `Lab::new`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use crate::common::lab::*;
use assert_cmd::cargo::CommandCargoExt;

/// A GET with a given Host header; returns (status, body).
fn get_with_host(port: u16, path: &str, host: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// `diagnose` on the lab's error.log and config: the incident of `cause`, as JSON.
fn diagnose_incident(lab: &Lab, cause: &str) -> serde_json::Value {
    let out = Command::cargo_bin("nginx-gwlint")
        .unwrap()
        .arg("diagnose")
        .arg("--error-log")
        .arg(lab.path().join("logs/error.log"))
        .arg("--config-root")
        .arg(lab.path().join("nginx.conf"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(1), "{json:#}");
    json["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["cause"] == cause)
        .unwrap_or_else(|| panic!("no {cause} incident: {json:#}"))
        .clone()
}

/// 1-based line of the first line of the lab's nginx.conf containing `needle`.
fn conf_line(lab: &Lab, needle: &str) -> u64 {
    let text = std::fs::read_to_string(lab.path().join("nginx.conf")).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .map(|n| n as u64 + 1)
        .unwrap_or_else(|| panic!("{needle} not in nginx.conf"))
}

/// `check --fix` with only `rule`, verified with the installed nginx; then `nginx -s reload`.
fn fix_and_reload(lab: &Lab, rule: &str, unsafe_fixes: bool) {
    let mut cmd = Command::cargo_bin("nginx-gwlint").unwrap();
    cmd.args(["check", "--fix", "--config", "/dev/null", "--select", rule]);
    if unsafe_fixes {
        cmd.arg("--unsafe-fixes");
    }
    let out = cmd
        .arg(lab.path().join("nginx.conf"))
        .current_dir(lab.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 fixed") || stderr.contains(" fixed,"),
        "{stderr}"
    );
    let prefix = format!("{}/", lab.path().display());
    let reload = Command::new(crate::common::nginx_binary())
        .args(["-p", &prefix, "-c"])
        .arg(lab.path().join("nginx.conf"))
        .args(["-s", "reload"])
        .output()
        .unwrap();
    assert!(
        reload.status.success(),
        "{}",
        String::from_utf8_lossy(&reload.stderr)
    );
}

/// A backend that answers every request with the Host header it received.
fn host_echo(port: u16) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]);
            let host = req
                .lines()
                .find_map(|l| {
                    l.strip_prefix("Host: ")
                        .or_else(|| l.strip_prefix("host: "))
                })
                .unwrap_or("-")
                .trim()
                .to_owned();
            let _ = write!(
                s,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{host}",
                host.len()
            );
        }
    });
}

#[test]
fn gw404_a_location_header_drops_the_inherited_host_and_the_fix_restores_it() {
    let Some(mut lab) = Lab::new("gw404") else {
        return;
    };
    host_echo(18261);
    lab.nginx_conf(
        18260,
        "",
        "    proxy_set_header Host $host;\n    proxy_set_header X-Forwarded-Proto $scheme;",
    );
    let conf = std::fs::read_to_string(lab.path().join("nginx.conf"))
        .unwrap()
        .replace(
            "@LOCATIONS@",
            "        location / {\n            proxy_pass http://127.0.0.1:18261;\n        }\n        location /api/ {\n            proxy_set_header X-Api-Client lab;\n            proxy_pass http://127.0.0.1:18261;\n        }",
        );
    lab.write("nginx.conf", &conf);
    lab.start_nginx(18260);
    assert_eq!(
        get_with_host(18260, "/", "shop.example"),
        (200, "shop.example".to_owned())
    );
    // The location's own header replaced the inherited ones: nginx sent $proxy_host.
    assert_eq!(
        get_with_host(18260, "/api/", "shop.example"),
        (200, "127.0.0.1:18261".to_owned())
    );

    let found = lab.gwlint(&["--config", "/dev/null"]);
    assert_has(
        &found,
        "GW404",
        "`Host` and `X-Forwarded-Proto` are not sent: nginx sends `Host: $proxy_host`",
    );

    fix_and_reload(&lab, "GW404", true);
    // A reload takes effect when the new workers run.
    wait_for(
        || get_with_host(18260, "/api/", "shop.example").1 == "shop.example",
        "the fixed /api/ location to send the client's Host",
    );
    let again = lab.gwlint(&["--config", "/dev/null"]);
    assert!(of_rule(&again, "GW404").is_empty(), "{again:#?}");
}

#[test]
fn gw405_php_without_script_filename_answers_404_and_the_fix_runs_the_script() {
    let Some(mut lab) = Lab::new("gw405") else {
        return;
    };
    lab.nginx_conf(18262, "user www-data;", "");
    // The parameters of Debian's (and upstream's) fastcgi_params that matter here: no
    // SCRIPT_FILENAME.
    lab.write(
        "fastcgi_params",
        "fastcgi_param  QUERY_STRING       $query_string;\nfastcgi_param  REQUEST_METHOD     $request_method;\nfastcgi_param  CONTENT_TYPE       $content_type;\nfastcgi_param  CONTENT_LENGTH     $content_length;\nfastcgi_param  SCRIPT_NAME        $fastcgi_script_name;\nfastcgi_param  REQUEST_URI        $request_uri;\nfastcgi_param  DOCUMENT_ROOT      $document_root;\n",
    );
    let conf = std::fs::read_to_string(lab.path().join("nginx.conf"))
        .unwrap()
        .replace(
            "@LOCATIONS@",
            "        location ~ \\.php$ {\n            include fastcgi_params;\n            fastcgi_pass unix:@DIR@/php-fpm.sock;\n        }",
        );
    lab.write("nginx.conf", &conf);
    let socket = lab.path().join("php-fpm.sock");
    lab.start_fpm(
        "[lab]\nuser = www-data\ngroup = www-data\nlisten = @DIR@/php-fpm.sock\nlisten.owner = www-data\nlisten.group = www-data\npm = static\npm.max_children = 1\n",
        &socket,
    );
    lab.start_nginx(18262);
    let (status, body) = get_with_host(18262, "/index.php", "lab");
    assert_eq!((status, body.trim()), (404, "File not found."));
    let log = lab.error_log();
    assert!(
        log.contains("FastCGI sent in stderr: \"Primary script unknown\""),
        "{log}"
    );

    // diagnose ties php-fpm's answer to the handler and to GW405.
    let inc = diagnose_incident(&lab, "script-not-found");
    assert_eq!(inc["status"], 404, "{inc:#}");
    assert_eq!(inc["rule"], "GW405", "{inc:#}");
    assert_eq!(
        inc["line"],
        conf_line(&lab, "fastcgi_pass unix:"),
        "{inc:#}"
    );
    assert!(
        inc["fix"].as_str().unwrap().contains("SCRIPT_FILENAME"),
        "{inc:#}"
    );

    let found = lab.gwlint(&["--config", "/dev/null"]);
    assert_has(
        &found,
        "GW405",
        "sets SCRIPT_FILENAME: php-fpm answers every request 404 \"File not found.\"",
    );

    fix_and_reload(&lab, "GW405", false);
    // A reload takes effect when the new workers run.
    wait_for(
        || get_with_host(18262, "/index.php", "lab") == (200, "ok\n".to_owned()),
        "PHP to run index.php after the fix",
    );
}

/// The pids whose parent is `pid` (nginx's workers).
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(p);
        }
    }
    out
}

#[test]
fn gw601_worker_connections_above_the_fd_limit_give_too_many_open_files() {
    let Some(mut lab) = Lab::new("gw601") else {
        return;
    };
    // A backend that accepts and never answers: every proxied request holds two descriptors.
    let backend = TcpListener::bind(("127.0.0.1", 18264)).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in backend.incoming().flatten() {
            held.push(s);
        }
    });
    // worker_connections 64 (the lab's) above a limit of 40 descriptors.
    lab.nginx_conf(18263, "worker_rlimit_nofile 40;", "");
    let conf = std::fs::read_to_string(lab.path().join("nginx.conf"))
        .unwrap()
        .replace(
            "@LOCATIONS@",
            "        location / {\n            proxy_pass http://127.0.0.1:18264;\n        }",
        );
    lab.write("nginx.conf", &conf);
    lab.start_nginx(18263);
    let master = lab.children.last().unwrap().id();
    let mut workers = Vec::new();
    wait_for(
        || {
            workers = children_of(master);
            !workers.is_empty()
        },
        "the nginx worker",
    );
    let worker = workers[0];
    // Descriptors are numbered lowest free first and must stay below the limit: the free ones
    // are the numbers under 40 not in use (a worker may hold a higher one inherited from its
    // parent, which does not count).
    let free_fds = || {
        let used = std::fs::read_dir(format!("/proc/{worker}/fd"))
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
            .filter(|n| *n < 40)
            .count();
        40 - used
    };
    // The 500 comes when accept() takes the last free descriptor, so that socket() to the
    // upstream is the call that fails (nginx answers 500 then, not 502:
    // ngx_http_upstream_connect). Counting parity ahead is fragile (a worker may hold a
    // descriptor of its own for a moment), so the loop corrects itself: while descriptors are
    // free, a request takes two (client and upstream) or gets the 500; when none is free,
    // accept4() fails with EMFILE and the queued request waits, so one idle client is closed to
    // hand a descriptor back, which that request's accept() then takes (nginx retries accept
    // after accept_mutex_delay, 500 ms).
    let mut idle: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(("127.0.0.1", 18263)).unwrap())
        .collect();
    let mut clients: Vec<TcpStream> = Vec::new();
    // Any held connection answered 500 within `wait`?
    let answered_500 = |clients: &mut Vec<TcpStream>, wait: Duration| {
        let deadline = std::time::Instant::now() + wait;
        loop {
            for s in clients.iter_mut() {
                s.set_nonblocking(true).unwrap();
                let mut buf = [0u8; 64];
                if let Ok(n) = s.read(&mut buf) {
                    if String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 500") {
                        return true;
                    }
                }
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let mut got_500 = false;
    for _ in 0..60 {
        let wait = if free_fds() == 0 {
            let Some(c) = idle.pop() else { break };
            drop(c);
            Duration::from_secs(3)
        } else {
            let mut s = TcpStream::connect(("127.0.0.1", 18263)).unwrap();
            write!(s, "GET / HTTP/1.0\r\nHost: lab\r\n\r\n").unwrap();
            clients.push(s);
            Duration::from_millis(300)
        };
        if answered_500(&mut clients, wait) {
            got_500 = true;
            break;
        }
    }
    let log = lab.error_log();
    assert!(got_500, "no 500; error.log:\n{log}");
    assert!(
        log.contains("socket() failed (24: Too many open files) while connecting to upstream"),
        "{log}"
    );

    // diagnose: the 500 nginx answered, tied to the handler, GW601 and the config's values.
    let inc = diagnose_incident(&lab, "fd-exhausted");
    assert_eq!(inc["status"], 500, "{inc:#}");
    assert_eq!(inc["rule"], "GW601", "{inc:#}");
    assert_eq!(
        inc["line"],
        conf_line(&lab, "proxy_pass http://127.0.0.1:18264"),
        "{inc:#}"
    );
    let fix = inc["fix"].as_str().unwrap();
    assert!(
        fix.contains("worker_connections 64") && fix.contains("worker_rlimit_nofile 40"),
        "{fix}"
    );

    let found = lab.gwlint(&["--config", "/dev/null"]);
    assert_has(
        &found,
        "GW601",
        "worker_connections 64 is above worker_rlimit_nofile 40",
    );
    let d = found.iter().find(|d| d["rule"] == "GW601").unwrap();
    assert_eq!(d["severity"], "warning");
    drop((clients, idle));
}

/// `check --probe` on this machine: nothing at the configured address, so the finding names
/// what does listen (the same port on ::1, the nearest port), with the owning process.
/// No nginx needed.
#[test]
fn probe_names_what_listens_nearby() {
    let near = TcpListener::bind(("127.0.0.1", 18267)).unwrap();
    let v6 = TcpListener::bind(("::1", 18268)).ok();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        "events {}\nhttp {\n    server {\n        listen 127.0.0.1:18265;\n        location / {\n            proxy_pass http://127.0.0.1:18266;\n        }\n        location /v6/ {\n            proxy_pass http://127.0.0.1:18268;\n        }\n    }\n}\n",
    )
    .unwrap();
    let out = Command::cargo_bin("nginx-gwlint")
        .unwrap()
        .args([
            "check",
            "--format",
            "json",
            "--exit-zero",
            "--probe",
            "--config",
            "/dev/null",
        ])
        .arg(dir.path().join("nginx.conf"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diags = v["diagnostics"].as_array().cloned().unwrap_or_default();
    let me = std::process::id();
    assert_has(
        &diags,
        "GW202",
        "(probe) connect() to 127.0.0.1:18266 failed (111: Connection refused)",
    );
    let found = of_rule(&diags, "GW202");
    assert!(
        found.iter().any(|m| m.contains("127.0.0.1:18266")
            && m.contains("what listens nearby on this machine: ")
            && m.contains("127.0.0.1:18267 (")
            && m.contains(&format!("pid {me})"))),
        "{found:#?}"
    );
    if v6.is_some() {
        assert!(
            found.iter().any(|m| m.contains("127.0.0.1:18268 failed")
                && m.contains("[::1]:18268 (")
                && m.contains("listens on that port, on another address")),
            "{found:#?}"
        );
    }
    drop((near, v6));
}
