use super::{FixKind, LintContext, Rule, RuleMeta};
use crate::config::Context;
use crate::diagnostic::{Diagnostic, Severity};
use crate::fix::edits::insert_directive_after;
use crate::fix::{Edit, Fix};
use crate::values::{describe_msec, format_msec, parse_msec};

pub struct KeepaliveOutlivesBackend;

static META: RuleMeta = RuleMeta {
    id: "GW107",
    name: "keepalive-outlives-backend",
    severity: Severity::Warning,
    summary: "upstream keep-alive connections kept idle longer than the backend keeps them",
    fix: FixKind::Unsafe,
    options: &[],
    doc: r#"## What it finds
An `upstream` block with `keepalive` whose `keepalive_timeout` (default 60s) is not below
the keep-alive idle time of a backend among its servers, as declared in settings
(`[[backend]] address = "127.0.0.1:3000", kind = "node"` — Node.js closes idle sockets after
5s, gunicorn after 2s — or an explicit `keepalive_timeout`).

## Why it matters
The backend closes an idle connection at the same moment nginx picks it from its cache to send
the next request. The request is lost on the closing socket: nginx logs `upstream prematurely
closed connection while reading response header from upstream` (or `recv() failed (104:
Connection reset by peer)`) and, for non-idempotent requests, answers `502 Bad Gateway`. The
errors are rare, random and hard to reproduce — a classic "intermittent 502".

## Example
```nginx
upstream node_app {
    server 127.0.0.1:3000;        # Node: keepAliveTimeout 5s
    keepalive 32;
}                                 # keepalive_timeout defaults to 60s
```

## Use instead
```nginx
upstream node_app {
    server 127.0.0.1:3000;
    keepalive 32;
    keepalive_timeout 4s;         # below the backend's idle timeout
}
```
(or raise the backend's idle timeout above nginx's: `server.keepAliveTimeout = 65000`).

## Fix safety
Unsafe: `keepalive_timeout` is lowered to 1s below the backend's idle time (or added after
`keepalive`). That is correct only if the declared backend value is right; review it."#,
};

impl Rule for KeepaliveOutlivesBackend {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        for upstream in cx.config.blocks_with_inner(Context::Upstream) {
            let Some(keepalive) = cx.config.last_child_named(Some(upstream), "keepalive") else {
                continue;
            };
            let timeout_node = cx
                .config
                .last_child_named(Some(upstream), "keepalive_timeout");
            let nginx_ms = timeout_node
                .and_then(|id| cx.config.node(id).arg(0))
                .and_then(parse_msec)
                .unwrap_or(60_000);
            // The shortest backend idle time among the servers of this upstream.
            let backend = cx
                .config
                .upstream_servers(upstream)
                .into_iter()
                .filter_map(|(addr, _)| cx.declared_backend_for(&addr))
                .filter_map(|b| b.keepalive_timeout_ms.map(|ms| (ms, b)))
                .min_by_key(|(ms, _)| *ms);
            let Some((backend_ms, b)) = backend else {
                continue;
            };
            if nginx_ms < backend_ms {
                continue;
            }
            let target_ms = backend_ms.saturating_sub(1000).max(1000);
            let name = cx.config.node(upstream).arg(0).unwrap_or("");
            let (file, span, origin) = match timeout_node {
                Some(id) => {
                    let (f, s) = cx.config.location(id);
                    (f, s, "set here".to_owned())
                }
                None => {
                    let (f, s) = cx.config.location(keepalive);
                    (f, s, "the default".to_owned())
                }
            };
            let fix = match timeout_node {
                Some(id) => cx.config.node(id).directive.args.first().map(|a| {
                    Edit::replace(cx.config.node(id).file, a.span, format_msec(target_ms))
                }),
                None => {
                    let k = cx.config.node(keepalive);
                    Some(insert_directive_after(
                        k.file,
                        cx.tree.sources.get(k.file),
                        k.directive.span,
                        &format!("keepalive_timeout {};", format_msec(target_ms)),
                    ))
                }
            };
            let mut d = cx
                .diagnostic(
                    &META,
                    file,
                    span,
                    format!(
                        "upstream `{name}` keeps idle connections for {} (keepalive_timeout, {origin}) but backend `{}` closes them after {}: requests sent on a closing connection fail with 502 \"upstream prematurely closed connection\"",
                        describe_msec(nginx_ms),
                        b.name,
                        describe_msec(backend_ms)
                    ),
                )
                .with_help(format!(
                    "set `keepalive_timeout {};` in the upstream, or raise the backend's keep-alive idle timeout above nginx's",
                    format_msec(target_ms)
                ));
            if let Some(edit) = fix {
                d = d.with_fix(Fix::unsafe_edit(
                    format!("set `keepalive_timeout {};`", format_msec(target_ms)),
                    vec![edit],
                ));
            }
            out.push(d);
        }
    }
}
