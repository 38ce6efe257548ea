//! Real nginx and php-fpm on 127.0.0.1 for the lab tests (../shared/lab scenarios): a scratch
//! prefix, the processes started in it (stopped by PID on drop), an HTTP client, and
//! `nginx-gwlint check` on the result. Without them the lab tests are skipped, or fail under CI (see `oracle`).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

/// php-fpm, for labs (gated in [`Lab::new`]).
pub fn php_fpm_binary() -> PathBuf {
    super::oracle::php_fpm().expect("gate with Lab::new first")
}

/// curl, for labs (gated in [`Lab::new`]).
pub fn curl_binary() -> PathBuf {
    super::oracle::curl().expect("gate with Lab::new first")
}

/// A scratch prefix under /tmp that nginx workers (nobody) and php-fpm (www-data) can enter,
/// and the processes started in it, stopped by PID on drop.
pub struct Lab {
    pub dir: tempfile::TempDir,
    pub children: Vec<Child>,
}

impl Lab {
    /// A new lab, or `None` (the test is skipped, see [`super::oracle`]) without the real
    /// nginx, php-fpm and curl.
    pub fn new(name: &str) -> Option<Lab> {
        let nginx = super::oracle::nginx();
        let fpm = super::oracle::php_fpm();
        let curl = super::oracle::curl();
        if nginx.is_none() || fpm.is_none() || curl.is_none() {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix(&format!("gwlint-lab-{name}-"))
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["logs", "www"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("www/index.php"), "<?php echo \"ok\\n\";\n").unwrap();
        Some(Lab {
            dir,
            children: Vec::new(),
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` with `@DIR@` replaced by the prefix.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::write(
            &p,
            text.replace("@DIR@", &self.path().display().to_string()),
        )
        .unwrap();
        p
    }

    pub fn nginx_conf(&self, port: u16, head: &str, http: &str) -> PathBuf {
        self.write(
            "nginx.conf",
            &format!(
                "{head}\nworker_processes 1;\npid logs/nginx.pid;\nerror_log logs/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n    client_body_temp_path client_body_temp;\n    proxy_temp_path proxy_temp;\n    fastcgi_temp_path fastcgi_temp;\n    uwsgi_temp_path uwsgi_temp;\n    scgi_temp_path scgi_temp;\n{http}\n    server {{\n        listen 127.0.0.1:{port}{h2};\n        root www;\n@LOCATIONS@\n    }}\n}}\n",
                h2 = if http.contains("#h2") { " http2" } else { "" },
            ),
        )
    }

    pub fn start_nginx(&mut self, port: u16) {
        let dir = self.path().to_path_buf();
        let prefix = format!("{}/", dir.display());
        let conf = dir.join("nginx.conf");
        let t = Command::new(super::nginx_binary())
            .args(["-t", "-q", "-p", &prefix, "-c"])
            .arg(&conf)
            .output()
            .unwrap();
        assert!(
            t.status.success(),
            "nginx -t failed: {}",
            String::from_utf8_lossy(&t.stderr)
        );
        let child = Command::new(super::nginx_binary())
            .args(["-p", &prefix, "-c"])
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.push(child);
        wait_for(
            || TcpStream::connect(("127.0.0.1", port)).is_ok(),
            "nginx to listen",
        );
    }

    /// Starts php-fpm with `pool` and the php.ini at `ini` (relative to the prefix), like the
    /// lab's run-lab.sh: `PHP_INI_SCAN_DIR= php-fpm -F -y pool.conf -c php.ini`.
    pub fn start_fpm_with_ini(&mut self, pool: &str, socket: &Path, ini: &str) {
        let ini = self.path().join(ini);
        self.spawn_fpm(pool, socket, Some(&ini));
    }

    /// Starts php-fpm with `pool` and no php.ini at all (`-n`).
    pub fn start_fpm(&mut self, pool: &str, socket: &Path) {
        self.spawn_fpm(pool, socket, None);
    }

    fn spawn_fpm(&mut self, pool: &str, socket: &Path, ini: Option<&Path>) {
        let conf = self.write(
            "pool.conf",
            &format!(
                "[global]\npid = @DIR@/php-fpm.pid\nerror_log = @DIR@/logs/php-fpm.log\n\n{pool}"
            ),
        );
        let mut cmd = Command::new(php_fpm_binary());
        cmd.env("PHP_INI_SCAN_DIR", "")
            .args(["-F", "-y"])
            .arg(&conf);
        match ini {
            Some(ini) => cmd.arg("-c").arg(ini),
            None => cmd.arg("-n"),
        };
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.push(child);
        wait_for(|| socket.exists(), "the php-fpm socket");
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.path().join("logs/error.log")).unwrap_or_default()
    }

    /// Runs `nginx-gwlint check --format json` on the lab's nginx.conf; returns the diagnostics.
    pub fn gwlint(&self, extra: &[&str]) -> Vec<serde_json::Value> {
        let out = Command::cargo_bin("nginx-gwlint")
            .unwrap()
            .args(["check", "--format", "json", "--exit-zero"])
            .args(extra)
            .arg(self.path().join("nginx.conf"))
            .current_dir(self.path())
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        v["diagnostics"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Stop by PID, last started first: TERM (nginx and php-fpm stop their workers), then KILL.
        for child in self.children.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn wait_for(mut ready: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// An HTTP/1.0 GET; returns the status code.
pub fn http_get(port: u16, path: &str) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n").unwrap();
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {response:?}"))
}

/// The findings of one rule, as "line: message".
pub fn of_rule(diags: &[serde_json::Value], rule: &str) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d["rule"] == rule)
        .map(|d| {
            format!(
                "{}: {}",
                d["line"],
                d["message"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

pub fn assert_has(diags: &[serde_json::Value], rule: &str, needle: &str) {
    let found = of_rule(diags, rule);
    assert!(
        found.iter().any(|m| m.contains(needle)),
        "expected a {rule} finding containing {needle:?}, got {found:#?}\nall: {diags:#?}"
    );
}

pub fn probe_findings(diags: &[serde_json::Value]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| {
            d["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("(probe)"))
        })
        .map(|d| format!("{} {}", d["rule"], d["message"]))
        .collect()
}
