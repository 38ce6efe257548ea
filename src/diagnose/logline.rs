//! One nginx error.log line -> [`LogEntry`].
//!
//! nginx builds every line in `ngx_log_error_core` (src/core/ngx_log.c):
//!
//! ```text
//! 2026/11/26 02:55:54 [error] 28413#28413: *1 MESSAGE[ (ERRNO: TEXT)][ while ACTION], client: ADDR, server: NAME, request: "LINE", upstream: "URL", host: "HOST", referrer: "REF"
//! ```
//!
//! Everything after MESSAGE comes from the log handler of the connection
//! (`ngx_http_log_error`, `ngx_http_log_error_handler` in src/http/ngx_http_request.c; the stream
//! module's `ngx_stream_log_error` adds `, upstream: "ADDR", bytes from/to ...`). Each field is
//! printed only when nginx has it, always in this order, and **nothing is escaped**: the request
//! line, the upstream URL (it carries the client's URI), the host and the referrer are written
//! byte for byte as the client sent them, so they may contain `"`, `,` and even the text
//! `", upstream: "`. The whole line is cut at `NGX_MAX_ERROR_STR` (2048 bytes), so a long request
//! can end the line without its closing quote and without the fields after it.
//!
//! The parser therefore anchors on the `, client: ADDR, server: ` pair (an address has no spaces
//! or commas), takes each quoted field up to a `"` that is followed by a key that may come next
//! (or by the end of the line), and prefers a request line that ends in ` HTTP/x.y`.
//!
//! Bootstrap messages written to stderr have the shape `nginx: [emerg] MESSAGE` (no time, no pid);
//! they are parsed too. A syslog or journald prefix before the timestamp is skipped.

use std::fmt;
use std::str::FromStr;

/// A log timestamp as nginx writes it (`YYYY/MM/DD HH:MM:SS`, local time of the server).
///
/// Field order makes the derived `Ord` chronological.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

/// A `since` value that is no date.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid time \"{0}\": expected YYYY/MM/DD HH:MM:SS, YYYY-MM-DD HH:MM[:SS] or YYYY-MM-DD")]
pub struct TimeParseError(pub String);

impl LogTime {
    /// Builds a time, checking every field's range (days are not checked against the month).
    pub fn new(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Option<Self> {
        let valid = (1..=12).contains(&month)
            && (1..=31).contains(&day)
            && hour < 24
            && minute < 60
            && second < 61;
        valid.then_some(Self {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    /// Reads `YYYY?MM?DD?HH:MM:SS` where `?` is any one byte (nginx writes `/` and ` `).
    fn from_fixed(b: &[u8]) -> Option<Self> {
        if b.len() < 19 || b[13] != b':' || b[16] != b':' {
            return None;
        }
        Self::new(
            u16::try_from(digits(&b[0..4])?).ok()?,
            u8::try_from(digits(&b[5..7])?).ok()?,
            u8::try_from(digits(&b[8..10])?).ok()?,
            u8::try_from(digits(&b[11..13])?).ok()?,
            u8::try_from(digits(&b[14..16])?).ok()?,
            u8::try_from(digits(&b[17..19])?).ok()?,
        )
    }
}

impl fmt::Display for LogTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}/{:02}/{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

impl FromStr for LogTime {
    type Err = TimeParseError;

    /// Accepts nginx's `2026/11/26 02:55:54`, ISO `2026-11-26 02:55:54` / `2026-11-26T02:55:54`,
    /// the same without seconds (`2026-11-26 02:55`), and a bare date (`2026-11-26`, `2026/11/26`) meaning midnight.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || TimeParseError(s.to_owned());
        let t = s.trim();
        let b = t.as_bytes();
        let date_ok = b.len() >= 10
            && matches!(b[4], b'/' | b'-')
            && b[7] == b[4]
            && b[..10]
                .iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !date_ok {
            return Err(err());
        }
        match b.len() {
            10 => {
                let mut full = [b'0'; 19];
                full[..10].copy_from_slice(b);
                full[13] = b':';
                full[16] = b':';
                Self::from_fixed(&full).ok_or_else(err)
            }
            // Minutes only (`2026-11-26 02:55`, the --help example): second 0.
            16 if matches!(b[10], b' ' | b'T') && b[13] == b':' => {
                let mut full = [b'0'; 19];
                full[..16].copy_from_slice(b);
                full[16] = b':';
                Self::from_fixed(&full).ok_or_else(err)
            }
            19 if matches!(b[10], b' ' | b'T') => Self::from_fixed(b).ok_or_else(err),
            _ => Err(err()),
        }
    }
}

/// nginx's log levels (`err_levels` in src/core/ngx_log.c), most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Emerg,
    Alert,
    Crit,
    Error,
    Warn,
    Notice,
    Info,
    Debug,
}

impl Level {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "emerg" => Self::Emerg,
            "alert" => Self::Alert,
            "crit" => Self::Crit,
            "error" => Self::Error,
            "warn" => Self::Warn,
            "notice" => Self::Notice,
            "info" => Self::Info,
            "debug" => Self::Debug,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Emerg => "emerg",
            Self::Alert => "alert",
            Self::Crit => "crit",
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Notice => "notice",
            Self::Info => "info",
            Self::Debug => "debug",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The client's request line, split when it has the usual `METHOD URI [PROTOCOL]` shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: &'a str,
    /// As sent: may be absolute (`http://host/p`), and includes the query string.
    pub uri: &'a str,
    /// `HTTP/1.1`, `HTTP/2.0`...; `None` for HTTP/0.9 or a line cut short.
    pub protocol: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// Splits a request line; `None` when it does not start with a method token.
    pub fn parse(line: &'a str) -> Option<Self> {
        let (method, rest) = split_byte(line, b' ')?;
        let method_ok = !method.is_empty()
            && method
                .bytes()
                .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_');
        if !method_ok {
            return None;
        }
        let (uri, protocol) = match rfind_byte(rest, b' ') {
            Some(i) if rest[i + 1..].starts_with("HTTP/") => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        Some(Self {
            method,
            uri,
            protocol,
        })
    }

    /// The URI's path: no scheme and host (absolute form), no query string, no fragment.
    pub fn path(&self) -> &'a str {
        uri_path(self.uri)
    }
}

/// The `upstream: "..."` field split into scheme, peer and URI.
///
/// nginx prints `SCHEME://PEER[:]URI` (`ngx_http_log_error_handler`): the `:` separator appears only
/// for a unix-socket peer that is still connected, so the lab shows both
/// `fastcgi://unix:/run/php.sock:` (connect failed) and `fastcgi://unix:/run/php.sock` (timed
/// out). The URI is the one sent upstream and carries the client's path and query, so group and
/// match by [`Upstream::peer`], not by the whole field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Upstream<'a> {
    /// `http`, `https`, `fastcgi`, `grpc`, `grpcs`, `uwsgi`, `scgi`, `memcached`; `None` for the
    /// stream module's bare address.
    pub scheme: Option<&'a str>,
    /// `127.0.0.1:3999`, `[::1]:3000`, `unix:/run/php/php8.2-fpm.sock`, or an `upstream` block's
    /// name (`backend`) when nginx had no live peer to pick.
    pub peer: &'a str,
    /// What follows the peer: `/`, `/x?y=1`, or empty.
    pub uri: &'a str,
    /// `scheme://peer` (or the bare peer): the field without the request's URI and without the
    /// unix-socket separator. Group and match by this.
    pub base: &'a str,
}

impl<'a> Upstream<'a> {
    pub fn parse(field: &'a str) -> Self {
        let (scheme, rest) = match find_str(field, "://") {
            Some(i) if i > 0 && field.as_bytes()[..i].iter().all(u8::is_ascii_alphanumeric) => {
                (Some(&field[..i]), &field[i + 3..])
            }
            _ => (None, field),
        };
        let prefix = field.len() - rest.len();
        let (peer, uri) = match rest.strip_prefix("unix:") {
            Some(path) => {
                // With the separator the path ends at the first `:`; without it (released
                // peer) guess the end at `.sock`, else take everything.
                let end = find_byte(path, b':')
                    .or_else(|| find_str(path, ".sock").map(|i| i + 5))
                    .unwrap_or(path.len());
                let uri = &path[end..];
                (&rest[..5 + end], uri.strip_prefix(':').unwrap_or(uri))
            }
            None => {
                let end = find_byte(rest, b'/').unwrap_or(rest.len());
                (&rest[..end], &rest[end..])
            }
        };
        let base = &field[..prefix + peer.len()];
        Self {
            scheme,
            peer,
            uri,
            base,
        }
    }

    pub fn is_unix(&self) -> bool {
        self.peer.starts_with("unix:")
    }
}

/// `http://h/p?q` -> `/p`; `/p?q#f` -> `/p`.
pub(crate) fn uri_path(uri: &str) -> &str {
    let mut path = uri;
    if let Some(after) = find_str(path, "://").map(|i| &path[i + 3..]) {
        path = find_byte(after, b'/').map_or("/", |i| &after[i..]);
    }
    let end = memchr::memchr2(b'?', b'#', path.as_bytes()).unwrap_or(path.len());
    &path[..end]
}

/// One parsed error.log line. Borrows from the line; every field nginx may omit is an `Option`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry<'a> {
    /// `None` for the `nginx: [emerg] ...` shape.
    pub time: Option<LogTime>,
    pub level: Level,
    pub pid: Option<u32>,
    pub tid: Option<u64>,
    /// The connection number after `*`: every line about one request shares it.
    pub connection: Option<u64>,
    /// Everything between the connection number and `, client:`, including ` while ACTION`.
    pub message: &'a str,
    /// The `ACTION` of ` while ACTION` (`connecting to upstream`, ...), when present.
    pub action: Option<&'a str>,
    pub client: Option<&'a str>,
    pub server: Option<&'a str>,
    /// The raw request line between the quotes of `request: "..."`.
    pub request_line: Option<&'a str>,
    /// `request_line` split into method, URI and protocol, when it has that shape.
    pub request: Option<Request<'a>>,
    pub subrequest: Option<&'a str>,
    /// As printed: `http://127.0.0.1:3999/`, `fastcgi://unix:/run/php.sock:`, `grpc://h:1`,
    /// or a bare address for the stream module.
    pub upstream: Option<&'a str>,
    pub host: Option<&'a str>,
    pub referrer: Option<&'a str>,
}

impl<'a> LogEntry<'a> {
    fn bare(time: Option<LogTime>, level: Level, message: &'a str) -> Self {
        Self {
            time,
            level,
            pid: None,
            tid: None,
            connection: None,
            message,
            action: None,
            client: None,
            server: None,
            request_line: None,
            request: None,
            subrequest: None,
            upstream: None,
            host: None,
            referrer: None,
        }
    }

    /// The message without ` while ACTION`.
    pub fn message_text(&self) -> &'a str {
        match self.action {
            // `action` is a suffix of `message` preceded by " while ".
            Some(a) => {
                let cut = self.message.len() - a.len();
                self.message[..cut]
                    .strip_suffix(" while ")
                    .unwrap_or(self.message)
            }
            None => self.message,
        }
    }
}

/// Parses one error.log line (with or without its line end). `None` when the line does not have
/// nginx's shape (a continuation of a multi-line message, another program's output, garbage).
///
/// Never panics. For bytes that are not UTF-8, convert with `String::from_utf8_lossy` first.
pub fn parse_line(line: &str) -> Option<LogEntry<'_>> {
    let line = line.trim_end_matches(['\n', '\r']);
    if let Some(rest) = line.strip_prefix("nginx: [") {
        return parse_console(rest);
    }
    let start = find_timestamp(line.as_bytes())?;
    let line = &line[start..];
    let time = LogTime::from_fixed(line.as_bytes())?;
    let after_time = &line[19..];
    let Header {
        level,
        pid,
        tid,
        connection,
        body,
    } = match Header::canonical(after_time) {
        Some(h) => h,
        None => Header::general(after_time)?,
    };
    let mut entry = LogEntry::bare(Some(time), level, body);
    entry.pid = Some(pid);
    entry.tid = Some(tid);
    entry.connection = connection;
    split_context(body, &mut entry);
    Some(entry)
}

/// What follows a line's timestamp: ` [level] pid#tid: `, then `*connection ` or not, then the
/// message and its context (`body`).
#[derive(Debug, PartialEq, Eq)]
struct Header<'a> {
    level: Level,
    pid: u32,
    tid: u64,
    connection: Option<u64>,
    body: &'a str,
}

impl<'a> Header<'a> {
    /// The shape nginx writes (`ngx_log_error_core`): lowercase level, decimal pid and tid,
    /// `: `, an optional `*N `, read in one pass over the bytes. `None` for any other shape,
    /// which [`Header::general`] then reads: where this gives a header, it is the one
    /// `general` gives (a test compares them).
    fn canonical(after_time: &'a str) -> Option<Self> {
        let b = after_time.as_bytes();
        if !b.starts_with(b" [") {
            return None;
        }
        let name_end = 2 + b
            .get(2..9)?
            .iter()
            .take_while(|c| c.is_ascii_lowercase())
            .count();
        if b.get(name_end..name_end + 2) != Some(b"] ") {
            return None;
        }
        let level = Level::from_name(after_time.get(2..name_end)?)?;
        let (pid, at) = decimal(b, name_end + 2)?;
        let pid = u32::try_from(pid).ok()?;
        if b.get(at) != Some(&b'#') {
            return None;
        }
        let (tid, at) = decimal(b, at + 1)?;
        if b.get(at..at + 2) != Some(b": ") {
            return None;
        }
        let mut at = at + 2;
        let connection = match b.get(at) {
            Some(b'*') => {
                let (n, end) = decimal(b, at + 1)?;
                at = end + usize::from(b.get(end) == Some(&b' '));
                Some(n)
            }
            _ => None,
        };
        Some(Self {
            level,
            pid,
            tid,
            connection,
            body: after_time.get(at..)?,
        })
    }

    /// Any shape with ` [level] `, `pid#`, and a tid up to `: ` or the end.
    fn general(after_time: &'a str) -> Option<Self> {
        let rest = after_time.strip_prefix(" [")?;
        let (level, rest) = split_str(rest, "] ")?;
        let level = Level::from_name(level)?;
        let (pid, rest) = split_byte(rest, b'#')?;
        let (tid, rest) = split_str(rest, ": ").unwrap_or((rest.trim_end_matches(':'), ""));
        let pid = pid.parse().ok()?;
        let tid = tid.parse().ok()?;
        let (connection, body) = match rest.strip_prefix('*') {
            Some(r) => {
                let end = r
                    .bytes()
                    .position(|b| !b.is_ascii_digit())
                    .unwrap_or(r.len());
                let id = r[..end].parse().ok()?;
                (Some(id), r[end..].strip_prefix(' ').unwrap_or(&r[end..]))
            }
            None => (None, rest),
        };
        Some(Self {
            level,
            pid,
            tid,
            connection,
            body,
        })
    }
}

/// The run of ASCII digits at `b[at..]` (at least one) as a number, and where it ends; `None`
/// when there is none or it overflows.
fn decimal(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut n: u64 = 0;
    let mut end = at;
    while let Some(d) = b.get(end).map(|c| c.wrapping_sub(b'0')).filter(|&d| d <= 9) {
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
        end += 1;
    }
    (end > at).then_some((n, end))
}

/// `nginx: [emerg] MESSAGE` (after the `nginx: [` prefix).
fn parse_console(rest: &str) -> Option<LogEntry<'_>> {
    let (level, message) = split_str(rest, "] ")?;
    let level = Level::from_name(level)?;
    let mut entry = LogEntry::bare(None, level, message);
    split_context(message, &mut entry);
    Some(entry)
}

/// Where `YYYY/MM/DD HH:MM:SS [` starts: at 0, or after a short syslog/journald prefix.
fn find_timestamp(b: &[u8]) -> Option<usize> {
    let is_stamp = |s: &[u8]| {
        s.len() >= 21
            && s[4] == b'/'
            && s[7] == b'/'
            && s[10] == b' '
            && s[19] == b' '
            && s[20] == b'['
            && s[..4].iter().all(u8::is_ascii_digit)
    };
    if is_stamp(b) {
        return Some(0);
    }
    // Prefixes such as `<11>Nov 26 02:55:54 web1 nginx: ` are short; do not scan whole lines.
    let limit = b.len().min(256);
    (1..limit).find(|&i| b[i - 1] == b' ' && is_stamp(&b[i..]))
}

const SERVER_KEY: &str = ", server: ";
const REQUEST_KEY: &str = ", request: \"";
const SUBREQUEST_KEY: &str = ", subrequest: \"";
const UPSTREAM_KEY: &str = ", upstream: \"";
const HOST_KEY: &str = ", host: \"";
const REFERRER_KEY: &str = ", referrer: \"";
/// The stream module's byte counters after `upstream:`.
const BYTES_KEY: &str = ", bytes from/to ";

/// Splits `MESSAGE[ while ACTION], client: ..., server: ...` into the entry's fields.
fn split_context<'a>(body: &'a str, entry: &mut LogEntry<'a>) {
    let Some((msg_end, client, rest)) = find_client(body) else {
        entry.message = body;
        return;
    };
    let message = &body[..msg_end];
    entry.message = message;
    entry.action = rfind_str(message, " while ")
        .map(|i| &message[i + 7..])
        .filter(|a| !a.is_empty() && find_byte(a, b'"').is_none());
    entry.client = Some(client);
    // Cut before `server:` was written out: the line says nothing of the server.
    let Some(rest) = rest else { return };

    // `rest` starts right after ", server: ".
    let (server, mut rest) = take_until_key(
        rest,
        &[
            REQUEST_KEY,
            SUBREQUEST_KEY,
            UPSTREAM_KEY,
            HOST_KEY,
            REFERRER_KEY,
            BYTES_KEY,
        ],
    );
    entry.server = Some(server);

    if let Some(r) = rest.strip_prefix(REQUEST_KEY) {
        let (line, r) = take_request(r);
        entry.request_line = Some(line);
        entry.request = Request::parse(line);
        rest = r;
    }
    if let Some(r) = rest.strip_prefix(SUBREQUEST_KEY) {
        let (v, r) = take_quoted(r, &[UPSTREAM_KEY, HOST_KEY, REFERRER_KEY]);
        entry.subrequest = Some(v);
        rest = r;
    }
    if let Some(r) = rest.strip_prefix(UPSTREAM_KEY) {
        let (v, r) = take_quoted(r, &[HOST_KEY, REFERRER_KEY, BYTES_KEY]);
        entry.upstream = Some(v);
        rest = r;
    }
    if let Some(r) = rest.strip_prefix(HOST_KEY) {
        let (v, r) = take_quoted(r, &[REFERRER_KEY]);
        entry.host = Some(v);
        rest = r;
    }
    if let Some(r) = rest.strip_prefix(REFERRER_KEY) {
        // Last field: runs to the end of the line (a cut line has no closing quote).
        entry.referrer = Some(r.strip_suffix('"').unwrap_or(r));
    }
}

/// Finds `, client: ADDR, server: ` (or `, udp client: `): returns where the message ends, the
/// address, and the text after `, server: ` (`None` when the line was cut before it). The first
/// such anchor wins; an address never has a space or a comma, which keeps a quoted message that
/// mentions "client:" from matching.
fn find_client(body: &str) -> Option<(usize, &str, Option<&str>)> {
    let mut from = 0;
    while let Some(i) = find_str(&body[from..], ", ").map(|i| i + from) {
        from = i + 2;
        let after = &body[i + 2..];
        let Some(addr_rest) = after
            .strip_prefix("client: ")
            .or_else(|| after.strip_prefix("udp client: "))
        else {
            continue;
        };
        let addr_len = memchr::memchr2(b',', b' ', addr_rest.as_bytes()).unwrap_or(addr_rest.len());
        let addr = &addr_rest[..addr_len];
        let tail = &addr_rest[addr_len..];
        if tail.is_empty() {
            // Cut after the client address.
            return Some((i, addr, None));
        }
        if let Some(rest) = tail.strip_prefix(SERVER_KEY) {
            return Some((i, addr, Some(rest)));
        }
        // ", server:" itself was cut off by the length limit.
        if SERVER_KEY.starts_with(tail) {
            return Some((i, addr, None));
        }
    }
    None
}

/// An unquoted value (the server name) up to the next known key or the end of the line.
fn take_until_key<'a>(s: &'a str, keys: &[&str]) -> (&'a str, &'a str) {
    let mut from = 0;
    while let Some(i) = find_str(&s[from..], ", ").map(|i| i + from) {
        if keys.iter().any(|k| s[i..].starts_with(k)) {
            return (&s[..i], &s[i..]);
        }
        from = i + 2;
    }
    (s, "")
}

/// A quoted value (after its opening quote) up to the first `"` followed by one of `next` or
/// by the end of the line. A value without such an end (the line was cut) runs to the end.
fn take_quoted<'a>(s: &'a str, next: &[&str]) -> (&'a str, &'a str) {
    let mut from = 0;
    while let Some(q) = find_byte(&s[from..], b'"').map(|q| q + from) {
        let after = &s[q + 1..];
        if after.is_empty() || next.iter().any(|k| after.starts_with(k)) {
            return (&s[..q], after);
        }
        from = q + 1;
    }
    (s, "")
}

/// The request line (after `request: "`). Like [`take_quoted`], but a closing quote right after
/// ` HTTP/d.d` wins over an earlier candidate: the URI may itself contain `", upstream: "`.
fn take_request(s: &str) -> (&str, &str) {
    const NEXT: &[&str] = &[SUBREQUEST_KEY, UPSTREAM_KEY, HOST_KEY, REFERRER_KEY];
    let mut first: Option<usize> = None;
    let mut from = 0;
    while let Some(q) = find_byte(&s[from..], b'"').map(|q| q + from) {
        from = q + 1;
        let after = &s[q + 1..];
        if !(after.is_empty() || NEXT.iter().any(|k| after.starts_with(k))) {
            continue;
        }
        if ends_with_protocol(&s[..q]) {
            return (&s[..q], after);
        }
        first.get_or_insert(q);
    }
    match first {
        Some(q) => (&s[..q], &s[q + 1..]),
        None => (s, ""),
    }
}

/// `hay.find(needle)` for the short ASCII needles of the line grammar, without the two-way
/// searcher `str::find` builds per call (that set-up was the largest single cost of the scanner
/// in profiles of million-line logs): memchr for the first byte, then a compare.
pub(crate) fn find_str(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some((k, anchor)) = anchor_byte(n) else {
        return Some(0);
    };
    memchr::memchr_iter(anchor, &h[k.min(h.len())..]).find(|&i| h[i..].starts_with(n))
}

/// Which byte of `needle` the searches above look for, and where it is: the first that is not
/// a space (spaces are the most frequent byte of a log line: for ` while ` that is one memchr
/// stop per word instead of one per line). `None` for the empty needle.
fn anchor_byte(needle: &[u8]) -> Option<(usize, u8)> {
    let k = needle.iter().position(|&b| b != b' ').unwrap_or(0);
    needle.get(k).map(|&b| (k, b))
}

/// `hay.find(byte)` for an ASCII byte, with memchr's SIMD search (`str::find(char)` runs
/// core's generic word-at-a-time memchr through a `CharSearcher`).
pub(crate) fn find_byte(hay: &str, byte: u8) -> Option<usize> {
    memchr::memchr(byte, hay.as_bytes())
}

/// `hay.rfind(byte)`, as [`find_byte`].
fn rfind_byte(hay: &str, byte: u8) -> Option<usize> {
    memchr::memrchr(byte, hay.as_bytes())
}

/// `hay.split_once(byte)`, as [`find_byte`]: an ASCII byte is a character boundary.
fn split_byte(hay: &str, byte: u8) -> Option<(&str, &str)> {
    find_byte(hay, byte).map(|i| (&hay[..i], &hay[i + 1..]))
}

/// `hay.rfind(needle)`, as [`find_str`].
pub(crate) fn rfind_str(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some((k, anchor)) = anchor_byte(n) else {
        return Some(h.len());
    };
    memchr::memrchr_iter(anchor, &h[k.min(h.len())..]).find(|&i| h[i..].starts_with(n))
}

/// `hay.split_once(needle)`, as [`find_str`].
fn split_str<'a>(hay: &'a str, needle: &str) -> Option<(&'a str, &'a str)> {
    find_str(hay, needle).map(|i| (&hay[..i], &hay[i + needle.len()..]))
}

/// ` HTTP/1.1`, ` HTTP/2.0`, ` HTTP/3.0` at the end.
fn ends_with_protocol(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 9 && {
        let t = &b[b.len() - 9..];
        t.starts_with(b" HTTP/") && t[6].is_ascii_digit() && t[7] == b'.' && t[8].is_ascii_digit()
    }
}

/// A run of ASCII digits as a number; `None` for anything else (including an empty run).
fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    b.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// The earlier of two optional times (either may be unknown).
pub(crate) fn min_time(a: Option<LogTime>, b: Option<LogTime>) -> Option<LogTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The later of two optional times (either may be unknown).
pub(crate) fn max_time(a: Option<LogTime>, b: Option<LogTime>) -> Option<LogTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// A [`LogEntry`] as byte ranges of its line: what the log's reading thread hands the scanner,
/// which rebuilds the entry over its copy of the same line instead of parsing it again
/// (see `readahead`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntryAt {
    time: Option<LogTime>,
    level: Level,
    pid: Option<u32>,
    tid: Option<u64>,
    connection: Option<u64>,
    message: At,
    action: At,
    client: At,
    server: At,
    request_line: At,
    /// [`Request::method`]; [`ABSENT`] when the entry has no `request`.
    method: At,
    uri: At,
    protocol: At,
    subrequest: At,
    upstream: At,
    host: At,
    referrer: At,
}

/// A field of a line: `start..end`, [`ABSENT`] or [`EMPTY`].
type At = (u32, u32);

/// The field is `None`.
const ABSENT: At = (u32::MAX, 0);

/// An empty field that is no slice of the line (a `""` of the parser's): rebuilt as such, so
/// that code locating fields in the line by address finds what it found before.
const EMPTY: At = (u32::MAX - 1, 0);

impl EntryAt {
    /// `entry`'s fields as ranges of `line`, the text it was parsed from; `None` when a
    /// non-empty field is not a slice of it (parse the line again then).
    pub(crate) fn of(line: &str, entry: &LogEntry<'_>) -> Option<Self> {
        let base = line.as_ptr() as usize;
        let at = |s: &str| -> Option<At> {
            let start = (s.as_ptr() as usize).wrapping_sub(base);
            match start.checked_add(s.len()) {
                Some(end) if start <= line.len() && end <= line.len() => {
                    Some((u32::try_from(start).ok()?, u32::try_from(end).ok()?))
                }
                _ if s.is_empty() => Some(EMPTY),
                _ => None,
            }
        };
        let opt = |s: Option<&str>| s.map_or(Some(ABSENT), at);
        let (method, uri, protocol) = match &entry.request {
            Some(r) => (at(r.method)?, at(r.uri)?, opt(r.protocol)?),
            None => (ABSENT, ABSENT, ABSENT),
        };
        Some(Self {
            time: entry.time,
            level: entry.level,
            pid: entry.pid,
            tid: entry.tid,
            connection: entry.connection,
            message: at(entry.message)?,
            action: opt(entry.action)?,
            client: opt(entry.client)?,
            server: opt(entry.server)?,
            request_line: opt(entry.request_line)?,
            method,
            uri,
            protocol,
            subrequest: opt(entry.subrequest)?,
            upstream: opt(entry.upstream)?,
            host: opt(entry.host)?,
            referrer: opt(entry.referrer)?,
        })
    }

    /// The entry over `line`, which must hold the text [`EntryAt::of`] was given; `None` if it
    /// does not (a range outside it or off a character boundary).
    pub(crate) fn entry<'a>(&self, line: &'a str) -> Option<LogEntry<'a>> {
        let get = |(a, b): At| -> Option<Option<&'a str>> {
            match (a, b) {
                ABSENT => Some(None),
                EMPTY => Some(Some("")),
                _ => line.get(a as usize..b as usize).map(Some),
            }
        };
        let request = match get(self.method)? {
            Some(method) => Some(Request {
                method,
                uri: get(self.uri)??,
                protocol: get(self.protocol)?,
            }),
            None => None,
        };
        Some(LogEntry {
            time: self.time,
            level: self.level,
            pid: self.pid,
            tid: self.tid,
            connection: self.connection,
            message: get(self.message)??,
            action: get(self.action)?,
            client: get(self.client)?,
            server: get(self.server)?,
            request_line: get(self.request_line)?,
            request,
            subrequest: get(self.subrequest)?,
            upstream: get(self.upstream)?,
            host: get(self.host)?,
            referrer: get(self.referrer)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFUSED: &str = "2026/11/26 02:55:54 [error] 28413#28413: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:3999/\", host: \"127.0.0.1:18081\"\n";

    fn parse(line: &str) -> LogEntry<'_> {
        match parse_line(line) {
            Some(e) => e,
            None => panic!("not parsed: {line}"),
        }
    }

    #[test]
    fn the_canonical_header_is_the_general_one() {
        let levels = [
            "error", "warn", "notice", "crit", "info", "debug", "alert", "emerg",
        ];
        let odd = ["Error", "err", "errorx", "", "e]rror"];
        let nums = [
            "0",
            "7",
            "4242",
            "007",
            "+5",
            "4294967295",
            "4294967296",
            "",
            "x1",
        ];
        let tids = [
            "0",
            "4242",
            "18446744073709551615",
            "18446744073709551616",
            "",
            "+1",
        ];
        let tails = [
            ": *1 connect() failed",
            ": *123 ",
            ": *99",
            ": *",
            ": *x failed",
            ": message",
            ": ",
            ":",
            "",
            " : x",
            ": *18446744073709551616 x",
        ];
        let mut canonical = 0;
        for level in levels.iter().chain(&odd) {
            for pid in nums {
                for tid in tids {
                    for tail in tails {
                        let text = format!(" [{level}] {pid}#{tid}{tail}");
                        let general = Header::general(&text);
                        if let Some(h) = Header::canonical(&text) {
                            canonical += 1;
                            assert_eq!(Some(h), general, "{text:?}");
                        }
                    }
                }
            }
        }
        // Most well-formed shapes take the one-pass path.
        assert!(canonical > 500, "{canonical}");
        let h = Header::canonical(" [error] 4242#7: *36 upstream timed out");
        assert_eq!(
            h.map(|h| (h.level, h.pid, h.tid, h.connection, h.body)),
            Some((Level::Error, 4242, 7, Some(36), "upstream timed out"))
        );
    }

    #[test]
    fn entry_at_rebuilds_the_same_entry() {
        let lines = [
            REFUSED.trim_end(),
            "2026/11/26 02:00:02 [error] 1#1: *2 upstream timed out (110: x) while reading response header from upstream, client: 10.0.2.0, server: b, subrequest: \"/s\", upstream: \"fastcgi://unix:/run/php.sock:\", host: \"b\", referrer: \"http://r/\"",
            "2026/11/26 02:00:03 [error] 1#1: *3 recv() failed (104: x), client: 10.0.3.0",
            "2026/11/26 02:00:04 [error] 1#1: *4 x, client: 1.2.3.4, server: caf\u{e9}, request: \"GET http://h HTTP/1.1\"",
            "2026/11/26 02:00:05 [error] 1#1: *5 x, client: 1.2.3.4, server: s, request: \"BREW\"",
            "<11>Nov 26 02:55:54 web1 nginx: 2026/11/26 02:55:54 [emerg] 1#1: bind() failed",
            "2026/11/26 02:55:54 [notice] 1#1",
            "nginx: [emerg] unknown directive \"x\" in /etc/nginx/nginx.conf:3",
        ];
        let mut empty_fields = 0;
        for line in lines {
            let e = parse(line);
            let Some(at) = EntryAt::of(line, &e) else {
                panic!("no ranges for {line}");
            };
            empty_fields += [at.server, at.message, at.client]
                .iter()
                .filter(|&&f| f == EMPTY)
                .count();
            // Rebuilt over a copy of the line, as the scanner does.
            let copy = line.to_owned();
            assert_eq!(at.entry(&copy), Some(e), "{line}");
        }
        // The line that ends after the thread id has the parser's own empty message.
        assert!(empty_fields > 0);
        // A shorter text than the one parsed is refused, not read past.
        let e = parse(REFUSED);
        let at = EntryAt::of(REFUSED, &e);
        assert!(at.is_some_and(|at| at.entry(&REFUSED[..40]).is_none()));
    }

    #[test]
    fn find_str_is_str_find() {
        for hay in [
            "",
            "a",
            ", ",
            "a, b, c",
            "x://y://z",
            "] ]] ",
            "é, ü while  while x",
            ",,, ,",
            " while",
            "while ",
            " while ",
            "w while w",
            "  ",
            "x  y",
        ] {
            for needle in [", ", "://", "] ", " while ", "a", ",", " ", "  ", " w", ""] {
                assert_eq!(
                    find_str(hay, needle),
                    hay.find(needle),
                    "{hay:?} {needle:?}"
                );
                assert_eq!(
                    rfind_str(hay, needle),
                    hay.rfind(needle),
                    "{hay:?} {needle:?}"
                );
                assert_eq!(split_str(hay, needle), hay.split_once(needle));
            }
        }
        for hay in ["", " ", "a b c", "é:ü/x\"y", "::", "x#1#2"] {
            for b in [b' ', b':', b'/', b'"', b'#'] {
                let c = char::from(b);
                assert_eq!(find_byte(hay, b), hay.find(c), "{hay:?} {c:?}");
                assert_eq!(rfind_byte(hay, b), hay.rfind(c), "{hay:?} {c:?}");
                assert_eq!(split_byte(hay, b), hay.split_once(c), "{hay:?} {c:?}");
            }
        }
    }

    #[test]
    fn lab_line_every_field() {
        let e = parse(REFUSED);
        assert_eq!(e.time, LogTime::new(2026, 11, 26, 2, 55, 54));
        assert_eq!(
            e.time.map(|t| t.to_string()).as_deref(),
            Some("2026/11/26 02:55:54")
        );
        assert_eq!(e.level, Level::Error);
        assert_eq!(
            (e.pid, e.tid, e.connection),
            (Some(28413), Some(28413), Some(1))
        );
        assert_eq!(
            e.message,
            "connect() failed (111: Connection refused) while connecting to upstream"
        );
        assert_eq!(
            e.message_text(),
            "connect() failed (111: Connection refused)"
        );
        assert_eq!(e.action, Some("connecting to upstream"));
        assert_eq!(e.client, Some("127.0.0.1"));
        assert_eq!(e.server, Some(""));
        assert_eq!(e.request_line, Some("GET / HTTP/1.1"));
        assert_eq!(
            e.request,
            Some(Request {
                method: "GET",
                uri: "/",
                protocol: Some("HTTP/1.1")
            })
        );
        assert_eq!(e.upstream, Some("http://127.0.0.1:3999/"));
        assert_eq!(e.host, Some("127.0.0.1:18081"));
        assert_eq!(e.referrer, None);
    }

    #[test]
    fn request_with_quotes_commas_and_fake_keys() {
        let line = "2026/11/26 02:55:54 [error] 1#1: *7 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.1, server: shop.example, request: \"GET /a,b\"c\", upstream: \"x\", host: \"y HTTP/1.1\", upstream: \"http://10.0.0.2:80/a,b\"c\", upstream: \"x\", host: \"y\", host: \"shop.example\", referrer: \"https://r/\"q\"\"";
        let e = parse(line);
        assert_eq!(
            e.request_line,
            Some("GET /a,b\"c\", upstream: \"x\", host: \"y HTTP/1.1")
        );
        assert_eq!(e.request.map(|r| r.method), Some("GET"));
        assert_eq!(e.request.and_then(|r| r.protocol), Some("HTTP/1.1"));
        assert_eq!(e.server, Some("shop.example"));
        // The upstream URL carries the raw URI too; its fake `host:` key wins (documented limit),
        // but the fields still come out in order and nothing panics.
        assert!(e
            .upstream
            .is_some_and(|u| u.starts_with("http://10.0.0.2:80/a,b")));
        assert!(e.referrer.is_some_and(|r| r.starts_with("https://r/")));
    }

    #[test]
    fn fields_may_be_missing() {
        // No request yet (e.g. a timeout while reading the request line).
        let e = parse("2026/11/26 02:55:54 [info] 5#5: *3 client timed out (110: Connection timed out) while waiting for request, client: 127.0.0.1, server: 0.0.0.0:80");
        assert_eq!(e.server, Some("0.0.0.0:80"));
        assert_eq!((e.request_line, e.upstream, e.host), (None, None, None));
        assert_eq!(e.action, Some("waiting for request"));

        // No connection, no context at all.
        let e = parse("2026/11/26 02:55:54 [notice] 5#5: signal process started");
        assert_eq!(e.connection, None);
        assert_eq!(e.message, "signal process started");
        assert_eq!(e.client, None);

        // Request without host (HTTP/1.0) but with referrer.
        let e = parse("2026/11/26 02:55:54 [error] 5#5: *9 no live upstreams while connecting to upstream, client: ::1, server: a, request: \"POST /x?y=1 HTTP/1.0\", upstream: \"http://backend/x?y=1\", referrer: \"http://a/\"");
        assert_eq!(e.client, Some("::1"));
        assert_eq!(e.host, None);
        assert_eq!(e.referrer, Some("http://a/"));
        assert_eq!(e.request.map(|r| r.path()), Some("/x"));
    }

    #[test]
    fn cut_line_keeps_what_it_has() {
        let e = parse("2026/11/26 02:55:54 [error] 5#5: *9 upstream prematurely closed connection while reading response header from upstream, client: 1.2.3.4, server: a, request: \"GET /aaaaaaaaaaaa");
        assert_eq!(e.request_line, Some("GET /aaaaaaaaaaaa"));
        assert_eq!(
            e.request.map(|r| (r.uri, r.protocol)),
            Some(("/aaaaaaaaaaaa", None))
        );
        assert_eq!(e.upstream, None);
        let e = parse("2026/11/26 02:55:54 [error] 5#5: *9 x, client: 1.2.3.4, ser");
        assert_eq!(e.client, Some("1.2.3.4"));
        // No `server:` written: no server, not an empty name (`server: ,` is one).
        assert_eq!(e.server, None);
        assert_eq!(
            parse("2026/11/26 02:55:54 [error] 5#5: *9 x, client: 1.2.3.4").server,
            None
        );
        assert_eq!(parse(REFUSED).server, Some(""));
    }

    #[test]
    fn fastcgi_stderr_message_keeps_its_commas() {
        let line = "2026/11/26 02:56:01 [error] 28728#28728: *1 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Maximum execution time of 2 seconds exceeded in /tmp/lab/run/F1/www/busy.php on line 3\" while reading response header from upstream, client: 127.0.0.1, server: , request: \"GET /busy.php HTTP/1.1\", upstream: \"fastcgi://unix:/tmp/lab/run/F1/php-fpm.sock:\", host: \"127.0.0.1:18086\"";
        let e = parse(line);
        assert!(e
            .message
            .starts_with("FastCGI sent in stderr: \"PHP message"));
        assert_eq!(e.action, Some("reading response header from upstream"));
        assert_eq!(
            e.upstream,
            Some("fastcgi://unix:/tmp/lab/run/F1/php-fpm.sock:")
        );
    }

    #[test]
    fn console_and_prefixed_shapes() {
        let e = parse(
            "nginx: [emerg] host not found in upstream \"app:3000\" in /etc/nginx/conf.d/a.conf:3",
        );
        assert_eq!((e.time, e.level, e.pid), (None, Level::Emerg, None));
        assert!(e.message.starts_with("host not found in upstream"));

        let e = parse("2026/11/26 02:56:11 [emerg] 29154#29154: unknown directive \"proxy_read_timout\" in /tmp/lab/nginx-t/unknown-directive.conf:11");
        assert_eq!(e.level, Level::Emerg);
        assert_eq!(e.connection, None);

        let e = parse("<11>Nov 26 02:55:54 web1 nginx: 2026/11/26 02:55:54 [error] 7#7: *1 no live upstreams while connecting to upstream, client: 1.1.1.1, server: a");
        assert_eq!(e.connection, Some(1));
        assert_eq!(e.server, Some("a"));
    }

    #[test]
    fn stream_module_shape() {
        let e = parse("2026/11/26 02:55:54 [error] 7#7: *5 connect() failed (111: Connection refused) while connecting to upstream, udp client: 10.0.0.9, server: 0.0.0.0:53, upstream: \"10.0.0.1:53\", bytes from/to client:40/0, bytes from/to upstream:0/0");
        assert_eq!(e.client, Some("10.0.0.9"));
        assert_eq!(e.server, Some("0.0.0.0:53"));
        assert_eq!(e.upstream, Some("10.0.0.1:53"));
    }

    #[test]
    fn not_nginx_lines() {
        for l in [
            "",
            "PHP message: PHP Stack trace:",
            "2026/11/26 02:55:54",
            "2026/11/26 02:55:54 [bogus] 1#1: x",
            "2026/13/26 02:55:54 [error] 1#1: x",
            "2026/11/26 02:55:54 [error] x#1: y",
            "nginx: [emerg",
        ] {
            assert_eq!(parse_line(l), None, "{l:?}");
        }
    }

    #[test]
    fn time_parsing_and_order() {
        let a: LogTime = "2026/11/26 02:55:54"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let b: LogTime = "2026-11-26T02:55:55"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let c: LogTime = "2026-11-27".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(a < b && b < c);
        assert_eq!(c.to_string(), "2026/11/27 00:00:00");
        assert!("2026-11-26 25:00:00".parse::<LogTime>().is_err());
        let m: LogTime = "2026-11-26 02:55".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.to_string(), "2026/11/26 02:55:00");
        assert!("2026-11-26 02:5".parse::<LogTime>().is_err());
        assert!("2026-11-26 0255".parse::<LogTime>().is_err());
        assert!("yesterday".parse::<LogTime>().is_err());
        assert!("2026/11-26".parse::<LogTime>().is_err());
    }

    #[test]
    fn upstream_fields() {
        let u = Upstream::parse("http://127.0.0.1:3999/a?b");
        assert_eq!(
            (u.scheme, u.peer, u.uri),
            (Some("http"), "127.0.0.1:3999", "/a?b")
        );
        assert_eq!(u.base, "http://127.0.0.1:3999");
        assert_eq!(
            Upstream::parse("fastcgi://unix:/run/a.sock:").base,
            "fastcgi://unix:/run/a.sock"
        );
        let u = Upstream::parse("fastcgi://unix:/tmp/lab/run/B/no-such-php-fpm.sock:");
        assert_eq!(
            (u.peer, u.uri),
            ("unix:/tmp/lab/run/B/no-such-php-fpm.sock", "")
        );
        assert!(u.is_unix());
        let u = Upstream::parse("fastcgi://unix:/tmp/lab/run/E/php-fpm.sock");
        assert_eq!(u.peer, "unix:/tmp/lab/run/E/php-fpm.sock");
        let u = Upstream::parse("http://unix:/run/app.sock/api/x");
        assert_eq!((u.peer, u.uri), ("unix:/run/app.sock", "/api/x"));
        let u = Upstream::parse("grpc://[::1]:3998");
        assert_eq!((u.peer, u.uri), ("[::1]:3998", ""));
        let u = Upstream::parse("10.0.0.1:53");
        assert_eq!((u.scheme, u.peer), (None, "10.0.0.1:53"));
        assert_eq!(Upstream::parse("").peer, "");
    }

    #[test]
    fn request_paths() {
        let p = |s| Request::parse(s).map(|r| r.path());
        assert_eq!(p("GET /a/b?c=d HTTP/1.1"), Some("/a/b"));
        assert_eq!(p("GET http://h.example/x?y HTTP/1.1"), Some("/x"));
        assert_eq!(p("GET http://h.example HTTP/1.1"), Some("/"));
        assert_eq!(p("GET /legacy"), Some("/legacy"));
        assert_eq!(p("\u{16}\u{3}\u{1} x"), None);
        assert_eq!(p("GET"), None);
    }
}
