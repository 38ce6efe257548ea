//! Facts several rules read, computed once per run on first use and kept in the
//! [`LintContext`](super::LintContext): the blocks with a handler, which files nginx reads at
//! more than one place, the variables the configuration defines,
//! and its regexes compiled. Before, each rule that needed one rebuilt it (eight rules listed
//! and re-parsed every `*_pass`, eight stat'ed every file for [`FileUses`], three compiled every
//! `location ~`). The handler directives with their parsed addresses are the config layer's
//! ([`ResolvedConfig::passes`]): its own questions read them too. A rule that finds its input
//! empty returns early.

use std::sync::OnceLock;

use super::common::FileUses;
use crate::config::{Family, NodeId, ResolvedConfig};
use crate::directives::DirectiveTable;
use crate::semantic::sites::{self, CompiledSite};
use crate::semantic::variables::Defined;

/// The cache; each field is filled by the first rule that asks.
#[derive(Default)]
pub(crate) struct Facts<'t> {
    handled: OnceLock<Vec<(NodeId, Family, NodeId)>>,
    file_uses: OnceLock<FileUses>,
    defined: OnceLock<Defined>,
    regexes: OnceLock<Vec<CompiledSite<'t>>>,
}

impl<'t> Facts<'t> {
    /// Every block with a handler ([`ResolvedConfig::handler`]: the last `*_pass` among its
    /// children), in node order, with the handler's family and node. Only the parents of
    /// `*_pass` directives are asked, not every node.
    pub fn handled_blocks(&self, config: &ResolvedConfig<'t>) -> &[(NodeId, Family, NodeId)] {
        self.handled.get_or_init(|| {
            let mut blocks: Vec<NodeId> = Family::ALL
                .iter()
                .flat_map(|f| config.nodes_named(f.pass_directive()))
                .filter_map(|id| config.node(*id).parent())
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

    /// The rules run in parallel (`rules::run`) and share one `Facts`: asked from several
    /// threads at once, each fact is computed once and every thread gets that one.
    #[test]
    fn facts_asked_from_parallel_rules_are_computed_once() {
        let tree = crate::config::test_tree(crate::config::HANDLERS_CONF);
        let config = ResolvedConfig::build(&tree);
        let facts = Facts::default();
        let seen: Vec<(usize, usize)> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (
                            config.passes().as_ptr() as usize,
                            facts.handled_blocks(&config).as_ptr() as usize,
                        )
                    })
                })
                .collect();
            workers.into_iter().filter_map(|w| w.join().ok()).collect()
        });
        assert_eq!(seen.len(), 4);
        assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
        assert_eq!(config.passes().len(), 5);
    }

    /// The handled blocks are exactly the nodes for which `handler` answers, with its answer.
    #[test]
    fn handled_blocks_answer_as_handler_on_every_node() {
        let tree = crate::config::test_tree(crate::config::HANDLERS_CONF);
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
