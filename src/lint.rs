//! One check run: load a tree, expand it, run the rules, keep what the user selected.

use crate::codes::RuleId;
use crate::config::ResolvedConfig;
use crate::diagnostic::Diagnostic;
use crate::rules::{self, LintContext};
use crate::settings::{FileSelection, Settings};
use crate::suppress;
use crate::workspace::Workspace;

/// Which rules the user asked for on the command line: `--select`, `--ignore` (ids, names or
/// family prefixes). Combined with the settings file's `select`, `extend-select` and `ignore`
/// ([`Selection::allows_with`]) the command line wins, as in ruff: `--select` replaces the
/// file's `select`, and a rule it names runs even when the file ignores or disables it.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

impl Selection {
    /// True when `--select` names this rule (it then runs whatever the settings file says).
    pub fn explicitly_selected(&self, rule: RuleId) -> bool {
        self.select
            .iter()
            .any(|s| !s.trim().eq_ignore_ascii_case("all") && rule.matches_selector(s))
    }

    /// The command-line selection alone.
    pub fn allows(&self, rule_id: &str) -> bool {
        self.allows_with(&FileSelection::default(), rule_id)
    }

    /// The command-line selection combined with a settings file's, for a rule id or name.
    pub fn allows_with(&self, file: &FileSelection, rule_id: &str) -> bool {
        RuleId::from_code_or_name(rule_id).is_none_or(|rule| self.allows_rule(file, rule))
    }

    /// [`Selection::allows_with`] for a rule.
    pub fn allows_rule(&self, file: &FileSelection, rule: RuleId) -> bool {
        // Parse errors are never hidden: nothing else is checked while they exist.
        if rule == RuleId::GW001 {
            return true;
        }
        let matches = |list: &[String]| list.iter().any(|s| rule.matches_selector(s));
        let base = if !self.select.is_empty() {
            matches(&self.select)
        } else if let Some(select) = &file.select {
            matches(select)
        } else {
            true
        };
        let selected = base || matches(&file.extend_select);
        let ignored =
            matches(&self.ignore) || (matches(&file.ignore) && !self.explicitly_selected(rule));
        selected && !ignored
    }

    /// Every selector must name a rule or a family: a typo must not silently disable checks.
    pub fn validate(&self) -> Result<(), String> {
        for s in self.select.iter().chain(&self.ignore) {
            if !RuleId::selector_is_known(s) {
                return Err(format!("`{s}` matches no rule (see `nginx-gwlint rules`)"));
            }
        }
        Ok(())
    }
}

/// Lints a workspace.
pub fn lint(ws: &Workspace, settings: &Settings, selection: &Selection) -> Vec<Diagnostic> {
    check(ws, settings, selection, false)
}

/// [`lint`], and with `probe` also the live-system findings of `check --probe` (refused
/// connects, missing sockets, permissions) for every upstream address the configuration names.
/// Both go through the same suppressions, from one expansion of the tree.
pub fn check(
    ws: &Workspace,
    settings: &Settings,
    selection: &Selection,
    probe: bool,
) -> Vec<Diagnostic> {
    let config = ResolvedConfig::build(&ws.tree);
    let loaded = config
        .children(None)
        .iter()
        .map(|id| config.node(*id))
        .filter(|n| n.name() == "load_module")
        .filter_map(|n| n.arg(0));
    let directives = settings.directives_view().with_loaded_modules(loaded);
    let cx = LintContext {
        tree: &ws.tree,
        config: &config,
        settings,
        ws,
        directives: &directives,
        resolutions: Default::default(),
        facts: Default::default(),
    };
    let mut out = rules::run(&cx, |meta| {
        selection.allows_rule(&settings.selection, meta.id)
    });
    if probe && !ws.tree.has_parse_errors() {
        out.extend(crate::probe::run(ws, &config, settings));
    }
    // A suppression of a rule that did not run (off in settings, left out of --select) is not
    // called unused: only rules that ran are judged.
    let mut suppressions = suppress::collect(&ws.tree);
    suppress::apply(&mut suppressions, &mut out);
    let ran = rules::all_meta()
        .filter(|m| rules::runs(&cx, m) && selection.allows_rule(&settings.selection, m.id))
        .map(|m| m.id.code())
        .collect();
    let mut unused = suppress::unused(&suppressions, &ws.tree, settings, &ran);
    // `ignore-file GW005` silences these too.
    suppress::apply(&mut suppressions, &mut unused);
    out.extend(unused);
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out.retain(|d| selection.allows_with(&settings.selection, d.rule));
    let files = &settings.selection;
    if !files.exclude.is_empty() || !files.per_file_ignores.is_empty() {
        out.retain(|d| {
            let path = &ws.tree.sources.get(d.file).path;
            let ignored = RuleId::from_code_or_name(d.rule)
                .is_some_and(|id| id != RuleId::GW001 && files.ignores_in(id, path));
            // A file that does not parse is never hidden: nothing is checked while it exists.
            !(ignored || (d.rule != RuleId::GW001.code() && files.excludes(path)))
        });
    }
    out
}
