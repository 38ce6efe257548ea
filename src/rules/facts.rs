//! Facts several rules read, computed once per run on first use and kept in the
//! [`LintContext`](super::LintContext): the handler directives with their parsed addresses,
//! which files nginx reads at more than one place, the variables the configuration defines,
//! and its regexes compiled. Before, each rule that needed one rebuilt it (eight rules listed
//! and re-parsed every `*_pass`, eight stat'ed every file for [`FileUses`], three compiled every
//! `location ~`). A rule that finds its input empty returns early.

use std::sync::OnceLock;

use super::common::FileUses;
use crate::address::Address;
use crate::config::{Family, NodeId, ResolvedConfig};
use crate::directives::DirectiveTable;
use crate::semantic::sites::{self, CompiledSite};
use crate::semantic::variables::Defined;

/// One handler directive (`proxy_pass`, `fastcgi_pass`, ...) in an http location, `if` or
/// `limit_except` ([`ResolvedConfig::pass_directives`]), read once.
#[derive(Debug)]
pub(crate) struct Pass {
    pub node: NodeId,
    pub family: Family,
    /// [`ResolvedConfig::pass_address`]: `None` without an argument.
    pub address: Option<Address>,
    /// [`ResolvedConfig::pass_upstream`]: the `upstream` block the address names.
    pub upstream: Option<NodeId>,
}

/// The cache; each field is filled by the first rule that asks.
#[derive(Default)]
pub(crate) struct Facts<'t> {
    passes: OnceLock<Vec<Pass>>,
    handled: OnceLock<Vec<(NodeId, Family, NodeId)>>,
    file_uses: OnceLock<FileUses>,
    defined: OnceLock<Defined>,
    regexes: OnceLock<Vec<CompiledSite<'t>>>,
}

impl<'t> Facts<'t> {
    /// Every handler directive, in node order.
    pub fn passes(&self, config: &ResolvedConfig<'t>) -> &[Pass] {
        self.passes.get_or_init(|| {
            config
                .pass_directives()
                .map(|(node, family)| {
                    let address = config.pass_address(node);
                    // The same lookup as `pass_upstream`, without parsing the address again.
                    let upstream = address
                        .as_ref()
                        .and_then(Address::name)
                        .and_then(|name| config.upstream_block(name));
                    Pass {
                        node,
                        family,
                        address,
                        upstream,
                    }
                })
                .collect()
        })
    }

    /// Every block with a handler ([`ResolvedConfig::handler`]: the last `*_pass` among its
    /// children), in node order, with the handler's family and node. Only the parents of
    /// `*_pass` directives are asked, not every node.
    pub fn handled_blocks(&self, config: &ResolvedConfig<'t>) -> &[(NodeId, Family, NodeId)] {
        self.handled.get_or_init(|| {
            let mut blocks: Vec<NodeId> = Family::ALL
                .iter()
                .flat_map(|f| config.nodes_named(f.pass_directive()))
                .filter_map(|id| config.node(*id).parent)
                .collect();
            blocks.sort_unstable();
            blocks.dedup();
            blocks
                .into_iter()
                .filter_map(|b| config.handler(b).map(|(f, pass)| (b, f, pass)))
                .collect()
        })
    }

    /// Which files nginx reads at more than one place ([`FileUses::of`]: one stat per file).
    pub fn file_uses(&self, config: &ResolvedConfig<'t>) -> &FileUses {
        self.file_uses.get_or_init(|| FileUses::of(config))
    }

    /// Every regex of the configuration with what compiling it gave
    /// ([`sites::compiled_regex_sites`]).
    pub fn regexes(&self, config: &ResolvedConfig<'t>) -> &[CompiledSite<'t>] {
        self.regexes
            .get_or_init(|| sites::compiled_regex_sites(config))
    }

    /// The variables the configuration defines
    /// ([`crate::semantic::refs::defined_variables`]).
    pub fn defined(&self, config: &ResolvedConfig<'t>, table: &DirectiveTable) -> &Defined {
        self.defined.get_or_init(|| {
            crate::semantic::refs::defined_variables_with(config, table, self.regexes(config))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "events {}\nhttp {\n    upstream app { server 127.0.0.1:3000; }\n    server {\n        listen 80;\n        location / { proxy_pass http://app; }\n        location /api { proxy_pass http://127.0.0.1:4000/; fastcgi_pass unix:/run/php/php8.2-fpm.sock; }\n        location /none { root /srv; }\n        location /if { if ($arg_x) { grpc_pass grpc://127.0.0.1:50051; } }\n        location /empty { proxy_pass; }\n    }\n}\n";

    /// The cached passes answer as the per-rule lookups they replaced: `pass_directives`,
    /// `pass_address` and `pass_upstream`, in the same order.
    #[test]
    fn passes_answer_as_the_lookups_they_replace() {
        let tree = crate::config::test_tree(CONF);
        let config = ResolvedConfig::build(&tree);
        let facts = Facts::default();
        let cached: Vec<_> = facts
            .passes(&config)
            .iter()
            .map(|p| (p.node, p.family, p.address.clone(), p.upstream))
            .collect();
        let direct: Vec<_> = config
            .pass_directives()
            .map(|(node, family)| {
                (
                    node,
                    family,
                    config.pass_address(node),
                    config.pass_upstream(node),
                )
            })
            .collect();
        assert_eq!(cached, direct);
        assert_eq!(cached.len(), 5);
        assert_eq!(cached.iter().filter(|p| p.3.is_some()).count(), 1);
        // Asked twice, computed once: the same slice.
        assert!(std::ptr::eq(facts.passes(&config), facts.passes(&config)));
    }

    /// The rules run in parallel (`rules::run`) and share one `Facts`: asked from several
    /// threads at once, each fact is computed once and every thread gets that one.
    #[test]
    fn facts_asked_from_parallel_rules_are_computed_once() {
        let tree = crate::config::test_tree(CONF);
        let config = ResolvedConfig::build(&tree);
        let facts = Facts::default();
        let seen: Vec<(usize, usize)> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (
                            facts.passes(&config).as_ptr() as usize,
                            facts.handled_blocks(&config).as_ptr() as usize,
                        )
                    })
                })
                .collect();
            workers.into_iter().filter_map(|w| w.join().ok()).collect()
        });
        assert_eq!(seen.len(), 4);
        assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
        assert_eq!(facts.passes(&config).len(), 5);
    }

    /// The handled blocks are exactly the nodes for which `handler` answers, with its answer.
    #[test]
    fn handled_blocks_answer_as_handler_on_every_node() {
        let tree = crate::config::test_tree(CONF);
        let config = ResolvedConfig::build(&tree);
        let cached = Facts::default().handled_blocks(&config).to_vec();
        let direct: Vec<_> = config
            .iter()
            .filter_map(|(id, _)| config.handler(id).map(|(f, pass)| (id, f, pass)))
            .collect();
        assert_eq!(cached, direct);
        assert_eq!(cached.len(), 4);
    }
}
