use foldhash::{HashMap, HashMapExt};

use super::structure::well_formed;
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::NodeId;
use crate::directives::Context;
use crate::diagnostic::Fix;
use crate::diagnostic::{Diagnostic, Severity};

pub struct DuplicateDirective;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW014,
    severity: Severity::Error,
    summary: "a single-value directive set twice in one block (nginx: \"is duplicate\")",
    fix: FixAvailability::Sometimes(crate::diagnostic::Applicability::Safe),
    options: None,
    doc: r#"## What it finds
A directive written twice in the same block (includes expanded) when nginx refuses the second
one with `"x" directive is duplicate`. That is every directive set by nginx's generic
single-value parsers (times, sizes, numbers, on/off, keywords, strings, paths, `NUMBER SIZE`
buffers: `proxy_read_timeout`, `client_max_body_size`, `proxy_buffering`, `proxy_buffers`,
`default_type`, ...) and a checked list of custom ones (`proxy_pass` and the other `*_pass`,
`root`, `alias`, `try_files`, `expires`, `resolver`, `keepalive_timeout`, `*_cache`,
`*_cache_key`, `internal`, `auth_request`).

Directives that legitimately repeat are never reported: `add_header`, `proxy_set_header`,
`fastcgi_param`, `server` in `upstream`, `listen`, `location`, `include`, `set`, `rewrite`,
`if`, `return`, `error_page`, `allow`/`deny`, keyword lists such as `proxy_next_upstream`, and
every directive of a third-party module or inside `map`/`geo`/`types` bodies. The same
directive in a nested block (`location` inside `server`, `if` inside `location`) is an
override, not a duplicate.

## Why it matters
`nginx -t` fails, so a reload keeps the old configuration and a restart leaves nginx down. It
typically happens when a snippet (`include proxy_params;`, `include fastcgi.conf;`) already
sets a timeout that the location sets again: the raised timeout that was meant to stop the
504s never goes live.

## Example
```nginx
location /api {
    include snippets/timeouts.conf;   # proxy_read_timeout 60s;
    proxy_read_timeout 300s;
    proxy_buffering off;
    proxy_buffering off;
}
```

## Use instead
```nginx
location /api {
    include snippets/timeouts.conf;   # without proxy_read_timeout, or set it only here
    proxy_read_timeout 300s;
    proxy_buffering off;
}
```

## Fix safety
Safe when both directives are byte-identical and written in the same file as their block:
the earlier one is deleted (with its line when it is alone on it), which leaves the
configuration nginx would have used. Different values, or a copy that comes from an included
file (shared with other blocks), are not fixed: which value is meant is a decision."#,
};

impl Rule for DuplicateDirective {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let blocks = std::iter::once(None).chain(
            cx.config
                .iter()
                .filter(|(_, n)| n.directive.has_block())
                .map(|(id, _)| Some(id)),
        );
        for block in blocks {
            self.check_block(cx, block, out);
        }
    }
}

impl DuplicateDirective {
    fn check_block(
        &self,
        cx: &LintContext<'_, '_>,
        block: Option<NodeId>,
        out: &mut Vec<Diagnostic>,
    ) {
        let block_file = block.map_or(cx.tree.root, |b| cx.config.node(b).file);
        // The last directive of each name so far: a short list for the usual small block (a
        // scan costs less than hashing), a map for a wide one.
        let children = cx.config.children(block);
        let wide = children.len() > 16;
        let mut short: Vec<(&str, NodeId)> = Vec::new();
        let mut long: HashMap<&str, NodeId> = HashMap::new();
        for &id in children {
            let node = cx.config.node(id);
            if matches!(node.context, Context::Entries | Context::Unknown) {
                return;
            }
            let Some(spec) = well_formed(cx, id) else {
                continue;
            };
            if !spec.rejects_duplicates() {
                continue;
            }
            let name = node.name();
            let earlier = if wide {
                long.insert(name, id)
            } else {
                match short.iter_mut().find(|(n, _)| *n == name) {
                    Some(last) => Some(std::mem::replace(&mut last.1, id)),
                    None => {
                        short.push((name, id));
                        None
                    }
                }
            };
            let Some(earlier) = earlier else {
                continue;
            };
            let first = cx.config.node(earlier);
            let first_src = cx.tree.sources.get(first.file);
            let (line, _) = first_src.line_col(first.directive.span().start());
            let mut d = cx
                .diagnostic(
                    &META,
                    node.file,
                    node.directive.head_span(),
                    format!("\"{name}\" directive is duplicate"),
                )
                .with_label(first.file, first.directive.head_span(), "first set here")
                .with_help(format!(
                    "\"{name}\" is already set in this block ({}:{line}); keep one",
                    first_src.display
                ));
            let identical = first_src.slice(first.directive.span())
                == cx.tree.sources.get(node.file).slice(node.directive.span());
            if identical && first.file == block_file && node.file == block_file {
                d = d.with_fix(Fix::safe(
                    format!("remove the earlier identical \"{name}\""),
                    vec![crate::diagnostic::edits::delete_directive(
                        first.file,
                        first_src,
                        first.directive.span(),
                    )],
                ));
            }
            out.push(d);
        }
    }
}
