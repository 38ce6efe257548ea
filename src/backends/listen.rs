//! php-fpm's `listen` address syntax.
//!
//! php-fpm decides the socket family with `fpm_sockets_domain_from_address`
//! (sapi/fpm/fpm/fpm_sockets.c): a value containing `:` or made only of digits is TCP, anything
//! else is a unix socket path. For TCP, the port is what follows the *last* `:` and brackets
//! around an IPv6 host are stripped; a bare port binds every address ("'port' - to listen on a TCP
//! socket to all addresses (IPv6 and IPv4-mapped) on a specific port", www.conf). A host name is
//! resolved with getaddrinfo and only the first address is bound ("Found multiple addresses for
//! %s, %s ignored"), which matters for `localhost`.

use std::fmt;
use std::path::PathBuf;

use crate::address::{canonical_socket_path, Address, Host};

/// Where a pool accepts FastCGI connections.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Listen {
    /// A unix socket path, as written (relative paths are resolved by the caller against the
    /// pool's prefix).
    Unix(PathBuf),
    /// A TCP socket. `host` is None for a bare port: every address, IPv6 and IPv4-mapped.
    /// IPv6 hosts are stored without brackets (`::1`).
    Tcp { host: Option<String>, port: u16 },
}

/// Why a `listen` value is not usable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ListenError {
    #[error(
        "empty listen address: php-fpm refuses to start (\"no listen address have been defined\")"
    )]
    Empty,
    #[error(
        "invalid port in listen address '{0}': php-fpm refuses to start (port must be 1-65535)"
    )]
    InvalidPort(String),
    #[error("listen address '{0}' depends on an environment variable that only the running system knows")]
    Environment(String),
}

impl Listen {
    /// Parses a `listen` value the way php-fpm does.
    pub fn parse(value: &str) -> Result<Listen, ListenError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ListenError::Empty);
        }
        if value.contains("${") {
            return Err(ListenError::Environment(value.to_string()));
        }
        let all_digits = value.bytes().all(|b| b.is_ascii_digit());
        if !value.contains(':') && !all_digits {
            return Ok(Listen::Unix(PathBuf::from(value)));
        }
        let (host, port_str) = match value.rfind(':') {
            Some(colon) => {
                let host = &value[..colon];
                let host = host
                    .strip_prefix('[')
                    .and_then(|h| h.strip_suffix(']'))
                    .unwrap_or(host);
                (Some(host.to_string()), &value[colon + 1..])
            }
            None => (None, value),
        };
        // php-fpm reads the port with atoi() and rejects 0 and anything above 65535; be stricter
        // about trailing junk, which atoi() would silently drop.
        let port = port_str
            .parse::<u32>()
            .ok()
            .filter(|p| (1..=65535).contains(p))
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| ListenError::InvalidPort(value.to_string()))?;
        Ok(Listen::Tcp { host, port })
    }

    pub fn is_unix(&self) -> bool {
        matches!(self, Listen::Unix(_))
    }

    /// True when the socket accepts connections on every address (`9000`, `[::]:9000`,
    /// `0.0.0.0:9000`).
    pub fn is_any_address(&self) -> bool {
        matches!(self, Listen::Tcp { host, .. }
            if host.as_deref().is_none_or(|h| matches!(h, "" | "::" | "0.0.0.0" | "*")))
    }
}

impl fmt::Display for Listen {
    /// The php-fpm spelling: `/run/php.sock`, `9000`, `127.0.0.1:9000`, `[::1]:9000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Unix(path) => write!(f, "{}", path.display()),
            Listen::Tcp { host: None, port } => write!(f, "{port}"),
            Listen::Tcp {
                host: Some(h),
                port,
            } if h.contains(':') => write!(f, "[{h}]:{port}"),
            Listen::Tcp {
                host: Some(h),
                port,
            } => write!(f, "{h}:{port}"),
        }
    }
}

/// Matching a connect address against a listen value lives here, beside [`Listen`], so the
/// address layer knows nothing of php-fpm.
impl Address {
    /// True when nginx connecting to this address reaches something listening on `listen`
    /// (a php-fpm pool): the same unix path, or the same port on a matching host (a pool
    /// listening on every address accepts 127.0.0.1, localhost and any name).
    ///
    /// Unix paths are compared after [`canonical_socket_path`] (`/var/run/php/x.sock` is
    /// `/run/php/x.sock`, as on every current distribution).
    pub fn matches_listen(&self, listen: &Listen) -> bool {
        self.matches_listen_with(listen, true)
    }

    /// [`Address::matches_listen`], with `var_run_is_run` false for a system whose /var/run is
    /// a directory of its own ([`crate::system::var_run_is_run`]).
    pub fn matches_listen_with(&self, listen: &Listen, var_run_is_run: bool) -> bool {
        match (listen, &self.host) {
            (Listen::Unix(path), Host::Unix(p)) => {
                canonical_socket_path(&path.to_string_lossy(), var_run_is_run)
                    == canonical_socket_path(p, var_run_is_run)
            }
            (Listen::Tcp { host, port }, _) => {
                if self.effective_port() != Some(*port) {
                    return false;
                }
                if listen.is_any_address() {
                    return !matches!(
                        self.host,
                        Host::Unix(_) | Host::Variable(_) | Host::Invalid(_)
                    );
                }
                let Some(h) = host else { return false };
                self.same_host(h)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{parse_host_port, parse_pass};

    fn tcp(host: Option<&str>, port: u16) -> Listen {
        Listen::Tcp {
            host: host.map(str::to_string),
            port,
        }
    }

    #[test]
    fn parses_every_documented_form() {
        let cases = [
            (
                "/run/php/php8.2-fpm.sock",
                Listen::Unix("/run/php/php8.2-fpm.sock".into()),
            ),
            ("php.sock", Listen::Unix("php.sock".into())),
            ("127.0.0.1:9000", tcp(Some("127.0.0.1"), 9000)),
            ("9000", tcp(None, 9000)),
            ("[::1]:9000", tcp(Some("::1"), 9000)),
            ("[::]:9000", tcp(Some("::"), 9000)),
            ("localhost:9000", tcp(Some("localhost"), 9000)),
            (" 9001 ", tcp(None, 9001)),
        ];
        for (text, want) in cases {
            assert_eq!(Listen::parse(text), Ok(want.clone()), "{text}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "/run/a.sock",
            "9000",
            "127.0.0.1:9000",
            "[::1]:9000",
            "[::]:9000",
            "localhost:9000",
        ] {
            let listen = Listen::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(listen.to_string(), text);
        }
    }

    #[test]
    fn rejects_what_php_fpm_rejects() {
        assert_eq!(Listen::parse(""), Err(ListenError::Empty));
        assert!(matches!(
            Listen::parse("0"),
            Err(ListenError::InvalidPort(_))
        ));
        assert!(matches!(
            Listen::parse("127.0.0.1:70000"),
            Err(ListenError::InvalidPort(_))
        ));
        assert!(matches!(
            Listen::parse("127.0.0.1:"),
            Err(ListenError::InvalidPort(_))
        ));
        assert!(matches!(
            Listen::parse("host:90x"),
            Err(ListenError::InvalidPort(_))
        ));
        assert!(matches!(
            Listen::parse("${LISTEN}"),
            Err(ListenError::Environment(_))
        ));
    }

    #[test]
    fn any_address() {
        assert!(tcp(None, 9000).is_any_address());
        assert!(tcp(Some("::"), 9000).is_any_address());
        assert!(tcp(Some("0.0.0.0"), 9000).is_any_address());
        assert!(!tcp(Some("127.0.0.1"), 9000).is_any_address());
        assert!(!Listen::Unix("/a".into()).is_any_address());
    }

    #[test]
    fn matching_pools_and_peers() {
        let sock = parse_pass("fastcgi_pass", "unix:/run/php/php8.2-fpm.sock");
        assert!(sock.matches_listen(&Listen::Unix("/run/php/php8.2-fpm.sock".into())));
        assert!(!sock.matches_listen(&Listen::Unix("/run/php/php7.4-fpm.sock".into())));
        let tcp = parse_pass("fastcgi_pass", "127.0.0.1:9000");
        assert!(tcp.matches_listen(&Listen::Tcp {
            host: None,
            port: 9000
        }));
        assert!(tcp.matches_listen(&Listen::Tcp {
            host: Some("localhost".into()),
            port: 9000
        }));
        assert!(!tcp.matches_listen(&Listen::Tcp {
            host: Some("10.0.0.1".into()),
            port: 9000
        }));
        assert!(!tcp.matches_listen(&Listen::Tcp {
            host: None,
            port: 9001
        }));
        let a = parse_host_port("localhost:3000", false);
        let b = parse_pass("proxy_pass", "http://127.0.0.1:3000/");
        assert!(a.same_peer(&b) && b.same_peer(&a));
    }

    #[test]
    fn matches_pool_listens() {
        let tcp = |h: Option<&str>, port| Listen::Tcp {
            host: h.map(str::to_owned),
            port,
        };
        let a = parse_pass("fastcgi_pass", "127.0.0.1:9000");
        assert!(a.matches_listen(&tcp(None, 9000)));
        assert!(a.matches_listen(&tcp(Some("::"), 9000)));
        assert!(a.matches_listen(&tcp(Some("localhost"), 9000)));
        assert!(a.matches_listen(&tcp(Some("127.0.0.1"), 9000)));
        assert!(!a.matches_listen(&tcp(Some("127.0.0.1"), 9001)));
        assert!(!a.matches_listen(&tcp(Some("10.0.0.1"), 9000)));
        let u = parse_pass("fastcgi_pass", "unix:/run/php/php8.2-fpm.sock");
        assert!(u.matches_listen(&Listen::Unix("/run/php/php8.2-fpm.sock".into())));
        assert!(!u.matches_listen(&Listen::Unix("/run/php/php7.4-fpm.sock".into())));
        assert!(!u.matches_listen(&tcp(None, 9000)));
        assert!(parse_host_port("localhost:3000", false)
            .same_peer(&parse_pass("proxy_pass", "http://127.0.0.1:3000/")));
        assert!(!parse_host_port("127.0.0.1:3001", false)
            .same_peer(&parse_pass("proxy_pass", "http://127.0.0.1:3000/")));
    }

    #[test]
    fn socket_paths_are_compared_after_one_normalisation() {
        assert_eq!(
            canonical_socket_path("/var/run/php/php8.2-fpm.sock", true),
            "/run/php/php8.2-fpm.sock"
        );
        assert_eq!(
            canonical_socket_path("/var/run/php/php8.2-fpm.sock", false),
            "/var/run/php/php8.2-fpm.sock"
        );
        assert_eq!(
            canonical_socket_path("/run//php/./x/../a.sock", true),
            "/run/php/a.sock"
        );
        let pool = Listen::Unix("/run/php/php8.2-fpm.sock".into());
        let pass = parse_pass("fastcgi_pass", "unix:/var/run/php/php8.2-fpm.sock");
        assert!(pass.matches_listen(&pool));
        assert!(!pass.matches_listen_with(&pool, false));
    }
}
