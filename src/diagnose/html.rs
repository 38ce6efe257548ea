//! `diagnose --format html`: one self-contained page for an incident review. Inline CSS and
//! SVG only: no script, no external asset, so the file can be attached to a ticket and opened
//! anywhere. Every piece of log or config text is escaped ([`escape`]): a request path is
//! attacker-chosen (`/<script>...`). The markup is XHTML-compatible (every element closed,
//! attributes quoted), so an XML parser reads it as well as a browser.

use std::fmt::Write as _;

use super::accesslog::{access_for, access_shown, seconds_text, AccessGroup, AccessShown};
use super::diagnosis::{Diagnosis, Group, Outcome, Place};
use super::logline::LogTime;
use super::render::{in_pieces, whole_text, Flush};

/// Text as HTML character data or a quoted attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and line ends are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1100px;color:#1d2330;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dde6;padding-bottom:4px}
.sub{color:#5b6577}.card{border:1px solid #d8dde6;border-radius:6px;padding:10px 14px;margin:10px 0;background:#fff}
.st{display:inline-block;font-weight:600;border-radius:4px;padding:1px 7px;color:#fff;background:#7a8699}
.s502{background:#c0392b}.s504{background:#d68910}.s500{background:#8e44ad}.srec{background:#27ae60}
table{border-collapse:collapse;width:100%}td,th{text-align:left;vertical-align:top;padding:3px 8px 3px 0}
th{color:#5b6577;font-weight:500;width:110px}code{font:12.5px ui-monospace,Menlo,Consolas,monospace;background:#f3f5f8;padding:1px 4px;border-radius:3px;word-break:break-all}
.note{color:#6b5200;background:#fff8e1;border-radius:4px;padding:2px 6px;margin:3px 0}
.fix{background:#eef7ee;border-radius:4px;padding:4px 8px}svg text{font:11px system-ui,sans-serif;fill:#1d2330}
.summary td{padding-right:24px}";

fn status_class(g: &Group) -> (&'static str, String) {
    let f = &g.finding;
    match (f.outcome, f.cause().http_status()) {
        (Outcome::Recovered, _) => ("srec", "recovered".to_owned()),
        (_, Some(502)) => ("s502", "502".to_owned()),
        (_, Some(504)) => ("s504", "504".to_owned()),
        (_, Some(s)) => ("s500", s.to_string()),
        (_, None) => ("", "no error status".to_owned()),
    }
}

fn at(p: &Place) -> String {
    format!("{}:{}", p.file, p.line)
}

fn time(t: Option<LogTime>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| t.to_string())
}

/// The page.
pub fn render_html(d: &Diagnosis) -> String {
    whole_text(|o, flush| page(d, o, flush))
}

/// [`render_html`] streamed to `w`: a few groups' markup in memory at a time (the page of a
/// run with 27,000 groups is over 100 MB).
pub fn write_html<W: std::io::Write>(d: &Diagnosis, w: &mut W) -> std::io::Result<()> {
    in_pieces(w, |o, flush| page(d, o, flush))
}

/// Writes the page into `o`, handing it on through `flush` after each group.
fn page<E>(d: &Diagnosis, o: &mut String, flush: &mut Flush<'_, E>) -> Result<(), E> {
    let failed: u64 = d.groups.iter().map(|g| g.requests).sum();
    let recovered: u64 = d.recovered.iter().map(|g| g.requests).sum();
    let first = d
        .groups
        .iter()
        .chain(&d.recovered)
        .filter_map(|g| g.first)
        .min();
    let last = d
        .groups
        .iter()
        .chain(&d.recovered)
        .filter_map(|g| g.last)
        .max();
    o.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    let _ = writeln!(
        o,
        "<title>nginx-gwlint diagnose: {failed} failed request{}</title>",
        if failed == 1 { "" } else { "s" }
    );
    let _ = writeln!(o, "<style>{CSS}</style>\n</head>\n<body>");
    o.push_str("<h1>Incident review</h1>\n");
    let _ = writeln!(
        o,
        "<p class=\"sub\">{} .. {} &#183; {} failed request{} in {} group{} &#183; {} retried and recovered &#183; {} error.log lines ({} unparsed)</p>",
        escape(&time(first)),
        escape(&time(last)),
        failed,
        if failed == 1 { "" } else { "s" },
        d.groups.len(),
        if d.groups.len() == 1 { "" } else { "s" },
        recovered,
        d.scan.lines,
        d.scan.unparsed
    );
    timeline(o, d, first, last);
    o.push_str("<h2>Groups</h2>\n");
    if d.groups.is_empty() {
        o.push_str("<p>No failed requests.</p>\n");
    }
    for (g, shown) in d.groups.iter().zip(access_shown(d)) {
        let above = match shown {
            AccessShown::Above(i) => d.groups.get(i),
            _ => None,
        };
        group(o, g, shown, above);
        flush.full(o)?;
    }
    if !d.recovered.is_empty() {
        o.push_str("<h2>Retried and recovered</h2>\n<p class=\"sub\">A try failed and another server answered: not errors for the client.</p>\n");
        for g in &d.recovered {
            group(o, g, AccessShown::Absent, None);
            flush.full(o)?;
        }
    }
    if !d.upstreams.is_empty() {
        o.push_str("<h2>Upstream blocks</h2>\n<table>\n");
        for u in &d.upstreams {
            let causes = u
                .by_cause
                .iter()
                .map(|(c, n)| format!("{} {n}", c.id()))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                o,
                "<tr><td><code>{}</code> ({})</td><td>{} of {} servers failing from {}; failed tries: {}</td></tr>",
                escape(&u.block.text),
                escape(&at(&u.block)),
                u.failing.len(),
                u.servers,
                escape(&time(u.first)),
                escape(&causes)
            );
        }
        o.push_str("</table>\n");
    }
    if let Some(a) = &d.access {
        let shown: Vec<&AccessGroup> = d.groups.iter().filter_map(|g| access_for(d, g)).collect();
        o.push_str("<h2>Access log</h2>\n");
        for f in &a.formats {
            let _ = writeln!(o, "<p class=\"sub\">Format: {}</p>", escape(&f.how));
        }
        let _ = writeln!(
            o,
            "<p class=\"sub\">{} lines, {} unparsed, {} requests not tied to the configuration{}</p>",
            a.lines,
            a.unparsed,
            a.unmapped,
            if a.has_upstream_time {
                ""
            } else {
                "; the format has no $upstream_response_time: upstream timings are absent"
            }
        );
        for g in a
            .groups
            .iter()
            .filter(|g| !shown.iter().any(|s| std::ptr::eq(*s, *g)))
        {
            o.push_str("<div class=\"card\">\n");
            let head = g.anchor.as_ref().map_or_else(
                || "(no configuration)".to_owned(),
                |p| format!("{}  {}", at(p), p.text),
            );
            let _ = writeln!(o, "<p><code>{}</code></p>", escape(&head));
            access(o, g);
            o.push_str("</div>\n");
            flush.full(o)?;
        }
    }
    let notes: Vec<&String> = d
        .notes
        .iter()
        .chain(d.access.iter().flat_map(|a| a.notes.iter()))
        .collect();
    if !notes.is_empty() {
        o.push_str("<h2>Notes</h2>\n");
        for n in notes {
            let _ = writeln!(o, "<p class=\"note\">{}</p>", escape(n));
        }
    }
    o.push_str("<p class=\"sub\">Generated by nginx-gwlint diagnose.</p>\n</body>\n</html>\n");
    Ok(())
}

/// One row per group: a bar from its first to its last request over the incident's span.
fn timeline(o: &mut String, d: &Diagnosis, first: Option<LogTime>, last: Option<LogTime>) {
    let (Some(first), Some(last)) = (first, last) else {
        return;
    };
    let rows: Vec<&Group> = d.groups.iter().chain(&d.recovered).take(30).collect();
    if rows.is_empty() {
        return;
    }
    let t0 = first.to_unix();
    let span = (last.to_unix() - t0).max(1) as f64;
    let (left, width, row) = (260.0, 780.0, 22.0);
    let height = rows.len() as f64 * row + 30.0;
    o.push_str("<h2>Timeline</h2>\n");
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"timeline\">",
        left + width + 10.0
    );
    for (i, g) in rows.iter().enumerate() {
        let y = i as f64 * row + 4.0;
        let (class, status) = status_class(g);
        let color = match class {
            "s502" => "#c0392b",
            "s504" => "#d68910",
            "s500" => "#8e44ad",
            "srec" => "#27ae60",
            _ => "#7a8699",
        };
        let a = g.first.map_or(0.0, |t| (t.to_unix() - t0) as f64 / span);
        let b = g.last.map_or(a, |t| (t.to_unix() - t0) as f64 / span);
        let x = left + a * width;
        let w = ((b - a) * width).max(3.0);
        let label = format!("{status} {} ({})", g.cause().id(), g.requests);
        let _ = writeln!(
            o,
            "<text x=\"0\" y=\"{:.1}\">{}</text><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" rx=\"2\" fill=\"{color}\"><title>{} .. {}</title></rect>",
            y + 12.0,
            escape(&label),
            row - 8.0,
            escape(&time(g.first)),
            escape(&time(g.last))
        );
    }
    let axis = rows.len() as f64 * row + 18.0;
    let _ = writeln!(
        o,
        "<text x=\"{left}\" y=\"{axis}\">{}</text><text x=\"{}\" y=\"{axis}\" text-anchor=\"end\">{}</text>",
        escape(&first.to_string()),
        left + width,
        escape(&last.to_string())
    );
    o.push_str("</svg>\n");
}

fn group(o: &mut String, g: &Group, a: AccessShown<'_>, above: Option<&Group>) {
    let f = &g.finding;
    let inc = &f.incident;
    let (class, status) = status_class(g);
    o.push_str("<div class=\"card\">\n");
    let _ = writeln!(
        o,
        "<p><span class=\"st {class}\">{}</span> <b>{}</b> &#183; {} request{} &#183; {} .. {}</p>",
        escape(&status),
        escape(f.cause().id()),
        g.requests,
        if g.requests == 1 { "" } else { "s" },
        escape(&time(g.first)),
        escape(&time(g.last))
    );
    o.push_str("<table>\n");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(o, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    let request = inc
        .sample_request
        .clone()
        .or_else(|| inc.key.path.as_deref().map(str::to_owned))
        .unwrap_or_else(|| "-".to_owned());
    row("request", format!("<code>{}</code>", escape(&request)));
    let list = |items: &[(String, u64)], distinct: usize| {
        let mut s = items
            .iter()
            .map(|(v, n)| format!("<code>{}</code> ({n})", escape(v)))
            .collect::<Vec<_>>()
            .join(", ");
        if distinct > items.len() {
            let _ = write!(s, " and {} more", distinct - items.len());
        }
        s
    };
    if g.distinct.0 > 1 {
        row("paths", list(&g.paths, g.distinct.0));
    }
    if g.distinct.1 > 0 {
        row("hosts", list(&g.hosts, g.distinct.1));
    }
    if g.distinct.2 > 0 {
        row("upstream", list(&g.members, g.distinct.2));
    }
    if let Some(h) = &f.handler {
        row(
            "config",
            format!("<code>{}</code> {}", escape(&h.text), escape(&at(h))),
        );
    }
    if let Some(l) = &f.location {
        row(
            "location",
            format!("<code>{}</code> {}", escape(&l.text), escape(&at(l))),
        );
    }
    if let Some((s, how)) = &f.server_block {
        row(
            "server",
            format!("{} &#8212; {}", escape(&at(s)), escape(how)),
        );
    }
    if let Some(s) = &f.setting {
        row("setting", escape(&s.describe()));
    }
    row("cause", escape(f.cause().explanation()));
    row(
        "fix",
        format!("<div class=\"fix\">{}</div>", escape(&f.fix)),
    );
    if let Some(rule) = f.rule {
        row(
            "rule",
            format!("{rule} catches this before deploy (<code>nginx-gwlint explain {rule}</code>)"),
        );
    }
    o.push_str("</table>\n");
    for n in g.notes() {
        let _ = writeln!(o, "<p class=\"note\">{}</p>", escape(n));
    }
    match (a, above) {
        (AccessShown::Here(a), _) => access(o, a),
        (AccessShown::Above(_), Some(first)) => {
            let _ = writeln!(
                o,
                "<p class=\"sub\">Access log: the same config line as the {} group above; its numbers are there.</p>",
                escape(first.cause().id())
            );
        }
        _ => {}
    }
    let _ = writeln!(
        o,
        "<p class=\"sub\">sample: <code>{}</code></p>",
        escape(&inc.sample_line)
    );
    o.push_str("</div>\n");
}

/// Statuses, quantiles and the distribution of one access-log group, as an SVG bar chart.
fn access(o: &mut String, a: &AccessGroup) {
    let _ = writeln!(
        o,
        "<p>Access log: {} requests &#183; 502: {} &#183; 504: {} &#183; other 5xx: {}</p>",
        a.requests, a.status_502, a.status_504, a.status_5xx
    );
    if let Some(q) = AccessGroup::quantiles_text(&a.upstream) {
        let _ = writeln!(
            o,
            "<p>$upstream_response_time ({} tries): {}</p>",
            a.upstream.total(),
            escape(&q)
        );
    }
    if let Some(t) = a.timeout_text() {
        let _ = writeln!(o, "<p><b>{}</b></p>", escape(&t));
    }
    if let Some(q) = AccessGroup::quantiles_text(&a.request) {
        let _ = writeln!(o, "<p>$request_time: {}</p>", escape(&q));
    }
    let bins = a.bins();
    if bins.is_empty() {
        return;
    }
    let top = bins.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    let (bw, gap, h) = (56.0, 6.0, 120.0);
    let width = bins.len() as f64 * (bw + gap) + 10.0;
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{:.0}\" role=\"img\" aria-label=\"distribution\">",
        h + 40.0
    );
    let base = h + 16.0;
    for (i, b) in bins.iter().enumerate() {
        let x = i as f64 * (bw + gap) + 4.0;
        let bh = if b.count == 0 {
            0.0
        } else {
            (b.count as f64 / top * h).max(2.0)
        };
        let color = if b.past_timeout {
            "#c0392b"
        } else if b.near_timeout {
            "#d68910"
        } else {
            "#4a78b5"
        };
        let label = match b.to {
            Some(t) => format!("&#8804;{}", escape(&seconds_text(t as f64))),
            None => format!("&gt;{}", escape(&seconds_text(b.from as f64))),
        };
        let _ = writeln!(
            o,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bw}\" height=\"{bh:.1}\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            base - bh,
            x + bw / 2.0,
            base - bh - 3.0,
            b.count,
            x + bw / 2.0,
            base + 16.0
        );
    }
    o.push_str("</svg>\n");
}
