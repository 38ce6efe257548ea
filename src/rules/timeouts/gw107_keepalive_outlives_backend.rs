use super::common::unread_include;
use super::{Elsewhere, FixAvailability, LintContext, Rule, RuleMeta};
use crate::directives::Context;
use crate::diagnostic::edits::insert_directive_after;
use crate::diagnostic::Fix;
use crate::diagnostic::{Diagnostic, Severity};
use crate::values::{describe_msec, format_msec, parse_msec};

pub struct KeepaliveOutlivesBackend;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW107,
    severity: Severity::Warning,
    summary: "upstream keep-alive connections kept idle longer than the backend keeps them",
    fix: FixAvailability::Sometimes(crate::diagnostic::Applicability::Unsafe),
    options: None,
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
Unsafe: `keepalive_timeout` is lowered to 1s below the backend's idle time (to half of it when
that is 2s or less: 500ms for a 1s backend), or added after `keepalive`. That is correct only
if the declared backend value is right; review it. No fix when the upstream is in a file
included from several places."#,
};

/// The idle time nginx should keep: strictly below the backend's, by 1s, or by half of it when
/// the backend's is 2s or less (a 1s backend gets 500ms). `None` when nothing lies below (a
/// backend that keeps idle connections for 1ms or less).
fn keepalive_below(backend_ms: u64) -> Option<u64> {
    let target = backend_ms - (backend_ms / 2).min(1000);
    (target > 0 && target < backend_ms).then_some(target)
}

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
            let target_ms = keepalive_below(backend_ms);
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
            let uses = cx.file_uses();
            let fix = target_ms.and_then(|ms| {
                let value = format_msec(ms);
                match timeout_node {
                    Some(id) => {
                        let n = cx.config.node(id);
                        let arg = n.directive.args().first()?;
                        uses.read_once(n.file)
                            .then(|| crate::diagnostic::edits::replace_word(n.file, arg, &value))
                    }
                    None => {
                        let k = cx.config.node(keepalive);
                        let unread = unread_include(cx.config, upstream).is_some();
                        (uses.read_once(k.file) && !unread).then(|| {
                            insert_directive_after(
                                k.file,
                                cx.tree.sources.get(k.file),
                                k.directive.span(),
                                &format!("keepalive_timeout {value};"),
                            )
                        })
                    }
                }
                .map(|edit| (value, edit))
            });
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
                .with_help(match target_ms {
                    Some(ms) => format!(
                        "set `keepalive_timeout {};` in the upstream, or raise the backend's keep-alive idle timeout above nginx's",
                        format_msec(ms)
                    ),
                    None => "raise the backend's keep-alive idle timeout above nginx's, or remove `keepalive` from the upstream (no nginx value lies below the backend's)".to_owned(),
                });
            if let Some((value, edit)) = fix {
                d = d.with_fix(Fix::unsafe_edit(
                    format!("set `keepalive_timeout {value};`"),
                    vec![edit],
                ));
            }
            // nginx's default 60s only holds when nothing unread in the upstream sets it
            // (upstream directives are not inherited from http).
            let unread = match timeout_node {
                None => unread_include(cx.config, upstream).map(Elsewhere::Unread),
                Some(_) => None,
            };
            out.push(cx.hedged_by(d, "may set `keepalive_timeout`", unread));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::keepalive_below;

    #[test]
    fn the_proposed_keepalive_is_strictly_below_the_backends() {
        assert_eq!(keepalive_below(5_000), Some(4_000));
        assert_eq!(keepalive_below(2_000), Some(1_000));
        assert_eq!(keepalive_below(1_000), Some(500));
        assert_eq!(keepalive_below(1_500), Some(750));
        assert_eq!(keepalive_below(3), Some(2));
        assert_eq!(keepalive_below(1), None);
        assert_eq!(keepalive_below(0), None);
        for ms in 0..5_000 {
            assert!(keepalive_below(ms).is_none_or(|t| t > 0 && t < ms));
        }
    }
}
