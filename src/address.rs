//! Upstream addresses as nginx reads them: `proxy_pass http://127.0.0.1:3000/api`,
//! `fastcgi_pass unix:/run/php/php8.2-fpm.sock`, `grpc_pass grpcs://[::1]:50051`, upstream
//! `server` lines, php-fpm-style `host:port`. Parsing never fails: what nginx would refuse is
//! kept as [`Host::Invalid`] so rules can still point at it.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The protocol part of a `*_pass` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
    Grpc,
    Grpcs,
    Uwsgi,
    Suwsgi,
    /// fastcgi_pass, scgi_pass, memcached_pass, upstream `server`: no scheme is written.
    None,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Grpc => "grpc",
            Scheme::Grpcs => "grpcs",
            Scheme::Uwsgi => "uwsgi",
            Scheme::Suwsgi => "suwsgi",
            Scheme::None => "",
        }
    }

    /// The port nginx uses when none is written (`ngx_parse_url` default_port).
    pub fn default_port(self) -> Option<u16> {
        match self {
            Scheme::Http | Scheme::Grpc => Some(80),
            Scheme::Https | Scheme::Grpcs => Some(443),
            _ => None,
        }
    }

    pub fn is_tls(self) -> bool {
        matches!(self, Scheme::Https | Scheme::Grpcs | Scheme::Suwsgi)
    }
}

/// Where a connection goes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    /// A name: a DNS host (`localhost`, `app.internal`) or an `upstream` block's name.
    Name(String),
    Unix(String),
    /// The host part contains a variable: resolved per request.
    Variable(String),
    /// Not something nginx accepts (message says why).
    Invalid(String),
}

/// One parsed address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    pub scheme: Scheme,
    pub host: Host,
    /// The port as written; see [`Address::effective_port`].
    pub port: Option<u16>,
    /// The URI part after host:port (`/api/`), if any.
    pub uri: Option<String>,
}

impl Address {
    /// The port nginx connects to, when it is known.
    pub fn effective_port(&self) -> Option<u16> {
        self.port.or_else(|| self.scheme.default_port())
    }

    pub fn is_unix(&self) -> bool {
        matches!(self.host, Host::Unix(_))
    }

    pub fn unix_path(&self) -> Option<&str> {
        match &self.host {
            Host::Unix(p) => Some(p),
            _ => None,
        }
    }

    /// `Some(name)` when the host is a bare name that may be an `upstream` block.
    pub fn name(&self) -> Option<&str> {
        match &self.host {
            Host::Name(n) => Some(n),
            _ => None,
        }
    }

    pub fn is_loopback(&self) -> bool {
        match &self.host {
            Host::Ipv4(ip) => ip.is_loopback(),
            Host::Ipv6(ip) => ip.is_loopback(),
            Host::Name(n) => n.eq_ignore_ascii_case("localhost"),
            _ => false,
        }
    }
}

impl Address {
    /// True when `other` names the same peer (same host and port, or same unix path).
    pub fn same_peer(&self, other: &Address) -> bool {
        match (&self.host, &other.host) {
            (Host::Unix(a), Host::Unix(b)) => {
                canonical_socket_path(a, true) == canonical_socket_path(b, true)
            }
            (_, Host::Unix(_)) | (Host::Unix(_), _) => false,
            _ => {
                self.effective_port() == other.effective_port()
                    && other.same_host(&match &self.host {
                        Host::Ipv4(ip) => ip.to_string(),
                        Host::Ipv6(ip) => ip.to_string(),
                        Host::Name(n) | Host::Variable(n) | Host::Invalid(n) => n.clone(),
                        Host::Unix(p) => p.clone(),
                    })
            }
        }
    }

    /// Host equality where `localhost`, 127.0.0.1 and ::1 count as the same loopback host.
    pub(crate) fn same_host(&self, text: &str) -> bool {
        let text = text.trim_start_matches('[').trim_end_matches(']');
        let loopback = |t: &str| {
            t.eq_ignore_ascii_case("localhost")
                || t.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        };
        match &self.host {
            Host::Ipv4(ip) => {
                text.parse::<Ipv4Addr>().is_ok_and(|t| t == *ip)
                    || (ip.is_loopback() && loopback(text))
            }
            Host::Ipv6(ip) => {
                text.parse::<Ipv6Addr>().is_ok_and(|t| t == *ip)
                    || (ip.is_loopback() && loopback(text))
            }
            Host::Name(n) => n.eq_ignore_ascii_case(text) || (loopback(n) && loopback(text)),
            _ => false,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scheme != Scheme::None {
            write!(f, "{}://", self.scheme.as_str())?;
        }
        match &self.host {
            Host::Ipv4(ip) => write!(f, "{ip}")?,
            Host::Ipv6(ip) => write!(f, "[{ip}]")?,
            Host::Name(n) | Host::Variable(n) | Host::Invalid(n) => write!(f, "{n}")?,
            Host::Unix(p) => write!(f, "unix:{p}")?,
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if let Some(uri) = &self.uri {
            write!(f, "{uri}")?;
        }
        Ok(())
    }
}

/// Parses the argument of `proxy_pass`, `fastcgi_pass`, `grpc_pass`, `uwsgi_pass`,
/// `scgi_pass`, `memcached_pass`. `directive` decides which schemes are allowed.
pub fn parse_pass(directive: &str, arg: &str) -> Address {
    let lower = arg.to_ascii_lowercase();
    let schemes: &[(&str, Scheme)] = match directive {
        "proxy_pass" => &[("http://", Scheme::Http), ("https://", Scheme::Https)],
        "grpc_pass" => &[("grpc://", Scheme::Grpc), ("grpcs://", Scheme::Grpcs)],
        "uwsgi_pass" => &[("uwsgi://", Scheme::Uwsgi), ("suwsgi://", Scheme::Suwsgi)],
        _ => &[],
    };
    let mut scheme = Scheme::None;
    let mut rest = arg;
    for (prefix, s) in schemes {
        if lower.starts_with(prefix) {
            scheme = *s;
            rest = &arg[prefix.len()..];
            break;
        }
    }
    if directive == "proxy_pass" && scheme == Scheme::None {
        let host = if arg.starts_with('$') {
            Host::Variable(arg.to_owned())
        } else {
            Host::Invalid("invalid URL prefix (proxy_pass needs http:// or https://)".to_owned())
        };
        return Address {
            scheme,
            host,
            port: None,
            uri: None,
        };
    }
    if directive == "grpc_pass" && scheme == Scheme::None {
        // grpc_pass without a scheme is plain-text gRPC.
        scheme = Scheme::Grpc;
    }
    let mut addr = parse_host_port(rest, true);
    addr.scheme = scheme;
    addr
}

/// Parses `host[:port][/uri]`, `[v6]:port`, `unix:/path[:/uri]`. With `allow_uri`, a `/` or `?`
/// after the host starts the URI (proxy_pass); a unix path then ends at `:`.
pub fn parse_host_port(text: &str, allow_uri: bool) -> Address {
    let mut addr = Address {
        scheme: Scheme::None,
        host: Host::Invalid(text.to_owned()),
        port: None,
        uri: None,
    };
    if let Some(path) = text.strip_prefix("unix:") {
        // proxy_pass http://unix:/tmp/app.sock:/uri — the ':' ends the path.
        match (allow_uri, path.find(':')) {
            (true, Some(i)) => {
                addr.host = Host::Unix(path[..i].to_owned());
                let uri = &path[i + 1..];
                if !uri.is_empty() {
                    addr.uri = Some(uri.to_owned());
                }
            }
            _ => addr.host = Host::Unix(path.to_owned()),
        }
        if addr.unix_path().is_some_and(str::is_empty) {
            addr.host = Host::Invalid("no path in unix domain socket".to_owned());
        }
        return addr;
    }
    // ngx_parse_inet_url: the host part ends at the first `/` or `?`.
    let (authority, uri) = match (allow_uri, text.find(['/', '?'])) {
        (true, Some(i)) => (&text[..i], Some(&text[i..])),
        _ => (text, None),
    };
    addr.uri = uri.map(str::to_owned);
    if authority.contains('$') {
        addr.host = Host::Variable(authority.to_owned());
        return addr;
    }
    if let Some(v6) = authority.strip_prefix('[') {
        let Some((ip, after)) = v6.split_once(']') else {
            addr.host = Host::Invalid("invalid IPv6 address".to_owned());
            return addr;
        };
        addr.host = match ip.parse::<Ipv6Addr>() {
            Ok(ip) => Host::Ipv6(ip),
            Err(_) => Host::Invalid(format!("invalid IPv6 address \"{ip}\"")),
        };
        if let Some(port) = after.strip_prefix(':') {
            set_port(&mut addr, port);
        } else if !after.is_empty() {
            addr.host = Host::Invalid(format!("unexpected \"{after}\" after IPv6 address"));
        }
        return addr;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if host.is_empty() {
        addr.host = Host::Invalid("no host".to_owned());
        return addr;
    }
    if is_placeholder(host) {
        addr.host = Host::Invalid(format!(
            "\"{host}\" is a template placeholder, not a host name"
        ));
        return addr;
    }
    addr.host = match host.parse::<Ipv4Addr>() {
        Ok(ip) => Host::Ipv4(ip),
        Err(_) => Host::Name(host.to_owned()),
    };
    if let Some(p) = port {
        set_port(&mut addr, p);
    }
    addr
}

/// A host written as a template placeholder that was never filled in (`<BACKEND_HOST>`,
/// `{{ backend }}`, `${BACKEND}`, `%BACKEND%`): it has characters no host name has, so
/// nginx's lookup at startup fails ("host not found in upstream"). (`user@host` fails the
/// same way but is no placeholder.)
pub fn is_placeholder(host: &str) -> bool {
    host.bytes()
        .any(|b| matches!(b, b'<' | b'>' | b'{' | b'}' | b'$' | b'%') || b.is_ascii_whitespace())
}

fn set_port(addr: &mut Address, port: &str) {
    match port.parse::<u16>() {
        Ok(p) if p > 0 => addr.port = Some(p),
        _ => addr.host = Host::Invalid(format!("invalid port \"{port}\"")),
    }
}

/// The one normalisation every socket, pool and certificate path comparison goes through:
/// `.` and duplicate slashes dropped, `..` resolved lexically, and `/var/run/...` read as
/// `/run/...` when `var_run_is_run` (FHS 3.0 keeps /var/run only as a compatibility link to /run,
/// and systemd's tmpfiles.d/var.conf creates `L /var/run - - - - ../run`; checked systems say
/// it with their own link, see [`crate::system::var_run_is_run`]).
pub fn canonical_socket_path(path: &str, var_run_is_run: bool) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if var_run_is_run && parts.len() >= 2 && parts[0] == "var" && parts[1] == "run" {
        parts.remove(0);
    }
    let joined = parts.join("/");
    if path.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Levenshtein distance in characters: how far a written address is from an existing one
/// (`/run/php/php7.4-fpm.sock` is 2 edits from `/run/php/php8.2-fpm.sock`).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate nearest to `target` by [`edit_distance`], the first one on ties.
/// The candidate whose name is within half the longer name's length of `target` (a typo, not
/// another name), the closest one; ties go to the name that sorts first.
pub fn typo_of<T>(
    target: &str,
    candidates: impl IntoIterator<Item = T>,
    name: impl Fn(&T) -> &str,
) -> Option<T> {
    candidates
        .into_iter()
        .filter_map(|c| {
            let d = edit_distance(target, name(&c));
            (d <= name(&c).len().max(target.len()) / 2).then_some((d, c))
        })
        .min_by(|(da, a), (db, b)| da.cmp(db).then_with(|| name(a).cmp(name(b))))
        .map(|(_, c)| c)
}

pub fn nearest<'a>(target: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .min_by_key(|c| edit_distance(target, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_pass_forms() {
        let a = parse_pass("proxy_pass", "http://127.0.0.1:3000/api/");
        assert_eq!(a.scheme, Scheme::Http);
        assert_eq!(a.host, Host::Ipv4(Ipv4Addr::LOCALHOST));
        assert_eq!(a.port, Some(3000));
        assert_eq!(a.uri.as_deref(), Some("/api/"));
        let b = parse_pass("proxy_pass", "https://backend");
        assert_eq!(b.name(), Some("backend"));
        assert_eq!(b.effective_port(), Some(443));
        let c = parse_pass("proxy_pass", "http://unix:/run/app.sock:/x");
        assert_eq!(c.unix_path(), Some("/run/app.sock"));
        assert_eq!(c.uri.as_deref(), Some("/x"));
        let d = parse_pass("proxy_pass", "http://[::1]:8080");
        assert_eq!(d.host, Host::Ipv6(Ipv6Addr::LOCALHOST));
        assert!(matches!(
            parse_pass("proxy_pass", "http://$backend").host,
            Host::Variable(_)
        ));
        assert!(matches!(
            parse_pass("proxy_pass", "127.0.0.1:3000").host,
            Host::Invalid(_)
        ));
        assert!(parse_pass("proxy_pass", "http://localhost:3000").is_loopback());
        for placeholder in ["<BACKEND_HOST>:8080", "{{ backend }}", "%HOST%"] {
            assert!(matches!(
                parse_host_port(placeholder, false).host,
                Host::Invalid(_)
            ));
        }
        assert!(!is_placeholder("api.internal"));
        // ngx_parse_inet_url ends the host at `?` as at `/`.
        let e = parse_pass("proxy_pass", "http://octane?a=1:2/b");
        assert_eq!(e.name(), Some("octane"));
        assert_eq!(e.port, None);
        assert_eq!(e.uri.as_deref(), Some("?a=1:2/b"));
    }

    #[test]
    fn fastcgi_and_grpc_forms() {
        let a = parse_pass("fastcgi_pass", "unix:/run/php/php8.2-fpm.sock");
        assert_eq!(a.unix_path(), Some("/run/php/php8.2-fpm.sock"));
        let b = parse_pass("fastcgi_pass", "127.0.0.1:9000");
        assert_eq!(b.port, Some(9000));
        let c = parse_pass("grpc_pass", "127.0.0.1:50051");
        assert_eq!(c.scheme, Scheme::Grpc);
        let d = parse_pass("grpc_pass", "grpcs://api:443");
        assert!(d.scheme.is_tls());
        assert_eq!(parse_pass("fastcgi_pass", "php").name(), Some("php"));
        assert!(matches!(
            parse_pass("fastcgi_pass", "127.0.0.1:99999").host,
            Host::Invalid(_)
        ));
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(
            edit_distance("/run/php/php7.4-fpm.sock", "/run/php/php8.2-fpm.sock"),
            2
        );
        assert_eq!(
            nearest(
                "/run/php/php7.4-fpm.sock",
                ["/run/php/app.sock", "/run/php/php8.2-fpm.sock"]
            ),
            Some("/run/php/php8.2-fpm.sock")
        );
    }
}
