use foldhash::{HashSet, HashSetExt};

use super::common::{insert_in_block, unread_include, FileUses};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::{Family, NodeId, ResolvedConfig};
use crate::diagnostic::{Diagnostic, Severity};
use crate::diagnostic::Fix;

pub struct InheritedHeadersDropped;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW404,
    severity: Severity::Warning,
    summary: "a block's own `proxy_set_header` / `fastcgi_param` drops every inherited one (Host, X-Forwarded-*, REQUEST_METHOD...)",
    fix: FixAvailability::Sometimes(crate::diagnostic::Applicability::Unsafe),
    options: None,
    doc: r#"## What it finds
A `location` (or `server`, `if`) that proxies with `proxy_pass` and writes at least one
`proxy_set_header` of its own, while an outer level (`server`, `http`, an enclosing `location`)
sets `Host`, `X-Real-IP`, `X-Forwarded-*`, `Forwarded`, `Upgrade` or `Connection` that this
level does not set again. The same for `fastcgi_pass` and `fastcgi_param`: every parameter of
the outer level that this level does not set again (`include fastcgi_params;` in `server`,
one `fastcgi_param` in the PHP location).

The message names each dropped header and the line that set it (`include proxy_params;`
expanded). A level with an `include` that was not read may set them again: no finding there.

## Why it matters
`proxy_set_header` and `fastcgi_param` are array directives: a level inherits the outer
level's list only when it has none of its own ("These directives are inherited from the
previous configuration level if and only if there are no proxy_set_header directives defined
on the current level", nginx docs). One added header silently drops all the others:

- without `Host`, nginx sends `Host: $proxy_host` (the `proxy_pass` address, say
  `127.0.0.1:3000` or the upstream name): virtual-host routing on the backend picks the wrong
  site or answers 404/502, absolute redirects point at the internal address;
- without `X-Forwarded-Proto`, an app that forces HTTPS redirects forever
  (`ERR_TOO_MANY_REDIRECTS`); without `X-Forwarded-For` / `X-Real-IP` it sees nginx's address;
- without `Upgrade` / `Connection`, WebSocket handshakes fail; without `Connection ""`
  upstream keep-alive is off (nginx sends `Connection: close`);
- without the `fastcgi_params` entries, php-fpm gets no `REQUEST_METHOD` (it then runs no
  script and answers an empty `200`: a blank page), `QUERY_STRING`,
  `CONTENT_TYPE`/`CONTENT_LENGTH` (POST bodies are lost), `SCRIPT_NAME`, `REQUEST_URI`;
  without `SCRIPT_FILENAME` it answers `404 File not found.` and nginx logs
  `FastCGI sent in stderr: "Primary script unknown"`.

## Example
```nginx
server {
    include proxy_params;            # Host, X-Real-IP, X-Forwarded-For, X-Forwarded-Proto
    location /api/ {
        proxy_set_header Connection "";
        proxy_pass http://api;
    }
}
```

## Use instead
```nginx
server {
    location /api/ {
        include proxy_params;
        proxy_set_header Connection "";
        proxy_pass http://api;
    }
}
```

## Fix safety
Unsafe: copies the dropped directives to the start of the block that replaced them (only
when that block's file is read at this one place and it has no unread include). Whether the
block meant to drop them is a guess: a location may strip a header on purpose."#,
};

/// Headers whose loss breaks routing, redirects or upgrades (the others are reported along
/// with them, never alone).
fn matters(header: &str) -> bool {
    let h = header.to_ascii_lowercase();
    matches!(
        h.as_str(),
        "host" | "x-real-ip" | "forwarded" | "upgrade" | "connection"
    ) || h.starts_with("x-forwarded-")
}

impl Rule for InheritedHeadersDropped {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let mut done: HashSet<(NodeId, &str)> = HashSet::new();
        for p in cx.passes() {
            let (pass, family) = (p.node, p.family);
            let (directive, what) = match family {
                Family::Proxy => ("proxy_set_header", "header"),
                Family::FastCgi => ("fastcgi_param", "parameter"),
                _ => continue,
            };
            let Some(block) = config.block_of(pass) else {
                continue;
            };
            let levels = config.array_levels(block, directive);
            let [(level, own), (outer, inherited), ..] = levels.as_slice() else {
                continue;
            };
            if !done.insert((*level, directive)) {
                continue;
            }
            // An unread file in this level may set the dropped ones again.
            if config.unread_include_in(Some(*level)).is_some() {
                continue;
            }
            let case_insensitive = family == Family::Proxy;
            let key = |id: &NodeId| -> Option<String> {
                let name = config.node(*id).arg(0)?;
                Some(if case_insensitive {
                    name.to_ascii_lowercase()
                } else {
                    name.to_owned()
                })
            };
            let kept: HashSet<String> = own.iter().filter_map(key).collect();
            // The last entry per name is the one nginx would have sent.
            let mut dropped: Vec<NodeId> = Vec::new();
            let mut names_seen = HashSet::new();
            for id in inherited.iter().rev() {
                let Some(k) = key(id) else { continue };
                if !kept.contains(&k) && names_seen.insert(k) {
                    dropped.push(*id);
                }
            }
            dropped.reverse();
            let important = dropped.iter().any(|id| {
                family == Family::FastCgi || config.node(*id).arg(0).is_some_and(matters)
            });
            if !important {
                continue;
            }
            let names: Vec<&str> = dropped
                .iter()
                .filter_map(|id| config.node(*id).arg(0))
                .collect();
            let first = config.node(own[0]);
            let consequence = match family {
                Family::Proxy => consequences_proxy(&names),
                _ => consequences_fastcgi(&names),
            };
            let mut d = cx
                .diagnostic(
                    &META,
                    first.file,
                    first.directive.head_span(),
                    format!(
                        "this {} writes its own `{directive}` ({} here), so none of the {} inherited from {} ({}) applies: {} {} not sent{consequence}",
                        level_name(config, *level),
                        own.len(),
                        inherited.len(),
                        level_name(config, *outer),
                        cx.where_is(*outer),
                        list(&names),
                        if names.len() == 1 { "is" } else { "are" },
                    ),
                )
                .with_help(format!(
                    "repeat the inherited {what}s here (or move the outer `{directive}` lines / `include` into every block that needs them)"
                ));
            for id in &dropped {
                let n = config.node(*id);
                d = d.with_label(
                    n.file,
                    n.directive.head_span(),
                    format!(
                        "inherited from {}, not sent from {}",
                        level_name(config, *outer),
                        level_name(config, *level)
                    ),
                );
            }
            let uses = cx.file_uses();
            if let Some(edit) = fix(config, uses, *level, &dropped) {
                d = d.with_fix(Fix::unsafe_edit(
                    format!("repeat the inherited {what}s in this block"),
                    vec![edit],
                ));
            }
            out.push(d);
        }
    }
}

fn consequences_proxy(names: &[&str]) -> String {
    let has = |h: &str| names.iter().any(|n| n.eq_ignore_ascii_case(h));
    let mut parts = Vec::new();
    if has("host") {
        parts.push("nginx sends `Host: $proxy_host` (the proxy_pass address), so the backend may route to the wrong site or answer 404/502");
    }
    if names
        .iter()
        .any(|n| n.eq_ignore_ascii_case("x-forwarded-proto"))
    {
        parts.push("an app that forces HTTPS no longer knows the request was HTTPS and may redirect in a loop");
    }
    if has("x-forwarded-for") || has("x-real-ip") {
        parts.push("the backend sees nginx's address as the client's");
    }
    if has("upgrade") {
        parts.push("WebSocket upgrades fail");
    }
    if has("connection") && !has("upgrade") {
        parts.push("nginx sends `Connection: close` (upstream keep-alive off, upgrades fail)");
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join("; "))
    }
}

fn consequences_fastcgi(names: &[&str]) -> String {
    let has = |p: &str| names.contains(&p);
    let mut parts = Vec::new();
    if has("REQUEST_METHOD") {
        // php-fpm 8.2, tried: without REQUEST_METHOD it runs no script and answers an empty 200.
        parts.push("php-fpm runs no script without REQUEST_METHOD and answers an empty 200");
    } else if has("SCRIPT_FILENAME") {
        parts.push(
            "php-fpm answers 404 \"File not found.\" (error.log: \"Primary script unknown\")",
        );
    }
    if has("CONTENT_LENGTH") || has("CONTENT_TYPE") {
        parts.push("request bodies (POST forms, uploads) are not read");
    }
    if has("QUERY_STRING") {
        parts.push("query strings are lost");
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join("; "))
    }
}

/// `A, B and C`.
fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// How a message names a level: `location /api/`, `server`, `http`, `if`.
pub(crate) fn level_name(config: &ResolvedConfig<'_>, level: NodeId) -> String {
    let n = config.node(level);
    match n.name() {
        "location" => {
            let args: Vec<&str> = n.directive.args().iter().map(|a| a.as_str()).collect();
            format!("`location {}`", args.join(" "))
        }
        other => format!("`{other}`"),
    }
}

/// A simple directive as written (its words' bytes), on one line.
fn written(config: &ResolvedConfig<'_>, id: NodeId) -> Option<String> {
    let n = config.node(id);
    let src = &config.tree.sources.get(n.file).text;
    let mut line = std::str::from_utf8(n.directive.name_word().raw(src))
        .ok()?
        .to_owned();
    for a in n.directive.args() {
        line.push(' ');
        line.push_str(std::str::from_utf8(a.raw(src)).ok()?);
    }
    line.push(';');
    Some(line)
}

/// The dropped directives, as written, at the start of `level`.
fn fix(
    config: &ResolvedConfig<'_>,
    uses: &FileUses,
    level: NodeId,
    dropped: &[NodeId],
) -> Option<crate::diagnostic::Edit> {
    let home = config.node(level);
    if !uses.read_once(home.file) || unread_include(config, level).is_some() {
        return None;
    }
    let mut lines: Vec<String> = Vec::new();
    for id in dropped {
        let n = config.node(*id);
        // A whole file of dropped entries (`include proxy_params;`) is repeated as its include.
        if let Some(inc) = n.included_from() {
            let parent = config.node(inc).parent();
            let from_it: Vec<NodeId> = config
                .children(parent)
                .iter()
                .copied()
                .filter(|c| config.node(*c).included_from() == Some(inc))
                .collect();
            let whole = from_it.iter().all(|c| dropped.contains(c));
            if whole {
                let line = written(config, inc)?;
                if !lines.contains(&line) {
                    lines.push(line);
                }
                continue;
            }
        }
        lines.push(written(config, *id)?);
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    insert_in_block(config, level, &refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_that_matter() {
        assert!(matters("Host"));
        assert!(matters("X-Forwarded-Proto"));
        assert!(matters("x-forwarded-host"));
        assert!(!matters("X-Api-Key"));
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` and `c`");
        assert_eq!(list(&["a"]), "`a`");
    }
}
