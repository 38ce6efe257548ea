use super::structure::{checked_nodes, resolve, Resolution};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};

pub struct WrongArgumentCount;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW012,
    severity: Severity::Error,
    summary: "a directive with an argument count, or a block/`;` shape, nginx refuses",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
A directive whose number of arguments is outside what its module declares, checked exactly as
nginx's `ngx_conf_handler` does: `on`/`off` directives take one argument, `1MORE` at least
one, `2MORE` at least two, the `TAKEn` forms the listed counts (never more than 7). Message:
nginx's `invalid number of arguments in "x" directive`, with the accepted counts as help.
A common cause is a value with a space that is not quoted (`add_header X-Frame-Options SAME ORIGIN;`)
or a missing value (`proxy_read_timeout;`).

It also reports the block shape nginx checks just before the count: a block directive written
without `{` (`directive "location" has no opening "{"`) and a simple directive followed by a
block (`directive "proxy_pass" is not terminated by ";"`).

## Why it matters
`nginx -t` fails; a reload keeps the old configuration and a restart leaves nginx down.

## Example
```nginx
location / {
    proxy_read_timeout 5 m;
    proxy_pass;
}
```

## Use instead
```nginx
location / {
    proxy_read_timeout 5m;
    proxy_pass http://127.0.0.1:3000;
}
```

## Fix safety
No automatic fix: which word is missing or extra is a guess."#,
};

impl Rule for WrongArgumentCount {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        for (id, node) in checked_nodes(cx) {
            let Resolution::Spec(spec) = resolve(cx, id) else {
                continue;
            };
            let name = node.name();
            let d = &node.directive;
            let (message, help) = match (spec.is_block(), d.has_block()) {
                (true, false) => (
                    format!("directive \"{name}\" has no opening \"{{\""),
                    format!("\"{name}\" opens a block: `{name} ... {{ ... }}`"),
                ),
                (false, true) => (
                    format!("directive \"{name}\" is not terminated by \";\""),
                    format!("\"{name}\" takes no block: end it with `;`"),
                ),
                _ if !spec.accepts_arg_count(d.args().len()) => (
                    format!("invalid number of arguments in \"{name}\" directive"),
                    format!(
                        "\"{name}\" takes {}, here it has {}",
                        spec.args.describe(),
                        d.args().len()
                    ),
                ),
                _ => continue,
            };
            out.push(
                cx.diagnostic(&META, node.file, d.head_span(), message)
                    .with_help(help),
            );
        }
    }
}
