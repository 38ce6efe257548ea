use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::directives::Context;
use crate::diagnostic::{Diagnostic, Severity};

pub struct UpstreamNoLiveServers;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW206,
    severity: Severity::Error,
    summary: "an upstream whose servers are all `down`, or that has only `backup` servers",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
An `upstream` block (http or stream) in which every server is marked `down` (backup servers
included), or in which every server is a `backup` server.

A group with a single server is never marked unavailable by nginx (max_fails and fail_timeout
are ignored for it, per the nginx docs), so `max_fails` alone is no finding; servers that
are down *right now* are what `--probe` reports (GW202).

## Why it matters
With every server `down`, nginx has no peer to try: every request fails at once with 502 and

```
[error] no live upstreams while connecting to upstream, client: ..., upstream: "http://backend/"
```

A group of only `backup` servers is refused by `nginx -t`: `no servers in upstream "backend"`.

## Example
```nginx
upstream backend {
    server 10.0.0.1:8080 down;
    server 10.0.0.2:8080 down;   # taken out for maintenance, both at once
}
```

## Use instead
```nginx
upstream backend {
    server 10.0.0.1:8080 down;
    server 10.0.0.2:8080;
}
```

## Fix safety
No automatic fix: which server should take traffic is your decision."#,
};

impl Rule for UpstreamNoLiveServers {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let upstreams = config
            .blocks_with_inner(Context::Upstream)
            .chain(config.blocks_with_inner(Context::StreamUpstream));
        for upstream in upstreams {
            let servers: Vec<_> = config
                .upstream_servers(upstream)
                .into_iter()
                .map(|(_, id)| id)
                .collect();
            if servers.is_empty() {
                continue;
            }
            let has = |id, flag: &str| {
                config
                    .node(id)
                    .directive
                    .args()
                    .iter()
                    .skip(1)
                    .any(|a| a.as_str() == flag)
            };
            let node = config.node(upstream);
            let name = node.arg(0).unwrap_or_default();
            let head = node.directive.head_span();
            let primaries = servers.iter().filter(|s| !has(**s, "backup")).count();
            let live = servers.iter().filter(|s| !has(**s, "down")).count();
            if primaries == 0 {
                out.push(
                    cx.diagnostic(
                        &META,
                        node.file,
                        head,
                        format!("upstream `{name}` has only `backup` servers: nginx -t fails with \"no servers in upstream \\\"{name}\\\"\""),
                    )
                    .with_help("make at least one server a primary (remove `backup` from it)"),
                );
            } else if live == 0 {
                let mut d = cx
                    .diagnostic(
                        &META,
                        node.file,
                        head,
                        format!("every server of upstream `{name}` is marked `down`: every request fails at once with \"no live upstreams while connecting to upstream\" (502 in http)"),
                    )
                    .with_help("remove `down` from a server that is running");
                for s in &servers {
                    let sn = config.node(*s);
                    d = d.with_label(sn.file, sn.directive.span(), "marked down");
                }
                out.push(d);
            }
        }
    }
}
