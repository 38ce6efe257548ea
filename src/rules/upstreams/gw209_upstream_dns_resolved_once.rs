use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::address::Host;
use crate::config::NodeId;
use crate::diagnostic::{Diagnostic, Severity};
use crate::directives::Version;

pub struct UpstreamDnsResolvedOnce;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW209,
    severity: Severity::Info,
    summary: "a host name in `*_pass` or an upstream `server`, resolved once at start: stale when the backend's address changes",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
A host name (not an IP address, not `localhost`, not the name of an `upstream` block, not
listed in /etc/hosts) as the address of `proxy_pass`, `fastcgi_pass`, `grpc_pass`,
`uwsgi_pass`, `scgi_pass`, of an upstream `server` line, or of a stream `proxy_pass` /
stream upstream `server`, written without variables and without the `resolve` parameter.
A dotless name without a port in a `*_pass` (`proxy_pass http://web;`) is left to GW208, and
an unfilled template placeholder (`<BACKEND_HOST>`, `{{ backend }}`, `${BACKEND}`) is no host
name at all: nginx does not start with it (GW022, GW023).

## Why it matters
nginx resolves such a name once, when it reads the configuration (start or reload), and
keeps the addresses it got for as long as it runs: the name's TTL is not honoured and the
system resolver is not asked again. When the backend's address changes — a cloud load
balancer (AWS ELB/ALB addresses rotate), a Kubernetes headless service, a container
recreated by `docker compose up` —, nginx keeps connecting to the old address: 504
`upstream timed out (110: Connection timed out) while connecting to upstream` when nothing
answers there, 502 `connect() failed (111: Connection refused)` or `(113: No route to host)`
when something else does, until `nginx -s reload`.

Severity info: the configuration does not say whether the name's address ever changes (a
fixed host name, a Kubernetes ClusterIP service keep theirs). Raise it in settings where
backends move.

## Example
```nginx
upstream api {
    server api.internal.example.com:8080;
}
```

## Use instead
From nginx 1.27.3 (the open source `resolve` parameter), re-resolved while running:
```nginx
resolver 10.0.0.2 valid=30s;          # your DNS (127.0.0.11 inside Docker)
upstream api {
    zone api 64k;
    server api.internal.example.com:8080 resolve;
}
```
Before 1.27.3, a variable makes nginx resolve the name per request through `resolver`
(cached for `valid=`); an `upstream` block cannot be used then:
```nginx
resolver 10.0.0.2 valid=30s;
location /api/ {
    set $api api.internal.example.com;
    proxy_pass http://$api:8080;      # with a variable the URI is passed as is
}
```

## Fix safety
No automatic fix: the DNS server to use depends on the system, and moving to a variable
changes how `proxy_pass` builds the URI."#,
};

/// nginx 1.27.3 brought `server ... resolve` (and `resolver` in upstream) to open source nginx.
const RESOLVE_SINCE: Version = Version::new(1, 27, 3);

fn is_local_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "localhost" | "localhost.localdomain" | "ip6-localhost" | "ip6-loopback"
    ) || n.ends_with(".localhost")
}

impl Rule for UpstreamDnsResolvedOnce {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let resolve_known = cx.directives.target >= RESOLVE_SINCE;
        for named in config.named_addresses() {
            let Host::Name(name) = &named.address.host else {
                continue;
            };
            if is_local_name(name) {
                continue;
            }
            let node = config.node(named.node);
            let Some(word) = node.directive.args().first() else {
                continue;
            };
            if named.upstream.is_some()
                && node
                    .directive
                    .args()
                    .iter()
                    .skip(1)
                    .any(|a| a.as_str() == "resolve")
            {
                continue;
            }
            // GW208's case: a bare name that is no upstream block (a typo, or a service name).
            if named.upstream.is_none() && named.address.port.is_none() && !name.contains('.') {
                continue;
            }
            // /etc/hosts names do not change through DNS.
            let in_hosts = crate::system::hosts_addresses(cx.ws.sysroot.as_deref(), name)
                .is_some_and(|ips| !ips.is_empty());
            if in_hosts {
                continue;
            }
            let what = match named.upstream {
                Some(up) => format!(
                    "upstream `{}` server",
                    config.node(up).arg(0).unwrap_or_default()
                ),
                None => format!("`{}`", node.name()),
            };
            let help = help(cx, named.upstream, named.stream, name, resolve_known);
            let d = cx
                .diagnostic(
                    &META,
                    node.file,
                    word.span(),
                    format!(
                        "`{name}` in {what} is resolved once, when nginx starts or reloads: if its address changes (a cloud load balancer, a Kubernetes headless service, a recreated container), nginx keeps connecting to the old one until a reload: 504 \"upstream timed out (110: Connection timed out) while connecting to upstream\" or 502 \"connect() failed (111: Connection refused)\""
                    ),
                )
                .with_help(help);
            out.push(d);
        }
    }
}

/// How to make nginx re-resolve, for the target version and the kind of address.
fn help(
    cx: &LintContext<'_, '_>,
    upstream: Option<NodeId>,
    stream: bool,
    name: &str,
    resolve_known: bool,
) -> String {
    let target = super::common::target_described(cx);
    if resolve_known {
        let zone =
            upstream.is_some_and(|up| cx.config.children_named(Some(up), "zone").next().is_some());
        let resolver = match upstream {
            // The upstream's own `resolver` (1.27.3) or the one of http/stream around it.
            Some(up) => cx.config.effective(up, "resolver").is_some(),
            None => false,
        };
        let mut steps = Vec::new();
        if upstream.is_none() {
            steps.push(format!("put `{name}` in an `upstream` block"));
        }
        if !zone {
            steps.push("give the upstream a `zone NAME 64k;`".to_owned());
        }
        steps.push("add `resolve` to its `server` line".to_owned());
        if !resolver {
            steps.push(format!(
                "set a `resolver` in {} (127.0.0.11 inside Docker)",
                if stream { "stream" } else { "http" }
            ));
        }
        return format!(
            "nginx 1.27.3 and later (the target here is {target}) re-resolve upstream servers marked `resolve`: {}",
            steps.join(", ")
        );
    }
    if upstream.is_some() {
        return format!(
            "nginx {target} cannot re-resolve an upstream `server` (the `resolve` parameter came with 1.27.3): reload nginx when the address changes, or give up the upstream block for `resolver ...; set $backend {name};` and the variable in the pass address, resolved per request"
        );
    }
    format!(
        "with a variable nginx resolves per request through `resolver` (cached for `valid=`): `resolver ADDRESS valid=30s; set $backend {name};` and the variable in the pass address (nginx {target}; from 1.27.3 an upstream with `zone` and `server {name} resolve;` works too)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names() {
        assert!(is_local_name("localhost"));
        assert!(is_local_name("LOCALHOST"));
        assert!(is_local_name("app.localhost"));
        assert!(!is_local_name("api.internal"));
    }
}
