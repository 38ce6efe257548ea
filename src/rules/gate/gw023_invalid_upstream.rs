use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::NodeId;
use crate::directives::Context;
use crate::diagnostic::{Diagnostic, Severity};
use crate::directives::Version;
use crate::semantic::url::{self, UrlOptions};

pub struct InvalidUpstream;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW023,
    severity: Severity::Error,
    summary: "an upstream block nginx refuses: no servers, server parameters the balancer does not support or nginx does not know, bad server addresses, keepalive 0",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
What `ngx_http_upstream_server` (and the stream twin) and the balancer directives refuse in an
`upstream` block, in the order nginx reads it:

- a block with no `server` line: "no servers are inside upstream";
- a server parameter nginx does not know (`weight=0`, `max_fails=x`, `slow_start=` of the
  commercial version, `resolve` before nginx 1.27.3): "invalid parameter";
- `backup` after `hash`, `ip_hash` or `random`, which do not support it: "balancing method does
  not support parameter "backup"";
- a server address nginx cannot parse (`server 10.0.0.1:0;`, `server host/path;`), or a stream
  server without a port;
- a server host that is an unfilled template placeholder (`server ${BACKEND};`,
  `server <BACKEND_HOST>:8080;`, `server "{{ backend }}:8080";`): nginx resolves server names
  while reading the block and stops with "host not found in upstream";
- `keepalive 0` (the number of idle connections to keep must be positive);
- from 1.27.3, `server NAME resolve` without a `zone` in the block or without a `resolver`.

A second balancing method in one block is a warning ("load balancing method redefined"): nginx
uses the last one.

## Why it matters
`nginx -t` fails and the new configuration never loads:

```
[emerg] balancing method does not support parameter "backup" in /etc/nginx/conf.d/app.conf:4
```

## Example
```nginx
upstream app {
    hash $request_uri consistent;
    server 10.0.0.1:8080;
    server 10.0.0.2:8080 backup;
}
```

## Use instead
```nginx
upstream app {
    hash $request_uri consistent;
    server 10.0.0.1:8080;
    server 10.0.0.2:8080;
}
```

## Fix safety
No automatic fix: which servers take traffic is your decision."#,
};

/// What the balancer in effect lets a `server` line say (`NGX_HTTP_UPSTREAM_*` flags).
#[derive(Clone, Copy)]
struct Flags {
    backup: bool,
    name: &'static str,
}

const ROUND_ROBIN: Flags = Flags {
    backup: true,
    name: "round-robin",
};

fn balancer(name: &str, stream: bool) -> Option<Flags> {
    Some(match name {
        "ip_hash" if !stream => Flags {
            backup: false,
            name: "ip_hash",
        },
        "hash" => Flags {
            backup: false,
            name: "hash",
        },
        "random" => Flags {
            backup: false,
            name: "random",
        },
        "least_conn" => Flags {
            backup: true,
            name: "least_conn",
        },
        _ => return None,
    })
}

/// The first parameter of a `server` line nginx refuses, with its message.
fn bad_parameter(arg: &str, flags: Flags, target: Version) -> Option<String> {
    let invalid = || Some(format!("invalid parameter \"{arg}\""));
    let not_supported = || {
        Some(format!(
            "balancing method does not support parameter \"{arg}\""
        ))
    };
    let resolve_since = Version::new(1, 27, 3);
    if let Some(v) = arg.strip_prefix("weight=") {
        return match url::atoi(v) {
            Some(n) if n > 0 => None,
            _ => invalid(),
        };
    }
    for key in ["max_conns=", "max_fails="] {
        if let Some(v) = arg.strip_prefix(key) {
            return url::atoi(v).map_or_else(invalid, |_| None);
        }
    }
    if let Some(v) = arg.strip_prefix("fail_timeout=") {
        return crate::values::parse_sec(v).map_or_else(invalid, |_| None);
    }
    match arg {
        "backup" if !flags.backup => not_supported(),
        "backup" | "down" => None,
        "resolve" if target >= resolve_since => None,
        _ if arg.starts_with("service=") && target >= resolve_since => {
            (arg.len() == 8).then(|| "service is empty".to_owned())
        }
        _ => invalid(),
    }
}

impl InvalidUpstream {
    fn check_block(
        &self,
        cx: &LintContext<'_, '_>,
        block: NodeId,
        stream: bool,
        out: &mut Vec<Diagnostic>,
    ) {
        let config = cx.config;
        let target = cx.directives.target;
        let node = config.node(block);
        let name = node.arg(0).unwrap_or_default();
        let mut flags = ROUND_ROBIN;
        let mut balancer_set = false;
        let mut servers = 0;
        let has_zone = config.children_named(Some(block), "zone").next().is_some();
        let has_resolver = config
            .children_named(Some(block), "resolver")
            .next()
            .is_some()
            || config
                .ancestors(block)
                .any(|a| config.children_named(Some(a), "resolver").next().is_some());
        for &c in config.children(Some(block)) {
            let cn = config.node(c);
            if let Some(f) = balancer(cn.name(), stream) {
                if balancer_set {
                    let mut d = cx
                        .diagnostic(
                            &META,
                            cn.file,
                            cn.directive.head_span(),
                            "load balancing method redefined",
                        )
                        .with_help(format!(
                            "nginx uses only the last method ({}); keep one",
                            f.name
                        ));
                    d.severity = d.severity.min(Severity::Warning);
                    out.push(d);
                }
                balancer_set = true;
                flags = f;
                continue;
            }
            match cn.name() {
                "keepalive" if !stream => {
                    if let Some(w) = cn.directive.args().first() {
                        if url::atoi(w.as_str()).is_none_or(|n| n == 0) {
                            out.push(
                                cx.diagnostic(&META, cn.file, w.span(), format!("invalid value \"{}\" in \"keepalive\" directive", w.as_str()))
                                    .with_help("keepalive is the number of idle connections each worker keeps to this upstream: a positive number (e.g. 16), or remove the directive to disable keep-alive"),
                            );
                        }
                    }
                }
                "server" => {
                    servers += 1;
                    let args = cn.directive.args();
                    if let Some(bad) = args
                        .iter()
                        .skip(1)
                        .find_map(|a| bad_parameter(a.as_str(), flags, target).map(|m| (a, m)))
                    {
                        let help = if bad.1.starts_with("balancing") {
                            format!("{} does not use backup servers: remove `backup`, or use the default round-robin or least_conn", flags.name)
                        } else if bad.0.as_str() == "resolve"
                            || bad.0.as_str().starts_with("service=")
                        {
                            format!("`{}` in upstream servers exists from nginx 1.27.3; the target is {target} (--nginx-version): use a resolver with a variable in proxy_pass instead", bad.0.as_str())
                        } else {
                            "known parameters: weight=N (N > 0), max_conns=N, max_fails=N, fail_timeout=TIME, backup, down".to_owned()
                        };
                        out.push(
                            cx.diagnostic(&META, cn.file, bad.0.span(), bad.1)
                                .with_help(help),
                        );
                        continue;
                    }
                    let Some(addr) = args.first() else { continue };
                    match url::parse(addr.as_str(), UrlOptions::default()) {
                        Err(e) => out.push(
                            cx.diagnostic(&META, cn.file, addr.span(), format!("{e} in upstream \"{}\"", addr.as_str()))
                                .with_help("a server is host[:port], [ipv6]:port or unix:/path, without scheme or URI"),
                        ),
                        Ok(u) if !u.unix && crate::address::is_placeholder(u.host) => out.push(
                            // ngx_parse_url resolves the name at once (ngx_inet_resolve_host).
                            cx.diagnostic(&META, cn.file, addr.span(), format!("host not found in upstream \"{}\"", addr.as_str()))
                                .with_help(super::gw022_invalid_pass_address::PLACEHOLDER_HELP),
                        ),
                        Ok(u) => {
                            if stream && !u.unix && u.port.is_none() {
                                out.push(
                                    cx.diagnostic(&META, cn.file, addr.span(), format!("no port in upstream \"{}\"", addr.as_str()))
                                        .with_help("stream upstream servers have no default port: write host:port"),
                                );
                            }
                            let resolve = args.iter().any(|a| a.as_str() == "resolve");
                            let literal = u.unix || u.host.starts_with('[') || u.host.parse::<std::net::Ipv4Addr>().is_ok();
                            if resolve && !literal && target >= Version::new(1, 27, 3) {
                                let (file, line) = (cx.tree.sources.get(node.file).display.clone(), cx.tree.sources.get(node.file).lines.line(node.directive.span().start()));
                                if !has_zone {
                                    out.push(
                                        cx.diagnostic(&META, cn.file, addr.span(), format!("resolving names at run time requires upstream \"{name}\" in {file}:{line} to be in shared memory"))
                                            .with_help("add `zone NAME 64k;` to the upstream block"),
                                    );
                                } else if !has_resolver {
                                    out.push(
                                        cx.diagnostic(&META, cn.file, addr.span(), format!("no resolver defined to resolve names at run time in upstream \"{name}\" in {file}:{line}"))
                                            .with_help("add `resolver ADDRESS;` to the upstream block or to http { }"),
                                    );
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if servers == 0 {
            let span = node
                .directive
                .block()
                .as_ref()
                .map_or(node.directive.span(), |b| b.close());
            out.push(
                cx.diagnostic(&META, node.file, span, "no servers are inside upstream")
                    .with_label(node.file, node.directive.head_span(), "this upstream")
                    .with_help(format!("add at least one `server host:port;` to upstream {name}, or remove the block")),
            );
        }
    }
}

impl Rule for InvalidUpstream {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        for block in config.blocks_with_inner(Context::Upstream) {
            self.check_block(cx, block, false, out);
        }
        for block in config.blocks_with_inner(Context::StreamUpstream) {
            self.check_block(cx, block, true, out);
        }
    }
}
