//! `diagnose` against a real nginx on 127.0.0.1 (ports 18300-18399): one location proxies to a
//! port nothing listens on (502), one to a slow upstream this test runs (504 after
//! proxy_read_timeout 1s). The error.log nginx writes must map each incident to its location's
//! handler line. Needs the nginx binary (skipped without it, required under CI: tests/it/common oracle).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

const PORTS: std::ops::Range<u16> = 18300..18400;

/// Binds a free port of the test range, starting at an offset from the pid so that parallel
/// runs (other worktrees, CI jobs) rarely race for the same one. A port is handed out once per
/// process: the tests of this binary run in parallel, and a "dead" port one test closed must
/// not become another test's backend.
fn bind_free(skip: &[u16]) -> TcpListener {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let len = PORTS.end - PORTS.start;
    let offset = (std::process::id() % u32::from(len)) as u16;
    for i in 0..len {
        let port = PORTS.start + (offset + i) % len;
        if skip.contains(&port) || given.contains(&port) {
            continue;
        }
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
            given.push(port);
            return l;
        }
    }
    panic!("no free port in 127.0.0.1:{PORTS:?}");
}

/// A real nginx, killed (with its worker: master_process off) when dropped.
struct Nginx {
    child: Child,
    stderr_path: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    fn start(dir: &Path, port: u16) -> Nginx {
        let nginx = common::nginx_binary();
        let stderr_path = dir.join("nginx.stderr");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let child = Command::new(&nginx)
            .arg("-p")
            .arg(format!("{}/", dir.display()))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", nginx.display()));
        let mut n = Nginx { child, stderr_path };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = n.child.try_wait() {
                panic!(
                    "nginx exited ({status}) before listening on {port}: {}{}",
                    std::fs::read_to_string(&n.stderr_path).unwrap_or_default(),
                    std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
                );
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return n;
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen on {port} within 10s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Accepts connections, reads the request, and answers only after `delay` (longer than
/// proxy_read_timeout), so nginx times out first.
fn slow_upstream(listener: TcpListener, delay: Duration, stop: Arc<AtomicBool>) {
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut conn, _)) => {
                    std::thread::spawn(move || {
                        let _ = conn.set_nonblocking(false);
                        let mut buf = [0u8; 4096];
                        let _ = conn.read(&mut buf);
                        std::thread::sleep(delay);
                        let _ = conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
                    });
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
}

fn line_of(text: &str, needle: &str) -> u64 {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|n| n as u64 + 1)
        .unwrap_or_else(|| panic!("{needle} not in config"))
}

#[test]
fn real_nginx_502_and_504_map_to_their_locations() {
    if common::oracle::nginx().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["logs", "tmp"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }

    let slow = bind_free(&[]);
    let slow_port = slow.local_addr().unwrap().port();
    // Nothing listens here once the probe socket is closed.
    let dead_port = bind_free(&[slow_port]).local_addr().unwrap().port();
    let nginx_port = bind_free(&[slow_port, dead_port])
        .local_addr()
        .unwrap()
        .port();
    let stop = Arc::new(AtomicBool::new(false));
    slow_upstream(slow, Duration::from_secs(3), stop.clone());

    let conf = format!(
        "# diagnose end-to-end test
worker_processes 1;
master_process off;              # one process: killing the child stops everything
pid logs/nginx.pid;
error_log {log};
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    server {{
        listen 127.0.0.1:{nginx_port};
        location /refused/ {{
            proxy_pass http://127.0.0.1:{dead_port};
        }}
        location /slow/ {{
            proxy_read_timeout 1s;
            proxy_pass http://127.0.0.1:{slow_port};
        }}
    }}
}}
",
        log = d.join("error.log").display()
    );
    std::fs::write(d.join("nginx.conf"), &conf).unwrap();
    let nginx = Nginx::start(d, nginx_port);

    assert_eq!(common::lab::http_get(nginx_port, "/refused/a?x=1"), 502);
    assert_eq!(common::lab::http_get(nginx_port, "/refused/a?x=2"), 502);
    let t = Instant::now();
    assert_eq!(common::lab::http_get(nginx_port, "/slow/report"), 504);
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "504 came too early"
    );
    stop.store(true, Ordering::Relaxed);
    drop(nginx);

    let log = d.join("error.log");
    let out = assert_cmd::Command::cargo_bin("nginx-gwlint")
        .unwrap()
        .arg("diagnose")
        .arg("--error-log")
        .arg(&log)
        .arg("--config-root")
        .arg(d.join("nginx.conf"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(out.status.code(), Some(1), "error.log:\n{log_text}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let incidents = json["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 2, "{json:#}\nerror.log:\n{log_text}");

    // Most frequent first: the two refused requests (same path, different queries).
    let refused = &incidents[0];
    assert_eq!(refused["cause"], "connection-refused", "{json:#}");
    assert_eq!(refused["status"], 502);
    assert_eq!(refused["count"], 2);
    assert_eq!(refused["upstream"], format!("http://127.0.0.1:{dead_port}"));
    assert_eq!(
        refused["line"],
        line_of(&conf, &format!("proxy_pass http://127.0.0.1:{dead_port}"))
    );
    assert_eq!(refused["location"]["text"], "location /refused/");
    assert_eq!(refused["rule"], "GW202");
    assert!(refused["fix"]
        .as_str()
        .unwrap()
        .starts_with(&format!("nothing listens on 127.0.0.1:{dead_port}")));

    let timeout = &incidents[1];
    assert_eq!(timeout["cause"], "read-timeout", "{json:#}");
    assert_eq!(timeout["status"], 504);
    assert_eq!(
        timeout["line"],
        line_of(&conf, &format!("proxy_pass http://127.0.0.1:{slow_port}"))
    );
    assert_eq!(timeout["location"]["text"], "location /slow/");
    assert_eq!(timeout["setting"]["directive"], "proxy_read_timeout");
    assert_eq!(timeout["setting"]["value"], "1s");
    assert_eq!(
        timeout["setting"]["line"],
        line_of(&conf, "proxy_read_timeout 1s")
    );
    assert_eq!(timeout["rule"], "GW104");
    for inc in incidents {
        assert_eq!(inc["notes"].as_array().unwrap().len(), 0, "{inc:#}");
    }
}

/// Sends `head` (and `body_len` bytes of body, from another thread so a backend that stops
/// reading cannot block us) and returns the status of the answer (0 when none came).
fn raw_request(port: u16, head: &str, body_len: usize) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    if body_len > 0 {
        let mut w = s.try_clone().unwrap();
        std::thread::spawn(move || {
            let chunk = vec![b'x'; 64 * 1024];
            let mut left = body_len;
            while left > 0 {
                let n = left.min(chunk.len());
                if w.write_all(&chunk[..n]).is_err() {
                    return;
                }
                left -= n;
            }
        });
    }
    let mut response = Vec::new();
    let _ = s.read_to_end(&mut response);
    String::from_utf8_lossy(&response)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A backend that reads the request and then does `answer` with the connection.
fn backend(listener: TcpListener, stop: Arc<AtomicBool>, answer: fn(&mut TcpStream)) {
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut conn, _)) => {
                    std::thread::spawn(move || {
                        let _ = conn.set_nonblocking(false);
                        let mut buf = [0u8; 4096];
                        let _ = conn.read(&mut buf);
                        answer(&mut conn);
                    });
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
}

#[test]
fn real_nginx_retries_invalid_headers_and_cut_responses() {
    if common::oracle::nginx().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["logs", "tmp"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    let mut taken = Vec::new();
    let mut listener = || {
        let l = bind_free(&taken);
        taken.push(l.local_addr().unwrap().port());
        l
    };
    let ok = listener();
    let bad = listener();
    let cut = listener();
    let ws = listener();
    let closer = listener();
    let dead = listener();
    let nginx_l = listener();
    let port = |l: &TcpListener| l.local_addr().unwrap().port();
    let (ok_p, bad_p, cut_p, ws_p, closer_p, dead_p, nginx_port) = (
        port(&ok),
        port(&bad),
        port(&cut),
        port(&ws),
        port(&closer),
        port(&dead),
        port(&nginx_l),
    );
    drop(dead);
    drop(nginx_l);
    let stop = Arc::new(AtomicBool::new(false));
    backend(ok, stop.clone(), |c| {
        let _ = c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    });
    // A bare CR inside a header value: ngx_http_parse_header_line refuses it.
    backend(bad, stop.clone(), |c| {
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\nX-Bad: a\rb\r\nContent-Length: 2\r\n\r\nok");
    });
    // The header and 10 of 100 bytes, then silence longer than proxy_read_timeout.
    backend(cut, stop.clone(), |c| {
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
        std::thread::sleep(Duration::from_secs(3));
    });
    // Upgrades, then never sends a frame.
    backend(ws, stop.clone(), |c| {
        let _ = c.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        );
        std::thread::sleep(Duration::from_secs(3));
    });
    // Reads the first bytes of the request and closes with the rest unread (RST) while nginx
    // is still sending the 32 MB body.
    backend(closer, stop.clone(), |_| {});
    let conf = format!(
        "# diagnose: retries, invalid headers, cut responses
worker_processes 1;
master_process off;
pid logs/nginx.pid;
error_log {log} info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    upstream pool {{
        server 127.0.0.1:{dead_p} max_fails=0;
        server 127.0.0.1:{ok_p};
    }}
    server {{
        listen 127.0.0.1:{nginx_port};
        location /pool/ {{
            proxy_pass http://pool;
        }}
        location /bad-header/ {{
            proxy_pass http://127.0.0.1:{bad_p};
        }}
        location /cut/ {{
            proxy_read_timeout 1s;
            proxy_pass http://127.0.0.1:{cut_p};
        }}
        location /ws/ {{
            proxy_read_timeout 1s;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection upgrade;
            proxy_pass http://127.0.0.1:{ws_p};
        }}
        location /upload/ {{
            client_max_body_size 64m;
            proxy_pass http://127.0.0.1:{closer_p};
        }}
    }}
}}
",
        log = d.join("error.log").display(),
    );
    std::fs::write(d.join("nginx.conf"), &conf).unwrap();
    let nginx = Nginx::start(d, nginx_port);

    // Round robin sends every other request to the dead server first (max_fails=0 keeps it in
    // the rotation); nginx retries on the live one: every client gets 200.
    for i in 0..6 {
        assert_eq!(
            common::lab::http_get(nginx_port, &format!("/pool/{i}")),
            200
        );
    }
    assert_eq!(common::lab::http_get(nginx_port, "/bad-header/x"), 502);
    // The status was sent before the body broke off.
    assert_eq!(common::lab::http_get(nginx_port, "/cut/report"), 200);
    let ws_head = format!("GET /ws/chat HTTP/1.1\r\nHost: 127.0.0.1:{nginx_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    assert_eq!(raw_request(nginx_port, &ws_head, 0), 101);
    let body = 32 << 20;
    let upload = format!("POST /upload/file HTTP/1.0\r\nHost: 127.0.0.1:{nginx_port}\r\nContent-Length: {body}\r\n\r\n");
    assert_eq!(raw_request(nginx_port, &upload, body), 502);
    stop.store(true, Ordering::Relaxed);
    drop(nginx);

    let log = d.join("error.log");
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let count = |needle: &str| log_text.lines().filter(|l| l.contains(needle)).count() as u64;
    let refused = count(&format!("upstream: \"http://127.0.0.1:{dead_p}/pool/"));
    assert!(refused >= 2, "error.log:\n{log_text}");

    let out = assert_cmd::Command::cargo_bin("nginx-gwlint")
        .unwrap()
        .arg("diagnose")
        .arg("--error-log")
        .arg(&log)
        .arg("--config-root")
        .arg(d.join("nginx.conf"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "error.log:\n{log_text}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ctx = format!("{json:#}\nerror.log:\n{log_text}");
    let incidents = json["incidents"].as_array().unwrap();
    let find = |cause: &str| {
        incidents
            .iter()
            .find(|i| i["cause"] == cause)
            .unwrap_or_else(|| panic!("no {cause}: {ctx}"))
    };
    // The recovered requests are no 502s: reported apart, one group, counted per request.
    assert!(
        incidents.iter().all(|i| !i["upstream"]
            .as_str()
            .unwrap_or("")
            .contains(&dead_p.to_string())),
        "{ctx}"
    );
    let recovered = json["recovered"].as_array().unwrap();
    assert_eq!(recovered.len(), 1, "{ctx}");
    assert_eq!(recovered[0]["cause"], "connection-refused");
    assert_eq!(recovered[0]["requests"], refused, "{ctx}");
    assert!(recovered[0]["status"].is_null());
    assert_eq!(
        recovered[0]["line"],
        line_of(&conf, "proxy_pass http://pool")
    );
    assert_eq!(json["recovered_requests"], refused);
    let pool = &json["upstreams"][0];
    assert_eq!(pool["servers"], 2, "{ctx}");
    assert_eq!(pool["failing"].as_array().unwrap().len(), 1, "{ctx}");
    assert_eq!(
        pool["failing"][0]["line"],
        line_of(&conf, &format!("server 127.0.0.1:{dead_p}"))
    );

    let invalid = find("invalid-header");
    assert_eq!(invalid["status"], 502);
    assert_eq!(invalid["requests"], 1);
    assert_eq!(
        invalid["line"],
        line_of(&conf, &format!("proxy_pass http://127.0.0.1:{bad_p}"))
    );
    assert!(
        invalid["fix"].as_str().unwrap().contains("invalid header"),
        "{ctx}"
    );

    let cut = find("cut-response");
    assert!(cut["status"].is_null(), "{ctx}");
    assert_eq!(
        cut["line"],
        line_of(&conf, &format!("proxy_pass http://127.0.0.1:{cut_p}"))
    );
    assert_eq!(cut["setting"]["directive"], "proxy_read_timeout");
    assert_eq!(cut["setting"]["value"], "1s");

    let idle = find("websocket-idle");
    assert!(idle["status"].is_null());
    assert_eq!(idle["rule"], "GW106");
    assert_eq!(
        idle["line"],
        line_of(&conf, &format!("proxy_pass http://127.0.0.1:{ws_p}"))
    );
    assert_eq!(idle["setting"]["value"], "1s");

    // The backend resets the connection while nginx still sends the 32 MB body. nginx 1.22
    // notices the RST either on its read handler (`recv() failed (104: ...)` while reading the
    // header: backend-reset) or on its next write (`writev() failed (104: ...)` while sending
    // the request: send-failed), depending on timing; both are this request's 502.
    let send = incidents
        .iter()
        .find(|i| i["cause"] == "backend-reset" || i["cause"] == "send-failed")
        .unwrap_or_else(|| panic!("no backend-reset or send-failed: {ctx}"));
    assert_eq!(send["status"], 502);
    assert_eq!(send["method"], "POST");
    assert_eq!(
        send["line"],
        line_of(&conf, &format!("proxy_pass http://127.0.0.1:{closer_p}"))
    );
}

/// The php-fpm children of the pool `name` under the php-fpm master `master` (processes this
/// test started).
fn fpm_children(master: u32, name: &str) -> Vec<u32> {
    let out = Command::new("ps")
        .args(["-o", "pid=,args=", "--ppid", &master.to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&format!("pool {name}")))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

#[test]
fn real_php_fpm_full_queue_pretty_urls_and_killed_children() {
    let Some(mut lab) = common::lab::Lab::new("diagnose-fpm") else {
        return;
    };
    let port = bind_free(&[]).local_addr().unwrap().port();
    let locations = "        location /queue/ {
            fastcgi_pass unix:@DIR@/q.sock;
            fastcgi_param SCRIPT_FILENAME $document_root/slow.php;
        }
        location / {
            try_files $uri $uri/ /index.php?$args;
        }
        location ~ \\.php$ {
            fastcgi_pass unix:@DIR@/php-fpm.sock;
            fastcgi_read_timeout 20s;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_param SCRIPT_NAME $fastcgi_script_name;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param QUERY_STRING $query_string;
            fastcgi_param REQUEST_URI $request_uri;
        }";
    lab.nginx_conf(port, "user www-data;", "");
    let conf = std::fs::read_to_string(lab.path().join("nginx.conf"))
        .unwrap()
        .replace("@LOCATIONS@", locations);
    let conf_path = lab.write("nginx.conf", &conf);
    let conf = std::fs::read_to_string(&conf_path).unwrap();
    lab.write("www/slow.php", "<?php sleep(4); echo \"done\\n\";\n");
    lab.write("www/index.php", "<?php sleep(6); echo \"page\\n\";\n");
    // hang.php says it started (in a file made writable for the pool's user) before it sleeps,
    // so the child is killed in the middle of the request, not before it reached the script.
    lab.write(
        "www/hang.php",
        "<?php file_put_contents(__DIR__ . '/hang.started', 'x'); sleep(15); echo \"late\\n\";\n",
    );
    let started = lab.write("www/hang.started", "");
    std::fs::set_permissions(
        &started,
        std::os::unix::fs::PermissionsExt::from_mode(0o666),
    )
    .unwrap();
    // [q]: one child and a listen queue of one (listen(2) backlog 0): the third concurrent
    // request finds the queue full. [lab]: request_terminate_timeout kills index.php.
    let pools = "[q]\nuser = www-data\ngroup = www-data\nlisten = @DIR@/q.sock\nlisten.owner = www-data\nlisten.group = www-data\nlisten.backlog = 0\npm = static\npm.max_children = 1\n\n[lab]\nuser = www-data\ngroup = www-data\nlisten = @DIR@/php-fpm.sock\nlisten.owner = www-data\nlisten.group = www-data\npm = static\npm.max_children = 2\nrequest_terminate_timeout = 2s\n";
    let socket = lab.path().join("php-fpm.sock");
    lab.start_fpm(pools, &socket);
    common::lab::wait_for(|| lab.path().join("q.sock").exists(), "q.sock");
    lab.start_nginx(port);
    let master = lab.children[0].id();

    // Eight requests released together, each holding the one child for 4 s: even on a loaded
    // machine they arrive while the child is busy and the one queue slot is taken.
    let start = std::sync::Arc::new(std::sync::Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                common::lab::http_get(port, &format!("/queue/{i}"))
            })
        })
        .collect();
    let mut statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    statuses.sort_unstable();
    // A pretty URL: try_files sends it to /index.php, which php-fpm kills after 2s.
    assert_eq!(common::lab::http_get(port, "/products/42?color=red"), 502);
    // A child killed from outside (as the OOM killer does) in the middle of a request.
    let hang = std::thread::spawn(move || common::lab::http_get(port, "/hang.php"));
    common::lab::wait_for(
        || std::fs::metadata(&started).is_ok_and(|m| m.len() > 0),
        "hang.php to start",
    );
    for pid in fpm_children(master, "lab") {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    assert_eq!(hang.join().unwrap(), 502);

    let fpm_log = lab.path().join("logs/php-fpm.log");
    // The master logs a child's death when it reaps it, after nginx answered.
    common::lab::wait_for(
        || {
            std::fs::read_to_string(&fpm_log)
                .unwrap_or_default()
                .contains("(SIGKILL)")
        },
        "php-fpm to log the SIGKILL",
    );
    let log_text = lab.error_log();
    let fpm_text = std::fs::read_to_string(&fpm_log).unwrap_or_default();
    let eagain = log_text
        .lines()
        .filter(|l| {
            l.contains("(11: Resource temporarily unavailable) while connecting to upstream")
        })
        .count() as u64;
    assert!(eagain >= 1, "{statuses:?}\n{log_text}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 502).count() as u64,
        eagain,
        "{statuses:?}\n{log_text}"
    );
    assert!(fpm_text.contains("execution timed out"), "{fpm_text}");
    assert!(fpm_text.contains("SIGKILL"), "{fpm_text}");

    let run_with = |with_fpm: bool, php: Option<&std::path::Path>| {
        let mut cmd = assert_cmd::Command::cargo_bin("nginx-gwlint").unwrap();
        cmd.arg("diagnose")
            .arg("--error-log")
            .arg(lab.path().join("logs/error.log"))
            .arg("--config-root")
            .arg(&conf_path)
            .args(["--format", "json"]);
        if with_fpm {
            cmd.arg("--fpm-log").arg(&fpm_log);
        }
        if let Some(php) = php {
            cmd.arg("--php").arg(php);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{log_text}");
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        json
    };
    let run = |with_fpm: bool| run_with(with_fpm, None);
    if let Ok(keep) = std::env::var("GWLINT_KEEP_LAB") {
        // Manual inspection: keep the logs and the config.
        let keep = std::path::Path::new(&keep);
        std::fs::create_dir_all(keep).unwrap();
        for f in ["logs/error.log", "logs/php-fpm.log", "nginx.conf"] {
            let _ = std::fs::copy(lab.path().join(f), keep.join(f.replace('/', "-")));
        }
    }
    let json = run(true);
    let ctx = format!("{json:#}\nerror.log:\n{log_text}\nphp-fpm.log:\n{fpm_text}");
    let incidents = json["incidents"].as_array().unwrap();

    let queue = incidents
        .iter()
        .find(|i| i["cause"] == "listen-queue-full")
        .unwrap_or_else(|| panic!("{ctx}"));
    assert_eq!(queue["status"], 502);
    assert_eq!(queue["requests"], eagain, "{ctx}");
    assert_eq!(queue["line"], line_of(&conf, "fastcgi_pass unix:"));
    let fix = queue["fix"].as_str().unwrap();
    assert!(
        fix.contains("pm.max_children") && !fix.contains("--fpm-log"),
        "{fix}"
    );

    // The pretty URL is tied to php-fpm's kill of /index.php through try_files.
    let killed = incidents
        .iter()
        .find(|i| i["path"] == "/products/42")
        .unwrap_or_else(|| panic!("{ctx}"));
    assert_eq!(killed["cause"], "backend-reset", "{ctx}");
    assert_eq!(killed["rule"], "GW105", "{ctx}");
    assert_eq!(killed["php_fpm"]["event"], "execution-timed-out", "{ctx}");
    assert_eq!(killed["php_fpm"]["pool"], "lab");
    assert!(killed["fix"]
        .as_str()
        .unwrap()
        .contains("request_terminate_timeout killed"));

    // The SIGKILLed child is its own cause, with its own fix.
    let sigkill = incidents
        .iter()
        .find(|i| i["path"] == "/hang.php")
        .unwrap_or_else(|| panic!("{ctx}"));
    assert_eq!(sigkill["php_fpm"]["event"], "child-signaled", "{ctx}");
    assert_eq!(sigkill["php_fpm"]["signal"], "SIGKILL", "{ctx}");
    let fix = sigkill["fix"].as_str().unwrap();
    assert!(
        fix.contains("OOM killer") && !fix.contains("request_terminate_timeout killed"),
        "{fix}"
    );
    assert!(sigkill["rule"].is_null(), "{ctx}");
    for inc in incidents {
        assert!(
            !inc["fix"].as_str().unwrap().contains("give --fpm-log"),
            "--fpm-log was given: {inc:#}"
        );
    }

    // With the pools' configuration (the one php-fpm ran): the kill is [lab]'s, the pool
    // listening at the upstream socket, and the fix quotes its request_terminate_timeout.
    let pool_conf = lab.path().join("pool.conf");
    let json = run_with(true, Some(&pool_conf));
    let ctx = format!("{json:#}\nphp-fpm.log:\n{fpm_text}");
    let killed = json["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == "/products/42")
        .unwrap_or_else(|| panic!("{ctx}"));
    assert_eq!(killed["php_fpm"]["pool"], "lab", "{ctx}");
    let terminate = &killed["php_fpm"]["request_terminate_timeout"];
    assert_eq!(terminate["seconds"], 2, "{ctx}");
    let pool_text = std::fs::read_to_string(&pool_conf).unwrap();
    let line = pool_text
        .lines()
        .position(|l| l.starts_with("request_terminate_timeout"))
        .unwrap()
        + 1;
    assert_eq!(
        terminate["at"],
        format!("{}:{line}", pool_conf.display()),
        "{ctx}"
    );
    assert!(
        killed["fix"]
            .as_str()
            .unwrap()
            .contains("raise request_terminate_timeout (now 2s, "),
        "{ctx}"
    );

    // Without the php-fpm log both resets are only resets at the same handler line: one group
    // of two requests, and the fix asks for the log.
    let json = run(false);
    let resets: Vec<&Value> = json["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["cause"] == "backend-reset")
        .collect();
    assert_eq!(resets.len(), 1, "{json:#}");
    let reset = resets[0];
    assert_eq!(reset["requests"], 2, "{json:#}");
    let paths: Vec<&str> = reset["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"/products/42") && paths.contains(&"/hang.php"),
        "{paths:?}"
    );
    assert!(reset["php_fpm"].is_null());
    assert!(reset["fix"].as_str().unwrap().contains("give --fpm-log"));
}

/// `upstream sent too big header`: the suggested buffer directives must pass `nginx -t` (the
/// naive "raise proxy_buffer_size" alone does not) and make the same request succeed.
#[test]
fn real_nginx_too_big_header_fix_passes_nginx_t_and_works() {
    if common::oracle::nginx().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["logs", "tmp"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    let big = bind_free(&[]);
    let big_p = big.local_addr().unwrap().port();
    let nginx_port = bind_free(&[big_p]).local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    // A 6 KB cookie: more than the default 4k proxy_buffer_size.
    backend(big, stop.clone(), |c| {
        let cookie = "x".repeat(6000);
        let _ = c.write_all(
            format!("HTTP/1.0 200 OK\r\nSet-Cookie: s={cookie}\r\nContent-Length: 2\r\n\r\nok")
                .as_bytes(),
        );
    });
    let conf_with = |extra: &str| {
        format!(
            "worker_processes 1;
master_process off;
pid logs/nginx.pid;
error_log {log};
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    server {{
        listen 127.0.0.1:{nginx_port};
        location / {{
            {extra}
            proxy_pass http://127.0.0.1:{big_p};
        }}
    }}
}}
",
            log = d.join("error.log").display()
        )
    };
    std::fs::write(d.join("nginx.conf"), conf_with("")).unwrap();
    let nginx = Nginx::start(d, nginx_port);
    assert_eq!(common::lab::http_get(nginx_port, "/account"), 502);
    drop(nginx);

    let out = assert_cmd::Command::cargo_bin("nginx-gwlint")
        .unwrap()
        .arg("diagnose")
        .arg("--error-log")
        .arg(d.join("error.log"))
        .arg("--config-root")
        .arg(d.join("nginx.conf"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let inc = &json["incidents"][0];
    assert_eq!(inc["cause"], "too-big-header", "{json:#}");
    assert_eq!(inc["setting"]["directive"], "proxy_buffer_size");
    let fix = inc["fix"].as_str().unwrap();
    let set = fix
        .split_once("set `")
        .and_then(|(_, r)| r.split_once('`'))
        .map(|(s, _)| s)
        .unwrap_or_else(|| panic!("no directives in {fix}"));
    assert_eq!(set, "proxy_buffer_size 16k; proxy_buffers 8 16k;");

    // The naive fix is refused by nginx -t; the suggested one is accepted and works.
    let naive = d.join("naive.conf");
    std::fs::write(&naive, conf_with("proxy_buffer_size 16k;")).unwrap();
    let refused = common::nginx_test(&naive);
    assert!(
        refused
            .as_ref()
            .is_some_and(|(m, _)| m.contains("proxy_busy_buffers_size")),
        "{refused:?}"
    );
    std::fs::write(d.join("nginx.conf"), conf_with(set)).unwrap();
    assert_eq!(common::nginx_test(&d.join("nginx.conf")), None);
    let nginx = Nginx::start(d, nginx_port);
    assert_eq!(common::lab::http_get(nginx_port, "/account"), 200);
    stop.store(true, Ordering::Relaxed);
    drop(nginx);
}

/// `--access-log` on the access log a real nginx wrote with a `log_format` of its own (split
/// over several strings, timings included): per handler the client 502/504 counts and
/// `$upstream_response_time` against the proxy_read_timeout in force.
#[test]
fn real_nginx_access_log_timings_against_the_timeout() {
    if common::oracle::nginx().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["logs", "tmp"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    let slow = bind_free(&[]);
    let slow_port = slow.local_addr().unwrap().port();
    let fast = bind_free(&[slow_port]);
    let fast_port = fast.local_addr().unwrap().port();
    let dead_port = bind_free(&[slow_port, fast_port])
        .local_addr()
        .unwrap()
        .port();
    let nginx_port = bind_free(&[slow_port, fast_port, dead_port])
        .local_addr()
        .unwrap()
        .port();
    let stop = Arc::new(AtomicBool::new(false));
    slow_upstream(slow, Duration::from_secs(3), stop.clone());
    backend(fast, stop.clone(), |c| {
        let _ = c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    });
    let access = d.join("logs").join("access.log");
    let conf = format!(
        "# diagnose --access-log test
worker_processes 1;
master_process off;
pid logs/nginx.pid;
error_log {log};
events {{ worker_connections 64; }}
http {{
    log_format timed '$remote_addr - [$time_local] \"$request\" $status '
                     'rt=$request_time urt=\"$upstream_response_time\" host=$host sn=\"$server_name\"';
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    server {{
        listen 127.0.0.1:{nginx_port};
        server_name lab.test;
        access_log {access} timed;
        location /refused/ {{
            proxy_pass http://127.0.0.1:{dead_port};
        }}
        location /slow/ {{
            proxy_read_timeout 1s;
            proxy_pass http://127.0.0.1:{slow_port};
        }}
        location /fast/ {{
            proxy_pass http://127.0.0.1:{fast_port};
        }}
    }}
}}
",
        log = d.join("error.log").display(),
        access = access.display()
    );
    std::fs::write(d.join("nginx.conf"), &conf).unwrap();
    let nginx = Nginx::start(d, nginx_port);
    for i in 0..20 {
        assert_eq!(
            common::lab::http_get(nginx_port, &format!("/fast/{i}")),
            200
        );
    }
    for _ in 0..3 {
        assert_eq!(common::lab::http_get(nginx_port, "/slow/report"), 504);
    }
    for _ in 0..2 {
        assert_eq!(common::lab::http_get(nginx_port, "/refused/x"), 502);
    }
    stop.store(true, Ordering::Relaxed);
    drop(nginx);

    let run = |format: &str| {
        assert_cmd::Command::cargo_bin("nginx-gwlint")
            .unwrap()
            .arg("diagnose")
            .arg("--error-log")
            .arg(d.join("error.log"))
            .arg("--access-log")
            .arg(&access)
            .arg("--config-root")
            .arg(d.join("nginx.conf"))
            .args(["--format", format])
            .output()
            .unwrap()
    };
    let out = run("json");
    let access_text = std::fs::read_to_string(&access).unwrap_or_default();
    assert_eq!(out.status.code(), Some(1), "access.log:\n{access_text}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &json["access_log"];
    assert_eq!(a["lines"], 25, "{a:#}\n{access_text}");
    assert_eq!(a["unparsed_lines"], 0, "{a:#}\n{access_text}");
    assert_eq!(a["formats"][0]["name"], "timed");
    assert_eq!(
        a["formats"][0]["log_format"]["line"],
        line_of(&conf, "log_format timed")
    );
    assert_eq!(a["has_upstream_response_time"], true);

    let incidents = json["incidents"].as_array().unwrap();
    let by_cause = |c: &str| {
        incidents
            .iter()
            .find(|i| i["cause"] == c)
            .unwrap_or_else(|| panic!("no {c}: {json:#}"))
    };
    // Each config line's access-log numbers are written once, in `access_log.groups`; an
    // incident names them by index.
    let access_of = |inc: &Value| &a["groups"][inc["access_group"].as_u64().unwrap() as usize];
    let slow = access_of(by_cause("read-timeout"));
    assert_eq!(slow["requests"], 3, "{slow:#}");
    assert_eq!(slow["status_504"], 3);
    assert_eq!(slow["timeout"]["value"], "1s");
    // nginx gave up after proxy_read_timeout 1s: each try took 1.0xx s.
    let p99 = slow["upstream_response_time"]["p99"].as_f64().unwrap();
    let max = slow["upstream_response_time"]["max"].as_f64().unwrap();
    assert!((0.99..1.5).contains(&p99), "{slow:#}");
    assert!((1.0..1.5).contains(&max), "{slow:#}");
    assert_eq!(slow["near_timeout_tries"], 3);
    let summary = slow["summary"].as_str().unwrap();
    assert!(
        summary.contains("against proxy_read_timeout 1s")
            && summary.contains("100.0% of tries within 5% of the timeout"),
        "{summary}"
    );
    let refused = access_of(by_cause("connection-refused"));
    assert_eq!(refused["status_502"], 2, "{refused:#}");

    let fast_line = line_of(&conf, &format!("proxy_pass http://127.0.0.1:{fast_port}"));
    let groups = a["groups"].as_array().unwrap();
    let fast = groups
        .iter()
        .find(|g| g["config"]["line"] == fast_line)
        .unwrap_or_else(|| panic!("no fast group: {a:#}"));
    assert_eq!(fast["requests"], 20);
    assert_eq!(fast["status_502"], 0);
    assert!(fast["upstream_response_time"]["p50"].as_f64().unwrap() < 0.5);
    assert_eq!(fast["timeout"]["ms"], 60_000, "{fast:#}");

    let human = String::from_utf8(run("human").stdout).unwrap();
    assert!(human.contains("<- within 5% of the timeout"), "{human}");
    assert!(human.contains("access    3 requests"), "{human}");
    assert!(human.contains("log_format timed"), "{human}");
}

/// nginx's own server selection (issue #15): the listening socket picks the servers, then the
/// name. A port-"80" block that only redirects shares `shop.test` with the real site, and
/// `app.test` is served on two ports by two blocks with different timeouts. The clients send
/// a Host without the port (as behind a proxy, or on 80/443), so the error log does not say
/// which socket a request came in on: the redirect block is ruled out by the handler/upstream
/// cross-check; the two `app.test` blocks both pass to the same backend, so without the access
/// log diagnose says it had to choose, and with it (`$server_port`) each group gets its block.
#[test]
fn real_nginx_server_selection_by_socket_then_name() {
    if common::oracle::nginx().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["logs", "tmp"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    let slow = bind_free(&[]);
    let slow_port = slow.local_addr().unwrap().port();
    let mut taken = vec![slow_port];
    let mut port = || {
        let p = bind_free(&taken).local_addr().unwrap().port();
        taken.push(p);
        p
    };
    let (redirect_port, site_port, app1_port, app2_port) = (port(), port(), port(), port());
    let stop = Arc::new(AtomicBool::new(false));
    slow_upstream(slow, Duration::from_secs(4), stop.clone());
    let access = d.join("logs").join("access.log");
    let conf = format!(
        "# diagnose: server selection by socket, then name
worker_processes 1;
master_process off;
pid logs/nginx.pid;
error_log {log};
events {{ worker_connections 64; }}
http {{
    log_format sock '$server_addr:$server_port \"$request\" $status host=$host';
    access_log {access} sock;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    server {{
        listen 127.0.0.1:{redirect_port};
        server_name shop.test;
        location / {{ return 301 https://$host$request_uri; }}
    }}
    server {{
        listen 127.0.0.1:{site_port};
        server_name shop.test;
        location / {{
            proxy_read_timeout 20s;
            proxy_pass http://127.0.0.1:{slow_port};
        }}
        location /api/ {{
            proxy_read_timeout 1s;
            proxy_pass http://127.0.0.1:{slow_port};
        }}
    }}
    server {{
        listen 127.0.0.1:{app1_port};
        server_name app.test;
        location / {{
            proxy_read_timeout 1s;
            proxy_pass http://127.0.0.1:{slow_port};
        }}
    }}
    server {{
        listen 127.0.0.1:{app2_port};
        server_name app.test;
        location / {{
            proxy_read_timeout 2s;
            proxy_pass http://127.0.0.1:{slow_port};
        }}
    }}
}}
",
        log = d.join("error.log").display(),
        access = access.display()
    );
    std::fs::write(d.join("nginx.conf"), &conf).unwrap();
    let nginx = Nginx::start(d, redirect_port);
    let get = |port: u16, host: &str, path: &str| {
        raw_request(
            port,
            &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
            0,
        )
    };
    // The redirect block answers itself; the site times out after its /api/ 1s.
    assert_eq!(get(redirect_port, "shop.test", "/api/orders"), 301);
    let t = Instant::now();
    assert_eq!(get(site_port, "shop.test", "/api/orders"), 504);
    let took = t.elapsed();
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(3)).contains(&took),
        "{took:?}"
    );
    // Two sites of one name: 1s on one port, 2s on the other.
    let t = Instant::now();
    assert_eq!(get(app1_port, "app.test", "/a"), 504);
    let a_took = t.elapsed();
    let t = Instant::now();
    assert_eq!(get(app2_port, "app.test", "/b"), 504);
    let b_took = t.elapsed();
    assert!(a_took < Duration::from_millis(1900), "{a_took:?}");
    assert!(b_took >= Duration::from_millis(1900), "{b_took:?}");
    stop.store(true, Ordering::Relaxed);
    drop(nginx);

    let run = |with_access: bool| {
        let mut cmd = assert_cmd::Command::cargo_bin("nginx-gwlint").unwrap();
        cmd.arg("diagnose")
            .arg("--error-log")
            .arg(d.join("error.log"))
            .arg("--config-root")
            .arg(d.join("nginx.conf"))
            .args(["--format", "json"]);
        if with_access {
            cmd.arg("--access-log").arg(&access);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        json
    };
    let log_text = std::fs::read_to_string(d.join("error.log")).unwrap_or_default();
    let by_path = |json: &Value, p: &str| -> Value {
        json["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| {
                i["paths"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|v| v["value"] == p))
            })
            .cloned()
            .unwrap_or_else(|| panic!("no {p}: {json:#}\n{log_text}"))
    };
    let notes = |inc: &Value| -> Vec<String> {
        inc["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect()
    };
    // The first `proxy_read_timeout 1s` is the site's /api/ one.
    let api_timeout = line_of(&conf, "proxy_read_timeout 1s");

    let json = run(false);
    let api = by_path(&json, "/api/orders");
    assert_eq!(api["location"]["text"], "location /api/", "{api:#}");
    assert_eq!(api["setting"]["value"], "1s", "{api:#}");
    assert_eq!(api["setting"]["line"], api_timeout, "{api:#}");
    assert!(
        notes(&api)
            .iter()
            .any(|n| n.contains("chosen by the handler/upstream cross-check")),
        "{api:#}"
    );
    let a = by_path(&json, "/a");
    let b = by_path(&json, "/b");
    let app1_block = line_of(&conf, &format!("listen 127.0.0.1:{app1_port}")) - 1;
    let app2_block = line_of(&conf, &format!("listen 127.0.0.1:{app2_port}")) - 1;
    // Without the port both are possible: nginx's first, said; one config line, one group.
    assert_eq!(a, b, "{json:#}");
    assert_eq!(a["requests"], 2, "{a:#}");
    assert_eq!(a["server_block"]["line"], app1_block, "{a:#}");
    assert!(
        notes(&a).iter().any(
            |n| n.starts_with("had to choose") && n.contains(&format!("127.0.0.1:{app2_port}"))
        ),
        "{a:#}"
    );

    let json = run(true);
    let a = by_path(&json, "/a");
    let b = by_path(&json, "/b");
    assert_eq!(a["server_block"]["line"], app1_block, "{a:#}");
    assert_eq!(a["setting"]["value"], "1s", "{a:#}");
    assert_eq!(b["server_block"]["line"], app2_block, "{b:#}");
    assert_eq!(b["setting"]["value"], "2s", "{b:#}");
    for inc in [&a, &b] {
        assert!(
            !notes(inc).iter().any(|n| n.starts_with("had to choose")),
            "{inc:#}"
        );
    }
    // The access log's own mapping uses the socket too: each port's 504 under its block.
    let access_of = |inc: &Value| {
        json["access_log"]["groups"][inc["access_group"].as_u64().unwrap() as usize].clone()
    };
    assert_eq!(access_of(&a)["status_504"], 1, "{a:#}");
    assert_eq!(access_of(&b)["status_504"], 1, "{b:#}");
    assert_ne!(a["access_group"], b["access_group"], "{json:#}");
    let api = by_path(&json, "/api/orders");
    assert_eq!(api["setting"]["value"], "1s", "{api:#}");
}

/// The closing table of issue #15 over the live lab scenarios (../shared/lab, A–I), not only
/// their captures: each scenario's failure is produced again by a real nginx 1.22 and php-fpm,
/// one location (or server, for gRPC) per scenario, all requests at once. "Requests caused" is
/// what the clients got (statuses ≥ 500), not a count of log lines; "reported" is the requests
/// `diagnose` puts on the scenario's handler line; the config line must be the handler (and, for
/// timeouts, the `*_read_timeout` line) and the fix must name what the scenario broke. Written
/// to `$CARGO_TARGET_TMPDIR/diagnose-closing-table-live.md` and printed (`cargo test --test it
/// closing_table -- --nocapture`); every row must be right.
#[test]
fn closing_table_over_live_lab_scenarios() {
    let Some(mut lab) = common::lab::Lab::new("diagnose-table") else {
        return;
    };
    let port = bind_free(&[]).local_addr().unwrap().port();
    let grpc_port = bind_free(&[]).local_addr().unwrap().port();
    // Ports handed out and closed again: nothing listens there.
    let dead: Vec<u16> = (0..4)
        .map(|_| bind_free(&[]).local_addr().unwrap().port())
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let slow = bind_free(&[]);
    let slow_port = slow.local_addr().unwrap().port();
    slow_upstream(slow, Duration::from_secs(3), stop.clone());
    // H1: reads the request, then closes (FIN). H2: closes with the request unread: the
    // kernel answers with a reset (RST), as the lab's SO_LINGER 0 does.
    let fin = bind_free(&[]);
    let fin_port = fin.local_addr().unwrap().port();
    backend(fin, stop.clone(), |_| {});
    let rst = bind_free(&[]);
    let rst_port = rst.local_addr().unwrap().port();
    rst.set_nonblocking(true).unwrap();
    {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match rst.accept() {
                    Ok((conn, _)) => {
                        std::thread::sleep(Duration::from_millis(300));
                        drop(conn);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
    }
    let params =
        "fastcgi_param REQUEST_METHOD $request_method; fastcgi_param QUERY_STRING $query_string;";
    let locations = format!(
        "        location /a/ {{ proxy_pass http://127.0.0.1:{a}; }}
        location /b/ {{ fastcgi_pass unix:@DIR@/no-such-php-fpm.sock; fastcgi_param SCRIPT_FILENAME $document_root/index.php; {params} }}
        location /c/ {{ fastcgi_pass unix:@DIR@/c.sock; fastcgi_param SCRIPT_FILENAME $document_root/index.php; {params} }}
        location /d/ {{
            proxy_pass http://127.0.0.1:{slow_port};
            proxy_read_timeout 1s;
        }}
        location /e/ {{
            fastcgi_pass unix:@DIR@/e.sock;
            fastcgi_read_timeout 1s;
            fastcgi_param SCRIPT_FILENAME $document_root/sleep.php; {params}
        }}
        location /f1/ {{ fastcgi_pass unix:@DIR@/f1.sock; fastcgi_read_timeout 10s; fastcgi_param SCRIPT_FILENAME $document_root/busy.php; {params} }}
        location /f2/ {{ fastcgi_pass unix:@DIR@/f2.sock; fastcgi_read_timeout 10s; fastcgi_param SCRIPT_FILENAME $document_root/sleep.php; {params} }}
        location /h1/ {{ proxy_pass http://127.0.0.1:{fin_port}; }}
        location /h2/ {{ proxy_pass http://127.0.0.1:{rst_port}; }}
        location /i/ {{ proxy_pass http://backend; }}",
        a = dead[0],
    );
    let http = format!(
        "    upstream backend {{ server 127.0.0.1:{}; server 127.0.0.1:{}; }}
    server {{
        listen 127.0.0.1:{grpc_port} http2;
        location / {{ grpc_pass grpc://127.0.0.1:{}; }}
    }}",
        dead[2], dead[3], dead[1]
    );
    // C: workers run as nobody, the c pool's socket is www-data's 0660; the others are open.
    lab.nginx_conf(port, "user nobody nogroup;", &http);
    let conf = std::fs::read_to_string(lab.path().join("nginx.conf"))
        .unwrap()
        .replace("@LOCATIONS@", &locations);
    let conf_path = lab.write("nginx.conf", &conf);
    let conf = std::fs::read_to_string(&conf_path).unwrap();
    lab.write("www/sleep.php", "<?php sleep(3); echo \"late\\n\";\n");
    lab.write("www/busy.php", "<?php $i = 0; while (true) { $i++; }\n");
    let pool = |name: &str, extra: &str| {
        format!("[{name}]\nuser = www-data\ngroup = www-data\nlisten = @DIR@/{name}.sock\n{extra}\npm = static\npm.max_children = 2\ncatch_workers_output = yes\n\n")
    };
    let pools = [
        pool("c", "listen.owner = www-data\nlisten.group = www-data\nlisten.mode = 0660"),
        pool("e", "listen.mode = 0666"),
        // As the lab's php.ini: errors logged, not shown (shown, PHP's fatal error is a 200).
        pool(
            "f1",
            "listen.mode = 0666\nphp_admin_value[max_execution_time] = 1\nphp_admin_flag[display_errors] = off\nphp_admin_flag[log_errors] = on",
        ),
        pool("f2", "listen.mode = 0666\nrequest_terminate_timeout = 1s"),
    ]
    .concat();
    lab.start_fpm(&pools, &lab.path().join("c.sock"));
    for s in ["e", "f1", "f2"] {
        let sock = lab.path().join(format!("{s}.sock"));
        common::lab::wait_for(|| sock.exists(), "the php-fpm sockets");
    }
    lab.start_nginx(port);

    // (scenario, path, requests): I's first request tries both servers, its second finds
    // none live.
    let scenarios: [(&str, &str, usize); 11] = [
        ("A", "/a/x", 1),
        ("B", "/b/x", 1),
        ("C", "/c/x", 1),
        ("D", "/d/x", 1),
        ("E", "/e/x", 1),
        ("F1", "/f1/x", 1),
        ("F2", "/f2/x", 1),
        ("G", "", 1),
        ("H1", "/h1/x", 1),
        ("H2", "/h2/x", 1),
        ("I", "/i/x", 2),
    ];
    let curl = common::lab::curl_binary();
    let handles: Vec<_> = scenarios
        .iter()
        .map(|&(id, path, n)| {
            let curl = curl.clone();
            std::thread::spawn(move || {
                (0..n)
                    .map(|_| {
                        if id == "G" {
                            let out = Command::new(&curl)
                                .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
                                .args(["--http2-prior-knowledge", "--max-time", "20"])
                                .arg(format!("http://127.0.0.1:{grpc_port}/pkg.Svc/Call"))
                                .output()
                                .unwrap();
                            String::from_utf8_lossy(&out.stdout).parse().unwrap_or(0)
                        } else {
                            common::lab::http_get(port, path)
                        }
                    })
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let statuses: Vec<Vec<u16>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    stop.store(true, Ordering::Relaxed);
    let fpm_log = lab.path().join("logs/php-fpm.log");
    common::lab::wait_for(
        || {
            std::fs::read_to_string(&fpm_log)
                .unwrap_or_default()
                .contains("execution timed out")
        },
        "php-fpm to log request_terminate_timeout",
    );
    let log_text = lab.error_log();
    let out = assert_cmd::Command::cargo_bin("nginx-gwlint")
        .unwrap()
        .arg("diagnose")
        .arg("--error-log")
        .arg(lab.path().join("logs/error.log"))
        .arg("--fpm-log")
        .arg(&fpm_log)
        .arg("--config-root")
        .arg(&conf_path)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let incidents = json["incidents"].as_array().unwrap();

    let handler_of = |id: &str| -> u64 {
        match id {
            "G" => line_of(&conf, "grpc_pass"),
            "I" => line_of(&conf, "location /i/"),
            _ => line_of(&conf, &format!("location /{}/", id.to_ascii_lowercase())),
        }
    };
    let fix_says = |id: &str, cause: &str| -> Vec<String> {
        let listens = |p: u16| format!("nothing listens on 127.0.0.1:{p}");
        match (id, cause) {
            ("A", _) => vec![listens(dead[0])],
            ("B", _) => vec!["does not exist".into()],
            ("C", _) => vec!["listen.owner".into()],
            ("D", _) => vec!["proxy_read_timeout is 1s".into()],
            ("E", _) => vec!["fastcgi_read_timeout is 1s".into()],
            ("F1", _) => vec!["raise max_execution_time".into()],
            ("F2", _) => vec!["request_terminate_timeout killed".into()],
            ("G", _) => vec![listens(dead[1])],
            ("H1" | "H2", _) => vec!["closed the connection before answering".into()],
            ("I", "connection-refused") => vec![listens(dead[2]), listens(dead[3])],
            ("I", _) => vec!["every server of `upstream backend`".into()],
            _ => panic!("unknown scenario {id}"),
        }
    };
    let mut table = String::from(
        "| scenario | cause | requests caused | requests reported | config line right | fix right |\n|---|---|---|---|---|---|\n",
    );
    let mut wrong = Vec::new();
    let mut placed = 0;
    for ((id, _, _), got) in scenarios.iter().zip(&statuses) {
        let caused = got.iter().filter(|s| **s >= 500).count() as u64;
        let handler = handler_of(id);
        // The location's block holds the handler: the pass line is inside it (same line for
        // the one-line blocks).
        let block_end = conf
            .lines()
            .skip(handler as usize - 1)
            .position(|l| l.trim_end().ends_with('}'))
            .map_or(handler, |n| handler + n as u64);
        let mine: Vec<&Value> = incidents
            .iter()
            .filter(|i| {
                i["line"]
                    .as_u64()
                    .is_some_and(|l| (handler..=block_end).contains(&l))
            })
            .collect();
        placed += mine.len();
        let reported: u64 = mine.iter().map(|i| i["requests"].as_u64().unwrap()).sum();
        let timeout = conf
            .lines()
            .enumerate()
            .skip(handler as usize - 1)
            .take((block_end - handler + 1) as usize)
            .find(|(_, l)| l.contains("_read_timeout"))
            .map(|(n, _)| n as u64 + 1);
        let causes: Vec<String> = mine
            .iter()
            .map(|i| i["cause"].as_str().unwrap().to_owned())
            .collect();
        let line_right = !mine.is_empty()
            && mine
                .iter()
                .all(|i| i["cause"] != "read-timeout" || i["setting"]["line"].as_u64() == timeout);
        let fix_right = !mine.is_empty()
            && mine.iter().all(|i| {
                let fix = i["fix"].as_str().unwrap();
                fix_says(id, i["cause"].as_str().unwrap())
                    .iter()
                    .any(|s| fix.contains(s.as_str()))
            });
        let yes = |b: bool| if b { "yes" } else { "NO" };
        table.push_str(&format!(
            "| {id} | {} | {caused} | {reported} | {} | {} |\n",
            causes.join(", "),
            yes(line_right),
            yes(fix_right)
        ));
        if caused == 0 || caused != reported || !line_right || !fix_right {
            wrong.push(format!("{id}: statuses {got:?}: {mine:#?}"));
        }
    }
    // E's pool kills nothing: F2's kill of the same script (another pool, the same second)
    // is not E's.
    if let Some(e) = incidents.iter().find(|i| i["paths"][0]["value"] == "/e/x") {
        if e["notes"].to_string().contains("request_terminate_timeout") {
            wrong.push(format!("E borrowed F2's kill: {e:#}"));
        }
    }
    // Every group sits on one scenario's handler: none on a wrong line.
    if placed != incidents.len() {
        wrong.push(format!("groups on no scenario's handler: {json:#}"));
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("diagnose-closing-table-live.md");
    std::fs::write(&out, &table).unwrap();
    #[allow(clippy::print_stdout)] // the table is the output of this test
    {
        println!("{table}");
    }
    assert!(
        wrong.is_empty(),
        "{table}\n{}\nerror.log:\n{log_text}\nphp-fpm.log:\n{}",
        wrong.join("\n"),
        std::fs::read_to_string(&fpm_log).unwrap_or_default()
    );
}
