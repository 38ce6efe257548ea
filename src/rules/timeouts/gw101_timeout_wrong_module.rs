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
pub(crate) fn time_arg<'t>(
    node: &crate::config::RNode<'t>,
) -> Option<(crate::syntax::WordRef<'t>, u64)> {
    let value = node.directive.args().first()?;
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
fn reach(cfg: &ResolvedConfig<'_>, cache: &OuterReach, id: NodeId) -> Option<Reach> {
    let node = cfg.node(id);
    let family = timeout_family(node.name())?;
    if !node.context.is_http_like() {
        return None;
    }
    let block = node.parent()?;
    // The families first, from the per-name masks: listing the handlers means walking every
    // block below, for each timeout (quadratic in nesting); only a finding needs the list.
    let families = cache.families_reached(cfg, block, node.name());
    if families == 0 || families & family_bit(family) != 0 {
        return None;
    }
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
        .parent()
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
        let r = reach(cfg, outer, e)?;
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
    let blocks: HashSet<NodeId> = places.iter().filter_map(|p| cfg.node(*p).parent()).collect();
    let outers: HashSet<NodeId> = blocks
        .iter()
        .filter_map(|b| cfg.node(*b).parent().and_then(|p| cfg.effective(p, new_name)))
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
                cfg.node(*h).parent().is_some_and(|hb| {
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

/// What the timeouts reach, computed once: the handlers each timeout set further out reaches
/// (every location asks about the same `server`-level line), and per timeout name the handler
/// families below each block.
#[derive(Default)]
pub(crate) struct OuterReach {
    handlers: RefCell<HashMap<NodeId, Handlers>>,
    /// Per block asked: the family bit ([`family_bit`]) of its own handler, 0 without one.
    own: RefCell<HashMap<NodeId, u8>>,
    /// Per timeout name, per block asked: the family bits of the handlers that a copy of the
    /// directive written in the block reaches below it ([`handlers_reached`] without the
    /// block's own handler).
    below: RefCell<HashMap<String, HashMap<NodeId, u8>>>,
}

/// Handlers with their family, shared between the questions that need them.
type Handlers = Rc<[(Family, NodeId)]>;

/// One bit per family, in [`Family::ALL`] order.
fn family_bit(family: Family) -> u8 {
    1 << (family as u8)
}

impl OuterReach {
    fn of(&self, cfg: &ResolvedConfig<'_>, outer: NodeId) -> Handlers {
        if let Some(known) = self.handlers.borrow().get(&outer) {
            return known.clone();
        }
        let n = cfg.node(outer);
        let reached: Handlers = match n.parent() {
            Some(block) => handlers_reached(cfg, block, n.name()).into(),
            None => Rc::from(Vec::new()),
        };
        self.handlers.borrow_mut().insert(outer, reached.clone());
        reached
    }

    /// The families of [`handlers_reached`]`(cfg, block, name)` as bits. Each block's answer
    /// below it is computed once per name from its children's (remembered), so asking at every
    /// level of a deep nest walks the nest once, not once per level.
    fn families_reached(&self, cfg: &ResolvedConfig<'_>, block: NodeId, name: &str) -> u8 {
        let mut own = self.own.borrow_mut();
        let mut own_bits = |b: NodeId| {
            *own.entry(b)
                .or_insert_with(|| cfg.handler(b).map_or(0, |(f, _)| family_bit(f)))
        };
        let mut by_name = self.below.borrow_mut();
        if !by_name.contains_key(name) {
            by_name.insert(name.to_owned(), HashMap::new());
        }
        let Some(below) = by_name.get_mut(name) else {
            return 0;
        };
        // Post-order with an explicit stack: a block is finished once its children are.
        let mut stack = vec![(block, false)];
        while let Some((b, children_done)) = stack.pop() {
            if below.contains_key(&b) {
                continue;
            }
            if !children_done {
                stack.push((b, true));
                stack.extend(
                    cfg.reached_children(b)
                        .filter(|c| !below.contains_key(c))
                        .map(|c| (c, false)),
                );
                continue;
            }
            let mut bits = 0;
            for c in cfg.reached_children(b) {
                // A block that sets its own copy is not reached; the blocks inside it are
                // still counted, as `handlers_reached` counts them.
                if cfg.last_child_named(Some(c), name).is_none() {
                    bits |= own_bits(c);
                }
                bits |= below.get(&c).copied().unwrap_or(0);
            }
            below.insert(b, bits);
        }
        own_bits(block) | below.get(&block).copied().unwrap_or(0)
    }
}

impl Rule for TimeoutWrongModule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let cfg = cx.config;
        // One decision per written directive: a snippet read at many places asks once.
        let mut renames: HashMap<Written, (Option<String>, Option<String>)> = HashMap::new();
        let outer = OuterReach::default();
        // Only the timeout directives can be findings: their nodes, in id order (the order a
        // walk over every node would give), asked by name instead of node by node.
        for id in cfg.nodes_where(|name| timeout_family(name).is_some()) {
            let Some(r) = reach(cfg, &outer, id) else {
                continue;
            };
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
                .diagnostic(&META, file, node.directive.name_word().span(), message)
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
            let uses = cx.file_uses();
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
                    vec![Edit::replace(file, node.directive.name_word().span(), new_name)],
                ));
            }
            out.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-name masks give the families the walk over every block below gives, for every
    /// block and timeout name, on a tree with nested locations, overrides, `if` blocks, handlers
    /// of several modules and a deep nest.
    #[test]
    fn masks_answer_as_the_walk_below_each_block() {
        let mut text = String::from(
            "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp {\n proxy_read_timeout 5s;\n server {\n  listen 80;\n  fastcgi_read_timeout 9s;\n  location / {\n   proxy_pass http://a;\n   location /x { fastcgi_pass unix:/s; proxy_read_timeout 1s; location /y { grpc_pass grpc://b; } }\n   if ($arg_a) { uwsgi_pass c:1; }\n  }\n  location /z { proxy_read_timeout 2s; location /w { scgi_pass d:1; } }\n",
        );
        for i in 0..40 {
            let pass = ["proxy_pass http://e;", "fastcgi_pass f:1;", ""][i % 3];
            let timeout = if i % 4 == 0 { "proxy_read_timeout 3s;" } else { "" };
            text.push_str(&format!("location /d{i} {{ {pass} {timeout}\n"));
        }
        text.push_str(&"}\n".repeat(40));
        text.push_str(" }\n}\n");
        let tree = crate::config::load_dump(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let cfg = ResolvedConfig::build(&tree);
        let names = ["proxy_read_timeout", "fastcgi_read_timeout", "grpc_send_timeout"];
        let cache = OuterReach::default();
        let mut blocks = 0;
        // Asked in both orders, so answers remembered from either direction are checked.
        let ids: Vec<NodeId> = cfg.ids().collect();
        for id in ids.iter().chain(ids.iter().rev()) {
            if cfg.node(*id).directive.block().is_none() {
                continue;
            }
            blocks += 1;
            for name in names {
                let walked = handlers_reached(&cfg, *id, name)
                    .iter()
                    .fold(0, |bits, (f, _)| bits | family_bit(*f));
                assert_eq!(
                    cache.families_reached(&cfg, *id, name),
                    walked,
                    "{name} at {}",
                    cfg.node(*id).directive.head_span().start()
                );
            }
        }
        assert!(blocks > 80, "{blocks}");
    }
}
