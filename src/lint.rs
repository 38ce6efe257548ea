//! One check run: load a tree, expand it, run the rules, keep what the user selected.

use crate::config::{ConfigTree, ResolvedConfig};
use crate::diagnostic::Diagnostic;
use crate::directives::Directives;
use crate::rules::{self, LintContext};
use crate::settings::Settings;

/// Which rules the user asked for (`--select`, `--ignore`; ids, names or family prefixes).
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

impl Selection {
    pub fn allows(&self, rule_id: &str) -> bool {
        let Some(meta) = rules::meta_by_id_or_name(rule_id) else {
            return true;
        };
        // Parse errors are never hidden: nothing else is checked while they exist.
        if meta.id == "GW001" {
            return true;
        }
        let selected =
            self.select.is_empty() || self.select.iter().any(|s| rules::selector_matches(s, meta));
        let ignored = self.ignore.iter().any(|s| rules::selector_matches(s, meta));
        selected && !ignored
    }

    /// Every selector must name a rule or a family: a typo must not silently disable checks.
    pub fn validate(&self) -> Result<(), String> {
        for s in self.select.iter().chain(&self.ignore) {
            if !rules::all_meta().any(|m| rules::selector_matches(s, m)) {
                return Err(format!("`{s}` matches no rule (see `nginx-gwlint rules`)"));
            }
        }
        Ok(())
    }
}

/// Lints a loaded tree.
pub fn lint(tree: &ConfigTree, settings: &Settings, selection: &Selection) -> Vec<Diagnostic> {
    let config = ResolvedConfig::build(tree);
    let directives = Directives::for_run(settings).with_loaded_modules(&config);
    let cx = LintContext {
        tree,
        config: &config,
        settings,
        directives: &directives,
    };
    let mut out = rules::run(&cx);
    out.retain(|d| selection.allows(d.rule));
    out
}
