//! Application servers whose limits sit in their own config files: gunicorn (`gunicorn.conf.py`:
//! `bind`, `timeout`, `keepalive`) and uWSGI (`[uwsgi]` ini: `socket`/`http-socket`,
//! `harakiri`). Each becomes a declared backend, as if written as `[[backend]]` in settings, so
//! GW104 (the app works longer than nginx waits), GW107 (keep-alive) and GW202 see it.
//!
//! Facts from the projects' documentation: gunicorn's `timeout` defaults to 30 s (a silent
//! worker is killed and restarted), `keepalive` to 2 s, `bind` to 127.0.0.1:8000; uWSGI's
//! `harakiri` (seconds) is off unless set.

use std::path::Path;

use super::ini::{parse_ini, Dialect};
use super::BackendError;
use crate::address::{parse_host_port, Address, Host};

/// What kind of program a declared backend is: decides defaults nginx-gwlint cannot read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Node.js http server: keep-alive idle timeout 5s (`server.keepAliveTimeout`).
    Node,
    /// gunicorn: worker `--timeout` 30s, `--keep-alive` 2s.
    Gunicorn,
    /// uWSGI: `harakiri` off unless set.
    Uwsgi,
    Java,
    Grpc,
    Other,
}

impl BackendKind {
    /// The backend's documented default keep-alive idle time, in milliseconds.
    pub fn default_keepalive_ms(self) -> Option<u64> {
        match self {
            BackendKind::Node => Some(5_000),
            BackendKind::Gunicorn => Some(2_000),
            _ => None,
        }
    }

    /// The backend's documented default request time limit, in milliseconds.
    pub fn default_timeout_ms(self) -> Option<u64> {
        match self {
            BackendKind::Gunicorn => Some(30_000),
            _ => None,
        }
    }
}

/// A backend the user describes in settings (`[[backend]]`): limits nginx-gwlint cannot read
/// from the application itself.
#[derive(Clone, Debug)]
pub struct DeclaredBackend {
    pub name: String,
    pub address: crate::address::Address,
    pub kind: BackendKind,
    /// The backend's own request time limit, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// How long the backend keeps an idle keep-alive connection, in milliseconds.
    pub keepalive_timeout_ms: Option<u64>,
    /// Where it was declared (settings file).
    pub origin: String,
}

/// Reads a gunicorn config (`*.py`) or a uWSGI ini and returns the backends it declares.
pub fn read_app_config(path: &Path) -> Result<Vec<DeclaredBackend>, BackendError> {
    let bytes = crate::config::read_config_file(path).map_err(|source| BackendError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let origin = path.display().to_string();
    let is_python = path.extension().is_some_and(|e| e == "py");
    Ok(if is_python {
        gunicorn(&text, &origin)
    } else {
        uwsgi(path, &bytes, &origin)
    })
}

/// `key = value` assignments of a gunicorn Python config: simple literals only (what config
/// files use); anything computed is left alone.
fn gunicorn(text: &str, origin: &str) -> Vec<DeclaredBackend> {
    let mut binds: Vec<String> = Vec::new();
    let mut timeout_s: u64 = 30;
    let mut keepalive_s: u64 = 2;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "bind" => binds = python_strings(value),
            "timeout" => timeout_s = value.parse().unwrap_or(timeout_s),
            "keepalive" => keepalive_s = value.parse().unwrap_or(keepalive_s),
            _ => {}
        }
    }
    if binds.is_empty() {
        binds.push("127.0.0.1:8000".to_owned());
    }
    binds
        .iter()
        .filter_map(|b| listen_address(b))
        .map(|address| DeclaredBackend {
            name: format!("gunicorn {address}"),
            address,
            kind: BackendKind::Gunicorn,
            // 0 disables gunicorn's worker timeout.
            timeout_ms: (timeout_s > 0).then_some(timeout_s * 1000),
            keepalive_timeout_ms: Some(keepalive_s * 1000),
            origin: origin.to_owned(),
        })
        .collect()
}

/// `"a"`, `'a'`, `["a", "b"]` -> the strings.
fn python_strings(value: &str) -> Vec<String> {
    value
        .trim_start_matches(['[', '('])
        .trim_end_matches([']', ')'])
        .split(',')
        .map(|s| s.trim().trim_matches(['"', '\'']).to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The `[uwsgi]` section of an ini file.
fn uwsgi(path: &Path, bytes: &[u8], origin: &str) -> Vec<DeclaredBackend> {
    let ini = parse_ini(path, bytes, Dialect::PhpIni);
    let mut sockets = Vec::new();
    let mut harakiri_s: u64 = 0;
    for e in ini.entries() {
        if e.section.as_deref() != Some("uwsgi") {
            continue;
        }
        match e.key.as_str() {
            "socket" | "uwsgi-socket" | "http-socket" | "http" => sockets.push(e.value.clone()),
            "harakiri" => harakiri_s = e.value.trim().parse().unwrap_or(0),
            _ => {}
        }
    }
    sockets
        .iter()
        .filter_map(|s| listen_address(s))
        .map(|address| DeclaredBackend {
            name: format!("uwsgi {address}"),
            address,
            kind: BackendKind::Uwsgi,
            timeout_ms: (harakiri_s > 0).then_some(harakiri_s * 1000),
            keepalive_timeout_ms: None,
            origin: origin.to_owned(),
        })
        .collect()
}

/// A listening address as nginx would reach it: `unix:/x.sock` or `/x.sock` stay sockets; a
/// wildcard host (`0.0.0.0:8000`, `:8000`, `[::]:8000`) is reached on 127.0.0.1.
fn listen_address(text: &str) -> Option<Address> {
    let text = text.trim();
    let text = if text.starts_with('/') {
        format!("unix:{text}")
    } else if let Some(port) = text.strip_prefix(':') {
        format!("127.0.0.1:{port}")
    } else {
        text.replace("0.0.0.0:", "127.0.0.1:")
            .replace("[::]:", "127.0.0.1:")
    };
    let addr = parse_host_port(&text, false);
    (!matches!(addr.host, Host::Invalid(_) | Host::Variable(_))).then_some(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gunicorn_config() {
        let b = gunicorn(
            "bind = ['0.0.0.0:8000', 'unix:/run/app.sock']\ntimeout = 120  # reports\nworkers = 4\n",
            "gunicorn.conf.py",
        );
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].address.to_string(), "127.0.0.1:8000");
        assert_eq!(b[0].timeout_ms, Some(120_000));
        assert_eq!(b[0].keepalive_timeout_ms, Some(2_000));
        assert_eq!(b[1].address.unix_path(), Some("/run/app.sock"));
        let defaults = gunicorn("workers = 2\n", "g.py");
        assert_eq!(defaults[0].address.to_string(), "127.0.0.1:8000");
        assert_eq!(defaults[0].timeout_ms, Some(30_000));
    }

    #[test]
    fn uwsgi_ini() {
        let b = uwsgi(
            Path::new("app.ini"),
            b"[uwsgi]\nsocket = 127.0.0.1:3031\nharakiri = 60\nmodule = app:app\n",
            "app.ini",
        );
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].address.to_string(), "127.0.0.1:3031");
        assert_eq!(b[0].timeout_ms, Some(60_000));
        let off = uwsgi(
            Path::new("a.ini"),
            b"[uwsgi]\nhttp-socket = :9090\n",
            "a.ini",
        );
        assert_eq!(off[0].timeout_ms, None);
        assert_eq!(off[0].address.to_string(), "127.0.0.1:9090");
    }
}
