//! `diagnose` output: one block per incident for people, or the JSON contract
//! (`{"incidents": [...], "unparsed_lines": N}`; fields are added, never renamed).

use std::fmt::Write as _;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::codes::RuleId;

use super::accesslog::{
    access_for, access_index, access_shown, seconds_text, AccessGroup, AccessReport, AccessShown,
};
use super::diagnosis::{Diagnosis, Group, Outcome, Place, Setting, UpstreamSummary};
use super::incidents::FpmReport;
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
        .or_else(|| key.path.as_deref().map(str::to_owned))
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
    for n in g.notes() {
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
    whole_text(|out, flush| human(d, out, flush))
}

/// [`render_human`] streamed to `w`: a few groups' text in memory at a time (a run with tens
/// of thousands of groups writes tens of megabytes).
pub fn write_human<W: std::io::Write>(d: &Diagnosis, w: &mut W) -> std::io::Result<()> {
    in_pieces(w, |out, flush| human(d, out, flush))
}

/// Hands a text being built to its destination in pieces: a page of tens of thousands of
/// groups is written a few groups at a time instead of held whole. A writer calls
/// [`Flush::full`] between pieces (a group, a table).
pub(super) struct Flush<'a, E> {
    /// Where the pieces go; `None`: nowhere, the text stays whole in its string.
    sink: Option<&'a mut Sink<'a, E>>,
}

/// A destination for pieces of text ([`Flush`]).
type Sink<'a, E> = dyn FnMut(&str) -> Result<(), E> + 'a;

impl<E> Flush<'_, E> {
    /// Hands `out` over and empties it once it holds [`FLUSH_AT`] bytes or more.
    pub(super) fn full(&mut self, out: &mut String) -> Result<(), E> {
        let Some(sink) = self.sink.as_mut() else {
            return Ok(());
        };
        if out.len() < FLUSH_AT {
            return Ok(());
        }
        sink(out)?;
        out.clear();
        Ok(())
    }
}

/// The whole text of `build` in one string.
pub(super) fn whole_text(
    build: impl FnOnce(
        &mut String,
        &mut Flush<'_, std::convert::Infallible>,
    ) -> Result<(), std::convert::Infallible>,
) -> String {
    let mut out = String::new();
    build(&mut out, &mut Flush { sink: None }).unwrap_or_else(|e| match e {});
    out
}

/// The text of `build` written to `w` in pieces of about [`FLUSH_AT`] bytes.
pub(super) fn in_pieces<W: std::io::Write>(
    w: &mut W,
    build: impl FnOnce(&mut String, &mut Flush<'_, std::io::Error>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut out = String::new();
    let mut sink = |piece: &str| w.write_all(piece.as_bytes());
    build(
        &mut out,
        &mut Flush {
            sink: Some(&mut sink),
        },
    )?;
    w.write_all(out.as_bytes())
}

/// Writes the human format into `out`, handing it on through `flush` after a group.
fn human<E>(d: &Diagnosis, out: &mut String, flush: &mut Flush<'_, E>) -> Result<(), E> {
    for (g, shown) in d.groups.iter().zip(access_shown(d)) {
        let above = match shown {
            AccessShown::Above(i) => d.groups.get(i),
            _ => None,
        };
        render_group(out, g, shown, above);
        flush.full(out)?;
    }
    if !d.recovered.is_empty() {
        let n: u64 = d.recovered.iter().map(|g| g.requests).sum();
        let _ = writeln!(
            out,
            "retried and recovered: {n} request{} (a try failed, another server answered; not errors for the client)\n",
            plural(n)
        );
        for g in &d.recovered {
            render_group(out, g, AccessShown::Absent, None);
            flush.full(out)?;
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
        render_access(out, d, a);
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
    Ok(())
}

/// Bytes of text buffered before a [`Flush`] hands them on.
const FLUSH_AT: usize = 64 * 1024;

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

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

// The JSON document, written by serde straight from the diagnosis: borrowing structs in the
// order of the contract's keys (serde_json's `preserve_order` map kept that order when the
// document was a `Value` tree; a struct keeps it by construction), lists as iterators. Nothing
// of the document is built whole, not even one group's.

/// A time as nginx writes it, or `null`.
struct Time(Option<LogTime>);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(t) => s.collect_str(t),
            None => s.serialize_none(),
        }
    }
}

/// A list written from an iterator made on demand.
struct Seq<F>(F);

impl<F, I> Serialize for Seq<F>
where
    F: Fn() -> I,
    I: IntoIterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

#[derive(Serialize)]
struct PlaceJson<'a> {
    file: &'a str,
    line: usize,
    text: &'a str,
}

fn place_json(p: &Place) -> PlaceJson<'_> {
    PlaceJson {
        file: &p.file,
        line: p.line,
        text: &p.text,
    }
}

#[derive(Serialize)]
struct SettingJson<'a> {
    directive: &'a str,
    value: &'a str,
    ms: Option<u64>,
    default: bool,
    file: Option<&'a str>,
    line: Option<usize>,
}

fn setting_json(s: &Setting) -> SettingJson<'_> {
    SettingJson {
        directive: &s.directive,
        value: &s.value,
        ms: s.millis,
        default: s.place.is_none(),
        file: s.place.as_ref().map(|p| p.file.as_str()),
        line: s.place.as_ref().map(|p| p.line),
    }
}

#[derive(Serialize)]
struct HistogramJson {
    count: u64,
    p50: Option<f64>,
    p95: Option<f64>,
    p99: Option<f64>,
    max: Option<f64>,
}

fn histogram_json(h: &super::histogram::Histogram) -> HistogramJson {
    let q = |p: f64| h.quantile(p).map(|v| (v.round() as u64) as f64 / 1000.0);
    HistogramJson {
        count: h.total(),
        p50: q(0.5),
        p95: q(0.95),
        p99: q(0.99),
        max: (h.total() > 0).then(|| h.max() as f64 / 1000.0),
    }
}

#[derive(Serialize)]
struct BinJson {
    from: f64,
    to: Option<f64>,
    count: u64,
    near_timeout: bool,
    past_timeout: bool,
}

#[derive(Serialize)]
struct AccessGroupJson<'a> {
    config: Option<PlaceJson<'a>>,
    is_handler: bool,
    requests: u64,
    status_502: u64,
    status_504: u64,
    status_5xx_other: u64,
    first: Time,
    last: Time,
    upstream_response_time: HistogramJson,
    request_time: HistogramJson,
    timeout: Option<SettingJson<'a>>,
    near_timeout_tries: u64,
    near_timeout_fraction: Option<f64>,
    summary: Option<String>,
    bins: Vec<BinJson>,
}

fn access_group_json(a: &AccessGroup) -> AccessGroupJson<'_> {
    AccessGroupJson {
        config: a.anchor.as_ref().map(place_json),
        is_handler: a.is_handler,
        requests: a.requests,
        status_502: a.status_502,
        status_504: a.status_504,
        status_5xx_other: a.status_5xx,
        first: Time(a.first),
        last: Time(a.last),
        upstream_response_time: histogram_json(&a.upstream),
        request_time: histogram_json(&a.request),
        timeout: a.timeout.as_ref().map(setting_json),
        near_timeout_tries: a.upstream_near_timeout,
        near_timeout_fraction: (a.upstream.total() > 0)
            .then(|| a.upstream_near_timeout as f64 / a.upstream.total() as f64),
        summary: a.timeout_text(),
        bins: a
            .bins()
            .iter()
            .map(|b| BinJson {
                from: b.from as f64 / 1000.0,
                to: b.to.map(|t| t as f64 / 1000.0),
                count: b.count,
                near_timeout: b.near_timeout,
                past_timeout: b.past_timeout,
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct FormatJson<'a> {
    name: &'a str,
    variables: Vec<&'a str>,
    access_log: Option<PlaceJson<'a>>,
    log_format: Option<PlaceJson<'a>>,
    how: &'a str,
    error: Option<&'a str>,
}

/// `access_log`: the formats read and the numbers per config line.
struct AccessJson<'a>(&'a AccessReport);

impl Serialize for AccessJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(bound(serialize = "Seq<F>: Serialize, Seq<G>: Serialize"))]
        struct Doc<'a, F, G> {
            formats: Seq<F>,
            lines: u64,
            unparsed_lines: u64,
            before_since: u64,
            has_upstream_response_time: bool,
            has_request_time: bool,
            unmapped_requests: u64,
            quantile_relative_error: f64,
            groups: Seq<G>,
            notes: &'a [String],
        }
        let a = self.0;
        Doc {
            formats: Seq(|| {
                a.formats.iter().map(|f| FormatJson {
                    name: &f.format.name,
                    variables: f.format.variables(),
                    access_log: f.access_log.as_ref().map(place_json),
                    log_format: f.log_format.as_ref().map(place_json),
                    how: &f.how,
                    error: f.error.as_deref(),
                })
            }),
            lines: a.lines,
            unparsed_lines: a.unparsed,
            before_since: a.before_since,
            has_upstream_response_time: a.has_upstream_time,
            has_request_time: a.has_request_time,
            unmapped_requests: a.unmapped,
            quantile_relative_error: super::histogram::RELATIVE_ERROR,
            groups: Seq(|| a.groups.iter().map(access_group_json)),
            notes: &a.notes,
        }
        .serialize(s)
    }
}

/// A top list: `[{"value": ..., "requests": n}]`.
struct TopJson<'a>(&'a [(String, u64)]);

impl Serialize for TopJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Item<'a> {
            value: &'a str,
            requests: u64,
        }
        s.collect_seq(self.0.iter().map(|(v, n)| Item {
            value: v,
            requests: *n,
        }))
    }
}

#[derive(Serialize)]
struct DistinctJson {
    paths: usize,
    hosts: usize,
    members: usize,
}

#[derive(Serialize)]
struct ServerBlockJson<'a> {
    file: &'a str,
    line: usize,
    text: &'a str,
    how: &'a str,
}

#[derive(Serialize)]
struct FpmKillJson<'a> {
    event: &'a str,
    signal: Option<&'a str>,
    pool: Option<&'a str>,
    script: Option<&'a str>,
    seconds: Option<f64>,
    count: u64,
    first: Time,
    last: Time,
    sample: &'a str,
    /// Only when the pool's configuration was read (`--php`).
    #[serde(skip_serializing_if = "Option::is_none")]
    request_terminate_timeout: Option<TerminateJson<'a>>,
}

#[derive(Serialize)]
struct TerminateJson<'a> {
    seconds: u64,
    at: &'a str,
}

/// One incident (a group of failed or recovered requests).
#[derive(Serialize)]
struct GroupJson<'a> {
    cause: &'static str,
    status: Option<u16>,
    outcome: &'static str,
    count: u64,
    requests: u64,
    lines: u64,
    first: Time,
    last: Time,
    upstream: Option<&'a str>,
    server: Option<&'a str>,
    request: Option<&'a str>,
    file: Option<&'a str>,
    line: Option<usize>,
    rule: Option<RuleId>,
    message: &'static str,
    fix: &'a str,
    level: &'static str,
    host: Option<&'a str>,
    method: Option<&'a str>,
    path: Option<&'a str>,
    unresolved_host: Option<&'a str>,
    tries: u32,
    key_detail: &'static str,
    max_tries: Option<u32>,
    paths: TopJson<'a>,
    hosts: TopJson<'a>,
    members: TopJson<'a>,
    distinct: DistinctJson,
    handler: Option<PlaceJson<'a>>,
    location: Option<PlaceJson<'a>>,
    server_block: Option<ServerBlockJson<'a>>,
    upstream_server: Option<PlaceJson<'a>>,
    upstream_block: Option<PlaceJson<'a>>,
    setting: Option<SettingJson<'a>>,
    rules: &'static [RuleId],
    php_fpm: Option<FpmKillJson<'a>>,
    notes: Vec<&'a str>,
    sample: &'a str,
    access_group: Option<usize>,
}

/// `access`: the index of the group's access-log numbers in `access_log.groups`.
fn group_json(g: &Group, access: Option<usize>) -> GroupJson<'_> {
    let f = &*g.finding;
    let inc = &f.incident;
    let key = &inc.key;
    GroupJson {
        cause: f.cause().id(),
        status: match f.outcome {
            Outcome::Recovered => None,
            Outcome::Failed => f.cause().http_status(),
        },
        outcome: f.outcome.id(),
        count: g.requests,
        requests: g.requests,
        lines: g.lines,
        first: Time(g.first),
        last: Time(g.last),
        upstream: key.upstream.as_deref(),
        server: key.server.as_deref(),
        request: inc.sample_request.as_deref(),
        file: f.handler.as_ref().map(|h| h.file.as_str()),
        line: f.handler.as_ref().map(|h| h.line),
        rule: f.rule,
        message: f.cause().explanation(),
        fix: &f.fix,
        level: inc.level.as_str(),
        host: key.host.as_deref(),
        method: key.method.as_deref(),
        path: key.path.as_deref(),
        unresolved_host: key.unresolved_host.as_deref(),
        tries: key.tries,
        key_detail: key.detail.id(),
        max_tries: f.max_tries,
        paths: TopJson(&g.paths),
        hosts: TopJson(&g.hosts),
        members: TopJson(&g.members),
        distinct: DistinctJson {
            paths: g.distinct.0,
            hosts: g.distinct.1,
            members: g.distinct.2,
        },
        handler: f.handler.as_ref().map(place_json),
        location: f.location.as_ref().map(place_json),
        server_block: f.server_block.as_ref().map(|(p, how)| ServerBlockJson {
            file: &p.file,
            line: p.line,
            text: &p.text,
            how,
        }),
        upstream_server: f.upstream_server.as_ref().map(place_json),
        upstream_block: f.upstream_block.as_ref().map(place_json),
        setting: f.setting.as_deref().map(setting_json),
        rules: f.cause().rules(),
        php_fpm: f.fpm_kill.as_ref().map(|k| FpmKillJson {
            event: k.event,
            signal: k.signal.as_deref(),
            pool: k.pool.as_deref(),
            script: k.script.as_deref(),
            seconds: k.seconds,
            count: k.count,
            first: Time(k.first),
            last: Time(k.last),
            sample: &k.sample_line,
            request_terminate_timeout: k.request_terminate_timeout.as_ref().map(|(seconds, at)| {
                TerminateJson {
                    seconds: *seconds,
                    at,
                }
            }),
        }),
        notes: g.notes().collect(),
        sample: &inc.sample_line,
        access_group: access,
    }
}

#[derive(Serialize)]
#[serde(bound(serialize = "Seq<F>: Serialize, Seq<C>: Serialize"))]
struct UpstreamJson<'a, F, C> {
    block: PlaceJson<'a>,
    servers: usize,
    failing: Seq<F>,
    first: Time,
    last: Time,
    failed_tries: Seq<C>,
    summary: String,
}

#[derive(Serialize)]
struct CauseCount {
    cause: &'static str,
    count: u64,
}

#[derive(Serialize)]
struct KindJson<'a> {
    kind: &'a str,
    level: &'static str,
    count: u64,
    sample: &'a str,
}

#[derive(Serialize)]
struct FpmEventJson<'a> {
    kind: &'a str,
    pool: Option<&'a str>,
    detail: Option<&'a str>,
    path: Option<&'a str>,
    count: u64,
    first: Time,
    last: Time,
}

/// `php_fpm` of the document: the php-fpm log's counters and events.
struct FpmJson<'a>(&'a FpmReport);

impl Serialize for FpmJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(bound(serialize = "Seq<F>: Serialize"))]
        struct Doc<F> {
            lines: u64,
            unparsed_lines: u64,
            events: Seq<F>,
        }
        let r = self.0;
        Doc {
            lines: r.lines,
            unparsed_lines: r.unparsed,
            events: Seq(|| {
                r.incidents.iter().map(|i| FpmEventJson {
                    kind: i.kind,
                    pool: i.pool.as_deref(),
                    detail: i.detail.as_deref(),
                    path: i.path.as_deref(),
                    count: i.count,
                    first: Time(i.first),
                    last: Time(i.last),
                })
            }),
        }
        .serialize(s)
    }
}

/// The whole document; [`render_json`] and [`write_json`] serialize it.
struct DocJson<'a>(&'a Diagnosis);

impl Serialize for DocJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(bound(
            serialize = "Seq<I>: Serialize, Seq<R>: Serialize, Seq<U>: Serialize, Seq<K>: Serialize"
        ))]
        struct Doc<'a, I, R, U, K> {
            incidents: Seq<I>,
            recovered: Seq<R>,
            upstreams: Seq<U>,
            other_kinds: Seq<K>,
            unparsed_lines: u64,
            lines: u64,
            failures: u64,
            failure_lines: u64,
            recovered_requests: u64,
            ignored_lines: u64,
            before_since: u64,
            cut_lines: u64,
            coarsened: u64,
            evicted_requests: u64,
            since: Time,
            php_fpm: Option<FpmJson<'a>>,
            access_log: Option<AccessJson<'a>>,
            notes: &'a [String],
        }
        let d = self.0;
        let sc = &d.scan;
        Doc {
            incidents: Seq(|| d.groups.iter().map(|g| group_json(g, access_index(d, g)))),
            recovered: Seq(|| d.recovered.iter().map(|g| group_json(g, None))),
            upstreams: Seq(|| {
                d.upstreams.iter().map(|u| UpstreamJson {
                    block: place_json(&u.block),
                    servers: u.servers,
                    failing: Seq(|| u.failing.iter().map(place_json)),
                    first: Time(u.first),
                    last: Time(u.last),
                    failed_tries: Seq(|| {
                        u.by_cause.iter().map(|(c, n)| CauseCount {
                            cause: c.id(),
                            count: *n,
                        })
                    }),
                    summary: upstream_line(u),
                })
            }),
            other_kinds: Seq(|| {
                sc.kinds.iter().map(|k| KindJson {
                    kind: &k.kind,
                    level: k.level.as_str(),
                    count: k.count,
                    sample: &k.sample_line,
                })
            }),
            unparsed_lines: sc.unparsed,
            lines: sc.lines,
            failures: d.groups.iter().map(|g| g.requests).sum(),
            failure_lines: d.groups.iter().map(|g| g.lines).sum(),
            recovered_requests: d.recovered.iter().map(|g| g.requests).sum(),
            ignored_lines: sc.ignored,
            before_since: sc.before_since,
            cut_lines: sc.cut_lines,
            coarsened: sc.coarsened,
            evicted_requests: sc.evicted,
            since: Time(d.since),
            php_fpm: d.fpm.as_ref().map(FpmJson),
            access_log: d.access.as_ref().map(AccessJson),
            notes: &d.notes,
        }
        .serialize(s)
    }
}

/// The JSON contract: `incidents` are the groups of failed requests (`count` = requests),
/// `recovered` the requests another server answered, `upstreams` the blocks with failing
/// servers, `other_kinds` the upstream lines no cause covers, `access_log.groups` the access-log
/// numbers per config line, each once (an incident's `access_group` is its index there: groups
/// at one config line share it). [`write_json`] prints the same document without building it.
pub fn render_json(d: &Diagnosis) -> Value {
    // Every key is a string and every number finite or null: this cannot fail.
    serde_json::to_value(DocJson(d)).unwrap_or(Value::Null)
}

/// Writes `render_json(d)` pretty-printed (`serde_json::to_writer_pretty`, plus a line end),
/// serialized straight from `d`: nothing of the document is held in memory.
pub fn write_json<W: std::io::Write>(d: &Diagnosis, w: &mut W) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &DocJson(d)).map_err(std::io::Error::from)?;
    w.write_all(b"\n")
}
