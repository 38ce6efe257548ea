//! Streams error logs (and php-fpm logs) and groups the gateway failures into incidents.
//!
//! Counts are requests, not lines. nginx logs one line per failed try: a request that went
//! through an `upstream` block and failed on three servers logs three lines with the same
//! connection (`*N`) and request line, and one that failed on the first server and then got an
//! answer from the second logs one line and nothing else (`ngx_http_upstream_next` logs the
//! failure, not the retry or its success). The scanner therefore joins the lines of one request
//! (same worker pid, connection and request line; a try never goes to a peer the request has
//! already tried, so a repeated peer starts a new request) and keeps its **last** line as its
//! outcome, with the number of tries. Whether a request whose last line is a retryable failure
//! was then answered by another server is decided with the configuration (how many servers
//! the handler has, `*_next_upstream`): see `diagnosis`.
//!
//! Memory stays flat whatever the log size: lines are read one at a time into one reused buffer,
//! each line is cut at [`MAX_LINE`] bytes, requests are held open only within
//! [`ScanOptions::retry_window_secs`] of their last line and at most [`MAX_OPEN_REQUESTS`] at
//! once, and the number of groups is bounded ([`ScanOptions::max_groups`]): past it, new groups
//! lose first the request path and host, then the peer, instead of growing without end (a
//! scanner sending random paths or Host headers to a dead backend would otherwise make one group
//! per request). The `server:` field is kept at every level but the last: it decides which
//! server block the group is mapped to, and there are only as many as the configuration has
//! server blocks. Only past [`HARD_GROUP_FACTOR`] times the bound (more distinct `server:` names
//! than any configuration has) is it dropped too, and such a group is marked
//! ([`KeyDetail::CauseOnly`]) so that it is not mapped to a default server.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

use super::chunked::Chunked;
use super::classify::{classify, unclassified_kind, unresolved_host, Cause};
use super::fpmlog::{parse_fpm_line, FpmEvent};
use super::logline::{
    max_time, min_time, parse_line, uri_path, Level, LogEntry, LogTime, Upstream,
};
use super::readahead;
use super::texts::Texts;

/// Longest line kept; the rest of a longer line is skipped. nginx's own lines are at most
/// `NGX_MAX_ERROR_STR` (2048) bytes; this leaves room for multi-line PHP messages joined back.
pub const MAX_LINE: usize = 64 * 1024;

/// Longest sample line kept per incident (cut at a character boundary): samples are for display,
/// and a bound keeps [`ScanOptions::max_groups`] incidents small.
pub const MAX_SAMPLE: usize = 4096;

/// Continuation lines joined to one multi-line message at most.
const MAX_CONTINUATION_LINES: u32 = 256;

/// Default for [`ScanOptions::max_groups`].
pub const DEFAULT_MAX_GROUPS: usize = 10_000;

/// Groups at most, as a multiple of [`ScanOptions::max_groups`]: the cause-and-server level
/// ([`KeyDetail::Server`]) may grow to this, then only [`KeyDetail::CauseOnly`] groups are added.
pub const HARD_GROUP_FACTOR: usize = 4;

/// Requests held open (waiting for a further try) at most; past it the oldest is closed.
pub const MAX_OPEN_REQUESTS: usize = 16_384;

/// Default for [`ScanOptions::retry_window_secs`]: nginx's default connect + read timeouts
/// (60 s each) with room to spare.
pub const DEFAULT_RETRY_WINDOW_SECS: i64 = 600;

/// Distinct (server, upstream peer, cause) triples counted per try at most, and distinct
/// unclassified kinds.
const MAX_MEMBERS: usize = 4_096;
const MAX_KINDS: usize = 256;

/// Tries remembered per request to recognise a repeated peer (nginx's round robin tries each
/// peer once per request).
const MAX_PEERS_PER_REQUEST: usize = 64;

/// Reading a log failed.
#[derive(Debug, thiserror::Error)]
pub enum DiagnoseError {
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
}

/// What to read and how much to keep.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// Skip lines older than this (lines without a time, `nginx: [emerg] ...`, are kept).
    pub since: Option<LogTime>,
    /// Bound on the number of incident groups; see the module docs.
    pub max_groups: usize,
    /// The longest time between two tries of one request: a line of the same connection and
    /// request line later than this after the previous one starts a new request. One try lasts
    /// at most its connect + send/read timeouts, so the CLI sets this from the configuration.
    pub retry_window_secs: i64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            since: None,
            max_groups: DEFAULT_MAX_GROUPS,
            retry_window_secs: DEFAULT_RETRY_WINDOW_SECS,
        }
    }
}

/// What makes two failed requests "the same incident". Its texts are shared between the
/// groups that repeat them ([`Texts`]): thousands of groups name a few servers, methods,
/// peers and paths.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IncidentKey {
    /// The cause of the request's last try: its outcome.
    pub cause: Cause,
    /// `scheme://peer` without the URI ([`Upstream::base`](super::Upstream::base)) of the last
    /// try: `http://127.0.0.1:3999`, `fastcgi://unix:/run/php/php8.2-fpm.sock`, `http://backend`.
    pub upstream: Option<Arc<str>>,
    /// The host name that did not resolve ([`unresolved_host`]): no-resolver and
    /// host-not-found lines have no `upstream:` field.
    pub unresolved_host: Option<Arc<str>>,
    /// The `server:` field: the server block's first server_name (empty when it has none).
    pub server: Option<Arc<str>>,
    pub host: Option<Arc<str>>,
    pub method: Option<Arc<str>>,
    /// Request path without the query string.
    pub path: Option<Arc<str>>,
    /// Failed tries the request logged (1 for a request that failed once); capped at 255.
    pub tries: u32,
    /// How much of the request the key keeps: less once the group bound is reached.
    pub detail: KeyDetail,
}

/// Which fields an [`IncidentKey`] keeps: all of them under [`ScanOptions::max_groups`], fewer
/// past it (see the module docs). The fields dropped are `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyDetail {
    /// Every field.
    #[default]
    Full,
    /// Without host, method and path: cause, peer, unresolved host, `server:`, tries.
    Peer,
    /// Cause, `server:` and tries.
    Server,
    /// Cause and tries only: past [`HARD_GROUP_FACTOR`] times the bound. The server block is
    /// unknown.
    CauseOnly,
}

impl KeyDetail {
    pub fn id(self) -> &'static str {
        match self {
            KeyDetail::Full => "full",
            KeyDetail::Peer => "peer",
            KeyDetail::Server => "server",
            KeyDetail::CauseOnly => "cause",
        }
    }
}

/// One group of identical failed requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    pub key: IncidentKey,
    /// Number of requests.
    pub count: u64,
    /// Number of log lines of those requests (one per failed try).
    pub lines: u64,
    pub first: Option<LogTime>,
    pub last: Option<LogTime>,
    /// The most severe level seen.
    pub level: Level,
    /// The last line of the group's first request, as read (lossy UTF-8, line end removed).
    pub sample_line: String,
    /// The request line of that sample, when it had one.
    pub sample_request: Option<String>,
}

impl Incident {
    pub fn cause(&self) -> Cause {
        self.key.cause
    }
}

/// Failed tries of one upstream peer (each line counts: these are the members' failures,
/// whatever became of the requests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberTries {
    /// The `server:` field of the lines (which server block sent them).
    pub server: Option<String>,
    /// `scheme://peer`.
    pub upstream: String,
    pub cause: Cause,
    pub count: u64,
    pub first: Option<LogTime>,
    pub last: Option<LogTime>,
}

/// Upstream-related lines no cause covers, by kind ([`unclassified_kind`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindCount {
    pub kind: String,
    pub level: Level,
    pub count: u64,
    pub sample_line: String,
}

/// The result of reading error logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Sorted by first time seen, then by key.
    pub incidents: Vec<Incident>,
    /// Failed tries per upstream peer, sorted by first time, then peer.
    pub members: Vec<MemberTries>,
    /// Upstream-related lines that are no gateway failure, by kind, most frequent first.
    pub kinds: Vec<KindCount>,
    /// Every line read (a joined multi-line message counts each of its lines).
    pub lines: u64,
    /// Lines that are no error.log entry (other programs' output, garbage).
    pub unparsed: u64,
    /// Continuation lines of a multi-line message (PHP stack traces in `FastCGI sent in
    /// stderr`), joined to the entry they belong to.
    pub continuation: u64,
    /// Entries that are no gateway failure (404s, client timeouts, notices...).
    pub ignored: u64,
    /// Entries older than `since`.
    pub before_since: u64,
    /// Lines longer than [`MAX_LINE`] that were cut.
    pub cut_lines: u64,
    /// Failed requests folded into a coarser group because `max_groups` was reached.
    pub coarsened: u64,
    /// Requests closed early because [`MAX_OPEN_REQUESTS`] were open (a later try of one of
    /// them would be counted as another request).
    pub evicted: u64,
}

impl ScanReport {
    /// Failed requests (each counted once, whatever its number of tries).
    pub fn failures(&self) -> u64 {
        self.incidents.iter().map(|i| i.count).sum()
    }

    /// Log lines of those requests.
    pub fn failure_lines(&self) -> u64 {
        self.incidents.iter().map(|i| i.lines).sum()
    }
}

/// Groups error.log lines into incidents; feed it one or more logs (rotated files, oldest
/// first), then [`IncidentScanner::finish`].
#[derive(Debug)]
pub struct IncidentScanner {
    options: ScanOptions,
    groups: Chunked<Incident>,
    /// Hash of a [`KeyRef`] -> indexes into `groups`: lines are matched to their group without
    /// allocating an owned key per line.
    index: HashMap<u64, u32, FastHash>,
    /// Per group, the next group with the same hash (`u32::MAX`: none): collisions chain here,
    /// so the index holds plain numbers and a lookup touches one table.
    same_hash: Vec<u32>,
    report: ScanReport,
    /// A `FastCGI sent in stderr: "...` entry whose context has not arrived yet (the PHP message
    /// spans several lines; nginx's `, client: ...` ends the last one).
    pending: Option<Pending>,
    /// Requests that may still log a further try, by [`request_key`] of their id (the slot
    /// holds the id itself: a key shared by two ids closes the older request).
    open: HashMap<u64, u32, FastHash>,
    /// The open requests (`open` holds their indexes) and the free slots: the map stays small
    /// enough for the cache, and a slot is reused with its line buffer when it has one. A
    /// request whose group already exists gives its buffer up (it keeps no line), so the scan
    /// allocates a line only for a request that may start a group.
    slots: Vec<OpenRequest>,
    free: Vec<u32>,
    /// Open order (`seq` and slot), for closing the oldest; entries whose `seq` no longer
    /// matches their slot's are stale.
    order: VecDeque<(u64, u32)>,
    seq: u64,
    /// The newest time seen, and when open requests were last swept.
    now: Option<i64>,
    swept: i64,
    /// Hash of (server, peer, cause) -> the members with that hash.
    members: HashMap<u64, Vec<MemberTries>, FastHash>,
    member_count: usize,
    kinds: HashMap<String, KindCount>,
    /// The groups' key texts ([`IncidentKey`]).
    texts: Texts,
}

/// One request as nginx logs it: worker pid, connection number, hash of the request line.
type RequestId = (u32, u64, u64);

/// The key of `id` in [`IncidentScanner::open`].
fn request_key(id: RequestId) -> u64 {
    FastHash.hash_one(id)
}

/// A slot's `seq` while it is free (open requests count from 1).
const FREE: u64 = 0;

#[derive(Debug)]
struct OpenRequest {
    /// When it was opened ([`FREE`]: the slot is free).
    seq: u64,
    id: RequestId,
    /// The group the request joins if its latest line is its last, when that group already
    /// existed as the line was read, and whether its key was coarsened to reach it. Groups are
    /// never removed, and a level that took no new group then takes none later, so closing
    /// the request finds that same group ([`IncidentScanner::existing_group`]); the line is
    /// then not kept.
    group: Option<(u32, bool)>,
    /// The latest line when `group` is `None`: the request's outcome so far.
    line: String,
    /// What the group key and sample take from that line, parsed when it was read: closing
    /// the request does not parse it again.
    parsed: Parsed,
    first: Option<LogTime>,
    last: Option<LogTime>,
    level: Level,
    tries: u32,
    lines: u64,
    /// Hashes of the peers tried.
    peers: Vec<u64>,
    /// The latest line ends the request whatever follows (no live upstreams, resolver errors,
    /// PHP's 500, a cut response).
    done: bool,
}

/// The parts of a request's latest line its group needs: the cause, and the key's fields and
/// the request line as byte ranges of the stored line.
#[derive(Clone, Copy, Debug)]
struct Parsed {
    cause: Cause,
    time: Option<LogTime>,
    upstream: Span,
    unresolved_host: Span,
    server: Span,
    host: Span,
    method: Span,
    path: Span,
    request_line: Span,
}

/// A field of a stored line: `start..end`, [`ROOT`], or absent.
type Span = Option<(u32, u32)>;

/// The span of a path `/` that the line does not spell (`GET http://host HTTP/1.1`).
const ROOT: (u32, u32) = (u32::MAX, u32::MAX);

impl Parsed {
    /// `key`'s and `request_line`'s places in `line`; every one of them is a slice of it (the
    /// entry was parsed from `line`).
    fn of(line: &str, key: &KeyRef<'_>, time: Option<LogTime>, request_line: Option<&str>) -> Self {
        let span = |part: Option<&str>| -> Span {
            let part = part?;
            let inside = (part.as_ptr() as usize)
                .checked_sub(line.as_ptr() as usize)
                .and_then(|start| Some((start, start.checked_add(part.len())?)))
                .filter(|&(_, end)| end <= line.len());
            match inside {
                Some((start, end)) => Some((u32::try_from(start).ok()?, u32::try_from(end).ok()?)),
                // `uri_path`'s "/" for an absolute URI without a path is not in the line; every
                // other field is a slice of it.
                None if part == "/" => Some(ROOT),
                None => None,
            }
        };
        Self {
            cause: key.cause,
            time,
            upstream: span(key.upstream),
            unresolved_host: span(key.unresolved_host),
            server: span(key.server),
            host: span(key.host),
            method: span(key.method),
            path: span(key.path),
            request_line: span(request_line),
        }
    }

    /// The key (with `tries`) and request line back, borrowed from `line`.
    fn key<'a>(&self, line: &'a str, tries: u32) -> (KeyRef<'a>, Option<&'a str>) {
        let get = |s: Span| match s? {
            ROOT => Some("/"),
            (a, b) => line.get(a as usize..b as usize),
        };
        let key = KeyRef {
            cause: self.cause,
            upstream: get(self.upstream),
            unresolved_host: get(self.unresolved_host),
            server: get(self.server),
            host: get(self.host),
            method: get(self.method),
            path: get(self.path),
            tries,
            detail: KeyDetail::Full,
        };
        (key, get(self.request_line))
    }
}

/// What grouping a line needs besides its entry, worked out from the line alone: on the
/// reading thread when there is one (see `readahead`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LineFacts {
    /// The cause and the group key's fields (tries 1); `None` for a line of no gateway
    /// failure.
    parsed: Option<Parsed>,
    /// Hashes of the request line (part of the request's id) and of the peer tried.
    request: u64,
    peer: Option<u64>,
    /// Hash of (server, peer, cause): the line's member.
    member: u64,
}

impl LineFacts {
    /// `entry` was parsed from `line`.
    pub(crate) fn of(line: &str, entry: &LogEntry<'_>) -> Self {
        let request = FastHash.hash_one(entry.request_line.unwrap_or(""));
        let Some(cause) = classify(entry) else {
            return Self {
                parsed: None,
                request,
                peer: None,
                member: 0,
            };
        };
        let key = KeyRef::new(cause, entry, 1);
        Self {
            parsed: Some(Parsed::of(line, &key, entry.time, entry.request_line)),
            request,
            peer: key.upstream.map(|p| FastHash.hash_one(p)),
            member: key
                .upstream
                .map_or(0, |base| FastHash.hash_one((entry.server, base, cause))),
        }
    }
}

#[derive(Debug)]
struct Pending {
    text: String,
    /// Continuation lines joined so far.
    lines: u32,
}

impl IncidentScanner {
    pub fn new(options: ScanOptions) -> Self {
        Self {
            options,
            groups: Chunked::default(),
            index: HashMap::default(),
            same_hash: Vec::new(),
            report: ScanReport::default(),
            pending: None,
            open: HashMap::default(),
            order: VecDeque::new(),
            seq: 0,
            now: None,
            swept: i64::MIN,
            members: HashMap::default(),
            member_count: 0,
            kinds: HashMap::new(),
            texts: Texts::default(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Reads every line of `reader` (read and parsed ahead on a second thread when rayon's pool
    /// has one: see `readahead`). `name` is used in error messages only.
    pub fn read<R: BufRead + Send>(&mut self, reader: R, name: &Path) -> Result<(), DiagnoseError> {
        readahead::for_each_line(reader, MAX_LINE, LineFacts::of, |line, cut, parsed| {
            if cut {
                self.report.cut_lines += 1;
            }
            self.push_entry(line, parsed);
        })
        .map_err(|source| DiagnoseError::Read {
            path: name.to_owned(),
            source,
        })
    }

    /// Takes one line (with or without its line end).
    pub fn push_line(&mut self, line: &str) {
        let line = line.trim_end_matches(['\n', '\r']);
        self.push_entry(line, readahead::parse(line, LineFacts::of));
    }

    /// Takes one line (without its line end) with [`parse_line`]'s entry for it and its facts.
    fn push_entry(&mut self, line: &str, parsed: Option<(LogEntry<'_>, LineFacts)>) {
        self.report.lines += 1;
        let Some((entry, facts)) = parsed else {
            if self.continue_pending(line) {
                self.report.continuation += 1;
            } else {
                self.report.unparsed += 1;
            }
            return;
        };
        self.flush_pending();
        if entry.client.is_none() && entry.message.starts_with("FastCGI sent in stderr: \"") {
            self.pending = Some(Pending {
                text: line.to_owned(),
                lines: 0,
            });
            return;
        }
        self.take(&entry, line, &facts);
    }

    /// Joins `line` to the pending multi-line message; false when there is none or it is full
    /// (then the pending message is taken as it is).
    fn continue_pending(&mut self, line: &str) -> bool {
        let Some(p) = self.pending.as_mut() else {
            return false;
        };
        if p.lines >= MAX_CONTINUATION_LINES || p.text.len() + 1 + line.len() > MAX_LINE {
            self.flush_pending();
            return false;
        }
        p.text.push('\n');
        p.text.push_str(line);
        p.lines += 1;
        // Only a line carrying nginx's context can end the message: re-parse just then, so a
        // long trace costs one parse, not one per line.
        if line.contains(", client: ") || line.contains(", udp client: ") {
            let complete = parse_line(&p.text).is_some_and(|e| e.client.is_some());
            if complete {
                self.flush_pending();
            }
        }
        true
    }

    /// Ends the scan: the incidents, sorted.
    pub fn finish(mut self) -> ScanReport {
        self.flush_pending();
        while let Some((seq, i)) = self.order.pop_front() {
            self.close_if(seq, i);
        }
        let mut incidents = std::mem::take(&mut self.groups).into_vec();
        // Keys are distinct: the unstable sort gives the one order, without a scratch copy.
        incidents.sort_unstable_by(|a, b| (a.first, &a.key).cmp(&(b.first, &b.key)));
        self.report.incidents = incidents;
        let mut members: Vec<MemberTries> = self.members.into_values().flatten().collect();
        members.sort_by(|a, b| {
            (a.first, &a.upstream, &a.server, a.cause).cmp(&(
                b.first,
                &b.upstream,
                &b.server,
                b.cause,
            ))
        });
        self.report.members = members;
        let mut kinds: Vec<KindCount> = self.kinds.into_values().collect();
        kinds.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.kind.cmp(&b.kind)));
        self.report.kinds = kinds;
        self.report
    }

    fn flush_pending(&mut self) {
        let Some(p) = self.pending.take() else { return };
        match readahead::parse(&p.text, LineFacts::of) {
            Some((e, facts)) => self.take(&e, &p.text, &facts),
            // Unreachable in practice: the first line parsed on its own.
            None => self.report.unparsed += 1,
        }
    }

    /// Takes one line: `entry` and `facts` are its parse.
    fn take(&mut self, entry: &LogEntry<'_>, line: &str, facts: &LineFacts) {
        if let (Some(since), Some(t)) = (self.options.since, entry.time) {
            if t < since {
                self.report.before_since += 1;
                return;
            }
        }
        let time = entry.time.map(LogTime::to_unix);
        if let Some(t) = time {
            self.now = Some(self.now.map_or(t, |n| n.max(t)));
            self.sweep();
        }
        let Some(parsed) = facts.parsed else {
            self.report.ignored += 1;
            // [error], [crit], [alert], [emerg]: what the summary lists by kind.
            if entry.level <= Level::Error {
                if let Some(kind) = unclassified_kind(entry) {
                    self.count_kind(kind, entry.level, line);
                }
            }
            return;
        };
        let cause = parsed.cause;
        let (key, request_line) = parsed.key(line, 1);
        let peer = key.upstream;
        if let Some(base) = peer {
            self.count_member(facts.member, entry.server, base, cause, entry.time);
        }
        let done = cause.next_upstream().is_none();
        let Some(conn) = entry.connection else {
            // Not a request (a startup line): a request of its own.
            self.add_request(
                key,
                entry.level,
                line,
                request_line,
                1,
                entry.time,
                entry.time,
            );
            return;
        };
        let id: RequestId = (entry.pid.unwrap_or(0), conn, facts.request);
        let open_key = request_key(id);
        let peer_hash = facts.peer;
        let window = self.options.retry_window_secs;
        // One lookup for the common cases: a new request, a further try of an open one.
        let mut known = false;
        let mut continued = false;
        let slot = self.open.get(&open_key).copied();
        if let Some(r) = slot.and_then(|i| self.slots.get_mut(i as usize)) {
            known = true;
            let gap_ok = match (r.last.map(LogTime::to_unix), time) {
                (Some(a), Some(b)) => b >= a && b - a <= window,
                _ => true,
            };
            let new_peer = peer_hash.is_none_or(|h| !r.peers.contains(&h));
            if r.id == id && !r.done && gap_ok && new_peer {
                continued = true;
                r.last = entry.time.or(r.last);
                r.level = r.level.min(entry.level);
                r.tries = r.tries.saturating_add(1).min(255);
                r.lines += 1;
                if let Some(h) = peer_hash {
                    if r.peers.len() < MAX_PEERS_PER_REQUEST {
                        r.peers.push(h);
                    }
                }
                r.done = done;
            }
        }
        if continued {
            if let Some(i) = slot {
                self.keep_outcome(i, key, line, parsed);
            }
            if done {
                if let Some(i) = self.open.remove(&open_key) {
                    self.close(i);
                }
            }
            return;
        }
        if known {
            if let Some(i) = self.open.remove(&open_key) {
                self.close(i);
            }
        }
        if done {
            self.add_request(
                key,
                entry.level,
                line,
                request_line,
                1,
                entry.time,
                entry.time,
            );
            return;
        }
        while self.open.len() >= MAX_OPEN_REQUESTS {
            let Some((seq, old)) = self.order.pop_front() else {
                break;
            };
            if self.close_if(seq, old) {
                self.report.evicted += 1;
            }
        }
        self.seq += 1;
        let fresh = |line: String, peers: Vec<u64>, seq: u64| OpenRequest {
            seq,
            id,
            group: None,
            line,
            parsed,
            first: entry.time,
            last: entry.time,
            level: entry.level,
            tries: 1,
            lines: 1,
            peers,
            done,
        };
        let slot = match self.free.pop() {
            Some(i) => match self.slots.get_mut(i as usize) {
                Some(r) => {
                    // The freed slot's buffers, cleared when it was closed.
                    let buf = std::mem::take(&mut r.line);
                    let mut peers = std::mem::take(&mut r.peers);
                    peers.extend(peer_hash);
                    *r = fresh(buf, peers, self.seq);
                    i
                }
                None => return,
            },
            None => {
                self.slots.push(fresh(
                    String::new(),
                    peer_hash.into_iter().collect(),
                    self.seq,
                ));
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.keep_outcome(slot, key, line, parsed);
        self.open.insert(open_key, slot);
        self.order.push_back((self.seq, slot));
    }

    /// Records what the request in slot `i` ends as if `line`, just read, is its last: the
    /// group its key already has, or else the line itself. `key` and `parsed` are the line's
    /// with one try; the slot holds the request's tries.
    fn keep_outcome(&mut self, i: u32, key: KeyRef<'_>, line: &str, parsed: Parsed) {
        let Some(tries) = self.slots.get(i as usize).map(|r| r.tries) else {
            return;
        };
        let group = self.existing_group(KeyRef { tries, ..key });
        let Some(r) = self.slots.get_mut(i as usize) else {
            return;
        };
        r.group = group;
        // The spans are read only with the line; the time is the request's last either way.
        r.parsed = parsed;
        if group.is_some() {
            // Nothing to keep: the buffer is freed, not held by a request that does not need
            // it (emptied buffers were 5 MB of the scan's 83 MB peak in a 2M-line run).
            r.line = String::new();
        } else {
            r.line.clear();
            r.line.push_str(line);
        }
    }

    /// Closes the open requests whose last line is older than the retry window.
    fn sweep(&mut self) {
        let Some(now) = self.now else { return };
        if now <= self.swept {
            return;
        }
        self.swept = now;
        let window = self.options.retry_window_secs;
        while let Some(&(seq, i)) = self.order.front() {
            let Some(r) = self.slots.get(i as usize).filter(|r| r.seq == seq) else {
                self.order.pop_front();
                continue;
            };
            let expired = r
                .last
                .map(LogTime::to_unix)
                .is_some_and(|t| now - t > window);
            if !expired {
                break;
            }
            self.order.pop_front();
            self.close_if(seq, i);
        }
    }

    /// Closes the request in slot `i` if it is still the one opened as `seq`.
    fn close_if(&mut self, seq: u64, i: u32) -> bool {
        let Some(r) = self.slots.get(i as usize) else {
            return false;
        };
        if seq == FREE || r.seq != seq {
            return false;
        }
        let key = request_key(r.id);
        if self.open.get(&key) != Some(&i) {
            return false;
        }
        self.open.remove(&key);
        self.close(i);
        true
    }

    /// Adds the request in slot `i` (already out of `open`) to its group and frees the slot,
    /// keeping its buffers for the next request.
    fn close(&mut self, i: u32) {
        let Some(r) = self.slots.get_mut(i as usize) else {
            return;
        };
        let mut line = std::mem::take(&mut r.line);
        let (parsed, tries, level, lines, first) = (r.parsed, r.tries, r.level, r.lines, r.first);
        let group = r.group.take();
        r.peers.clear();
        r.seq = FREE;
        match group {
            Some((g, coarsened)) => {
                self.report.coarsened += u64::from(coarsened);
                self.count_into(g as usize, level, lines, first, parsed.time);
            }
            None => {
                let (key, request_line) = parsed.key(&line, tries);
                self.add_request(key, level, &line, request_line, lines, first, parsed.time);
            }
        }
        line.clear();
        if let Some(r) = self.slots.get_mut(i as usize) {
            r.line = line;
        }
        self.free.push(i);
    }

    /// Adds one finished request to its group: `key` (with its tries) and `request_line` come
    /// from `line`, its last line; `level` is the most severe of its lines.
    #[allow(clippy::too_many_arguments)]
    fn add_request(
        &mut self,
        key: KeyRef<'_>,
        level: Level,
        line: &str,
        request_line: Option<&str>,
        lines: u64,
        first: Option<LogTime>,
        last: Option<LogTime>,
    ) {
        let (key, hash, found) = self.bounded_key(key);
        match found {
            Some(i) => self.count_into(i, level, lines, first, last),
            None => {
                let i = u32::try_from(self.groups.len()).unwrap_or(u32::MAX);
                // The newest group heads its chain.
                self.same_hash
                    .push(self.index.insert(hash, i).unwrap_or(u32::MAX));
                self.groups.push(Incident {
                    key: key.into_owned(&mut self.texts),
                    count: 1,
                    lines,
                    first: min_time(first, last),
                    last,
                    level,
                    sample_line: truncate_at_char(line, MAX_SAMPLE).to_owned(),
                    sample_request: request_line.map(str::to_owned),
                });
            }
        }
    }

    /// Adds one finished request to group `i`.
    fn count_into(
        &mut self,
        i: usize,
        level: Level,
        lines: u64,
        first: Option<LogTime>,
        last: Option<LogTime>,
    ) {
        let Some(g) = self.groups.get_mut(i) else {
            return;
        };
        g.count += 1;
        g.lines += lines;
        g.first = min_time(g.first, first);
        g.last = max_time(g.last, last);
        g.level = g.level.min(level);
    }

    /// Counts a try of member (`server`, `base`, `cause`), whose [`LineFacts::member`] is `hash`.
    fn count_member(
        &mut self,
        hash: u64,
        server: Option<&str>,
        base: &str,
        cause: Cause,
        t: Option<LogTime>,
    ) {
        // Past the bound, a new member is not counted and leaves no trace (an empty entry per
        // distinct member would grow without bound on a log of another configuration).
        if self.member_count >= MAX_MEMBERS && !self.members.contains_key(&hash) {
            return;
        }
        let slot = self.members.entry(hash).or_default();
        let found = slot
            .iter_mut()
            .find(|m| m.cause == cause && m.upstream == base && m.server.as_deref() == server);
        let m = match found {
            Some(m) => m,
            None => {
                if self.member_count >= MAX_MEMBERS {
                    return;
                }
                self.member_count += 1;
                slot.push(MemberTries {
                    server: server.map(str::to_owned),
                    upstream: base.to_owned(),
                    cause,
                    count: 0,
                    first: t,
                    last: t,
                });
                let Some(m) = slot.last_mut() else { return };
                m
            }
        };
        m.count += 1;
        m.first = min_time(m.first, t);
        m.last = max_time(m.last, t);
    }

    fn count_kind(&mut self, kind: String, level: Level, line: &str) {
        if self.kinds.len() >= MAX_KINDS && !self.kinds.contains_key(&kind) {
            return;
        }
        let k = self.kinds.entry(kind.clone()).or_insert_with(|| KindCount {
            kind,
            level,
            count: 0,
            sample_line: truncate_at_char(line, MAX_SAMPLE).to_owned(),
        });
        k.count += 1;
        k.level = k.level.min(level);
    }

    /// `key`'s hash and its group, if there is one.
    fn find(&self, key: &KeyRef<'_>) -> (u64, Option<usize>) {
        let hash = FastHash.hash_one(key);
        let mut next = self.index.get(&hash).copied();
        while let Some(i) = next.map(|i| i as usize) {
            let Some(g) = self.groups.get(i) else { break };
            if key.matches(&g.key) {
                return (hash, Some(i));
            }
            next = self.same_hash.get(i).copied().filter(|&n| n != u32::MAX);
        }
        (hash, None)
    }

    /// `key` at each level of detail, each with the group count below which that level takes
    /// new groups (the last level always does).
    fn levels<'a>(&self, key: KeyRef<'a>) -> [(KeyRef<'a>, usize); 4] {
        let max = self.options.max_groups;
        let peer = KeyRef {
            host: None,
            method: None,
            path: None,
            detail: KeyDetail::Peer,
            ..key
        };
        let server = KeyRef {
            upstream: None,
            unresolved_host: None,
            detail: KeyDetail::Server,
            ..peer
        };
        let cause = KeyRef {
            server: None,
            detail: KeyDetail::CauseOnly,
            ..server
        };
        [
            (key, max),
            (peer, max.saturating_mul(2)),
            (server, max.saturating_mul(HARD_GROUP_FACTOR)),
            (cause, usize::MAX),
        ]
    }

    /// The key itself while there is room; past `max_groups`, a coarser one (see module docs).
    /// With its hash and its group when it has one.
    fn bounded_key<'a>(&mut self, key: KeyRef<'a>) -> (KeyRef<'a>, u64, Option<usize>) {
        let mut chosen = (key, 0, None);
        for (level, (k, room)) in self.levels(key).into_iter().enumerate() {
            if level == 1 {
                self.report.coarsened += 1;
            }
            let (hash, found) = self.find(&k);
            chosen = (k, hash, found);
            if found.is_some() || self.groups.len() < room {
                break;
            }
        }
        chosen
    }

    /// The group [`Self::bounded_key`] would give `key` now, if that group exists, and whether
    /// the key was coarsened to reach it. Groups only grow, so `bounded_key` gives `key` the
    /// same group at any later time: a finer level that had no group and no room then has
    /// none later.
    fn existing_group(&self, key: KeyRef<'_>) -> Option<(u32, bool)> {
        for (level, (k, room)) in self.levels(key).into_iter().enumerate() {
            if let (_, Some(g)) = self.find(&k) {
                return Some((u32::try_from(g).ok()?, level > 0));
            }
            if self.groups.len() < room {
                return None;
            }
        }
        None
    }
}

/// The line as text: borrowed when it is valid UTF-8 (the common case, checked with SIMD),
/// else with U+FFFD for the invalid bytes.
pub(crate) fn utf8(buf: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(buf) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(buf),
    }
}

/// FNV-1a-style multiply-xor hashing for the scanner's own tables: keys are log text of one
/// run, not attacker-chosen table sizes that matter (a collision costs a comparison), and
/// SipHash was a tenth of the time on million-line logs.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FastHash;

impl BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0xcbf2_9ce4_8422_2325)
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // A final avalanche so that hashbrown's top bits are well mixed.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h ^ u64::from_le_bytes(w))
                .wrapping_mul(0x0000_0100_0000_01b3 | 0x9e37_79b9_0000_0000);
            h = h.rotate_left(29);
        }
        for &b in chunks.remainder() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// An [`IncidentKey`] borrowed from the line being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct KeyRef<'a> {
    cause: Cause,
    upstream: Option<&'a str>,
    unresolved_host: Option<&'a str>,
    server: Option<&'a str>,
    host: Option<&'a str>,
    method: Option<&'a str>,
    path: Option<&'a str>,
    tries: u32,
    detail: KeyDetail,
}

impl<'a> KeyRef<'a> {
    fn new(cause: Cause, e: &LogEntry<'a>, tries: u32) -> Self {
        let (method, path) = match (e.request, e.request_line) {
            (Some(r), _) => (Some(r.method), Some(r.path())),
            // A line cut inside its request, or garbage sent as a request line.
            (None, Some(raw)) => (None, Some(uri_path(raw))),
            (None, None) => (None, None),
        };
        Self {
            cause,
            upstream: e.upstream.map(|u| Upstream::parse(u).base),
            unresolved_host: unresolved_host(e),
            server: e.server,
            host: e.host,
            method,
            path,
            tries,
            detail: KeyDetail::Full,
        }
    }

    fn matches(&self, k: &IncidentKey) -> bool {
        self.cause == k.cause
            && self.tries == k.tries
            && self.detail == k.detail
            && self.upstream == k.upstream.as_deref()
            && self.unresolved_host == k.unresolved_host.as_deref()
            && self.server == k.server.as_deref()
            && self.host == k.host.as_deref()
            && self.method == k.method.as_deref()
            && self.path == k.path.as_deref()
    }

    fn into_owned(self, texts: &mut Texts) -> IncidentKey {
        let mut own = |s: Option<&str>| s.map(|s| texts.get(s));
        IncidentKey {
            cause: self.cause,
            upstream: own(self.upstream),
            unresolved_host: own(self.unresolved_host),
            server: own(self.server),
            host: own(self.host),
            method: own(self.method),
            path: own(self.path),
            tries: self.tries,
            detail: self.detail,
        }
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_at_char(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Groups the gateway failures of one error log.
pub fn scan_error_log<R: BufRead + Send>(
    reader: R,
    name: &Path,
    options: &ScanOptions,
) -> Result<ScanReport, DiagnoseError> {
    let mut scanner = IncidentScanner::new(options.clone());
    scanner.read(reader, name)?;
    Ok(scanner.finish())
}

/// Opens a log for streaming; gzip-compressed files (`error.log.2.gz` from logrotate) are
/// recognised by their magic bytes, whatever their name, and decompressed on the fly.
pub fn open_log(path: &Path) -> Result<Box<dyn BufRead + Send>, DiagnoseError> {
    let open_err = |source| DiagnoseError::Open {
        path: path.to_owned(),
        source,
    };
    check_regular(path)?;
    let file = File::open(path).map_err(open_err)?;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let head = reader.fill_buf().map_err(|source| DiagnoseError::Read {
        path: path.to_owned(),
        source,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        // Multi-member: `cat a.gz b.gz` and some rotation tools produce several members.
        Ok(Box::new(BufReader::with_capacity(
            64 * 1024,
            MultiGzDecoder::new(reader),
        )))
    } else {
        Ok(Box::new(reader))
    }
}

/// Refuses what is not a regular file before opening it, as `check` does for configuration
/// files (`config::fs::read_config_file`): a directory, a FIFO (opening it waits for a writer)
/// or a device such as /dev/zero (reading it never ends).
pub(crate) fn check_regular(path: &Path) -> Result<(), DiagnoseError> {
    let open_err = |source| DiagnoseError::Open {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(open_err)?;
    if meta.is_dir() {
        return Err(open_err(io::Error::other("is a directory")));
    }
    if !meta.is_file() {
        return Err(open_err(io::Error::other("not a regular file")));
    }
    Ok(())
}

/// `paths` without the ones that name a file already in the list (the same path twice, a link
/// to it, a hard link): each is read once, and a note says which were left out.
pub fn distinct_files<'p>(paths: &'p [PathBuf], notes: &mut Vec<String>) -> Vec<&'p PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let mut seen: Vec<((u64, u64), &PathBuf)> = Vec::new();
    let mut out = Vec::new();
    for p in paths {
        // A file that cannot be read keeps its place: opening it reports the error.
        let id = std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
        match id.and_then(|id| seen.iter().find(|(s, _)| *s == id)) {
            Some((_, first)) => notes.push(format!(
                "{} is the same file as {}: read once",
                p.display(),
                first.display()
            )),
            None => {
                if let Some(id) = id {
                    seen.push((id, p));
                }
                out.push(p);
            }
        }
    }
    out
}

/// [`open_log`] + [`scan_error_log`].
pub fn scan_error_log_path(
    path: &Path,
    options: &ScanOptions,
) -> Result<ScanReport, DiagnoseError> {
    scan_error_log(open_log(path)?, path, options)
}

/// Reads one line into `buf` (cleared first, line end included), keeping at most `cap` bytes and
/// skipping the rest of a longer line. `Ok(None)` at end of input, else whether it was cut.
pub(crate) fn read_line_capped<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    cap: usize,
) -> io::Result<Option<bool>> {
    buf.clear();
    let mut cut = false;
    let mut any = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any.then_some(cut));
        }
        any = true;
        let (used, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = cap.saturating_sub(buf.len());
        if used > room {
            cut = true;
        }
        buf.extend_from_slice(&chunk[..used.min(room)]);
        reader.consume(used);
        if done {
            return Ok(Some(cut));
        }
    }
}

/// One group of php-fpm events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FpmIncident {
    /// [`FpmEvent::kind`]: `execution-timed-out`, `max-children-reached`, `child-signaled`,
    /// `child-exited`, `slow-request`, `php-fatal`.
    pub kind: &'static str,
    pub pool: Option<String>,
    /// The script (timeouts, slow requests), the signal name, or the exit code.
    pub detail: Option<String>,
    /// Request path without query (timeouts, slow requests).
    pub path: Option<String>,
    pub count: u64,
    pub first: Option<LogTime>,
    pub last: Option<LogTime>,
    pub sample_line: String,
}

/// The result of reading php-fpm logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FpmReport {
    /// Sorted by first time seen, then kind, pool, detail.
    pub incidents: Vec<FpmIncident>,
    pub lines: u64,
    pub unparsed: u64,
    /// php-fpm lines that say nothing about failures (start, stop, notices).
    pub ignored: u64,
    pub before_since: u64,
    /// The pools the php-fpm configuration declares (`diagnose --php`), empty when none was
    /// read: a fastcgi upstream is tied only to the log lines of the pools listening at its
    /// address.
    pub pools: Vec<FpmPool>,
}

/// A php-fpm pool as far as the tie needs it: its name as php-fpm logs it (`[pool www]`),
/// where it listens, and its request_terminate_timeout with where that was set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FpmPool {
    pub name: String,
    pub listen: crate::backends::Listen,
    /// Seconds (0: off) and `file:line`.
    pub request_terminate_timeout: Option<(u64, String)>,
}

impl FpmPool {
    /// The pools of a php-fpm configuration that have a listen address.
    pub fn of(php: &crate::backends::PhpSetup) -> Vec<FpmPool> {
        php.pools()
            .filter_map(|p| {
                Some(FpmPool {
                    name: p.name.clone(),
                    listen: p.listen.as_ref()?.value.clone(),
                    request_terminate_timeout: p
                        .request_terminate_timeout
                        .as_ref()
                        .map(|t| (t.value, format!("{}:{}", t.file.display(), t.line))),
                })
            })
            .collect()
    }
}

/// Groups the php-fpm events that explain gateway errors (`--fpm-log`).
pub fn scan_fpm_log<R: BufRead>(
    mut reader: R,
    name: &Path,
    options: &ScanOptions,
) -> Result<FpmReport, DiagnoseError> {
    type Key = (&'static str, Option<String>, Option<String>, Option<String>);
    let mut groups: HashMap<Key, FpmIncident> = HashMap::new();
    let mut report = FpmReport::default();
    let mut buf = Vec::with_capacity(4096);
    while read_line_capped(&mut reader, &mut buf, MAX_LINE)
        .map_err(|source| DiagnoseError::Read {
            path: name.to_owned(),
            source,
        })?
        .is_some()
    {
        report.lines += 1;
        let text = utf8(&buf);
        let line = text.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            continue;
        }
        let Some(e) = parse_fpm_line(line) else {
            report.unparsed += 1;
            continue;
        };
        if let (Some(since), Some(t)) = (options.since, e.time) {
            if t < since {
                report.before_since += 1;
                continue;
            }
        }
        let (kind, detail, path) = match &e.event {
            FpmEvent::ExecutionTimedOut { script, .. } | FpmEvent::SlowRequest { script, .. } => {
                let path = e.event.request().map(|r| r.path().to_owned());
                (e.event.kind(), Some((*script).to_owned()), path)
            }
            FpmEvent::ChildSignaled { signal, name, .. } => (
                e.event.kind(),
                Some(name.map_or_else(|| signal.to_string(), str::to_owned)),
                None,
            ),
            FpmEvent::ChildExited { code, .. } => (e.event.kind(), Some(code.to_string()), None),
            FpmEvent::MaxChildrenReached { max_children } => {
                (e.event.kind(), Some(max_children.to_string()), None)
            }
            ev @ FpmEvent::ChildStderr { .. } if ev.is_php_fatal() => ("php-fatal", None, None),
            _ => {
                report.ignored += 1;
                continue;
            }
        };
        let pool = e.pool.map(str::to_owned);
        let key: Key = (kind, pool.clone(), detail.clone(), path.clone());
        if groups.len() >= options.max_groups && !groups.contains_key(&key) {
            report.ignored += 1;
            continue;
        }
        let inc = groups.entry(key).or_insert_with(|| FpmIncident {
            kind,
            pool,
            detail,
            path,
            count: 0,
            first: e.time,
            last: e.time,
            sample_line: line.to_owned(),
        });
        inc.count += 1;
        inc.first = min_time(inc.first, e.time);
        inc.last = max_time(inc.last, e.time);
    }
    let mut incidents: Vec<FpmIncident> = groups.into_values().collect();
    incidents.sort_by(|a, b| {
        (a.first, a.kind, &a.pool, &a.detail, &a.path)
            .cmp(&(b.first, b.kind, &b.pool, &b.detail, &b.path))
    });
    report.incidents = incidents;
    Ok(report)
}

/// [`open_log`] + [`scan_fpm_log`].
pub fn scan_fpm_log_path(path: &Path, options: &ScanOptions) -> Result<FpmReport, DiagnoseError> {
    scan_fpm_log(open_log(path)?, path, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    const REFUSED_1: &str = "2026/11/26 02:55:54 [error] 28413#28413: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: \"GET /a?x=1 HTTP/1.1\", upstream: \"http://127.0.0.1:3999/a?x=1\", host: \"127.0.0.1:18081\"";
    const REFUSED_2: &str = "2026/11/26 02:57:00 [error] 28413#28413: *9 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.2, server: , request: \"GET /a?x=2 HTTP/1.1\", upstream: \"http://127.0.0.1:3999/a?x=2\", host: \"127.0.0.1:18081\"";
    const TIMEOUT: &str = "2026/11/26 02:55:57 [error] 28589#28589: *1 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: , request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:19084/\", host: \"127.0.0.1:18084\"";

    fn scan_str(s: &str, options: &ScanOptions) -> ScanReport {
        match scan_error_log(Cursor::new(s.as_bytes()), Path::new("test"), options) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn groups_by_cause_upstream_and_path_without_query() {
        let log = format!("{REFUSED_1}\n{TIMEOUT}\n{REFUSED_2}\ngarbage\n2026/11/26 02:58:00 [error] 1#1: *3 open() \"/x\" failed (2: No such file or directory), client: 1.1.1.1, server: a\n");
        let r = scan_str(&log, &ScanOptions::default());
        assert_eq!((r.lines, r.unparsed, r.ignored, r.failures()), (5, 1, 1, 3));
        assert_eq!(r.incidents.len(), 2);
        let refused = &r.incidents[0];
        assert_eq!(refused.cause(), Cause::ConnectionRefused);
        assert_eq!(refused.count, 2);
        assert_eq!(
            refused.key.upstream.as_deref(),
            Some("http://127.0.0.1:3999")
        );
        assert_eq!(refused.key.path.as_deref(), Some("/a"));
        assert_eq!(refused.key.method.as_deref(), Some("GET"));
        assert_eq!(
            refused.first.map(|t| t.to_string()).as_deref(),
            Some("2026/11/26 02:55:54")
        );
        assert_eq!(
            refused.last.map(|t| t.to_string()).as_deref(),
            Some("2026/11/26 02:57:00")
        );
        assert_eq!(refused.sample_line, REFUSED_1);
        assert_eq!(
            refused.sample_request.as_deref(),
            Some("GET /a?x=1 HTTP/1.1")
        );
        assert_eq!(r.incidents[1].cause(), Cause::ReadTimeout);
    }

    #[test]
    fn groups_share_the_texts_their_keys_repeat() {
        // Two paths of one server and peer: two groups, one copy of each repeated text.
        let other_path = REFUSED_2.replace("/a?x=2", "/b?x=2").replace("*9 ", "*10 ");
        let log = format!("{REFUSED_1}\n{other_path}\n");
        let r = scan_str(&log, &ScanOptions::default());
        assert_eq!(r.incidents.len(), 2);
        let (a, b) = (&r.incidents[0].key, &r.incidents[1].key);
        assert_ne!(a.path, b.path);
        let same = |x: &Option<Arc<str>>, y: &Option<Arc<str>>| match (x, y) {
            (Some(x), Some(y)) => Arc::ptr_eq(x, y),
            _ => false,
        };
        assert!(same(&a.upstream, &b.upstream));
        assert!(same(&a.method, &b.method));
        assert!(same(&a.host, &b.host));
    }

    #[test]
    fn line_facts_give_the_key_the_entry_gives() {
        let lines = [
            "2026/11/26 02:00:01 [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.1.0, server: a, request: \"GET /x?y=1 HTTP/1.1\", upstream: \"http://127.0.0.1:3000/x?y=1\", host: \"a:80\"",
            "2026/11/26 02:00:02 [error] 1#1: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.2.0, server: , request: \"GET http://h HTTP/1.1\", upstream: \"fastcgi://unix:/run/php.sock:\", host: \"b\"",
            "2026/11/26 02:00:03 [error] 1#1: *3 no resolver defined to resolve api.internal, client: 10.0.3.0, server: c, request: \"GET / HTTP/1.1\"",
            "2026/11/26 02:00:04 [error] 1#1: *4 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.4.0",
            "2026/11/26 02:00:05 [error] 1#1: *5 upstream prematurely closed connection while reading response header from upstream, client: 1.2.3.4, server: d, request: \"GARBAGE",
        ];
        for line in lines {
            let Some(e) = parse_line(line) else {
                panic!("not parsed: {line}");
            };
            let facts = LineFacts::of(line, &e);
            let Some(parsed) = facts.parsed else {
                panic!("not classified: {line}");
            };
            let (key, request_line) = parsed.key(line, 1);
            assert_eq!(key, KeyRef::new(parsed.cause, &e, 1), "{line}");
            assert_eq!(request_line, e.request_line);
        }
    }

    #[test]
    fn a_group_found_at_line_time_is_dropped_when_the_request_goes_on() {
        // Line 2 repeats line 1's peer: a new request, which closes the first (group A, one
        // try). Line 3 does the same: closes the second into A, and the third request finds A
        // as its line is read. Line 4 is a further try of it on another peer: its outcome is
        // now two tries, a group of its own, and A must not count it.
        let line = |peer: &str| {
            format!("2026/11/26 02:55:54 [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: s, request: \"GET /a HTTP/1.1\", upstream: \"http://{peer}/a\", host: \"h\"\n")
        };
        let log = [
            line("10.0.0.1:80"),
            line("10.0.0.1:80"),
            line("10.0.0.1:80"),
            line("10.0.0.2:80"),
        ]
        .concat();
        for max_groups in [DEFAULT_MAX_GROUPS, 1] {
            let options = ScanOptions {
                max_groups,
                ..ScanOptions::default()
            };
            let r = scan_str(&log, &options);
            let mut got: Vec<(u32, u64, u64, Option<&str>)> = r
                .incidents
                .iter()
                .map(|i| (i.key.tries, i.count, i.lines, i.key.upstream.as_deref()))
                .collect();
            got.sort();
            assert_eq!(
                got,
                [
                    (1, 2, 2, Some("http://10.0.0.1:80")),
                    (2, 1, 2, Some("http://10.0.0.2:80"))
                ],
                "max_groups {max_groups}"
            );
        }
    }

    #[test]
    fn a_closed_request_keeps_its_key() {
        // A retried request is closed after the scan read its line: its group key must be the
        // one its line gives, also for the path `/` of an absolute URI without a path, which
        // the line does not spell.
        for request in [
            "GET http://shop.test HTTP/1.1",
            "GET /a/b?x=1 HTTP/1.1",
            "GET",
            "BREW /pot",
        ] {
            let l = format!("2026/11/26 02:55:54 [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: s, request: \"{request}\", upstream: \"http://10.0.0.1:80/\", host: \"h\"");
            let r = scan_str(&l, &ScanOptions::default());
            let e = parse_line(&l).unwrap_or_else(|| panic!("{l}"));
            let want =
                KeyRef::new(Cause::ConnectionRefused, &e, 1).into_owned(&mut Texts::default());
            assert_eq!(r.incidents.len(), 1, "{request}");
            assert_eq!(r.incidents[0].key, want, "{request}");
            assert_eq!(r.incidents[0].sample_request.as_deref(), e.request_line);
        }
    }

    #[test]
    fn unclassified_upstream_lines_are_counted_by_kind() {
        // Upstream lines at [error] or above that no cause covers are listed with their count;
        // a [warn] one and a client-side [error] are not.
        let line = |level: &str, conn: u32, msg: &str, up: &str| {
            format!("2026/11/26 02:55:5{conn} [{level}] 1#1: *{conn} {msg}, client: 1.2.3.4, server: a, request: \"GET / HTTP/1.1\", upstream: \"{up}\", host: \"a\"")
        };
        let log = [
            line("error", 1, "upstream sent no valid HTTP/1.0 header while reading response header from upstream", "http://10.0.0.1:80/"),
            line("error", 2, "upstream sent no valid HTTP/1.0 header while reading response header from upstream", "http://10.0.0.2:80/"),
            line("warn", 3, "an upstream response is buffered to a temporary file /tmp/1 while reading upstream", "http://10.0.0.1:80/"),
            "2026/11/26 02:55:54 [error] 1#1: *4 open() \"/var/www/x\" failed (2: No such file or directory), client: 1.2.3.4, server: a, request: \"GET /x HTTP/1.1\", host: \"a\"".to_owned(),
        ]
        .join("\n");
        let r = scan_str(&log, &ScanOptions::default());
        assert!(r.incidents.is_empty(), "{:?}", r.incidents);
        assert_eq!(r.kinds.len(), 1, "{:?}", r.kinds);
        assert_eq!(
            r.kinds[0].kind,
            "upstream sent no valid HTTP/1.0 header while reading response header from upstream"
        );
        assert_eq!(r.kinds[0].count, 2);
        assert_eq!(r.ignored, 4);
    }

    #[test]
    fn since_filter() {
        let log = format!("{REFUSED_1}\n{TIMEOUT}\n{REFUSED_2}\n");
        let since = "2026-11-26 02:55:57".parse().ok();
        let r = scan_str(
            &log,
            &ScanOptions {
                since,
                ..ScanOptions::default()
            },
        );
        assert_eq!(r.before_since, 1);
        assert_eq!(r.failures(), 2);
        assert_eq!(
            r.incidents.iter().map(|i| i.count).collect::<Vec<_>>(),
            vec![1, 1]
        );
    }

    #[test]
    fn multi_line_php_message_is_joined() {
        let log = "2026/11/26 02:56:01 [error] 1#1: *5 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Uncaught Exception: boom in /w/a.php:3\n\
Stack trace:\n\
#0 {main}\n\
  thrown in /w/a.php on line 3\" while reading response header from upstream, client: 1.2.3.4, server: s, request: \"GET /a.php HTTP/1.1\", upstream: \"fastcgi://unix:/run/php.sock:\", host: \"h\"\n\
2026/11/26 02:56:02 [error] 1#1: *6 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  x\nnever finished\n";
        let r = scan_str(log, &ScanOptions::default());
        assert_eq!((r.lines, r.continuation, r.unparsed), (6, 4, 0));
        assert_eq!(r.incidents.len(), 2);
        let first = &r.incidents[0];
        assert_eq!(first.cause(), Cause::PhpFatal);
        assert_eq!(first.key.path.as_deref(), Some("/a.php"));
        assert!(first.sample_line.contains("Stack trace:\n#0 {main}"));
        // The unfinished one is still reported, without context.
        assert_eq!(r.incidents[1].key.upstream, None);
    }

    #[test]
    fn endless_continuation_is_bounded() {
        let mut log = String::from("2026/11/26 02:56:02 [error] 1#1: *6 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  x\n");
        log.push_str(&"\n".repeat(1000));
        log.push_str(TIMEOUT);
        let r = scan_str(&log, &ScanOptions::default());
        assert_eq!(r.lines, 1002);
        assert_eq!(r.continuation, u64::from(MAX_CONTINUATION_LINES));
        assert_eq!(r.unparsed, 1000 - u64::from(MAX_CONTINUATION_LINES));
        assert_eq!(r.failures(), 2);
        assert!(r
            .incidents
            .iter()
            .all(|i| i.sample_line.len() <= MAX_SAMPLE));
    }

    #[test]
    fn group_count_is_bounded() {
        let mut log = String::new();
        for i in 0..50 {
            log.push_str(&REFUSED_1.replace("/a?x=1 ", &format!("/p{i} ")));
            log.push('\n');
        }
        let r = scan_str(
            &log,
            &ScanOptions {
                max_groups: 10,
                ..ScanOptions::default()
            },
        );
        assert_eq!(r.incidents.len(), 11);
        assert_eq!(r.coarsened, 40);
        assert_eq!(r.failures(), 50);
        assert!(r
            .incidents
            .iter()
            .any(|i| i.key.path.is_none() && i.count == 40));
    }

    #[test]
    fn member_table_is_bounded() {
        let mut s = IncidentScanner::new(ScanOptions::default());
        for i in 0..MAX_MEMBERS + 500 {
            let line = REFUSED_1.replace("*1 ", &format!("*{} ", i + 1)).replace(
                "127.0.0.1:3999",
                &format!("10.{}.{}.1:80", i / 256, i % 256),
            );
            s.push_line(&line);
        }
        // Every line counted as a failure; the members past the bound leave no entry behind.
        assert_eq!(s.members.values().map(Vec::len).sum::<usize>(), MAX_MEMBERS);
        assert_eq!(s.members.len(), MAX_MEMBERS);
        let r = s.finish();
        assert_eq!(r.members.len(), MAX_MEMBERS);
        assert_eq!(r.failures(), (MAX_MEMBERS + 500) as u64);
    }

    #[test]
    fn server_is_kept_until_the_hard_bound() {
        // max_groups 2: paths fill level one, peers level two, servers level three (up to 8
        // groups), then only the cause is left.
        let line = |conn: usize, server: &str, path: &str, port: usize| {
            format!("2026/11/26 02:55:54 [error] 1#1: *{conn} connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: {server}, request: \"GET {path} HTTP/1.1\", upstream: \"http://127.0.0.1:{port}{path}\", host: \"h\"\n")
        };
        let mut log = String::new();
        let mut conn = 0;
        let mut push = |server: &str, path: &str, port: usize| {
            conn += 1;
            log.push_str(&line(conn, server, path, port));
        };
        push("s0", "/a", 1);
        push("s0", "/b", 1);
        push("s0", "/c", 2);
        push("s0", "/d", 3);
        for i in 1..=4 {
            push(&format!("s{i}"), "/e", 4);
        }
        push("s9", "/f", 5);
        push("s8", "/g", 5);
        let r = scan_str(
            &log,
            &ScanOptions {
                max_groups: 2,
                ..ScanOptions::default()
            },
        );
        let mut details: Vec<(Option<&str>, KeyDetail, u64)> = r
            .incidents
            .iter()
            .map(|i| (i.key.server.as_deref(), i.key.detail, i.count))
            .collect();
        details.sort_by_key(|d| (d.1, d.0));
        assert_eq!(
            details,
            vec![
                (Some("s0"), KeyDetail::Full, 1),
                (Some("s0"), KeyDetail::Full, 1),
                (Some("s0"), KeyDetail::Peer, 1),
                (Some("s0"), KeyDetail::Peer, 1),
                (Some("s1"), KeyDetail::Server, 1),
                (Some("s2"), KeyDetail::Server, 1),
                (Some("s3"), KeyDetail::Server, 1),
                (Some("s4"), KeyDetail::Server, 1),
                (None, KeyDetail::CauseOnly, 2),
            ]
        );
        assert_eq!(r.coarsened, 8);
    }

    #[test]
    fn long_lines_are_cut_not_buffered() {
        let mut log = "x".repeat(MAX_LINE * 3);
        log.push('\n');
        log.push_str(TIMEOUT);
        let r = scan_str(&log, &ScanOptions::default());
        assert_eq!(
            (r.lines, r.cut_lines, r.unparsed, r.failures()),
            (2, 1, 1, 1)
        );
    }

    #[test]
    fn invalid_utf8_and_crlf() {
        let mut bytes = b"\xff\xfe garbage\r\n".to_vec();
        bytes.extend_from_slice(TIMEOUT.replace("GET / ", "GET /\u{e9}\u{0} ").as_bytes());
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(b"2026/11/26 02:55:57 [error] 1#1: *1 \xc3(\xff no live upstreams while connecting to upstream, client: 1.1.1.1, server: a\n");
        let r = scan_error_log(Cursor::new(bytes), Path::new("t"), &ScanOptions::default());
        let r = r.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.lines, r.unparsed, r.failures()), (3, 1, 1));
    }

    #[test]
    fn gzip_is_detected_by_content() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let gz = dir.path().join("error.log.2.gz");
        let plain = dir.path().join("error.log.1");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let body = format!("{REFUSED_1}\n{TIMEOUT}\n");
        let written = enc.write_all(body.as_bytes()).and_then(|()| enc.finish());
        let compressed = written.unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&gz, &compressed).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&plain, &body).unwrap_or_else(|e| panic!("{e}"));
        for p in [&gz, &plain] {
            let r =
                scan_error_log_path(p, &ScanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                (r.lines, r.failures(), r.incidents.len()),
                (2, 2, 2),
                "{}",
                p.display()
            );
        }
        // A cut gzip file (rotation in progress) is a read error naming the file.
        let cut = dir.path().join("cut.gz");
        std::fs::write(&cut, &compressed[..compressed.len() / 2]).unwrap_or_else(|e| panic!("{e}"));
        let err = scan_error_log_path(&cut, &ScanOptions::default());
        assert!(matches!(err, Err(DiagnoseError::Read { .. })), "{err:?}");
        let missing = scan_error_log_path(&dir.path().join("nope"), &ScanOptions::default());
        assert!(matches!(missing, Err(DiagnoseError::Open { .. })));
    }

    #[test]
    fn scanner_takes_several_files() {
        let mut s = IncidentScanner::new(ScanOptions::default());
        for part in [REFUSED_1, REFUSED_2] {
            s.read(Cursor::new(part), Path::new("x"))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let r = s.finish();
        assert_eq!((r.incidents.len(), r.failures()), (1, 2));
    }

    #[test]
    fn fpm_log_groups() {
        let log = "[26-Nov-2026 02:56:07] NOTICE: fpm is running, pid 28810\n\
\n\
[26-Nov-2026 02:56:09] WARNING: [pool lab] child 28814, script '/w/slow.php' (request: \"GET /slow.php?a=1\") execution timed out (2.554018 sec), terminating\n\
[26-Nov-2026 02:56:19] WARNING: [pool lab] child 28815, script '/w/slow.php' (request: \"GET /slow.php?a=2\") execution timed out (2.51 sec), terminating\n\
[26-Nov-2026 02:56:09] WARNING: [pool lab] child 28814 exited on signal 15 (SIGTERM) after 2.669222 seconds from start\n\
[26-Nov-2026 02:56:11] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it\n\
not fpm\n";
        let r = scan_fpm_log(Cursor::new(log), Path::new("fpm"), &ScanOptions::default());
        let r = r.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.lines, r.unparsed, r.ignored), (7, 1, 1));
        let kinds: Vec<_> = r.incidents.iter().map(|i| (i.kind, i.count)).collect();
        assert_eq!(
            kinds,
            vec![
                ("child-signaled", 1),
                ("execution-timed-out", 2),
                ("max-children-reached", 1)
            ]
        );
        assert_eq!(r.incidents[1].path.as_deref(), Some("/slow.php"));
        assert_eq!(r.incidents[1].detail.as_deref(), Some("/w/slow.php"));
    }
}
