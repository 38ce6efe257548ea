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
/// runs (other worktrees, CI jobs) rarely race for the same one.
fn bind_free(skip: &[u16]) -> TcpListener {
    let len = PORTS.end - PORTS.start;
    let offset = (std::process::id() % u32::from(len)) as u16;
    for i in 0..len {
        let port = PORTS.start + (offset + i) % len;
        if skip.contains(&port) {
            continue;
        }
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
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
