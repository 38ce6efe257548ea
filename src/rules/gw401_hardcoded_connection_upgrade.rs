use super::common::{insert_in_block, replace_arg};
use super::{FixKind, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};
use crate::fix::Fix;

pub struct HardcodedConnectionUpgrade;

static META: RuleMeta = RuleMeta {
    id: "GW401",
    name: "hardcoded-connection-upgrade",
    severity: Severity::Warning,
    summary: "`proxy_set_header Connection \"upgrade\"` sent with every request",
    fix: FixKind::Unsafe,
    options: &[],
    doc: r#"## What it finds
`proxy_set_header Connection upgrade;` (`"upgrade"`, `'upgrade'`, any case): the WebSocket
recipe copied without its `map`.

## Why it matters
The header goes out with every request through that location, WebSocket or not. A plain
request that says `Connection: upgrade` without an `Upgrade` header confuses backends (some
answer 400, some hang until `proxy_read_timeout`: 504), and the connection can never be
reused, so upstream `keepalive` does nothing (see GW207). The nginx WebSocket guide derives the
header from the client's `Upgrade` header instead.

## Example
```nginx
location /socket.io/ {
    proxy_pass http://127.0.0.1:3000;
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
        ''      close;
    }
    server {
        location /socket.io/ {
            proxy_pass http://127.0.0.1:3000;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }
    }
}
```

## Fix safety
Unsafe: replaces the value with `$connection_upgrade` and, when no `map` defines that variable
yet, adds the map above at the start of the `http` block (indented like its other lines). A
backend that relied on always seeing `Connection: upgrade` would now see `close` on plain
requests."#,
};

impl Rule for HardcodedConnectionUpgrade {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let map_exists = config.variable_values("connection_upgrade").is_some();
        let mut map_added = false;
        for (id, node) in config.iter() {
            if node.name() != "proxy_set_header"
                || !node
                    .arg(0)
                    .is_some_and(|h| h.eq_ignore_ascii_case("connection"))
                || !node
                    .arg(1)
                    .is_some_and(|v| v.eq_ignore_ascii_case("upgrade"))
            {
                continue;
            }
            let Some(word) = node.directive.args.get(1) else {
                continue;
            };
            let mut d = cx
                .diagnostic(
                    &META,
                    node.file,
                    word.span,
                    "`Connection: upgrade` is sent with every request, WebSocket or not: plain requests confuse the backend and no connection can be kept alive",
                )
                .with_help("derive it from the client's Upgrade header: `map $http_upgrade $connection_upgrade { default upgrade; '' close; }` in http, and `proxy_set_header Connection $connection_upgrade;`");
            let mut edits: Vec<_> = replace_arg(config, id, 1, "$connection_upgrade")
                .into_iter()
                .collect();
            if !map_exists && !map_added {
                // One fix carries the map; the others only switch to the variable (a fixer
                // applies them all in one pass, or the next pass finds the map in place).
                let map = [
                    "map $http_upgrade $connection_upgrade {",
                    "    default upgrade;",
                    "    ''      close;",
                    "}",
                ];
                match config
                    .http_block()
                    .and_then(|http| insert_in_block(config, http, &map))
                {
                    Some(e) => {
                        edits.push(e);
                        map_added = true;
                    }
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
