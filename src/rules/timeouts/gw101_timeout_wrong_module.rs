use std::cell::RefCell;
use foldhash::{HashMap, HashMapExt, HashSet};
use std::rc::Rc;

use super::common::{unread_include, FileUses, Written};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::{Family, NodeId, ResolvedConfig};
use crate::directives::Context;
use crate::diagnostic::{Diagnostic, Severity};
use crate::diagnostic::{Edit, Fix};

pub struct TimeoutWrongModule;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW101,
    severity: Severity::Error,
    summary: "a *_timeout of one module where another module's handler serves the request",
    fix: FixAvailability::Sometimes(crate::diagnostic::Applicability::Safe),
    options: None,
    doc: r#"## What it finds
A `proxy_*`, `fastcgi_*`, `grpc_*`, `uwsgi_*`, `scgi_*` or `memcached_*` connect/read/send
timeout where no request it reaches is handled by that module. Each module reads only its own
timeouts: `proxy_read_timeout` means nothing to a location served by `fastcgi_pass`.

A timeout in a location applies to that location and the locations and `if` blocks inside it.
A timeout in `server` or `http` is reported only when none of the locations it reaches uses
its module (setting `proxy_read_timeout` at server level for a mix of proxy and PHP locations
is fine).

## Why it matters
The timeout someone raised to stop a `504 Gateway Time-out` never takes effect: the handler
keeps its default (60s) and nginx keeps logging `upstream timed out (110: Connection timed
out) while reading response header from upstream` for the PHP script.

## Example
```nginx
location ~ \.php$ {
    fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    proxy_read_timeout 300s;      # ignored: this is a FastCGI location
}
```

## Use instead
```nginx
location ~ \.php$ {
    fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    fastcgi_read_timeout 300s;
}
```

## Fix safety
Safe: the directive is renamed to the handler's module, keeping its value, only when the
location has exactly one handler module and that module's directive is not already set in the
same block. In a snippet included from several places, only when that holds at every place
(the same rename everywhere). The renamed directive does what the author meant; nothing else
changes. Not offered when it would give a WebSocket location a `proxy_read_timeout` no longer
than nginx's 60s default (GW106's `min-timeout`): idle sockets would be closed sooner; nor when
the renamed line would override the same timeout set in `server` or `http` in the last
locations of its module that used it, leaving that one without effect."#,
};

const KINDS: [&str; 3] = ["_connect_timeout", "_read_timeout", "_send_timeout"];

/// The first argument of a directive and its value as an nginx time, when it is one (values
/// nginx would refuse are GW013's).
pub(crate) fn time_arg<'n>(
    node: &'n crate::config::RNode<'_>,
) -> Option<(&'n crate::syntax::Word, u64)> {
    let value = node.directive.args.first()?;
    crate::values::parse_msec(value.as_str()).map(|ms| (value, ms))
}

/// The module family of a connect/read/send timeout directive.
pub(crate) fn timeout_family(name: &str) -> Option<Family> {
    let family = Family::of_directive(name)?;
    let rest = &name[family.prefix().len()..];
    KINDS.contains(&rest).then_some(family)
}

/// What GW101 sees for a timeout directive at one place of the configuration: the handlers of
/// the requests it reaches, none of which is of its own module.
struct Reach {
    family: Family,
    block: NodeId,
    /// The handlers it reaches, in order (non-empty).
    handlers: Vec<(Family, NodeId)>,
    /// Their families, sorted, without repeats.
    families: Vec<Family>,
    /// Written in a location (or `if`, `limit_except`), not in server or http.
    in_location: bool,
}

/// The handlers of the blocks a directive `name` written in `block` reaches (those that do not
/// set their own).
fn handlers_reached(cfg: &ResolvedConfig<'_>, block: NodeId, name: &str) -> Vec<(Family, NodeId)> {
    let mut handlers = Vec::new();
    for reached in cfg.reached_blocks(block) {
        if reached != block && cfg.last_child_named(Some(reached), name).is_some() {
            continue; // overridden below: this copy does not reach there
        }
        if let Some(h) = cfg.handler(reached) {
            handlers.push(h);
        }
    }
    handlers
}

/// `None` when the directive at `id` is no timeout, reaches no handler, or reaches one of its
/// own module (then it has an effect: no finding).
fn reach(cfg: &ResolvedConfig<'_>, id: NodeId) -> Option<Reach> {
    let node = cfg.node(id);
    let family = timeout_family(node.name())?;
    if !node.context.is_http_like() {
        return None;
    }
    let block = node.parent?;
    let handlers = handlers_reached(cfg, block, node.name());
    if handlers.is_empty() || handlers.iter().any(|(f, _)| *f == family) {
        return None;
    }
    let mut families: Vec<Family> = handlers.iter().map(|(f, _)| *f).collect();
    families.sort();
    families.dedup();
    let in_location = matches!(
        cfg.node(block).inner_context(),
        Context::Location | Context::IfLocation | Context::LimitExcept
    );
    Some(Reach {
        family,
        block,
        handlers,
        families,
        in_location,
    })
}

/// The name this one place would rename the directive to: a location served by exactly one
/// other module, whose directive of that name the block does not set yet.
fn rename_here(
    cfg: &ResolvedConfig<'_>,
    outer: &OuterReach,
    id: NodeId,
    r: &Reach,
) -> Option<String> {
    if r.families.len() != 1 || !r.in_location {
        return None;
    }
    let name = cfg.node(id).name();
    let new_name = r.families[0].rename(name)?;
    if cfg.last_child_named(Some(r.block), &new_name).is_some()
        || unread_include(cfg, r.block).is_some()
    {
        return None;
    }
    (!exposes_outer(cfg, outer, id, r)).then_some(new_name)
}

/// True when the same directive is set further out and overridden here, and reaches no handler
/// now: renaming this one would let it reach this location's, where it has no effect either (a
/// new GW101 finding). Both are for the user to remove.
fn exposes_outer(cfg: &ResolvedConfig<'_>, cache: &OuterReach, id: NodeId, r: &Reach) -> bool {
    let name = cfg.node(id).name();
    let outer = cfg
        .node(r.block)
        .parent
        .and_then(|p| cfg.effective(p, name))
        .filter(|o| cfg.node(*o).context.is_http_like());
    let Some(outer) = outer else {
        return false;
    };
    cfg.last_child_named(Some(r.block), name) == Some(id) && cache.of(cfg, outer).is_empty()
}

/// The rename GW101 offers for the timeout at `id` (`proxy_read_timeout` -> the name it gets),
/// when it is right at every place the directive's file is read into (a snippet included from
/// a FastCGI and a proxy location must keep its name). GW104 asks this too, so that it does not
/// add a second `fastcgi_read_timeout` next to one GW101 is about to create.
pub(crate) fn offered_rename(
    cx: &LintContext<'_, '_>,
    uses: &FileUses,
    outer: &OuterReach,
    id: NodeId,
) -> Option<String> {
    let cfg = cx.config;
    let at = |e: NodeId| {
        let r = reach(cfg, e)?;
        rename_here(cfg, outer, e, &r).filter(|name| !shortens_websocket(cx, r.block, e, name))
    };
    let here = at(id)?;
    let places: Vec<NodeId> = if uses.read_once(cfg.node(id).file) {
        vec![id]
    } else {
        uses.expansions(cfg, id).collect()
    };
    if !places
        .iter()
        .all(|e| at(*e).is_some_and(|name| name == here))
    {
        return None;
    }
    (!silences_outer(cfg, outer, &places, &here)).then_some(here)
}

/// True when renaming the directives at `places` to `new_name` would leave a `new_name` set
/// further out without effect: every handler of its module it reaches is in a block that the
/// rename gives a value of its own (a new GW101 finding on that outer line).
fn silences_outer(
    cfg: &ResolvedConfig<'_>,
    cache: &OuterReach,
    places: &[NodeId],
    new_name: &str,
) -> bool {
    let Some(family) = timeout_family(new_name) else {
        return false;
    };
    let blocks: HashSet<NodeId> = places.iter().filter_map(|p| cfg.node(*p).parent).collect();
    let outers: HashSet<NodeId> = blocks
        .iter()
        .filter_map(|b| cfg.node(*b).parent.and_then(|p| cfg.effective(p, new_name)))
        .collect();
    outers.into_iter().any(|outer| {
        let own: Vec<NodeId> = cache
            .of(cfg, outer)
            .iter()
            .filter(|(f, _)| *f == family)
            .map(|(_, h)| *h)
            .collect();
        !own.is_empty()
            && own.iter().all(|h| {
                cfg.node(*h).parent.is_some_and(|hb| {
                    blocks.contains(&hb) || cfg.ancestors(hb).any(|a| blocks.contains(&a))
                })
            })
    })
}

/// True when renaming the timeout at `id` to `new_name` would give a WebSocket location a
/// `proxy_read_timeout` no longer than GW106's `min-timeout` (default 60s, nginx's own): the
/// dead value would start closing idle WebSockets sooner than the default does, which GW106
/// reports. Such a rename makes the location worse, so it is not offered.
fn shortens_websocket(cx: &LintContext<'_, '_>, block: NodeId, id: NodeId, new_name: &str) -> bool {
    if new_name != "proxy_read_timeout"
        || !cx.settings.enabled(crate::codes::RuleId::GW106)
        || super::common::upgrade_header(cx, block).is_none()
    {
        return false;
    }
    let min_ms = super::gw106_websocket_idle_timeout::min_timeout_ms(cx);
    time_arg(cx.config.node(id)).is_some_and(|(_, ms)| ms <= min_ms)
}

/// The rename offered for the timeout at `id` (whose reach is `r`), or why there is none when
/// the help should say it.
fn decide(
    cx: &LintContext<'_, '_>,
    uses: &FileUses,
    outer: &OuterReach,
    id: NodeId,
    r: &Reach,
) -> (Option<String>, Option<String>) {
    let cfg = cx.config;
    if let Some(name) = offered_rename(cx, uses, outer, id) {
        return (Some(name), None);
    }
    let node = cfg.node(id);
    let Some(new_name) = r.families[0].rename(node.name()) else {
        return (None, None);
    };
    if r.families.len() != 1 || !r.in_location {
        return (None, None);
    }
    let why = if let Some(inc) = unread_include(cfg, r.block) {
        format!(
            "no fix offered: this block includes {} ({}), which was not read: it may set `{new_name}` already",
            cfg.node(inc).arg(0).unwrap_or_default(),
            cx.where_is(inc)
        )
    } else if shortens_websocket(cx, r.block, id, &new_name) {
        format!(
            "no fix offered: as `proxy_read_timeout`, {} would close idle WebSocket connections this soon (GW106 reports it): remove the line, or set a long `proxy_read_timeout`",
            node.arg(0).unwrap_or_default()
        )
    } else if exposes_outer(cfg, outer, id, r) {
        format!(
            "no fix offered: this line overrides a `{}` set further out that reaches no other handler; renaming it would leave that one here without effect too: remove both",
            node.name()
        )
    } else if rename_here(cfg, outer, id, r).is_some_and(|n| silences_outer(cfg, outer, &[id], &n))
    {
        format!(
            "no fix offered: renaming would leave the `{new_name}` set further out without effect for every location of its module; set the value there, or remove this line"
        )
    } else {
        return (None, None);
    };
    (None, Some(why))
}

/// The handlers each timeout set further out reaches, computed once per directive: every
/// location asks about the same `server`-level line.
#[derive(Default)]
pub(crate) struct OuterReach(RefCell<HashMap<NodeId, Handlers>>);

/// Handlers with their family, shared between the questions that need them.
type Handlers = Rc<[(Family, NodeId)]>;

impl OuterReach {
    fn of(&self, cfg: &ResolvedConfig<'_>, outer: NodeId) -> Handlers {
        if let Some(known) = self.0.borrow().get(&outer) {
            return known.clone();
        }
        let n = cfg.node(outer);
        let reached: Handlers = match n.parent {
            Some(block) => handlers_reached(cfg, block, n.name()).into(),
            None => Rc::from(Vec::new()),
        };
        self.0.borrow_mut().insert(outer, reached.clone());
        reached
    }
}

impl Rule for TimeoutWrongModule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let cfg = cx.config;
        let uses = std::cell::OnceCell::new();
        // One decision per written directive: a snippet read at many places asks once.
        let mut renames: HashMap<Written, (Option<String>, Option<String>)> = HashMap::new();
        let outer = OuterReach::default();
        for id in cfg.ids() {
            let Some(r) = reach(cfg, id) else { continue };
            let node = cfg.node(id);
            let (first_family, first_handler) = r.handlers[0];
            let used: Vec<&str> = r.families.iter().map(|f| f.pass_directive()).collect();
            let message = if r.in_location {
                format!(
                    "`{}` has no effect here: this location is served by `{}` ({}), which reads `{}`",
                    node.name(),
                    first_family.pass_directive(),
                    cx.where_is(first_handler),
                    first_family.rename(node.name()).unwrap_or_default()
                )
            } else {
                format!(
                    "`{}` has no effect: no location it reaches uses `{}`; they use {}",
                    node.name(),
                    r.family.pass_directive(),
                    used.join(", ")
                )
            };
            let (file, _) = cfg.location(id);
            let mut d = cx
                .diagnostic(&META, file, node.directive.name.span, message)
                .with_help(format!(
                    "use the timeout of the module that handles the request: {}",
                    r.families
                        .iter()
                        .filter_map(|f| f.rename(node.name()))
                        .collect::<Vec<_>>()
                        .join(" / ")
                ));
            let (hf, hs) = cfg.location(first_handler);
            d = d.with_label(
                hf,
                hs,
                if r.in_location {
                    "the handler of this location"
                } else {
                    "a handler it reaches"
                },
            );
            let uses = uses.get_or_init(|| FileUses::of(cfg));
            let (rename, why_not) = renames
                .entry(uses.written(cfg, id))
                .or_insert_with(|| decide(cx, uses, &outer, id, &r))
                .clone();
            if let Some(why) = why_not {
                let help = d.help.take().unwrap_or_default();
                d = d.with_help(format!("{help}; {why}"));
            }
            if let Some(new_name) = rename {
                d = d.with_fix(Fix::safe(
                    format!("rename `{}` to `{new_name}`", node.name()),
                    vec![Edit::replace(file, node.directive.name.span, new_name)],
                ));
            }
            out.push(d);
        }
    }
}
