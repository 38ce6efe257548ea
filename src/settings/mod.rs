//! The user's settings file (`nginx-gwlint.toml`): rule switches and severities, rule options
//! (kept as written, with where they were written; the rules layer checks them against each
//! rule's options type, `rules::options::validate`), selection, declared backends, directives.
//! Defaults live in the code: nothing here knows a rule beyond its id.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod backends;
mod directives;
mod selection;

use backends::{declared_backend, BackendToml};
pub use directives::{DirectiveSettings, TargetOrigin};
pub use selection::FileSelection;
use selection::{glob, selectors};

use crate::backends::DeclaredBackend;
use crate::codes::RuleId;
use crate::diagnostic::Severity;
use crate::directives::{DirectiveError, DirectiveTable, Directives};

/// The file name looked for upward from the current directory.
pub const USER_FILE_NAME: &str = "nginx-gwlint.toml";

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error(transparent)]
    Directives(#[from] DirectiveError),
}

/// What a settings file says about one rule; absent keys keep the rule's defaults.
#[derive(Clone, Debug, Default)]
pub struct RuleSettings {
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
    /// The rule's own options, as written.
    pub options: toml::Table,
    /// `file:line:column` of each option, for messages.
    pub option_origin: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub rules: BTreeMap<RuleId, RuleSettings>,
    /// `[[backend]]` entries.
    pub backends: Vec<DeclaredBackend>,
    pub directives: DirectiveSettings,
    /// The user file that was applied, if any.
    pub source: Option<PathBuf>,
    /// `select`, `extend-select`, `ignore`, `per-file-ignores`, `exclude`.
    pub selection: FileSelection,
}

impl Settings {
    /// The shipped defaults only.
    pub fn defaults() -> Result<Self, SettingsError> {
        let table = DirectiveTable::builtin();
        Ok(Settings {
            rules: BTreeMap::new(),
            backends: Vec::new(),
            directives: DirectiveSettings {
                user: Vec::new(),
                enable_sets: Vec::new(),
                target: table.newest(),
                target_origin: TargetOrigin::Newest,
            },
            source: None,
            selection: FileSelection::default(),
        })
    }

    /// Defaults, then `path` over them.
    pub fn with_file(path: &Path) -> Result<Self, SettingsError> {
        let mut settings = Self::defaults()?;
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let cwd = std::env::current_dir().unwrap_or_default();
        let shown = path.strip_prefix(&cwd).unwrap_or(path);
        settings.apply_text(&text, &shown.display().to_string())?;
        settings.source = Some(path.to_path_buf());
        settings.selection.base = std::path::absolute(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        Ok(settings)
    }

    /// Finds `nginx-gwlint.toml` in `start` or a parent directory.
    pub fn discover(start: &Path) -> Option<PathBuf> {
        start
            .ancestors()
            .map(|dir| dir.join(USER_FILE_NAME))
            .find(|p| p.is_file())
    }

    fn apply_text(&mut self, text: &str, origin: &str) -> Result<(), SettingsError> {
        let invalid = |message: String| SettingsError::Invalid {
            path: origin.to_owned(),
            message,
        };
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| invalid(e.to_string()))?;
        for (key, value) in table {
            match key.as_str() {
                "rules" => {
                    let toml::Value::Table(rules_table) = value else {
                        return Err(invalid("`rules` must be a table".to_owned()));
                    };
                    let spans = option_spans(text);
                    for (id, body) in rules_table {
                        let at = |key: &str| {
                            let offset = spans.get(&(id.clone(), key.to_owned())).copied();
                            match offset {
                                Some(offset) => {
                                    let (line, col) = line_col(text, offset);
                                    format!("{origin}:{line}:{col}")
                                }
                                None => origin.to_owned(),
                            }
                        };
                        self.apply_rule(&id, body, &at).map_err(invalid)?;
                    }
                }
                "backend" => {
                    let toml::Value::Array(entries) = value else {
                        return Err(invalid(
                            "`backend` must be an array of tables: [[backend]]".to_owned(),
                        ));
                    };
                    for entry in entries {
                        let b: BackendToml = entry
                            .try_into()
                            .map_err(|e: toml::de::Error| invalid(format!("[[backend]]: {e}")))?;
                        self.backends
                            .push(declared_backend(b, origin).map_err(invalid)?);
                    }
                }
                "nginx-version" => {
                    let text = value.as_str().ok_or_else(|| {
                        invalid("`nginx-version` must be a string such as \"1.22.1\"".to_owned())
                    })?;
                    self.directives.target = text
                        .parse()
                        .map_err(|e| invalid(format!("nginx-version: {e}")))?;
                    self.directives.target_origin = TargetOrigin::Settings;
                }
                "directives" => {
                    let toml::Value::Table(body) = value else {
                        return Err(invalid("`directives` must be a table".to_owned()));
                    };
                    self.apply_directives(body).map_err(invalid)?;
                }
                "select" => {
                    self.selection.select = Some(selectors("select", value).map_err(invalid)?);
                }
                "extend-select" => {
                    self.selection.extend_select =
                        selectors("extend-select", value).map_err(invalid)?;
                }
                "ignore" => {
                    self.selection.ignore = selectors("ignore", value).map_err(invalid)?;
                }
                "exclude" => {
                    let list: Vec<String> = value
                        .try_into()
                        .map_err(|_| invalid("`exclude` must be a list of globs".to_owned()))?;
                    for p in list {
                        self.selection
                            .exclude
                            .push(glob("exclude", &p).map_err(invalid)?);
                    }
                }
                "per-file-ignores" => {
                    let toml::Value::Table(map) = value else {
                        return Err(invalid(
                            "`per-file-ignores` must be a table: \"glob\" = [\"GW201\"]".to_owned(),
                        ));
                    };
                    for (pattern, rules) in map {
                        let g = glob("per-file-ignores", &pattern).map_err(invalid)?;
                        let sels = selectors("per-file-ignores", rules).map_err(invalid)?;
                        self.selection.per_file_ignores.push((g, sels));
                    }
                }
                other => {
                    return Err(invalid(format!(
                        "unknown key `{other}` (expected `rules`, `directives`, `backend`, \
                         `nginx-version`, `select`, `extend-select`, `ignore`, `per-file-ignores` \
                         or `exclude`)"
                    )))
                }
            }
        }
        Ok(())
    }

    fn apply_rule(
        &mut self,
        id: &str,
        body: toml::Value,
        at: &dyn Fn(&str) -> String,
    ) -> Result<(), String> {
        let Some(rule) = RuleId::from_code_or_name(id) else {
            return Err(format!("unknown rule `{id}` in [rules]"));
        };
        let toml::Value::Table(body) = body else {
            return Err(format!("[rules.{id}] must be a table"));
        };
        let entry = self.rules.entry(rule).or_default();
        for (key, value) in body {
            match key.as_str() {
                "enabled" => {
                    entry.enabled =
                        Some(value.as_bool().ok_or_else(|| {
                            format!("[rules.{id}] enabled must be true or false")
                        })?);
                }
                "severity" => {
                    let s = value
                        .as_str()
                        .ok_or_else(|| format!("[rules.{id}] severity must be a string"))?;
                    entry.severity = Some(s.parse().map_err(|e| format!("[rules.{id}] {e}"))?);
                }
                _ => {
                    entry.option_origin.insert(key.clone(), at(&key));
                    entry.options.insert(key, value);
                }
            }
        }
        Ok(())
    }

    /// The directives this run knows: the built-in table, the user's declarations, the enabled
    /// sets and the target version.
    pub fn directives_view(&self) -> Directives<'_> {
        Directives::builtin(
            &self.directives.user,
            self.directives.enable_sets.iter().cloned(),
            self.directives.target,
        )
    }

    pub fn rule(&self, id: RuleId) -> Option<&RuleSettings> {
        self.rules.get(&id)
    }

    /// The severity the settings give `id`, if they set one.
    pub fn severity(&self, id: RuleId) -> Option<Severity> {
        self.rules.get(&id).and_then(|r| r.severity)
    }

    /// False when the settings turn `id` off (`enabled = false`).
    pub fn enabled(&self, id: RuleId) -> bool {
        self.rules.get(&id).and_then(|r| r.enabled).unwrap_or(true)
    }
}

/// Byte offsets of each `[rules.ID] KEY = value` in `text`, keyed by (ID as written, KEY).
fn option_spans(text: &str) -> BTreeMap<(String, String), usize> {
    #[derive(serde::Deserialize)]
    struct Spanned {
        #[serde(default)]
        rules: BTreeMap<String, BTreeMap<String, toml::Spanned<toml::Value>>>,
    }
    let mut out = BTreeMap::new();
    if let Ok(parsed) = toml::from_str::<Spanned>(text) {
        for (id, keys) in parsed.rules {
            for (key, value) in keys {
                out.insert((id.clone(), key), value.span().start);
            }
        }
    }
    out
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str) -> Result<Settings, SettingsError> {
        let mut s = Settings::defaults()?;
        s.apply_text(text, "test.toml")?;
        Ok(s)
    }

    #[test]
    fn user_directives_and_sets() -> Result<(), SettingsError> {
        let s = apply(
            "[directives]\nenable_sets = [\"lua\", \"headers-more\"]\n\
             [directives.my_directive]\ncontexts = [\"http\", \"server\"]\nargs = \"TAKE1\"\n",
        )?;
        assert_eq!(s.directives.enable_sets, ["lua", "headers-more"]);
        let d = &s.directives.user[0];
        assert_eq!(d.name, "my_directive");
        assert!(d.allows_context(crate::directives::Context::Server));
        assert!(!d.allows_context(crate::directives::Context::Location));
        assert!(d.accepts_arg_count(1) && !d.accepts_arg_count(0));
        Ok(())
    }

    #[test]
    fn bad_directive_settings_are_errors() {
        for bad in [
            "[directives]\nenable_sets = [\"nope\"]\n",
            "[directives.x]\ncontexts = [\"http\"]\nargs = \"TAKE1\"\ncolour = 1\n",
            "[directives.x]\ncontexts = [\"htp\"]\nargs = \"TAKE1\"\n",
            "[directives.x]\ncontexts = [\"http\"]\nargs = \"TAKE9\"\n",
            "[directives.x]\nargs = \"TAKE1\"\n",
            "[directives]\nx = 1\n",
            "[directives.x]\ncontexts = [\"http\"]\nargs = \"TAKE1\"\nkind = \"enum\"\n",
        ] {
            assert!(apply(bad).is_err(), "accepted: {bad}");
        }
    }
}
