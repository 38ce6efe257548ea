use foldhash::{HashSet, HashSetExt};

use super::common::{insert_in_block, replace_arg, unread_include, FileUses};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::{Family, NodeId, ResolvedConfig};
use crate::diagnostic::Fix;
use crate::diagnostic::{Diagnostic, Severity};

pub struct UpgradeWithoutHttp11;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW402,
    severity: Severity::Error,
    summary: "`Upgrade` header passed to the backend without `proxy_http_version 1.1`",
    fix: FixAvailability::Sometimes(crate::diagnostic::Applicability::Safe),
    options: None,
    doc: r#"## What it finds
A location with `proxy_pass` where `proxy_set_header Upgrade ...` is in effect but
`proxy_http_version` is not 1.1 (nginx's default is 1.0), whether set there or inherited.

## Why it matters
`Upgrade` is an HTTP/1.1 mechanism: over HTTP/1.0 nginx does not switch protocols, the
backend's `101 Switching Protocols` never reaches the client, and the WebSocket handshake
fails (socket.io falls back to long polling; other clients just fail, often with 400 or 502
from the backend, or 504 while nginx waits).

## Example
```nginx
location /ws/ {
    proxy_pass http://127.0.0.1:3000;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
}
```

## Use instead
```nginx
location /ws/ {
    proxy_http_version 1.1;
    proxy_pass http://127.0.0.1:3000;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
}
```

## Fix safety
Safe: adds `proxy_http_version 1.1;` at the start of the block that sets the `Upgrade` header
(indented like its lines), or changes an explicit `proxy_http_version 1.0` that overrides it
there or below to 1.1. HTTP/1.1 to the backend is what every WebSocket setup needs. No fix
when the change would land in a file included from several places."#,
};

impl Rule for UpgradeWithoutHttp11 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let mut seen = HashSet::new();
        for p in cx.passes() {
            let (pass, family) = (p.node, p.family);
            if family != Family::Proxy {
                continue;
            }
            let Some(block) = config.block_of(pass) else {
                continue;
            };
            let Some(upgrade) = config.effective_header(block, "proxy_set_header", "Upgrade")
            else {
                continue;
            };
            let version = config.effective(block, "proxy_http_version");
            let version_value = version.and_then(|v| config.node(v).arg(0));
            if version_value.is_some_and(|v| v != "1.0") {
                continue;
            }
            let uses = cx.file_uses();
            // An Upgrade header in a shared snippet is one finding for every block reading it:
            // the fix adds the version where each of them needs it (the other places: blocks
            // that proxy themselves and do not speak 1.1).
            let places = uses.places(config, upgrade, &mut seen);
            if places.is_empty() {
                continue;
            }
            let edits_at = |place: NodeId, strict: bool| {
                let v = if place == upgrade {
                    version
                } else {
                    let home = config.block_of(place)?;
                    if config.handler(home).map(|(f, _)| f) != Some(Family::Proxy) {
                        return None;
                    }
                    let v = config.effective(home, "proxy_http_version");
                    if v.and_then(|v| config.node(v).arg(0))
                        .is_some_and(|v| v != "1.0")
                    {
                        return None;
                    }
                    v
                };
                Some(
                    fix(config, uses, strict, place, v)
                        .map(|e| vec![e])
                        .ok_or_else(String::new),
                )
            };
            let (edits, _) = uses.fix_for_places(&places, edits_at);
            let node = config.node(upgrade);
            let mut d = cx
                .diagnostic(
                    &META,
                    node.file,
                    node.directive.head_span(),
                    format!(
                        "the Upgrade header is passed over HTTP/{}: the WebSocket handshake cannot succeed",
                        version_value.unwrap_or("1.0 (nginx's default)")
                    ),
                )
                .with_help("add `proxy_http_version 1.1;`");
            if let Some(v) = version {
                let vn = config.node(v);
                d = d.with_label(vn.file, vn.directive.span(), "HTTP version set here");
            }
            if !edits.is_empty() {
                d = d.with_fix(Fix::safe("add proxy_http_version 1.1", edits));
            }
            out.push(cx.hedged(d, block, &["proxy_http_version"]));
        }
    }
}

/// Only in files read at this one place: a `proxy_http_version` in a shared snippet may serve
/// blocks that pass no Upgrade header, and a block in a shared file may sit under servers that
/// set their own version.
fn fix(
    config: &ResolvedConfig<'_>,
    uses: &FileUses,
    strict: bool,
    upgrade: NodeId,
    version: Option<NodeId>,
) -> Option<crate::diagnostic::Edit> {
    // Strict: only files read at this one place (see FileUses::fix_for_places).
    let editable = |file| !strict || uses.read_once(file);
    let home = config.block_of(upgrade)?;
    if let Some(v) = version {
        let vblock = config.block_of(v)?;
        // The 1.0 is set in the header's block or below it: change it where it is.
        if vblock == home || config.ancestors(vblock).any(|a| a == home) {
            return editable(config.node(v).file)
                .then(|| replace_arg(config, v, 0, "1.1"))
                .flatten();
        }
    }
    if !editable(config.node(home).file) || unread_include(config, home).is_some() {
        return None;
    }
    insert_in_block(config, home, &["proxy_http_version 1.1;"])
}
