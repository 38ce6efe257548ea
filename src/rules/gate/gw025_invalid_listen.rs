use foldhash::{HashMap, HashMapExt};

use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::NodeId;
use crate::directives::Context;
use crate::diagnostic::{Diagnostic, Severity};
use crate::directives::Version;
use crate::semantic::url::{self, UrlOptions};
use crate::syntax::WordRef;

pub struct InvalidListen;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW025,
    severity: Severity::Error,
    summary: "a listen nginx refuses: bad address or parameter, duplicate default_server or socket options for one address, listen ... ssl without ssl_certificate",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
What `ngx_http_core_listen` / `ngx_stream_core_listen` and the address bookkeeping after them
refuse:

- an address nginx cannot parse (`listen 99999;`, `listen 80-70;`) or a host that cannot resolve
  because it is no host name at all (`listen ${PORT};` left by a template);
- a parameter nginx does not know (`listen 80 foo;`, `quic` before 1.25.0), or a bad value
  (`backlog=x`, `rcvbuf=`, `ipv6only=yes`);
- the same address twice in one server ("a duplicate listen"), two `default_server` for one
  address ("a duplicate default server"), socket options (`backlog=`, `reuseport`,
  `rcvbuf=`, `bind`, ...) given on two listens of one address ("duplicate listen options");
  in stream, one address and port in two servers;
- `listen ... ssl` in a server without `ssl_certificate` (in the server or inherited from http)
  and without `ssl_reject_handshake on`, and `ssl_certificate` without `ssl_certificate_key`;
  the same for the old `ssl on;` (until nginx 1.25.1; it is also a deprecation warning);
- `ssl_verify_client on` (or `optional`) in a TLS server without `ssl_client_certificate`.

Addresses are compared as nginx compares sockets: `listen 80` is `0.0.0.0:80`, `[::]:80` is
another address; host names are resolved by nginx and are not compared here.
`listen ... http2` from nginx 1.25.1 is a warning (deprecated, use `http2 on;`); info, naming
the version it assumes, when the target version is a guess (no `--nginx-version`, settings or
nginx binary: the newest is assumed, and `http2 on;` would be "unknown directive" before
1.25.1). So is
`accept_filter=` (FreeBSD only: on Linux nginx logs it and ignores it).

## Why it matters
`nginx -t` fails and the new configuration never loads:

```
[emerg] a duplicate default server for 0.0.0.0:80 in /etc/nginx/sites-enabled/second:2
[emerg] no "ssl_certificate" is defined for the "listen ... ssl" directive in /etc/nginx/sites-enabled/app:1
```

## Example
```nginx
server { listen 80 default_server; server_name a.example; }
server { listen 80 default_server; server_name b.example; }   # second site copied from the first
```

## Use instead
```nginx
server { listen 80 default_server; server_name a.example; }
server { listen 80; server_name b.example; }
```

## Fix safety
No automatic fix: which server is the default is your decision."#,
};

const V1_25_0: Version = Version::new(1, 25, 0);
const V1_25_1: Version = Version::new(1, 25, 1);
const V1_25_5: Version = Version::new(1, 25, 5);
const V1_29_7: Version = Version::new(1, 29, 7);

/// One listen after its parameters were read.
struct Listen {
    key: Option<String>,
    default_server: bool,
    set: bool,
    ssl: bool,
}

/// nginx's error for one parameter, and whether it is a socket ("set") option, a
/// default_server, ssl.
enum Param {
    Ok {
        set: bool,
        default: bool,
        ssl: bool,
    },
    Bad(String),
    /// nginx logs it and goes on.
    Warn(String),
}

fn param(p: &str, stream: bool, target: Version) -> Param {
    let invalid = || {
        Param::Bad(if stream {
            format!("the invalid \"{p}\" parameter")
        } else {
            format!("invalid parameter \"{p}\"")
        })
    };
    let ok = |set| Param::Ok {
        set,
        default: false,
        ssl: false,
    };
    let value = |key: &str| p.strip_prefix(key);
    if let Some(v) = value("backlog=") {
        return match url::atoi(v) {
            Some(n) if n > 0 => ok(true),
            _ => Param::Bad(format!("invalid backlog \"{p}\"")),
        };
    }
    for key in ["rcvbuf=", "sndbuf="] {
        if let Some(v) = value(key) {
            return match crate::values::parse_size(v) {
                Some(_) => ok(true),
                None => Param::Bad(format!("invalid {} \"{p}\"", &key[..6])),
            };
        }
    }
    if let Some(v) = value("fastopen=") {
        return match url::atoi(v) {
            Some(_) => ok(true),
            None => Param::Bad(format!("invalid fastopen \"{p}\"")),
        };
    }
    if let Some(v) = value("ipv6only=") {
        return match v {
            "on" | "off" => ok(true),
            _ => Param::Bad(format!("invalid ipv6only flags \"{v}\"")),
        };
    }
    if let Some(v) = value("so_keepalive=") {
        let parts: Vec<&str> = v.split(':').collect();
        let good = matches!(v, "on" | "off")
            || (parts.len() == 3
                && parts[..2]
                    .iter()
                    .all(|s| s.is_empty() || crate::values::parse_sec(s).is_some())
                && (parts[2].is_empty() || url::atoi(parts[2]).is_some()));
        return if good {
            ok(true)
        } else {
            Param::Bad(format!("invalid so_keepalive value: \"{v}\""))
        };
    }
    let newer_stream = !stream || target >= V1_25_5;
    match p {
        "default_server" | "default" if !stream || (p == "default_server" && target >= V1_25_5) => {
            Param::Ok {
                set: false,
                default: true,
                ssl: false,
            }
        }
        "bind" | "reuseport" => ok(true),
        "deferred" if newer_stream => ok(true),
        // FreeBSD-only: Linux builds have no SO_SETFIB (the parameter is unknown) and no accept
        // filters (ngx_http_core_listen logs this at emerg level but goes on: nginx -t passes).
        _ if p.starts_with("accept_filter=") && newer_stream => Param::Warn(format!(
            "accept filters \"{p}\" are not supported on this platform, ignored"
        )),
        "multipath" if target >= V1_29_7 => ok(true),
        "ssl" => Param::Ok {
            set: false,
            default: false,
            ssl: true,
        },
        "proxy_protocol" => ok(false),
        "udp" if stream => ok(false),
        "quic" if !stream && target >= V1_25_0 => ok(false),
        "http2" if !stream && target >= V1_25_1 => Param::Warn(
            "the \"listen ... http2\" directive is deprecated, use the \"http2\" directive instead"
                .to_owned(),
        ),
        "http2" if !stream => ok(false),
        _ => invalid(),
    }
}

impl InvalidListen {
    fn read(
        &self,
        cx: &LintContext<'_, '_>,
        id: NodeId,
        stream: bool,
        out: &mut Vec<Diagnostic>,
    ) -> Option<Listen> {
        let n = cx.config.node(id);
        let addr: WordRef<'_> = n.directive.args().first()?;
        let text = addr.as_str();
        let parsed = url::parse(
            text,
            UrlOptions {
                uri_part: false,
                listen: true,
            },
        );
        let u = match parsed {
            Ok(u) => u,
            Err(e) => {
                out.push(
                    cx.diagnostic(
                        &META,
                        n.file,
                        addr.span(),
                        format!("{e} in \"{text}\" of the \"listen\" directive"),
                    )
                    .with_help("listen takes PORT, ADDRESS:PORT, [IPv6]:PORT or unix:/path"),
                );
                return None;
            }
        };
        if !u.unix
            && !u.port_only
            && u.host
                .bytes()
                .any(|b| !(b.is_ascii_alphanumeric() || b"-._*[]:".contains(&b)))
        {
            let help = if text.contains('$') {
                "listen takes no variables: write the port itself (a `${PORT}` here is a template placeholder that was never replaced)"
            } else {
                "listen takes PORT, ADDRESS:PORT, [IPv6]:PORT or unix:/path"
            };
            out.push(
                cx.diagnostic(
                    &META,
                    n.file,
                    addr.span(),
                    format!("host not found in \"{text}\" of the \"listen\" directive"),
                )
                .with_help(help),
            );
            return None;
        }
        let mut listen = Listen {
            key: None,
            default_server: false,
            set: false,
            ssl: false,
        };
        let mut udp = false;
        for w in n.directive.args().iter().skip(1) {
            match param(w.as_str(), stream, cx.directives.target) {
                Param::Ok { set, default, ssl } => {
                    listen.set |= set;
                    listen.default_server |= default;
                    listen.ssl |= ssl;
                    // `quic` (http) listens on UDP: a socket apart from the TCP one of the
                    // same port (ngx_http_core_listen sets SOCK_DGRAM for it).
                    udp |= w.as_str() == "udp" || (!stream && w.as_str() == "quic");
                }
                Param::Warn(m) => {
                    let http2 = w.as_str() == "http2";
                    // The deprecation holds from nginx 1.25.1, where `http2 on;` came; before
                    // it that directive is "unknown". When the target is a guess, say which
                    // version the advice assumes, as info.
                    let guess = http2 && crate::rules::common::target_is_guess(cx);
                    let m = if guess {
                        format!(
                            "{m} (from nginx 1.25.1; the target here is {}): before 1.25.1 `listen ... http2` is right and `http2 on;` is \"unknown directive\"",
                            crate::rules::common::target_described(cx)
                        )
                    } else {
                        m
                    };
                    let help = match (http2, guess) {
                        (true, false) => "write `http2 on;` in the server block and drop `http2` from listen".to_owned(),
                        (true, true) => "on nginx 1.25.1 or later, write `http2 on;` in the server block and drop `http2` from listen; give the target with --nginx-version (or `nginx-version` in settings) to check for it".to_owned(),
                        _ => format!("drop `{}` from listen: nginx on Linux ignores it", w.as_str()),
                    };
                    let mut d = cx.diagnostic(&META, n.file, w.span(), m).with_help(help);
                    d.severity = d.severity.min(if guess {
                        Severity::Info
                    } else {
                        Severity::Warning
                    });
                    out.push(d);
                }
                Param::Bad(m) => {
                    out.push(cx.diagnostic(&META, n.file, w.span(), m).with_help(if stream {
                        "stream listen parameters: udp, ssl, proxy_protocol, bind, reuseport, backlog=N, rcvbuf=SIZE, sndbuf=SIZE, ipv6only=on|off, so_keepalive=..., fastopen=N"
                    } else {
                        "listen parameters: default_server, ssl, http2, proxy_protocol, bind, reuseport, deferred, backlog=N, rcvbuf=SIZE, sndbuf=SIZE, ipv6only=on|off, so_keepalive=..., fastopen=N"
                    }));
                    return None;
                }
            }
        }
        listen.key = u.socket_key(udp);
        Some(listen)
    }

    fn check_http(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        // Per address: the servers listening, the default one, whether some listen sets
        // socket options or ssl.
        struct Addr {
            servers: Vec<NodeId>,
            default: Option<NodeId>,
            set: bool,
            ssl: bool,
        }
        let mut addrs: HashMap<String, Addr> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        for server in config.blocks_with_inner(Context::Server) {
            let mut mine: Vec<String> = Vec::new();
            for id in config
                .children_named(Some(server), "listen")
                .collect::<Vec<_>>()
            {
                let n = config.node(id);
                let Some(l) = self.read(cx, id, false, out) else {
                    continue;
                };
                let Some(key) = l.key else { continue };
                if mine.contains(&key) {
                    out.push(
                        cx.diagnostic(
                            &META,
                            n.file,
                            n.directive.head_span(),
                            format!("a duplicate listen {key}"),
                        )
                        .with_help(
                            "this server already listens there: remove one of the two listen lines",
                        ),
                    );
                    continue;
                }
                mine.push(key.clone());
                let a = addrs.entry(key.clone()).or_insert_with(|| {
                    order.push(key.clone());
                    Addr {
                        servers: Vec::new(),
                        default: None,
                        set: false,
                        ssl: false,
                    }
                });
                if l.set && a.set {
                    out.push(cx.diagnostic(&META, n.file, n.directive.head_span(), format!("duplicate listen options for {key}")).with_help("socket options (backlog=, rcvbuf=, sndbuf=, reuseport, bind, deferred, ...) may be given on one listen of an address only: keep them on one server's listen"));
                    continue;
                }
                a.set |= l.set;
                if l.default_server {
                    if a.default.is_some() {
                        out.push(cx.diagnostic(&META, n.file, n.directive.head_span(), format!("a duplicate default server for {key}")).with_help("only one server per address may be default_server: remove it from all but one"));
                        continue;
                    }
                    a.default = Some(server);
                }
                a.ssl |= l.ssl;
                a.servers.push(server);
            }
        }
        // listen ... ssl needs a certificate in the server that answers (ngx_http_ssl_init).
        let has = |server: NodeId, name: &str| config.effective(server, name).is_some();
        let rejects = |server: NodeId| {
            config
                .effective(server, "ssl_reject_handshake")
                .is_some_and(|id| config.node(id).arg(0) == Some("on"))
        };
        for key in &order {
            let Some(a) = addrs.get(key) else { continue };
            if !a.ssl {
                continue;
            }
            let Some(&first) = a.servers.first() else {
                continue;
            };
            let default = a.default.unwrap_or(first);
            let missing: Vec<NodeId> = if has(default, "ssl_certificate") {
                Vec::new()
            } else if !rejects(default) {
                vec![default]
            } else {
                a.servers
                    .iter()
                    .copied()
                    .filter(|s| !has(*s, "ssl_certificate") && !rejects(*s))
                    .take(1)
                    .collect()
            };
            for s in missing {
                // nginx names the server block (ngx_http_ssl_init: cscf->file_name, line).
                let n = config.node(s);
                let mut d = cx
                    .diagnostic(&META, n.file, n.directive.head_span(), "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive")
                    .with_help("add ssl_certificate and ssl_certificate_key to this server (or to http { }), or `ssl_reject_handshake on;` for a catch-all TLS server");
                if let Some(l) = config.children_named(Some(s), "listen").find(|l| {
                    config
                        .node(*l)
                        .directive
                        .args()
                        .iter()
                        .any(|a| a.as_str() == "ssl")
                }) {
                    let ln = config.node(l);
                    d = d.with_label(ln.file, ln.directive.head_span(), "TLS is enabled here");
                }
                out.push(cx.hedged(d, s, &["ssl_certificate", "ssl_reject_handshake"]));
            }
        }
    }

    fn check_stream(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let mut seen: HashMap<String, NodeId> = HashMap::new();
        for server in config.blocks_with_inner(Context::StreamServer) {
            for id in config
                .children_named(Some(server), "listen")
                .collect::<Vec<_>>()
            {
                let n = config.node(id);
                let Some(l) = self.read(cx, id, true, out) else {
                    continue;
                };
                if l.ssl && config.effective(server, "ssl_certificate").is_none() {
                    let d = cx.diagnostic(&META, n.file, n.directive.head_span(), "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive")
                        .with_help("add ssl_certificate and ssl_certificate_key to this server (or to stream { })");
                    out.push(cx.hedged(d, server, &["ssl_certificate"]));
                }
                let Some(key) = l.key else { continue };
                if seen.insert(key.clone(), id).is_some() {
                    let shown = key.trim_end_matches(" udp");
                    out.push(cx.diagnostic(&META, n.file, n.directive.head_span(), format!("duplicate \"{shown}\" address and port pair")).with_help("each stream address and port belongs to one server: change the port or merge the servers"));
                }
            }
        }
    }
}

impl Rule for InvalidListen {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        self.check_http(cx, out);
        self.check_stream(cx, out);
        // `ssl on;` (until 1.25.1): deprecated, and it needs a certificate like listen ... ssl.
        for &id in cx.config.nodes_named("ssl") {
            let n = cx.config.node(id);
            if !matches!(n.context, Context::Http | Context::Server)
                || cx.directives.for_context("ssl", n.context).is_none()
            {
                continue;
            }
            let mut d = cx
                // On the name: the head carries the missing-certificate error, and findings of one
                // rule at one span are merged.
                .diagnostic(&META, n.file, n.directive.name_word().span(), "the \"ssl\" directive is deprecated, use the \"listen ... ssl\" directive instead")
                .with_help("write `listen 443 ssl;` and remove `ssl on;`");
            d.severity = d.severity.min(Severity::Warning);
            out.push(d);
        }
        // Each check below starts from a directive: a tree without it has nothing to check.
        let absent = |name: &str| cx.config.nodes_named(name).is_empty();
        let servers = || cx.config.blocks_with_inner(Context::Server);
        for server in servers().filter(|_| !absent("ssl")) {
            let config = cx.config;
            let Some(ssl) = config
                .effective(server, "ssl")
                .filter(|id| config.node(*id).arg(0) == Some("on"))
            else {
                continue;
            };
            let on = |name: &str| {
                config
                    .effective(server, name)
                    .is_some_and(|id| config.node(id).arg(0) == Some("on"))
            };
            if config.effective(server, "ssl_certificate").is_none() && !on("ssl_reject_handshake")
            {
                let s = config.node(ssl);
                let src = cx.tree.sources.get(s.file);
                let d = cx.diagnostic(&META, s.file, s.directive.head_span(), format!("no \"ssl_certificate\" is defined for the \"ssl\" directive in {}:{}", src.display, src.lines.line(s.directive.span().start())))
                    .with_help("add ssl_certificate and ssl_certificate_key, and use `listen 443 ssl;` instead of `ssl on;`");
                out.push(cx.hedged(d, server, &["ssl_certificate", "ssl_reject_handshake"]));
            }
        }
        // ssl_verify_client without the CA to verify with (ngx_http_ssl_merge_srv_conf, for
        // servers that have TLS set up: a certificate or ssl_reject_handshake).
        for server in servers().filter(|_| !absent("ssl_verify_client")) {
            let config = cx.config;
            let on = |name: &str| {
                config
                    .effective(server, name)
                    .is_some_and(|id| config.node(id).arg(0) == Some("on"))
            };
            if config.effective(server, "ssl_certificate").is_none() && !on("ssl_reject_handshake")
            {
                continue;
            }
            let Some(v) = config.effective(server, "ssl_verify_client") else {
                continue;
            };
            let vn = config.node(v);
            if matches!(vn.arg(0), Some("on" | "optional"))
                && config.effective(server, "ssl_client_certificate").is_none()
            {
                let d = cx.diagnostic(&META, vn.file, vn.directive.head_span(), "no ssl_client_certificate for ssl_verify_client")
                    .with_help("add ssl_client_certificate with the CA that signs your clients' certificates, or use ssl_verify_client optional_no_ca");
                out.push(cx.hedged(d, server, &["ssl_client_certificate"]));
            }
        }
        // ssl_certificate without its key (ngx_http_ssl_merge_srv_conf).
        for block in servers()
            .chain(cx.config.blocks_with_inner(Context::StreamServer))
            .filter(|_| !absent("ssl_certificate"))
        {
            let certs = cx.config.effective_array(block, "ssl_certificate");
            let keys = cx.config.effective_array(block, "ssl_certificate_key");
            if let Some(last) = certs.last() {
                if keys.len() < certs.len() {
                    let n = cx.config.node(*last);
                    out.push(
                        cx.diagnostic(
                            &META,
                            n.file,
                            n.directive.head_span(),
                            format!(
                                "no \"ssl_certificate_key\" is defined for certificate \"{}\"",
                                n.arg(0).unwrap_or_default()
                            ),
                        )
                        .with_help(
                            "add ssl_certificate_key with the certificate's private key next to it",
                        ),
                    );
                }
            }
        }
    }
}
