use super::structure::{checked_nodes, well_formed};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};
use crate::directives::ValueKind;
use crate::syntax::Word;
use crate::values::{atoi, parse_flag, parse_msec, parse_offset, parse_sec, parse_size};

pub struct InvalidValue;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW013,
    severity: Severity::Error,
    summary: "a time, size, offset, on/off, number or keyword value nginx refuses",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
A value that the directive's generic nginx parser refuses, checked with the same rules as
nginx's `ngx_conf_set_*_slot` functions (src/core/ngx_conf_file.c):

| value | accepted | nginx says |
|---|---|---|
| time (`proxy_read_timeout`) | `90`, `30s`, `1m30s`, `500ms`, `1h 30m`: units ms s m h d w (M y only for seconds-valued directives), largest first, no space between number and unit | `"proxy_read_timeout" directive invalid value` |
| size (`client_body_buffer_size`, `proxy_buffer_size`...) | `1024`, `16k`, `8m` (no `g`) | `"x" directive invalid value` |
| offset (`client_max_body_size`, `proxy_max_temp_file_size`...) | `1024`, `16k`, `8m`, `1g` | `"x" directive invalid value` |
| on/off (`proxy_buffering`) | `on`, `off`, any case | `invalid value "yes" in "proxy_buffering" directive, it must be "on" or "off"` |
| number (`worker_connections`...) | digits only | `"x" directive invalid number` |
| keyword (`proxy_cache_methods`, `ssl_protocols`...) | one of the directive's words, any case | `invalid value "x"` |

Only directives whose setter is one of those generic functions are checked (grammar
`kind` time, time_sec, size, offset, flag, number, enum, bitmask); custom setters such as
`keepalive_timeout` in http or `listen` have their own syntax. Values that contain a variable
are not checked: configuration templates substitute them (envsubst, Docker entrypoints)
before nginx reads the file.

## Why it matters
`nginx -t` fails, so the timeout or buffer you raised to fix a 504 or 502 never takes effect:
a reload keeps the old configuration, a restart leaves nginx down.

## Example
```nginx
location / {
    proxy_read_timeout 5 m;
    proxy_buffering yes;
    client_body_buffer_size 1g;
}
```

## Use instead
```nginx
location / {
    proxy_read_timeout 5m;
    proxy_buffering on;
    client_body_buffer_size 1m;
}
```

## Fix safety
No automatic fix: the intended value is a guess."#,
};

impl Rule for InvalidValue {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        for (id, node) in checked_nodes(cx) {
            let Some(spec) = well_formed(cx, id) else {
                continue;
            };
            let Some(kind) = spec.kind else { continue };
            let name = node.name();
            let args = &node.directive.args;
            if matches!(kind, ValueKind::Bufs) {
                // ngx_conf_set_bufs_slot: a number of buffers and a size, both above zero.
                let bad = match args.as_slice() {
                    [num, size] => [(num, atoi(num.as_str())), (size, parse_size(size.as_str()))]
                        .into_iter()
                        .find(|(w, v)| !w.has_variable() && v.is_none_or(|v| v == 0))
                        .map(|(w, _)| w),
                    _ => None,
                };
                if let Some(word) = bad {
                    out.push(
                        cx.diagnostic(
                            &META,
                            node.file,
                            word.span,
                            format!("\"{name}\" directive invalid value"),
                        )
                        .with_help(format!(
                            "\"{}\" is not part of NUMBER SIZE: a number of buffers and their size, both above zero (8 4k)",
                            word.as_str()
                        )),
                    );
                }
                continue;
            }
            // The generic slots read the first argument; the bitmask slot reads them all and
            // stops at the first word it does not know.
            let words: &[Word] = match kind {
                ValueKind::Bitmask => args,
                _ => args.get(..1).unwrap_or_default(),
            };
            for word in words {
                if word.has_variable() {
                    continue;
                }
                let Some((message, help)) = invalid(kind, name, word.as_str(), &spec.values) else {
                    continue;
                };
                out.push(
                    cx.diagnostic(&META, node.file, word.span, message)
                        .with_help(help),
                );
                break;
            }
        }
    }
}

/// nginx's message and a help line when `value` is invalid for `kind`.
fn invalid(
    kind: ValueKind,
    name: &str,
    value: &str,
    values: &[String],
) -> Option<(String, String)> {
    let slot = format!("\"{name}\" directive invalid value");
    let (valid, message, help) = match kind {
        ValueKind::Time => (
            parse_msec(value).is_some(),
            slot,
            "a time: digits with units ms, s, m, h, d, w, largest first, no space before a unit (30s, 1m30s, 500ms)",
        ),
        ValueKind::TimeSec => (
            parse_sec(value).is_some(),
            slot,
            "a time in seconds: digits with units s, m, h, d, w, M, y, largest first (30s, 1m30s, 1h); ms is refused here",
        ),
        ValueKind::Size => (
            parse_size(value).is_some(),
            slot,
            "a size: digits with an optional k or m suffix (16k, 8m); g is refused here",
        ),
        ValueKind::Offset => (
            parse_offset(value).is_some(),
            slot,
            "a size: digits with an optional k, m or g suffix (16k, 8m, 1g)",
        ),
        ValueKind::Number => (
            atoi(value).is_some(),
            format!("\"{name}\" directive invalid number"),
            "a whole number (digits only, no sign or unit)",
        ),
        ValueKind::Flag => (
            parse_flag(value).is_some(),
            format!(
                "invalid value \"{value}\" in \"{name}\" directive, it must be \"on\" or \"off\""
            ),
            "on or off",
        ),
        ValueKind::Enum | ValueKind::Bitmask => {
            let valid = values.iter().any(|v| v.eq_ignore_ascii_case(value));
            let help = format!("\"{name}\" accepts: {}", values.join(", "));
            return (!valid).then(|| (format!("invalid value \"{value}\""), help));
        }
        ValueKind::Bufs | ValueKind::String | ValueKind::Path | ValueKind::Keyval => return None,
    };
    (!valid).then(|| (message, format!("\"{value}\" is not {help}")))
}
