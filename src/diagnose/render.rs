//! `diagnose` output: one block per incident for people, or the JSON contract
//! (`{"incidents": [...], "unparsed_lines": N}`; fields are added, never renamed).

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::accesslog::{
    access_for, access_index, access_shown, seconds_text, AccessGroup, AccessReport, AccessShown,
};
use super::diagnosis::{Diagnosis, Group, Outcome, Place, Setting, UpstreamSummary};
use super::logline::LogTime;

fn status_text(status: u16) -> &'static str {
    match status {
        502 => "Bad Gateway",
        504 => "Gateway Time-out",
        500 => "Internal Server Error",
        _ => "",
    }
}

fn time(t: Option<LogTime>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| t.to_string())
}

fn span(first: Option<LogTime>, last: Option<LogTime>) -> String {
    if first == last {
        return time(first);
    }
    match (first, last) {
        // Same day: print the date once.
        (Some(a), Some(b)) if (a.year, a.month, a.day) == (b.year, b.month, b.day) => {
            format!("{a} .. {:02}:{:02}:{:02}", b.hour, b.minute, b.second)
        }
        _ => format!("{} .. {}", time(first), time(last)),
    }
}

fn at(p: &Place) -> String {
    format!("{}:{}", p.file, p.line)
}

fn top_list(items: &[(String, u64)], distinct: usize) -> String {
    let mut s = items
        .iter()
        .map(|(v, n)| format!("{v} ({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    if distinct > items.len() {
        let _ = write!(s, " and {} more", distinct - items.len());
    }
    s
}

fn render_group(out: &mut String, g: &Group, access: AccessShown<'_>, above: Option<&Group>) {
    let f = &g.finding;
    let inc = &f.incident;
    let key = &inc.key;
    let status = match (f.outcome, f.cause().http_status()) {
        (Outcome::Recovered, _) => "retried and recovered".to_owned(),
        (_, Some(s)) => format!("{s} {}", status_text(s)),
        (_, None) => "no error status".to_owned(),
    };
    let _ = writeln!(
        out,
        "{status}  {}  {} request{}  {}",
        f.cause().id(),
        g.requests,
        plural(g.requests),
        span(g.first, g.last)
    );
    let mut request = inc
        .sample_request
        .clone()
        .or_else(|| key.path.clone())
        .unwrap_or_else(|| "-".to_owned());
    if let Some(h) = &key.host {
        let _ = write!(request, "   host {h}");
    }
    if let Some(s) = &key.server {
        let _ = write!(request, "   server \"{s}\"");
    }
    let _ = writeln!(out, "  request   {request}");
    if g.distinct.0 > 1 {
        let _ = writeln!(out, "  paths     {}", top_list(&g.paths, g.distinct.0));
    }
    if g.distinct.1 > 1 {
        let _ = writeln!(out, "  hosts     {}", top_list(&g.hosts, g.distinct.1));
    }
    if g.distinct.2 > 1 {
        let _ = writeln!(out, "  upstream  {}", top_list(&g.members, g.distinct.2));
    } else if let Some(u) = key.upstream.as_deref().or(key.unresolved_host.as_deref()) {
        let _ = writeln!(out, "  upstream  {u}");
    }
    if g.lines > g.requests {
        let _ = writeln!(
            out,
            "  tries     {} failed tries logged for {} request{}",
            g.lines,
            g.requests,
            plural(g.requests)
        );
    }
    match &f.handler {
        Some(h) => {
            let _ = writeln!(out, "  config    {}  {}", at(h), h.text);
            let mut ctx = Vec::new();
            if let Some(l) = &f.location {
                ctx.push(format!("in {} ({})", l.text, at(l)));
            }
            if let Some((s, how)) = &f.server_block {
                ctx.push(format!("server block {} — {how}", at(s)));
            }
            if !ctx.is_empty() {
                let _ = writeln!(out, "            {}", ctx.join(", "));
            }
        }
        None => {
            if let Some(l) = &f.location {
                let _ = writeln!(out, "  config    {}  {}", at(l), l.text);
            } else if let Some((s, how)) = &f.server_block {
                let _ = writeln!(out, "  config    {}  server block — {how}", at(s));
            }
        }
    }
    if let Some(u) = &f.upstream_server {
        if f.handler.as_ref() != Some(u) && g.distinct.2 <= 1 {
            let _ = writeln!(out, "  backend   {}  {}", at(u), u.text);
        }
    }
    if let Some(s) = &f.setting {
        let label = if s.directive.ends_with("_timeout") {
            "timeout"
        } else {
            "buffer"
        };
        let _ = writeln!(out, "  {label:<9} {}", s.describe());
    }
    if let Some(k) = f.fpm_kill.as_ref().filter(|k| k.event == "child-signaled") {
        let _ = writeln!(
            out,
            "  php-fpm   {}x child exited on {}{} (first {})",
            k.count,
            k.signal.as_deref().unwrap_or("a signal"),
            k.pool
                .as_deref()
                .map(|p| format!(" in pool {p}"))
                .unwrap_or_default(),
            time(k.first)
        );
    } else if let Some(k) = &f.fpm_kill {
        let _ = writeln!(
            out,
            "  php-fpm   {}x execution timed out{}{} (first {})",
            k.count,
            k.pool
                .as_deref()
                .map(|p| format!(" in pool {p}"))
                .unwrap_or_default(),
            k.script
                .as_deref()
                .map(|s| format!(": {s}"))
                .unwrap_or_default(),
            time(k.first)
        );
    }
    let _ = writeln!(out, "  cause     {}", f.cause().explanation());
    let _ = writeln!(out, "  fix       {}", f.fix);
    if let Some(rule) = f.rule {
        let _ = writeln!(
            out,
            "  rule      {rule} catches this before deploy (nginx-gwlint explain {rule})"
        );
    }
    match (access, above) {
        (AccessShown::Here(a), _) => render_access_lines(out, a),
        (AccessShown::Above(_), Some(first)) => {
            let _ = writeln!(
                out,
                "  access    the same config line as the {} group above: its access-log numbers are there",
                first.cause().id()
            );
        }
        _ => {}
    }
    for n in &g.notes {
        let _ = writeln!(out, "  note      {n}");
    }
    out.push('\n');
}

fn upstream_line(u: &UpstreamSummary) -> String {
    let causes = u
        .by_cause
        .iter()
        .map(|(c, n)| format!("{} {n}", c.id()))
        .collect::<Vec<_>>()
        .join(", ");
    let servers = u
        .failing
        .iter()
        .map(|p| {
            format!(
                "{} ({})",
                p.text.strip_prefix("server ").unwrap_or(&p.text),
                at(p)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{} ({}): {} of {} server{} failing from {}; failed tries: {causes}{}",
        u.block.text,
        at(&u.block),
        u.failing.len(),
        u.servers,
        plural(u.servers as u64),
        time(u.first),
        if servers.is_empty() {
            String::new()
        } else {
            format!("; failing: {servers}")
        }
    )
}

/// The human format: one block per group of failed requests, most requests first, then the
/// recovered ones, the upstream blocks with failing servers, and a summary.
pub fn render_human(d: &Diagnosis) -> String {
    let mut out = String::new();
    for (g, shown) in d.groups.iter().zip(access_shown(d)) {
        let above = match shown {
            AccessShown::Above(i) => d.groups.get(i),
            _ => None,
        };
        render_group(&mut out, g, shown, above);
    }
    if !d.recovered.is_empty() {
        let n: u64 = d.recovered.iter().map(|g| g.requests).sum();
        let _ = writeln!(
            out,
            "retried and recovered: {n} request{} (a try failed, another server answered; not errors for the client)\n",
            plural(n)
        );
        for g in &d.recovered {
            render_group(&mut out, g, AccessShown::Absent, None);
        }
    }
    for u in &d.upstreams {
        let _ = writeln!(out, "upstream  {}", upstream_line(u));
    }
    if !d.upstreams.is_empty() {
        out.push('\n');
    }
    let s = &d.scan;
    for k in &s.kinds {
        let _ = writeln!(
            out,
            "other     {}x [{}] {}",
            k.count,
            k.level.as_str(),
            k.kind
        );
    }
    if !s.kinds.is_empty() {
        out.push('\n');
    }
    if let Some(a) = &d.access {
        render_access(&mut out, d, a);
    }
    for n in &d.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let failed: u64 = d.groups.iter().map(|g| g.requests).sum();
    let recovered: u64 = d.recovered.iter().map(|g| g.requests).sum();
    if d.groups.is_empty() {
        let _ = write!(out, "no failed requests in {} lines", s.lines);
    } else {
        let _ = write!(
            out,
            "{} group{} ({} failed request{}) in {} lines",
            d.groups.len(),
            plural(d.groups.len() as u64),
            failed,
            plural(failed),
            s.lines
        );
    }
    if recovered > 0 {
        let _ = write!(out, "; {recovered} retried and recovered");
    }
    let _ = write!(out, "; {} unparsed", s.unparsed);
    if let Some(t) = d.since {
        let _ = write!(out, ", {} before {t}", s.before_since);
    }
    if s.coarsened > 0 {
        let _ = write!(out, ", {} folded into coarser groups", s.coarsened);
    }
    if s.evicted > 0 {
        let _ = write!(out, ", {} requests closed early (too many open)", s.evicted);
    }
    out.push('\n');
    out
}

/// Width of the widest histogram bar.
const BAR: u64 = 40;

fn render_access_lines(out: &mut String, a: &AccessGroup) {
    let _ = writeln!(
        out,
        "  access    {} request{} ({}), 502: {}, 504: {}, other 5xx: {}",
        a.requests,
        plural(a.requests),
        span(a.first, a.last),
        a.status_502,
        a.status_504,
        a.status_5xx
    );
    if let Some(q) = AccessGroup::quantiles_text(&a.upstream) {
        let _ = writeln!(
            out,
            "  upstream  $upstream_response_time of {} tr{}: {q}",
            a.upstream.total(),
            if a.upstream.total() == 1 { "y" } else { "ies" }
        );
    }
    if let Some(t) = a.timeout_text() {
        let _ = writeln!(out, "            {t}");
    }
    if let Some(q) = AccessGroup::quantiles_text(&a.request) {
        let _ = writeln!(out, "  request   $request_time: {q}");
    }
    let bins = a.bins();
    let top = bins.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    for b in &bins {
        let label = match b.to {
            Some(to) => format!("<= {}", seconds_text(to as f64)),
            None => format!(" > {}", seconds_text(b.from as f64)),
        };
        let width = (b.count * BAR).div_ceil(top);
        let bar: String = "#".repeat(usize::try_from(width).unwrap_or(0));
        let mark = if b.past_timeout {
            "  <- past the timeout"
        } else if b.near_timeout {
            "  <- within 5% of the timeout"
        } else {
            ""
        };
        let _ = writeln!(out, "            {label:>10} {bar:<40} {}{mark}", b.count);
    }
}

/// The access-log section: formats read, and the config lines no error-log group covers.
fn render_access(out: &mut String, d: &Diagnosis, a: &AccessReport) {
    for f in &a.formats {
        let _ = writeln!(out, "access log format: {}", f.how);
    }
    if !a.has_upstream_time {
        let _ = writeln!(
            out,
            "access log: the format has no $upstream_response_time: upstream timings are absent"
        );
    }
    let shown: Vec<&AccessGroup> = d.groups.iter().filter_map(|g| access_for(d, g)).collect();
    for g in &a.groups {
        if shown.iter().any(|s| std::ptr::eq(*s, g)) {
            continue;
        }
        let head = g.anchor.as_ref().map_or_else(
            || "(no configuration)".to_owned(),
            |p| format!("{}  {}", at(p), p.text),
        );
        let _ = writeln!(out, "access    {head}");
        render_access_lines(out, g);
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "access log: {} lines, {} unparsed, {} requests not tied to the configuration",
        a.lines, a.unparsed, a.unmapped
    );
    for n in &a.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out.push('\n');
}

fn histogram_json(h: &super::histogram::Histogram) -> Value {
    let q = |p: f64| h.quantile(p).map(|v| (v.round() as u64) as f64 / 1000.0);
    json!({
        "count": h.total(),
        "p50": q(0.5),
        "p95": q(0.95),
        "p99": q(0.99),
        "max": (h.total() > 0).then(|| h.max() as f64 / 1000.0),
    })
}

pub(super) fn access_group_json(a: &AccessGroup) -> Value {
    json!({
        "config": a.anchor.as_ref().map(place_json),
        "is_handler": a.is_handler,
        "requests": a.requests,
        "status_502": a.status_502,
        "status_504": a.status_504,
        "status_5xx_other": a.status_5xx,
        "first": a.first.map(|t| t.to_string()),
        "last": a.last.map(|t| t.to_string()),
        "upstream_response_time": histogram_json(&a.upstream),
        "request_time": histogram_json(&a.request),
        "timeout": a.timeout.as_ref().map(setting_json),
        "near_timeout_tries": a.upstream_near_timeout,
        "near_timeout_fraction": (a.upstream.total() > 0)
            .then(|| a.upstream_near_timeout as f64 / a.upstream.total() as f64),
        "summary": a.timeout_text(),
        "bins": a.bins().iter().map(|b| json!({
            "from": b.from as f64 / 1000.0,
            "to": b.to.map(|t| t as f64 / 1000.0),
            "count": b.count,
            "near_timeout": b.near_timeout,
            "past_timeout": b.past_timeout,
        })).collect::<Vec<_>>(),
    })
}

fn access_json(a: &AccessReport) -> Value {
    json!({
        "formats": a.formats.iter().map(|f| json!({
            "name": f.format.name,
            "variables": f.format.variables(),
            "access_log": f.access_log.as_ref().map(place_json),
            "log_format": f.log_format.as_ref().map(place_json),
            "how": f.how,
            "error": f.error,
        })).collect::<Vec<_>>(),
        "lines": a.lines,
        "unparsed_lines": a.unparsed,
        "before_since": a.before_since,
        "has_upstream_response_time": a.has_upstream_time,
        "has_request_time": a.has_request_time,
        "unmapped_requests": a.unmapped,
        "quantile_relative_error": super::histogram::RELATIVE_ERROR,
        "groups": a.groups.iter().map(access_group_json).collect::<Vec<_>>(),
        "notes": a.notes,
    })
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn place_json(p: &Place) -> Value {
    json!({"file": p.file, "line": p.line, "text": p.text})
}

fn setting_json(s: &Setting) -> Value {
    json!({
        "directive": s.directive,
        "value": s.value,
        "ms": s.millis,
        "default": s.place.is_none(),
        "file": s.place.as_ref().map(|p| p.file.clone()),
        "line": s.place.as_ref().map(|p| p.line),
    })
}

fn top_json(items: &[(String, u64)]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|(v, n)| json!({"value": v, "requests": n}))
            .collect(),
    )
}

/// `access`: the index of the group's access-log numbers in `access_log.groups`.
fn group_json(g: &Group, access: Option<usize>) -> Value {
    let f = &g.finding;
    let inc = &f.incident;
    let key = &inc.key;
    let mut head = json!({
        "cause": f.cause().id(),
        "status": match f.outcome {
            Outcome::Recovered => None,
            Outcome::Failed => f.cause().http_status(),
        },
        "outcome": f.outcome.id(),
        "count": g.requests,
        "requests": g.requests,
        "lines": g.lines,
        "first": g.first.map(|t| t.to_string()),
        "last": g.last.map(|t| t.to_string()),
        "upstream": key.upstream,
        "server": key.server,
        "request": inc.sample_request,
        "file": f.handler.as_ref().map(|h| h.file.clone()),
        "line": f.handler.as_ref().map(|h| h.line),
        "rule": f.rule,
        "message": f.cause().explanation(),
        "fix": f.fix,
        "level": inc.level.as_str(),
        "host": key.host,
        "method": key.method,
        "path": key.path,
        "unresolved_host": key.unresolved_host,
        "tries": key.tries,
        "key_detail": key.detail.id(),
        "max_tries": f.max_tries,
        "paths": top_json(&g.paths),
        "hosts": top_json(&g.hosts),
        "members": top_json(&g.members),
        "distinct": {"paths": g.distinct.0, "hosts": g.distinct.1, "members": g.distinct.2},
    });
    let php_fpm = f.fpm_kill.as_ref().map(|k| {
        json!({
            "event": k.event,
            "signal": k.signal,
            "pool": k.pool,
            "script": k.script,
            "seconds": k.seconds,
            "count": k.count,
            "first": k.first.map(|t| t.to_string()),
            "last": k.last.map(|t| t.to_string()),
            "sample": k.sample_line,
        })
    });
    let more = json!({
        "handler": f.handler.as_ref().map(place_json),
        "location": f.location.as_ref().map(place_json),
        "server_block": f.server_block.as_ref().map(|(p, how)| {
            json!({"file": p.file, "line": p.line, "text": p.text, "how": how})
        }),
        "upstream_server": f.upstream_server.as_ref().map(place_json),
        "upstream_block": f.upstream_block.as_ref().map(place_json),
        "setting": f.setting.as_ref().map(setting_json),
        "rules": f.cause().rules(),
        "php_fpm": php_fpm,
        "notes": g.notes,
        "sample": inc.sample_line,
        "access_group": access,
    });
    if let (Value::Object(a), Value::Object(b)) = (&mut head, more) {
        a.extend(b);
    }
    head
}

/// The JSON contract: `incidents` are the groups of failed requests (`count` = requests),
/// `recovered` the requests another server answered, `upstreams` the blocks with failing
/// servers, `other_kinds` the upstream lines no cause covers, `access_log.groups` the access-log
/// numbers per config line, each once (an incident's `access_group` is its index there: groups
/// at one config line share it). [`write_json`] prints the same
/// document without building it whole.
pub fn render_json(d: &Diagnosis) -> Value {
    let mut out = json!({
        "incidents": d.groups.iter().map(|g| group_json(g, access_index(d, g))).collect::<Vec<_>>(),
        "recovered": d.recovered.iter().map(|g| group_json(g, None)).collect::<Vec<_>>(),
    });
    if let (Value::Object(a), Value::Object(b)) = (&mut out, summary_json(d)) {
        a.extend(b);
    }
    out
}

/// Writes `render_json(d)` pretty-printed (as `serde_json::to_writer_pretty` would, plus a
/// line end), one group at a time: memory holds one group's JSON, not the whole document.
pub fn write_json<W: std::io::Write>(d: &Diagnosis, w: &mut W) -> std::io::Result<()> {
    fn indented<W: std::io::Write>(w: &mut W, v: &Value, indent: &str) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(v).map_err(std::io::Error::other)?;
        // String values escape their line ends, so every line break is the printer's.
        let mut lines = text.split('\n');
        if let Some(first) = lines.next() {
            w.write_all(first.as_bytes())?;
        }
        for l in lines {
            w.write_all(b"\n")?;
            w.write_all(indent.as_bytes())?;
            w.write_all(l.as_bytes())?;
        }
        Ok(())
    }
    fn array<W: std::io::Write>(
        w: &mut W,
        key: &str,
        items: impl Iterator<Item = Value>,
    ) -> std::io::Result<()> {
        write!(w, "  \"{key}\": [")?;
        let mut any = false;
        for v in items {
            w.write_all(if any { b",\n    " } else { b"\n    " })?;
            indented(w, &v, "    ")?;
            any = true;
        }
        w.write_all(if any { b"\n  ]" } else { b"]" })
    }
    w.write_all(b"{\n")?;
    array(
        w,
        "incidents",
        d.groups.iter().map(|g| group_json(g, access_index(d, g))),
    )?;
    w.write_all(b",\n")?;
    array(
        w,
        "recovered",
        d.recovered.iter().map(|g| group_json(g, None)),
    )?;
    if let Value::Object(rest) = summary_json(d) {
        for (k, v) in &rest {
            w.write_all(b",\n  ")?;
            indented(w, &Value::String(k.clone()), "  ")?;
            w.write_all(b": ")?;
            indented(w, v, "  ")?;
        }
    }
    w.write_all(b"\n}\n")
}

/// Everything of the JSON document but the groups.
fn summary_json(d: &Diagnosis) -> Value {
    let s = &d.scan;
    json!({
        "upstreams": d.upstreams.iter().map(|u| json!({
            "block": place_json(&u.block),
            "servers": u.servers,
            "failing": u.failing.iter().map(place_json).collect::<Vec<_>>(),
            "first": u.first.map(|t| t.to_string()),
            "last": u.last.map(|t| t.to_string()),
            "failed_tries": u.by_cause.iter().map(|(c, n)| json!({"cause": c.id(), "count": n})).collect::<Vec<_>>(),
            "summary": upstream_line(u),
        })).collect::<Vec<_>>(),
        "other_kinds": s.kinds.iter().map(|k| json!({
            "kind": k.kind, "level": k.level.as_str(), "count": k.count, "sample": k.sample_line,
        })).collect::<Vec<_>>(),
        "unparsed_lines": s.unparsed,
        "lines": s.lines,
        "failures": d.groups.iter().map(|g| g.requests).sum::<u64>(),
        "failure_lines": d.groups.iter().map(|g| g.lines).sum::<u64>(),
        "recovered_requests": d.recovered.iter().map(|g| g.requests).sum::<u64>(),
        "ignored_lines": s.ignored,
        "before_since": s.before_since,
        "cut_lines": s.cut_lines,
        "coarsened": s.coarsened,
        "evicted_requests": s.evicted,
        "since": d.since.map(|t| t.to_string()),
        "php_fpm": d.fpm.as_ref().map(|r| json!({
            "lines": r.lines,
            "unparsed_lines": r.unparsed,
            "events": r.incidents.iter().map(|i| json!({
                "kind": i.kind,
                "pool": i.pool,
                "detail": i.detail,
                "path": i.path,
                "count": i.count,
                "first": i.first.map(|t| t.to_string()),
                "last": i.last.map(|t| t.to_string()),
            })).collect::<Vec<_>>(),
        })),
        "access_log": d.access.as_ref().map(access_json),
        "notes": d.notes,
    })
}
