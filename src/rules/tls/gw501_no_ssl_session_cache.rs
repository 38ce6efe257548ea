use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::directives::Context;
use crate::diagnostic::{Diagnostic, Severity};

pub struct NoSslSessionCache;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW501,
    severity: Severity::Info,
    summary: "TLS server without `ssl_session_cache`",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
An http `server` with a `listen ... ssl` that has no `ssl_session_cache` in effect (set in the
server or in `http`). An explicit `ssl_session_cache off;` or `none;` is a decision and is
not reported.

## Why it matters
Without a shared cache every reconnecting client that cannot use session tickets pays a full
TLS handshake (an extra round trip and the server's private-key operation). Under load that
CPU goes missing where it is needed; with several workers a per-worker (`builtin`) cache
misses most of the time.

## Example
```nginx
server {
    listen 443 ssl;
    ssl_certificate     /etc/ssl/example.crt;
    ssl_certificate_key /etc/ssl/example.key;
}
```

## Use instead
```nginx
http {
    ssl_session_cache   shared:SSL:10m;   # about 40000 sessions
    ssl_session_timeout 1h;
    server {
        listen 443 ssl;
        ssl_certificate     /etc/ssl/example.crt;
        ssl_certificate_key /etc/ssl/example.key;
    }
}
```

## Fix safety
No automatic fix: the cache size is a memory decision."#,
};

impl Rule for NoSslSessionCache {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        for server in config.blocks_with_inner(Context::Server) {
            let Some(listen) = config.children_named(Some(server), "listen").find(|l| {
                config
                    .node(*l)
                    .directive
                    .args()
                    .iter()
                    .skip(1)
                    .any(|a| a.as_str() == "ssl")
            }) else {
                continue;
            };
            if config.effective(server, "ssl_session_cache").is_some() {
                continue;
            }
            let node = config.node(listen);
            let d = cx
                .diagnostic(
                    &META,
                    node.file,
                    node.directive.head_span(),
                    "TLS server without ssl_session_cache: every reconnect without a session ticket pays a full handshake",
                )
                .with_help("add `ssl_session_cache shared:SSL:10m;` in http (shared by every server and worker)");
            out.push(cx.hedged(d, server, &["ssl_session_cache"]));
        }
    }
}
