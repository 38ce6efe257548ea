use foldhash::{HashMap, HashSet, HashSetExt};

use super::common::{insert_in_block, unread_include, upgrade_header, FileUses};
use super::options::{OptionsSpec, Time};
use super::{gw101_timeout_wrong_module, gw103_timeout_masks_slow_backend};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::backends::Origin;
use crate::config::{Family, NodeId, DEFAULT_TIMEOUT_MS};
use crate::diagnostic::edits::insert_directive_after;
use crate::diagnostic::Fix;
use crate::diagnostic::{Diagnostic, Severity};
use crate::values::{describe_msec, format_msec};

pub struct BackendOutlivesNginx;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW104,
    severity: Severity::Error,
    summary: "the backend may work longer than nginx waits for it (504 while it keeps working)",
    fix: FixAvailability::Sometimes(crate::diagnostic::Applicability::Safe),
    options: Some(OptionsSpec::of::<Options>(&[(
        "margin",
        "added to the backend's limit when the fix raises nginx's read timeout",
    )])),
    doc: r#"## What it finds
A location whose backend is allowed to run longer than nginx waits for its answer:
- `fastcgi_pass` to a php-fpm pool whose PHP limit — `max_execution_time` (nginx's
  `fastcgi_param PHP_ADMIN_VALUE`, pool `php_admin_value`, nginx's `fastcgi_param PHP_VALUE`,
  pool `php_value`, that PHP version's php.ini, PHP's default 30s, in that order) or
  the pool's `request_terminate_timeout`, whichever is shorter — is longer than the effective
  `fastcgi_read_timeout` (default 60s);
- a `*_pass` to a backend declared in settings (`[[backend]] address, timeout`), or read from
  a gunicorn/uWSGI config given with `--app-config` (`timeout`, `harakiri`), whose limit is
  longer than the handler's read timeout.

Not reported for a pool: a location that passes it only its own status or ping page
(`location = /status` for `pm.status_path = /status`, or `location ~ ^/(status|ping)$` when
both are the pool's `pm.status_path` and `ping.path`), sending `SCRIPT_NAME
$fastcgi_script_name` without rewriting there. php-fpm answers those itself, comparing
SCRIPT_NAME with both paths before any script is opened, so no PHP limit applies. A prefix
location, or a regex matching anything else, keeps the finding.

The message says which value applies, where each side was set (with a note pointing into
php.ini or the pool file), and the window in which requests fail.

## Why it matters
nginx gives up first: the client gets `504 Gateway Time-out` and nginx logs `upstream timed
out (110: Connection timed out) while reading response header from upstream`, while PHP keeps
running the script to the end — the import finishes, the user sees an error, retries, and the
work runs twice. Raising `max_execution_time` for long imports without raising nginx's
timeout is the classic way to get here.

Note: on Linux `max_execution_time` counts CPU time only (`sleep()`, database and HTTP waits
do not count), so a script can run even longer than it says; `request_terminate_timeout` is
wall-clock time.

## Example
```nginx
# php.ini: max_execution_time = 120
location ~ \.php$ {
    fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    # fastcgi_read_timeout is the default 60s
}
```

## Use instead
```nginx
location ~ \.php$ {
    fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    fastcgi_read_timeout 125s;     # the PHP limit + a margin
}
```

## Fix safety
Safe: nginx's read timeout is raised to the backend's limit plus a margin (option `margin`,
5s), in the location that needs it: the value is replaced where that location sets it (also
inside a snippet it includes, when no other block includes that snippet, and in `server` or
`http` when every location of the module that value serves needs more time: it is raised to
the longest need there, since a new line in each location would leave it without effect), or
a directive is added after the handler line (at the start of the location when the handler
comes from a shared snippet). Requests that already succeed are unaffected; the ones that would have been
cut off with a 504 get the answer the backend was going to give.

The value stays within GW103's `max-timeout` (300s): the backend's limit itself when the
margin would cross it, and no fix when the limit is above it, since a request that long
belongs in a background job. No fix either when the timeout is set by a snippet included from
several places, or while GW101 is about to rename another module's timeout in the location
(the next fix pass raises the renamed one)."#,
};

/// GW104's options.
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
struct Options {
    margin: Time,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            margin: Time::new("5s"),
        }
    }
}

/// What nginx waits for and what the backend may take, for one handler.
struct Mismatch {
    backend_ms: u64,
    /// Who: "php-fpm pool [www]", "backend `api`".
    who: String,
    /// Which limit and where it is set: "max_execution_time, set at php.ini:3".
    origin: String,
    /// The file and span of the backend's limit, when it comes from a file we read.
    backend_at: Option<(crate::source::FileId, crate::syntax::Span)>,
}

impl Rule for BackendOutlivesNginx {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        // The backend's limit comes from a php-fpm pool or a declared backend's timeout
        // (`longest_backend_limit`): without either there is nothing to compare with.
        if cx.ws.php.pools().next().is_none()
            && cx.settings.backends.iter().all(|b| b.timeout_ms.is_none())
        {
            return;
        }
        let margin_ms = cx.options::<Options>(&META).margin.ms;
        let mut seen = HashSet::new();
        let needs = OuterNeeds::default();
        for &(_, family, pass) in cx.handled_blocks() {
            let uses = cx.file_uses();
            // A handler in a shared snippet is one finding for every location reading it: its
            // fix raises the timeout in each of them.
            let places: Vec<(NodeId, NodeId)> = uses
                .places(cx.config, pass, &mut seen)
                .into_iter()
                .filter_map(|place| {
                    let block = cx.config.block_of(place)?;
                    (cx.config.handler(block) == Some((family, place))).then_some((block, place))
                })
                .collect();
            let block_of: HashMap<NodeId, NodeId> = places.iter().map(|(b, p)| (*p, *b)).collect();
            let at = |place: NodeId, strict: bool| {
                let block = block_of.get(&place)?;
                finding_at(cx, uses, &needs, *block, family, place, margin_ms, strict)
            };
            let ids: Vec<NodeId> = places.iter().map(|(_, p)| *p).collect();
            let Some((first_place, (mut d, first_fix))) =
                ids.iter().find_map(|p| at(*p, true).map(|found| (*p, found)))
            else {
                continue;
            };
            let (edits, _) = uses.fix_for_places(&ids, |place, strict| {
                at(place, strict).map(|(_, fix)| fix.map(|f| f.edits).map_err(NoFix::into_text))
            });
            if edits.is_empty() {
                match first_fix {
                    Ok(_) => {}
                    Err(NoFix::TooLong(why)) => d = d.with_help(why),
                    Err(NoFix::Because(why)) => {
                        let help = d.help.take().unwrap_or_default();
                        d = d.with_help(format!("{help}; {why}"));
                    }
                }
            } else {
                let with_finding = ids.iter().filter(|p| at(**p, true).is_some()).count();
                let title = match first_fix {
                    Ok(fix) if with_finding == 1 => fix.title,
                    _ => format!(
                        "raise `{}_read_timeout` wherever {} is included",
                        family.prefix(),
                        cx.tree.sources.get(cx.config.node(pass).file).display
                    ),
                };
                d = d.with_fix(Fix::safe(title, edits));
            }
            let read_name = format!("{}_read_timeout", family.prefix());
            match block_of.get(&first_place) {
                Some(block) => out.push(cx.hedged(d, *block, &[read_name.as_str()])),
                None => out.push(d),
            }
        }
    }
}

/// The finding for the handler `pass` of `block`, and its fix or why there is none.
#[allow(clippy::too_many_arguments)]
fn finding_at(
    cx: &LintContext<'_, '_>,
    uses: &FileUses,
    needs: &OuterNeeds,
    block: NodeId,
    family: Family,
    pass: NodeId,
    margin_ms: u64,
    strict: bool,
) -> Option<(Diagnostic, Result<Fix, NoFix>)> {
    // WebSocket locations: the read timeout is an idle timeout there (GW106).
    if upgrade_header(cx, block).is_some() {
        return None;
    }
    let read_name = format!("{}_read_timeout", family.prefix());
    let nginx = cx.effective_time(block, &read_name, DEFAULT_TIMEOUT_MS);
    let m = longest_backend_limit(cx, family, block, pass)?;
    if m.backend_ms <= nginx.ms {
        return None;
    }
    let nginx_origin = match nginx.set_by {
        Some(id) => format!("set at {}", cx.where_is(id)),
        None => "nginx's default".to_owned(),
    };
    let (pf, ps) = cx.config.location(pass);
    let mut d = cx
        .diagnostic(
            &META,
            pf,
            ps,
            format!(
                "nginx waits {} for this backend (`{read_name}`, {nginx_origin}) but {} may work for {} ({}): requests taking longer get 504 while the backend keeps working",
                describe_msec(nginx.ms),
                m.who,
                describe_msec(m.backend_ms),
                m.origin
            ),
        )
        .with_help(format!(
            "raise `{read_name}` in this location to at least {} (or lower the backend's limit)",
            format_msec(m.backend_ms + margin_ms)
        ));
    if let Some((f, s)) = m.backend_at {
        d = d.with_label(f, s, "the backend's limit is set here");
    }
    if let Some(id) = nginx.set_by {
        let (f, s) = cx.config.location(id);
        d = d.with_label(f, s, "nginx's read timeout for this location");
    }
    let fix = raise_fix(
        cx,
        uses,
        needs,
        strict,
        block,
        pass,
        nginx.set_by,
        &read_name,
        m.backend_ms,
        margin_ms,
    );
    Some((d, fix))
}

/// The longest limit among the backends a handler reaches (php-fpm pools, declared backends).
fn longest_backend_limit(
    cx: &LintContext<'_, '_>,
    family: Family,
    block: NodeId,
    pass: NodeId,
) -> Option<Mismatch> {
    let mut best: Option<Mismatch> = None;
    let from_nginx = php_value_from_fastcgi_param(cx, block);
    for (addr, _) in cx.config.pass_targets(pass) {
        let mut candidates = Vec::new();
        if family == Family::FastCgi {
            for pool in cx.pools_for(&addr) {
                // php-fpm answers its own status/ping page: no script runs there.
                if serves_only_fpm_pages(cx, block, pool) {
                    continue;
                }
                let mut met = cx.ws.php.max_execution_time(pool);
                let mut met_from_nginx = None;
                if let Some((secs, admin, node)) = from_nginx {
                    // PHP_VALUE changes what php_value/php.ini set, not a pool's
                    // php_admin_value; PHP_ADMIN_VALUE changes both.
                    if admin || !matches!(met.origin, Origin::PhpAdminValue(_)) {
                        met.value = secs;
                        met_from_nginx = Some(node);
                    }
                }
                let rtt = cx.ws.php.request_terminate_timeout(pool);
                // PHP stops at the shorter of its two limits; 0 means unlimited.
                let pick = match (met.value, rtt.value) {
                    (0, 0) => None,
                    (m, 0) => Some((m, &met, "max_execution_time")),
                    (0, r) => Some((r, &rtt, "request_terminate_timeout")),
                    (m, r) if m <= r => Some((m, &met, "max_execution_time")),
                    (_, r) => Some((r, &rtt, "request_terminate_timeout")),
                };
                let Some((secs, eff, what)) = pick else {
                    continue;
                };
                let nginx_set = met_from_nginx.filter(|_| what == "max_execution_time");
                let origin = match (&eff.origin, nginx_set) {
                    (_, Some(node)) => {
                        format!("{what}, set by fastcgi_param at {}", cx.where_is(node))
                    }
                    (Origin::Default, None) => format!("{what}, PHP's default"),
                    (o, None) => o.location().map_or_else(
                        || what.to_owned(),
                        |l| format!("{what}, set at {}", cx.where_is_php(l)),
                    ),
                };
                let backend_at = match nginx_set {
                    Some(node) => Some(cx.config.location(node)),
                    None => eff.origin.location().and_then(|l| cx.ws.php_location(l)),
                };
                candidates.push(Mismatch {
                    backend_ms: secs.saturating_mul(1000),
                    who: format!("php-fpm pool [{}]", pool.name),
                    origin,
                    backend_at,
                });
            }
        }
        if let Some(b) = cx.declared_backend_for(&addr) {
            if let Some(ms) = b.timeout_ms {
                candidates.push(Mismatch {
                    backend_ms: ms,
                    who: format!("backend `{}`", b.name),
                    origin: format!("timeout declared in {}", b.origin),
                    backend_at: None,
                });
            }
        }
        for c in candidates {
            if best.as_ref().is_none_or(|b| c.backend_ms > b.backend_ms) {
                best = Some(c);
            }
        }
    }
    best
}

/// Whether every request `block` passes to `pool` is the pool's `pm.status_path` or
/// `ping.path`. php-fpm compares the request's SCRIPT_NAME with both (strcmp in
/// fpm_status_handle_request, which fpm_main.c calls before the script is opened) and answers
/// itself: no script runs, so max_execution_time and request_terminate_timeout never apply.
/// Conservative: only a `location = PATH`, or `location ~ ^...$` of literal alternatives,
/// that sends `SCRIPT_NAME $fastcgi_script_name` and neither rewrites nor tries files there.
fn serves_only_fpm_pages(
    cx: &LintContext<'_, '_>,
    block: NodeId,
    pool: &crate::backends::Pool,
) -> bool {
    let pages: Vec<&str> = [&pool.pm_status_path, &pool.ping_path]
        .into_iter()
        .flatten()
        .map(|p| p.value.as_str())
        .collect();
    if pages.is_empty() {
        return false;
    }
    let config = cx.config;
    let node = config.node(block);
    if node.name() != "location" {
        return false;
    }
    let paths = match crate::semantic::sites::location_form(node.directive) {
        Some(crate::semantic::sites::LocationForm::Exact(p)) => vec![p.to_owned()],
        Some(crate::semantic::sites::LocationForm::Regex {
            pattern,
            caseless: false,
            ..
        }) => match anchored_literals(pattern) {
            Some(paths) => paths,
            None => return false,
        },
        _ => return false,
    };
    // $fastcgi_script_name appends fastcgi_index to a URI ending in `/`.
    if paths
        .iter()
        .any(|p| p.ends_with('/') || !pages.contains(&p.as_str()))
    {
        return false;
    }
    // The URI may change inside the location, or go elsewhere.
    if ["rewrite", "try_files", "return"]
        .iter()
        .any(|name| config.effective(block, name).is_some())
    {
        return false;
    }
    if let Some(split) = config.effective(block, "fastcgi_split_path_info") {
        let Some(Ok(re)) = config
            .node(split)
            .arg(0)
            .map(|p| crate::semantic::regex::compile(p, false))
        else {
            return false;
        };
        if paths
            .iter()
            .any(|p| crate::semantic::regex::is_match(&re, p))
        {
            return false;
        }
    }
    let script_names: Vec<NodeId> = config
        .effective_array(block, "fastcgi_param")
        .into_iter()
        .filter(|id| config.node(*id).arg(0) == Some("SCRIPT_NAME"))
        .collect();
    !script_names.is_empty()
        && script_names
            .iter()
            .all(|id| config.node(*id).arg(1) == Some("$fastcgi_script_name"))
}

/// The strings a regex `^...$` matches when it is made of literal characters and groups of
/// literal alternatives (`^/(status|ping)$`); `None` for anything else (at most 64 strings).
fn anchored_literals(pattern: &str) -> Option<Vec<String>> {
    let body = pattern.strip_prefix('^')?.strip_suffix('$')?;
    if body.ends_with('\\') {
        return None;
    }
    let chars: Vec<char> = body.chars().collect();
    let mut pos = 0;
    let out = literal_sequence(&chars, &mut pos, false)?;
    (pos == chars.len()).then_some(out)
}

/// A sequence of literals and groups up to `)` (inside a group) or the end; `|` only inside a
/// group (at the top it would leave the anchors on one side).
fn literal_sequence(chars: &[char], pos: &mut usize, in_group: bool) -> Option<Vec<String>> {
    let mut alternatives = Vec::new();
    let mut current = vec![String::new()];
    while let Some(&c) = chars.get(*pos) {
        match c {
            ')' if in_group => break,
            '|' if in_group => {
                *pos += 1;
                alternatives.append(&mut current);
                current = vec![String::new()];
            }
            '(' => {
                *pos += 1;
                if chars.get(*pos..*pos + 2) == Some(&['?', ':']) {
                    *pos += 2;
                }
                let inner = literal_sequence(chars, pos, true)?;
                if chars.get(*pos) != Some(&')') {
                    return None;
                }
                *pos += 1;
                let mut next = Vec::new();
                for head in &current {
                    for tail in &inner {
                        next.push(format!("{head}{tail}"));
                    }
                }
                if next.len() > 64 {
                    return None;
                }
                current = next;
            }
            '\\' => {
                let escaped = *chars.get(*pos + 1)?;
                if escaped.is_ascii_alphanumeric() {
                    return None;
                }
                *pos += 2;
                current.iter_mut().for_each(|s| s.push(escaped));
            }
            c if c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '~') => {
                *pos += 1;
                current.iter_mut().for_each(|s| s.push(c));
            }
            _ => return None,
        }
    }
    alternatives.append(&mut current);
    Some(alternatives)
}

/// `max_execution_time` set from nginx for this location: `fastcgi_param PHP_VALUE
/// "max_execution_time=300";` (several settings are separated by newlines) or PHP_ADMIN_VALUE.
/// Returns (seconds, is admin, the fastcgi_param line).
fn php_value_from_fastcgi_param(
    cx: &LintContext<'_, '_>,
    block: NodeId,
) -> Option<(u64, bool, NodeId)> {
    let mut found: Option<(u64, bool, NodeId)> = None;
    for id in cx.config.effective_array(block, "fastcgi_param") {
        let node = cx.config.node(id);
        let admin = match node.arg(0) {
            Some(p) if p.eq_ignore_ascii_case("PHP_ADMIN_VALUE") => true,
            Some(p) if p.eq_ignore_ascii_case("PHP_VALUE") => false,
            _ => continue,
        };
        let Some(settings) = node.arg(1) else {
            continue;
        };
        for line in settings.split(['\n', ';']) {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            if key.trim() == "max_execution_time" {
                let secs = crate::backends::effective::php_timeout_seconds(value.trim());
                // An admin value wins over a plain one wherever they come from.
                if found.is_none_or(|(_, was_admin, _)| admin || !was_admin) {
                    found = Some((secs, admin, id));
                }
            }
        }
    }
    found
}

/// For each timeout set in `server` or `http`, the longest backend limit among the locations of
/// its module it is in force for, when every one of them needs more time (a GW104 finding):
/// raising it there fixes them all, where a new line in each would leave it without effect (a
/// GW101 finding). `None` when one of them is fine as it is. Computed once per directive.
#[derive(Default)]
struct OuterNeeds {
    need: std::cell::RefCell<HashMap<NodeId, Option<u64>>>,
    /// GW101's reach of such directives (asked while a rename is pending).
    reach: gw101_timeout_wrong_module::OuterReach,
}

fn outer_need(cx: &LintContext<'_, '_>, needs: &OuterNeeds, id: NodeId, name: &str) -> Option<u64> {
    if let Some(known) = needs.need.borrow().get(&id) {
        return *known;
    }
    let config = cx.config;
    let need = (|| {
        let outer = config.block_of(id)?;
        let family = Family::of_directive(name)?;
        let mut longest = None;
        for b in config.reached_blocks(outer) {
            let Some((f, pass)) = config.handler(b) else {
                continue;
            };
            if f != family || config.effective(b, name) != Some(id) {
                continue;
            }
            if upgrade_header(cx, b).is_some() {
                return None;
            }
            let m = longest_backend_limit(cx, family, b, pass)?;
            let nginx = cx.effective_time(b, name, DEFAULT_TIMEOUT_MS);
            if m.backend_ms <= nginx.ms {
                return None;
            }
            longest = longest.max(Some(m.backend_ms));
        }
        longest
    })();
    needs.need.borrow_mut().insert(id, need);
    need
}

/// Why a location gets no fix; each says so in the help.
enum NoFix {
    /// The value needed is itself a GW103 finding: the whole help is this text.
    TooLong(String),
    /// Where the value would go cannot be edited for this location alone (added to the help).
    Because(String),
}

impl NoFix {
    fn into_text(self) -> String {
        match self {
            NoFix::TooLong(why) | NoFix::Because(why) => why,
        }
    }
}

/// The fix for one location: the value nginx should wait, and where it goes.
///
/// - The value is the backend's limit plus the margin, kept within GW103's `max-timeout` when
///   GW103 would report it there (the backend's limit itself when that fits; else no fix: a
///   request that long belongs in a background job, not in a longer timeout).
/// - Set in this block (written there or by an include in it): its value is replaced, when the
///   file holding it is read at this place only; a second directive would be "is duplicate".
/// - A timeout of another module in this block that GW101 renames to `name`: nothing this
///   pass; once renamed, the next pass raises it in place.
/// - Else the directive is added after the handler line, or at the start of the block when the
///   handler comes from a snippet read at several places.
#[allow(clippy::too_many_arguments)]
fn raise_fix(
    cx: &LintContext<'_, '_>,
    uses: &FileUses,
    needs: &OuterNeeds,
    strict: bool,
    block: NodeId,
    pass: NodeId,
    set_by: Option<NodeId>,
    name: &str,
    backend_ms: u64,
    margin_ms: u64,
) -> Result<Fix, NoFix> {
    // Strict: only files read at this one place (see FileUses::fix_for_places).
    let editable = |file| !strict || uses.read_once(file);
    let config = cx.config;
    // Where the value goes: the directive in force when it is set in this block (a second one
    // would be "is duplicate"), or one set further out when every location of this module it
    // serves needs more (new lines in all of them would leave it without effect: GW101); else
    // a new line here.
    let in_place = match set_by {
        Some(id) if config.block_of(id) == Some(block) => Some((id, backend_ms)),
        Some(id) => outer_need(cx, needs, id, name).map(|longest| (id, longest.max(backend_ms))),
        None => None,
    };
    let backend_ms = in_place.map_or(backend_ms, |(_, ms)| ms);
    let in_place = in_place.map(|(id, _)| id);
    let home = in_place.and_then(|id| config.block_of(id)).unwrap_or(block);
    let mut ms = backend_ms.saturating_add(margin_ms);
    if gw103_timeout_masks_slow_backend::would_report(cx, home, ms) {
        ms = backend_ms;
        if gw103_timeout_masks_slow_backend::would_report(cx, home, ms) {
            return Err(NoFix::TooLong(format!(
                "a request that may take {} belongs in a background job (answer 202 and let the client poll for the result), or lower the backend's limit; no fix offered: a `{name}` that long is itself a finding (GW103, above its max-timeout of {})",
                describe_msec(backend_ms),
                describe_msec(gw103_timeout_masks_slow_backend::max_timeout_ms(cx))
            )));
        }
    }
    let value = format_msec(ms);
    let title = format!("set `{name} {value};` in this location");
    if let Some(id) = in_place {
        let node = config.node(id);
        if !editable(node.file) {
            return Err(NoFix::Because(format!(
                "no fix offered: `{name}` is set by {}, a file included from several places; change it there or in each including block",
                cx.where_is(id)
            )));
        }
        let arg = node
            .directive
            .args()
            .first()
            .ok_or_else(|| NoFix::Because(format!("no fix offered: `{name}` has no value")))?;
        let title = if home == block {
            title
        } else {
            format!(
                "raise `{name}` to {value} where it is set for this location ({})",
                cx.where_is(id)
            )
        };
        return Ok(Fix::safe(
            title,
            vec![crate::diagnostic::edits::replace_word(
                node.file, arg, &value,
            )],
        ));
    }
    if cx.settings.enabled(crate::codes::RuleId::GW101) {
        let pending = config.children(Some(block)).iter().find(|c| {
            let n = config.node(**c);
            n.name() != name
                && n.name().ends_with("_read_timeout")
                && gw101_timeout_wrong_module::offered_rename(cx, uses, &needs.reach, **c)
                    .as_deref()
                    == Some(name)
        });
        if let Some(other) = pending {
            return Err(NoFix::Because(format!(
                "no fix until GW101 renames `{}` ({}) to `{name}`; `--fix` then raises that one in place",
                config.node(*other).name(),
                cx.where_is(*other)
            )));
        }
    }
    if let Some(inc) = unread_include(config, block) {
        return Err(NoFix::Because(format!(
            "no fix offered: this location includes {} ({}), which was not read: it may set `{name}` already",
            config.node(inc).arg(0).unwrap_or_default(),
            cx.where_is(inc)
        )));
    }
    let line = format!("{name} {value};");
    let pass_node = config.node(pass);
    if editable(pass_node.file) {
        return Ok(Fix::safe(
            title,
            vec![insert_directive_after(
                pass_node.file,
                cx.tree.sources.get(pass_node.file),
                pass_node.directive.span(),
                &line,
            )],
        ));
    }
    // The handler comes from a snippet shared with other blocks: add it to this block itself.
    let block_node = config.node(block);
    match insert_in_block(config, block, &[line.as_str()]) {
        Some(edit) if editable(block_node.file) => Ok(Fix::safe(title, vec![edit])),
        _ => Err(NoFix::Because(format!(
            "no fix offered: this block and its handler come from files included from several places ({}); set `{name}` where it applies to this location only",
            cx.tree.sources.get(block_node.file).display
        ))),
    }
}
