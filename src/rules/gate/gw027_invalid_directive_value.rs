use foldhash::{HashMap, HashMapExt};

use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::NodeId;
use crate::directives::Context;
use crate::diagnostic::{Diagnostic, Severity};
use crate::semantic::condition;
use crate::semantic::sites::{location_form, LocationForm};
use crate::semantic::url::atoi;
use crate::syntax::{DirRef, Span};

pub struct InvalidDirectiveValue;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW027,
    severity: Severity::Error,
    summary: "a value the directive's own handler refuses: return/error_page codes, if conditions, rewrite/add_header flags, location modifiers, root with alias, map entries",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
What the handlers of single directives refuse, beyond the generic time/size/flag values GW013
checks (each message is nginx's):

- `return abc;`, `return /path;`, `return 1000;`: "invalid return code" (a URL needs `http://`,
  `https://` or `$scheme` in front, or a code: `return 301 /path;`);
- `error_page 200 ...` ("must be between 300 and 599"), `error_page 499 ...`, `=abc`: "invalid
  value";
- `if` conditions: a missing parenthesis, `==`, an unknown file test (`-q`), extra words:
  "invalid condition", "unexpected "==" in condition";
- `rewrite ... flag` other than last, break, redirect, permanent; `add_header`/`add_trailer`
  with a fourth word other than `always`: "invalid parameter";
- `location foo /x`: "invalid location modifier";
- `root` and `alias` in one location: `"alias" directive is duplicate, "root" directive was
  specified earlier`;
- `map`: a target without `$` ("invalid variable name"), the same key twice (keys compare
  without case; with `hostnames`, `.example.com` also covers `example.com` and
  `*.example.com`): "conflicting parameter"; two `default` lines; an entry with more than two
  words: "invalid number of the map parameters";
- `limit_conn zone 0` ("invalid number of connections"), `limit_req_status`/`limit_conn_status`
  outside 400-599;
- `access_log off` with anything after it, or an `access_log` parameter other than buffer=,
  flush=, gzip[=1-9] and if=; a zero or malformed buffer size or flush time; flush= without a
  buffer ("invalid parameter", "invalid buffer size", "no buffer is defined for access_log");
- `try_files ... =404x` ("invalid code"), `limit_except FOO` ("invalid method"),
  `open_file_cache` parameters, `error_log` levels ("invalid log level", "duplicate log
  level"), `log_format ... escape=html`, `split_clients` percentages ("invalid percent value",
  "percent total is greater than 100%"), `resolver ... valid=`/`ipv6=` values,
  `gzip_comp_level` outside 1-9, `expires` values, `limit_rate 10kk`;
- upstream `hash KEY` with a second word other than `consistent`, `random` other than
  `random [two [least_conn]]` (http and stream), invalid `allow`/`deny` addresses in stream;
- `fastcgi_param NAME VALUE if_empty` (only if_not_empty), a one-word `proxy_redirect` other
  than default/off, `disable_symlinks` and `*_store_access` values, `proxy_limit_rate 1x`;
- `proxy_cache_valid` (and fastcgi/uwsgi/scgi) with a last word that is no time ("invalid
  time value") or a code outside 100-599 ("invalid status");
- `aio on` on an nginx built without `--with-file-aio`, `aio threads` without
  `--with-threads`: "\"aio on\" is unsupported on this platform" (only when the target's build
  is known: this machine's nginx checking its own configuration, or the `--sysroot`'s binary,
  whose configure arguments are read; elsewhere nothing is said);
- `worker_processes` other than a number or auto, `thread_pool` threads=/max_queue=,
  `http2_chunk_size 0`;
- `proxy_temp_path` (and the other `*_temp_path`) with a level that is not a positive number,
  or levels adding up to more than 10 (`ngx_conf_set_path_slot`): "invalid value". A `;`
  missing after the path makes the next directive's words levels:
  `proxy_temp_path /var/tmp/proxy fastcgi_temp_path /var/tmp/fcgi;`.

## Why it matters
`nginx -t` fails and the configuration does not load:

```
[emerg] invalid return code "/maintenance.html" in /etc/nginx/sites-enabled/app:9
```

## Example
```nginx
location /old { return /new; }
```

## Use instead
```nginx
location /old { return 301 /new; }
```

## Fix safety
No automatic fix: the intended status code or flag is your decision."#,
};

fn return_error(d: DirRef<'_>) -> Option<(Span, String)> {
    let w = d.args().first()?;
    let v = w.as_str();
    let bad = match atoi(v) {
        Some(n) => n > 999,
        None => {
            !(d.args().len() == 1
                && (v.starts_with("http://")
                    || v.starts_with("https://")
                    || v.starts_with("$scheme")))
        }
    };
    bad.then(|| (w.span(), format!("invalid return code \"{v}\"")))
}

fn error_page_error(d: DirRef<'_>) -> Option<(Span, String)> {
    let n = d.args().len();
    if n < 2 {
        return None;
    }
    let mut codes_end = n - 1;
    let eq = d.args().get(n - 2)?;
    if eq.as_str().starts_with('=') {
        if n - 2 == 0 {
            return Some((eq.span(), format!("invalid value \"{}\"", eq.as_str())));
        }
        let rest = &eq.as_str()[1..];
        if !rest.is_empty() && atoi(rest).is_none() {
            return Some((eq.span(), format!("invalid value \"{}\"", eq.as_str())));
        }
        codes_end = n - 2;
    }
    for w in d.args().slice(..codes_end) {
        match atoi(w.as_str()) {
            None | Some(499) => return Some((w.span(), format!("invalid value \"{}\"", w.as_str()))),
            Some(c) if !(300..=599).contains(&c) => {
                return Some((
                    w.span(),
                    format!("value \"{}\" must be between 300 and 599", w.as_str()),
                ))
            }
            _ => {}
        }
    }
    None
}

/// `ngx_inet_addr`: four decimal octets.
fn inet_addr(s: &str) -> Option<u32> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut addr = 0u32;
    for p in parts {
        let n = atoi(p).filter(|n| *n < 256)?;
        addr = (addr << 8) | n as u32;
    }
    Some(addr)
}

/// `ngx_ptocidr` on an allow/deny argument: `None` when nginx refuses it, `Some(true)` when
/// host bits are set below the mask (nginx warns "low address bits ... are meaningless").
fn cidr(text: &str) -> Option<bool> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(atoi(l)?)),
        None => (text, None),
    };
    if let Some(v4) = inet_addr(addr) {
        let len = len.unwrap_or(32);
        if len > 32 {
            return None;
        }
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        return Some(v4 & !mask != 0);
    }
    let v6: std::net::Ipv6Addr = addr.parse().ok()?;
    let len = len.unwrap_or(128);
    if len > 128 {
        return None;
    }
    let bits = u128::from(v6);
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    Some(bits & !mask != 0)
}

/// The nesting rules of `ngx_http_core_location` for a location inside another.
/// `ngx_methods_names` (ngx_http_core_module.c): what `limit_except` accepts, in any case.
const HTTP_METHODS: &[&str] = &[
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "MKCOL",
    "COPY",
    "MOVE",
    "OPTIONS",
    "PROPFIND",
    "PROPPATCH",
    "LOCK",
    "UNLOCK",
    "PATCH",
];

/// `ngx_http_core_open_file_cache`: max= a positive number, inactive= a time, off; and max= is
/// required unless off.
fn open_file_cache_error(d: DirRef<'_>) -> Option<(Span, String)> {
    let (mut max, mut off) = (false, false);
    for w in d.args() {
        let v = w.as_str();
        let ok = if let Some(n) = v.strip_prefix("max=") {
            max = true;
            atoi(n).is_some_and(|n| n > 0)
        } else if let Some(t) = v.strip_prefix("inactive=") {
            crate::values::parse_sec(t).is_some()
        } else if v == "off" {
            off = true;
            true
        } else {
            false
        };
        if !ok {
            return Some((w.span(), format!("invalid \"open_file_cache\" parameter \"{v}\"")));
        }
    }
    (!off && !max).then(|| {
        (
            d.head_span(),
            "\"open_file_cache\" must have the \"max\" parameter".to_owned(),
        )
    })
}

/// `ngx_log_set_levels`: after the file, one of nginx's levels, or debug_* masks, not both; a
/// level after anything is "duplicate", a mask after a level "invalid".
fn error_log_error(d: DirRef<'_>) -> Option<(Span, String)> {
    const DEBUG: &[&str] = &[
        "debug_core",
        "debug_alloc",
        "debug_mutex",
        "debug_event",
        "debug_http",
        "debug_mail",
        "debug_stream",
    ];
    let (mut level, mut masks) = (false, false);
    for w in d.args().iter().skip(1) {
        let v = w.as_str();
        if crate::diagnose::Level::from_name(v).is_some() {
            if level || masks {
                return Some((w.span(), format!("duplicate log level \"{v}\"")));
            }
            level = true;
        } else if DEBUG.contains(&v) && !level {
            masks = true;
        } else {
            return Some((w.span(), format!("invalid log level \"{v}\"")));
        }
    }
    None
}

/// `ngx_http_split_clients`: each entry a percentage with up to two decimals (`ngx_atofp`, not
/// zero) or `*`, adding up to at most 100%.
fn split_clients_error(d: DirRef<'_>) -> Option<(Span, String)> {
    let block = d.block()?;
    let mut sum = 0u64;
    for e in block.directives() {
        let v = e.name();
        let hundredths = if v == "*" {
            None
        } else {
            match v.strip_suffix('%').and_then(hundredths).filter(|p| *p > 0) {
                Some(p) => Some(p),
                None => return Some((e.name_word().span(), format!("invalid percent value \"{v}\""))),
            }
        };
        sum = match hundredths {
            Some(p) => sum.saturating_add(p),
            None => 10_000,
        };
        if sum > 10_000 {
            return Some((e.name_word().span(), "percent total is greater than 100%".to_owned()));
        }
    }
    None
}

/// `ngx_atofp(text, 2)`: digits with at most two decimals, in hundredths.
fn hundredths(text: &str) -> Option<u64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if (int.is_empty() && frac.is_empty()) || frac.len() > 2 {
        return None;
    }
    let int = if int.is_empty() { Some(0) } else { atoi(int) }?;
    let frac = if frac.is_empty() { 0 } else { atoi(frac)? * if frac.len() == 1 { 10 } else { 1 } };
    int.checked_mul(100)?.checked_add(frac)
}

/// `ngx_resolver_create`: valid= takes a time, ipv6= on or off (the other words are addresses).
fn resolver_param_invalid(word: &str) -> bool {
    if let Some(t) = word.strip_prefix("valid=") {
        return crate::values::parse_sec(t).is_none();
    }
    if let Some(v) = word.strip_prefix("ipv6=") {
        return !matches!(v, "on" | "off");
    }
    false
}

/// `ngx_http_headers_expires` and `ngx_http_parse_expires`: the reason after `"expires"
/// directive`, for a value without variables.
fn expires_error(d: DirRef<'_>) -> Option<(Span, &'static str)> {
    let args = d.args();
    let (modified, value) = match (args.array(), args.array()) {
        (Some([v]), _) => (false, v),
        (_, Some([m, v])) => {
            if m.as_str() != "modified" {
                return Some((m.span(), "invalid value"));
            }
            (true, v)
        }
        _ => return None,
    };
    let text = value.as_str();
    if text.contains('$') || (!modified && matches!(text, "epoch" | "max" | "off")) {
        return None;
    }
    let (daily, time) = match text.as_bytes().first() {
        Some(b'@') => (true, &text[1..]),
        Some(b'+' | b'-') => (false, &text[1..]),
        _ => (false, text),
    };
    if daily && modified {
        return Some((value.span(), "daily time cannot be used with \"modified\" parameter"));
    }
    match crate::values::parse_sec(time) {
        None => Some((value.span(), "invalid value")),
        Some(t) if daily && t > 24 * 60 * 60 => {
            Some((value.span(), "daily time value must be less than 24 hours"))
        }
        Some(_) => None,
    }
}

/// `ngx_http_file_cache_valid_set_slot`: the last word is a time, the others status codes from
/// 100 to 599 or `any`. A `;` missing after it makes the next directive's words its own.
fn cache_valid_error(d: DirRef<'_>) -> Option<(Span, String)> {
    let (time, codes) = d.args().split_last()?;
    if !time.has_variable() && crate::values::parse_sec(time.as_str()).is_none() {
        return Some((time.span(), format!("invalid time value \"{}\"", time.as_str())));
    }
    codes
        .iter()
        .find(|w| w.as_str() != "any" && atoi(w.as_str()).is_none_or(|c| !(100..=599).contains(&c)))
        .map(|w| (w.span(), format!("invalid status \"{}\"", w.as_str())))
}

/// `ngx_thread_pool`: threads= a positive number (required), max_queue= a number; other words
/// are ignored.
fn thread_pool_error(d: DirRef<'_>) -> Option<(Span, String)> {
    let mut threads = false;
    for w in d.args().iter().skip(1) {
        let v = w.as_str();
        if let Some(t) = v.strip_prefix("threads=") {
            if atoi(t).is_none_or(|t| t == 0) {
                return Some((w.span(), format!("invalid threads value \"{v}\"")));
            }
            threads = true;
        } else if let Some(q) = v.strip_prefix("max_queue=") {
            if atoi(q).is_none() {
                return Some((w.span(), format!("invalid max_queue value \"{v}\"")));
            }
        }
    }
    (!threads).then(|| {
        (
            d.head_span(),
            "\"thread_pool\" must have \"threads\" parameter".to_owned(),
        )
    })
}

/// `ngx_http_log_set_log`: `off` stands alone; after the path and the format only buffer=,
/// flush=, gzip[=] and if= parameters, with a positive size, a positive time, a level 1-9, and a
/// flush only with a buffer. A `;` missing after `access_log off` makes the next directive's
/// words its parameters.
fn access_log_error(d: DirRef<'_>) -> Option<(Span, String)> {
    let first = d.args().first()?;
    if first.as_str() == "off" {
        return d
            .args()
            .get(1)
            .map(|w| (w.span(), format!("invalid parameter \"{}\"", w.as_str())));
    }
    let (mut buffered, mut flushed) = (false, false);
    for w in d.args().iter().skip(2) {
        let v = w.as_str();
        if let Some(size) = v.strip_prefix("buffer=") {
            if crate::values::parse_size(size).is_none_or(|n| n == 0) {
                return Some((w.span(), format!("invalid buffer size \"{size}\"")));
            }
            buffered = true;
        } else if let Some(time) = v.strip_prefix("flush=") {
            if crate::values::parse_msec(time).is_none_or(|n| n == 0) {
                return Some((w.span(), format!("invalid flush time \"{time}\"")));
            }
            flushed = true;
        } else if v == "gzip" {
            buffered = true;
        } else if let Some(level) = v.strip_prefix("gzip=") {
            if atoi(level).is_none_or(|l| !(1..=9).contains(&l)) {
                return Some((w.span(), format!("invalid compression level \"{level}\"")));
            }
            buffered = true;
        } else if !v.starts_with("if=") {
            return Some((w.span(), format!("invalid parameter \"{v}\"")));
        }
    }
    (flushed && !buffered).then(|| {
        (
            d.head_span(),
            format!("no buffer is defined for access_log \"{}\"", first.as_str()),
        )
    })
}

/// `ngx_conf_set_path_slot` (the `*_temp_path` directives): each level after the path is a
/// positive number and the levels add up to at most 10. The span nginx's "invalid value" is about.
fn temp_path_error(d: DirRef<'_>) -> Option<Span> {
    let mut total = 0u64;
    for w in d.args().iter().skip(1) {
        match atoi(w.as_str()) {
            Some(level) if level > 0 => total = total.saturating_add(level),
            _ => return Some(w.span()),
        }
    }
    (total > 10).then(|| d.head_span())
}

fn nested_location_error(parent: DirRef<'_>, child: DirRef<'_>) -> Option<String> {
    let pform = location_form(parent)?;
    let cform = location_form(child)?;
    let pname = match pform {
        LocationForm::Exact(n) => {
            return Some(format!(
                "location \"{}\" cannot be inside the exact location \"{n}\"",
                name_of(cform)
            ));
        }
        LocationForm::Named(n) => {
            return Some(format!(
                "location \"{}\" cannot be inside the named location \"{n}\"",
                name_of(cform)
            ));
        }
        other => name_of(other),
    };
    match cform {
        LocationForm::Named(n) => Some(format!(
            "named location \"{n}\" can be on the server level only"
        )),
        LocationForm::Regex { .. } | LocationForm::InvalidModifier(_) => None,
        other => {
            let cname = name_of(other);
            (!cname.starts_with(pname))
                .then(|| format!("location \"{cname}\" is outside location \"{pname}\""))
        }
    }
}

/// The name nginx keeps for a location (`clcf->name`): the URI, the pattern, or `@name`.
fn name_of(form: LocationForm<'_>) -> &str {
    match form {
        LocationForm::Exact(n)
        | LocationForm::NoRegex(n)
        | LocationForm::Prefix(n)
        | LocationForm::Named(n) => n,
        LocationForm::Regex { pattern, .. } => pattern,
        LocationForm::InvalidModifier(m) => m,
    }
}

/// The checks of one `map` block.
fn map_errors(d: DirRef<'_>) -> Vec<(Span, String)> {
    let mut out = Vec::new();
    if let Some(target) = d.args().get(1) {
        if !target.as_str().starts_with('$') {
            out.push((
                target.span(),
                format!("invalid variable name \"{}\"", target.as_str()),
            ));
        }
    }
    let hostnames = d
        .children()
        .any(|e| e.name() == "hostnames" && e.args().is_empty());
    let mut keys: HashMap<String, ()> = HashMap::new();
    let mut default_seen = false;
    for e in d.children() {
        let key = e.name();
        if e.args().is_empty() && matches!(key, "hostnames" | "volatile") {
            continue;
        }
        if key == "include" && e.args().len() == 1 {
            continue;
        }
        if e.args().len() != 1 {
            out.push((e.span(), "invalid number of the map parameters".to_owned()));
            continue;
        }
        if key == "default" {
            if default_seen {
                out.push((e.name_word().span(), "duplicate default map parameter".to_owned()));
            }
            default_seen = true;
            continue;
        }
        if key.starts_with('~') {
            continue;
        }
        let key = key.strip_prefix('\\').unwrap_or(key).to_ascii_lowercase();
        let mut forms = vec![key.clone()];
        if hostnames {
            if let Some(base) = key.strip_prefix('.') {
                forms = vec![base.to_owned(), format!("*.{base}")];
            }
        }
        if forms.iter().any(|f| keys.contains_key(f)) {
            out.push((e.name_word().span(), format!("conflicting parameter \"{key}\"")));
        }
        for f in forms {
            keys.insert(f, ());
        }
    }
    out
}

/// `aio on` / `aio threads[=pool]` that the target's build refuses (ngx_http_core_set_aio: `on`
/// needs NGX_HAVE_FILE_AIO, from --with-file-aio; `threads` NGX_THREADS, from --with-threads):
/// nginx's message and the help. Only the target's own build says which (`build` caches it):
/// when it is not known, nothing is said.
fn aio_unsupported(
    cx: &LintContext<'_, '_>,
    build: &mut Option<Option<(String, crate::system::NginxBuild)>>,
    arg: &str,
) -> Option<(String, String)> {
    let threads = arg == "threads" || arg.starts_with("threads=");
    if arg != "on" && !threads {
        return None;
    }
    let (which, b) = build
        .get_or_insert_with(|| crate::rules::common::target_build(cx.ws))
        .as_ref()?;
    let (built, what, option, other) = if threads {
        (b.threads, "threads", "--with-threads", "`aio on;` (built --with-file-aio)")
    } else {
        (b.file_aio, "on", "--with-file-aio", "`aio threads;` (built --with-threads)")
    };
    if built {
        return None;
    }
    Some((
        format!("\"aio {what}\" is unsupported on this platform: {which}, which reads this configuration, was built without {option}"),
        format!("drop `aio`, or use {other} or an nginx built {option}"),
    ))
}

impl Rule for InvalidDirectiveValue {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let mut push = |n: NodeId, span: Span, msg: String, help: &str| {
            let file = config.node(n).file;
            out.push(
                cx.diagnostic(&META, file, span, msg)
                    .with_help(help.to_owned()),
            );
        };
        let mut out_extra: Vec<Diagnostic> = Vec::new();
        let mut root_alias: HashMap<NodeId, NodeId> = HashMap::new();
        // The target's build, read once when an `aio` needs it (None: not known).
        let mut build: Option<Option<(String, crate::system::NginxBuild)>> = None;
        for (id, n) in config.iter() {
            let d = n.directive;
            let http = n.context.is_http_like();
            match n.name() {
                // ngx_http_core_set_aio: `on` needs NGX_HAVE_FILE_AIO (--with-file-aio),
                // `threads[=pool]` NGX_THREADS (--with-threads). Only the target's own build
                // says which: else nothing is said.
                "aio" if http && d.args().len() == 1 => {
                    let Some(w) = d.args().get(0) else { continue };
                    if let Some((msg, help)) = aio_unsupported(cx, &mut build, w.as_str()) {
                        push(id, w.span(), msg, &help);
                    }
                }
                "return" if http => {
                    if let Some((span, m)) = return_error(d) {
                        push(id, span, m, "return takes a status code (return 301 /new;), a code and a text or URL (return 200 \"ok\";), or a full URL starting with http://, https:// or $scheme");
                    }
                }
                "error_page" if http => {
                    if let Some((span, m)) = error_page_error(d) {
                        push(id, span, m, "error_page CODE... [=[RESPONSE]] URI; with codes from 300 to 599 (not 499)");
                    }
                }
                "rewrite" if http && d.args().len() == 3 => {
                    let Some(w) = d.args().get(2) else { continue };
                    if !matches!(w.as_str(), "last" | "break" | "redirect" | "permanent") {
                        push(
                            id,
                            w.span(),
                            format!("invalid parameter \"{}\"", w.as_str()),
                            "rewrite flags are last, break, redirect and permanent",
                        );
                    }
                }
                "add_header" | "add_trailer" if http && d.args().len() == 3 => {
                    let Some(w) = d.args().get(2) else { continue };
                    if w.as_str() != "always" {
                        push(
                            id,
                            w.span(),
                            format!("invalid parameter \"{}\"", w.as_str()),
                            "the only parameter after the value is `always`",
                        );
                    }
                }
                "location" if matches!(n.context, Context::Server | Context::Location) => {
                    if let Some(LocationForm::InvalidModifier(m)) = location_form(d) {
                        let Some(span) = d.args().first().map(|w| w.span()) else { continue };
                        push(id, span, format!("invalid location modifier \"{m}\""), "modifiers are =, ^~, ~ and ~*; a URI with spaces must be quoted as one word");
                    } else if n.context == Context::Location {
                        let parent = n.parent().map(|p| config.node(p).directive);
                        if let Some(m) = parent.and_then(|p| nested_location_error(p, d)) {
                            push(id, d.head_span(), m, "a nested prefix location must start with its parent's URI; exact and named locations cannot hold locations; move it to the server level");
                        }
                    }
                }
                "root" | "alias"
                    if matches!(
                        n.context,
                        Context::Location | Context::Http | Context::Server | Context::IfLocation
                    ) =>
                {
                    let Some(block) = n.parent() else { continue };
                    if n.name() == "alias" && config.is_named_location(block) {
                        push(id, d.head_span(), "the \"alias\" directive cannot be used inside the named location".to_owned(), "use root in a named location (alias needs the matched prefix to replace)");
                        continue;
                    }
                    match root_alias.get(&block) {
                        Some(first) if config.node(*first).name() != n.name() => {
                            let other = config.node(*first).name();
                            push(id, d.head_span(), format!("\"{}\" directive is duplicate, \"{other}\" directive was specified earlier", n.name()), "use one of them: alias replaces the location's prefix, root is prepended to the whole URI");
                        }
                        Some(_) => {}
                        None => {
                            root_alias.insert(block, id);
                        }
                    }
                }
                "if" if matches!(n.context, Context::Server | Context::Location) => {
                    let args: Vec<&str> = d.args().iter().map(|w| w.as_str()).collect();
                    if let Some((m, i)) = condition::check(&args) {
                        let span = d.args().get(i).map_or(d.head_span(), |w| w.span());
                        push(id, span, m, "if (CONDITION) { ... } where CONDITION is $var, $var = value, $var != value, $var ~ regex (~*, !~, !~*), or -f/-d/-e/-x (and !-f ...) with a path");
                    }
                }
                "map"
                    if d.has_block()
                        && matches!(n.context, Context::Http | Context::Stream) =>
                {
                    for (span, m) in map_errors(d) {
                        push(id, span, m, "map SOURCE $target { key value; ... } with each key once (keys compare without case) and one default");
                    }
                }
                "server_name" if n.context == Context::Server => {
                    // ngx_http_core_server_name: `*` must start a `*.` wildcard, `.` a `.name`.
                    for w in d.args() {
                        let v = w.as_str();
                        if (v.starts_with('*') && (v.len() < 3 || !v[1..].starts_with('.')))
                            || v == "."
                        {
                            push(id, w.span(), format!("server name \"{v}\" is invalid"), "a wildcard is *.example.com, .example.com or www.example.*; for a catch-all server use `listen 80 default_server;` with server_name _");
                        }
                    }
                }
                "set" if http => {
                    if let Some(w) = d.args().first() {
                        if !w.as_str().starts_with('$') || w.as_str().len() < 2 {
                            push(
                                id,
                                w.span(),
                                format!("invalid variable name \"{}\"", w.as_str()),
                                "set $name value; the name starts with `$`",
                            );
                        }
                    }
                }
                "hash" if matches!(n.context, Context::Upstream | Context::StreamUpstream) => {
                    if let Some(w) = d.args().get(1).filter(|w| w.as_str() != "consistent") {
                        push(id, w.span(), format!("invalid parameter \"{}\"", w.as_str()), "hash KEY [consistent];");
                    }
                }
                "random" if matches!(n.context, Context::Upstream | Context::StreamUpstream) => {
                    let bad = match d.args().split_first() {
                        None => None,
                        Some((two, rest)) if two.as_str() == "two" => {
                            rest.first().filter(|m| m.as_str() != "least_conn")
                        }
                        Some((first, _)) => Some(first),
                    };
                    if let Some(w) = bad {
                        push(id, w.span(), format!("invalid parameter \"{}\"", w.as_str()), "random [two [least_conn]];");
                    }
                }
                "allow" | "deny" if http || matches!(n.context, Context::Stream | Context::StreamServer) => {
                    if let Some(w) = d.args().first() {
                        let v = w.as_str();
                        if v != "all" && v != "unix:" {
                            match cidr(v) {
                                None => push(id, w.span(), format!("invalid parameter \"{v}\""), "allow/deny take an address, a CIDR (192.168.0.0/16, 2001:db8::/32), unix: or all"),
                                Some(true) => {
                                    let file = config.node(id).file;
                                    let mut d = cx
                                        .diagnostic(&META, file, w.span(), format!("low address bits of {v} are meaningless"))
                                        .with_help("nginx masks them off: write the network address (192.168.1.0/24, not 192.168.1.5/24)");
                                    d.severity = d.severity.min(Severity::Warning);
                                    out_extra.push(d);
                                }
                                Some(false) => {}
                            }
                        }
                    }
                }
                "limit_conn" if d.args().len() == 2 => {
                    let Some(w) = d.args().get(1) else { continue };
                    if atoi(w.as_str()).is_none_or(|c| c == 0) {
                        push(
                            id,
                            w.span(),
                            format!("invalid number of connections \"{}\"", w.as_str()),
                            "the limit is a positive number of connections",
                        );
                    }
                }
                "try_files" if http => {
                    if let Some(w) = d.args().last().filter(|w| w.as_str().starts_with('=')) {
                        if atoi(&w.as_str()[1..]).is_none_or(|c| c > 999) {
                            push(id, w.span(), format!("invalid code \"{}\"", w.as_str()), "the last word of try_files is a URI, a @named location or =CODE (=404)");
                        }
                    }
                }
                "limit_except" if http => {
                    for w in d.args() {
                        if !HTTP_METHODS.iter().any(|m| m.eq_ignore_ascii_case(w.as_str())) {
                            push(id, w.span(), format!("invalid method \"{}\"", w.as_str()), "limit_except takes GET, HEAD, POST, PUT, DELETE, MKCOL, COPY, MOVE, OPTIONS, PROPFIND, PROPPATCH, LOCK, UNLOCK or PATCH");
                        }
                    }
                }
                "open_file_cache" if http => {
                    if let Some((span, m)) = open_file_cache_error(d) {
                        push(id, span, m, "open_file_cache max=N [inactive=TIME]; or open_file_cache off;");
                    }
                }
                "error_log" => {
                    if let Some((span, m)) = error_log_error(d) {
                        push(id, span, m, "one level: debug, info, notice, warn, error, crit, alert or emerg; or debug masks such as debug_http instead of a level");
                    }
                }
                "log_format" if http => {
                    if let Some(w) = d.args().get(1) {
                        if let Some(e) = w.as_str().strip_prefix("escape=") {
                            if !matches!(e, "default" | "json" | "none") {
                                push(id, w.span(), format!("unknown log format escaping \"{e}\""), "escape= takes default, json or none");
                            }
                        }
                    }
                }
                "split_clients"
                    if d.has_block() && matches!(n.context, Context::Http | Context::Stream) =>
                {
                    if let Some((span, m)) = split_clients_error(d) {
                        push(id, span, m, "each line is PERCENT% VALUE; (up to two decimals, 100% in total at most) or * VALUE; for the rest");
                    }
                }
                "resolver" => {
                    if let Some(w) = d.args().iter().find(|w| resolver_param_invalid(w.as_str())) {
                        push(id, w.span(), format!("invalid parameter: {}", w.as_str()), "valid= takes a time (30s), ipv6= on or off");
                    }
                }
                "gzip_comp_level" if http => {
                    if let Some(w) = d.args().first() {
                        if atoi(w.as_str()).is_some_and(|l| !(1..=9).contains(&l)) {
                            push(id, w.span(), "value must be between 1 and 9".to_owned(), "gzip levels go from 1 (fastest) to 9 (smallest)");
                        }
                    }
                }
                "expires" if http => {
                    if let Some((span, m)) = expires_error(d) {
                        push(id, span, format!("\"expires\" directive {m}"), "expires [modified] TIME | @TIME-OF-DAY | epoch | max | off, e.g. expires 30d;");
                    }
                }
                "fastcgi_param" | "uwsgi_param" | "scgi_param" if http => {
                    // ngx_http_upstream_param_set_slot: the third word can only be if_not_empty.
                    if let Some(w) = d.args().get(2).filter(|w| w.as_str() != "if_not_empty") {
                        push(id, w.span(), format!("invalid parameter \"{}\"", w.as_str()), "the only word after the value is if_not_empty");
                    }
                }
                "proxy_redirect" if http && d.args().len() == 1 => {
                    let Some(w) = d.args().get(0) else { continue };
                    if !matches!(w.as_str(), "off" | "default") {
                        push(id, w.span(), format!("invalid parameter \"{}\"", w.as_str()), "proxy_redirect REDIRECT REPLACEMENT; or proxy_redirect default; or off;");
                    }
                }
                "disable_symlinks" if http => {
                    if let Some(w) = d.args().iter().find(|w| {
                        !matches!(w.as_str(), "off" | "on" | "if_not_owner") && !w.as_str().starts_with("from=")
                    }) {
                        push(id, w.span(), format!("invalid parameter \"{}\"", w.as_str()), "disable_symlinks off | on | if_not_owner [from=PART];");
                    }
                }
                "proxy_store_access" | "fastcgi_store_access" | "uwsgi_store_access"
                | "scgi_store_access"
                    if http =>
                {
                    // ngx_conf_set_access_slot: user:, group: or all:, then r or rw.
                    let bad = d.args().iter().find(|w| {
                        let v = w.as_str();
                        let right = v
                            .strip_prefix("user:")
                            .or_else(|| v.strip_prefix("group:"))
                            .or_else(|| v.strip_prefix("all:"));
                        !matches!(right, Some("r" | "rw"))
                    });
                    if let Some(w) = bad {
                        push(id, w.span(), format!("invalid value \"{}\"", w.as_str()), "proxy_store_access user:rw group:rw all:r; (each r or rw)");
                    }
                }
                "limit_rate" | "limit_rate_after" | "proxy_limit_rate" if http => {
                    if let Some(w) = d.args().first() {
                        if !w.as_str().contains('$') && crate::values::parse_size(w.as_str()).is_none() {
                            push(id, w.span(), format!("\"{}\" directive invalid value", n.name()), "a size in bytes, with k or m: limit_rate 500k;");
                        }
                    }
                }
                "proxy_cache_valid" | "fastcgi_cache_valid" | "uwsgi_cache_valid"
                | "scgi_cache_valid"
                    if http =>
                {
                    if let Some((span, m)) = cache_valid_error(d) {
                        push(id, span, m, "[CODE ...] TIME; codes from 100 to 599 or any, then the time: proxy_cache_valid 200 302 10m;");
                    }
                }
                "worker_processes" if n.context == Context::Main => {
                    if let Some(w) = d.args().first() {
                        if w.as_str() != "auto" && atoi(w.as_str()).is_none() {
                            push(id, w.span(), "\"worker_processes\" directive invalid value".to_owned(), "a number of worker processes, or auto (one per CPU)");
                        }
                    }
                }
                "thread_pool" if n.context == Context::Main => {
                    if let Some((span, m)) = thread_pool_error(d) {
                        push(id, span, m, "thread_pool NAME threads=N [max_queue=N]; with N above zero");
                    }
                }
                "http2_chunk_size" if http => {
                    if let Some(w) = d.args().first() {
                        if crate::values::parse_size(w.as_str()) == Some(0) {
                            push(id, w.span(), "the http2 chunk size cannot be zero".to_owned(), "a size above zero, e.g. 8k (the default)");
                        }
                    }
                }
                "access_log" if http => {
                    if let Some((span, m)) = access_log_error(d) {
                        push(id, span, m, "access_log PATH [FORMAT [buffer=SIZE] [gzip[=LEVEL]] [flush=TIME] [if=CONDITION]]; or access_log off; alone");
                    }
                }
                "client_body_temp_path" | "proxy_temp_path" | "fastcgi_temp_path"
                | "uwsgi_temp_path" | "scgi_temp_path"
                    if http =>
                {
                    if let Some(span) = temp_path_error(d) {
                        push(id, span, format!("\"{}\" directive invalid value", n.name()), "the words after the path are directory levels: up to three positive numbers (name characters per level) adding up to at most 10, e.g. `proxy_temp_path /var/cache/nginx/proxy 1 2;`");
                    }
                }
                "limit_req_status" | "limit_conn_status" => {
                    if let Some(w) = d.args().first() {
                        if atoi(w.as_str()).is_none_or(|c| !(400..=599).contains(&c))
                            && atoi(w.as_str()).is_some()
                        {
                            push(
                                id,
                                w.span(),
                                "value must be between 400 and 599".to_owned(),
                                "use a 4xx or 5xx status, e.g. 429",
                            );
                        }
                    }
                }
                _ => {}
            }
        }
        out.extend(out_extra);
    }
}
