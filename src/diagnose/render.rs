//! `diagnose` output: one block per incident for people, or the JSON contract
//! (`{"incidents": [...], "unparsed_lines": N}`; fields are added, never renamed).

use std::fmt::Write as _;

use serde_json::{json, Value};

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

fn render_group(out: &mut String, g: &Group) {
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
    for g in &d.groups {
        render_group(&mut out, g);
    }
    if !d.recovered.is_empty() {
        let n: u64 = d.recovered.iter().map(|g| g.requests).sum();
        let _ = writeln!(
            out,
            "retried and recovered: {n} request{} (a try failed, another server answered; not errors for the client)\n",
            plural(n)
        );
        for g in &d.recovered {
            render_group(&mut out, g);
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

fn group_json(g: &Group) -> Value {
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
    });
    if let (Value::Object(a), Value::Object(b)) = (&mut head, more) {
        a.extend(b);
    }
    head
}

/// The JSON contract: `incidents` are the groups of failed requests (`count` = requests),
/// `recovered` the requests another server answered, `upstreams` the blocks with failing
/// servers, `other_kinds` the upstream lines no cause covers.
pub fn render_json(d: &Diagnosis) -> Value {
    let s = &d.scan;
    json!({
        "incidents": d.groups.iter().map(group_json).collect::<Vec<_>>(),
        "recovered": d.recovered.iter().map(group_json).collect::<Vec<_>>(),
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
        "notes": d.notes,
    })
}
