//! `--access-log`: nginx's access log read with the `log_format` the configuration declares for
//! it, as evidence next to the error log: per handler (the config line that sent the request
//! upstream) the client statuses 502/504 and the distribution of `$upstream_response_time` and
//! `$request_time` against the `*_read_timeout` in force.
//!
//! A format is read generically: its string (`log_format NAME [escape=...] STRING...`, the
//! strings joined as nginx joins them) is split into literals and variables, and a line is
//! matched by taking each variable's value up to the next literal. nginx escapes `"`, `\` and
//! control bytes in variable values (`escape=default` writes `\x22`; `json` writes `\"`), so a
//! quoted value never holds the literal that ends it. `combined` is nginx's predefined format
//! (`ngx_http_log_module.c`). A format without `$upstream_response_time` or `$request_time` is
//! read all the same: the timings are then absent.
//!
//! Streaming and flat memory: one reused line buffer, quantiles from a fixed-size
//! [`Histogram`], per-line lookups cached in bounded tables.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use crate::config::{Family, NodeId, ResolvedConfig};

use super::classify::Cause;
use super::diagnosis::{effective_setting, place, Diagnosis, Group, Place, Setting};
use super::histogram::Histogram;
use super::incidents::{read_line_capped, DiagnoseError, FastHash, MAX_LINE};
use super::logline::{max_time, min_time, uri_path, LogTime, Request};
use super::mapping::{split_host, ConfigMap, Socket};

/// nginx's predefined `combined` format (ngx_http_log_module.c).
pub const COMBINED: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"";

/// Values within this fraction of the timeout count as "near the timeout".
pub const NEAR_TIMEOUT: f64 = 0.05;

/// Entries kept in each per-line lookup cache before it is emptied.
const MAX_CACHE: usize = 65_536;

/// Groups (handlers, locations, servers) tracked at most; later ones are counted apart.
const MAX_ACCESS_GROUPS: usize = 4_096;

/// The variables the reader uses; the others are matched and skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    TimeLocal,
    TimeIso8601,
    Request,
    Status,
    UpstreamResponseTime,
    RequestTime,
    Host,
    HttpHost,
    ServerName,
    ServerPort,
    ServerAddr,
    Other,
}

const FIELDS: usize = 11;

impl Field {
    fn from_name(name: &str) -> Self {
        match name {
            "time_local" => Field::TimeLocal,
            "time_iso8601" => Field::TimeIso8601,
            "request" => Field::Request,
            "status" => Field::Status,
            "upstream_response_time" => Field::UpstreamResponseTime,
            "request_time" => Field::RequestTime,
            "host" => Field::Host,
            "http_host" => Field::HttpHost,
            "server_name" => Field::ServerName,
            "server_port" => Field::ServerPort,
            "server_addr" => Field::ServerAddr,
            _ => Field::Other,
        }
    }

    fn slot(self) -> Option<usize> {
        match self {
            Field::Other => None,
            f => Some(f as usize),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(Field, String),
}

/// A `log_format` as a sequence of literals and variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFormat {
    pub name: String,
    parts: Vec<Part>,
}

/// A format string the reader cannot use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("log_format {name}: \"$\" without a variable name at byte {at}")]
    BareDollar { name: String, at: usize },
    #[error("log_format {name}: ${a} is followed by ${b} with nothing between: the line cannot be split")]
    Adjacent { name: String, a: String, b: String },
}

impl LogFormat {
    /// Splits a format string (the strings of `log_format` after the name and `escape=`,
    /// joined) as `ngx_http_log_compile_format` does: `$name` (letters, digits, `_`) or
    /// `${name}`, the rest literal text.
    pub fn parse(name: &str, text: &str) -> Result<Self, FormatError> {
        let b = text.as_bytes();
        let mut parts: Vec<Part> = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'$' {
                let next = text[i..].find('$').map_or(b.len(), |n| i + n);
                lit.push_str(&text[i..next]);
                i = next;
                continue;
            }
            let (var, end) = if b.get(i + 1) == Some(&b'{') {
                match text[i + 2..].find('}') {
                    Some(n) => (&text[i + 2..i + 2 + n], i + 3 + n),
                    None => ("", i + 1),
                }
            } else {
                let n = b[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count();
                (&text[i + 1..i + 1 + n], i + 1 + n)
            };
            if var.is_empty() {
                return Err(FormatError::BareDollar {
                    name: name.to_owned(),
                    at: i,
                });
            }
            if !lit.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut lit)));
            }
            if let Some(Part::Var(_, prev)) = parts.last() {
                return Err(FormatError::Adjacent {
                    name: name.to_owned(),
                    a: prev.clone(),
                    b: var.to_owned(),
                });
            }
            parts.push(Part::Var(Field::from_name(var), var.to_owned()));
            i = end;
        }
        if !lit.is_empty() {
            parts.push(Part::Literal(lit));
        }
        Ok(Self {
            name: name.to_owned(),
            parts,
        })
    }

    /// nginx's `combined`.
    pub fn combined() -> Self {
        match Self::parse("combined", COMBINED) {
            Ok(f) => f,
            // The constant has no bare `$` and no adjacent variables.
            Err(_) => Self {
                name: "combined".to_owned(),
                parts: Vec::new(),
            },
        }
    }

    fn has(&self, field: Field) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Var(f, _) if *f == field))
    }

    /// The variables of the format, in order.
    pub fn variables(&self) -> Vec<&str> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Var(_, n) => Some(n.as_str()),
                Part::Literal(_) => None,
            })
            .collect()
    }

    /// Splits `line`; the values of the fields the reader uses, `None` when the line does not
    /// have the format's shape.
    fn split<'a>(&self, line: &'a str) -> Option<[Option<&'a str>; FIELDS]> {
        let mut out = [None; FIELDS];
        let mut pos = 0;
        let mut k = 0;
        while k < self.parts.len() {
            match &self.parts[k] {
                Part::Literal(l) => {
                    if !line[pos..].starts_with(l.as_str()) {
                        return None;
                    }
                    pos += l.len();
                }
                Part::Var(field, _) => {
                    let end = match self.parts.get(k + 1) {
                        Some(Part::Literal(l)) => pos + line[pos..].find(l.as_str())?,
                        _ => line.len(),
                    };
                    if let Some(s) = field.slot() {
                        out[s] = Some(&line[pos..end]);
                    }
                    pos = end;
                }
            }
            k += 1;
        }
        Some(out)
    }
}

/// Which format was used for a log, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatChoice {
    pub format: LogFormat,
    /// The `access_log` line that names the file, if one does.
    pub access_log: Option<Place>,
    /// The `log_format` line, `None` for the predefined `combined`.
    pub log_format: Option<Place>,
    /// How it was chosen.
    pub how: String,
    /// The server block every line of this log comes from, when the `access_log` is inside
    /// one.
    pub scope_server: Option<NodeId>,
    /// Why the format could not be used (then `combined` is tried).
    pub error: Option<String>,
}

/// The format the configuration declares for the access log at `path`: the `access_log`
/// whose path is `path` (as written, then the same file, then the same file name), its format
/// name (`combined` when not given), and that `log_format`.
pub fn choose_format(cfg: Option<&ResolvedConfig<'_>>, path: &Path) -> FormatChoice {
    let mut choice = FormatChoice {
        format: LogFormat::combined(),
        access_log: None,
        log_format: None,
        how: "no configuration: nginx's predefined combined format".to_owned(),
        scope_server: None,
        error: None,
    };
    let Some(cfg) = cfg else { return choice };
    let logs: Vec<(NodeId, &str)> = cfg
        .iter()
        .filter(|(_, n)| n.name() == "access_log")
        .filter_map(|(id, n)| n.arg(0).map(|a| (id, a)))
        .filter(|(_, a)| *a != "off" && !a.starts_with("syslog:"))
        .collect();
    let same_file = |a: &str| {
        let (Ok(x), Ok(y)) = (std::fs::canonicalize(a), std::fs::canonicalize(path)) else {
            return false;
        };
        x == y
    };
    let base = path.file_name().and_then(|n| n.to_str());
    let by_name: Vec<&(NodeId, &str)> = logs
        .iter()
        .filter(|(_, a)| {
            base.is_some() && Path::new(a).file_name().and_then(|n| n.to_str()) == base
        })
        .collect();
    let found = logs
        .iter()
        .find(|(_, a)| Path::new(a) == path)
        .map(|l| (l, "its path"))
        .or_else(|| {
            logs.iter()
                .find(|(_, a)| same_file(a))
                .map(|l| (l, "the same file"))
        })
        .or(match by_name.as_slice() {
            [one] => Some((*one, "the same file name")),
            _ => None,
        });
    let Some((&(id, _), why)) = found else {
        choice.how = if logs.is_empty() {
            "no access_log in the configuration: nginx's default, combined".to_owned()
        } else {
            format!(
                "no access_log of the configuration names {}: read as combined",
                path.display()
            )
        };
        return choice;
    };
    let node = cfg.node(id);
    let name = node.arg(1).unwrap_or("combined").to_owned();
    let ap = place(cfg, id);
    choice.access_log = Some(ap.clone());
    choice.scope_server = cfg.enclosing_server(id);
    if name == "combined" {
        choice.how = format!(
            "{} ({}:{}) names it by {why}: combined, nginx's predefined format",
            ap.text, ap.file, ap.line
        );
        return choice;
    }
    let declared = cfg
        .iter()
        .find(|(_, n)| n.name() == "log_format" && n.arg(0) == Some(name.as_str()));
    let Some((fid, fnode)) = declared else {
        choice.how = format!(
            "{} ({}:{}) names it by {why}, but no log_format {name} is declared: read as combined",
            ap.text, ap.file, ap.line
        );
        return choice;
    };
    let text: String = fnode
        .directive
        .args()
        .iter()
        .skip(1)
        .map(|a| a.as_str())
        .skip_while(|a| a.starts_with("escape="))
        .collect();
    let fp = place(cfg, fid);
    choice.log_format = Some(fp.clone());
    match LogFormat::parse(&name, &text) {
        Ok(f) => {
            choice.format = f;
            choice.how = format!(
                "{} ({}:{}) names it by {why}: log_format {name} ({}:{})",
                ap.text, ap.file, ap.line, fp.file, fp.line
            );
        }
        Err(e) => {
            choice.error = Some(e.to_string());
            choice.how = format!("{e}: read as combined");
        }
    }
    choice
}

/// One handler (or location, or server block, when no handler fits) seen in the access log.
#[derive(Clone, Debug, PartialEq)]
pub struct AccessGroup {
    /// The handler line, else the location or server block, of the requests.
    pub anchor: Option<Place>,
    /// Whether `anchor` is a handler (`*_pass`).
    pub is_handler: bool,
    pub requests: u64,
    pub status_502: u64,
    pub status_504: u64,
    /// Other 5xx answers.
    pub status_5xx: u64,
    pub first: Option<LogTime>,
    pub last: Option<LogTime>,
    /// Each try's `$upstream_response_time` (a request retried on two servers counts twice).
    pub upstream: Histogram,
    pub request: Histogram,
    /// `*_read_timeout` in force for the handler.
    pub timeout: Option<Setting>,
    /// Tries whose upstream time was within [`NEAR_TIMEOUT`] of the timeout, or above it.
    pub upstream_near_timeout: u64,
    /// The longest `$upstream_response_time` (last try) of a request answered 504, and of
    /// `$request_time` for those: what a timeout in force must explain.
    pub slowest_504_upstream: Option<u64>,
    pub slowest_504_request: Option<u64>,
}

/// Path -> (socket, status, requests).
type PathSockets = HashMap<Box<str>, Vec<(Socket, u16, u64)>, FastHash>;

/// Keys [`SocketEvidence`] keeps at most; requests of later keys are counted in `dropped`.
const MAX_SOCKET_KEYS: usize = 65_536;

/// The sockets (`$server_addr` / `$server_port`) the access log's failed requests (status
/// 500-599) came in on, by Host name and path: what the error log does not say, and what
/// picks among server blocks that share a name on different ports. Bounded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SocketEvidence {
    /// Host name -> path -> (socket, status, requests).
    by_host: HashMap<Box<str>, PathSockets, FastHash>,
    keys: usize,
    /// Requests not kept: more distinct Host and path pairs than the bound.
    pub dropped: u64,
}

impl SocketEvidence {
    fn add(&mut self, host: &str, path: &str, socket: Socket, status: u16) {
        let full = self.keys >= MAX_SOCKET_KEYS;
        let paths = match self.by_host.get_mut(host) {
            Some(p) => p,
            None if full => {
                self.dropped += 1;
                return;
            }
            None => self.by_host.entry(host.into()).or_default(),
        };
        let v = match paths.get_mut(path) {
            Some(v) => v,
            None if full => {
                self.dropped += 1;
                return;
            }
            None => {
                self.keys += 1;
                paths.entry(path.into()).or_default()
            }
        };
        match v
            .iter_mut()
            .find(|(s, st, _)| *s == socket && *st == status)
        {
            Some(e) => e.2 += 1,
            None => v.push((socket, status, 1)),
        }
    }

    /// The sockets failed requests to `host` (a `Host` header, any port) and `path` came in on,
    /// with counts, for `status` when given; over every path of the host when `path` is `None`.
    /// Most requests first.
    pub fn sockets(
        &self,
        host: &str,
        path: Option<&str>,
        status: Option<u16>,
    ) -> Vec<(Socket, u64)> {
        let Some(paths) = split_host(host)
            .0
            .and_then(|n| self.by_host.get(n.as_str()))
        else {
            return Vec::new();
        };
        let mut out: Vec<(Socket, u64)> = Vec::new();
        let mut add = |v: &Vec<(Socket, u16, u64)>| {
            for (s, st, n) in v {
                if status.is_some_and(|x| x != *st) {
                    continue;
                }
                match out.iter_mut().find(|(o, _)| o == s) {
                    Some(e) => e.1 += n,
                    None => out.push((*s, *n)),
                }
            }
        };
        match path {
            Some(p) => {
                if let Some(v) = paths.get(uri_path(p)) {
                    add(v);
                }
            }
            None => paths.values().for_each(&mut add),
        }
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    pub fn is_empty(&self) -> bool {
        self.by_host.is_empty()
    }
}

/// The result of reading access logs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccessReport {
    /// One per log read.
    pub formats: Vec<FormatChoice>,
    pub lines: u64,
    /// Lines that do not have the format's shape.
    pub unparsed: u64,
    pub before_since: u64,
    /// The format has `$upstream_response_time` / `$request_time`.
    pub has_upstream_time: bool,
    pub has_request_time: bool,
    /// Most 502/504 first, then most requests.
    pub groups: Vec<AccessGroup>,
    /// Requests no server block or location could be found for.
    pub unmapped: u64,
    pub notes: Vec<String>,
    /// The format has `$server_port` or `$server_addr`.
    pub has_socket: bool,
    /// Where failed requests came in, for the error log's server selection.
    pub sockets: SocketEvidence,
}

/// A per-line lookup cache: text -> the node it led to.
type NodeCache = HashMap<Box<str>, Option<NodeId>, FastHash>;

/// Streams access logs into an [`AccessReport`].
pub struct AccessScanner<'m, 'c, 't> {
    map: Option<&'m ConfigMap<'c, 't>>,
    since: Option<LogTime>,
    groups: HashMap<Option<NodeId>, usize, FastHash>,
    stats: Vec<AccessGroup>,
    /// Socket -> `server_name` field -> Host field -> server block.
    servers: HashMap<Socket, HashMap<Box<str>, NodeCache, FastHash>, FastHash>,
    server_entries: usize,
    /// server block -> path -> group anchor node.
    anchors: HashMap<Option<NodeId>, NodeCache, FastHash>,
    anchor_entries: usize,
    report: AccessReport,
    overflow: u64,
}

impl<'m, 'c, 't> AccessScanner<'m, 'c, 't> {
    pub fn new(map: Option<&'m ConfigMap<'c, 't>>, since: Option<LogTime>) -> Self {
        Self {
            map,
            since,
            groups: HashMap::default(),
            stats: Vec::new(),
            servers: HashMap::default(),
            server_entries: 0,
            anchors: HashMap::default(),
            anchor_entries: 0,
            report: AccessReport::default(),
            overflow: 0,
        }
    }

    /// Reads one log with `choice`'s format.
    pub fn read<R: BufRead>(
        &mut self,
        mut reader: R,
        name: &Path,
        choice: FormatChoice,
    ) -> Result<(), DiagnoseError> {
        let format = &choice.format;
        self.report.has_upstream_time |= format.has(Field::UpstreamResponseTime);
        self.report.has_request_time |= format.has(Field::RequestTime);
        self.report.has_socket |= format.has(Field::ServerPort) || format.has(Field::ServerAddr);
        let mut buf = Vec::with_capacity(4096);
        while read_line_capped(&mut reader, &mut buf, MAX_LINE)
            .map_err(|source| DiagnoseError::Read {
                path: name.to_owned(),
                source,
            })?
            .is_some()
        {
            self.report.lines += 1;
            let text = String::from_utf8_lossy(&buf);
            let line = text.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                continue;
            }
            let Some(fields) = format.split(line) else {
                self.report.unparsed += 1;
                continue;
            };
            self.take(&fields, choice.scope_server);
        }
        self.report.formats.push(choice);
        Ok(())
    }

    fn take(&mut self, f: &[Option<&str>; FIELDS], scope: Option<NodeId>) {
        let get = |field: Field| field.slot().and_then(|s| f[s]).filter(|v| *v != "-");
        let time = get(Field::TimeLocal)
            .and_then(parse_time_local)
            .or_else(|| get(Field::TimeIso8601).and_then(parse_time_iso));
        if let (Some(since), Some(t)) = (self.since, time) {
            if t < since {
                self.report.before_since += 1;
                return;
            }
        }
        let status: Option<u16> = get(Field::Status).and_then(|s| s.parse().ok());
        let path = get(Field::Request)
            .and_then(Request::parse)
            .map(|r| r.path());
        let host = get(Field::HttpHost).or(get(Field::Host));
        let socket = Socket::parse(get(Field::ServerAddr), get(Field::ServerPort));
        if let (Some(st @ 500..=599), true, Some(h), Some(p)) =
            (status, socket.is_known(), host, path)
        {
            if let Some(name) = split_host(h).0 {
                self.report.sockets.add(&name, uri_path(p), socket, st);
            }
        }
        let anchor = self.anchor(scope, get(Field::ServerName), host, socket, path);
        let Some(g) = self.group(anchor) else {
            self.overflow += 1;
            return;
        };
        g.requests += 1;
        match status {
            Some(502) => g.status_502 += 1,
            Some(504) => g.status_504 += 1,
            Some(500..=599) => g.status_5xx += 1,
            _ => {}
        }
        g.first = min_time(g.first, time);
        g.last = max_time(g.last, time);
        let timeout_ms = g.timeout.as_ref().and_then(|t| t.millis);
        if let Some(v) = get(Field::UpstreamResponseTime) {
            // `0.012, 0.003 : 0.040`: tries of one upstream group by commas, internal
            // redirects to another by colons; `-` for a try without a response time.
            for t in v.split([',', ':']).filter_map(|t| parse_seconds(t.trim())) {
                g.upstream.add(t);
                if timeout_ms.is_some_and(|ms| t as f64 >= ms as f64 * (1.0 - NEAR_TIMEOUT)) {
                    g.upstream_near_timeout += 1;
                }
            }
        }
        if let Some(v) = get(Field::UpstreamResponseTime) {
            let last = v
                .rsplit([',', ':'])
                .next()
                .and_then(|t| parse_seconds(t.trim()));
            if let (Some(504), Some(t)) = (status, last) {
                g.slowest_504_upstream = Some(g.slowest_504_upstream.map_or(t, |m| m.max(t)));
            }
        }
        if let Some(t) = get(Field::RequestTime).and_then(parse_seconds) {
            g.request.add(t);
            if status == Some(504) {
                g.slowest_504_request = Some(g.slowest_504_request.map_or(t, |m| m.max(t)));
            }
        }
    }

    /// The group of a request: its handler, else its location, else its server block.
    fn anchor(
        &mut self,
        scope: Option<NodeId>,
        server_name: Option<&str>,
        host: Option<&str>,
        socket: Socket,
        path: Option<&str>,
    ) -> Option<NodeId> {
        let map = self.map?;
        let server = match scope {
            Some(s) => Some(s),
            None => {
                let name = server_name.unwrap_or("");
                let host_key = host.unwrap_or("");
                let cached = self
                    .servers
                    .get(&socket)
                    .and_then(|m| m.get(name))
                    .and_then(|m| m.get(host_key))
                    .copied();
                match cached {
                    Some(s) => s,
                    None => {
                        let s = map
                            .select_server_on(server_name, host, socket)
                            .map(|c| c.id);
                        if self.server_entries >= MAX_CACHE {
                            self.servers.clear();
                            self.server_entries = 0;
                        }
                        self.server_entries += 1;
                        self.servers
                            .entry(socket)
                            .or_default()
                            .entry(name.into())
                            .or_default()
                            .insert(host_key.into(), s);
                        s
                    }
                }
            }
        };
        let path = path?;
        let path = uri_path(path);
        if let Some(a) = self.anchors.get(&server).and_then(|m| m.get(path)) {
            return *a;
        }
        let found = server.map(|s| {
            let l = map.find_location(s, path).location;
            let handler = l.and_then(|l| map.location_handlers(l).first().map(|(h, _)| *h));
            handler.or(l).unwrap_or(s)
        });
        if self.anchor_entries >= MAX_CACHE {
            self.anchors.clear();
            self.anchor_entries = 0;
        }
        self.anchor_entries += 1;
        self.anchors
            .entry(server)
            .or_default()
            .insert(path.into(), found);
        found
    }

    fn group(&mut self, anchor: Option<NodeId>) -> Option<&mut AccessGroup> {
        if let Some(&i) = self.groups.get(&anchor) {
            return self.stats.get_mut(i);
        }
        if self.stats.len() >= MAX_ACCESS_GROUPS {
            return None;
        }
        let cfg = self.map.map(|m| m.cfg);
        let (place, is_handler, timeout) = match (cfg, anchor) {
            (Some(cfg), Some(id)) => {
                let family = Family::from_pass(cfg.node(id).name());
                let timeout = family.map(|f| {
                    let block = cfg.block_of(id).unwrap_or(id);
                    let name = format!("{}_read_timeout", f.prefix());
                    effective_setting(cfg, |n| place(cfg, n), block, &name)
                });
                (Some(place(cfg, id)), family.is_some(), timeout)
            }
            _ => (None, false, None),
        };
        self.groups.insert(anchor, self.stats.len());
        self.stats.push(AccessGroup {
            anchor: place,
            is_handler,
            requests: 0,
            status_502: 0,
            status_504: 0,
            status_5xx: 0,
            first: None,
            last: None,
            upstream: Histogram::default(),
            request: Histogram::default(),
            timeout,
            upstream_near_timeout: 0,
            slowest_504_upstream: None,
            slowest_504_request: None,
        });
        self.stats.last_mut()
    }

    pub fn finish(mut self) -> AccessReport {
        let mut groups = std::mem::take(&mut self.stats);
        if let Some(i) = groups.iter().position(|g| g.anchor.is_none()) {
            let g = groups.remove(i);
            self.report.unmapped = g.requests;
            if self.map.is_some() && g.requests > 0 {
                self.report.notes.push(format!(
                    "{} access-log requests could not be tied to a server block or location",
                    g.requests
                ));
            }
            if self.map.is_none() {
                groups.push(g);
            }
        }
        if self.overflow > 0 {
            self.report.notes.push(format!(
                "{} access-log requests of more than {MAX_ACCESS_GROUPS} config lines were not counted",
                self.overflow
            ));
        }
        groups.sort_by(|a, b| {
            (b.status_502 + b.status_504)
                .cmp(&(a.status_502 + a.status_504))
                .then(b.requests.cmp(&a.requests))
                .then_with(|| {
                    let k = |g: &AccessGroup| g.anchor.as_ref().map(|p| (p.file.clone(), p.line));
                    k(a).cmp(&k(b))
                })
        });
        self.report.groups = groups;
        self.report
    }
}

/// The access-log group of the same config line as an error-log group.
pub fn access_for<'a>(d: &'a Diagnosis, g: &Group) -> Option<&'a AccessGroup> {
    d.access.as_ref()?.groups.get(access_index(d, g)?)
}

/// Where [`access_for`]'s group sits in `AccessReport::groups`: the JSON names it by this index
/// (`access_group`), so numbers shared by several groups at one config line are written once.
pub fn access_index(d: &Diagnosis, g: &Group) -> Option<usize> {
    let f = &g.finding;
    let anchor = f
        .handler
        .as_ref()
        .or(f.location.as_ref())
        .or(f.server_block.as_ref().map(|(p, _)| p))?;
    d.access.as_ref()?.groups.iter().position(|a| {
        a.anchor
            .as_ref()
            .is_some_and(|p| p.file == anchor.file && p.line == anchor.line)
    })
}

/// Where a group's access-log numbers are shown.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AccessShown<'a> {
    /// No access-log group has this group's config line.
    Absent,
    /// Shown with this group.
    Here(&'a AccessGroup),
    /// Shown with the earlier group at this index of `Diagnosis::groups`: several groups
    /// (refused and timed out at one `proxy_pass`) share the config line, and its numbers are
    /// the line's, not the group's.
    Above(usize),
}

/// [`access_for`] of every group of `d`, each access-log group shown once: with the first
/// group of its config line.
pub fn access_shown(d: &Diagnosis) -> Vec<AccessShown<'_>> {
    let mut firsts: Vec<(*const AccessGroup, usize)> = Vec::new();
    d.groups
        .iter()
        .enumerate()
        .map(|(i, g)| match access_for(d, g) {
            None => AccessShown::Absent,
            Some(a) => match firsts.iter().find(|(p, _)| std::ptr::eq(*p, a)) {
                Some(&(_, first)) => AccessShown::Above(first),
                None => {
                    firsts.push((a, i));
                    AccessShown::Here(a)
                }
            },
        })
        .collect()
}

/// Drift (issue #15): a timeout group whose 504s the access log shows ending well before the
/// timeout in force — that timeout cannot explain them: the configuration changed since, or
/// another layer timed out (a load balancer in front, php-fpm's request_terminate_timeout, the
/// backend's own limit). A note on each such group.
pub fn timeout_drift(d: &mut Diagnosis) {
    let notes: Vec<(usize, String)> = d
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| matches!(g.cause(), Cause::ReadTimeout | Cause::SendTimeout))
        .filter_map(|(i, g)| {
            let a = access_for(d, g)?;
            let timeout = a.timeout.as_ref()?;
            let ms = timeout.millis?;
            let (what, slowest) = match (a.slowest_504_upstream, a.slowest_504_request) {
                (Some(u), _) => ("$upstream_response_time", u),
                (None, Some(r)) => ("$request_time", r),
                (None, None) => return None,
            };
            // nginx's timer fires at the timeout (1 ms resolution, the log 1 ms): 20% below it
            // is far outside any rounding.
            if (slowest as f64) >= ms as f64 * 0.8 {
                return None;
            }
            let at = timeout.place.as_ref().map_or_else(
                || " (the default)".to_owned(),
                |p| format!(" ({}:{})", p.file, p.line),
            );
            Some((i, format!(
                "drift: the access log's 504s here took at most {} ({what}), but {} is {}{at}: the timeout in force cannot explain them — the configuration changed since the incident, or another layer timed out (a load balancer or proxy in front, php-fpm's request_terminate_timeout, the backend's own limit)",
                seconds_text(slowest as f64),
                timeout.directive,
                timeout.value
            )))
        })
        .collect();
    for (i, n) in notes {
        if let Some(g) = d.groups.get_mut(i) {
            g.more_notes.push(n.into());
        }
    }
}

/// A duration for people: `0.120s`, `2.31s`, `58.1s`, `125s`.
pub fn seconds_text(ms: f64) -> String {
    let s = ms / 1000.0;
    if s < 1.0 {
        format!("{s:.3}s")
    } else if s < 10.0 {
        format!("{s:.2}s")
    } else if s < 100.0 {
        format!("{s:.1}s")
    } else {
        format!("{s:.0}s")
    }
}

/// One bin of a drawn distribution: values in `(from, to]` ms (`to` `None`: above `from`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bin {
    pub from: u64,
    pub to: Option<u64>,
    pub count: u64,
    /// The bin starts at 95% of the timeout or above.
    pub near_timeout: bool,
    /// The bin starts at the timeout or above.
    pub past_timeout: bool,
}

/// Bin edges for drawing: a 1-2.5-5 ladder, with 95% of the timeout and the timeout as edges.
fn edges(max: u64, timeout: Option<u64>) -> Vec<u64> {
    let mut out: Vec<u64> = Vec::new();
    let mut decade = 1u64;
    'outer: while decade <= 100_000_000 {
        for m in [1, 2, 5] {
            let e = decade * m;
            if e > max.max(timeout.unwrap_or(0)) {
                break 'outer;
            }
            out.push(e);
        }
        decade *= 10;
    }
    if let Some(t) = timeout {
        let near = (t as f64 * (1.0 - NEAR_TIMEOUT)) as u64;
        // Ladder edges too close to the timeout ones would make slivers.
        out.retain(|&e| (e as f64) < near as f64 * 0.9 || e as f64 > t as f64 * 1.5);
        out.push(near);
        out.push(t);
    }
    out.sort_unstable();
    out.dedup();
    out
}

impl AccessGroup {
    /// `p50 0.120s, p95 2.31s, p99 58.1s, max 60.0s` of a histogram; `None` when empty.
    pub fn quantiles_text(h: &Histogram) -> Option<String> {
        let q = |p: f64| h.quantile(p).map(seconds_text).unwrap_or_default();
        (h.total() > 0).then(|| {
            format!(
                "p50 {}, p95 {}, p99 {}, max {}",
                q(0.5),
                q(0.95),
                q(0.99),
                seconds_text(h.max() as f64)
            )
        })
    }

    /// "p99 58.1s against proxy_read_timeout 60s (nginx.conf:12): 0.7% of tries within 5% of
    /// the timeout or past it"; `None` without upstream times.
    pub fn timeout_text(&self) -> Option<String> {
        let h = &self.upstream;
        let p99 = h.quantile(0.99)?;
        let Some(t) = &self.timeout else {
            return Some(format!("p99 {}", seconds_text(p99)));
        };
        let at = t.place.as_ref().map_or_else(
            || "the default".to_owned(),
            |p| format!("{}:{}", p.file, p.line),
        );
        let pct = 100.0 * self.upstream_near_timeout as f64 / h.total().max(1) as f64;
        Some(format!(
            "p99 {} against {} {} ({at}): {pct:.1}% of tries within 5% of the timeout or past it",
            seconds_text(p99),
            t.directive,
            t.value
        ))
    }

    /// The upstream (else request) time distribution in bins, empty ends trimmed.
    pub fn bins(&self) -> Vec<Bin> {
        let h = if self.upstream.total() > 0 {
            &self.upstream
        } else {
            &self.request
        };
        if h.total() == 0 {
            return Vec::new();
        }
        let timeout = self.timeout.as_ref().and_then(|t| t.millis);
        let e = edges(h.max(), timeout);
        let counts = h.bins(&e);
        let near = timeout.map(|t| (t as f64 * (1.0 - NEAR_TIMEOUT)) as u64);
        let mut bins: Vec<Bin> = counts
            .iter()
            .enumerate()
            .map(|(i, &count)| {
                let from = if i == 0 { 0 } else { e[i - 1] };
                Bin {
                    from,
                    to: e.get(i).copied(),
                    count,
                    near_timeout: near.is_some_and(|n| from >= n),
                    past_timeout: timeout.is_some_and(|t| from >= t),
                }
            })
            .collect();
        while bins.last().is_some_and(|b| b.count == 0) {
            bins.pop();
        }
        let lead = bins.iter().take_while(|b| b.count == 0).count();
        bins.drain(..lead);
        bins
    }
}

/// nginx's `$request_time` / `$upstream_response_time` text (`12.345`: seconds with
/// millisecond resolution) as milliseconds.
fn parse_seconds(s: &str) -> Option<u64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 12 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let w: u64 = whole.parse().ok()?;
    let mut ms = 0u64;
    for (i, b) in frac.bytes().take(3).enumerate() {
        ms += u64::from(b - b'0') * [100, 10, 1][i];
    }
    Some(w * 1000 + ms)
}

/// `$time_local`: `26/Nov/2026:02:55:54 +0000` (the zone is ignored: error.log times carry
/// none, both are the server's local time).
fn parse_time_local(s: &str) -> Option<LogTime> {
    let b = s.as_bytes();
    if b.len() < 20 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| s.get(3..6) == Some(*m))? as u8 + 1;
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u16>().ok();
    LogTime::new(
        num(7..11)?,
        month,
        u8::try_from(num(0..2)?).ok()?,
        u8::try_from(num(12..14)?).ok()?,
        u8::try_from(num(15..17)?).ok()?,
        u8::try_from(num(18..20)?).ok()?,
    )
}

/// `$time_iso8601`: `2026-11-26T02:55:54+00:00`.
fn parse_time_iso(s: &str) -> Option<LogTime> {
    s.get(..19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_split_into_literals_and_variables() {
        let f = LogFormat::combined();
        assert_eq!(
            f.variables(),
            vec![
                "remote_addr",
                "remote_user",
                "time_local",
                "request",
                "status",
                "body_bytes_sent",
                "http_referer",
                "http_user_agent"
            ]
        );
        let line = "10.0.0.1 - - [26/Nov/2026:02:55:54 +0100] \"GET /a?b=\\x22c HTTP/1.1\" 502 157 \"-\" \"curl/8.0 \\x22x\\x22\"";
        let v = f.split(line).unwrap_or_default();
        assert_eq!(v[Field::Status as usize], Some("502"));
        assert_eq!(v[Field::Request as usize], Some("GET /a?b=\\x22c HTTP/1.1"));
        assert_eq!(
            v[Field::TimeLocal as usize].and_then(parse_time_local),
            LogTime::new(2026, 11, 26, 2, 55, 54)
        );
        let braces = LogFormat::parse("t", "${status}x$request_time").unwrap_or(f);
        assert_eq!(braces.variables(), vec!["status", "request_time"]);
        assert!(matches!(
            LogFormat::parse("t", "$status$request_time"),
            Err(FormatError::Adjacent { .. })
        ));
        assert!(matches!(
            LogFormat::parse("t", "a $ b"),
            Err(FormatError::BareDollar { .. })
        ));
    }

    #[test]
    fn times_in_seconds_with_milliseconds() {
        assert_eq!(parse_seconds("58.123"), Some(58_123));
        assert_eq!(parse_seconds("0.5"), Some(500));
        assert_eq!(parse_seconds("3"), Some(3_000));
        assert_eq!(parse_seconds("-"), None);
        assert_eq!(parse_seconds(""), None);
        assert_eq!(parse_seconds("1.2.3"), None);
        assert_eq!(
            parse_time_iso("2026-11-26T02:55:54+00:00"),
            LogTime::new(2026, 11, 26, 2, 55, 54)
        );
    }

    #[test]
    fn without_config_one_group_with_timings() {
        let f = LogFormat::parse(
            "t",
            "$remote_addr [$time_local] \"$request\" $status $request_time \"$upstream_response_time\"",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut s = AccessScanner::new(None, None);
        let log = "1.1.1.1 [26/Nov/2026:02:55:54 +0000] \"GET / HTTP/1.1\" 504 60.001 \"30.000, 30.001\"\n\
1.1.1.1 [26/Nov/2026:02:55:55 +0000] \"GET / HTTP/1.1\" 200 0.020 \"0.019\"\n\
1.1.1.1 [26/Nov/2026:02:55:56 +0000] \"GET / HTTP/1.1\" 502 0.000 \"-\"\n\
garbage\n";
        let choice = FormatChoice {
            format: f,
            access_log: None,
            log_format: None,
            how: String::new(),
            scope_server: None,
            error: None,
        };
        s.read(std::io::Cursor::new(log), Path::new("a"), choice)
            .unwrap_or_else(|e| panic!("{e}"));
        let r = s.finish();
        assert_eq!((r.lines, r.unparsed), (4, 1));
        assert_eq!(r.groups.len(), 1);
        let g = &r.groups[0];
        assert_eq!((g.requests, g.status_502, g.status_504), (3, 1, 1));
        assert_eq!(g.upstream.total(), 3);
        assert_eq!(g.upstream.max(), 30_001);
        assert_eq!(g.request.max(), 60_001);
    }
}
