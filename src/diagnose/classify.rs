//! Which gateway failure an error.log line reports.
//!
//! The shapes come from nginx's source and from real captures in ../shared/lab:
//!
//! * a unix-socket connect fails synchronously: `[crit] connect() to unix:PATH failed (2: No such
//!   file or directory) while connecting to upstream` (or `13: Permission denied`);
//! * a refused TCP connect is noticed asynchronously: `[error] connect() failed (111: Connection
//!   refused) while connecting to upstream`, the address only in `upstream:`; it can also surface
//!   at the first read as `recv() failed (111: ...)`;
//! * timeouts are `upstream timed out (110: Connection timed out) while ACTION`, where ACTION says
//!   which `*_timeout` fired;
//! * `recv() failed (104: Connection reset by peer)` is an RST from the backend (php-fpm's
//!   request_terminate_timeout kills the worker: lab F2), `upstream prematurely closed
//!   connection` a FIN (lab H1);
//! * `FastCGI sent in stderr: "PHP message: PHP Fatal error:  ..."` is PHP's own fatal error
//!   (max_execution_time: lab F1), answered with 500, not a gateway error.
//!
//! Lines about the client side (`client timed out`, `open() "/var/www/x" failed (2: ...)` for a
//! missing static file, `... while sending to client`) are not gateway failures: `None`.

use crate::codes::RuleId;
use std::fmt;

use super::logline::{find_byte, find_str, LogEntry};

/// The cause of one gateway failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cause {
    /// `connect() failed (111: Connection refused)`: nothing listens at the address.
    ConnectionRefused,
    /// `connect() to unix:PATH failed (2: No such file or directory)`.
    SocketMissing,
    /// `connect() to unix:PATH failed (13: Permission denied)`.
    SocketPermission,
    /// `upstream timed out (110: ...) while connecting to upstream` (or during the TLS handshake,
    /// which `*_connect_timeout` also covers).
    ConnectTimeout,
    /// `upstream timed out (110: ...) while reading response header from upstream`.
    ReadTimeout,
    /// `upstream timed out (110: ...) while sending request to upstream`.
    SendTimeout,
    /// `recv() failed (104: Connection reset by peer)` (or `32: Broken pipe` while sending).
    BackendReset,
    /// `upstream prematurely closed connection` (also `... FastCGI stdout`, `... stream`).
    PrematureClose,
    /// `no live upstreams while connecting to upstream`.
    NoLiveUpstreams,
    /// `upstream sent too big header while reading response header from upstream`.
    TooBigHeader,
    /// `no resolver defined to resolve HOST`.
    NoResolver,
    /// `HOST could not be resolved (3: Host not found)` / `host not found in upstream "..."`.
    HostNotFound,
    /// TLS toward the upstream failed: `SSL_do_handshake() failed ... while SSL handshaking to
    /// upstream`, `upstream SSL certificate verify error`, `... does not match`.
    UpstreamSsl,
    /// `FastCGI sent in stderr: "... PHP Fatal error: ..."`: PHP died (max_execution_time,
    /// memory_limit, a code error); the client gets 500.
    PhpFatal,
    /// `connect() to unix:PATH failed (11: Resource temporarily unavailable)`: Linux answers
    /// EAGAIN instead of ECONNREFUSED when a unix socket's listen queue is full
    /// (`ngx_event_connect_peer`): every php-fpm child busy and the backlog full.
    ListenQueueFull,
    /// `connect() to ADDR failed (101: Network is unreachable)` / `(113: No route to host)` /
    /// `(112: Host is down)`: logged at `[error]` by `ngx_event_connect_peer`.
    Unreachable,
    /// `upstream sent invalid header: "..."` (and `invalid status`, FastCGI protocol errors,
    /// grpc frame errors) while reading the response header: the backend's answer is no valid
    /// HTTP/FastCGI response (`NGX_HTTP_UPSTREAM_FT_INVALID_HEADER`, 502).
    InvalidHeader,
    /// The backend failed after the response header was sent to the client (`... while reading
    /// upstream`: timed out, closed, reset, invalid chunked body): the client got the backend's
    /// status and a cut body, not a 502/504.
    CutResponse,
    /// `writev() failed (32: Broken pipe)` / `sendfile() failed (32: ...)` / `(104: ...)` while
    /// sending request to upstream: the backend closed while nginx was still sending the
    /// request (usually its body).
    SendFailed,
    /// `upstream timed out (110: ...) while proxying upgraded connection` (logged at `[info]`):
    /// a WebSocket idle longer than proxy_read_timeout was closed (GW106); no error status.
    WebSocketIdle,
    /// `socket() failed (24: Too many open files) while connecting to upstream` ([alert]) or
    /// `N worker_connections are not enough while connecting to upstream`: the worker is out of
    /// descriptors or connections. `ngx_event_connect_peer` returns NGX_ERROR and
    /// `ngx_http_upstream_connect` answers 500 (not 502), with no next upstream.
    FdExhausted,
    /// `FastCGI sent in stderr: "Primary script unknown"`: php-fpm found no script at the
    /// SCRIPT_FILENAME it got (often none is sent: GW405) and answered 404 "File not found.".
    ScriptNotFound,
}

/// Which `*_next_upstream` flag lets nginx try the next server after a failure of this kind
/// (`ngx_http_upstream_next`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextUpstream {
    /// `error`: connect errors, resets, early closes, TLS handshake failures.
    Error,
    /// `timeout`: connect, send and read timeouts.
    Timeout,
    /// `invalid_header`: too big or invalid response headers.
    InvalidHeader,
}

impl NextUpstream {
    pub fn flag(self) -> &'static str {
        match self {
            NextUpstream::Error => "error",
            NextUpstream::Timeout => "timeout",
            NextUpstream::InvalidHeader => "invalid_header",
        }
    }
}

impl Cause {
    pub const ALL: [Cause; 22] = [
        Cause::ConnectionRefused,
        Cause::SocketMissing,
        Cause::SocketPermission,
        Cause::ConnectTimeout,
        Cause::ReadTimeout,
        Cause::SendTimeout,
        Cause::BackendReset,
        Cause::PrematureClose,
        Cause::NoLiveUpstreams,
        Cause::TooBigHeader,
        Cause::NoResolver,
        Cause::HostNotFound,
        Cause::UpstreamSsl,
        Cause::PhpFatal,
        Cause::ListenQueueFull,
        Cause::Unreachable,
        Cause::InvalidHeader,
        Cause::CutResponse,
        Cause::SendFailed,
        Cause::WebSocketIdle,
        Cause::FdExhausted,
        Cause::ScriptNotFound,
    ];

    /// Short kebab-case id, stable for JSON output.
    pub fn id(self) -> &'static str {
        match self {
            Cause::ConnectionRefused => "connection-refused",
            Cause::SocketMissing => "socket-missing",
            Cause::SocketPermission => "socket-permission",
            Cause::ConnectTimeout => "connect-timeout",
            Cause::ReadTimeout => "read-timeout",
            Cause::SendTimeout => "send-timeout",
            Cause::BackendReset => "backend-reset",
            Cause::PrematureClose => "premature-close",
            Cause::NoLiveUpstreams => "no-live-upstreams",
            Cause::TooBigHeader => "too-big-header",
            Cause::NoResolver => "no-resolver",
            Cause::HostNotFound => "host-not-found",
            Cause::UpstreamSsl => "upstream-ssl",
            Cause::PhpFatal => "php-fatal",
            Cause::ListenQueueFull => "listen-queue-full",
            Cause::Unreachable => "unreachable",
            Cause::InvalidHeader => "invalid-header",
            Cause::CutResponse => "cut-response",
            Cause::SendFailed => "send-failed",
            Cause::WebSocketIdle => "websocket-idle",
            Cause::FdExhausted => "fd-exhausted",
            Cause::ScriptNotFound => "script-not-found",
        }
    }

    /// The inverse of [`Cause::id`].
    pub fn from_id(id: &str) -> Option<Cause> {
        Cause::ALL.into_iter().find(|c| c.id() == id)
    }

    /// The status nginx answers the client with when this failure ends the request
    /// (`ngx_http_upstream_next`: timeouts 504, every other failure 502); `None` when the
    /// client already had the backend's status (a cut response, a WebSocket).
    pub fn http_status(self) -> Option<u16> {
        match self {
            Cause::ConnectTimeout | Cause::ReadTimeout | Cause::SendTimeout => Some(504),
            Cause::PhpFatal | Cause::FdExhausted => Some(500),
            Cause::ScriptNotFound => Some(404),
            Cause::CutResponse | Cause::WebSocketIdle => None,
            _ => Some(502),
        }
    }

    /// The `*_next_upstream` flag under which nginx tries the next server after this failure;
    /// `None` when nginx never does (no live upstreams, resolver errors, PHP's own 500, and
    /// failures after the header was sent).
    pub fn next_upstream(self) -> Option<NextUpstream> {
        match self {
            Cause::ConnectionRefused
            | Cause::SocketMissing
            | Cause::SocketPermission
            | Cause::ListenQueueFull
            | Cause::Unreachable
            | Cause::BackendReset
            | Cause::PrematureClose
            | Cause::SendFailed
            | Cause::UpstreamSsl => Some(NextUpstream::Error),
            Cause::ConnectTimeout | Cause::ReadTimeout | Cause::SendTimeout => {
                Some(NextUpstream::Timeout)
            }
            Cause::TooBigHeader | Cause::InvalidHeader => Some(NextUpstream::InvalidHeader),
            Cause::NoLiveUpstreams
            | Cause::NoResolver
            | Cause::HostNotFound
            | Cause::PhpFatal
            | Cause::CutResponse
            | Cause::WebSocketIdle
            | Cause::FdExhausted
            | Cause::ScriptNotFound => None,
        }
    }

    /// The failure happened before the request was sent to the backend (connect phase): nginx
    /// may retry it even for POST (`NGX_HTTP_UPSTREAM_FT_NON_IDEMPOTENT` needs `request_sent`).
    pub fn before_request_sent(self) -> bool {
        matches!(
            self,
            Cause::ConnectionRefused
                | Cause::SocketMissing
                | Cause::SocketPermission
                | Cause::ListenQueueFull
                | Cause::Unreachable
                | Cause::ConnectTimeout
                | Cause::UpstreamSsl
        )
    }

    /// A client-facing gateway failure (the request ended with nginx's own error status), as
    /// opposed to a cut response or a closed WebSocket.
    pub fn is_gateway_error(self) -> bool {
        !matches!(self, Cause::CutResponse | Cause::WebSocketIdle)
    }

    /// One line for humans: what happened and where to look.
    pub fn explanation(self) -> &'static str {
        match self {
            Cause::ConnectionRefused => "nothing listens at the upstream address (backend down, wrong port, or `localhost` resolving to ::1 while the app listens on IPv4 only)",
            Cause::SocketMissing => "the unix socket does not exist (php-fpm down, a socket path of another PHP version, or /tmp hidden by systemd PrivateTmp)",
            Cause::SocketPermission => "the nginx worker user may not connect to the unix socket (php-fpm listen.owner/listen.group/listen.mode)",
            Cause::ConnectTimeout => "the backend did not accept the connection within *_connect_timeout (host unreachable, firewall drop, listen backlog full)",
            Cause::ReadTimeout => "the backend did not answer within *_read_timeout (a slow request, or the timeout of the wrong module set in this location)",
            Cause::SendTimeout => "the backend did not read the request within *_send_timeout (backend stuck or overloaded)",
            Cause::BackendReset => "the backend reset the connection before answering (php-fpm request_terminate_timeout, gunicorn --timeout, a crashed worker)",
            Cause::PrematureClose => "the backend closed the connection without a full answer (worker killed or exited, or upstream keep-alive outliving the backend's)",
            Cause::NoLiveUpstreams => "every server of the upstream block is down or marked failed (max_fails/fail_timeout)",
            Cause::TooBigHeader => "the backend's response headers do not fit *_buffer_size (large cookies or headers)",
            Cause::NoResolver => "the upstream host comes from a variable and no `resolver` is configured",
            Cause::HostNotFound => "the upstream host name does not resolve",
            Cause::UpstreamSsl => "the TLS handshake with the upstream failed (protocol/cipher mismatch, SNI needed: proxy_ssl_server_name on, or certificate verification)",
            Cause::PhpFatal => "PHP stopped with a fatal error (max_execution_time, memory_limit, a code error): 500, not a gateway error",
            Cause::ListenQueueFull => "the unix socket's listen queue is full (Linux answers EAGAIN): every php-fpm child is busy and listen.backlog (capped by net.core.somaxconn) is used up",
            Cause::Unreachable => "the backend's network or host is unreachable (routing, a host that is down, a firewall rejecting with ICMP)",
            Cause::InvalidHeader => "the backend's answer is no valid HTTP/FastCGI response header (a non-HTTP service on that port, a crashed or buggy app, a header with invalid characters)",
            Cause::CutResponse => "the backend failed after nginx had sent the response header: the client got the backend's status with a cut body, not a 502/504",
            Cause::SendFailed => "the backend closed the connection while nginx was still sending the request (a request body larger than the backend accepts, or a crashed worker)",
            Cause::WebSocketIdle => "an upgraded (WebSocket) connection was idle longer than proxy_read_timeout and nginx closed it",
            Cause::FdExhausted => "the nginx worker ran out of file descriptors or connections opening the upstream connection (worker_rlimit_nofile / LimitNOFILE below what worker_connections needs): nginx answers 500",
            Cause::ScriptNotFound => "php-fpm found no script at the SCRIPT_FILENAME it was sent (none sent, or a wrong root): it answers 404 \"File not found.\"",
        }
    }

    /// The static rule that would have caught this cause before deploy, when one does.
    pub fn rule(self) -> Option<RuleId> {
        self.rules().first().copied()
    }

    /// Every static rule related to this cause, most direct first.
    pub fn rules(self) -> &'static [RuleId] {
        match self {
            Cause::ConnectionRefused => &[RuleId::GW202, RuleId::GW201],
            Cause::SocketMissing => &[RuleId::GW301, RuleId::GW303],
            Cause::SocketPermission => &[RuleId::GW302],
            Cause::ReadTimeout => &[RuleId::GW104, RuleId::GW103],
            Cause::BackendReset => &[RuleId::GW105],
            Cause::PrematureClose => &[RuleId::GW107, RuleId::GW105],
            Cause::NoLiveUpstreams => &[RuleId::GW206],
            Cause::TooBigHeader => &[RuleId::GW403],
            Cause::NoResolver => &[RuleId::GW204],
            Cause::HostNotFound => &[RuleId::GW208],
            Cause::WebSocketIdle => &[RuleId::GW106],
            Cause::FdExhausted => &[RuleId::GW601],
            Cause::ScriptNotFound => &[RuleId::GW405],
            Cause::ConnectTimeout
            | Cause::SendTimeout
            | Cause::UpstreamSsl
            | Cause::PhpFatal
            | Cause::Unreachable
            | Cause::InvalidHeader
            | Cause::CutResponse
            | Cause::SendFailed
            | Cause::ListenQueueFull => &[],
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

const CONNECTING: &str = "connecting to upstream";
const READING_HEADER: &str = "reading response header from upstream";
const SENDING: &str = "sending request to upstream";
const SSL_HANDSHAKE: &str = "SSL handshaking to upstream";
const READING_BODY: &str = "reading upstream";
const UPGRADED: &str = "proxying upgraded connection";

/// The ` while ACTION` of a line, as far as [`classify`] tells them apart: compared once per
/// line instead of once per check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Connecting,
    ReadingHeader,
    Sending,
    SslHandshake,
    ReadingBody,
    Upgraded,
    Other,
}

impl Action {
    fn of(action: &str) -> Self {
        match action {
            CONNECTING => Action::Connecting,
            READING_HEADER => Action::ReadingHeader,
            SENDING => Action::Sending,
            SSL_HANDSHAKE => Action::SslHandshake,
            READING_BODY => Action::ReadingBody,
            UPGRADED => Action::Upgraded,
            _ => Action::Other,
        }
    }
}

/// `" could not be resolved"`, searched with one prebuilt memmem finder (every line that ends
/// with an errno group is searched).
fn could_not_be_resolved(text: &str) -> Option<usize> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(" could not be resolved"));
    FINDER.find(text.as_bytes())
}

/// The gateway failure `entry` reports, if any.
///
/// The message's shape decides: its first bytes (most checks are prefixes, and most prefixes
/// start with `upstream `, tested once) and its action, compared once.
pub fn classify(entry: &LogEntry<'_>) -> Option<Cause> {
    let text = entry.message_text();
    let action = Action::of(entry.action.unwrap_or(""));
    let first = text.as_bytes().first().copied();

    // PHP's stderr is free text (it may quote URLs, errnos, anything): decide on it first and
    // never look for errnos inside it.
    if first == Some(b'F') {
        if let Some(stderr) = text.strip_prefix("FastCGI sent in stderr: ") {
            // php-fpm's own message when SCRIPT_FILENAME names no file (fpm_main.c).
            if stderr.starts_with("\"Primary script unknown\"") {
                return Some(Cause::ScriptNotFound);
            }
            return has(text, "PHP Fatal error").then_some(Cause::PhpFatal);
        }
    }
    // ngx_event_connect_peer: socket() or ngx_get_connection failed for the upstream.
    if action == Action::Connecting
        && (text.starts_with("socket() failed (24:")
            || text.ends_with("worker_connections are not enough"))
    {
        return Some(Cause::FdExhausted);
    }

    match first {
        Some(b'n') if text.starts_with("no live upstreams") => {
            return Some(Cause::NoLiveUpstreams);
        }
        Some(b'n') if text.starts_with("no resolver defined to resolve") => {
            return Some(Cause::NoResolver);
        }
        Some(b'h') if text.starts_with("host not found") => return Some(Cause::HostNotFound),
        _ => {}
    }
    // `HOST could not be resolved (3: Host not found)`: the message ends with the errno group.
    if text.ends_with(')') && could_not_be_resolved(text).is_some() {
        return Some(Cause::HostNotFound);
    }
    let up = text.strip_prefix("upstream ");
    if action == Action::Upgraded {
        // `ngx_http_upstream_process_upgraded`: logged on the client connection, at info.
        return up
            .is_some_and(|r| r.starts_with("timed out"))
            .then_some(Cause::WebSocketIdle);
    }
    let errno = errno(text);
    if action == Action::ReadingBody {
        // The header (and status) were already sent: the client gets a cut body, no 502/504
        // (`ngx_http_upstream_process_upstream`, `..._non_buffered_upstream`). "upstream sent
        // more data than specified" is a [warn] about extra bytes, not a cut.
        let cut = up.is_some_and(|r| {
            r.starts_with("timed out")
                || r.starts_with("prematurely closed")
                || (r.starts_with("sent ") && !r.starts_with("sent more data"))
        }) || matches!(errno, Some(104 | 32));
        return cut.then_some(Cause::CutResponse);
    }
    let mut timed_out = false;
    if let Some(r) = up {
        if r.starts_with("sent too big header") {
            return Some(Cause::TooBigHeader);
        }
        // `upstream sent no valid HTTP/1.0 header` is nginx accepting an HTTP/0.9 answer (200).
        if action == Action::ReadingHeader
            && ((r.starts_with("sent ") && !r.starts_with("sent no valid HTTP/1.0 header"))
                || r.starts_with("rejected request"))
        {
            return Some(Cause::InvalidHeader);
        }
        if r.starts_with("prematurely closed") {
            return Some(Cause::PrematureClose);
        }
        if r.starts_with("SSL certificate") {
            return Some(Cause::UpstreamSsl);
        }
        timed_out = r.starts_with("timed out");
    } else if action == Action::ReadingHeader
        && text.starts_with("invalid header after joining FastCGI records")
    {
        return Some(Cause::InvalidHeader);
    }

    if timed_out || errno == Some(110) {
        return match action {
            Action::Connecting | Action::SslHandshake => Some(Cause::ConnectTimeout),
            Action::ReadingHeader => Some(Cause::ReadTimeout),
            Action::Sending => Some(Cause::SendTimeout),
            _ => None,
        };
    }
    if action == Action::SslHandshake {
        return Some(Cause::UpstreamSsl);
    }

    // From here on only failures on the way to the upstream count: the same errnos on the
    // client side (`open() "/var/www/x" failed (2: ...)`, `... while sending to client`) are
    // other problems.
    let toward_upstream = matches!(
        action,
        Action::Connecting | Action::ReadingHeader | Action::Sending
    );
    if !toward_upstream {
        return None;
    }
    let connect = text.starts_with("connect()");
    let unix = || {
        has(text, "unix:")
            || entry
                .upstream
                .is_some_and(|u| has(u, "://unix:") || u.starts_with("unix:"))
    };
    match errno? {
        111 => Some(Cause::ConnectionRefused),
        2 if connect && unix() => Some(Cause::SocketMissing),
        13 if connect => Some(Cause::SocketPermission),
        // Linux returns EAGAIN instead of ECONNREFUSED for a unix socket whose listen queue is
        // full (comment in ngx_event_connect_peer).
        11 if connect && unix() => Some(Cause::ListenQueueFull),
        101 | 112 | 113 if connect => Some(Cause::Unreachable),
        32 | 104 if action == Action::Sending => Some(Cause::SendFailed),
        104 => Some(Cause::BackendReset),
        _ => None,
    }
}

/// An upstream-related line that no [`Cause`] covers, for the summary's list by kind: the
/// message with its variable parts (quoted text, numbers after a colon) cut, plus the action.
/// `None` for lines that are not about an upstream (client errors, missing static files).
pub fn unclassified_kind(entry: &LogEntry<'_>) -> Option<String> {
    let action = entry.action.unwrap_or("");
    let text = entry.message_text();
    let upstream_related = has(action, "upstream")
        || action == UPGRADED
        || entry.upstream.is_some()
        || text.starts_with("upstream ")
        || has(text, " upstream ");
    if !upstream_related {
        return None;
    }
    // `connect() to ADDR failed (...)`: the address varies, the errno is the kind.
    let text = match text
        .strip_prefix("connect() to ")
        .and_then(|r| r.split_once(" failed"))
    {
        Some((_, rest)) => std::borrow::Cow::Owned(format!("connect() to ... failed{rest}")),
        None => std::borrow::Cow::Borrowed(text),
    };
    // Quoted parts (header names, statuses, paths) vary per line: keep `"..."` for them.
    let mut kind = String::with_capacity(text.len().min(200));
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            if !quoted {
                kind.push_str("\"...\"");
            }
            quoted = !quoted;
        } else if !quoted {
            kind.push(c);
        }
    }
    // `upstream sent unexpected FastCGI record: 3`, `... with error 2`: drop the number.
    let kind = kind.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == ':');
    let mut out = String::with_capacity(kind.len() + action.len() + 7);
    out.push_str(if kind.is_empty() { &text } else { kind });
    if !action.is_empty() {
        out.push_str(" while ");
        out.push_str(action);
    }
    if out.len() > 200 {
        let mut end = 200;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    Some(out)
}

/// The host name nginx failed to resolve, for [`Cause::NoResolver`] and [`Cause::HostNotFound`]
/// lines: those carry no `upstream:` field (no peer was ever chosen), so the name is only in the
/// message (`no resolver defined to resolve api.internal`, `api.internal could not be resolved
/// (3: Host not found)`, `host not found in upstream "app:3000"`).
pub fn unresolved_host<'a>(entry: &LogEntry<'a>) -> Option<&'a str> {
    let text = entry.message_text();
    if let Some(host) = text.strip_prefix("no resolver defined to resolve ") {
        return Some(host);
    }
    if let Some(rest) = text.strip_prefix("host not found in upstream \"") {
        return rest.split_once('"').map(|(h, _)| h);
    }
    could_not_be_resolved(text)
        .map(|i| &text[..i])
        .filter(|h| !h.is_empty())
}

/// `haystack` contains `needle` ([`find_str`]: `str::contains` builds a two-way searcher per
/// call, and memmem's one-shot search a finder, which showed in profiles of million-line logs).
fn has(haystack: &str, needle: &str) -> bool {
    find_str(haystack, needle).is_some()
}

/// The errno of the first `(NNN: text)` group nginx appends (`ngx_log_errno`).
pub(crate) fn errno(text: &str) -> Option<u32> {
    let mut from = 0;
    while let Some(i) = find_byte(&text[from..], b'(').map(|i| i + from) {
        from = i + 1;
        let rest = &text[i + 1..];
        let end = rest
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(rest.len());
        if end > 0 && end <= 5 && rest[end..].starts_with(": ") {
            return rest[..end].parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::logline::parse_line;

    fn line(level: &str, msg: &str, upstream: &str) -> String {
        format!("2026/11/26 02:55:54 [{level}] 1#1: *1 {msg}, client: 127.0.0.1, server: , request: \"GET / HTTP/1.1\", upstream: \"{upstream}\", host: \"h\"")
    }

    fn cause_of(level: &str, msg: &str, upstream: &str) -> Option<Cause> {
        let l = line(level, msg, upstream);
        let e = parse_line(&l)?;
        classify(&e)
    }

    #[test]
    fn every_shape() {
        let cases: &[(&str, &str, &str, Option<Cause>)] = &[
            ("error", "connect() failed (111: Connection refused) while connecting to upstream", "http://127.0.0.1:1/", Some(Cause::ConnectionRefused)),
            ("error", "recv() failed (111: Connection refused) while reading response header from upstream", "http://127.0.0.1:1/", Some(Cause::ConnectionRefused)),
            ("crit", "connect() to unix:/run/php/php7.4-fpm.sock failed (2: No such file or directory) while connecting to upstream", "fastcgi://unix:/run/php/php7.4-fpm.sock:", Some(Cause::SocketMissing)),
            ("crit", "connect() to unix:/run/php.sock failed (13: Permission denied) while connecting to upstream", "fastcgi://unix:/run/php.sock:", Some(Cause::SocketPermission)),
            ("error", "upstream timed out (110: Connection timed out) while connecting to upstream", "http://10.0.0.1:80/", Some(Cause::ConnectTimeout)),
            ("error", "upstream timed out (110: Connection timed out) while reading response header from upstream", "http://10.0.0.1:80/", Some(Cause::ReadTimeout)),
            ("error", "upstream timed out (110: Connection timed out) while sending request to upstream", "http://10.0.0.1:80/", Some(Cause::SendTimeout)),
            ("error", "upstream timed out (110: Connection timed out) while SSL handshaking to upstream", "https://10.0.0.1:443/", Some(Cause::ConnectTimeout)),
            ("error", "recv() failed (104: Connection reset by peer) while reading response header from upstream", "fastcgi://unix:/run/php.sock:", Some(Cause::BackendReset)),
            ("error", "writev() failed (32: Broken pipe) while sending request to upstream", "http://a:1/", Some(Cause::SendFailed)),
            ("error", "sendfile() failed (32: Broken pipe) while sending request to upstream", "http://a:1/", Some(Cause::SendFailed)),
            ("error", "connect() to unix:/run/php/php8.2-fpm.sock failed (11: Resource temporarily unavailable) while connecting to upstream", "fastcgi://unix:/run/php/php8.2-fpm.sock:", Some(Cause::ListenQueueFull)),
            ("error", "connect() to 10.9.9.9:80 failed (113: No route to host) while connecting to upstream", "http://10.9.9.9:80/", Some(Cause::Unreachable)),
            ("error", "upstream sent invalid header: \"X-Bad\\x0D...\" while reading response header from upstream", "http://a:1/", Some(Cause::InvalidHeader)),
            ("error", "upstream sent invalid status \"abc\" while reading response header from upstream", "fastcgi://unix:/s:", Some(Cause::InvalidHeader)),
            ("error", "upstream sent unsupported FastCGI protocol version: 72 while reading response header from upstream", "fastcgi://127.0.0.1:9000", Some(Cause::InvalidHeader)),
            ("error", "upstream timed out (110: Connection timed out) while reading upstream", "http://a:1/", Some(Cause::CutResponse)),
            ("error", "upstream sent invalid chunked response while reading upstream", "http://a:1/", Some(Cause::CutResponse)),
            ("info", "upstream timed out (110: Connection timed out) while proxying upgraded connection", "http://a:1/ws", Some(Cause::WebSocketIdle)),
            ("info", "client timed out (110: Connection timed out) while proxying upgraded connection", "http://a:1/ws", None),
            ("error", "upstream sent no valid HTTP/1.0 header while reading response header from upstream", "http://a:1/", None),
            ("warn", "upstream sent more data than specified in \"Content-Length\" header while reading upstream", "http://a:1/", None),
            ("error", "upstream prematurely closed connection while reading response header from upstream", "http://a:1/", Some(Cause::PrematureClose)),
            ("error", "upstream prematurely closed FastCGI stdout while reading response header from upstream", "fastcgi://127.0.0.1:9000", Some(Cause::PrematureClose)),
            ("error", "no live upstreams while connecting to upstream", "http://backend/", Some(Cause::NoLiveUpstreams)),
            ("error", "upstream sent too big header while reading response header from upstream", "http://a:1/", Some(Cause::TooBigHeader)),
            ("error", "no resolver defined to resolve api.example.com", "", Some(Cause::NoResolver)),
            ("error", "api.example.com could not be resolved (3: Host not found)", "", Some(Cause::HostNotFound)),
            ("crit", "SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream", "https://a:80/", Some(Cause::UpstreamSsl)),
            ("error", "upstream SSL certificate verify error: (10:certificate has expired) while SSL handshaking to upstream", "https://a:443/", Some(Cause::UpstreamSsl)),
            ("error", "FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Maximum execution time of 2 seconds exceeded in /x.php on line 3\" while reading response header from upstream", "fastcgi://unix:/s:", Some(Cause::PhpFatal)),
            // Not gateway failures.
            ("error", "FastCGI sent in stderr: \"Primary script unknown (111: x)\" while reading response header from upstream", "fastcgi://unix:/s:", None),
            ("error", "open() \"/var/www/favicon.ico\" failed (2: No such file or directory)", "", None),
            ("error", "open() \"/var/www/x\" failed (13: Permission denied)", "", None),
            ("info", "recv() failed (104: Connection reset by peer) while sending to client", "", None),
            ("info", "client timed out (110: Connection timed out) while reading client request headers", "", None),
            ("error", "upstream prematurely closed connection while reading upstream", "http://a:1/", Some(Cause::CutResponse)),
        ];
        for (level, msg, up, want) in cases {
            assert_eq!(cause_of(level, msg, up), *want, "{msg}");
        }
    }

    #[test]
    fn unclassified_kinds() {
        let kind = |level: &str, msg: &str, up: &str| {
            let l = line(level, msg, up);
            parse_line(&l).as_ref().and_then(unclassified_kind)
        };
        assert_eq!(
            kind("error", "upstream sent no valid HTTP/1.0 header while reading response header from upstream", "http://a:1/").as_deref(),
            Some("upstream sent no valid HTTP/1.0 header while reading response header from upstream")
        );
        assert_eq!(
            kind("warn", "upstream sent more data than specified in \"Content-Length\" header while reading upstream", "http://a:1/").as_deref(),
            Some("upstream sent more data than specified in \"...\" header while reading upstream")
        );
        let l = "2026/11/26 02:55:54 [error] 1#1: *3 open() \"/var/www/x\" failed (2: No such file or directory), client: 1.1.1.1, server: a, request: \"GET /x HTTP/1.1\", host: \"a\"";
        assert_eq!(parse_line(l).as_ref().and_then(unclassified_kind), None);
    }

    #[test]
    fn startup_host_not_found() {
        let e = parse_line(
            "nginx: [emerg] host not found in upstream \"app:3000\" in /etc/nginx/conf.d/a.conf:3",
        );
        assert_eq!(e.as_ref().and_then(classify), Some(Cause::HostNotFound));
    }

    #[test]
    fn metadata() {
        for c in Cause::ALL {
            assert_eq!(Cause::from_id(c.id()), Some(c));
            assert!(c.id().bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
            assert!(!c.explanation().is_empty());
            assert!(c.rules().windows(2).all(|w| w[0] != w[1]));
        }
        assert_eq!(Cause::ReadTimeout.http_status(), Some(504));
        assert_eq!(Cause::PhpFatal.http_status(), Some(500));
        assert_eq!(Cause::SocketMissing.http_status(), Some(502));
        assert_eq!(Cause::CutResponse.http_status(), None);
        assert_eq!(
            Cause::ConnectionRefused.next_upstream(),
            Some(NextUpstream::Error)
        );
        assert_eq!(
            Cause::ReadTimeout.next_upstream(),
            Some(NextUpstream::Timeout)
        );
        assert_eq!(Cause::NoLiveUpstreams.next_upstream(), None);
        assert_eq!(Cause::ConnectionRefused.rule(), Some(RuleId::GW202));
        assert_eq!(Cause::UpstreamSsl.rule(), None);
    }

    #[test]
    fn unresolved_hosts() {
        let host = |l: &str| {
            parse_line(l)
                .as_ref()
                .and_then(unresolved_host)
                .map(str::to_owned)
        };
        let l = "2026/11/26 02:55:54 [error] 1#1: *1 no resolver defined to resolve api.internal, client: 1.1.1.1, server: a, request: \"GET / HTTP/1.1\", host: \"a\"";
        assert_eq!(host(l).as_deref(), Some("api.internal"));
        let l = "2026/11/26 02:55:54 [error] 1#1: *1 api.internal could not be resolved (3: Host not found), client: 1.1.1.1, server: a";
        assert_eq!(host(l).as_deref(), Some("api.internal"));
        let l = "nginx: [emerg] host not found in upstream \"app:3000\" in /etc/nginx/a.conf:3";
        assert_eq!(host(l).as_deref(), Some("app:3000"));
        assert_eq!(host("nginx: [emerg] could not be resolved"), None);
    }

    #[test]
    fn errno_groups() {
        assert_eq!(
            errno("connect() failed (111: Connection refused)"),
            Some(111)
        );
        assert_eq!(
            errno("connect() to unix:/a (x) failed (2: No such file)"),
            Some(2)
        );
        assert_eq!(errno("no errno (here)"), None);
        assert_eq!(errno("(123456: big)"), None);
        assert_eq!(errno("(("), None);
    }
}
