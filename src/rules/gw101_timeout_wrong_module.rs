use super::{FixKind, LintContext, Rule, RuleMeta};
use crate::config::{Context, Family, NodeId};
use crate::diagnostic::{Diagnostic, Severity};
use crate::fix::{Edit, Fix};

pub struct TimeoutWrongModule;

static META: RuleMeta = RuleMeta {
    id: "GW101",
    name: "timeout-wrong-module",
    severity: Severity::Error,
    summary: "a *_timeout of one module where another module's handler serves the request",
    fix: FixKind::Safe,
    options: &[],
    doc: r#"## What it finds
A `proxy_*`, `fastcgi_*`, `grpc_*`, `uwsgi_*`, `scgi_*` or `memcached_*` connect/read/send
timeout where no request it reaches is handled by that module. Each module reads only its own
timeouts: `proxy_read_timeout` means nothing to a location served by `fastcgi_pass`.

A timeout in a location applies to that location and the locations and `if` blocks inside it.
A timeout in `server` or `http` is reported only when none of the locations it reaches uses
its module (setting `proxy_read_timeout` at server level for a mix of proxy and PHP locations
is fine).

## Why it matters
The timeout someone raised to stop a `504 Gateway Time-out` never takes effect: the handler
keeps its default (60s) and nginx keeps logging `upstream timed out (110: Connection timed
out) while reading response header from upstream` for the PHP script.

## Example
```nginx
location ~ \.php$ {
    fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    proxy_read_timeout 300s;      # ignored: this is a FastCGI location
}
```

## Use instead
```nginx
location ~ \.php$ {
    fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    fastcgi_read_timeout 300s;
}
```

## Fix safety
Safe: the directive is renamed to the handler's module, keeping its value, only when the
location has exactly one handler module and that module's directive is not already set in the
same block. The renamed directive does what the author meant; nothing else changes."#,
};

const KINDS: [&str; 3] = ["_connect_timeout", "_read_timeout", "_send_timeout"];

/// The first argument of a directive and its value as an nginx time, when it is one (values
/// nginx would refuse are GW013's).
pub(crate) fn time_arg<'n>(
    node: &'n crate::config::RNode<'_>,
) -> Option<(&'n crate::syntax::Word, u64)> {
    let value = node.directive.args.first()?;
    crate::values::parse_msec(value.as_str()).map(|ms| (value, ms))
}

/// The module family of a connect/read/send timeout directive.
pub(crate) fn timeout_family(name: &str) -> Option<Family> {
    let family = Family::of_directive(name)?;
    let rest = &name[family.prefix().len()..];
    KINDS.contains(&rest).then_some(family)
}

impl Rule for TimeoutWrongModule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let cfg = cx.config;
        for (id, node) in cfg.iter() {
            let Some(family) = timeout_family(node.name()) else {
                continue;
            };
            if !node.context.is_http_like() {
                continue;
            }
            let Some(block) = node.parent else { continue };
            // Which handler modules serve the requests this directive reaches?
            let mut handlers: Vec<(Family, NodeId)> = Vec::new();
            for reached in cfg.reached_blocks(block) {
                if reached != block && cfg.last_child_named(Some(reached), node.name()).is_some() {
                    continue; // overridden below: this copy does not reach there
                }
                if let Some(h) = cfg.handler(reached) {
                    handlers.push(h);
                }
            }
            if handlers.is_empty() || handlers.iter().any(|(f, _)| *f == family) {
                continue;
            }
            let mut families: Vec<Family> = handlers.iter().map(|(f, _)| *f).collect();
            families.sort();
            families.dedup();
            let (first_family, first_handler) = handlers[0];
            let used: Vec<&str> = families.iter().map(|f| f.pass_directive()).collect();
            let in_location = matches!(
                cfg.node(block).inner_context(),
                Context::Location | Context::IfLocation | Context::LimitExcept
            );
            let message = if in_location {
                format!(
                    "`{}` has no effect here: this location is served by `{}` ({}), which reads `{}`",
                    node.name(),
                    first_family.pass_directive(),
                    cx.where_is(first_handler),
                    first_family.rename(node.name()).unwrap_or_default()
                )
            } else {
                format!(
                    "`{}` has no effect: no location it reaches uses `{}`; they use {}",
                    node.name(),
                    family.pass_directive(),
                    used.join(", ")
                )
            };
            let (file, _) = cfg.location(id);
            let mut d = cx
                .diagnostic(&META, file, node.directive.name.span, message)
                .with_help(format!(
                    "use the timeout of the module that handles the request: {}",
                    families
                        .iter()
                        .filter_map(|f| f.rename(node.name()))
                        .collect::<Vec<_>>()
                        .join(" / ")
                ));
            let (hf, hs) = cfg.location(first_handler);
            d = d.with_label(
                hf,
                hs,
                if in_location {
                    "the handler of this location"
                } else {
                    "a handler it reaches"
                },
            );
            // A snippet included elsewhere too would change for every includer: no fix then.
            let written_in_block = node.file == cfg.node(block).file;
            if families.len() == 1 && in_location && written_in_block {
                if let Some(new_name) = first_family.rename(node.name()) {
                    let already = cfg.last_child_named(Some(block), &new_name).is_some();
                    if !already {
                        d = d.with_fix(Fix::safe(
                            format!("rename `{}` to `{new_name}`", node.name()),
                            vec![Edit::replace(file, node.directive.name.span, new_name)],
                        ));
                    }
                }
            }
            out.push(d);
        }
    }
}
