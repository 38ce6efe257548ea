//! `select`, `extend-select`, `ignore`, `per-file-ignores` and `exclude`: which rules and files
//! a settings file turns on or off.

use std::path::{Path, PathBuf};

use crate::codes::RuleId;

/// Which rules and files a settings file turns on or off, as ruff's settings do: `select`
/// replaces the default (every rule), `extend-select` adds to it, `ignore` takes away;
/// `per-file-ignores` maps a glob to rules ignored in matching files, `exclude` lists globs of
/// files whose findings are not reported (they are still read: nginx reads them). Globs match the
/// path relative to the settings file's directory, or the file name when they hold no `/`.
#[derive(Clone, Debug, Default)]
pub struct FileSelection {
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    pub per_file_ignores: Vec<(globset::GlobMatcher, Vec<String>)>,
    pub exclude: Vec<globset::GlobMatcher>,
    /// The directory globs are relative to.
    pub base: PathBuf,
}

impl FileSelection {
    fn matches(&self, glob: &globset::GlobMatcher, path: &Path) -> bool {
        let rel = path.strip_prefix(&self.base).unwrap_or(path);
        glob.is_match(rel)
            || (!glob.glob().glob().contains('/')
                && path.file_name().is_some_and(|n| glob.is_match(n)))
    }

    /// True when findings in `path` are not reported at all (`exclude`).
    pub fn excludes(&self, path: &Path) -> bool {
        self.exclude.iter().any(|g| self.matches(g, path))
    }

    /// True when `rule`'s findings in `path` are ignored (`per-file-ignores`).
    pub fn ignores_in(&self, rule: RuleId, path: &Path) -> bool {
        self.per_file_ignores
            .iter()
            .any(|(g, sels)| sels.iter().any(|s| rule.matches_selector(s)) && self.matches(g, path))
    }
}

pub(super) fn selectors(key: &str, value: toml::Value) -> Result<Vec<String>, String> {
    let list: Vec<String> = value
        .try_into()
        .map_err(|_| format!("`{key}` must be a list of rule ids, names or prefixes"))?;
    for s in &list {
        if !RuleId::selector_is_known(s) {
            return Err(format!(
                "`{key}`: `{s}` matches no rule (see `nginx-gwlint rules`)"
            ));
        }
    }
    Ok(list)
}

pub(super) fn glob(key: &str, pattern: &str) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("`{key}`: bad glob `{pattern}`: {e}"))
}
