//! What GW010-GW014 share: which directives are checked, and how a directive resolves against
//! the directive table the way `ngx_conf_handler` looks it up. Each directive gets at most one of
//! "unknown" (GW010), "not allowed here" (GW011), wrong shape (GW012), and only a directive that
//! passes those is checked for its value (GW013) and duplicates (GW014), because nginx stops at
//! the first of these errors too.

use super::LintContext;
use crate::config::{NodeId, RNode};
use crate::directives::Context;
use crate::directives::{DirectiveSpec, Lookup};

/// Directives written where nginx dispatches them through its command tables. The bodies of
/// `map`, `geo`, `types`, ... are entries read by the block's own handler, and nothing inside a
/// block nginx-gwlint does not know (a third-party module's) can be judged.
pub(crate) fn checked_nodes<'c, 't>(
    cx: &'c LintContext<'_, 't>,
) -> impl Iterator<Item = (NodeId, &'c RNode<'t>)> + 'c {
    cx.config
        .iter()
        .filter(|(_, n)| !matches!(n.context, Context::Entries | Context::Unknown))
}

pub(crate) enum Resolution<'d> {
    /// No entry known to this run has the name.
    Unknown(Lookup<'d>),
    /// Known, but no known entry allows the context; the known entries.
    NotAllowed(Vec<&'d DirectiveSpec>),
    /// The entry nginx would use.
    Spec(&'d DirectiveSpec),
}

/// Every node's [`Resolution`]: the distinct answers, and per node the index of its own.
pub(crate) struct Resolutions<'d> {
    distinct: Vec<Resolution<'d>>,
    of_node: Vec<u32>,
}

pub(crate) fn resolve<'c, 'd>(cx: &'c LintContext<'d, '_>, id: NodeId) -> &'c Resolution<'d> {
    let all = cx.resolutions.get_or_init(|| {
        // The answer depends only on (name, context): a tree repeats a few hundred pairs
        // across its thousands of directives, so each pair is looked up once and each node
        // keeps a 4-byte index to it (a copy per node was a tenth of a run's memory). Asked
        // name by name (the by-name index), so no node's name is hashed; a name is written in
        // a handful of contexts at most.
        let config = cx.config;
        let mut distinct = Vec::new();
        let mut of_node = vec![u32::MAX; config.nodes.len()];
        let mut contexts: Vec<(Context, u32)> = Vec::new();
        for (_, ids) in config.names() {
            contexts.clear();
            for id in ids {
                let n = config.node(*id);
                let index = match contexts.iter().find(|(c, _)| *c == n.context) {
                    Some(&(_, i)) => i,
                    None => {
                        distinct.push(resolve_uncached(cx, n));
                        // At most one entry per node, and nodes are bounded far below u32.
                        let i = u32::try_from(distinct.len() - 1).unwrap_or(u32::MAX);
                        contexts.push((n.context, i));
                        i
                    }
                };
                if let Some(slot) = of_node.get_mut(id.index()) {
                    *slot = index;
                }
            }
        }
        Resolutions { distinct, of_node }
    });
    all.of_node
        .get(id.index())
        .and_then(|&i| all.distinct.get(i as usize))
        .unwrap_or(&UNRESOLVED)
}

/// What a node id outside the tree resolves to.
static UNRESOLVED: Resolution<'static> = Resolution::Unknown(Lookup::Unknown);

fn resolve_uncached<'d>(cx: &LintContext<'d, '_>, node: &RNode<'_>) -> Resolution<'d> {
    match cx.directives.lookup(node.name()) {
        Lookup::Known(specs) => match specs.iter().find(|s| s.allows_context(node.context)) {
            Some(spec) => Resolution::Spec(spec),
            None => Resolution::NotAllowed(specs),
        },
        other => Resolution::Unknown(other),
    }
}

/// The entry of a directive that nginx would accept as written (context, block, arity).
pub(crate) fn well_formed<'d>(cx: &LintContext<'d, '_>, id: NodeId) -> Option<&'d DirectiveSpec> {
    let node = cx.config.node(id);
    let &Resolution::Spec(spec) = resolve(cx, id) else {
        return None;
    };
    let shape_ok = spec.is_block() == node.directive.has_block()
        && spec.accepts_arg_count(node.directive.args().len());
    shape_ok.then_some(spec)
}

/// A context as people say it.
pub(crate) fn context_label(name: &str) -> &str {
    match name {
        "main" => "main (top level)",
        "if_server" => "if in server",
        "if_location" => "if in location",
        "stream_server" => "server in stream",
        "stream_upstream" => "upstream in stream",
        "mail_server" => "server in mail",
        "upstream" => "upstream (http)",
        "rtmp_server" => "server in rtmp",
        "rtmp_application" => "application in rtmp",
        "rtmp_recorder" => "recorder in rtmp",
        other => other,
    }
}
