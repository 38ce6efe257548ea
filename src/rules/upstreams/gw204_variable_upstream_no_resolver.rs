use std::collections::BTreeSet;

use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::address::{parse_pass, Host};
use crate::config::{NodeId, ResolvedConfig, Scoped};
use crate::diagnostic::{Diagnostic, Severity};
use crate::semantic::variables::Namespace;
use crate::semantic::{refs, script};

pub struct VariableUpstreamNoResolver;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW204,
    severity: Severity::Error,
    summary: "pass address built from variables, resolved at run time, with no `resolver`",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
`proxy_pass`, `fastcgi_pass`, `grpc_pass`, `uwsgi_pass` or `scgi_pass` whose argument contains
a variable, with no `resolver` in effect (location, server or http). With variables nginx
builds the address per request and, unless the host is an IP address or the name of an
`upstream` block, resolves it with the configured `resolver` — /etc/hosts and the system
resolver are not used then.

Every value the variables can take is followed through `set $var value;` and
`map ... $var { }` entries (recursively). The address is fine when every value gives an IP
address, a unix socket or an upstream name. A variable nginx fills in at run time (`$host`,
`$http_*`, regex captures) in the host part is reported as a warning (its value may be an
IP address, which needs no resolver); `$request_uri`, `$uri` and
`$is_args` start the URI part and do not matter. A static host followed by such a variable
(`proxy_pass http://api.internal$request_uri;`) is reported too: the variable makes nginx
resolve the host at run time. The host ends at the first `/` or `?`, so `http://app$suffix`
with `set $suffix ?$args;` is the upstream `app`.

At run time nginx first looks the host and port up among the upstreams it made while reading
the configuration: an `upstream NAME` block matches only a URL without a port
(`http://app:8080$uri` is resolved, even with `upstream app`), and a pass written without
variables (`proxy_pass http://localhost:3000;`) makes one that a run-time URL with the same
host and port (80 when none is written) finds without a resolver.

When no `resolver` is found but an included file was not read (missing, outside the checked
copy: `include /config/nginx/resolver.conf;` generated on the target), or the file is a site
file checked on its own, the unread part may set it: the finding is info and names the unread
include, never an error.

## Why it matters
Each request whose host needs DNS fails with 502:

```
[error] no resolver defined to resolve api.internal, client: ..., request: "GET / HTTP/1.1"
```

## Example
```nginx
location / {
    set $backend api.internal:8080;
    proxy_pass http://$backend;
}
```

## Use instead
```nginx
resolver 127.0.0.53 valid=30s;      # or an upstream block, or an IP address in $backend
location / {
    set $backend api.internal:8080;
    proxy_pass http://$backend;
}
```

## Fix safety
No automatic fix: which DNS server to use depends on the system (127.0.0.53 with
systemd-resolved, 127.0.0.11 inside Docker)."#,
};

/// Variables that always start the URI part (or add nothing to the host).
const URI_VARIABLES: &[(&str, &str)] = &[
    ("request_uri", "/"),
    ("uri", "/"),
    ("document_uri", "/"),
    ("is_args", ""),
];

/// Bound on expanded address variants: maps with thousands of entries exist.
const MAX_VARIANTS: usize = 512;

/// A variable the configuration does not define: its value is only known per request.
const UNKNOWN: char = '\u{1}';

impl Rule for VariableUpstreamNoResolver {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let mut upstreams: Option<Upstreams<'_>> = None;
        for p in cx.passes() {
            let pass = p.node;
            let node = config.node(pass);
            let Some(word) = node.directive.args().first() else {
                continue;
            };
            if !word.has_variable() {
                continue;
            }
            // A variable nginx does not know stops it at startup (GW020 says so): what it
            // would hold at run time is moot.
            let defined = cx.defined_variables();
            let ns = refs::namespace(config, pass).unwrap_or(Namespace::Http);
            let undefined = script::variables(word.as_str()).map_or(true, |vars| {
                vars.iter()
                    .any(|v| !defined.knows(ns, v.name, cx.directives.target))
            });
            if undefined {
                continue;
            }
            let Some(block) = config.block_of(pass) else {
                continue;
            };
            let unread = match config.effective_scoped(block, "resolver") {
                Scoped::Set(_) => continue,
                Scoped::Unknown { include } => Some(Some(include)),
                Scoped::Outside => Some(None),
                Scoped::Unset => None,
            };
            let upstreams = upstreams.get_or_insert_with(|| Upstreams::new(cx));
            let default_port = runtime_default_port(node.name(), word.as_str());
            let mut sources = BTreeSet::new();
            let variants = expand(config, word.as_str(), &mut sources);
            let mut needs_dns: Vec<String> = Vec::new();
            let mut unknown: Vec<String> = Vec::new();
            for v in &variants {
                if let Some(cut) = v.find(UNKNOWN) {
                    // A variable glued to a complete IP address or upstream name
                    // (`http://backend$route`) starts the URI: nothing to resolve.
                    let head = parse_pass(node.name(), &v[..cut]);
                    // A static host before the variable (`http://api.internal/$1`): the variable
                    // is in the URI (or the port), the host is known and needs DNS at run time.
                    if let Some((host, port)) = static_host(&v[..cut]) {
                        let is_ip = host.parse::<std::net::IpAddr>().is_ok();
                        if !is_ip && !host.is_empty() && !upstreams.known(host, port, default_port)
                        {
                            needs_dns.push(host.to_owned());
                        }
                        continue;
                    }
                    let complete = match &head.host {
                        Host::Ipv4(_) | Host::Ipv6(_) | Host::Unix(_) => true,
                        Host::Name(n) => upstreams.known(n, Port::None, default_port),
                        _ => false,
                    };
                    if !complete {
                        unknown.push(unknown_names(v));
                    }
                    continue;
                }
                let addr = parse_pass(node.name(), v);
                if let Host::Name(n) = &addr.host {
                    let port = addr.port.map_or(Port::None, Port::Known);
                    if !upstreams.known(n, port, default_port) {
                        needs_dns.push(n.clone());
                    }
                }
            }
            needs_dns.sort();
            needs_dns.dedup();
            unknown.sort();
            unknown.dedup();
            // A host known to need DNS fails for certain; one that comes from a variable set per
            // request fails only when its value is a name, which the configuration does not say.
            let (why, certain) = if let Some(host) = needs_dns.first() {
                (
                    format!("requests fail with 502 \"no resolver defined to resolve {host}\""),
                    true,
                )
            } else if let Some(vars) = unknown.first() {
                (format!("the host comes from {vars}, known only per request: a host name there fails with 502 \"no resolver defined to resolve ...\" (an IP address does not)"), false)
            } else {
                continue;
            };
            if let Some(include) = unread {
                // The unread file may well set the resolver (a generated resolver.conf), or the
                // nginx.conf around a site file checked on its own: say so, never an error.
                let why = match include {
                    Some(inc) => format!("`include {}` was not read", config.include_argument(inc)),
                    None => "this file is checked on its own and the blocks that include it were not read".to_owned(),
                };
                let mut d = cx
                    .diagnostic(
                        &META,
                        node.file,
                        word.span(),
                        format!(
                            "`{}` builds its address from variables at run time; whether a `resolver` is in scope cannot be told: {why}",
                            node.name(),
                        ),
                    )
                    .with_help("check the whole tree (or with --sysroot); without a resolver, requests needing DNS fail with 502 \"no resolver defined to resolve ...\"");
                if let Some(inc) = include {
                    let n = config.node(inc);
                    d = d.with_label(
                        n.file,
                        n.directive.head_span(),
                        "not read: may set `resolver`",
                    );
                }
                d.severity = Severity::Info;
                out.push(d);
                continue;
            }
            // The host names an `upstream` block but the URL has a port: nginx's run-time
            // lookup skips the block (its port is 0), so the port is what to drop.
            let help = match needs_dns.first() {
                Some(host) if config.upstream_block(host).is_some() => format!(
                    "drop the port from the address: `upstream {host}` is found at run time only by an address without a port (`{}{host}`, then the URI; its `server` lines give the ports), or add `resolver ADDRESS valid=30s;` to resolve `{host}` by DNS",
                    scheme_of(word.as_str())
                ),
                _ => "add `resolver ADDRESS valid=30s;` (e.g. 127.0.0.53 with systemd-resolved, 127.0.0.11 in Docker), or make every value an IP address or an `upstream` name".to_owned(),
            };
            let mut d = cx
                .diagnostic(
                    &META,
                    node.file,
                    word.span(),
                    format!(
                        "`{}` builds its address from variables at run time and no `resolver` is in scope: {why}",
                        node.name()
                    ),
                )
                .with_help(help);
            if !certain {
                d.severity = d.severity.min(Severity::Warning);
            }
            for s in sources {
                let n = config.node(s);
                d = d.with_label(n.file, n.directive.head_span(), "value set here");
            }
            out.push(d);
        }
    }
}

/// The scheme and `://` written before the host (`http://`), empty when none is.
fn scheme_of(arg: &str) -> &str {
    arg.find("://").map_or("", |i| &arg[..i + 3])
}

/// `$name` for every unknown-variable marker in `text`.
/// The port part of a run-time URL, as far as the text before an unknown variable tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Port {
    /// No port: the URI (`/`, `?`) follows the host.
    None,
    Known(u16),
    /// A port is written but a variable gives (part of) it.
    Unknown,
}

/// The host (and what is known of the port) when the text before the first unknown variable
/// already holds all of the host: after the scheme, a `/` or `?` (the URI: ngx_parse_inet_url
/// ends the host at either) or a `:` (the port) came first. `None` for a unix socket or when
/// the variable is part of the host.
fn static_host(head: &str) -> Option<(&str, Port)> {
    let rest = head.split_once("://").map_or(head, |(_, r)| r);
    if rest.starts_with("unix:") {
        return None;
    }
    if let Some(v6) = rest.strip_prefix('[') {
        return v6.split_once(']').map(|(h, _)| (h, Port::Unknown));
    }
    let end = rest.find(['/', '?', ':'])?;
    let port = match rest[end..].strip_prefix(':') {
        None => Port::None,
        Some(after) => match after.find(['/', '?']) {
            Some(uri) => after[..uri]
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .map_or(Port::Unknown, Port::Known),
            None => Port::Unknown,
        },
    };
    Some((&rest[..end], port))
}

/// The port nginx gives a run-time URL without one (`default_port` in the pass module's
/// eval: 80 for `http://`, 443 for `https://`, none for the others).
fn runtime_default_port(directive: &str, arg: &str) -> u16 {
    let lower = arg.get(..8).unwrap_or(arg).to_ascii_lowercase();
    match directive {
        "proxy_pass" if lower.starts_with("https://") => 443,
        "proxy_pass" => 80,
        _ => 0,
    }
}

/// The upstreams nginx looks a run-time host up in before any DNS
/// (ngx_http_upstream_init_request): the `upstream NAME` blocks, whose port is 0, found only
/// when the URL has no port; and the implicit ones nginx made for pass directives written
/// without variables (ngx_http_upstream_add: host and port, written or the scheme's default),
/// found when the URL's port, written or defaulted, is theirs.
struct Upstreams<'c> {
    config: &'c ResolvedConfig<'c>,
    /// Lowercased host -> ports of its implicit upstreams (0: none written, no default).
    implicit: foldhash::HashMap<String, Vec<u16>>,
}

impl<'c> Upstreams<'c> {
    fn new(cx: &LintContext<'c, '_>) -> Self {
        let mut implicit: foldhash::HashMap<String, Vec<u16>> = foldhash::HashMap::default();
        for p in cx.passes() {
            let node = cx.config.node(p.node);
            let Some(arg) = node.arg(0) else { continue };
            if arg.contains('$') || p.upstream.is_some() {
                continue;
            }
            let Some(Host::Name(name)) = p.address.as_ref().map(|a| &a.host) else {
                continue;
            };
            let port = p
                .address
                .as_ref()
                .and_then(|a| a.port)
                .unwrap_or_else(|| runtime_default_port(node.name(), arg));
            // ngx_http_upstream_add: a pass joins an earlier implicit upstream of the host
            // unless both have ports and they differ.
            let ports = implicit.entry(name.to_ascii_lowercase()).or_default();
            if !ports.iter().any(|q| *q == 0 || port == 0 || *q == port) {
                ports.push(port);
            }
        }
        Upstreams {
            config: cx.config,
            implicit,
        }
    }

    /// True when nginx finds an upstream for `host` with `port` at run time (no DNS then).
    fn known(&self, host: &str, port: Port, default_port: u16) -> bool {
        if port == Port::None && self.config.upstream_block(host).is_some() {
            return true;
        }
        let Some(ports) = self.implicit.get(&host.to_ascii_lowercase()) else {
            return false;
        };
        match port {
            Port::None => ports.iter().any(|q| *q == 0 || *q == default_port),
            Port::Known(p) => ports.contains(&p),
            // The variable may well give one of their ports: cannot tell, no finding.
            Port::Unknown => true,
        }
    }
}

fn unknown_names(text: &str) -> String {
    let parts: Vec<&str> = text.split(UNKNOWN).collect();
    let names: Vec<String> = parts
        .iter()
        .skip(1)
        .step_by(2)
        .map(|n| format!("${n}"))
        .collect();
    names.join(", ")
}

/// Every text `arg` can become when its variables take the values the configuration gives
/// them; variables it does not define become `UNKNOWN`-wrapped markers. Collects the
/// directives that give the values.
fn expand(config: &ResolvedConfig<'_>, arg: &str, sources: &mut BTreeSet<NodeId>) -> Vec<String> {
    let mut done = Vec::new();
    let mut todo = vec![(arg.to_owned(), 0usize)];
    while let Some((text, depth)) = todo.pop() {
        let Some((start, end, name)) = first_variable(&text) else {
            done.push(text);
            continue;
        };
        if done.len() + todo.len() > MAX_VARIANTS {
            break;
        }
        let before = &text[..start];
        let after = &text[end..];
        if let Some((_, value)) = URI_VARIABLES.iter().find(|(n, _)| *n == name) {
            todo.push((format!("{before}{value}{after}"), depth));
            continue;
        }
        match config.variable_values(name).filter(|_| depth < 8) {
            Some(values) if !values.is_empty() => {
                for (value, node) in values {
                    sources.insert(node);
                    todo.push((format!("{before}{value}{after}"), depth + 1));
                }
            }
            _ => todo.push((format!("{before}{UNKNOWN}{name}{UNKNOWN}{after}"), depth)),
        }
    }
    done
}

/// The first `$name` or `${name}` in `text`: (start, end, name).
fn first_variable(text: &str) -> Option<(usize, usize, &str)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            if bytes.get(i + 1) == Some(&b'{') {
                let close = text[i + 2..].find('}')? + i + 2;
                return Some((i, close + 1, &text[i + 2..close]));
            }
            let len = text[i + 1..]
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            if len > 0 {
                return Some((i, i + 1 + len, &text[i + 1..i + 1 + len]));
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_variables() {
        assert_eq!(first_variable("http://$b:80"), Some((7, 9, "b")));
        assert_eq!(first_variable("http://${b}x"), Some((7, 11, "b")));
        assert_eq!(first_variable("http://a$"), None);
        assert_eq!(unknown_names("\u{1}host\u{1}"), "$host");
        assert_eq!(
            static_host("http://storage.internal/"),
            Some(("storage.internal", Port::None))
        );
        assert_eq!(static_host("http://api:"), Some(("api", Port::Unknown)));
        assert_eq!(static_host("http://api:80"), Some(("api", Port::Unknown)));
        assert_eq!(static_host("http://api:8080/"), Some(("api", Port::Known(8080))));
        assert_eq!(static_host("http://octane?"), Some(("octane", Port::None)));
        assert_eq!(
            static_host("http://octane?a=/x:1"),
            Some(("octane", Port::None))
        );
        assert_eq!(static_host("http://"), None);
        assert_eq!(static_host("http://app-"), None);
        assert_eq!(static_host("http://[::1]"), Some(("::1", Port::Unknown)));
    }
}
