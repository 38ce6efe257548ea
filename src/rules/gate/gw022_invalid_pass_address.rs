use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::NodeId;
use crate::directives::Context;
use crate::diagnostic::{Diagnostic, Severity};
use crate::semantic::upstreams::upstream_blocks;
use crate::semantic::url::{self, UrlOptions};
use crate::semantic::variables::Namespace;

pub struct InvalidPassAddress;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW022,
    severity: Severity::Error,
    summary: "a proxy_pass/fastcgi_pass/grpc_pass/uwsgi_pass/scgi_pass/memcached_pass (or stream proxy_pass) address nginx refuses: scheme, host, port",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
The address of a `*_pass` directive written without variables, checked as nginx checks it
while reading the configuration (ngx_http_proxy_pass and its siblings, then `ngx_parse_url`):

- `proxy_pass` without `http://` or `https://` (`proxy_pass localhost:3000;`): "invalid URL
  prefix";
- a scheme where the directive takes none or another one (`fastcgi_pass http://...`,
  `grpc_pass http://...`, stream `proxy_pass http://...`): "invalid host";
- port 0, above 65535 or not a number: "invalid port"; no host; an empty unix socket path;
- `NAME:port` where `upstream NAME { }` exists: "upstream "NAME" may not have port N";
- an address without a port where the directive has no default port (everything but the
  http `proxy_pass`): "no port in upstream";
- a host that is an unfilled template placeholder (`<BACKEND_HOST>`, `{{ backend }}`,
  `%HOST%`: characters no host name has): nginx looks it up at startup and stops with "host
  not found in upstream". (`${BACKEND}` is a variable to nginx: GW020.)

- with `proxy_pass https://...` (or with variables, which may be https), `proxy_ssl_verify on`
  without `proxy_ssl_trusted_certificate`, or `proxy_ssl_certificate` without its key.

With variables in the argument nginx checks nothing until a request comes; such arguments
are not checked here (GW020 checks their variable names, GW204 their resolver).

"no port in upstream" means no `upstream NAME` block exists: when an include at the main or
http level was not read, or the file is checked on its own (the nginx.conf around it may
define the upstream), it is info, "cannot tell for sure".

## Why it matters
`nginx -t` fails and the new configuration never loads:

```
[emerg] invalid URL prefix in /etc/nginx/sites-enabled/app:14
[emerg] invalid host in upstream "http://127.0.0.1:9000" in /etc/nginx/sites-enabled/app:21
```

## Example
```nginx
location / {
    proxy_pass localhost:3000;
}
location ~ \.php$ {
    fastcgi_pass http://127.0.0.1:9000;
}
```

## Use instead
```nginx
location / {
    proxy_pass http://127.0.0.1:3000;
}
location ~ \.php$ {
    fastcgi_pass 127.0.0.1:9000;
}
```

## Fix safety
No automatic fix: the intended address is yours to say."#,
};

/// The implicit upstreams of one host so far: whether one has no port, and the ports of the
/// others. A set, not a list scanned per pass: a thousand ports of one host made that
/// quadratic.
#[derive(Default)]
struct Joined {
    portless: bool,
    ports: foldhash::HashSet<u16>,
}

impl Joined {
    /// True when a pass to `port` (0: none) joins an earlier implicit upstream of the host:
    /// any when either has no port, else the one with the same port.
    fn joins(&self, port: u16) -> bool {
        let any = self.portless || !self.ports.is_empty();
        any && (self.portless || port == 0 || self.ports.contains(&port))
    }
}

/// The schemes a pass directive accepts (matched case-insensitively), and whether it takes a
/// URI part and has a default port (only the http proxy_pass has both).
fn schemes(name: &str) -> Option<(&'static [&'static str], bool)> {
    Some(match name {
        "proxy_pass" => (&["http://", "https://"], true),
        "grpc_pass" => (&["grpc://", "grpcs://"], false),
        "uwsgi_pass" => (&["uwsgi://", "suwsgi://"], false),
        "fastcgi_pass" | "scgi_pass" | "memcached_pass" => (&[], false),
        _ => return None,
    })
}

fn strip_scheme<'a>(value: &'a str, schemes: &[&str]) -> Option<&'a str> {
    schemes.iter().find_map(|s| {
        value
            .get(..s.len())
            .filter(|p| p.eq_ignore_ascii_case(s))
            .map(|_| &value[s.len()..])
    })
}

/// The help for an address that is an unfilled template placeholder (GW022, GW023).
pub(crate) const PLACEHOLDER_HELP: &str = "an unexpanded template placeholder: nginx reads it as a host name and cannot resolve it at startup; fill it in (envsubst, the image's templates step, the deploy tool) before nginx reads the file, and check the generated file";

fn help_for(err: &str, directive: &str, value: &str) -> String {
    if err == "invalid URL prefix" {
        return format!(
            "write the scheme: proxy_pass http://{value}; (or https:// for TLS to the backend)"
        );
    }
    if err == "invalid host" && value.contains("://") {
        return match directive {
            "fastcgi_pass" | "scgi_pass" | "memcached_pass" | "proxy_pass" => format!(
                "{directive} takes a bare address: drop the scheme ({directive} {};)",
                value.split_once("://").map_or(value, |(_, r)| r)
            ),
            "grpc_pass" => {
                "grpc_pass takes grpc:// (plain) or grpcs:// (TLS), not http://".to_owned()
            }
            "uwsgi_pass" => "uwsgi_pass takes uwsgi:// or suwsgi:// or a bare address".to_owned(),
            _ => "remove the scheme".to_owned(),
        };
    }
    if err.starts_with("host not found") {
        return PLACEHOLDER_HELP.to_owned();
    }
    if err == "invalid port" {
        return "a port is a number from 1 to 65535".to_owned();
    }
    if err.starts_with("no port") {
        return format!(
            "{directive} has no default port: write host:port, or unix:/path for a socket"
        );
    }
    if err.contains("may not have port") {
        return "an upstream block has its ports on its `server` lines: pass to http://NAME without a port, or add the port there".to_owned();
    }
    "write host:port, [ipv6]:port or unix:/path".to_owned()
}

impl Rule for InvalidPassAddress {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let blocks = upstream_blocks(config);
        let mut implicit: foldhash::HashMap<(Namespace, String), Joined> =
            foldhash::HashMap::default();
        for id in config.nodes_where(|name| schemes(name).is_some()) {
            let n = config.node(id);
            let (ns, http) = match n.context {
                Context::Location | Context::IfLocation | Context::LimitExcept => {
                    (Namespace::Http, true)
                }
                Context::StreamServer if n.name() == "proxy_pass" => (Namespace::Stream, false),
                _ => continue,
            };
            let Some((schemes, uri_part)) = schemes(n.name()) else {
                continue;
            };
            let Some(word) = n.directive.args().first() else {
                continue;
            };
            let value = word.as_str();
            if value.contains('$') {
                continue;
            }
            let (rest, uri_part, default_port) = if http {
                match strip_scheme(value, schemes) {
                    Some(rest) => (rest, uri_part, uri_part),
                    None if n.name() == "proxy_pass" => {
                        out.push(
                            cx.diagnostic(&META, n.file, word.span(), "invalid URL prefix")
                                .with_help(help_for("invalid URL prefix", n.name(), value)),
                        );
                        continue;
                    }
                    None => (value, false, false),
                }
            } else {
                (value, false, false)
            };
            let err = match url::parse(
                rest,
                UrlOptions {
                    uri_part,
                    listen: false,
                },
            ) {
                Err(e) => format!("{e} in upstream \"{rest}\""),
                Ok(u) if u.unix => continue,
                // nginx looks the name up at startup (ngx_http_upstream_init_round_robin for
                // the implicit upstream); an unfilled template placeholder is no name.
                Ok(u) if crate::address::is_placeholder(u.host) => {
                    format!("host not found in upstream \"{}\"", u.host)
                }
                Ok(u) => {
                    let host = u.host.to_ascii_lowercase();
                    if blocks.contains_key(&(ns, host.clone())) {
                        match u.port {
                            Some(port) => {
                                format!("upstream \"{}\" may not have port {port}", u.host)
                            }
                            None => continue,
                        }
                    } else {
                        // An implicit upstream (ngx_http_upstream_add): a pass without a
                        // port joins an earlier one of the same host whatever its port, and
                        // one with a port joins an earlier portless one; a portless one left
                        // alone fails at startup with "no port in upstream".
                        let port = u.port.or(default_port.then_some(80)).unwrap_or(0);
                        let joined = implicit.entry((ns, host)).or_default();
                        if joined.joins(port) {
                            continue;
                        }
                        if port != 0 {
                            joined.ports.insert(port);
                            continue;
                        }
                        joined.portless = true;
                        format!("no port in upstream \"{}\"", u.host)
                    }
                }
            };
            let help = help_for(&err, n.name(), value);
            let no_port = err.starts_with("no port in upstream");
            let d = cx.diagnostic(&META, n.file, word.span(), err).with_help(help);
            out.push(if no_port {
                // The name may be an upstream block of a file that was not read.
                cx.hedged_undefined(d, "an upstream of that name")
            } else {
                d
            });
        }
        self.check_proxy_ssl(cx, out);
    }
}

impl InvalidPassAddress {
    /// TLS to the backend, set up where `proxy_pass` is `https://` or has variables
    /// (ngx_http_proxy_set_ssl, called from the merge of that location only); in stream, in
    /// every server where `proxy_ssl` is on (ngx_stream_proxy_set_ssl).
    fn check_proxy_ssl(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        for &server in config.nodes_named("server") {
            let n = config.node(server);
            if n.context != Context::Stream || n.directive.block().is_none() {
                continue;
            }
            let ssl = config
                .effective(server, "proxy_ssl")
                .filter(|id| config.node(*id).arg(0) == Some("on"));
            if let Some(ssl) = ssl {
                tls_settings(cx, server, ssl, "TLS to the backend is on for this server", out);
            }
        }
        for p in cx.passes() {
            if p.family != crate::config::Family::Proxy {
                continue;
            }
            let n = config.node(p.node);
            let Some(arg) = n.arg(0) else { continue };
            let https = arg
                .get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
            if !https && !arg.contains('$') {
                continue;
            }
            let Some(block) = n.parent() else { continue };
            let why = "TLS to the backend is set up for this proxy_pass";
            tls_settings(cx, block, p.node, why, out);
        }
    }
}

/// What nginx's `*_proxy_set_ssl` refuses in `block` where TLS to the backend is set up (at
/// `cause`, labelled `why`): a client certificate without its key, or proxy_ssl_verify without
/// a trusted CA.
fn tls_settings(
    cx: &LintContext<'_, '_>,
    block: NodeId,
    cause: NodeId,
    why: &str,
    out: &mut Vec<Diagnostic>,
) {
    let config = cx.config;
    let c = config.node(cause);
    if let Some(cert) = config.effective(block, "proxy_ssl_certificate") {
        if config.effective(block, "proxy_ssl_certificate_key").is_none() {
            let cert = config.node(cert);
            out.push(
                cx.diagnostic(&META, cert.file, cert.directive.head_span(), format!("no \"proxy_ssl_certificate_key\" is defined for certificate \"{}\"", cert.arg(0).unwrap_or_default()))
                    .with_label(c.file, c.directive.head_span(), why)
                    .with_help("add proxy_ssl_certificate_key with the client certificate's private key"),
            );
            return;
        }
    }
    let verify = config
        .effective(block, "proxy_ssl_verify")
        .filter(|id| config.node(*id).arg(0) == Some("on"));
    if let Some(verify) = verify {
        if config
            .effective(block, "proxy_ssl_trusted_certificate")
            .is_none()
        {
            let v = config.node(verify);
            out.push(
                cx.diagnostic(&META, v.file, v.directive.head_span(), "no proxy_ssl_trusted_certificate for proxy_ssl_verify")
                    .with_label(c.file, c.directive.head_span(), why)
                    .with_help("add proxy_ssl_trusted_certificate with the CA bundle that signs the backend's certificate (e.g. /etc/ssl/certs/ca-certificates.crt)"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`Joined`] answers as the list of earlier ports it replaced (scanned per pass), on
    /// sequences of ports with and without portless passes and repeats.
    #[test]
    fn joined_answers_as_the_list_of_earlier_ports() {
        let mut seed: u32 = 12345;
        for round in 0..200 {
            let (mut joined, mut list) = (Joined::default(), Vec::<u16>::new());
            for _ in 0..50 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                // Few distinct ports, so that repeats happen; 0 (no port) now and then.
                let port = ((seed >> 16) % (3 + round % 7)) as u16;
                let listed = list.iter().any(|p| *p == 0 || port == 0 || *p == port);
                assert_eq!(joined.joins(port), listed, "port {port} after {list:?}");
                if !listed {
                    list.push(port);
                    if port == 0 {
                        joined.portless = true;
                    } else {
                        joined.ports.insert(port);
                    }
                }
            }
        }
    }
}
