use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};
use crate::syntax::{ParseErrorKind, Span};

pub struct ParseError;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW001,
    severity: Severity::Error,
    summary: "a file nginx's tokenizer rejects",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
Anything nginx's own tokenizer refuses: unbalanced braces, a missing `;`, an unterminated
quote, a file that ends inside a block, a token longer than 4096 bytes, text right after a
closing quote. The message is nginx's own, at the place nginx notices the problem.

## Why it matters
`nginx -t` fails and a reload keeps the old configuration (or a restart fails and every
request gets connection refused). While any file fails to parse, no other rule runs and
`--fix` writes nothing.

## Example
```nginx
location /api {
    proxy_pass http://127.0.0.1:3000
}
```
nginx: `unexpected "}"`: the `;` after proxy_pass is missing.

## Use instead
```nginx
location /api {
    proxy_pass http://127.0.0.1:3000;
}
```

## Fix safety
No automatic fix: where the `;` or brace belongs is a guess."#,
};

impl Rule for ParseError {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        for (file, err) in &cx.tree.parse_errors {
            let help = match err.kind {
                ParseErrorKind::Unexpected(b'}') => {
                    "a directive before this `}` is probably missing its `;`, or there is one `}` too many"
                }
                ParseErrorKind::Unexpected(b'{') => "a `{` needs a directive name before it",
                ParseErrorKind::Unexpected(b';') => "remove the extra `;`",
                ParseErrorKind::Unexpected(_) => {
                    "after a closing quote nginx expects a space, `;`, `{` or `)`"
                }
                ParseErrorKind::EofInDirective => {
                    "the last directive is missing its `;` (or a quote is not closed)"
                }
                ParseErrorKind::EofInBlock => {
                    "a block is not closed: add the missing `}` (each included file must balance its own braces)"
                }
                ParseErrorKind::TooLongParameter | ParseErrorKind::TooLongQuoted(_) => {
                    "nginx reads tokens through a 4096-byte buffer; a longer one usually means a quote is not closed"
                }
                ParseErrorKind::TooDeep => "flatten the configuration",
            };
            let at = err.offset.min(cx.tree.sources.get(*file).text.len());
            let end = if matches!(err.kind, ParseErrorKind::Unexpected(_)) {
                at + 1
            } else {
                at
            };
            out.push(
                cx.diagnostic(
                    &META,
                    *file,
                    Span::new(at, end.min(cx.tree.sources.get(*file).text.len())),
                    err.message.clone(),
                )
                .with_help(help),
            );
        }
    }
}
