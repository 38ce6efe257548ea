//! `diagnose` output: one block per incident for people, or the JSON contract
//! (`{"incidents": [...], "unparsed_lines": N}`; fields are added, never renamed).

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::diagnosis::{Diagnosis, Finding, Place, Setting};
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

fn span(f: &Finding) -> String {
    let (first, last) = (f.incident.first, f.incident.last);
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

/// The human format: one block per incident, most frequent first, then a summary line.
pub fn render_human(d: &Diagnosis) -> String {
    let mut out = String::new();
    for f in &d.findings {
        let inc = &f.incident;
        let key = &inc.key;
        let status = f.cause().http_status();
        let _ = writeln!(
            out,
            "{status} {}  {}  x{}  {}",
            status_text(status),
            f.cause().id(),
            inc.count,
            span(f)
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
        if let Some(u) = key.upstream.as_deref().or(key.unresolved_host.as_deref()) {
            let _ = writeln!(out, "  upstream  {u}");
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
            if f.handler.as_ref() != Some(u) {
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
        if let Some(k) = &f.fpm_kill {
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
        for n in &f.notes {
            let _ = writeln!(out, "  note      {n}");
        }
        out.push('\n');
    }
    for n in &d.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let s = &d.scan;
    let failures: u64 = d.findings.iter().map(|f| f.incident.count).sum();
    if d.findings.is_empty() {
        let _ = write!(out, "no gateway errors in {} lines", s.lines);
    } else {
        let _ = write!(
            out,
            "{} incident{} ({} failed line{}) in {} lines",
            d.findings.len(),
            plural(d.findings.len() as u64),
            failures,
            plural(failures),
            s.lines
        );
    }
    let _ = write!(out, "; {} unparsed", s.unparsed);
    if let Some(t) = d.since {
        let _ = write!(out, ", {} before {t}", s.before_since);
    }
    if s.coarsened > 0 {
        let _ = write!(out, ", {} folded into coarser groups", s.coarsened);
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

/// The JSON contract.
pub fn render_json(d: &Diagnosis) -> Value {
    let incidents: Vec<Value> = d
        .findings
        .iter()
        .map(|f| {
            let inc = &f.incident;
            let key = &inc.key;
            json!({
                "cause": f.cause().id(),
                "status": f.cause().http_status(),
                "count": inc.count,
                "first": inc.first.map(|t| t.to_string()),
                "last": inc.last.map(|t| t.to_string()),
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
                "handler": f.handler.as_ref().map(place_json),
                "location": f.location.as_ref().map(place_json),
                "server_block": f.server_block.as_ref().map(|(p, how)| {
                    json!({"file": p.file, "line": p.line, "text": p.text, "how": how})
                }),
                "upstream_server": f.upstream_server.as_ref().map(place_json),
                "setting": f.setting.as_ref().map(setting_json),
                "rules": f.cause().rules(),
                "php_fpm": f.fpm_kill.as_ref().map(|k| json!({
                    "event": "execution-timed-out",
                    "pool": k.pool,
                    "script": k.script,
                    "seconds": k.seconds,
                    "count": k.count,
                    "first": k.first.map(|t| t.to_string()),
                    "last": k.last.map(|t| t.to_string()),
                    "sample": k.sample_line,
                })),
                "notes": f.notes,
                "sample": inc.sample_line,
            })
        })
        .collect();
    let s = &d.scan;
    json!({
        "incidents": incidents,
        "unparsed_lines": s.unparsed,
        "lines": s.lines,
        "failures": d.findings.iter().map(|f| f.incident.count).sum::<u64>(),
        "ignored_lines": s.ignored,
        "before_since": s.before_since,
        "cut_lines": s.cut_lines,
        "coarsened": s.coarsened,
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
