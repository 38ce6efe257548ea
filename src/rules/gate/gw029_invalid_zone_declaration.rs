use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};
use crate::semantic::url::atoi;
use crate::syntax::{DirRef, Span};
use crate::values::{parse_msec, parse_offset, parse_sec, parse_size};

pub struct InvalidZoneDeclaration;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW029,
    severity: Severity::Error,
    summary: "limit_req_zone / limit_conn_zone / limit_req / *_cache_path / ssl_session_cache parameters nginx refuses",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
The parameters of the directives that declare or use shared memory zones, checked as their
handlers check them (ngx_http_limit_req_zone, ngx_http_limit_conn_zone, ngx_http_limit_req,
ngx_http_file_cache_set_slot, ngx_http_ssl_session_cache and the stream twins):

- `zone=NAME` without `:SIZE`, or a size that is no size: "invalid zone size"; a zone under
  32k (8 memory pages): "zone ... is too small"; no `zone=` at all: "must have "zone" parameter";
- `rate=` other than N r/s or N r/m (`rate=10r/h`): "invalid rate";
- `limit_req ... burst=0` or `burst=abc`, `delay=0`: "invalid burst value" / "invalid delay
  value"; an unknown word: "invalid parameter";
- `proxy_cache_path` (fastcgi/uwsgi/scgi): `keys_zone=NAME` without size or under 8k,
  `levels=` other than one to three levels of 1 or 2 characters, bad `inactive=`, `max_size=`,
  `use_temp_path=`, unknown parameters, no `keys_zone=`;
- `ssl_session_cache shared:NAME` without size, a size under 32k, or a word other than off, none,
  builtin[:N], shared:NAME:SIZE.

## Why it matters
`nginx -t` fails:

```
[emerg] invalid zone size "zone=api" in /etc/nginx/nginx.conf:30
[emerg] invalid rate "rate=100r/h" in /etc/nginx/nginx.conf:31
```

## Example
```nginx
limit_req_zone $binary_remote_addr zone=api rate=100r/h;
```

## Use instead
```nginx
limit_req_zone $binary_remote_addr zone=api:10m rate=2r/m;
```

## Fix safety
No automatic fix: sizes and rates are yours to choose."#,
};

/// One memory page (x86_64, arm64 with 4k pages): nginx's minimum zone sizes are pages.
const PAGE: u64 = 4096;

/// `zone=NAME:SIZE` (the text after `key=`): nginx's message when it is refused.
fn zone_size(arg: &str, value: &str, min: u64, invalid: &str, small: &str) -> Option<String> {
    let Some((_, size)) = value.split_once(':') else {
        return Some(format!("{invalid} \"{arg}\""));
    };
    match parse_size(size) {
        None => Some(format!("{invalid} \"{arg}\"")),
        Some(n) if n < min => Some(format!("{small} \"{arg}\" is too small")),
        Some(_) => None,
    }
}

fn positive(v: &str) -> bool {
    atoi(v).is_some_and(|n| n > 0)
}

/// The first error of a directive's parameters: span and message.
fn first_error(d: DirRef<'_>) -> Option<(Span, String)> {
    let name = d.name();
    let args = d.args();
    let start = match name {
        "limit_req_zone" | "limit_conn_zone" => 1,
        "limit_req" | "ssl_session_cache" => 0,
        _ if name.ends_with("_cache_path") => 1,
        _ => return None,
    };
    let mut has_zone = false;
    for w in args.iter().skip(start) {
        let a = w.as_str();
        let bad = |m: String| Some((w.span(), m));
        let invalid = || Some((w.span(), format!("invalid parameter \"{a}\"")));
        match name {
            "limit_req_zone" | "limit_conn_zone" => {
                if let Some(v) = a.strip_prefix("zone=") {
                    has_zone = true;
                    if let Some(m) = zone_size(a, v, 8 * PAGE, "invalid zone size", "zone") {
                        return bad(m);
                    }
                } else if let (Some(v), "limit_req_zone") = (a.strip_prefix("rate="), name) {
                    let digits = v
                        .strip_suffix("r/s")
                        .or_else(|| v.strip_suffix("r/m"))
                        .unwrap_or(v);
                    if !positive(digits) {
                        return bad(format!("invalid rate \"{a}\""));
                    }
                } else {
                    return invalid();
                }
            }
            "limit_req" => {
                if a.starts_with("zone=") {
                    has_zone = true;
                } else if let Some(v) = a.strip_prefix("burst=") {
                    if !positive(v) {
                        return bad(format!("invalid burst value \"{a}\""));
                    }
                } else if let Some(v) = a.strip_prefix("delay=") {
                    if !positive(v) {
                        return bad(format!("invalid delay value \"{a}\""));
                    }
                } else if a != "nodelay" {
                    return invalid();
                }
            }
            "ssl_session_cache" => {
                has_zone = true;
                let ok = match a {
                    "off" | "none" | "builtin" => true,
                    _ if a.starts_with("builtin:") => atoi(&a[8..]).is_some(),
                    _ if a.starts_with("shared:") && a.len() > 7 => match a[7..].split_once(':') {
                        Some((zone, size)) if !zone.is_empty() => match parse_size(size) {
                            Some(n) if n < 8 * PAGE => {
                                return bad(format!("session cache \"{a}\" is too small"))
                            }
                            Some(_) => true,
                            None => false,
                        },
                        _ => false,
                    },
                    _ => false,
                };
                if !ok {
                    return bad(format!("invalid session cache \"{a}\""));
                }
            }
            _ => {
                // *_cache_path
                let (key, v) = a.split_once('=').unwrap_or((a, ""));
                let ok = match key {
                    "levels" => {
                        let parts: Vec<&str> = v.split(':').collect();
                        parts.len() <= 3 && parts.iter().all(|p| matches!(*p, "1" | "2"))
                    }
                    "use_temp_path" => {
                        if !matches!(v, "on" | "off") {
                            return bad(format!(
                                "invalid use_temp_path value \"{a}\", it must be \"on\" or \"off\""
                            ));
                        }
                        true
                    }
                    "keys_zone" => {
                        has_zone = true;
                        if let Some(m) =
                            zone_size(a, v, 2 * PAGE, "invalid keys zone size", "keys zone")
                        {
                            return bad(m);
                        }
                        true
                    }
                    "inactive" => parse_sec(v).is_some(),
                    "max_size" | "min_free" => parse_offset(v).is_some(),
                    "loader_files" | "manager_files" => atoi(v).is_some(),
                    "loader_sleep" | "loader_threshold" | "manager_sleep" | "manager_threshold" => {
                        parse_msec(v).is_some()
                    }
                    _ => return invalid(),
                };
                if !ok {
                    return bad(if key == "levels" {
                        format!("invalid \"levels\" \"{a}\"")
                    } else {
                        format!("invalid {key} value \"{a}\"")
                    });
                }
            }
        }
    }
    if !has_zone && name != "ssl_session_cache" {
        let param = if name.ends_with("_cache_path") {
            "keys_zone"
        } else {
            "zone"
        };
        return Some((
            d.head_span(),
            format!("\"{name}\" must have \"{param}\" parameter"),
        ));
    }
    None
}

impl Rule for InvalidZoneDeclaration {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        for name in [
            "limit_req_zone",
            "limit_conn_zone",
            "limit_req",
            "proxy_cache_path",
            "fastcgi_cache_path",
            "uwsgi_cache_path",
            "scgi_cache_path",
            "ssl_session_cache",
        ] {
            for &id in config.nodes_named(name) {
                let n = config.node(id);
                // A wrong argument count is GW012's (nginx checks it first).
                let arity_ok = cx
                    .directives
                    .for_context(name, n.context)
                    .is_some_and(|s| s.accepts_arg_count(n.directive.args().len()));
                if !arity_ok {
                    continue;
                }
                if let Some((span, message)) = first_error(n.directive) {
                    out.push(cx.diagnostic(&META, n.file, span, message).with_help(
                        "zones are zone=NAME:SIZE (at least 32k; keys_zone at least 8k), rates N r/s or N r/m, sessions shared:NAME:SIZE",
                    ));
                }
            }
        }
    }
}
