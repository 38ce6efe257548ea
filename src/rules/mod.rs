//! The rule registry. One rule per file; each has an id (`GWnnn`), a kebab-case name, a default
//! severity, an `explain` page (what it finds, why it causes a 502/504, a bad and a good
//! example, fix safety) and a `check` that reads the resolved configuration.

pub(crate) mod common;
pub(crate) mod facts;
pub(crate) mod known_backends;
pub mod options;
pub(crate) mod structure;

use crate::config::{ConfigTree, ResolvedConfig};
use crate::diagnostic::{Applicability, Diagnostic, Severity};
use crate::directives::Directives;
use crate::settings::Settings;
use crate::workspace::Workspace;

/// Whether a rule's findings carry fixes, and the weakest applicability they may have (as in
/// ruff: availability on the rule, applicability on each fix): a rule declared safe emits only
/// safe fixes; one declared unsafe may emit safe and unsafe ones. The rule harness fails when a
/// finding's fix does not fit the declaration ([`FixAvailability::admits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixAvailability {
    /// No finding carries a fix.
    None,
    /// Some findings carry a fix, each at least this applicable.
    Sometimes(Applicability),
    /// Every finding carries a fix, each at least this applicable.
    Always(Applicability),
}

impl FixAvailability {
    /// What `--fix` needs for this rule's fixes: "none", "safe" (`--fix`), "unsafe"
    /// (`--unsafe-fixes` for some), or "display-only".
    pub fn as_str(self) -> &'static str {
        match self {
            FixAvailability::None => "none",
            FixAvailability::Sometimes(a) | FixAvailability::Always(a) => a.as_str(),
        }
    }

    /// Whether a finding's fix (or its lack) fits this declaration; the error says how not.
    pub fn admits(self, fix: Option<&crate::diagnostic::Fix>) -> Result<(), String> {
        match (self, fix) {
            (FixAvailability::None, None) | (FixAvailability::Sometimes(_), None) => Ok(()),
            (FixAvailability::None, Some(f)) => Err(format!(
                "declares no fix but emitted a {} fix \"{}\"",
                f.applicability.as_str(),
                f.title
            )),
            (FixAvailability::Always(_), None) => {
                Err("declares a fix on every finding but emitted none".to_owned())
            }
            (FixAvailability::Sometimes(min) | FixAvailability::Always(min), Some(f)) => {
                if f.applicability >= min {
                    Ok(())
                } else {
                    Err(format!(
                        "declares {} fixes but emitted a {} fix \"{}\"",
                        min.as_str(),
                        f.applicability.as_str(),
                        f.title
                    ))
                }
            }
        }
    }
}

/// The static description of a rule.
#[derive(Debug)]
pub struct RuleMeta {
    pub id: crate::codes::RuleId,
    pub severity: Severity,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// The long page printed by `explain` (Markdown).
    pub doc: &'static str,
    pub fix: FixAvailability,
    /// The rule's own settings keys, their documentation and their type (`None`: only
    /// `enabled` and `severity`).
    pub options: Option<options::OptionsSpec>,
}

/// Everything a rule may look at.
pub struct LintContext<'a, 't> {
    pub tree: &'t ConfigTree,
    pub config: &'a ResolvedConfig<'t>,
    pub settings: &'a Settings,
    /// The PHP side (pools, php.ini) and helpers to point into those files.
    pub ws: &'t Workspace,
    /// The directives known to this run (table, user declarations, sets, target version).
    pub directives: &'a Directives<'a>,
    /// How each node resolves against the directive table (GW010-GW014), computed once.
    pub(crate) resolutions: std::sync::OnceLock<structure::Resolutions<'a>>,
    /// What several rules read, computed once ([`facts`]).
    pub(crate) facts: facts::Facts<'t>,
}

impl<'t> LintContext<'_, 't> {
    /// Every handler directive with its address ([`ResolvedConfig::passes`]).
    pub(crate) fn passes(&self) -> &[crate::config::Pass] {
        self.config.passes()
    }

    /// Every block with a handler, with its family and node ([`facts::Facts::handled_blocks`]).
    pub(crate) fn handled_blocks(
        &self,
    ) -> &[(
        crate::config::NodeId,
        crate::config::Family,
        crate::config::NodeId,
    )] {
        self.facts.handled_blocks(self.config)
    }

    /// Which files nginx reads at more than one place ([`common::FileUses`]).
    pub(crate) fn file_uses(&self) -> &common::FileUses {
        self.facts.file_uses(self.config)
    }

    /// The configuration's regexes, compiled ([`facts::Facts::regexes`]).
    pub(crate) fn regexes(&self) -> &[crate::semantic::sites::CompiledSite<'t>] {
        self.facts.regexes(self.config)
    }

    /// The variables the configuration defines ([`facts::Facts::defined`]).
    pub(crate) fn defined_variables(&self) -> &crate::semantic::variables::Defined {
        self.facts.defined(self.config, self.directives.table)
    }
}

impl LintContext<'_, '_> {
    /// A diagnostic for `meta` with the configured severity.
    pub fn diagnostic(
        &self,
        meta: &'static RuleMeta,
        file: crate::source::FileId,
        span: crate::syntax::Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(
            meta.id.code(),
            meta.id.name(),
            self.settings.severity(meta.id).unwrap_or(meta.severity),
            file,
            span,
            message,
        )
    }
}

pub use crate::config::EffectiveTime;

impl LintContext<'_, '_> {
    /// The php-fpm pools listening where `addr` connects.
    pub fn pools_for(&self, addr: &crate::address::Address) -> Vec<&crate::backends::Pool> {
        self.ws
            .php
            .pools()
            .filter(|p| {
                p.listen
                    .as_ref()
                    .is_some_and(|l| addr.matches_listen(&l.value))
            })
            .collect()
    }

    /// The `[[backend]]` declared in settings at the address `addr` connects to.
    pub fn declared_backend_for(
        &self,
        addr: &crate::address::Address,
    ) -> Option<&crate::backends::DeclaredBackend> {
        self.settings
            .backends
            .iter()
            .find(|b| b.address.same_peer(addr))
    }

    /// The effective value of a time directive for `block` ([`ResolvedConfig::effective_time`]).
    pub fn effective_time(
        &self,
        block: crate::config::NodeId,
        name: &str,
        default_ms: u64,
    ) -> EffectiveTime {
        self.config.effective_time(block, name, default_ms)
    }

    /// `meta`'s options: the user's settings over the defaults of the options type `T`.
    pub fn options<T: serde::de::DeserializeOwned + Default>(&self, meta: &RuleMeta) -> T {
        options::read(self.settings, meta.id)
    }

    /// A finding that rests on what `names` are (or are not) at `block`, made honest about files
    /// that were not read: when one of them is not set where the rule looked and an unread
    /// include in scope (or the nginx.conf around a file checked on its own) may set it, the
    /// finding becomes info, says what could not be read, and loses its fix (adding a directive
    /// the unread file sets would be a duplicate nginx refuses).
    pub fn hedged(
        &self,
        mut d: Diagnostic,
        block: crate::config::NodeId,
        names: &[&str],
    ) -> Diagnostic {
        use crate::config::Scoped;
        let unknown =
            names
                .iter()
                .find_map(|name| match self.config.effective_scoped(block, name) {
                    Scoped::Unknown { include } => Some((*name, Some(include))),
                    Scoped::Outside => Some((*name, None)),
                    Scoped::Set(_) | Scoped::Unset => None,
                });
        let Some((name, include)) = unknown else {
            return d;
        };
        let why = match include {
            Some(inc) => format!(
                "`include {}` was not read and may set `{name}`",
                self.config.include_argument(inc)
            ),
            None => format!(
                "this file is checked on its own, and the blocks that include it may set `{name}`"
            ),
        };
        d.message = format!("{} (cannot tell for sure: {why})", d.message);
        d.severity = Severity::Info;
        d.fix = None;
        if let Some(inc) = include {
            let n = self.config.node(inc);
            d = d.with_label(
                n.file,
                n.directive.head_span(),
                format!("not read: may set `{name}`"),
            );
        }
        d
    }

    /// Where a name that the files read do not define (an upstream, a zone, a log format, a
    /// variable, a module's directive) may still be defined for nginx: an include at the main
    /// or http level that was not read, else the nginx.conf around a file checked on its own.
    /// `None` when everything nginx reads around these definitions was read.
    pub fn defined_elsewhere(&self) -> Option<Elsewhere> {
        use crate::directives::Context;
        let unread = self
            .config
            .unread_includes()
            .into_iter()
            .find(|id| matches!(self.config.node(*id).context, Context::Main | Context::Http));
        match unread {
            Some(include) => Some(Elsewhere::Unread(include)),
            None if self.tree.root_context != Context::Main => Some(Elsewhere::AroundThisFile),
            None => None,
        }
    }

    /// `d`, a finding that `what` is defined nowhere, made honest when it may be defined
    /// where this check could not look ([`Self::defined_elsewhere`]): info, no fix, the reason
    /// appended, and a label on the unread include.
    pub fn hedged_undefined(&self, d: Diagnostic, what: &str) -> Diagnostic {
        self.hedged_by(d, &format!("may define {what}"), self.defined_elsewhere())
    }

    /// [`Self::hedged_undefined`] for a name any level may define (a variable: `set $x` in
    /// one location declares `$x` for the whole configuration), so an unread include at any
    /// level counts.
    pub fn hedged_undefined_anywhere(&self, d: Diagnostic, what: &str) -> Diagnostic {
        let elsewhere = self.defined_elsewhere().or_else(|| {
            self.config
                .unread_includes()
                .first()
                .map(|inc| Elsewhere::Unread(*inc))
        });
        self.hedged_by(d, &format!("may define {what}"), elsewhere)
    }

    /// `d` made "cannot tell" for the reason `elsewhere` (nothing changes for `None`): what
    /// the unread file `may` do ("may set `keepalive_timeout`").
    pub fn hedged_by(
        &self,
        mut d: Diagnostic,
        may: &str,
        elsewhere: Option<Elsewhere>,
    ) -> Diagnostic {
        let Some(elsewhere) = elsewhere else {
            return d;
        };
        let why = match elsewhere {
            Elsewhere::Unread(inc) => format!(
                "`include {}` was not read and {may}",
                self.config.include_argument(inc)
            ),
            Elsewhere::AroundThisFile => format!(
                "this file is checked on its own, and the nginx.conf that includes it {may}"
            ),
        };
        d.message = format!("{} (cannot tell for sure: {why})", d.message);
        d.severity = Severity::Info;
        d.fix = None;
        if let Elsewhere::Unread(inc) = elsewhere {
            let n = self.config.node(inc);
            d = d.with_label(n.file, n.directive.head_span(), format!("not read: {may}"));
        }
        d
    }

    /// `file:line` of a node, for messages.
    pub fn where_is(&self, id: crate::config::NodeId) -> String {
        let (file, span) = self.config.location(id);
        let f = self.tree.sources.get(file);
        format!("{}:{}", f.display, f.lines.line(span.start()))
    }

    /// `file:line` of a value read from a PHP file.
    pub fn where_is_php<T>(&self, located: &crate::backends::Located<T>) -> String {
        match self.ws.php_location(located) {
            Some((file, _)) => format!("{}:{}", self.tree.sources.get(file).display, located.line),
            None => format!("{}:{}", located.file.display(), located.line),
        }
    }
}

/// See [`LintContext::defined_elsewhere`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elsewhere {
    /// This `include` was not read (at the main or http level; at any level for variables).
    Unread(crate::config::NodeId),
    /// The file is checked on its own: the blocks around it were not read.
    AroundThisFile,
}

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>);
}

macro_rules! define_registry {
    ($(($id:ident, $name:literal, $path:literal, $module:ident, $rule:ident)),* $(,)?) => {
        $(
            #[path = $path]
            pub(crate) mod $module;
        )*

        /// Every rule, in id order.
        pub static REGISTRY: &[&dyn Rule] = &[$(&$module::$rule),*];

        /// The rule with this id.
        pub fn rule(id: crate::codes::RuleId) -> &'static dyn Rule {
            match id {
                $(crate::codes::RuleId::$id => &$module::$rule),*
            }
        }
    };
}

crate::codes::for_each_rule!(define_registry);

pub fn all_meta() -> impl Iterator<Item = &'static RuleMeta> {
    REGISTRY.iter().map(|r| r.meta())
}

/// Looks a rule up by id (`GW101`, any case) or name (`timeout-wrong-module`).
pub fn meta_by_id_or_name(key: &str) -> Option<&'static RuleMeta> {
    crate::codes::RuleId::from_code_or_name(key).map(|id| rule(id).meta())
}

/// True when `selector` (an id, a family prefix such as `GW1` or `GW10`, or `ALL`) covers `id`.
pub fn selector_matches(selector: &str, meta: &RuleMeta) -> bool {
    meta.id.matches_selector(selector)
}

/// Whether `meta`'s rule runs on this tree with these settings.
pub fn runs(cx: &LintContext<'_, '_>, meta: &RuleMeta) -> bool {
    // The load rules always run; the others run on trees read past syntax errors too, but not
    // where part of a file could not be read as directives at all.
    cx.settings.enabled(meta.id) && (cx.tree.fully_read() || meta.id.code().starts_with("GW00"))
}

/// Runs every rule enabled in settings and accepted by `wanted` (the user's selection).
///
/// The rules run in parallel (rayon's pool; `RAYON_NUM_THREADS=1` runs them one after the
/// other). Each writes its own list; the lists are joined in registry order, so the output
/// is the same as one after the other. Facts several rules read are `OnceLock`s: the first
/// rule to ask computes them, the others wait (no initializer uses rayon, so a waiting
/// thread never holds one).
pub fn run(cx: &LintContext<'_, '_>, wanted: impl Fn(&RuleMeta) -> bool + Sync) -> Vec<Diagnostic> {
    use rayon::prelude::*;
    let lists: Vec<Vec<Diagnostic>> = REGISTRY
        .par_iter()
        .filter(|rule| runs(cx, rule.meta()) && wanted(rule.meta()))
        .map(|rule| {
            let mut out = Vec::new();
            rule.check(cx, &mut out);
            out
        })
        .collect();
    // Joined into one list of the final size (a flattening collect grows it by doubling,
    // copying every finding again each time).
    let mut out: Vec<Diagnostic> = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    for list in lists {
        out.extend(list);
    }
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    // A snippet included in several places yields the same finding once per expansion.
    out.dedup_by(|b, a| a.rule == b.rule && a.file == b.file && a.span == b.span);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_follows_the_one_list() {
        let ids: Vec<_> = all_meta().map(|m| m.id).collect();
        assert_eq!(ids, crate::codes::RuleId::ALL);
        for id in crate::codes::RuleId::ALL {
            assert_eq!(rule(*id).meta().id, *id);
            assert!(
                rule(*id).meta().doc.contains("## Example"),
                "{id} explain has no example"
            );
        }
    }

    #[test]
    fn explain_pages_have_every_section() {
        for m in all_meta().filter(|m| m.id.code().as_bytes()[2] >= b'2') {
            for section in [
                "## What it finds",
                "## Why it matters",
                "## Example",
                "## Use instead",
                "## Fix safety",
            ] {
                assert!(m.doc.contains(section), "{} lacks {section}", m.id);
            }
        }
    }

    #[test]
    fn fix_declarations_admit_only_what_they_declare() {
        use crate::diagnostic::Fix;
        let safe = Fix::safe("s", vec![]);
        let risky = Fix::unsafe_edit("u", vec![]);
        assert!(FixAvailability::None.admits(None).is_ok());
        assert!(FixAvailability::None.admits(Some(&safe)).is_err());
        let sometimes_unsafe = FixAvailability::Sometimes(Applicability::Unsafe);
        assert!(sometimes_unsafe.admits(None).is_ok());
        assert!(sometimes_unsafe.admits(Some(&risky)).is_ok());
        assert!(sometimes_unsafe.admits(Some(&safe)).is_ok());
        let always_safe = FixAvailability::Always(Applicability::Safe);
        assert!(always_safe.admits(None).is_err());
        assert!(always_safe.admits(Some(&safe)).is_ok());
        assert!(always_safe.admits(Some(&risky)).is_err());
        assert_eq!(sometimes_unsafe.as_str(), "unsafe");
    }

    #[test]
    fn selectors() -> Result<(), String> {
        let m = meta_by_id_or_name("GW001").ok_or("GW001 missing")?;
        assert!(selector_matches("GW0", m));
        assert!(selector_matches("gw001", m));
        assert!(selector_matches("parse-error", m));
        assert!(!selector_matches("GW1", m));
        Ok(())
    }
}
