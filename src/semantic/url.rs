//! URLs read as nginx reads them at configuration time (`ngx_parse_url` in
//! src/core/ngx_inet.c): `unix:/path[:uri]`, `[v6]:port`, `host[:port][/uri]`. Only the checks
//! nginx makes before any DNS lookup; the `err` strings are nginx's (`u->err`), which it prints as
//! `<err> in upstream "<url>"`.

/// What the caller allows, as the `ngx_url_t` fields nginx sets before parsing.
#[derive(Clone, Copy, Debug, Default)]
pub struct UrlOptions {
    /// A URI part may follow (`proxy_pass`); without it a `/` is "invalid host".
    pub uri_part: bool,
    /// `listen`: a bare number is a port, `*` is any address.
    pub listen: bool,
}

/// A URL nginx accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url<'a> {
    /// The host as written (`[::1]` with brackets), or the unix path.
    pub host: &'a str,
    pub unix: bool,
    /// The port as written; `None` is nginx's `no_port`.
    pub port: Option<u16>,
    pub uri: Option<&'a str>,
    /// `listen 80`: only a port was given.
    pub port_only: bool,
}

impl Url<'_> {
    /// The socket address of a `listen` as nginx prints and compares it (`addr_text`:
    /// `0.0.0.0:80`, `[::1]:443`, `unix:/path`), when the configuration alone tells it (a host
    /// name is resolved by nginx: `None`). `udp` keeps stream's UDP sockets apart.
    pub fn socket_key(&self, udp: bool) -> Option<String> {
        let port = self.port.unwrap_or(80);
        let text = if self.unix {
            format!("unix:{}", self.host)
        } else if self.port_only || self.host == "*" {
            format!("0.0.0.0:{port}")
        } else if let Ok(ip) = self.host.parse::<std::net::Ipv4Addr>() {
            format!("{ip}:{port}")
        } else if let Some(v6) = self
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
        {
            format!("[{}]:{port}", v6.parse::<std::net::Ipv6Addr>().ok()?)
        } else {
            return None;
        };
        Some(if udp { format!("{text} udp") } else { text })
    }
}

/// `ngx_atoi`: decimal digits only, no sign, no overflow.
pub fn atoi(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn port(s: &str) -> Result<u16, &'static str> {
    match atoi(s) {
        Some(n @ 1..=65535) => Ok(n as u16),
        _ => Err("invalid port"),
    }
}

/// Parses like `ngx_parse_url`; the error is nginx's `u->err`.
pub fn parse(url: &str, opts: UrlOptions) -> Result<Url<'_>, &'static str> {
    if url.len() >= 5 && url.is_char_boundary(5) && url[..5].eq_ignore_ascii_case("unix:") {
        let mut path = &url[5..];
        let mut uri = None;
        if opts.uri_part {
            if let Some(i) = path.find(':') {
                uri = Some(&path[i + 1..]);
                path = &path[..i];
            }
        }
        if path.is_empty() {
            return Err("no path in the unix domain socket");
        }
        // sizeof(sun_path) on Linux is 108, the terminating NUL included.
        if path.len() + 1 > 108 {
            return Err("too long path in the unix domain socket");
        }
        return Ok(Url {
            host: path,
            unix: true,
            port: None,
            uri,
            port_only: false,
        });
    }
    if url.starts_with('[') {
        return parse_inet6(url, opts);
    }
    parse_inet(url, opts)
}

fn parse_inet(url: &str, opts: UrlOptions) -> Result<Url<'_>, &'static str> {
    let mut last = url.len();
    let mut colon = url.find(':');
    let mut uri_at = url.find('/');
    if let Some(q) = url.find('?') {
        if uri_at.is_none_or(|u| q < u) {
            uri_at = Some(q);
        }
    }
    let mut uri = None;
    if let Some(u) = uri_at {
        if opts.listen || !opts.uri_part {
            return Err("invalid host");
        }
        uri = Some(&url[u..]);
        last = u;
        if colon.is_some_and(|c| u < c) {
            colon = None;
        }
    }
    let mut port_num = None;
    let mut host_end = last;
    match colon {
        Some(c) => {
            let text = &url[c + 1..last];
            let text = if opts.listen {
                match text.split_once('-') {
                    Some((first, last_port)) => {
                        let hi = port(last_port)?;
                        let lo = port(first)?;
                        if lo > hi {
                            return Err("invalid port range");
                        }
                        first
                    }
                    None => text,
                }
            } else {
                text
            };
            port_num = Some(port(text)?);
            host_end = c;
        }
        None if uri.is_none() && opts.listen => {
            // `listen 80`, `listen 8000-8010`: a number alone is a port.
            let whole = &url[..last];
            let (first, range) = match whole.split_once('-') {
                Some((a, b)) if atoi(b).is_some() => (a, Some(b)),
                _ => (whole, None),
            };
            if atoi(first).is_some() {
                if let Some(b) = range {
                    let hi = port(b)?;
                    let lo = port(first)?;
                    if lo > hi {
                        return Err("invalid port range");
                    }
                }
                return Ok(Url {
                    host: "",
                    unix: false,
                    port: Some(port(first)?),
                    uri: None,
                    port_only: true,
                });
            }
        }
        None => {}
    }
    let host = &url[..host_end];
    if host.is_empty() {
        return Err("no host");
    }
    Ok(Url {
        host,
        unix: false,
        port: port_num,
        uri,
        port_only: false,
    })
}

fn parse_inet6(url: &str, opts: UrlOptions) -> Result<Url<'_>, &'static str> {
    let Some(close) = url.find(']') else {
        return Err("invalid host");
    };
    let mut last = url.len();
    let after = close + 1;
    let mut uri = None;
    if let Some(u) = url[after..].find('/').map(|u| u + after) {
        if opts.listen || !opts.uri_part {
            return Err("invalid host");
        }
        uri = Some(&url[u..]);
        last = u;
    }
    let mut port_num = None;
    if after < last {
        let Some(text) = url[after..last].strip_prefix(':') else {
            return Err("invalid host");
        };
        let text = match (opts.listen, text.split_once('-')) {
            (true, Some((first, hi))) => {
                let hi = port(hi)?;
                if port(first)? > hi {
                    return Err("invalid port range");
                }
                first
            }
            _ => text,
        };
        port_num = Some(port(text)?);
    }
    let inner = &url[1..close];
    if inner.is_empty() {
        return Err("no host");
    }
    if inner.parse::<std::net::Ipv6Addr>().is_err() {
        return Err("invalid IPv6 address");
    }
    Ok(Url {
        host: &url[..after],
        unix: false,
        port: port_num,
        uri,
        port_only: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: UrlOptions = UrlOptions {
        uri_part: true,
        listen: false,
    };
    const PLAIN: UrlOptions = UrlOptions {
        uri_part: false,
        listen: false,
    };
    const LISTEN: UrlOptions = UrlOptions {
        uri_part: false,
        listen: true,
    };

    #[test]
    fn nginx_errors() {
        assert_eq!(parse("127.0.0.1:0", PASS).err(), Some("invalid port"));
        assert_eq!(parse("127.0.0.1:99999", PASS).err(), Some("invalid port"));
        assert_eq!(parse("127.0.0.1:/x", PASS).err(), Some("invalid port"));
        assert_eq!(parse("", PASS).err(), Some("no host"));
        assert_eq!(parse(":80", PASS).err(), Some("no host"));
        assert_eq!(parse("[::1", PASS).err(), Some("invalid host"));
        assert_eq!(
            parse("unix:", PASS).err(),
            Some("no path in the unix domain socket")
        );
        assert_eq!(
            parse("http://127.0.0.1:9000", PLAIN).err(),
            Some("invalid host")
        );
        assert_eq!(parse("[::g]:80", PLAIN).err(), Some("invalid IPv6 address"));
        assert_eq!(parse("80-70", LISTEN).err(), Some("invalid port range"));
    }

    #[test]
    fn accepted() -> Result<(), &'static str> {
        let u = parse("backend:8080/api?x", PASS)?;
        assert_eq!(
            (u.host, u.port, u.uri),
            ("backend", Some(8080), Some("/api?x"))
        );
        let u = parse("unix:/run/app.sock:/x", PASS)?;
        assert_eq!((u.host, u.unix, u.uri), ("/run/app.sock", true, Some("/x")));
        let u = parse("80", LISTEN)?;
        assert!(u.port_only);
        let u = parse("[::]:443", LISTEN)?;
        assert_eq!((u.host, u.port), ("[::]", Some(443)));
        let u = parse("*:8080", LISTEN)?;
        assert_eq!((u.host, u.port), ("*", Some(8080)));
        Ok(())
    }
}
