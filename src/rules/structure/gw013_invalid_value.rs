use super::structure::{checked_nodes, well_formed};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};
use crate::directives::ValueKind;
use crate::syntax::{Args, WordRef};
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

Directives whose setter is one of those generic functions are checked (grammar `kind` time,
time_sec, size, offset, flag, number, enum, bitmask), and the few whose own setter reads its
value the same way:

| directive | accepted | nginx says |
|---|---|---|
| `keepalive_timeout` (http) | a time, then an optional time in seconds (`75s`, `75s 60s`) | `"keepalive_timeout" directive invalid value` |
| `worker_connections` | digits only | `invalid number "abc"` |
| `worker_priority` | digits with an optional `-` or `+` | `"worker_priority" directive invalid number` |
| `directio` | `off` or a size with k, m or g | `"directio" directive invalid value` |
| `userid_expires` | `max`, `off` or a time in seconds | `"userid_expires" directive invalid value` |

Other custom setters have their own syntax and rules: `worker_processes` (GW027), the
upstream `keepalive` (GW023), `listen` (GW025). Values that contain a variable are not
checked: configuration templates substitute them (envsubst, Docker entrypoints) before nginx
reads the file.

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
            let name = node.name();
            let args = node.directive.args();
            if let Some(custom) = CUSTOM
                .iter()
                .find(|c| c.name == name && c.module == spec.module)
            {
                if let Some((word, message, help)) = custom.invalid(args) {
                    out.push(
                        cx.diagnostic(&META, node.file, word.span(), message)
                            .with_help(help),
                    );
                }
                continue;
            }
            let Some(kind) = spec.kind else { continue };
            if matches!(kind, ValueKind::Bufs) {
                // ngx_conf_set_bufs_slot: a number of buffers and a size, both above zero.
                let bad = match args.array() {
                    Some([num, size]) => [(num, atoi(num.as_str())), (size, parse_size(size.as_str()))]
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
                            word.span(),
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
            let words: Args<'_> = match kind {
                ValueKind::Bitmask => args,
                _ => args.slice(..1),
            };
            for word in words {
                if word.has_variable() {
                    continue;
                }
                let Some((message, help)) = invalid(kind, name, word.as_str(), &spec.values) else {
                    continue;
                };
                out.push(
                    cx.diagnostic(&META, node.file, word.span(), message)
                        .with_help(help),
                );
                break;
            }
        }
    }
}

/// A directive whose own setter reads its arguments the way a generic slot does (the grammar
/// gives such directives no `kind`), with the keywords it takes first and nginx's message.
struct Custom {
    name: &'static str,
    module: &'static str,
    /// Words the setter compares (case-sensitively, `ngx_strcmp`) before parsing the value.
    keywords: &'static [&'static str],
    /// How each argument is read, in order.
    args: &'static [Read],
    message: Message,
}

#[derive(Clone, Copy)]
enum Read {
    Kind(ValueKind),
    /// `ngx_set_priority`: one optional `-` or `+`, then digits.
    Signed,
}

#[derive(Clone, Copy)]
enum Message {
    /// `"NAME" directive invalid value` (the setter returns "invalid value").
    Value,
    /// `"NAME" directive invalid number` (the setter returns "invalid number").
    Number,
    /// `invalid number "VALUE"` (logged by the setter itself).
    NumberQuoted,
}

/// The custom setters of this kind (nginx 1.22.1 sources; `worker_processes` is GW027's, the
/// upstream `keepalive` GW023's).
const CUSTOM: &[Custom] = &[
    // ngx_http_core_keepalive: ngx_parse_time(value[1], 0), then ngx_parse_time(value[2], 1).
    Custom {
        name: "keepalive_timeout",
        module: "ngx_http_core_module",
        keywords: &[],
        args: &[Read::Kind(ValueKind::Time), Read::Kind(ValueKind::TimeSec)],
        message: Message::Value,
    },
    // ngx_event_connections: ngx_atoi.
    Custom {
        name: "worker_connections",
        module: "ngx_event_core_module",
        keywords: &[],
        args: &[Read::Kind(ValueKind::Number)],
        message: Message::NumberQuoted,
    },
    // ngx_set_priority (src/core/nginx.c).
    Custom {
        name: "worker_priority",
        module: "ngx_core_module",
        keywords: &[],
        args: &[Read::Signed],
        message: Message::Number,
    },
    // ngx_http_core_directio: "off", else ngx_parse_offset.
    Custom {
        name: "directio",
        module: "ngx_http_core_module",
        keywords: &["off"],
        args: &[Read::Kind(ValueKind::Offset)],
        message: Message::Value,
    },
    // ngx_http_userid_expires: "max", "off", else ngx_parse_time(value, 1).
    Custom {
        name: "userid_expires",
        module: "ngx_http_userid_filter_module",
        keywords: &["max", "off"],
        args: &[Read::Kind(ValueKind::TimeSec)],
        message: Message::Value,
    },
];

impl Custom {
    /// The first argument the setter refuses, with nginx's message and a help line.
    fn invalid<'w>(&self, args: Args<'w>) -> Option<(WordRef<'w>, String, String)> {
        for (word, read) in args.iter().zip(self.args) {
            let value = word.as_str();
            if word.has_variable() || self.keywords.contains(&value) {
                continue;
            }
            let help = match read {
                Read::Kind(kind) => match invalid(*kind, self.name, value, &[]) {
                    Some((_, help)) => help,
                    None => continue,
                },
                Read::Signed => {
                    let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
                    if atoi(digits).is_some() {
                        continue;
                    }
                    format!("\"{value}\" is not a whole number with an optional sign (-5, 0, 10)")
                }
            };
            let message = match self.message {
                Message::Value => format!("\"{}\" directive invalid value", self.name),
                Message::Number => format!("\"{}\" directive invalid number", self.name),
                Message::NumberQuoted => format!("invalid number \"{value}\""),
            };
            let help = match self.keywords {
                [] => help,
                words => help.replacen(" is not ", &format!(" is not {}, nor ", words.join(", ")), 1),
            };
            return Some((word, message, help));
        }
        None
    }
}

/// nginx's message and a help line when `value` is invalid for `kind`. The check comes first:
/// the strings are built only for an invalid value (nearly every value is valid).
fn invalid(
    kind: ValueKind,
    name: &str,
    value: &str,
    values: &[String],
) -> Option<(String, String)> {
    let (valid, help) = match kind {
        ValueKind::Time => (
            parse_msec(value).is_some(),
            "a time: digits with units ms, s, m, h, d, w, largest first, no space before a unit (30s, 1m30s, 500ms)",
        ),
        ValueKind::TimeSec => (
            parse_sec(value).is_some(),
            "a time in seconds: digits with units s, m, h, d, w, M, y, largest first (30s, 1m30s, 1h); ms is refused here",
        ),
        ValueKind::Size => (
            parse_size(value).is_some(),
            "a size: digits with an optional k or m suffix (16k, 8m); g is refused here",
        ),
        ValueKind::Offset => (
            parse_offset(value).is_some(),
            "a size: digits with an optional k, m or g suffix (16k, 8m, 1g)",
        ),
        ValueKind::Number => (
            atoi(value).is_some(),
            "a whole number (digits only, no sign or unit)",
        ),
        ValueKind::Flag => (parse_flag(value).is_some(), "on or off"),
        ValueKind::Enum | ValueKind::Bitmask => {
            if values.iter().any(|v| v.eq_ignore_ascii_case(value)) {
                return None;
            }
            let help = format!("\"{name}\" accepts: {}", values.join(", "));
            return Some((format!("invalid value \"{value}\""), help));
        }
        ValueKind::Bufs | ValueKind::String | ValueKind::Path | ValueKind::Keyval => return None,
    };
    if valid {
        return None;
    }
    let message = match kind {
        ValueKind::Number => format!("\"{name}\" directive invalid number"),
        ValueKind::Flag => format!(
            "invalid value \"{value}\" in \"{name}\" directive, it must be \"on\" or \"off\""
        ),
        _ => format!("\"{name}\" directive invalid value"),
    };
    Some((message, format!("\"{value}\" is not {help}")))
}
