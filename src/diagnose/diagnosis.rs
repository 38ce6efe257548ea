//! Incident groups + configuration + php-fpm log -> findings: for each group the config lines
//! behind it (server, location, handler, the timeout in force), the rule that catches it
//! statically, and a concrete fix.

use std::path::Path;

use crate::address::{parse_host_port, parse_pass};
use crate::config::{Family, NodeId, ResolvedConfig, DEFAULT_TIMEOUT_MS};
use crate::values::{describe_msec, parse_msec};

use super::accesslog::{AccessReport, SocketEvidence};
use super::classify::Cause;
use super::fpmlog::{parse_fpm_line, FpmEvent};
use super::incidents::{FpmIncident, FpmPool, FpmReport, Incident, KeyDetail, ScanReport};
use super::logline::{max_time, min_time, LogTime, Request, Upstream};
use super::mapping::{AddrMatch, ConfigMap, HandlerFit, ServerChoice, Socket};
use std::sync::Arc;

/// A place in the configuration, as shown to people: its fields through [`PlaceText`]. Cloning
/// shares it (a run with tens of thousands of groups names the same config lines again and
/// again; the mapping makes each line's place once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place(Arc<PlaceText>);

/// What a [`Place`] shows.
#[derive(Debug, PartialEq, Eq)]
pub struct PlaceText {
    /// The file as displayed (relative to the config root).
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// The directive head: `proxy_pass http://127.0.0.1:3999`, `location ~ \.php$`.
    pub text: String,
}

impl Place {
    pub fn new(file: String, line: usize, text: String) -> Self {
        Place(Arc::new(PlaceText { file, line, text }))
    }
}

impl std::ops::Deref for Place {
    type Target = PlaceText;
    fn deref(&self) -> &PlaceText {
        &self.0
    }
}

/// A timeout (or buffer size) in force for a handler, and where it was set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub directive: String,
    /// As written, or the default.
    pub value: String,
    /// Milliseconds, for times.
    pub millis: Option<u64>,
    /// `None` when nothing sets it: the default applies.
    pub place: Option<Place>,
}

impl Setting {
    /// `fastcgi_read_timeout is 2s (nginx.conf:14)` / `... is the default 60s`.
    pub fn describe(&self) -> String {
        match &self.place {
            Some(p) => format!(
                "{} is {} ({}:{})",
                self.directive, self.value, p.file, p.line
            ),
            None => format!("{} is the default {}", self.directive, self.value),
        }
    }
}

/// php-fpm killed the request (request_terminate_timeout), from `--fpm-log`.
#[derive(Clone, Debug, PartialEq)]
pub struct FpmKill {
    /// `execution-timed-out` (request_terminate_timeout) or `child-signaled` (a signal from
    /// outside php-fpm: SIGKILL from the OOM killer, SIGSEGV from a crash).
    pub event: &'static str,
    /// The signal name for `child-signaled`.
    pub signal: Option<String>,
    pub pool: Option<String>,
    pub script: Option<String>,
    /// How long the request had run when php-fpm killed it.
    pub seconds: Option<f64>,
    pub count: u64,
    pub first: Option<LogTime>,
    pub last: Option<LogTime>,
    pub sample_line: String,
    /// The pool's request_terminate_timeout in seconds and where it is set (`file:line`),
    /// when its configuration was read (`--php`).
    pub request_terminate_timeout: Option<(u64, String)>,
}

/// One incident group, explained.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub incident: Incident,
    /// The server block that handled the request, and how it was chosen.
    pub server_block: Option<(Place, Arc<str>)>,
    pub location: Option<Place>,
    /// The `*_pass` line that sent the request to the upstream.
    pub handler: Option<Place>,
    /// The `server` line of the `upstream` block with the logged address, or the block itself.
    pub upstream_server: Option<Place>,
    /// The timeout that fired (timeouts), the read timeout in front of a killed backend, or the
    /// buffer that was too small (boxed: most findings have none, and a group keeps its first).
    pub setting: Option<Box<Setting>>,
    pub rule: Option<crate::codes::RuleId>,
    /// Shared between the groups whose fix reads the same (about half of a large run's).
    pub fix: Arc<str>,
    /// What the mapping had to guess or could not do.
    pub notes: Vec<Note>,
    pub fpm_kill: Option<Box<FpmKill>>,
    /// What became of the requests: failed, or answered by another server after this try.
    pub outcome: Outcome,
    /// How many tries nginx makes for the handler (servers it may try), when known.
    pub max_tries: Option<u32>,
    /// The `upstream` block the handler names.
    pub upstream_block: Option<Place>,
}

impl Finding {
    pub fn cause(&self) -> Cause {
        self.incident.cause()
    }
}

/// What became of a request whose last logged line is this finding's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// The client got nginx's error status (or PHP's 500, or a cut body).
    Failed,
    /// The failure is one nginx retries (`*_next_upstream`), the handler had servers left to
    /// try, and no further error was logged for the request: another server answered.
    Recovered,
}

impl Outcome {
    pub fn id(self) -> &'static str {
        match self {
            Outcome::Failed => "failed",
            Outcome::Recovered => "recovered",
        }
    }
}

/// Findings with the same outcome, cause, rule and config line, merged: what an on-call person
/// reads. Counts are requests.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The finding with the most requests: its mapping, fix and notes speak for the group.
    /// Shared with [`Diagnosis::findings`], not copied: a run may have tens of thousands.
    pub finding: Arc<Finding>,
    pub requests: u64,
    pub lines: u64,
    pub first: Option<LogTime>,
    pub last: Option<LogTime>,
    /// Most frequent first, at most [`TOP`] each; `(value, requests)`.
    pub paths: Vec<(String, u64)>,
    pub hosts: Vec<(String, u64)>,
    /// Upstream peers of the requests' last tries.
    pub members: Vec<(String, u64)>,
    /// Distinct paths, hosts and members (the lists above are cut at [`TOP`]).
    pub distinct: (usize, usize, usize),
    /// Notes of the merged findings that [`Group::finding`] does not have, deduplicated, and
    /// notes about the group as a whole (the access log's drift): [`Group::notes`] lists
    /// both. The first finding's own are not copied here: most groups' notes are its notes.
    pub more_notes: Vec<Note>,
}

/// A finding's note: most are the same few sentences, shared instead of copied per finding.
pub type Note = std::borrow::Cow<'static, str>;

impl Group {
    pub fn cause(&self) -> Cause {
        self.finding.cause()
    }

    /// The group's notes: its first finding's, then those of the other merged findings and of
    /// the group as a whole.
    pub fn notes(&self) -> impl Iterator<Item = &str> {
        self.finding
            .notes
            .iter()
            .chain(&self.more_notes)
            .map(|n| n.as_ref())
    }
}

/// Entries kept in each of [`Group`]'s top lists.
pub const TOP: usize = 5;

/// One `upstream` block whose servers failed tries.
#[derive(Clone, Debug, PartialEq)]
pub struct UpstreamSummary {
    pub block: Place,
    /// `server` lines in the block.
    pub servers: usize,
    /// Those with at least one failed try, in config order.
    pub failing: Vec<Place>,
    pub first: Option<LogTime>,
    pub last: Option<LogTime>,
    /// Failed tries by cause, most first.
    pub by_cause: Vec<(Cause, u64)>,
}

/// The answer of `diagnose`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnosis {
    /// Each group's first finding (the scan group with the most requests; its mapping, fix and
    /// notes speak for the group), most requests first. The other scan groups are folded into
    /// their groups' counts and lists, not kept.
    pub findings: Vec<Arc<Finding>>,
    /// Failed requests by cause and config line, most requests first.
    pub groups: Vec<Group>,
    /// Requests whose failed try nginx retried on another server that answered.
    pub recovered: Vec<Group>,
    /// `upstream` blocks with failing servers.
    pub upstreams: Vec<UpstreamSummary>,
    /// Counters of the scan (its `incidents` are moved into `findings`).
    pub scan: ScanReport,
    pub fpm: Option<FpmReport>,
    /// About the whole run: no configuration, regexes that could not be used...
    pub notes: Vec<String>,
    /// The `--since` cut-off that was applied, if any (set by the caller).
    pub since: Option<LogTime>,
    /// `--access-log`: statuses and timings per handler (set by the caller).
    pub access: Option<super::accesslog::AccessReport>,
}

impl Diagnosis {
    /// Requests that failed with a gateway error (or PHP's 500, or a cut response).
    pub fn has_incidents(&self) -> bool {
        !self.groups.is_empty()
    }
}

/// Seconds of slack when matching php-fpm events to nginx lines: php-fpm checks
/// request_terminate_timeout on a heartbeat and both logs have one-second resolution.
const FPM_SLACK_SECS: i64 = 10;

/// Explains every incident of `scan`, with `config` when there is one.
pub fn diagnose(
    scan: ScanReport,
    fpm: Option<FpmReport>,
    config: Option<&ResolvedConfig<'_>>,
) -> Diagnosis {
    let map = config.map(ConfigMap::new);
    diagnose_with(scan, fpm, map.as_ref(), None)
}

/// [`diagnose`] over a [`ConfigMap`] built once (the access log is mapped with the same one),
/// with the `--access-log` report: the sockets of its failed requests pick among server blocks
/// that share a name, its statuses and timings go beside each group, and 504s that ended well
/// before the timeout in force get a drift note ([`super::accesslog::timeout_drift`]).
/// `scan` is what [`super::IncidentScanner::finish`] gives: one incident per key (the order of
/// the groups relies on it).
pub fn diagnose_with(
    mut scan: ScanReport,
    fpm: Option<FpmReport>,
    map: Option<&ConfigMap<'_, '_>>,
    access: Option<AccessReport>,
) -> Diagnosis {
    let mut notes = Vec::new();
    if map.is_none() {
        notes.push(
            "no nginx configuration read (--config-root): incidents are not mapped to config lines"
                .to_owned(),
        );
    }
    let mut incidents = std::mem::take(&mut scan.incidents);
    // Most requests first, taken from the end: the scan's incidents are freed as their
    // findings are made instead of both living until the last one is explained.
    // Keys are distinct: the unstable sort gives the one order, without a scratch copy.
    incidents.sort_unstable_by(|a, b| {
        a.count
            .cmp(&b.count)
            .then(b.first.cmp(&a.first))
            .then(b.key.cmp(&a.key))
    });
    let mut explainer = Explainer::new(
        map,
        fpm.as_ref(),
        access.as_ref().filter(|a| a.has_socket).map(|a| &a.sockets),
    );
    let mut grouper = Grouper::default();
    let mut unknown = UnknownNames::default();
    while let Some(incident) = incidents.pop() {
        if incidents.len() < incidents.capacity() / 4 {
            // Each shrink moves less than a quarter of the previous capacity: linear in all.
            incidents.shrink_to(incidents.len() * 2);
        }
        let (finding, ctx) = explainer.explain(incident);
        if let Some(map) = map {
            unknown.add(map, &finding);
        }
        grouper.add(finding, |f| fix_text(f, &ctx));
    }
    let skipped_regexes = std::mem::take(&mut explainer.skipped_regexes);
    // The mapping memo is freed before the groups are built, which can reuse its memory.
    drop(explainer);
    if let (Some(map), false) = (map, skipped_regexes.is_empty()) {
        for id in skipped_regexes {
            let p = place(map.cfg, id);
            notes.push(format!(
                "{} ({}:{}) is a regex PCRE2 cannot compile (nginx -t refuses it, see GW021): treated as not matching",
                p.text, p.file, p.line
            ));
        }
    }
    notes.extend(unknown.note());
    let (findings, groups, recovered) = grouper.finish();
    let upstreams = map
        .map(|m| upstream_summaries(m, &scan.members))
        .unwrap_or_default();
    let mut d = Diagnosis {
        findings,
        groups,
        recovered,
        upstreams,
        scan,
        fpm,
        notes,
        since: None,
        access,
    };
    if d.access.is_some() {
        super::accesslog::timeout_drift(&mut d);
    }
    d
}

/// Explains one scan group at a time: its config lines, php-fpm's part and its rule; the fix
/// text is left to the caller (only a group's first finding needs one).
struct Explainer<'m, 'c, 't> {
    map: Option<&'m ConfigMap<'c, 't>>,
    fpm: Option<&'m FpmReport>,
    /// The access log's sockets of failed requests (`--access-log` with `$server_port`).
    sockets: Option<&'m SocketEvidence>,
    memo: MapMemo,
    /// `location ~` regexes PCRE2 cannot compile, met while mapping.
    skipped_regexes: Vec<NodeId>,
}

impl<'m, 'c, 't> Explainer<'m, 'c, 't> {
    fn new(
        map: Option<&'m ConfigMap<'c, 't>>,
        fpm: Option<&'m FpmReport>,
        sockets: Option<&'m SocketEvidence>,
    ) -> Self {
        Self {
            map,
            fpm,
            sockets,
            memo: MapMemo::default(),
            skipped_regexes: Vec::new(),
        }
    }

    fn explain(&mut self, incident: Incident) -> (Finding, FixContext) {
        let mut finding = Finding {
            incident,
            server_block: None,
            location: None,
            handler: None,
            upstream_server: None,
            setting: None,
            rule: None,
            fix: Arc::from(""),
            notes: Vec::new(),
            fpm_kill: None,
            outcome: Outcome::Failed,
            max_tries: None,
            upstream_block: None,
        };
        let mut ctx = FixContext {
            fpm_given: self.fpm.is_some(),
            ..FixContext::default()
        };
        if let Some(map) = self.map {
            map_incident(
                map,
                &mut self.memo,
                &mut finding,
                &mut ctx,
                &mut self.skipped_regexes,
                self.sockets,
            );
        }
        if let Some(fpm) = self.fpm {
            let mut paths: Vec<String> = finding
                .incident
                .key
                .path
                .iter()
                .map(|p| p.to_string())
                .collect();
            paths.extend(ctx.script_paths.iter().cloned());
            correlate_fpm(&mut finding, fpm, &paths, &ctx.scripts);
        }
        let ipv6_localhost =
            ctx.via_localhost && peer(&finding).is_some_and(|p| p.starts_with("[::1]"));
        finding.rule = match (&finding.fpm_kill, finding.cause()) {
            (Some(k), _) if k.event == "execution-timed-out" => Some(crate::codes::RuleId::GW105),
            (Some(_), _) => None,
            (None, Cause::ConnectionRefused) if ipv6_localhost => Some(crate::codes::RuleId::GW201),
            (None, c) => c.rule(),
        };
        (finding, ctx)
    }
}

/// The longest time between two tries of one request under `cfg`: the largest connect timeout
/// plus the largest send/read timeout any handler may have (60 s defaults), with 10 s to spare
/// for one-second log times and php-fpm's heartbeat.
pub fn retry_window_secs(cfg: &ResolvedConfig<'_>) -> i64 {
    let mut connect = DEFAULT_TIMEOUT_MS;
    let mut io = DEFAULT_TIMEOUT_MS;
    for (_, node) in cfg.iter() {
        let name = node.name();
        let Some(family) = Family::ALL.into_iter().find(|f| {
            name.strip_prefix(f.prefix())
                .is_some_and(|r| r.starts_with('_'))
        }) else {
            continue;
        };
        let suffix = &name[family.prefix().len()..];
        let Some(ms) = node.arg(0).and_then(parse_msec) else {
            continue;
        };
        match suffix {
            "_connect_timeout" => connect = connect.max(ms),
            "_read_timeout" | "_send_timeout" => io = io.max(ms),
            _ => {}
        }
    }
    i64::try_from((connect + io) / 1000).unwrap_or(i64::MAX / 2) + 10
}

/// Drift: `server:` names the log has and no server block of the configuration prints (the
/// block's first server_name): the config read is not the one that wrote the log, or changed
/// since, and requests were mapped to a default server instead. Gathered finding by finding: a
/// log of another configuration names thousands of server blocks, so five are kept with their
/// requests and the rest only counted.
#[derive(Default)]
struct UnknownNames {
    /// Name -> its place in `shown`, or `usize::MAX` past the first five.
    seen: std::collections::HashMap<String, usize, super::incidents::FastHash>,
    shown: Vec<(String, u64)>,
}

impl UnknownNames {
    const SHOWN: usize = 5;

    fn add(&mut self, map: &ConfigMap<'_, '_>, f: &Finding) {
        let Some(name) = f.incident.key.server.as_deref() else {
            return;
        };
        // The stream module logs its listen address as `server:`; those blocks are not mapped.
        let stream = f
            .incident
            .key
            .upstream
            .as_deref()
            .is_some_and(|u| Upstream::parse(u).scheme.is_none());
        if name.is_empty() || stream || map.knows_server_field(name) {
            return;
        }
        let i = match self.seen.get(name) {
            Some(&i) => i,
            None => {
                let i = if self.shown.len() < Self::SHOWN {
                    self.shown.push((name.to_owned(), 0));
                    self.shown.len() - 1
                } else {
                    usize::MAX
                };
                self.seen.insert(name.to_owned(), i);
                i
            }
        };
        if let Some((_, c)) = self.shown.get_mut(i) {
            *c += f.incident.count;
        }
    }

    /// The drift note, when the log named such servers.
    fn note(self) -> Option<String> {
        let total = self.seen.len();
        if total == 0 {
            return None;
        }
        let list = self
            .shown
            .iter()
            .map(|(n, c)| format!("\"{n}\" ({c} request{})", if *c == 1 { "" } else { "s" }))
            .collect::<Vec<_>>()
            .join(", ");
        Some(format!(
            "the log names server block{} {list}{} that no server block of this configuration has as its first server_name: is this the configuration that wrote the log (--config-root), or was it changed since? Those requests were mapped by Host and port only",
            if total == 1 { "" } else { "s" },
            if total > Self::SHOWN {
                format!(" and {} more", total - Self::SHOWN)
            } else {
                String::new()
            }
        ))
    }
}

/// Drift: configuration files modified after the newest of `logs` was last written: the values
/// quoted may not be the ones in force during the incident.
pub fn config_newer_than_logs(
    cfg: &ResolvedConfig<'_>,
    logs: &[&std::path::PathBuf],
) -> Vec<String> {
    let newest_log = logs
        .iter()
        .filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .max();
    let Some(newest_log) = newest_log else {
        return Vec::new();
    };
    let mut changed: Vec<String> = cfg
        .tree
        .sources
        .iter()
        .filter(|(_, f)| {
            std::fs::metadata(&f.path)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t > newest_log)
        })
        .map(|(_, f)| f.display.clone())
        .collect();
    if changed.is_empty() {
        return Vec::new();
    }
    changed.sort();
    changed.dedup();
    let n = changed.len();
    changed.truncate(5);
    vec![format!(
        "{}{} modified after the log was last written: the values quoted are today's, which may not be the ones in force during the incident",
        changed.join(", "),
        if n > 5 { format!(" and {} more", n - 5) } else { String::new() }
    )]
}

/// What groups findings: outcome, cause, rule, php-fpm's kill (its event) and config line (the
/// handler, else the location, else the server block; the upstream or unresolved host when
/// nothing was mapped).
type Anchor = (
    Outcome,
    Cause,
    Option<crate::codes::RuleId>,
    Option<&'static str>,
    AnchorLine,
);

/// The config line a group is anchored to, else the logged peer or host name.
#[derive(PartialEq, Eq, Hash)]
enum AnchorLine {
    Config(LineOf),
    Logged(Arc<str>),
    Nothing,
}

/// A place compared by its file and line only: two directives on one line anchor one group.
/// The place is shared, not copied, per finding.
struct LineOf(Place);

impl PartialEq for LineOf {
    fn eq(&self, other: &Self) -> bool {
        self.0.line == other.0.line && self.0.file == other.0.file
    }
}

impl Eq for LineOf {}

impl std::hash::Hash for LineOf {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.file.hash(h);
        self.0.line.hash(h);
    }
}

fn anchor(f: &Finding) -> Anchor {
    let line = match f
        .handler
        .as_ref()
        .or(f.location.as_ref())
        .or(f.server_block.as_ref().map(|(p, _)| p))
    {
        Some(p) => AnchorLine::Config(LineOf(p.clone())),
        None => f
            .incident
            .key
            .upstream
            .clone()
            .or_else(|| f.incident.key.unresolved_host.clone())
            .map_or(AnchorLine::Nothing, AnchorLine::Logged),
    };
    let fpm = f.fpm_kill.as_ref().map(|k| k.event);
    (f.outcome, f.cause(), f.rule, fpm, line)
}

/// Folds findings, most requests first, into groups as they are made: a group's first finding
/// speaks for it and is kept; the others add their counts, paths, hosts, members and notes and
/// are dropped, so memory follows the groups, not the scan's (up to 40,000) incidents.
#[derive(Default)]
struct Grouper {
    /// Each group's first finding, in the order the groups appeared.
    reps: Vec<Arc<Finding>>,
    /// Per group (index as in `reps`): its counts, grown by chunks.
    accs: super::chunked::Chunked<GroupAcc>,
    index: std::collections::HashMap<Anchor, usize, super::incidents::FastHash>,
    /// The fix texts given so far.
    fixes: super::texts::Texts,
}

#[derive(Default)]
struct GroupAcc {
    requests: u64,
    lines: u64,
    first: Option<LogTime>,
    last: Option<LogTime>,
    paths: TopCounter,
    hosts: TopCounter,
    members: TopCounter,
    more_notes: Vec<Note>,
}

/// Requests per distinct value, cut to the [`TOP`] most frequent at the end. Most groups see
/// one or a few values: those are a short list (a hash table per list was a tenth of a large
/// run's memory), a table past [`TopCounter::FEW`].
enum TopCounter {
    Few(Vec<(String, u64)>),
    Many(std::collections::HashMap<String, u64, super::incidents::FastHash>),
}

impl Default for TopCounter {
    fn default() -> Self {
        TopCounter::Few(Vec::new())
    }
}

impl TopCounter {
    const FEW: usize = 8;

    fn add(&mut self, value: &str, n: u64) {
        match self {
            TopCounter::Few(v) => {
                if let Some((_, c)) = v.iter_mut().find(|(s, _)| s == value) {
                    *c += n;
                } else if v.len() < Self::FEW {
                    if v.is_empty() {
                        // Most groups see one value: room for one, not the default four.
                        v.reserve_exact(1);
                    }
                    v.push((value.to_owned(), n));
                } else {
                    let mut m: std::collections::HashMap<_, _, _> = v.drain(..).collect();
                    m.insert(value.to_owned(), n);
                    *self = TopCounter::Many(m);
                }
            }
            TopCounter::Many(m) => match m.get_mut(value) {
                Some(c) => *c += n,
                None => {
                    m.insert(value.to_owned(), n);
                }
            },
        }
    }

    /// The [`TOP`] most frequent (ties by value), and how many distinct values there were.
    fn top(self) -> (Vec<(String, u64)>, usize) {
        let mut v: Vec<(String, u64)> = match self {
            TopCounter::Few(v) => v,
            TopCounter::Many(m) => m.into_iter().collect(),
        };
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let n = v.len();
        v.truncate(TOP);
        v.shrink_to_fit();
        (v, n)
    }
}

impl GroupAcc {
    /// Notes shown per group at most.
    const NOTES: usize = 12;

    /// Adds `f`'s counts, path, host and member.
    fn fold(&mut self, f: &Finding) {
        let inc = &f.incident;
        self.requests += inc.count;
        self.lines += inc.lines;
        self.first = min_time(self.first, inc.first);
        self.last = max_time(self.last, inc.last);
        if let Some(p) = &inc.key.path {
            self.paths.add(p, inc.count);
        }
        if let Some(h) = &inc.key.host {
            self.hosts.add(h, inc.count);
        }
        if let Some(u) = inc.key.upstream.as_deref() {
            self.members.add(Upstream::parse(u).peer, inc.count);
        }
    }

    /// `f`'s notes that the group's first finding `rep` and the list do not have yet, while
    /// the group has fewer than [`GroupAcc::NOTES`].
    fn fold_notes(&mut self, rep: &Finding, f: &Finding) {
        for n in &f.notes {
            if rep.notes.len() + self.more_notes.len() >= Self::NOTES {
                break;
            }
            if !rep.notes.contains(n) && !self.more_notes.contains(n) {
                self.more_notes.push(n.clone());
            }
        }
    }
}

impl Grouper {
    /// Adds `f` to its group; `fix` gives a group's first finding its fix text (the other
    /// findings' fixes would never be shown).
    fn add(&mut self, mut f: Finding, fix: impl FnOnce(&Finding) -> String) {
        use std::collections::hash_map::Entry;
        let slot = match self.index.entry(anchor(&f)) {
            Entry::Occupied(e) => {
                let i = *e.get();
                if let (Some(acc), Some(rep)) = (self.accs.get_mut(i), self.reps.get(i)) {
                    acc.fold(&f);
                    acc.fold_notes(rep, &f);
                }
                return;
            }
            Entry::Vacant(v) => v,
        };
        slot.insert(self.accs.len());
        f.fix = self.fixes.get(&fix(&f));
        let mut acc = GroupAcc::default();
        acc.fold(&f);
        // The first finding's notes stay its own (deduplicated and cut as the group shows them).
        let mut seen: Vec<Note> = Vec::with_capacity(f.notes.len().min(GroupAcc::NOTES));
        for n in std::mem::take(&mut f.notes) {
            if seen.len() < GroupAcc::NOTES && !seen.contains(&n) {
                seen.push(n);
            }
        }
        f.notes = seen;
        self.accs.push(acc);
        self.reps.push(Arc::new(f));
    }

    /// The groups' findings (most requests first), and the failed and the recovered groups,
    /// each most requests first.
    fn finish(self) -> (Vec<Arc<Finding>>, Vec<Group>, Vec<Group>) {
        drop(self.index);
        drop(self.fixes);
        // Sized once: tens of thousands of groups, each a few hundred bytes.
        let n_failed = self
            .reps
            .iter()
            .filter(|f| f.outcome == Outcome::Failed)
            .count();
        let mut failed = Vec::with_capacity(n_failed);
        let mut recovered = Vec::with_capacity(self.reps.len() - n_failed);
        for (acc, finding) in self.accs.into_iter().zip(&self.reps) {
            let (paths, np) = acc.paths.top();
            let (hosts, nh) = acc.hosts.top();
            let (members, nm) = acc.members.top();
            let g = Group {
                finding: Arc::clone(finding),
                requests: acc.requests,
                lines: acc.lines,
                first: acc.first,
                last: acc.last,
                paths,
                hosts,
                members,
                distinct: (np, nh, nm),
                more_notes: acc.more_notes,
            };
            match finding.outcome {
                Outcome::Failed => failed.push(g),
                Outcome::Recovered => recovered.push(g),
            }
        }
        let by_size = |a: &Group, b: &Group| {
            b.requests
                .cmp(&a.requests)
                .then(a.first.cmp(&b.first))
                .then(a.cause().cmp(&b.cause()))
        };
        failed.sort_by(by_size);
        recovered.sort_by(by_size);
        (self.reps, failed, recovered)
    }
}

/// Failed tries per `upstream` block: which of its servers failed, how, since when.
fn upstream_summaries(
    map: &ConfigMap<'_, '_>,
    members: &[super::incidents::MemberTries],
) -> Vec<UpstreamSummary> {
    use std::collections::HashMap;
    let cfg = map.cfg;
    struct Acc {
        failing: Vec<NodeId>,
        first: Option<LogTime>,
        last: Option<LogTime>,
        by_cause: HashMap<Cause, u64>,
    }
    let mut blocks: Vec<NodeId> = Vec::new();
    let mut accs: HashMap<NodeId, Acc> = HashMap::new();
    let mut seen: HashMap<&str, Option<(NodeId, Option<NodeId>)>> = HashMap::new();
    for m in members {
        let hit = *seen.entry(m.upstream.as_str()).or_insert_with(|| {
            let up = Upstream::parse(&m.upstream);
            map.handlers_for(&up)
                .into_iter()
                .find_map(|fit| match (fit.fit, fit.upstream_block) {
                    (AddrMatch::Exact, Some(b)) => Some((b, fit.upstream_server)),
                    _ => None,
                })
        });
        let Some((block, server)) = hit else { continue };
        let acc = accs.entry(block).or_insert_with(|| {
            blocks.push(block);
            Acc {
                failing: Vec::new(),
                first: None,
                last: None,
                by_cause: HashMap::new(),
            }
        });
        if let Some(sv) = server {
            if !acc.failing.contains(&sv) {
                acc.failing.push(sv);
            }
        }
        acc.first = min_time(acc.first, m.first);
        acc.last = max_time(acc.last, m.last);
        *acc.by_cause.entry(m.cause).or_default() += m.count;
    }
    let mut out: Vec<UpstreamSummary> = blocks
        .into_iter()
        .filter_map(|b| {
            let mut acc = accs.remove(&b)?;
            acc.failing.sort();
            let mut by_cause: Vec<(Cause, u64)> = acc.by_cause.into_iter().collect();
            by_cause.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            Some(UpstreamSummary {
                block: place(cfg, b),
                servers: cfg.children_named(Some(b), "server").count(),
                failing: acc.failing.into_iter().map(|s| place(cfg, s)).collect(),
                first: acc.first,
                last: acc.last,
                by_cause,
            })
        })
        .collect();
    out.sort_by(|a, b| a.first.cmp(&b.first).then(a.block.line.cmp(&b.block.line)));
    out
}

/// What the fix text needs beyond the finding.
#[derive(Default)]
struct FixContext {
    /// The handler's family.
    family: Option<Family>,
    /// The handler goes through `localhost` and the log shows one of its addresses.
    via_localhost: bool,
    /// The `upstream` block the handler names.
    upstream_block: Option<Place>,
    /// `user` directive (nginx worker user).
    worker_user: Option<(String, Place)>,
    /// `--fpm-log` was given.
    fpm_given: bool,
    /// `max_fails=`/`fail_timeout=` of the upstream block's servers, as the fix quotes them.
    fail_settings: Option<String>,
    /// The `resolver` in force for the handler.
    resolver: Option<Place>,
    /// Buffer directives that raise `*_buffer_size` and keep GW028's relations valid.
    buffer_fix: Option<String>,
    /// The retry decision, for a note.
    retry: Option<String>,
    /// Paths php-fpm may log for the request besides the URI's: `try_files` fallbacks.
    script_paths: Vec<String>,
    /// The scripts the handler's `fastcgi_param SCRIPT_FILENAME` names for the request (see
    /// [`script_filenames`]): php-fpm's `script '...'` is tied by these when its request line
    /// carries no URI.
    scripts: Vec<ScriptName>,
    /// `worker_connections` and `worker_rlimit_nofile` as the config sets them (fd-exhausted).
    fd_limits: Option<String>,
}

/// What the mapping of one group computes that depends only on the configuration and the
/// fields looked up, kept for the next group of a run: tens of thousands of groups share a few
/// thousand `server:`/Host pairs and logged peers (every PHP location of a 4,000-server tree
/// passes to one php-fpm socket: 4,000 handlers fitted per group without this).
#[derive(Default)]
struct MapMemo {
    /// (`server:`, Host, socket) -> nginx's server selection.
    servers:
        std::collections::HashMap<(Option<String>, Option<String>, Socket), Option<ServerChoice>>,
    /// (scheme, peer) of the logged upstream -> the handlers that may go there.
    peers: std::collections::HashMap<(Option<String>, String), PeerHandlers>,
    /// The places findings keep, one per config line.
    places: Places,
}

/// [`place`] once per config line: findings that name the same line share its [`Place`].
#[derive(Default)]
struct Places(foldhash::HashMap<NodeId, Place>);

impl Places {
    fn get(&mut self, cfg: &ResolvedConfig<'_>, id: NodeId) -> Place {
        self.0.entry(id).or_insert_with(|| place(cfg, id)).clone()
    }
}

/// [`ConfigMap::handlers_for`] of one logged peer, split as `choose_handler` reads it.
struct PeerHandlers {
    /// Fit `Exact`, config order.
    exact: Vec<HandlerFit>,
    /// Fit `Possible`, config order.
    possible: Vec<HandlerFit>,
    /// Server block -> index in `exact` of its first handler there.
    exact_in_server: std::collections::HashMap<NodeId, usize>,
}

impl MapMemo {
    fn select_server(
        &mut self,
        map: &ConfigMap<'_, '_>,
        server: Option<&str>,
        host: Option<&str>,
        socket: Socket,
    ) -> Option<ServerChoice> {
        self.servers
            .entry((server.map(str::to_owned), host.map(str::to_owned), socket))
            .or_insert_with(|| map.select_server_on(server, host, socket))
            .clone()
    }

    fn handlers(&mut self, map: &ConfigMap<'_, '_>, up: &Upstream<'_>) -> &PeerHandlers {
        self.peers
            .entry((up.scheme.map(str::to_owned), up.peer.to_owned()))
            .or_insert_with(|| {
                let (exact, possible): (Vec<HandlerFit>, Vec<HandlerFit>) = map
                    .handlers_for(up)
                    .into_iter()
                    .partition(|f| f.fit == AddrMatch::Exact);
                let mut exact_in_server = std::collections::HashMap::new();
                for (i, f) in exact.iter().enumerate() {
                    if let Some(s) = map.cfg.enclosing_server(f.handler) {
                        exact_in_server.entry(s).or_insert(i);
                    }
                }
                PeerHandlers {
                    exact,
                    possible,
                    exact_in_server,
                }
            })
    }
}

/// The server block and location nginx chose for the request: by socket and server name as
/// nginx selects (the socket from the access log's `$server_addr`/`$server_port` for these
/// requests when it has them), then, when blocks share the name on sockets the logs do not rule
/// out, the one whose location passes to the logged upstream; either way the choice is said in a
/// note. The flag says a regex location could not be tried (its pattern did not compile here).
fn select_server_and_location(
    map: &ConfigMap<'_, '_>,
    memo: &mut MapMemo,
    finding: &mut Finding,
    skipped_regexes: &mut Vec<NodeId>,
    path: Option<&str>,
    upstream: Option<&Upstream>,
    sockets: Option<&SocketEvidence>,
) -> (Option<ServerChoice>, Option<NodeId>, bool) {
    let cfg = map.cfg;
    let key = finding.incident.key.clone();
    let path = path.map(str::to_owned);
    // Startup lines (`nginx: [emerg] host not found in upstream ...`) belong to no request.
    let is_request = path.is_some() || key.host.is_some();
    let seen: Vec<(Socket, u64)> = match (sockets, key.host.as_deref()) {
        (Some(ev), Some(h)) if is_request => {
            ev.sockets(h, key.path.as_deref(), finding.cause().http_status())
        }
        _ => Vec::new(),
    };
    let socket = match seen.as_slice() {
        [(s, _)] => *s,
        _ => Socket::default(),
    };
    let mut server = if is_request {
        memo.select_server(map, key.server.as_deref(), key.host.as_deref(), socket)
    } else {
        None
    };
    if seen.len() > 1 {
        let list = seen
            .iter()
            .map(|(s, n)| format!("{s} ({n})"))
            .collect::<Vec<_>>()
            .join(", ");
        finding.notes.push(Note::from(format!(
            "the access log's failed requests like these came in on several sockets: {list}"
        )));
    }
    let mut regex_skipped = false;
    let mut locate = |server_id: NodeId, p: &str| {
        let m = map.find_location(server_id, p);
        regex_skipped |= !m.skipped.is_empty();
        for (id, _) in &m.skipped {
            if !skipped_regexes.contains(id) {
                skipped_regexes.push(*id);
            }
        }
        m.location
    };
    let mut location = match (&server, &path) {
        (Some(s), Some(p)) => locate(s.id, p),
        _ => None,
    };
    // Blocks share the name on sockets the logs do not rule out (a port-80 redirect block and
    // the TLS site; one name on two ports): the one whose location passes to the logged
    // upstream is the one nginx used. A location without a handler cannot have failed upstream.
    if let (Some(s), Some(p)) = (server.clone(), &path) {
        if !s.others.is_empty() {
            let fit = |l: Option<NodeId>| -> Option<AddrMatch> {
                let handlers = map.location_handlers(l?);
                handlers
                    .iter()
                    .map(|(h, _)| {
                        upstream.map_or(AddrMatch::Possible, |up| map.handler_fit(*h, up).fit)
                    })
                    .max()
            };
            let mut scored = vec![(s.id, location, fit(location))];
            for &other in &s.others {
                let l = locate(other, p);
                scored.push((other, l, fit(l)));
            }
            let best = scored.iter().map(|(_, _, f)| *f).max().flatten();
            let top: Vec<(NodeId, Option<NodeId>)> = scored
                .iter()
                .filter(|(_, _, f)| best.is_some() && *f == best)
                .map(|(id, l, _)| (*id, *l))
                .collect();
            let listing = scored
                .iter()
                .map(|(id, _, _)| {
                    let sp = place(cfg, *id);
                    format!("{}:{} ({})", sp.file, sp.line, map.listen_text(*id))
                })
                .collect::<Vec<_>>()
                .join(", ");
            let unknown = if socket.is_known() {
                "the access log's socket does not decide"
            } else {
                "the log does not say the port"
            };
            let how_pass = match (best, upstream) {
                (Some(AddrMatch::Exact), Some(up)) => format!("passes {p} to {}", up.base),
                _ => format!("has a handler for {p}"),
            };
            match top.as_slice() {
                [(id, l)] if *id != s.id => {
                    let op = place(cfg, *id);
                    let sp = place(cfg, s.id);
                    let how = format!(
                        "{unknown}; of the server blocks named like this, {}:{} ({}) does not pass {p} there, this one {how_pass}",
                        sp.file, sp.line, s.how
                    );
                    finding.notes.push(Note::from(format!(
                        "server block {}:{} chosen by the handler/upstream cross-check: {how} (named like this: {listing})",
                        op.file, op.line
                    )));
                    server = Some(ServerChoice {
                        id: *id,
                        how: how.into(),
                        others: s.others.clone(),
                    });
                    location = *l;
                }
                [_] => {
                    let sp = place(cfg, s.id);
                    finding.notes.push(Note::from(format!(
                        "server block {}:{} chosen by the handler/upstream cross-check: {unknown}; of the server blocks named like this ({listing}) only it {how_pass}",
                        sp.file, sp.line
                    )));
                }
                _ => {
                    let sp = place(cfg, s.id);
                    finding.notes.push(Note::from(format!(
                        "had to choose: {unknown} and several server blocks named like this could have served these requests ({listing}); mapped to {}:{} ({}){}",
                        sp.file,
                        sp.line,
                        s.how,
                        if sockets.is_some() {
                            ""
                        } else {
                            "; an access log whose log_format has $server_port (--access-log) decides"
                        }
                    )));
                }
            }
        }
    }
    if let (Some(s), Some(p), None) = (&server, &path, location) {
        let sp = place(cfg, s.id);
        finding.notes.push(Note::from(format!(
            "no location of the server block at {}:{} matches {p}",
            sp.file, sp.line
        )));
    }
    (server, location, regex_skipped)
}

/// The handler that sent the request to the logged upstream: among the location's handlers
/// the one whose address fits, else one elsewhere in the configuration that fits (the request
/// got there another way: rewrite, try_files, error_page), preferring the same server block;
/// each choice that is not the obvious one is said in a note.
#[allow(clippy::too_many_arguments)]
fn choose_handler(
    map: &ConfigMap<'_, '_>,
    memo: &mut MapMemo,
    finding: &mut Finding,
    upstream: Option<&Upstream<'_>>,
    candidates: &[(NodeId, Option<String>)],
    location: Option<NodeId>,
    server: Option<&ServerChoice>,
    regex_skipped: bool,
) -> Option<(NodeId, Option<HandlerFit>)> {
    let cfg = map.cfg;
    let key = finding.incident.key.clone();
    let mut chosen: Option<(NodeId, Option<HandlerFit>)> = None;
    match &upstream {
        Some(up) => {
            let fits: Vec<(HandlerFit, Option<String>)> = candidates
                .iter()
                .map(|(h, via)| (map.handler_fit(*h, up), via.clone()))
                .collect();
            let best = fits
                .iter()
                .max_by_key(|(f, _)| (f.fit, std::cmp::Reverse(f.handler)))
                .cloned();
            if let Some((fit, via)) = &best {
                if fit.fit == AddrMatch::Exact {
                    if let Some(via) = via {
                        finding
                            .notes
                            .push(Note::from(format!("handler reached {via}")));
                    }
                    chosen = Some((fit.handler, Some(fit.clone())));
                }
            }
            if chosen.is_none() {
                // The URI's location does not pass there: look for the handler that does,
                // preferring the same server block.
                let same_server = |h: NodeId| {
                    server
                        .as_ref()
                        .is_some_and(|s| cfg.enclosing_server(h) == Some(s.id))
                };
                let peer = memo.handlers(map, up);
                let (exact, possible) = (&peer.exact, &peer.possible);
                let pick = server
                    .and_then(|s| peer.exact_in_server.get(&s.id))
                    .and_then(|&i| exact.get(i))
                    .or_else(|| exact.first())
                    .cloned();
                if let Some(fit) = pick {
                    let hp = place(cfg, fit.handler);
                    let why = match (location, &best) {
                        (Some(l), Some((b, _))) => {
                            let lp = place(cfg, l);
                            let bp = place(cfg, b.handler);
                            format!(
                                "the URI matches {} ({}:{}), whose {} does not go to {}; {} ({}:{}) does, so the request got there another way (rewrite, try_files, error_page or another server block): using it",
                                lp.text, lp.file, lp.line, bp.text, up.base, hp.text, hp.file, hp.line
                            )
                        }
                        (Some(l), None) => {
                            let lp = place(cfg, l);
                            format!(
                                "the URI matches {} ({}:{}), which has no handler; {} ({}:{}) goes to {}: using it",
                                lp.text, lp.file, lp.line, hp.text, hp.file, hp.line, up.base
                            )
                        }
                        (None, _) => format!(
                            "no location found by server and URI; {} ({}:{}) goes to {}: using it",
                            hp.text, hp.file, hp.line, up.base
                        ),
                    };
                    finding.notes.push(Note::from(why));
                    if regex_skipped {
                        finding.notes.push(
                            "a regex location that could not be evaluated (see below) may be the one nginx chose for this URI".into(),
                        );
                    }
                    if exact.len() > 1 {
                        finding.notes.push(Note::from(format!(
                            "{} handlers in the config go to {}",
                            exact.len(),
                            up.base
                        )));
                    }
                    chosen = Some((fit.handler, Some(fit)));
                } else if let Some((fit, _)) =
                    best.as_ref().filter(|(f, _)| f.fit == AddrMatch::Possible)
                {
                    let bp = place(cfg, fit.handler);
                    finding.notes.push(Note::from(format!(
                        "{} ({}:{}) may go to {} (its host is resolved at run time)",
                        bp.text, bp.file, bp.line, up.base
                    )));
                    chosen = Some((fit.handler, Some(fit.clone())));
                } else {
                    // A host name only DNS could compare: use it when it is the only candidate.
                    // A variable host can go anywhere: no evidence.
                    let possible: Vec<&HandlerFit> = possible
                        .iter()
                        .filter(|f| !cfg.node(f.handler).arg(0).is_some_and(|a| a.contains('$')))
                        .collect();
                    let in_server: Vec<&HandlerFit> = possible
                        .iter()
                        .copied()
                        .filter(|f| same_server(f.handler))
                        .collect();
                    let only = match (in_server.as_slice(), possible.as_slice()) {
                        ([one], _) => Some((*one).clone()),
                        ([], [one]) => Some((*one).clone()),
                        _ => None,
                    };
                    if let Some((b, _)) = &best {
                        let bp = place(cfg, b.handler);
                        finding.notes.push(Note::from(format!(
                            "{} ({}:{}), the handler of the location the URI matches, does not go to the logged upstream {}{}",
                            bp.text,
                            bp.file,
                            bp.line,
                            up.base,
                            if only.is_some() {
                                ""
                            } else {
                                ", and no other handler does (was the config changed since, or is this another server's config?)"
                            }
                        )));
                    }
                    if let Some(fit) = only {
                        let hp = place(cfg, fit.handler);
                        finding.notes.push(Note::from(format!(
                            "{} ({}:{}) may go to {} (its host name is resolved by DNS): using it",
                            hp.text, hp.file, hp.line, up.base
                        )));
                        chosen = Some((fit.handler, Some(fit)));
                    }
                }
            }
        }
        None => {
            // No `upstream:` (no-resolver, host-not-found): the location's handler, else one
            // whose host is the name that failed.
            let host = key
                .unresolved_host
                .as_deref()
                .map(|h| parse_host_port(h, false));
            let host_name = host.as_ref().and_then(|a| a.name().map(str::to_owned));
            chosen = candidates.first().map(|(h, _)| (*h, None));
            if chosen.is_none() {
                if let Some(name) = &host_name {
                    chosen = map
                        .all_handlers()
                        .iter()
                        .copied()
                        .find(|h| {
                            let n = cfg.node(*h);
                            n.arg(0).is_some_and(|a| {
                                parse_pass(n.name(), a)
                                    .name()
                                    .is_some_and(|x| x.eq_ignore_ascii_case(name))
                            })
                        })
                        .map(|h| (h, None));
                    if chosen.is_none() {
                        finding.upstream_server = upstream_server_named(cfg, name);
                    }
                }
            }
        }
    }
    chosen
}

fn map_incident(
    map: &ConfigMap<'_, '_>,
    memo: &mut MapMemo,
    finding: &mut Finding,
    ctx: &mut FixContext,
    skipped_regexes: &mut Vec<NodeId>,
    sockets: Option<&SocketEvidence>,
) {
    let cfg = map.cfg;
    let key = finding.incident.key.clone();
    if key.cause == Cause::FdExhausted {
        ctx.fd_limits = Some(fd_limits(cfg));
    }
    match key.detail {
        KeyDetail::Full => {}
        KeyDetail::CauseOnly => {
            // The `server:` field was dropped (more distinct ones than any configuration has
            // server blocks): any block chosen now would be a guess.
            finding.notes.push(Note::from(format!(
                "past {}x the group bound this group lost its server: name too; not mapped",
                super::incidents::HARD_GROUP_FACTOR
            )));
            return;
        }
        KeyDetail::Peer | KeyDetail::Server => finding.notes.push(
            "the group bound was reached: this group merges requests of several paths and hosts of the same server: name, mapped by its first request".into(),
        ),
    }
    let path = key.path.clone().or_else(|| {
        finding
            .incident
            .sample_request
            .as_deref()
            .and_then(Request::parse)
            .map(|r| Arc::from(r.path()))
    });
    let upstream = key.upstream.as_deref().map(Upstream::parse);

    if upstream.as_ref().is_some_and(|u| u.scheme.is_none()) {
        // The stream module logs a bare address (`upstream: "10.0.0.1:5432"`) and its listen
        // address as `server:`: its `stream { server { proxy_pass } }` blocks are not mapped.
        finding.notes.push(
            "a stream (TCP/UDP) proxy line: mapping to `stream` blocks is not supported".into(),
        );
        return;
    }
    let (server, location, regex_skipped) = select_server_and_location(
        map,
        memo,
        finding,
        skipped_regexes,
        path.as_deref(),
        upstream.as_ref(),
        sockets,
    );
    let candidates = location.map_or_else(Vec::new, |l| map.location_handlers(l));
    if let Some(l) = location {
        // `try_files $uri $uri/ /index.php?$args`: a pretty URL reaches php-fpm as /index.php.
        for t in cfg.children_named(Some(l), "try_files") {
            let Some(last) = cfg.node(t).directive.args().last().map(|a| a.as_str()) else {
                continue;
            };
            if last.starts_with('/') {
                let path = last.split(['?', '#']).next().unwrap_or(last);
                if !path.contains('$') && !ctx.script_paths.iter().any(|p| p == path) {
                    ctx.script_paths.push(path.to_owned());
                }
            }
        }
    }

    let chosen = choose_handler(
        map,
        memo,
        finding,
        upstream.as_ref(),
        &candidates,
        location,
        server.as_ref(),
        regex_skipped,
    );

    // Places: when the handler came from elsewhere, its own location and server are the
    // ones that served the request.
    let (server_id, location_id) = match chosen {
        Some((h, _)) => (
            cfg.enclosing_server(h),
            cfg.ancestors(h).find(|a| cfg.node(*a).name() == "location"),
        ),
        None => (server.as_ref().map(|s| s.id), location),
    };
    if let Some(sid) = server_id {
        let how = match &server {
            Some(s) if s.id == sid => Arc::clone(&s.how),
            _ => Arc::from("the server block of that handler"),
        };
        finding.server_block = Some((memo.places.get(cfg, sid), how));
    }
    finding.location = location_id.map(|l| memo.places.get(cfg, l));
    ctx.worker_user = cfg
        .top
        .iter()
        .copied()
        .find(|t| cfg.node(*t).name() == "user")
        .and_then(|u| {
            cfg.node(u)
                .arg(0)
                .map(|a| (a.to_owned(), memo.places.get(cfg, u)))
        });

    let Some((handler, fit)) = chosen else {
        if let (Some(l), true) = (location, candidates.is_empty()) {
            let lp = place(cfg, l);
            finding.notes.push(Note::from(format!(
                "{} ({}:{}) has no proxy_pass/fastcgi_pass/grpc_pass/uwsgi_pass/scgi_pass of its own",
                lp.text, lp.file, lp.line
            )));
        }
        return;
    };
    record_handler(cfg, &mut memo.places, finding, ctx, handler, fit);
}

/// `worker_connections N (file:line)` and `worker_rlimit_nofile M (file:line)` as set, with
/// nginx's defaults when not (512; the limit nginx was started with).
fn fd_limits(cfg: &ResolvedConfig<'_>) -> String {
    let find = |name: &str| cfg.iter().find(|(_, n)| n.name() == name).map(|(id, _)| id);
    let connections = find("worker_connections").map_or_else(
        || "worker_connections is the default 512".to_owned(),
        |id| {
            let p = place(cfg, id);
            format!("{} ({}:{})", p.text, p.file, p.line)
        },
    );
    let limit = find("worker_rlimit_nofile").map_or_else(
        || "worker_rlimit_nofile is not set (the limit nginx was started with applies: the systemd unit's LimitNOFILE, else often a soft limit of 1024)".to_owned(),
        |id| {
            let p = place(cfg, id);
            format!("{} ({}:{})", p.text, p.file, p.line)
        },
    );
    format!("{connections}; {limit}")
}

/// What the handler that served the request says: its place, its upstream block and fail
/// settings, the resolver, the retry outcome, and the setting in force for the cause (with
/// other modules' look-alike timeouts that do nothing here, GW101).
fn record_handler(
    cfg: &ResolvedConfig<'_>,
    places: &mut Places,
    finding: &mut Finding,
    ctx: &mut FixContext,
    handler: NodeId,
    fit: Option<HandlerFit>,
) {
    finding.handler = Some(places.get(cfg, handler));
    let family = Family::from_pass(cfg.node(handler).name());
    ctx.family = family;
    if let Some(fit) = &fit {
        ctx.via_localhost = fit.via_localhost;
        if let Some(b) = fit.upstream_block {
            ctx.upstream_block = Some(places.get(cfg, b));
        }
        finding.upstream_server = fit
            .upstream_server
            .map(|s| places.get(cfg, s))
            .or_else(|| ctx.upstream_block.clone());
    }
    let upstream_block_id = fit.as_ref().and_then(|f| f.upstream_block);
    finding.upstream_block = ctx.upstream_block.clone();
    if let Some(b) = upstream_block_id {
        ctx.fail_settings = Some(fail_settings(cfg, b));
    }
    let Some(family) = family else { return };
    let block = cfg.block_of(handler).unwrap_or(handler);
    ctx.resolver = cfg.effective(block, "resolver").map(|r| place(cfg, r));
    if family == Family::FastCgi {
        let mut uris: Vec<&str> = finding.incident.key.path.iter().map(|p| &**p).collect();
        uris.extend(ctx.script_paths.iter().map(String::as_str));
        ctx.scripts = script_filenames(cfg, block, &uris);
    }
    let cause = finding.cause();
    decide_outcome(cfg, finding, ctx, handler, block, family, upstream_block_id);
    let timed_out = finding.incident.sample_line.contains("upstream timed out");
    let setting_name = match cause {
        Cause::ConnectTimeout => Some("connect_timeout"),
        Cause::ReadTimeout | Cause::BackendReset | Cause::PrematureClose => Some("read_timeout"),
        Cause::WebSocketIdle => Some("read_timeout"),
        Cause::CutResponse if timed_out => Some("read_timeout"),
        Cause::SendTimeout => Some("send_timeout"),
        Cause::TooBigHeader => Some("buffer_size"),
        _ => None,
    };
    let has_buffers = matches!(
        family,
        Family::Proxy | Family::FastCgi | Family::Uwsgi | Family::Scgi
    );
    if cause == Cause::TooBigHeader && has_buffers {
        ctx.buffer_fix = Some(buffer_fix(cfg, block, family.prefix()));
    }
    if let Some(suffix) = setting_name {
        let directive = format!("{}_{suffix}", family.prefix());
        finding.setting = Some(Box::new(effective_setting(
            cfg,
            |n| places.get(cfg, n),
            block,
            &directive,
        )));
        if suffix.ends_with("timeout") {
            // Another module's timeout set here does nothing for this handler (GW101).
            for other in Family::ALL {
                if other == family {
                    continue;
                }
                let name = format!("{}_{suffix}", other.prefix());
                if let Some(n) = cfg.effective(block, &name) {
                    let p = place(cfg, n);
                    finding.notes.push(Note::from(format!(
                        "{} ({}:{}) has no effect here: the handler is {} (GW101)",
                        p.text,
                        p.file,
                        p.line,
                        family.pass_directive()
                    )));
                }
            }
        }
    }
}

/// How many tries nginx makes for `handler` (`ngx_http_upstream_tries`: the servers not marked
/// `down`, backups included, each address a name resolves to counted; capped by
/// `*_next_upstream_tries`) and whether the request's last logged try was followed by one more
/// that logged nothing: then another server answered.
fn decide_outcome(
    cfg: &ResolvedConfig<'_>,
    finding: &mut Finding,
    ctx: &mut FixContext,
    handler: NodeId,
    block: NodeId,
    family: Family,
    upstream_block: Option<NodeId>,
) {
    let cause = finding.cause();
    let prefix = family.prefix();
    let (peers, names) = match upstream_block {
        Some(b) => {
            let mut n = 0u32;
            let mut names = false;
            for sv in cfg.children_named(Some(b), "server") {
                let node = cfg.node(sv);
                if node
                    .directive
                    .args()
                    .iter()
                    .skip(1)
                    .any(|a| a.as_str() == "down")
                {
                    continue;
                }
                let Some(arg) = node.arg(0) else { continue };
                let (count, name) = address_count(&parse_host_port(arg, false));
                n = n.saturating_add(count);
                names |= name;
            }
            (Some(n), names)
        }
        None => match cfg.node(handler).arg(0) {
            Some(arg) if !arg.contains('$') => {
                let (count, name) = address_count(&parse_pass(cfg.node(handler).name(), arg));
                (Some(count), name)
            }
            _ => (None, false),
        },
    };
    let limit = cfg
        .effective(block, &format!("{prefix}_next_upstream_tries"))
        .and_then(|n| cfg.node(n).arg(0))
        .and_then(|a| a.parse::<u32>().ok())
        .filter(|n| *n > 0);
    let max_tries = match (peers, limit) {
        (Some(p), Some(l)) => Some(p.min(l)),
        (p, _) => p,
    };
    finding.max_tries = max_tries;
    let Some(flag) = cause.next_upstream() else {
        return;
    };
    // `ngx_http_upstream_next`: a failure on a cached keep-alive connection gives the try back
    // (`u->peer.cached`), so even the last server is tried once more on a fresh connection.
    let keepalive =
        upstream_block.is_some_and(|b| cfg.children_named(Some(b), "keepalive").next().is_some());
    if keepalive
        && flag == super::classify::NextUpstream::Error
        && matches!(
            cause,
            Cause::PrematureClose | Cause::BackendReset | Cause::SendFailed
        )
    {
        finding.notes.push(
            "the upstream block keeps connections alive: when this failure hit a cached keep-alive connection nginx tried again on a new one without counting the try, so some of these requests may have been answered (the error log does not say which)".into(),
        );
    }
    let tries = finding.incident.key.tries;
    let next = cfg.effective(block, &format!("{prefix}_next_upstream"));
    let flags: Vec<String> = match next {
        Some(n) => cfg
            .node(n)
            .directive
            .args()
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        None => vec!["error".to_owned(), "timeout".to_owned()],
    };
    let next_text = match next {
        Some(n) => {
            let p = place(cfg, n);
            format!("{} ({}:{})", p.text, p.file, p.line)
        }
        None => format!("{prefix}_next_upstream is the default `error timeout`"),
    };
    let Some(max) = max_tries else { return };
    if tries >= max {
        if tries > 1 {
            finding.notes.push(Note::from(format!(
                "each request tried {tries} server{} (all the handler has) before failing",
                if tries == 1 { "" } else { "s" }
            )));
        }
        if names {
            finding.notes.push(
                "the upstream names a host by name: it may resolve to more addresses than counted here (localhost counts as 127.0.0.1 and ::1), each one a further try".into(),
            );
        }
        return;
    }
    if !flags.iter().any(|f| f == flag.flag()) {
        finding.notes.push(Note::from(format!(
            "{next_text} does not include `{}`: nginx did not try the other server{} for this failure",
            flag.flag(),
            if max - tries == 1 { "" } else { "s" }
        )));
        return;
    }
    let method = finding.incident.key.method.as_deref().unwrap_or("");
    let non_idempotent = matches!(method, "POST" | "LOCK" | "PATCH");
    if non_idempotent
        && !cause.before_request_sent()
        && !flags.iter().any(|f| f == "non_idempotent")
    {
        finding.notes.push(Note::from(format!(
            "a {method} that reached the backend is not retried without `non_idempotent` in {prefix}_next_upstream: the client got the error"
        )));
        return;
    }
    finding.outcome = Outcome::Recovered;
    let timeout = cfg
        .effective(block, &format!("{prefix}_next_upstream_timeout"))
        .and_then(|n| cfg.node(n).arg(0))
        .filter(|v| parse_msec(v).is_some_and(|ms| ms > 0));
    let mut why = format!(
        "nginx tried another server after this failure ({tries} of {max} tries used, {next_text}) and logged nothing more for the request: it was answered"
    );
    if let Some(t) = timeout {
        why.push_str(&format!(
            " (unless {prefix}_next_upstream_timeout {t} ran out, which nginx does not log)"
        ));
    }
    ctx.retry = Some(why.clone());
    finding.notes.push(Note::from(why));
}

/// Peers one address makes and whether it is a host name (resolved at startup to every
/// address it has; `localhost` is 127.0.0.1 and ::1 on Debian and Ubuntu).
fn address_count(addr: &crate::address::Address) -> (u32, bool) {
    match addr.name() {
        Some(n) if n.eq_ignore_ascii_case("localhost") => (2, true),
        Some(_) => (1, true),
        None => (1, false),
    }
}

/// `max_fails`/`fail_timeout` of an upstream block's servers, as written (defaults named).
fn fail_settings(cfg: &ResolvedConfig<'_>, block: NodeId) -> String {
    let mut seen: Vec<String> = Vec::new();
    for sv in cfg.children_named(Some(block), "server") {
        let node = cfg.node(sv);
        let get = |key: &str| {
            node.directive
                .args()
                .iter()
                .skip(1)
                .find_map(|a| a.as_str().strip_prefix(key).map(str::to_owned))
        };
        let p = place(cfg, sv);
        let mf = get("max_fails=").map_or_else(
            || "max_fails=1 (default)".to_owned(),
            |v| format!("max_fails={v}"),
        );
        let ft = get("fail_timeout=").map_or_else(
            || "fail_timeout=10s (default)".to_owned(),
            |v| format!("fail_timeout={v}"),
        );
        let text = format!("{mf} {ft}");
        let entry = format!("{text} ({}:{})", p.file, p.line);
        if !seen.iter().any(|s| s.starts_with(&text)) {
            seen.push(entry);
        }
    }
    seen.join(", ")
}

/// Directives that raise `*_buffer_size` to fit bigger headers and keep the relations nginx
/// checks between the buffer sizes (GW028, `ngx_http_proxy_merge_loc_conf`): the busy size
/// (twice the larger of `*_buffer_size` and one buffer unless set) must fit in all `*_buffers`
/// but one, and the temp-file sizes must be at least the larger of the two.
fn buffer_fix(cfg: &ResolvedConfig<'_>, block: NodeId, prefix: &str) -> String {
    let size_of = |name: &str, i: usize| {
        cfg.effective(block, &format!("{prefix}_{name}"))
            .and_then(|n| cfg.node(n).arg(i))
            .and_then(crate::values::parse_size)
    };
    let defaults = BufferSizes::default();
    let sizes = BufferSizes {
        buffer_size: size_of("buffer_size", 0).unwrap_or(defaults.buffer_size),
        num: cfg
            .effective(block, &format!("{prefix}_buffers"))
            .and_then(|n| cfg.node(n).arg(0))
            .and_then(|a| a.parse::<u64>().ok())
            .unwrap_or(defaults.num),
        size: size_of("buffers", 1).unwrap_or(defaults.size),
        busy: size_of("busy_buffers_size", 0),
        temp: size_of("temp_file_write_size", 0),
        max_temp: size_of("max_temp_file_size", 0),
    };
    buffer_values(prefix, sizes)
}

/// The buffer directives in force for a handler (`None`: not set, nginx derives it).
#[derive(Clone, Copy, Debug)]
struct BufferSizes {
    buffer_size: u64,
    num: u64,
    size: u64,
    busy: Option<u64>,
    temp: Option<u64>,
    max_temp: Option<u64>,
}

impl Default for BufferSizes {
    /// nginx's defaults: `*_buffer_size 4k`, `*_buffers 8 4k` (one memory page on Linux x86_64).
    fn default() -> Self {
        Self {
            buffer_size: 4096,
            num: 8,
            size: 4096,
            busy: None,
            temp: None,
            max_temp: None,
        }
    }
}

/// [`buffer_fix`] on the values in force.
fn buffer_values(prefix: &str, b: BufferSizes) -> String {
    let BufferSizes {
        buffer_size: current,
        num,
        size,
        busy,
        temp,
        max_temp,
    } = b;
    let new_size = (current * 2).max(16 * 1024);
    let mut out = vec![format!("{prefix}_buffer_size {};", size_text(new_size))];
    let larger = |s: u64| new_size.max(s);
    let (mut n2, mut s2, mut busy2) = (num.max(2), size, busy);
    // Each step only raises values; three rounds settle every combination.
    for _ in 0..3 {
        if busy2.is_some_and(|b| b < larger(s2)) {
            busy2 = Some(2 * larger(s2));
        }
        let eff_busy = busy2.unwrap_or(2 * larger(s2));
        if eff_busy > (n2 - 1) * s2 {
            s2 = s2.max(new_size);
            let eff_busy = busy2.unwrap_or(2 * larger(s2));
            n2 = n2.max(eff_busy.div_ceil(s2) + 1);
        }
    }
    if (n2, s2) != (num, size) {
        out.push(format!("{prefix}_buffers {n2} {};", size_text(s2)));
    }
    if busy2 != busy {
        if let Some(b) = busy2 {
            out.push(format!("{prefix}_busy_buffers_size {};", size_text(b)));
        }
    }
    if temp.is_some_and(|t| t < larger(s2)) {
        out.push(format!(
            "{prefix}_temp_file_write_size {};",
            size_text(2 * larger(s2))
        ));
    }
    if max_temp.is_some_and(|m| m != 0 && m < larger(s2)) {
        out.push(format!(
            "{prefix}_max_temp_file_size {};",
            size_text(larger(s2))
        ));
    }
    out.join(" ")
}

/// Bytes as nginx size syntax: `16k`, `1m`, or bytes.
fn size_text(n: u64) -> String {
    if n % (1024 * 1024) == 0 {
        format!("{}m", n / (1024 * 1024))
    } else if n % 1024 == 0 {
        format!("{}k", n / 1024)
    } else {
        n.to_string()
    }
}

/// The effective value of a timeout or buffer-size directive for `block`; `place_of` gives
/// the place of the line that sets it ([`place`], or a memo of it).
pub(super) fn effective_setting(
    cfg: &ResolvedConfig<'_>,
    mut place_of: impl FnMut(NodeId) -> Place,
    block: NodeId,
    directive: &str,
) -> Setting {
    let is_time = directive.ends_with("_timeout");
    if is_time {
        let t = cfg.effective_time(block, directive, DEFAULT_TIMEOUT_MS);
        return Setting {
            directive: directive.to_owned(),
            value: match t.set_by {
                Some(n) => cfg.node(n).arg(0).unwrap_or("").to_owned(),
                None => describe_msec(t.ms),
            },
            millis: Some(t.ms),
            place: t.set_by.map(place_of),
        };
    }
    match cfg.effective(block, directive) {
        Some(n) => Setting {
            directive: directive.to_owned(),
            value: cfg.node(n).arg(0).unwrap_or("").to_owned(),
            millis: None,
            place: Some(place_of(n)),
        },
        None => Setting {
            directive: directive.to_owned(),
            value: "4k or 8k (one memory page)".to_owned(),
            millis: None,
            place: None,
        },
    }
}

/// The `server` line (in any upstream block) or handler whose host is `name`.
fn upstream_server_named(cfg: &ResolvedConfig<'_>, name: &str) -> Option<Place> {
    cfg.iter()
        .find(|(_, n)| {
            n.name() == "server"
                && n.context == crate::directives::Context::Upstream
                && n.arg(0).is_some_and(|a| {
                    parse_host_port(a, false)
                        .name()
                        .is_some_and(|x| x.eq_ignore_ascii_case(name))
                })
        })
        .map(|(id, _)| place(cfg, id))
}

/// File, line and head text of a node.
pub fn place(cfg: &ResolvedConfig<'_>, id: NodeId) -> Place {
    let node = cfg.node(id);
    let file = cfg.tree.sources.get(node.file);
    // The line only: the column (a count of characters) is not shown.
    let line = file
        .lines
        .line(node.directive.span().start().min(file.text.len()));
    let mut text = node.name().to_owned();
    for a in node.directive.args() {
        text.push(' ');
        text.push_str(a.as_str());
    }
    Place::new(file.display.clone(), line, text)
}

/// Ties `recv() failed (104)` / `prematurely closed` incidents to php-fpm's "execution timed out
/// ... terminating" for the same script at about the same time, else to a child killed by a
/// signal from outside php-fpm (SIGKILL, SIGSEGV). `paths` are the paths php-fpm may log for the
/// request: the URI's and the `try_files` fallback (`/index.php?$args` for pretty URLs).
fn correlate_fpm(finding: &mut Finding, fpm: &FpmReport, paths: &[String], scripts: &[ScriptName]) {
    let cause = finding.cause();
    // With the pools' configuration read, only the pools listening where nginx connected
    // (the log's `upstream:`, so the address in force at the time) may explain the incident.
    let pools = pools_at(finding, &fpm.pools);
    let pool_of = |f: &FpmIncident| {
        let name = f.pool.as_ref()?;
        pools.iter().flatten().find(|p| p.name == *name).copied()
    };
    // Unknown on either side (no pools at the address, no pool in the line): not excluded.
    let same_pool = |f: &FpmIncident| pools.is_none() || f.pool.is_none() || pool_of(f).is_some();
    let terminate = |f: &FpmIncident| pool_of(f)?.request_terminate_timeout.clone();
    let inc = &finding.incident;
    // By the request php-fpm logs, else by the script it ran: without a REQUEST_URI param
    // php-fpm logs `(request: "GET ")`, and the SCRIPT_FILENAME the location sends decides.
    let same_path = |f: &FpmIncident| match &f.path {
        Some(b) => paths.iter().any(|a| a == b),
        None => false,
    };
    // Only for a reset, which a kill explains: the script alone does not tell two pools
    // running it apart, and a timeout note must not borrow another pool's kill.
    let same_script = |f: &FpmIncident| {
        same_path(f)
            || f.detail
                .as_deref()
                .is_some_and(|script| scripts.iter().any(|s| s.matches(script)))
    };
    if matches!(
        cause,
        Cause::ReadTimeout | Cause::ConnectTimeout | Cause::ListenQueueFull
    ) {
        // A full pool makes requests wait: say so next to timeouts.
        for f in fpm
            .incidents
            .iter()
            .filter(|f| f.kind == "max-children-reached" && near(inc, f) && same_pool(f))
        {
            finding.notes.push(Note::from(format!(
                "php-fpm{} reached pm.max_children ({}) {}x around that time: requests waited for a free worker",
                f.pool.as_deref().map(|p| format!(" pool {p}")).unwrap_or_default(),
                f.detail.as_deref().unwrap_or("?"),
                f.count
            )));
        }
        if cause == Cause::ReadTimeout {
            if let Some(f) = fpm.incidents.iter().find(|f| {
                f.kind == "execution-timed-out" && near(inc, f) && same_path(f) && same_pool(f)
            }) {
                finding.notes.push(Note::from(format!(
                    "php-fpm{} also kills {} at request_terminate_timeout ({}x \"execution timed out\"{}): raising only the nginx timeout turns these 504s into 502s; raise request_terminate_timeout too, keeping it at or below the nginx read timeout",
                    f.pool.as_deref().map(|p| format!(" pool {p}")).unwrap_or_default(),
                    f.detail.as_deref().unwrap_or("the script"),
                    f.count,
                    terminate(f)
                        .filter(|(secs, _)| *secs > 0)
                        .map(|(secs, at)| format!(", {secs}s at {at}"))
                        .unwrap_or_default()
                )));
            }
        }
        return;
    }
    if !matches!(cause, Cause::BackendReset | Cause::PrematureClose) {
        return;
    }
    let fastcgi = inc.key.upstream.as_deref().is_none_or(|u| {
        u.starts_with("fastcgi://") || !u.contains("://") // a stream-module bare address
    });
    if !fastcgi {
        return;
    }
    let timed_out: Vec<&FpmIncident> = fpm
        .incidents
        .iter()
        .filter(|f| f.kind == "execution-timed-out" && near(inc, f) && same_pool(f))
        .collect();
    let hit = timed_out.iter().find(|f| same_script(f)).or_else(|| {
        timed_out
            .iter()
            .find(|f| inc.key.path.is_none() || f.path.is_none())
    });
    if let Some(f) = hit {
        let seconds = parse_fpm_line(&f.sample_line).and_then(|e| match e.event {
            FpmEvent::ExecutionTimedOut { seconds, .. } => Some(seconds),
            _ => None,
        });
        finding.fpm_kill = Some(Box::new(FpmKill {
            event: "execution-timed-out",
            signal: None,
            pool: f.pool.clone(),
            script: f.detail.clone(),
            seconds,
            count: f.count,
            first: f.first,
            last: f.last,
            sample_line: f.sample_line.clone(),
            request_terminate_timeout: terminate(f),
        }));
        return;
    }
    // SIGTERM/SIGQUIT are php-fpm's own (request_terminate_timeout, reloads): only a signal from
    // elsewhere explains a reset by itself.
    let signaled = fpm.incidents.iter().find(|f| {
        f.kind == "child-signaled"
            && near(inc, f)
            && same_pool(f)
            && !matches!(
                f.detail.as_deref(),
                Some("SIGTERM" | "SIGQUIT" | "SIGINT" | "15" | "3")
            )
    });
    if let Some(f) = signaled {
        finding.fpm_kill = Some(Box::new(FpmKill {
            event: "child-signaled",
            signal: f.detail.clone(),
            pool: f.pool.clone(),
            script: None,
            seconds: None,
            count: f.count,
            first: f.first,
            last: f.last,
            sample_line: f.sample_line.clone(),
            request_terminate_timeout: None,
        }));
    }
}

/// The pools listening at the address nginx connected to for `finding`: `None` when that is
/// not known (no pool configuration read, no `upstream:` in the log, or no pool read that
/// listens there): the log's pool names then decide nothing.
fn pools_at<'p>(finding: &Finding, pools: &'p [FpmPool]) -> Option<Vec<&'p FpmPool>> {
    let peer = peer(finding)?;
    let addr = parse_pass("fastcgi_pass", &peer);
    let at: Vec<&FpmPool> = pools
        .iter()
        .filter(|p| addr.matches_listen(&p.listen))
        .collect();
    (!at.is_empty()).then_some(at)
}

/// A script php-fpm may name for a request: the whole path, or (under a relative `root`, which
/// nginx resolves against its `-p` prefix, unknown here) the part from the root on.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ScriptName {
    Exact(String),
    Suffix(String),
}

impl ScriptName {
    fn matches(&self, script: &str) -> bool {
        match self {
            ScriptName::Exact(s) => s == script,
            ScriptName::Suffix(s) => script
                .strip_suffix(s.as_str())
                .is_some_and(|head| head.ends_with('/')),
        }
    }
}

/// The SCRIPT_FILENAME the `fastcgi_param`s in force in `block` send for each of `uris` (the
/// request path and the `try_files` fallbacks): `$document_root` / `$realpath_root` are the
/// `root` in force, `$fastcgi_script_name` the URI (`fastcgi_index` appended to one ending in
/// `/`). A value with any other variable, or a location with `alias`, gives none: the name
/// is not known from the configuration alone.
fn script_filenames(cfg: &ResolvedConfig<'_>, block: NodeId, uris: &[&str]) -> Vec<ScriptName> {
    let Some(value) = cfg
        .effective_array(block, "fastcgi_param")
        .into_iter()
        .rev()
        .find(|p| cfg.node(*p).arg(0) == Some("SCRIPT_FILENAME"))
        .and_then(|p| cfg.node(p).arg(1).map(str::to_owned))
    else {
        return Vec::new();
    };
    if cfg.effective(block, "alias").is_some() {
        return Vec::new();
    }
    let root = cfg
        .effective(block, "root")
        .and_then(|r| cfg.node(r).arg(0).map(str::to_owned))
        .unwrap_or_else(|| "html".to_owned());
    let index = cfg
        .effective(block, "fastcgi_index")
        .and_then(|r| cfg.node(r).arg(0).map(str::to_owned));
    let mut out = Vec::new();
    for uri in uris {
        let script_name = match (uri.ends_with('/'), &index) {
            (true, Some(i)) => format!("{uri}{i}"),
            _ => (*uri).to_owned(),
        };
        let text = value
            .replace("$document_root", &root)
            .replace("$realpath_root", &root)
            .replace("$fastcgi_script_name", &script_name);
        if text.contains('$') {
            return Vec::new();
        }
        let name = if text.starts_with('/') {
            ScriptName::Exact(text)
        } else {
            ScriptName::Suffix(text)
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// The php-fpm group overlaps the nginx group in time (with slack); unknown times count as near.
fn near(inc: &Incident, f: &FpmIncident) -> bool {
    let (Some(a0), Some(a1), Some(b0), Some(b1)) = (inc.first, inc.last, f.first, f.last) else {
        return true;
    };
    b0.to_unix() <= a1.to_unix() + FPM_SLACK_SECS && b1.to_unix() >= a0.to_unix() - FPM_SLACK_SECS
}

fn time_or(t: Option<LogTime>) -> String {
    t.map_or_else(|| "that time".to_owned(), |t| t.to_string())
}

fn at(p: &Option<Place>) -> String {
    p.as_ref()
        .map(|p| format!(" ({}:{})", p.file, p.line))
        .unwrap_or_default()
}

/// The peer of the logged upstream: `127.0.0.1:3999`, `unix:/run/php.sock`.
fn peer(finding: &Finding) -> Option<String> {
    finding
        .incident
        .key
        .upstream
        .as_deref()
        .map(|u| Upstream::parse(u).peer.to_owned())
}

fn fix_text(finding: &Finding, ctx: &FixContext) -> String {
    let key = &finding.incident.key;
    let handler = &finding.handler;
    let h_at = at(handler);
    let peer = peer(finding);
    let peer_text = peer.as_deref().unwrap_or("the upstream");
    let setting = finding.setting.as_deref();
    match finding.cause() {
        Cause::ConnectionRefused => {
            if ctx.via_localhost && peer_text.starts_with("[::1]") {
                let line = finding
                    .upstream_server
                    .as_ref()
                    .or(handler.as_ref())
                    .map(|p| format!(" ({}:{})", p.file, p.line))
                    .unwrap_or_default();
                return format!(
                    "nginx resolved `localhost` to ::1 as well as 127.0.0.1, and nothing listens on {peer_text}: write 127.0.0.1 instead of localhost{line} (GW201), or make the app listen on ::1 too"
                );
            }
            let mut text =
                format!("nothing listens on {peer_text} — start the app or fix the port{h_at}");
            if let Some(b) = &ctx.upstream_block {
                text.push_str(&format!(
                    "; it is a server of `{}` ({}:{})",
                    b.text, b.file, b.line
                ));
            }
            text
        }
        Cause::SocketMissing => {
            let path = peer_text.strip_prefix("unix:").unwrap_or(peer_text);
            let mut text = format!(
                "the socket {path} does not exist — start php-fpm (or the app), or point the handler{h_at} at the socket its pool really listens on"
            );
            let others = sockets_beside(path);
            if !others.is_empty() {
                text.push_str(&format!(" (sockets there now: {})", others.join(", ")));
            }
            if path.starts_with("/tmp/") || path.starts_with("/var/tmp/") {
                text.push_str(
                    "; a socket under /tmp is invisible to nginx when either service runs with systemd PrivateTmp: move it to /run (GW303)",
                );
            }
            text
        }
        Cause::SocketPermission => {
            let path = peer_text.strip_prefix("unix:").unwrap_or(peer_text);
            let who = match &ctx.worker_user {
                Some((user, p)) => format!("`{user}` (user at {}:{})", p.file, p.line),
                None => "the nginx worker user (no `user` directive: the build default, nobody; www-data in Debian's nginx.conf)".to_owned(),
            };
            format!(
                "nginx workers run as {who} and may not connect to {path}: in the php-fpm pool set listen.owner/listen.group to that user (or its group) with listen.mode = 0660, or run the workers as the socket's owner"
            )
        }
        Cause::ReadTimeout | Cause::ConnectTimeout | Cause::SendTimeout => {
            timeout_fix_text(finding, setting, peer_text)
        }
        Cause::BackendReset | Cause::PrematureClose => {
            reset_fix_text(finding, ctx, setting, peer_text)
        }
        Cause::NoLiveUpstreams => {
            let block = ctx
                .upstream_block
                .as_ref()
                .map(|b| format!("`{}` ({}:{})", b.text, b.file, b.line))
                .unwrap_or_else(|| format!("`upstream {peer_text}`"));
            let fails = ctx.fail_settings.as_deref().map_or_else(
                || "after max_fails (default 1) failures within fail_timeout (default 10s) nginx skips a server for fail_timeout".to_owned(),
                |f| format!("its servers have {f}: after max_fails failures within fail_timeout nginx skips a server for fail_timeout"),
            );
            format!(
                "every server of {block} failed recently or is marked down: fix those backends (see the failed tries of its servers just before); {fails}"
            )
        }
        Cause::TooBigHeader => {
            let s = setting.map_or_else(
                || "*_buffer_size".to_owned(),
                |s| match &s.place {
                    Some(p) => format!("{} {} ({}:{})", s.directive, s.value, p.file, p.line),
                    None => format!("{} (default {})", s.directive, s.value),
                },
            );
            match &ctx.buffer_fix {
                Some(set) => format!(
                    "the backend's response headers do not fit {s}: set `{set}` in that location (these values keep *_busy_buffers_size within *_buffers, which nginx -t checks: GW028), or send smaller headers (cookies)"
                ),
                None => {
                    // No handler mapped: nginx's defaults stand in for the location's values.
                    // Raising *_buffer_size alone above the buffers' size fails nginx -t.
                    let prefix = setting
                        .and_then(|s| s.directive.strip_suffix("_buffer_size"))
                        .unwrap_or_else(|| {
                            match key.upstream.as_deref().and_then(|u| u.split_once("://")) {
                                Some(("fastcgi", _)) => "fastcgi",
                                Some(("uwsgi", _)) => "uwsgi",
                                Some(("scgi", _)) => "scgi",
                                Some(("grpc" | "grpcs", _)) => "grpc",
                                _ => "proxy",
                            }
                        });
                    let set = buffer_values(prefix, BufferSizes::default());
                    format!(
                        "the backend's response headers do not fit {s}: set `{set}` in that location if it keeps nginx's defaults (raising {prefix}_buffer_size alone past {prefix}_buffers' size fails nginx -t: {prefix}_busy_buffers_size, GW028; with buffers of its own, raise them with it), or send smaller headers (cookies)"
                    )
                }
            }
        }
        Cause::NoResolver => format!(
            "the handler{h_at} takes its host from a variable ({}), which nginx resolves per request: add `resolver` (e.g. `resolver 127.0.0.53;` or your DNS server) in http or server, or name an `upstream` block instead",
            key.unresolved_host.as_deref().unwrap_or("?")
        ),
        Cause::HostNotFound => {
            let name = key.unresolved_host.as_deref().unwrap_or("?");
            let where_ = at(if handler.is_some() {
                handler
            } else {
                &finding.upstream_server
            });
            match &ctx.resolver {
                // A run-time lookup: the configured resolver answered that the name does not exist.
                Some(r) if finding.incident.key.path.is_some() => format!(
                    "the resolver in force ({} at {}:{}) says {name} does not exist: fix the name{where_} or its DNS record, or point `resolver` at a DNS server that knows it",
                    r.text, r.file, r.line
                ),
                _ => format!(
                    "the name {name} does not resolve: fix the name{where_} or its DNS record; for names only your DNS knows, use a `resolver` and a variable, or an `upstream` block"
                ),
            }
        }
        Cause::UpstreamSsl => format!(
            "the TLS handshake with {peer_text} failed: for an https backend set `proxy_ssl_server_name on;` (SNI) and compatible proxy_ssl_protocols; for a plain-HTTP port use http:// in the handler{h_at} (GW203)"
        ),
        Cause::ListenQueueFull => {
            let path = peer_text.strip_prefix("unix:").unwrap_or(peer_text);
            format!(
                "the listen queue of {path} is full: every php-fpm child was busy and new connections were refused at once — raise pm.max_children in the pool (if memory allows) or make the slow scripts faster; a larger listen.backlog (capped by the kernel's net.core.somaxconn) only lets more requests wait{}",
                if ctx.fpm_given { "" } else { "; give --fpm-log to see \"server reached pm.max_children\"" }
            )
        }
        Cause::Unreachable => format!(
            "{peer_text} cannot be reached from this host (no route, host down, or an ICMP reject): check the backend host, routing and firewalls, or fix the address{h_at}"
        ),
        Cause::InvalidHeader => {
            let what = finding
                .incident
                .sample_line
                .split_once("upstream sent ")
                .map(|(_, r)| r.split(" while ").next().unwrap_or(r).to_owned())
                .unwrap_or_default();
            format!(
                "{peer_text} answered with a response header nginx refuses ({what}): fix the header the backend sends (control characters, a bare CR, a broken status line), and check that the handler{h_at} speaks the backend's protocol (http vs https vs FastCGI on that port, GW203)"
            )
        }
        Cause::SendFailed => format!(
            "{peer_text} closed the connection while nginx was still sending the request: a request body larger than the backend's own limit, or a worker that crashed — look at the backend's log at {}",
            finding
                .incident
                .first
                .map_or_else(|| "that time".to_owned(), |t| t.to_string())
        ),
        Cause::CutResponse => match setting {
            Some(s) => format!(
                "{}: the backend stopped sending in the middle of the response body for longer than that (the timeout is between two reads, not for the whole response); the client got a cut response — make the backend stream steadily or raise it in that location",
                s.describe()
            ),
            None => format!(
                "{peer_text} broke off the response body after the header was sent: the client got a cut response — look at the backend's log at {} (a worker killed mid-response, a crash)",
                finding
                    .incident
                    .first
                    .map_or_else(|| "that time".to_owned(), |t| t.to_string())
            ),
        },
        Cause::WebSocketIdle => match setting {
            Some(s) => format!(
                "{}: an upgraded (WebSocket) connection with no frame in either direction for that long is closed — send pings more often than that from the app or client, or raise it in the WebSocket location (GW106)",
                s.describe()
            ),
            None => "an upgraded (WebSocket) connection idle longer than proxy_read_timeout (default 60s) was closed — send pings more often, or raise proxy_read_timeout in the WebSocket location (GW106)".to_owned(),
        },
        Cause::FdExhausted => format!(
            "the worker could not open a connection to {peer_text}: each proxied request holds two descriptors (client and upstream), so worker_rlimit_nofile (or the unit's LimitNOFILE) must be at least twice worker_connections — {} (GW601); nginx answered 500",
            ctx.fd_limits.as_deref().unwrap_or("see worker_connections and worker_rlimit_nofile")
        ),
        Cause::ScriptNotFound => format!(
            "php-fpm got no existing file in SCRIPT_FILENAME: send `fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;` (or include fastcgi.conf / snippets/fastcgi-php.conf instead of Debian's fastcgi_params, which lacks it) in the location of the handler{h_at}, and check its root (GW405); the client got php-fpm's 404"
        ),
        Cause::PhpFatal => {
            let msg = finding
                .incident
                .sample_line
                .split_once("PHP Fatal error:")
                .map(|(_, m)| m.trim().split('"').next().unwrap_or("").trim().to_owned())
                .unwrap_or_default();
            if msg.contains("Maximum execution time") {
                format!(
                    "PHP stopped the script: {msg} — raise max_execution_time (php.ini or the pool's php_admin_value) or make the script faster; the client got 500"
                )
            } else {
                format!("PHP stopped the script: {msg} — fix the script (or memory_limit); the client got 500")
            }
        }
    }
}

/// The fix for a timeout: raise the setting in force where the request went, or (when the
/// handler is unknown) the family's timeout named from the logged upstream's scheme.
fn timeout_fix_text(finding: &Finding, setting: Option<&Setting>, peer_text: &str) -> String {
    let key = &finding.incident.key;
    let Some(s) = setting else {
        let kind = match finding.cause() {
            Cause::ConnectTimeout => "connect",
            Cause::SendTimeout => "send",
            _ => "read",
        };
        let prefix = key
            .upstream
            .as_deref()
            .and_then(|u| Upstream::parse(u).scheme)
            .map_or("*", |scheme| match scheme {
                "fastcgi" => "fastcgi",
                "grpc" | "grpcs" => "grpc",
                "uwsgi" | "suwsgi" => "uwsgi",
                "scgi" => "scgi",
                _ => "proxy",
            });
        return format!(
            "{peer_text} did not answer in time: raise {prefix}_{kind}_timeout (default 60s) in the location that sends this request there, or make the backend faster"
        );
    };
    match finding.cause() {
        Cause::ReadTimeout => format!(
            "{}; the backend needed longer: raise it in that location, or make the request faster (move long work to a background job)",
            s.describe()
        ),
        Cause::ConnectTimeout => format!(
            "{}; {peer_text} did not accept the connection in time: check that it is up and reachable (firewall, routing, a full listen backlog)",
            s.describe()
        ),
        _ => format!(
            "{}; {peer_text} stopped reading the request: check whether the backend is stuck or overloaded",
            s.describe()
        ),
    }
}

/// The fix for a backend that closed the connection: a signalled or timed-out php-fpm child
/// when the php-fpm log says so, else the backend's own log, keep-alive and `--fpm-log` hints.
fn reset_fix_text(
    finding: &Finding,
    ctx: &FixContext,
    setting: Option<&Setting>,
    peer_text: &str,
) -> String {
    let key = &finding.incident.key;
    if let Some(k) = finding
        .fpm_kill
        .as_ref()
        .filter(|k| k.event == "child-signaled")
    {
        let pool = k
            .pool
            .as_deref()
            .map(|p| format!(" in pool `{p}`"))
            .unwrap_or_default();
        let signal = k.signal.as_deref().unwrap_or("a signal");
        return match signal {
            "SIGKILL" | "9" => format!(
                "a php-fpm child{pool} was killed with SIGKILL (php-fpm log) — not by php-fpm's own timeouts (those send SIGTERM): usually the kernel's OOM killer (look for \"Out of memory: Killed process\" in `journalctl -k` or dmesg at {}); lower pm.max_children or memory_limit so that all children fit in RAM, or add memory",
                time_or(k.first)
            ),
            "SIGSEGV" | "11" | "SIGBUS" | "7" | "SIGABRT" | "6" => format!(
                "a php-fpm child{pool} crashed ({signal}, php-fpm log) while serving the request: a PHP or extension bug (opcache, a PECL module) — get a backtrace from the core dump or php-fpm's log at {}, then update or disable the extension",
                time_or(k.first)
            ),
            other => format!(
                "a php-fpm child{pool} exited on {other} (php-fpm log) while serving the request: find who sent it at {}",
                time_or(k.first)
            ),
        };
    }
    if let Some(k) = &finding.fpm_kill {
        let pool = k
            .pool
            .as_deref()
            .map(|p| format!("pool `{p}`"))
            .unwrap_or_else(|| "the pool".to_owned());
        let after = k
            .seconds
            .map(|s| format!(" after {s:.2} s"))
            .unwrap_or_default();
        let script = k.script.as_deref().unwrap_or("the script");
        let limit = setting
            .map(|s| format!(" (nginx waits longer: {})", s.describe()))
            .unwrap_or_default();
        let set = k
            .request_terminate_timeout
            .as_ref()
            .map(|(secs, at)| match secs {
                // php-fpm kills at request_terminate_timeout only when it is set: the pool
                // the log came from ran with another value.
                0 => format!(" (0, off, at {at} today: the log was written under another setting)"),
                _ => format!(" (now {secs}s, {at})"),
            })
            .unwrap_or_default();
        return format!(
            "php-fpm's request_terminate_timeout killed {script}{after} ({pool}, php-fpm log: execution timed out){limit}: raise request_terminate_timeout{set} in that pool above the time the script needs, keeping it at or below the nginx read timeout, or make the script faster"
        );
    }
    let keepalive = ctx.upstream_block.is_some() && finding.cause() == Cause::PrematureClose;
    let mut text = format!(
        "{peer_text} closed the connection before answering: look at the backend's own log at {} — a worker killed by its own timeout (php-fpm request_terminate_timeout, gunicorn --timeout) or a crash",
        finding
            .incident
            .first
            .map_or_else(|| "that time".to_owned(), |t| t.to_string())
    );
    if keepalive {
        text.push_str("; with `keepalive` in the upstream block, keep its keepalive_timeout below the backend's idle timeout (GW107)");
    }
    let fastcgi = key
        .upstream
        .as_deref()
        .is_some_and(|u| u.starts_with("fastcgi://"));
    if fastcgi && !ctx.fpm_given {
        text.push_str(
            "; give --fpm-log to check php-fpm's \"execution timed out\" and signal lines",
        );
    } else if fastcgi {
        text.push_str(
            "; the php-fpm log given has no \"execution timed out\" or killed child for this request around that time",
        );
    }
    text
}

/// Up to five other sockets in the directory of a missing one (php7.4-fpm.sock missing,
/// php8.2-fpm.sock present), read from the live system.
fn sockets_beside(path: &str) -> Vec<String> {
    let Some(dir) = Path::new(path).parent() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            use std::os::unix::fs::FileTypeExt;
            e.file_type().is_ok_and(|t| t.is_socket())
        })
        .map(|e| e.path().display().to_string())
        .collect();
    out.sort();
    out.truncate(5);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{scan_fpm_log, IncidentScanner, ScanOptions};

    use crate::config::test_tree as tree;

    fn scan(lines: &[String]) -> ScanReport {
        let mut s = IncidentScanner::new(ScanOptions::default());
        for l in lines {
            s.push_line(l);
        }
        s.finish()
    }

    /// Every scan group explained on its own, with its fix, in the scan's order: what
    /// `diagnose` folds into groups (it keeps each group's first finding only).
    fn each_finding(
        scan: ScanReport,
        fpm: Option<&FpmReport>,
        cfg: &ResolvedConfig<'_>,
    ) -> Vec<Finding> {
        let map = ConfigMap::new(cfg);
        let mut explainer = Explainer::new(Some(&map), fpm, None);
        scan.incidents
            .into_iter()
            .map(|i| {
                let (mut f, ctx) = explainer.explain(i);
                f.fix = fix_text(&f, &ctx).into();
                f
            })
            .collect()
    }

    fn line(time: &str, msg: &str, request: &str, upstream: &str, host: &str) -> String {
        format!("2026/11/26 {time} [error] 7#7: *1 {msg}, client: 127.0.0.1, server: , request: \"{request}\", upstream: \"{upstream}\", host: \"{host}\"")
    }

    const REFUSED: &str = "connect() failed (111: Connection refused) while connecting to upstream";
    const RESET: &str =
        "recv() failed (104: Connection reset by peer) while reading response header from upstream";
    const TIMEOUT: &str = "upstream timed out (110: Connection timed out) while reading response header from upstream";

    const CONF: &str = r"
events {}
http {
    proxy_read_timeout 30s;
    upstream node_app { server localhost:3000; }
    server {
        listen 8080;
        location / { proxy_pass http://127.0.0.1:9001; }
        location /app/ { proxy_pass http://node_app; }
        location /rewritten { proxy_pass http://127.0.0.1:9002; }
        location ~ \.php$ {
            fastcgi_pass unix:/run/php/php8.2-fpm.sock;
            fastcgi_read_timeout 10s;
            proxy_read_timeout 300s;
        }
    }
}";

    #[test]
    fn maps_handlers_timeouts_and_fallbacks() {
        let t = tree(CONF);
        let cfg = ResolvedConfig::build(&t);
        let r = scan(&[
            line(
                "10:00:00",
                REFUSED,
                "GET /app/x HTTP/1.1",
                "http://[::1]:3000/app/x",
                "h:8080",
            ),
            line(
                "10:00:01",
                REFUSED,
                "GET /app/x?page=2 HTTP/1.1",
                "http://[::1]:3000/app/x?page=2",
                "h:8080",
            ),
            // Location `/` matches the URI, but the request was rewritten to /rewritten.
            line(
                "10:00:02",
                REFUSED,
                "GET /old HTTP/1.1",
                "http://127.0.0.1:9002/rewritten",
                "h:8080",
            ),
            line(
                "10:00:03",
                TIMEOUT,
                "GET /slow.php HTTP/1.1",
                "fastcgi://unix:/run/php/php8.2-fpm.sock",
                "h:8080",
            ),
            line(
                "10:00:04",
                TIMEOUT,
                "GET / HTTP/1.1",
                "http://127.0.0.1:9001/",
                "h:8080",
            ),
        ]);
        let d = diagnose(r, None, Some(&cfg));
        assert_eq!(d.findings.len(), 4);
        // Most frequent first.
        let localhost = &d.findings[0];
        assert_eq!(localhost.incident.count, 2);
        assert_eq!(
            localhost
                .handler
                .as_ref()
                .map(|h| (h.line, h.text.as_str())),
            Some((9, "proxy_pass http://node_app"))
        );
        assert_eq!(localhost.upstream_server.as_ref().map(|p| p.line), Some(5));
        assert!(
            localhost.fix.contains("127.0.0.1 instead of localhost"),
            "{}",
            localhost.fix
        );
        assert_eq!(localhost.rule, Some(crate::codes::RuleId::GW201));

        let rewritten = &d.findings[1];
        assert_eq!(rewritten.handler.as_ref().map(|h| h.line), Some(10));
        assert_eq!(
            rewritten.location.as_ref().map(|l| l.text.as_str()),
            Some("location /rewritten")
        );
        assert!(
            rewritten
                .notes
                .iter()
                .any(|n| n.contains("got there another way")),
            "{:?}",
            rewritten.notes
        );

        let php = &d.findings[2];
        let s = php.setting.as_ref().unwrap_or_else(|| panic!("no setting"));
        assert_eq!(
            s.describe(),
            "fastcgi_read_timeout is 10s (/etc/nginx/nginx.conf:13)"
        );
        assert!(
            php.fix.starts_with("fastcgi_read_timeout is 10s"),
            "{}",
            php.fix
        );
        assert!(php
            .notes
            .iter()
            .any(|n| n.contains("proxy_read_timeout 300s") && n.contains("GW101")));

        let inherited = &d.findings[3];
        let s = inherited
            .setting
            .as_ref()
            .unwrap_or_else(|| panic!("no setting"));
        assert_eq!(
            (s.value.as_str(), s.place.as_ref().map(|p| p.line)),
            ("30s", Some(4))
        );
    }

    /// Two sites of one name on two ports, the same backend, different timeouts; the error
    /// log's Host has no port (a proxy in front, or clients on 80/443 forwarded).
    const TWO_PORTS: &str = "events {}\nhttp {\n log_format sock '$server_addr $server_port \"$request\" $status $host';\n server { listen 8081; server_name app.test;\n  location / { proxy_pass http://127.0.0.1:9001; proxy_read_timeout 1s; } }\n server { listen 8082; server_name app.test;\n  location / { proxy_pass http://127.0.0.1:9001; proxy_read_timeout 2s; } }\n}";

    fn two_ports_log() -> Vec<String> {
        ["/a", "/b"]
            .iter()
            .enumerate()
            .map(|(i, p)| format!("2026/11/26 10:00:0{i} [error] 7#7: *{} upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.2.3.4, server: app.test, request: \"GET {p} HTTP/1.1\", upstream: \"http://127.0.0.1:9001{p}\", host: \"app.test\"", i + 1))
            .collect()
    }

    fn access_report(map: &ConfigMap<'_, '_>, log: &str) -> AccessReport {
        let cfg = map.cfg;
        let (_, node) = cfg
            .iter()
            .find(|(_, n)| n.name() == "log_format")
            .unwrap_or_else(|| panic!("no log_format"));
        let text: String = node
            .directive
            .args()
            .iter()
            .skip(1)
            .map(|a| a.as_str())
            .collect();
        let format =
            super::super::LogFormat::parse("sock", &text).unwrap_or_else(|e| panic!("{e}"));
        let mut s = super::super::AccessScanner::new(Some(map), None);
        let choice = super::super::FormatChoice {
            format,
            access_log: None,
            log_format: None,
            how: String::new(),
            scope_server: None,
            error: None,
        };
        s.read(std::io::Cursor::new(log), Path::new("access.log"), choice)
            .unwrap_or_else(|e| panic!("{e}"));
        s.finish()
    }

    #[test]
    fn one_name_on_two_ports_without_the_port_says_it_had_to_choose() {
        let t = tree(TWO_PORTS);
        let cfg = ResolvedConfig::build(&t);
        let d = diagnose(scan(&two_ports_log()), None, Some(&cfg));
        // One group: the same cause at the same handler line, both requests.
        assert_eq!((d.groups.len(), d.findings.len()), (1, 1));
        assert_eq!(d.groups[0].requests, 2);
        let findings = each_finding(scan(&two_ports_log()), None, &cfg);
        assert_eq!(findings.len(), 2);
        for f in &findings {
            // nginx's order for an unknown port: the first block; said, with both blocks.
            assert_eq!(f.server_block.as_ref().map(|(p, _)| p.line), Some(4));
            let note = f
                .notes
                .iter()
                .find(|n| n.starts_with("had to choose"))
                .unwrap_or_else(|| panic!("{:?}", f.notes));
            assert!(
                note.contains("nginx.conf:4 (*:8081)")
                    && note.contains("nginx.conf:6 (*:8082)")
                    && note.contains("$server_port"),
                "{note}"
            );
        }
    }

    #[test]
    fn the_access_log_socket_picks_the_block() {
        let t = tree(TWO_PORTS);
        let cfg = ResolvedConfig::build(&t);
        let map = ConfigMap::new(&cfg);
        // /a failed on 8082, /b on 8081; the 301s and 200s on other ports are not evidence.
        let access = access_report(
            &map,
            "127.0.0.1 8082 \"GET /a HTTP/1.1\" 504 app.test\n\
127.0.0.1 8081 \"GET /a HTTP/1.1\" 200 app.test\n\
127.0.0.1 8081 \"GET /b HTTP/1.1\" 504 app.test\n",
        );
        assert!(access.has_socket);
        let d = diagnose_with(scan(&two_ports_log()), None, Some(&map), Some(access));
        let by_path = |p: &str| {
            d.findings
                .iter()
                .find(|f| f.incident.key.path.as_deref() == Some(p))
                .unwrap_or_else(|| panic!("no {p}"))
        };
        let a = by_path("/a");
        assert_eq!(a.server_block.as_ref().map(|(p, _)| p.line), Some(6));
        assert_eq!(a.setting.as_ref().map(|s| s.value.as_str()), Some("2s"));
        assert!(
            a.server_block
                .as_ref()
                .is_some_and(|(_, how)| how.contains("on 127.0.0.1:8082 (the access log")),
            "{:?}",
            a.server_block
        );
        let b = by_path("/b");
        assert_eq!(b.server_block.as_ref().map(|(p, _)| p.line), Some(4));
        assert_eq!(b.setting.as_ref().map(|s| s.value.as_str()), Some("1s"));
        for f in [a, b] {
            assert!(
                !f.notes.iter().any(|n| n.starts_with("had to choose")),
                "{:?}",
                f.notes
            );
        }
    }

    #[test]
    fn streamed_pages_are_the_pages_built_whole() {
        // 3,000 groups (a server name each): several FLUSH_AT pieces in every format.
        let lines: Vec<String> = (0..3000u32)
            .map(|i| {
                format!("2026/11/26 10:00:00 [error] 7#7: *{i} {REFUSED}, client: 1.2.3.4, server: s{i}.test, request: \"GET /<x>&{i} HTTP/1.1\", upstream: \"http://127.0.0.1:{}/\", host: \"s{i}.test\"", 3000 + i)
            })
            .collect();
        let d = diagnose_with(scan(&lines), None, None, None);
        assert_eq!(d.groups.len(), 3000);
        struct Pieces(Vec<u8>, usize);
        impl std::io::Write for Pieces {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.extend_from_slice(b);
                self.1 += 1;
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let whole = [
            super::super::render_human(&d),
            super::super::render_html(&d),
        ];
        let mut human = Pieces(Vec::new(), 0);
        let mut html = Pieces(Vec::new(), 0);
        super::super::write_human(&d, &mut human).unwrap_or_else(|e| panic!("{e}"));
        super::super::write_html(&d, &mut html).unwrap_or_else(|e| panic!("{e}"));
        for (whole, streamed) in whole.iter().zip([&human, &html]) {
            assert!(whole.len() > 4 * 64 * 1024, "{}", whole.len());
            assert!(streamed.1 >= 4, "{} pieces", streamed.1);
            assert!(streamed.0 == whole.as_bytes(), "streamed text differs");
        }
    }

    #[test]
    fn groups_share_the_place_of_one_config_line_and_equal_fix_texts() {
        let t = tree(CONF);
        let cfg = ResolvedConfig::build(&t);
        let map = ConfigMap::new(&cfg);
        let lines = || {
            scan(&[
                line(
                    "10:00:00",
                    REFUSED,
                    "GET / HTTP/1.1",
                    "http://127.0.0.1:9001/",
                    "x",
                ),
                line(
                    "10:00:05",
                    TIMEOUT,
                    "GET / HTTP/1.1",
                    "http://127.0.0.1:9001/",
                    "x",
                ),
            ])
        };
        let d = diagnose_with(lines(), None, Some(&map), None);
        assert_eq!(d.groups.len(), 2, "{:#?}", d.groups);
        let (a, b) = (&d.groups[0].finding, &d.groups[1].finding);
        let (Some(ha), Some(hb)) = (&a.handler, &b.handler) else {
            panic!("unmapped: {a:#?} {b:#?}")
        };
        assert_eq!(
            (ha.line, ha.text.as_str()),
            (8, "proxy_pass http://127.0.0.1:9001")
        );
        assert!(Arc::ptr_eq(&ha.0, &hb.0), "one place per config line");
        assert!(!Arc::ptr_eq(&a.fix, &b.fix), "{} / {}", a.fix, b.fix);

        // Two groups whose fixes read the same keep one text.
        let mut explainer = Explainer::new(Some(&map), None, None);
        let mut grouper = Grouper::default();
        for i in lines().incidents {
            let (f, _) = explainer.explain(i);
            grouper.add(f, |_| "the same fix".to_owned());
        }
        let (_, failed, _) = grouper.finish();
        assert_eq!(failed.len(), 2);
        assert_eq!(&*failed[0].finding.fix, "the same fix");
        assert!(Arc::ptr_eq(&failed[0].finding.fix, &failed[1].finding.fix));
    }

    #[test]
    fn groups_sharing_a_handler_show_its_access_log_numbers_once() {
        let t = tree(TWO_PORTS);
        let cfg = ResolvedConfig::build(&t);
        let map = ConfigMap::new(&cfg);
        let mk = |conn: u32, msg: &str| {
            format!("2026/11/26 10:00:0{conn} [error] 7#7: *{conn} {msg}, client: 1.2.3.4, server: app.test, request: \"GET /x HTTP/1.1\", upstream: \"http://127.0.0.1:9001/x\", host: \"app.test:8081\"")
        };
        let access = access_report(
            &map,
            "127.0.0.1 8081 \"GET /x HTTP/1.1\" 502 app.test\n127.0.0.1 8081 \"GET /x HTTP/1.1\" 504 app.test\n",
        );
        let d = diagnose_with(
            scan(&[mk(1, REFUSED), mk(2, TIMEOUT), mk(3, TIMEOUT)]),
            None,
            Some(&map),
            Some(access),
        );
        assert_eq!(d.groups.len(), 2);
        let human = super::super::render_human(&d);
        assert_eq!(
            human.matches("  access    2 requests").count(),
            1,
            "{human}"
        );
        assert_eq!(
            human
                .matches("  access    the same config line as the read-timeout group above")
                .count(),
            1,
            "{human}"
        );
        let html = super::super::render_html(&d);
        assert_eq!(
            html.matches("the same config line as the read-timeout group above")
                .count(),
            1
        );
        // JSON: the numbers once, in access_log.groups; both incidents name them by index,
        // for the document built whole and the streamed one alike.
        let json = super::super::render_json(&d);
        let mut streamed = Vec::new();
        super::super::write_json(&d, &mut streamed).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&streamed)
                .unwrap_or_else(|e| panic!("{e}")),
            json
        );
        let text = json.to_string();
        assert_eq!(text.matches("\"status_502\"").count(), 1, "{json:#}");
        let Some(incidents) = json["incidents"].as_array() else {
            panic!("no incidents: {json:#}")
        };
        assert_eq!(incidents.len(), 2);
        let Some(index) = incidents[0]["access_group"].as_u64() else {
            panic!("no access_group: {json:#}")
        };
        assert_eq!(incidents[1]["access_group"], index, "{json:#}");
        let shared = &json["access_log"]["groups"][index as usize];
        assert_eq!(shared["status_502"], 1, "{json:#}");
        assert_eq!(shared["status_504"], 1, "{json:#}");
        assert_eq!(shared["config"]["line"], incidents[0]["line"], "{json:#}");
        assert!(incidents[0].get("access").is_none(), "{json:#}");
    }

    #[test]
    fn redirect_block_sharing_the_name_is_passed_over() {
        // The port-80 block only redirects; the log has no port: the TLS block whose /api/
        // location passes to the logged upstream served it, with its 2s, not the 20s of `/`.
        let t = tree(
            "events {}\nhttp {\n server { listen 80; server_name shop.example.com; location / { return 301 https://$host$request_uri; } }\n server { listen 443 ssl; server_name shop.example.com;\n  location / { proxy_pass http://127.0.0.1:9001; proxy_read_timeout 20s; }\n  location /api/ { proxy_pass http://127.0.0.1:9001; proxy_read_timeout 2s; }\n }\n}",
        );
        let cfg = ResolvedConfig::build(&t);
        let l = "2026/11/26 10:00:00 [error] 7#7: *1 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.2.3.4, server: shop.example.com, request: \"GET /api/orders HTTP/1.1\", upstream: \"http://127.0.0.1:9001/api/orders\", host: \"shop.example.com\"".to_owned();
        let d = diagnose(scan(&[l]), None, Some(&cfg));
        let f = &d.findings[0];
        assert_eq!(f.handler.as_ref().map(|h| h.line), Some(6));
        assert_eq!(
            f.location.as_ref().map(|l| l.text.as_str()),
            Some("location /api/")
        );
        assert_eq!(f.setting.as_ref().map(|s| s.value.as_str()), Some("2s"));
        assert_eq!(f.server_block.as_ref().map(|(p, _)| p.line), Some(4));
        assert!(
            f.notes.iter().any(|n| n.contains("cross-check")),
            "{:?}",
            f.notes
        );
    }

    #[test]
    fn retries_recovered_and_exhausted() {
        let t = tree(
            "events {}\nhttp {\n upstream pool { server 10.0.0.1:80; server 10.0.0.2:80; server 10.0.0.3:80 down; }\n server { listen 80;\n  location / { proxy_pass http://pool; }\n  location /post/ { proxy_pass http://pool; }\n  location /off/ { proxy_pass http://pool; proxy_next_upstream off; }\n }\n}",
        );
        let cfg = ResolvedConfig::build(&t);
        let mk = |conn: u32, peer: &str, req: &str, msg: &str| {
            format!("2026/11/26 10:00:0{conn} [error] 7#7: *{conn} {msg}, client: 1.2.3.4, server: , request: \"{req}\", upstream: \"http://{peer}/x\", host: \"h\"")
        };
        let d = diagnose(
            scan(&[
                // Recovered: one of two live servers failed, nothing more logged.
                mk(1, "10.0.0.1:80", "GET /a HTTP/1.1", REFUSED),
                // Exhausted: both live servers failed (the `down` one is not tried).
                mk(2, "10.0.0.1:80", "GET /b HTTP/1.1", REFUSED),
                mk(2, "10.0.0.2:80", "GET /b HTTP/1.1", REFUSED),
                // A POST that reached the backend is not retried.
                mk(3, "10.0.0.1:80", "POST /post/x HTTP/1.1", TIMEOUT),
                // proxy_next_upstream off.
                mk(4, "10.0.0.2:80", "GET /off/x HTTP/1.1", REFUSED),
            ]),
            None,
            Some(&cfg),
        );
        let by_path = |p: &str| {
            d.findings
                .iter()
                .find(|f| f.incident.key.path.as_deref() == Some(p))
                .unwrap_or_else(|| panic!("no {p}"))
        };
        assert_eq!(by_path("/a").outcome, Outcome::Recovered);
        assert_eq!(by_path("/a").max_tries, Some(2));
        assert_eq!(by_path("/b").outcome, Outcome::Failed);
        assert_eq!(by_path("/b").incident.key.tries, 2);
        assert_eq!(by_path("/post/x").outcome, Outcome::Failed);
        assert!(by_path("/post/x")
            .notes
            .iter()
            .any(|n| n.contains("non_idempotent")));
        assert_eq!(by_path("/off/x").outcome, Outcome::Failed);
        assert_eq!(d.recovered.len(), 1);
        assert_eq!(d.recovered[0].requests, 1);
        // Failed: the exhausted GET and the POST share the handler but not the cause; /off/ is
        // its own handler line.
        assert_eq!(d.groups.len(), 3);
        let summary = &d.upstreams[0];
        assert_eq!((summary.servers, summary.failing.len()), (3, 2));
    }

    #[test]
    fn no_live_upstreams_fix_quotes_the_configured_fail_settings() {
        // The issue's case: "max_fails (default 1) ... fail_timeout (default 10s)" where the
        // config sets fail_timeout=60s.
        let t = tree("events {}\nhttp {\n upstream backend { server 127.0.0.1:3997 max_fails=3 fail_timeout=60s; server 127.0.0.1:3996 fail_timeout=60s; }\n server { listen 80; location / { proxy_pass http://backend; } }\n}");
        let cfg = ResolvedConfig::build(&t);
        let l = line(
            "02:56:11",
            "no live upstreams while connecting to upstream",
            "GET / HTTP/1.1",
            "http://backend/",
            "a",
        );
        let d = diagnose(scan(&[l]), None, Some(&cfg));
        let fix = &d.groups[0].finding.fix;
        assert!(
            fix.contains("max_fails=3 fail_timeout=60s (")
                && fix.contains("max_fails=1 (default) fail_timeout=60s ("),
            "{fix}"
        );
        assert!(!fix.contains("fail_timeout=10s"), "{fix}");
    }

    #[test]
    fn log_server_names_the_config_lacks_are_a_drift_note() {
        // The log of another configuration (or the default /etc/nginx): every request would go
        // to the default server; a note says so instead of staying silent.
        let t = tree("events {}\nhttp {\n server { listen 80; server_name shop.test; location / { proxy_pass http://127.0.0.1:9001; } }\n}");
        let cfg = ResolvedConfig::build(&t);
        let mk = |server: &str| {
            format!("2026/11/26 10:00:01 [error] 7#7: *1 {REFUSED}, client: 1.2.3.4, server: {server}, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:9001/\", host: \"{server}\"")
        };
        let d = diagnose(
            scan(&[mk("shop.test"), mk("api.other"), mk("www.other")]),
            None,
            Some(&cfg),
        );
        let drift: Vec<&String> = d
            .notes
            .iter()
            .filter(|n| n.contains("that no server block of this configuration has"))
            .collect();
        assert_eq!(drift.len(), 1, "{:?}", d.notes);
        assert!(
            drift[0].contains("\"api.other\" (1 request)")
                && drift[0].contains("\"www.other\" (1 request)")
                && !drift[0].contains("shop.test"),
            "{}",
            drift[0]
        );
    }

    #[test]
    fn too_big_header_without_a_mapped_handler_suggests_what_nginx_t_accepts() {
        // No config: nginx's defaults stand in. The naive "raise proxy_buffer_size to 16k"
        // fails nginx -t with `proxy_buffers 8 4k`; this pair is what
        // tests/it/diagnose_nginx.rs applies and nginx -t accepts.
        let line = "2026/11/26 02:55:54 [error] 7#7: *1 upstream sent too big header while reading response header from upstream, client: 1.2.3.4, server: a, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:9001/\", host: \"a\"";
        let d = diagnose(scan(&[line.to_owned()]), None, None);
        let fix = &d.groups[0].finding.fix;
        assert!(
            fix.contains("set `proxy_buffer_size 16k; proxy_buffers 8 16k;`"),
            "{fix}"
        );
        let fcgi = line.replace("http://127.0.0.1:9001/", "fastcgi://unix:/run/php.sock:");
        let d = diagnose(scan(&[fcgi]), None, None);
        let fix = &d.groups[0].finding.fix;
        assert!(
            fix.contains("set `fastcgi_buffer_size 16k; fastcgi_buffers 8 16k;`"),
            "{fix}"
        );
    }

    #[test]
    fn buffer_fix_keeps_busy_buffers_valid() {
        let fix = |conf: &str| {
            let t = tree(conf);
            let cfg = ResolvedConfig::build(&t);
            let loc = cfg
                .iter()
                .find(|(_, n)| n.name() == "location")
                .map(|(id, _)| id)
                .unwrap_or_else(|| panic!("no location"));
            buffer_fix(&cfg, loc, "proxy")
        };
        // Defaults (8 4k): 16k alone would make the busy size 32k > 7 * 4k.
        assert_eq!(
            fix("events {}\nhttp { server { location / { proxy_pass http://a; } } }"),
            "proxy_buffer_size 16k; proxy_buffers 8 16k;"
        );
        // Buffers big enough already: only the buffer size.
        assert_eq!(
            fix("events {}\nhttp { proxy_buffers 8 64k; server { location / { proxy_pass http://a; } } }"),
            "proxy_buffer_size 16k;"
        );
        // An explicit busy size below the new buffer size is raised too.
        assert_eq!(
            fix("events {}\nhttp { server { location / { proxy_buffer_size 16k; proxy_buffers 4 64k; proxy_busy_buffers_size 16k; proxy_pass http://a; } } }"),
            "proxy_buffer_size 32k; proxy_busy_buffers_size 128k;"
        );
    }

    #[test]
    fn default_timeout_and_no_config() {
        let t =
            tree("events {}\nhttp { server { location / { proxy_pass http://127.0.0.1:9; } } }");
        let cfg = ResolvedConfig::build(&t);
        let lines = [line(
            "10:00:00",
            TIMEOUT,
            "GET / HTTP/1.1",
            "http://127.0.0.1:9/",
            "h",
        )];
        let d = diagnose(scan(&lines), None, Some(&cfg));
        let f = &d.findings[0];
        assert!(
            f.fix
                .starts_with("proxy_read_timeout is the default 1m (60s)"),
            "{}",
            f.fix
        );
        let d = diagnose(scan(&lines), None, None);
        assert!(d.findings[0].handler.is_none());
        assert!(d.notes.iter().any(|n| n.contains("no nginx configuration")));
    }

    #[test]
    fn fpm_kill_is_tied_to_the_reset() {
        let t = tree(CONF);
        let cfg = ResolvedConfig::build(&t);
        let lines = [
            line(
                "02:56:09",
                RESET,
                "GET /slow.php HTTP/1.1",
                "fastcgi://unix:/run/php/php8.2-fpm.sock:",
                "h:8080",
            ),
            // Far from the php-fpm event: not tied.
            line(
                "05:00:00",
                RESET,
                "GET /other.php HTTP/1.1",
                "fastcgi://unix:/run/php/php8.2-fpm.sock:",
                "h:8080",
            ),
        ];
        let r = scan(&lines);
        let fpm_log = "[26-Nov-2026 02:56:09] WARNING: [pool www] child 28814, script '/var/www/slow.php' (request: \"GET /slow.php\") execution timed out (2.554018 sec), terminating\n";
        let fpm = scan_fpm_log(
            std::io::Cursor::new(fpm_log),
            Path::new("fpm"),
            &ScanOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // Same handler line and rule, but php-fpm killed one and not the other: two groups, so
        // the kill's fix does not speak for the reset it does not explain.
        let d = diagnose(scan(&lines), Some(fpm.clone()), Some(&cfg));
        let kills: Vec<(u64, bool)> = d
            .groups
            .iter()
            .map(|g| (g.requests, g.finding.fpm_kill.is_some()))
            .collect();
        assert_eq!(kills.len(), 2, "{kills:?}");
        assert!(
            kills.contains(&(1, true)) && kills.contains(&(1, false)),
            "{kills:?}"
        );
        let findings = each_finding(r, Some(&fpm), &cfg);
        let tied = findings
            .iter()
            .find(|f| f.incident.key.path.as_deref() == Some("/slow.php"))
            .unwrap_or_else(|| panic!("no finding"));
        let kill = tied.fpm_kill.as_ref().unwrap_or_else(|| panic!("not tied"));
        assert_eq!(kill.pool.as_deref(), Some("www"));
        assert_eq!(kill.seconds, Some(2.554018));
        assert_eq!(tied.rule, Some(crate::codes::RuleId::GW105));
        assert!(
            tied.fix
                .contains("request_terminate_timeout killed /var/www/slow.php after 2.55 s"),
            "{}",
            tied.fix
        );
        assert!(
            tied.fix.contains("fastcgi_read_timeout is 10s"),
            "{}",
            tied.fix
        );
        let other = findings
            .iter()
            .find(|f| f.incident.key.path.as_deref() == Some("/other.php"))
            .unwrap_or_else(|| panic!("no finding"));
        assert!(other.fpm_kill.is_none());
    }

    /// With the pools' configuration read, a reset on one pool's socket is not explained by
    /// another pool's kill of the same script, and the tie quotes the pool's own
    /// request_terminate_timeout with where it is set.
    #[test]
    fn fpm_kill_is_tied_only_to_the_pool_listening_at_the_upstream() {
        use crate::backends::Listen;
        let t = tree(CONF);
        let cfg = ResolvedConfig::build(&t);
        let reset = || {
            scan(&[line(
                "02:56:09",
                RESET,
                "GET /slow.php HTTP/1.1",
                "fastcgi://unix:/run/php/php8.2-fpm.sock:",
                "h:8080",
            )])
        };
        let fpm_of = |pool: &str| {
            let log = format!("[26-Nov-2026 02:56:09] WARNING: [pool {pool}] child 28814, script '/var/www/slow.php' (request: \"GET /slow.php\") execution timed out (2.554018 sec), terminating\n");
            scan_fpm_log(
                std::io::Cursor::new(log),
                Path::new("fpm"),
                &ScanOptions::default(),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let pools = vec![
            FpmPool {
                name: "www".to_owned(),
                listen: Listen::Unix("/run/php/php8.2-fpm.sock".into()),
                request_terminate_timeout: Some((30, "pool.d/www.conf:12".to_owned())),
            },
            FpmPool {
                name: "legacy".to_owned(),
                listen: Listen::Unix("/run/php/php7.4-fpm.sock".into()),
                request_terminate_timeout: None,
            },
        ];
        // The other pool's kill: tied without the pools (script and time agree), not with them.
        let without = diagnose(reset(), Some(fpm_of("legacy")), Some(&cfg));
        assert!(without.findings[0].fpm_kill.is_some());
        let mut fpm = fpm_of("legacy");
        fpm.pools = pools.clone();
        let with = diagnose(reset(), Some(fpm), Some(&cfg));
        assert!(
            with.findings[0].fpm_kill.is_none(),
            "{:?}",
            with.findings[0].fpm_kill
        );
        assert!(with.findings[0]
            .fix
            .contains("has no \"execution timed out\""));
        // The pool at the socket: tied, with its setting quoted.
        let mut fpm = fpm_of("www");
        fpm.pools = pools.clone();
        let own = diagnose(reset(), Some(fpm), Some(&cfg));
        let f = &own.findings[0];
        let kill = f.fpm_kill.as_ref().unwrap_or_else(|| panic!("not tied"));
        assert_eq!(kill.pool.as_deref(), Some("www"));
        assert_eq!(
            kill.request_terminate_timeout,
            Some((30, "pool.d/www.conf:12".to_owned()))
        );
        assert!(
            f.fix.contains(
                "raise request_terminate_timeout (now 30s, pool.d/www.conf:12) in that pool"
            ),
            "{}",
            f.fix
        );
        // The pool's setting is off today: the kill came from another setting, and it says so.
        let mut fpm = fpm_of("www");
        fpm.pools = pools.clone();
        fpm.pools[0].request_terminate_timeout = Some((0, "pool.d/www.conf:12".to_owned()));
        let off = diagnose(reset(), Some(fpm), Some(&cfg));
        assert!(
            off.findings[0].fix.contains(
                "(0, off, at pool.d/www.conf:12 today: the log was written under another setting)"
            ),
            "{}",
            off.findings[0].fix
        );
        // No pool read listens at the socket: the log's pool names decide nothing.
        let mut fpm = fpm_of("legacy");
        fpm.pools = pools[1..].to_vec();
        let unknown = diagnose(reset(), Some(fpm), Some(&cfg));
        assert!(unknown.findings[0].fpm_kill.is_some());
    }

    #[test]
    fn dns_names_and_resolver_errors() {
        let t = tree(
            "events {}\nhttp { server { listen 80;\n location / { return 200; }\n location /api/ { proxy_pass http://app.internal:8080; }\n location /v/ { set $svc api.internal; proxy_pass http://$svc; }\n } }",
        );
        let cfg = ResolvedConfig::build(&t);
        let no_resolver = "2026/11/26 10:00:01 [error] 7#7: *2 no resolver defined to resolve api.internal, client: 1.1.1.1, server: , request: \"GET /v/1 HTTP/1.1\", host: \"h\"".to_owned();
        let r = scan(&[
            line(
                "10:00:00",
                REFUSED,
                "GET /x HTTP/1.1",
                "http://10.0.0.5:8080/x",
                "h",
            ),
            no_resolver,
        ]);
        let d = diagnose(r, None, Some(&cfg));
        let refused = &d.findings[0];
        assert_eq!(refused.cause(), Cause::ConnectionRefused);
        assert_eq!(refused.handler.as_ref().map(|h| h.line), Some(4));
        assert!(
            refused.notes.iter().any(|n| n.contains("resolved by DNS")),
            "{:?}",
            refused.notes
        );
        let resolver = &d.findings[1];
        assert_eq!(resolver.cause(), Cause::NoResolver);
        assert_eq!(resolver.handler.as_ref().map(|h| h.line), Some(5));
        assert!(resolver.fix.contains("add `resolver`"), "{}", resolver.fix);
        assert_eq!(resolver.rule, Some(crate::codes::RuleId::GW204));
    }

    #[test]
    fn stream_and_startup_lines() {
        let t = tree(
            "events {}\nhttp {\n upstream app { server app.internal:3000; }\n server { listen 80; location / { proxy_pass http://127.0.0.1:1; } }\n}",
        );
        let cfg = ResolvedConfig::build(&t);
        let r = scan(&[
            "2026/11/26 10:00:00 [error] 7#7: *3 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: 0.0.0.0:5432, upstream: \"10.0.0.1:5432\", bytes from/to client:0/0, bytes from/to upstream:0/0".to_owned(),
            "nginx: [emerg] host not found in upstream \"app.internal:3000\" in /etc/nginx/nginx.conf:3".to_owned(),
        ]);
        let d = diagnose(r, None, Some(&cfg));
        assert_eq!(d.findings.len(), 2);
        let stream = d
            .findings
            .iter()
            .find(|f| f.cause() == Cause::ConnectionRefused)
            .unwrap_or_else(|| panic!("no stream finding"));
        assert!(stream.server_block.is_none() && stream.handler.is_none());
        assert!(stream.notes[0].contains("stream"));
        let startup = d
            .findings
            .iter()
            .find(|f| f.cause() == Cause::HostNotFound)
            .unwrap_or_else(|| panic!("no startup finding"));
        assert!(startup.server_block.is_none());
        assert_eq!(
            startup
                .upstream_server
                .as_ref()
                .map(|p| (p.line, p.text.as_str())),
            Some((3, "server app.internal:3000"))
        );
        assert!(
            startup.fix.contains("app.internal:3000 does not resolve"),
            "{}",
            startup.fix
        );
    }
}
