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
request gets connection refused).

nginx stops at its first error. nginx-gwlint reads on past each one, so that every error is
reported at once and nginx's first is always among them:
- a `}` right after a directive's words ends that directive (the missing `;`), then its block;
- a stray `;` or a top-level `}` is skipped;
- a `{` nginx refuses still pairs with its `}`, and its body is dropped;
- at the end of the file an unfinished directive is dropped and open blocks are closed.

The other rules then run on what was read. Errors after the first one describe the file as it
reads once that first mistake is mended.

Where part of a file cannot be read as directives, only the load rules run: an unterminated
quote, a token longer than nginx's buffer, nesting too deep, a binary file, or more than 64
errors. `--fix` writes nothing while any file has a syntax error.

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
                ParseErrorKind::TooLarge => "split the text into files nginx includes",
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
