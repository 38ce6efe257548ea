use std::collections::BTreeSet;

use super::structure::{checked_nodes, context_label, resolve, Resolution};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};
use crate::directives::CONTEXT_NAMES;
use crate::syntax::Span;

pub struct DirectiveNotAllowedHere;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW011,
    severity: Severity::Error,
    summary: "a directive in a block where nginx refuses it, or a main config without `events`",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
A known directive written in a context its module does not accept: `proxy_pass` directly in
`server` (it belongs in `location`), `upstream` inside `server`, `if` at http level, `listen`
in `location`, an http directive inside `stream { }`. The message is nginx's own,
`"proxy_pass" directive is not allowed here`, and the help lists where it is allowed. The
contexts are nginx's: main, events, http, server, location, upstream, if in server, if in
location, limit_except, and the stream and mail blocks.

It also reports a main configuration (the file nginx is started with) that has no top-level
`events { }` block: nginx refuses to start with `no "events" section in configuration`. This
check lives here because it is the same kind of mistake, a block missing from the place
nginx requires it, and it is usually found when a snippet is used as nginx.conf. A file
checked on its own that is no nginx.conf and holds only `http { }`, `stream { }` or
`mail { }` blocks is a fragment nginx.conf includes at its top level (`include http.conf;`
beside `events { }`), not a main configuration: no finding.

Directives inside `map`, `geo`, `types`, ... bodies and inside unknown blocks are not checked.

## Why it matters
`nginx -t` fails; a reload keeps the old configuration and a restart leaves nginx down, so
every request gets connection refused or the old, broken routing that caused the 502.

## Example
```nginx
server {
    listen 80;
    proxy_pass http://127.0.0.1:3000;
}
```

## Use instead
```nginx
server {
    listen 80;
    location / {
        proxy_pass http://127.0.0.1:3000;
    }
}
```

## Fix safety
No automatic fix: which block the directive was meant for is a guess."#,
};

impl Rule for DirectiveNotAllowedHere {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        for (id, node) in checked_nodes(cx) {
            let Resolution::NotAllowed(specs) = resolve(cx, id) else {
                continue;
            };
            let name = node.name();
            let allowed: BTreeSet<usize> = specs
                .iter()
                .flat_map(|s| s.contexts.names())
                .filter_map(|n| CONTEXT_NAMES.iter().position(|c| *c == n))
                .collect();
            // Where it is allowed in the same family (http, stream, mail) when it is allowed
            // there at all: `proxy_pass` in an http server need not hear about stream.
            let family = family_of(node.context.as_str());
            let same_family: Vec<usize> = allowed
                .iter()
                .copied()
                .filter(|i| family_of(CONTEXT_NAMES[*i]) == family)
                .collect();
            let shown = if same_family.is_empty() {
                allowed.into_iter().collect()
            } else {
                same_family
            };
            let allowed: Vec<&str> = shown
                .into_iter()
                .map(|i| context_label(CONTEXT_NAMES[i]))
                .collect();
            out.push(
                cx.diagnostic(
                    &META,
                    node.file,
                    node.directive.name_word().span(),
                    format!("\"{name}\" directive is not allowed here"),
                )
                .with_help(format!(
                    "\"{name}\" is allowed in: {} (it is written in {})",
                    allowed.join(", "),
                    context_label(node.context.as_str())
                )),
            );
        }
        self.check_events(cx, out);
    }
}

/// The protocol family of a context name: main/events, http, stream, mail, rtmp.
fn family_of(context: &str) -> &'static str {
    match context {
        "main" | "events" => "core",
        c if c.starts_with("stream") => "stream",
        c if c.starts_with("mail") => "mail",
        c if c.starts_with("rtmp") => "rtmp",
        _ => "http",
    }
}

impl DirectiveNotAllowedHere {
    /// nginx (ngx_event_init_conf): `no "events" section in configuration`.
    fn check_events(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        // A single site file checked in the http or server context has no events of its own.
        if cx.tree.ast(cx.tree.root).is_none()
            || cx.tree.root_context != crate::directives::Context::Main
            || cx.tree.entry_is_snippet
        {
            return;
        }
        if cx.config.children_named(None, "events").next().is_some() {
            return;
        }
        out.push(
            cx.diagnostic(
                &META,
                cx.tree.root,
                Span::empty(0),
                "no \"events\" section in configuration",
            )
            .with_help(
                "nginx will not start without a top-level `events { }` block (it may be empty); if this file is a snippet, lint the nginx.conf that includes it",
            ),
        );
    }
}
