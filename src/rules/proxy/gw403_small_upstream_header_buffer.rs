use super::options::{OptionsSpec, Size};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};

pub struct SmallUpstreamHeaderBuffer;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW403,
    severity: Severity::Warning,
    summary: "`*_buffer_size` set below the minimum for response headers",
    fix: FixAvailability::None,
    options: Some(OptionsSpec::of::<Options>(&[(
        "minimum",
        "smallest acceptable proxy/fastcgi/grpc/uwsgi/scgi_buffer_size (an nginx size)",
    )])),
    doc: r#"## What it finds
`proxy_buffer_size`, `fastcgi_buffer_size`, `grpc_buffer_size`, `uwsgi_buffer_size` or
`scgi_buffer_size` explicitly set below the `minimum` option (8k by default). The default
(one memory page, 4k or 8k) is not reported.

## Why it matters
This buffer must hold the whole response header block. Applications that set several large
cookies (sessions, CSRF tokens, JWTs) or long `Link`/`Content-Security-Policy` headers
overflow it, and nginx answers 502:

```
[error] upstream sent too big header while reading response header from upstream, client: ..., upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:"
```

## Example
```nginx
location ~ \.php$ {
    fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    fastcgi_buffer_size 2k;
}
```

## Use instead
```nginx
location ~ \.php$ {
    fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    fastcgi_buffer_size 16k;
    fastcgi_buffers 8 16k;
}
```

## Fix safety
No automatic fix: raising `*_buffer_size` can also require raising `*_buffers` and
`*_busy_buffers_size` (nginx -t checks their relation)."#,
};

/// GW403's options.
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
struct Options {
    minimum: Size,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            minimum: Size::new("8k"),
        }
    }
}

const DIRECTIVES: &[&str] = &[
    "proxy_buffer_size",
    "fastcgi_buffer_size",
    "grpc_buffer_size",
    "uwsgi_buffer_size",
    "scgi_buffer_size",
];

impl Rule for SmallUpstreamHeaderBuffer {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let Options { minimum } = cx.options(&META);
        let minimum_text = minimum.as_str().to_owned();
        let minimum = minimum.bytes;
        for id in cx.config.nodes_where(|name| DIRECTIVES.contains(&name)) {
            let node = cx.config.node(id);
            let Some(word) = node.directive.args().first() else {
                continue;
            };
            let Some(size) = crate::values::parse_size(word.as_str()) else {
                continue;
            };
            if size >= minimum {
                continue;
            }
            out.push(
                cx.diagnostic(
                    &META,
                    node.file,
                    word.span(),
                    format!(
                        "{} {} is below {minimum_text}: responses with large headers (cookies, CSP) fail with 502 \"upstream sent too big header while reading response header from upstream\"",
                        node.name(),
                        word.as_str()
                    ),
                )
                .with_help(format!("use at least {minimum_text} (16k is common for PHP applications), or remove it to get nginx's default")),
            );
        }
    }
}
