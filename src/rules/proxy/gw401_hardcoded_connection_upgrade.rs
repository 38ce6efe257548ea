use super::common::{insert_in_block, replace_arg, unread_include, upgrade_header};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::{RNode, ResolvedConfig};
use crate::directives::Context;
use crate::diagnostic::Fix;
use crate::diagnostic::{Diagnostic, Severity};

pub struct HardcodedConnectionUpgrade;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW401,
    severity: Severity::Warning,
    summary: "`proxy_set_header Connection \"upgrade\"` sent with every request",
    fix: FixAvailability::Sometimes(crate::diagnostic::Applicability::Unsafe),
    options: None,
    doc: r#"## What it finds
`proxy_set_header Connection upgrade;` (`"upgrade"`, `'upgrade'`, any case): the WebSocket
recipe copied without its `map`. In a location that passes the `Upgrade` header (set up for
WebSocket) it is an info finding: nginx's own first WebSocket example does exactly this in a
location only WebSocket clients use, and whether plain requests reach a location cannot be
read from the configuration. Set in `server` or `http`, or where no `Upgrade` header is passed,
it is a warning.

## Why it matters
The header goes out with every request through that location, WebSocket or not: plain
requests ask the backend to switch protocols without naming a protocol (they carry no
`Upgrade` header). Most HTTP servers ignore the option; what a stricter one does with it (a
400, a request treated as a failed upgrade) is up to the backend, so the location works by the
backend's leniency. The nginx WebSocket guide derives the header from the client's `Upgrade`
header for locations that serve both kinds of request. (It does not stop upstream keep-alive:
with nginx 1.22 as both proxy and backend, `Connection: upgrade` requests shared one upstream
connection.)

## Example
```nginx
location / {
    proxy_pass http://127.0.0.1:3000;     # the whole app, pages and WebSocket
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection "upgrade";
}
```

## Use instead
```nginx
http {
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      "";
    }
    server {
        location / {
            proxy_pass http://127.0.0.1:3000;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }
    }
}
```
Plain requests then carry no `Connection` header, so an upstream `keepalive` keeps working
(nginx's guide maps `''` to `close`, which closes them after every response).

## Fix safety
Unsafe: replaces the value with `$connection_upgrade` and, when nothing in http defines that
variable yet, adds the map above at the start of the `http` block (indented like its other
lines). Each finding's fix carries the map, so fixing one finding while another is suppressed
still adds it, and a fix pass adds it once. A backend that relied on always seeing
`Connection: upgrade` would now see no `Connection` header on plain requests."#,
};

/// The map the fix adds: `$connection_upgrade` is `upgrade` when the client asks for an upgrade.
/// Otherwise it is empty, so nginx sends no `Connection` header at all: nginx's WebSocket guide
/// maps `''` to `close`, which would also close every plain request's connection to an
/// upstream with `keepalive` (nginx's keepalive docs: the header "should be cleared").
const MAP: [&str; 4] = [
    "map $http_upgrade $connection_upgrade {",
    "    default upgrade;",
    "    ''      \"\";",
    "}",
];

/// True when the http configuration defines `$connection_upgrade` (a `map`, `geo` or
/// `split_clients` in http, or a `set` anywhere in it): using the variable needs nothing more.
fn connection_upgrade_defined(config: &ResolvedConfig<'_>) -> bool {
    let var = "$connection_upgrade";
    let defines = |name: &str, pos: for<'n> fn(&'n RNode<'_>) -> Option<&'n str>| {
        config.nodes_named(name).iter().any(|id| {
            let n = config.node(*id);
            n.context.is_http_like() && pos(n) == Some(var)
        })
    };
    defines("map", |n| n.arg(1))
        || defines("split_clients", |n| n.arg(1))
        || defines("geo", |n| n.directive.args().last().map(|a| a.as_str()))
        || defines("set", |n| n.arg(0))
}

impl Rule for HardcodedConnectionUpgrade {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        for &id in config.nodes_named("proxy_set_header") {
            let node = config.node(id);
            if !node
                .arg(0)
                .is_some_and(|h| h.eq_ignore_ascii_case("connection"))
                || !node
                    .arg(1)
                    .is_some_and(|v| v.eq_ignore_ascii_case("upgrade"))
            {
                continue;
            }
            let Some(word) = node.directive.args().get(1) else {
                continue;
            };
            let Some(block) = node.parent() else { continue };
            // nginx's own first WebSocket example hard-codes "upgrade" in a location that only
            // WebSocket clients use (https://nginx.org/en/docs/http/websocket.html); whether
            // plain requests reach a location cannot be read from the configuration.
            let in_location = matches!(
                config.node(block).inner_context(),
                Context::Location | Context::IfLocation | Context::LimitExcept
            );
            let websocket_only = in_location && upgrade_header(cx, block).is_some();
            let mut d = if websocket_only {
                let mut d = cx.diagnostic(
                    &META,
                    node.file,
                    word.span(),
                    "`Connection: upgrade` is sent with every request through this WebSocket location: right when only WebSocket clients come here (nginx's own example does this), but a plain request here is sent asking to switch protocols",
                );
                d.severity = Severity::Info;
                d
            } else {
                cx.diagnostic(
                    &META,
                    node.file,
                    word.span(),
                    "`Connection: upgrade` is sent with every request, WebSocket or not: plain requests reach the backend asking to switch protocols",
                )
            }
            .with_help("derive it from the client's Upgrade header: `map $http_upgrade $connection_upgrade { default upgrade; '' \"\"; }` in http, and `proxy_set_header Connection $connection_upgrade;`");
            // The variable means the same in every block (the map is in http), so this edit is
            // right wherever the line's file is included: no FileUses check for it.
            let mut edits: Vec<_> = replace_arg(config, id, 1, "$connection_upgrade")
                .into_iter()
                .collect();
            // Every fix brings the map while none exists (the same edit, so a fix pass adds it
            // once; a finding that is suppressed or not applied takes its copy with it).
            if !connection_upgrade_defined(config) {
                let uses = cx.file_uses();
                let map = config
                    .http_block()
                    .filter(|http| {
                        uses.read_once(config.node(*http).file)
                            && unread_include(config, *http).is_none()
                    })
                    .and_then(|http| insert_in_block(config, http, &MAP));
                match map {
                    Some(e) => edits.push(e),
                    None => edits.clear(),
                }
            }
            if !edits.is_empty() {
                d = d.with_fix(Fix::unsafe_edit(
                    "use $connection_upgrade from a map on $http_upgrade",
                    edits,
                ));
            }
            out.push(d);
        }
    }
}
