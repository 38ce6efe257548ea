use super::common::{insert_after, insert_in_block, replace_arg};
use super::{FixKind, LintContext, Rule, RuleMeta};
use crate::config::{Context, Family, NodeId, ResolvedConfig};
use crate::diagnostic::{Diagnostic, Severity};
use crate::fix::{Edit, Fix};

pub struct UpstreamKeepaliveInert;

static META: RuleMeta = RuleMeta {
    id: "GW207",
    name: "upstream-keepalive-inert",
    severity: Severity::Warning,
    summary: "`keepalive` in an upstream whose users do not keep connections open",
    fix: FixKind::Safe,
    options: &[],
    doc: r#"## What it finds
An `upstream` block with `keepalive N` used by a `proxy_pass` whose location does not have
both `proxy_http_version 1.1` and `proxy_set_header Connection ""` in effect (inherited
values count; `proxy_set_header` is inherited only by levels that set none of their own), or by
a `fastcgi_pass` without `fastcgi_keep_conn on`. A `Connection` header built from a variable
(the WebSocket `$connection_upgrade` map) is not judged. `grpc_pass` keeps connections open by
itself; uwsgi and scgi cannot.

## Why it matters
nginx talks HTTP/1.0 to upstreams and sends `Connection: close` unless told otherwise, so the
backend closes every connection after one response and `keepalive` caches nothing: every
request pays a new TCP (and TLS) connection, and under load the backend's accept queue and
the ephemeral ports run out — the 502 "connect() failed (111: Connection refused)" / (99:
Cannot assign requested address) storms keep-alive was meant to prevent. For FastCGI, nginx
asks php-fpm to close the connection after each request unless `fastcgi_keep_conn on`.

## Example
```nginx
upstream node_app {
    server 127.0.0.1:3000;
    keepalive 32;
}
server {
    location / {
        proxy_pass http://node_app;
    }
}
```

## Use instead
```nginx
upstream node_app {
    server 127.0.0.1:3000;
    keepalive 32;
}
server {
    location / {
        proxy_http_version 1.1;
        proxy_pass http://node_app;
        proxy_set_header Connection "";
    }
}
```

## Fix safety
Safe: adds `proxy_http_version 1.1;` at the start of the location and
`proxy_set_header Connection "";` after the `proxy_pass` line (or `fastcgi_keep_conn on;`),
with the indentation of the lines around them and the file's line endings; an explicit
`proxy_http_version 1.0`, `Connection close` or `fastcgi_keep_conn off` in the location is
changed in place. When the location sets no `proxy_set_header` of its own but inherits some,
those inherited lines are copied into the location too: adding one `proxy_set_header` to a
level drops every inherited one, which would silently lose headers such as `Host`. Locations
whose handler sits in `if` or `limit_except` get the message only."#,
};

impl Rule for UpstreamKeepaliveInert {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        for upstream in config.blocks_with_inner(Context::Upstream) {
            let Some(keepalive) = config.last_child_named(Some(upstream), "keepalive") else {
                continue;
            };
            let name = config.node(upstream).arg(0).unwrap_or_default();
            let ka = config.node(keepalive);
            for (pass, family) in config.upstream_users(upstream) {
                let Some(block) = config.block_of(pass) else {
                    continue;
                };
                let node = config.node(pass);
                let Some(word) = node.directive.args.first() else {
                    continue;
                };
                let in_location = node.context == Context::Location;
                let (missing, fix) = match family {
                    Family::Proxy => proxy_check(config, block, pass, in_location),
                    Family::FastCgi => fastcgi_check(config, block, pass, in_location),
                    _ => continue,
                };
                if missing.is_empty() {
                    continue;
                }
                let mut d = cx
                    .diagnostic(
                        &META,
                        node.file,
                        word.span,
                        format!(
                            "upstream `{name}` has `keepalive`, but this location lacks {}: connections are closed after every request",
                            missing.join(" and ")
                        ),
                    )
                    .with_label(ka.file, ka.directive.span, "keep-alive cache configured here")
                    .with_help(format!("add {}", missing.join(" and ")));
                if let Some(edits) = fix {
                    d = d.with_fix(Fix::safe(format!("add {}", missing.join(" and ")), edits));
                }
                out.push(d);
            }
        }
    }
}

/// What a proxy location lacks for keep-alive, and the edits that add it.
fn proxy_check(
    config: &ResolvedConfig<'_>,
    block: NodeId,
    pass: NodeId,
    in_location: bool,
) -> (Vec<&'static str>, Option<Vec<Edit>>) {
    let mut missing = Vec::new();
    let mut edits = Vec::new();
    let version = config.effective(block, "proxy_http_version");
    let version_ok = version.is_some_and(|v| config.node(v).arg(0).is_some_and(|a| a != "1.0"));
    if !version_ok {
        missing.push("`proxy_http_version 1.1`");
        match version.filter(|v| config.block_of(*v) == Some(block)) {
            Some(own) => edits.extend(replace_arg(config, own, 0, "1.1")),
            None => edits.extend(insert_in_block(config, block, &["proxy_http_version 1.1;"])),
        }
    }
    let connection = config.effective_header(block, "proxy_set_header", "Connection");
    let value = connection.and_then(|c| config.node(c).arg(1));
    let connection_ok = value.is_some_and(|v| v.is_empty() || v.contains('$'));
    if !connection_ok {
        missing.push("`proxy_set_header Connection \"\"`");
        match connection.filter(|c| config.block_of(*c) == Some(block)) {
            Some(own) => edits.extend(replace_arg(config, own, 1, "")),
            None => {
                let mut lines = Vec::new();
                // Adding one proxy_set_header here drops every inherited one: copy them.
                for inherited in config.effective_array(block, "proxy_set_header") {
                    let n = config.node(inherited);
                    if config.block_of(inherited) == Some(block)
                        || n.arg(0)
                            .is_some_and(|h| h.eq_ignore_ascii_case("connection"))
                    {
                        continue;
                    }
                    let raw = config.tree.sources.get(n.file).slice(n.directive.span);
                    lines.push(String::from_utf8_lossy(raw).into_owned());
                }
                lines.push("proxy_set_header Connection \"\";".to_owned());
                let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
                edits.push(insert_after(config, pass, &lines));
            }
        }
    }
    let fix = (in_location && !edits.is_empty()).then_some(edits);
    (missing, fix)
}

fn fastcgi_check(
    config: &ResolvedConfig<'_>,
    block: NodeId,
    pass: NodeId,
    in_location: bool,
) -> (Vec<&'static str>, Option<Vec<Edit>>) {
    let keep = config.effective(block, "fastcgi_keep_conn");
    if keep.is_some_and(|k| config.node(k).arg(0) == Some("on")) {
        return (Vec::new(), None);
    }
    let edit = match keep.filter(|k| config.block_of(*k) == Some(block)) {
        Some(own) => replace_arg(config, own, 0, "on"),
        None => Some(insert_after(config, pass, &["fastcgi_keep_conn on;"])),
    };
    let fix = if in_location {
        edit.map(|e| vec![e])
    } else {
        None
    };
    (vec!["`fastcgi_keep_conn on`"], fix)
}
