use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::Family;
use crate::directives::Context;
use crate::diagnostic::{Diagnostic, Severity};

pub struct ProxyPassUriInRegexLocation;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW205,
    severity: Severity::Error,
    summary: "proxy_pass with a URI part where nginx refuses one (regex or named location, if, limit_except)",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
`proxy_pass` whose URL has a URI part (anything from the `/` after host:port on, even a lone
`/`) inside a regex location (`location ~ ...`, `location ~* ...`), a named location
(`location @name`), an `if` block, or a `limit_except` block. nginx cannot say which part of
the request URI such a location matched, so it has nothing to replace. A `proxy_pass` with
variables is allowed there (nginx then passes the URI as written) and is not reported.

## Why it matters
`nginx -t` refuses the configuration and a reload fails:

```
[emerg] "proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block in /etc/nginx/conf.d/app.conf:12
```

## Example
```nginx
location ~ ^/api/(.*)$ {
    proxy_pass http://127.0.0.1:3000/;
}
```

## Use instead
```nginx
location ~ ^/api/(.*)$ {
    proxy_pass http://127.0.0.1:3000/$1$is_args$args;   # or no URI part at all
}
```

## Fix safety
No automatic fix: dropping the URI changes which path the backend sees."#,
};

impl Rule for ProxyPassUriInRegexLocation {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        for p in cx.passes() {
            let (pass, family) = (p.node, p.family);
            if family != Family::Proxy {
                continue;
            }
            let node = config.node(pass);
            let Some(word) = node.directive.args().first() else {
                continue;
            };
            if word.has_variable() {
                continue;
            }
            let Some(addr) = p.address.as_ref() else {
                continue;
            };
            let Some(uri) = &addr.uri else { continue };
            let Some(block) = config.block_of(pass) else {
                continue;
            };
            let place = match node.context {
                Context::IfLocation => "inside an `if` block",
                Context::LimitExcept => "inside a `limit_except` block",
                _ if config.is_regex_location(block) => "in a regex location",
                _ if config.is_named_location(block) => "in a named location",
                _ => continue,
            };
            let bnode = config.node(block);
            let (bfile, head) = (bnode.file, bnode.directive.head_span());
            out.push(
                cx.diagnostic(
                    &META,
                    node.file,
                    word.span(),
                    format!(
                        "proxy_pass with URI part \"{uri}\" {place}: nginx -t fails with \"\\\"proxy_pass\\\" cannot have URI part in location given by regular expression, or inside named location, or inside \\\"if\\\" statement, or inside \\\"limit_except\\\" block\""
                    ),
                )
                .with_label(bfile, head, "this block")
                .with_help("remove the URI part, or build the URI with variables (e.g. the regex captures: http://backend/$1$is_args$args)"),
            );
        }
    }
}
