//! Rule settings: the embedded rules.toml, overridden by the user's file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::diagnostic::Severity;
use crate::rules::{self, RuleMeta};

/// The defaults shipped with the binary.
pub const DEFAULT_RULES_TOML: &str = include_str!("../rules.toml");

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
}

#[derive(Clone, Debug)]
pub struct RuleSettings {
    pub enabled: bool,
    pub severity: Severity,
    pub options: toml::Table,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub rules: BTreeMap<&'static str, RuleSettings>,
    /// The user file that was applied, if any.
    pub source: Option<PathBuf>,
}

impl Settings {
    /// The shipped defaults only.
    pub fn defaults() -> Result<Self, SettingsError> {
        let mut settings = Settings {
            rules: BTreeMap::new(),
            source: None,
        };
        for meta in rules::all_meta() {
            settings.rules.insert(
                meta.id,
                RuleSettings {
                    enabled: true,
                    severity: meta.severity,
                    options: toml::Table::new(),
                },
            );
        }
        settings.apply_text(DEFAULT_RULES_TOML, "rules.toml (built in)")?;
        Ok(settings)
    }

    /// Defaults, then `path` over them.
    pub fn with_file(path: &Path) -> Result<Self, SettingsError> {
        let mut settings = Self::defaults()?;
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        settings.apply_text(&text, &path.display().to_string())?;
        settings.source = Some(path.to_path_buf());
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
                    for (id, body) in rules_table {
                        self.apply_rule(&id, body).map_err(invalid)?;
                    }
                }
                other => return Err(invalid(format!("unknown key `{other}` (expected `rules`)"))),
            }
        }
        Ok(())
    }

    fn apply_rule(&mut self, id: &str, body: toml::Value) -> Result<(), String> {
        let Some(meta) = rules::meta_by_id_or_name(id) else {
            return Err(format!("unknown rule `{id}` in [rules]"));
        };
        let toml::Value::Table(body) = body else {
            return Err(format!("[rules.{id}] must be a table"));
        };
        let entry = self
            .rules
            .get_mut(meta.id)
            .ok_or_else(|| format!("rule `{id}` has no settings"))?;
        for (key, value) in body {
            match key.as_str() {
                "enabled" => {
                    entry.enabled = value
                        .as_bool()
                        .ok_or_else(|| format!("[rules.{id}] enabled must be true or false"))?;
                }
                "severity" => {
                    let s = value
                        .as_str()
                        .ok_or_else(|| format!("[rules.{id}] severity must be a string"))?;
                    entry.severity = s.parse().map_err(|e| format!("[rules.{id}] {e}"))?;
                }
                option => {
                    if !meta.options.iter().any(|(name, _)| *name == option) {
                        let known: Vec<&str> = meta.options.iter().map(|(n, _)| *n).collect();
                        return Err(format!(
                            "[rules.{id}] unknown option `{option}` (known: enabled, severity{}{})",
                            if known.is_empty() { "" } else { ", " },
                            known.join(", ")
                        ));
                    }
                    entry.options.insert(key, value);
                }
            }
        }
        Ok(())
    }

    pub fn rule(&self, id: &str) -> Option<&RuleSettings> {
        self.rules.get(id)
    }

    pub fn severity(&self, meta: &RuleMeta) -> Severity {
        self.rules
            .get(meta.id)
            .map_or(meta.severity, |r| r.severity)
    }

    pub fn enabled(&self, id: &str) -> bool {
        self.rules.get(id).is_none_or(|r| r.enabled)
    }

    /// A rule option; rules.toml gives every option a default, so `None` means a broken build.
    pub fn option<T: DeserializeOwned>(&self, id: &str, key: &str) -> Option<T> {
        let value = self.rules.get(id)?.options.get(key)?.clone();
        value.try_into().ok()
    }
}
