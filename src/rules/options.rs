//! Rule options as types. A rule with options declares a serde struct with its defaults in
//! `Default` (kebab-case keys, unknown keys refused) and names it in its `RuleMeta` through
//! [`OptionsSpec::of`]. The user's `[rules.GWnnn]` keys are checked against that type when the
//! settings are loaded ([`validate`]: a wrong key, type or value is an error naming the
//! file:line:column), and rules read the typed value with `LintContext::options`. The
//! shipped `rules.toml` is generated from these defaults ([`defaults_toml`]), never read.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codes::RuleId;
use crate::settings::{Settings, SettingsError};

/// The options a rule takes: their documentation, and the type that checks and fills them.
pub struct OptionsSpec {
    /// `(key, one line)` for each option, in the order `explain` lists them.
    pub docs: &'static [(&'static str, &'static str)],
    /// Deserializes a table of options into the rule's type, reporting the first problem.
    check: fn(&toml::Table) -> Result<(), String>,
    /// The defaults as a TOML table.
    defaults: fn() -> toml::Table,
}

impl OptionsSpec {
    /// The spec of the options type `T`.
    pub const fn of<T: DeserializeOwned + Serialize + Default>(
        docs: &'static [(&'static str, &'static str)],
    ) -> Self {
        OptionsSpec {
            docs,
            check: check_table::<T>,
            defaults: default_table::<T>,
        }
    }

    /// The defaults of every option, as TOML.
    pub fn defaults(&self) -> toml::Table {
        (self.defaults)()
    }
}

impl fmt::Debug for OptionsSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OptionsSpec")
            .field("docs", &self.docs)
            .finish()
    }
}

fn check_table<T: DeserializeOwned>(table: &toml::Table) -> Result<(), String> {
    toml::Value::Table(table.clone())
        .try_into::<T>()
        .map(|_| ())
        .map_err(|e| e.message().to_owned())
}

fn default_table<T: Serialize + Default>() -> toml::Table {
    toml::Table::try_from(T::default()).unwrap_or_default()
}

/// The options of `id` as the user set them over the defaults; the defaults when they do not
/// deserialize (settings are validated when loaded, so that cannot happen after [`validate`]).
pub fn read<T: DeserializeOwned + Default>(settings: &Settings, id: RuleId) -> T {
    match settings.rule(id) {
        Some(rule) if !rule.options.is_empty() => toml::Value::Table(rule.options.clone())
            .try_into::<T>()
            .unwrap_or_default(),
        _ => T::default(),
    }
}

/// Checks every rule option the settings set against the rule's options type: unknown keys,
/// wrong types and values nginx-gwlint cannot read are errors naming where they were written.
pub fn validate(settings: &Settings) -> Result<(), SettingsError> {
    for (id, rule) in &settings.rules {
        let meta = super::rule(*id).meta();
        for (key, value) in &rule.options {
            let at = rule
                .option_origin
                .get(key)
                .cloned()
                .unwrap_or_else(|| "settings".to_owned());
            let invalid = |message: String| SettingsError::Invalid {
                path: at.clone(),
                message: format!("[rules.{id}] {message}"),
            };
            let Some(spec) = &meta.options else {
                return Err(invalid(format!(
                    "unknown option `{key}`: {id} has no options (known: enabled, severity)"
                )));
            };
            // An older snake_case spelling passes here; the options type decides (GW010
            // keeps serde aliases for its two).
            let kebab = key.replace('_', "-");
            if !spec.docs.iter().any(|(name, _)| *name == kebab) {
                let known: Vec<&str> = spec.docs.iter().map(|(n, _)| *n).collect();
                return Err(invalid(format!(
                    "unknown option `{key}` (known: enabled, severity, {})",
                    known.join(", ")
                )));
            }
            let mut one = toml::Table::new();
            one.insert(key.clone(), value.clone());
            (spec.check)(&one).map_err(|e| invalid(format!("{key}: {e}")))?;
        }
    }
    Ok(())
}

/// The text of `rules.toml`: every rule with its default severity and options, generated from
/// the registry (tests/ compares it with the file in the repository).
pub fn defaults_toml() -> String {
    let mut out = String::from(
        "# nginx-gwlint rule defaults, generated from the code (`nginx-gwlint rules --format toml`).\n\
         #\n\
         # Nothing reads this file: it shows the defaults a `nginx-gwlint.toml` (found upward from\n\
         # the current directory, or `--config FILE`) can override, in the same shape. Every rule\n\
         # takes `enabled` (true/false) and `severity` (\"error\", \"warning\", \"info\"); other keys are\n\
         # the rule's own options, documented in `nginx-gwlint explain GWnnn`. Unknown keys are an\n\
         # error.\n",
    );
    for meta in super::all_meta() {
        out.push_str(&format!(
            "\n[rules.{}] # {}\nseverity = \"{}\"\n",
            meta.id,
            meta.id.name(),
            meta.severity.as_str()
        ));
        if let Some(spec) = &meta.options {
            let defaults = spec.defaults();
            for (key, doc) in spec.docs {
                out.push_str(&format!("# {doc}\n"));
                if let Some(value) = defaults.get(*key) {
                    out.push_str(&format!("{key} = {value}\n"));
                }
            }
        }
    }
    out
}

/// An nginx time in an option (`"300s"`, `"1h"`), kept as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Time {
    pub ms: u64,
    text: String,
}

impl Time {
    /// A default written in code; `text` must be an nginx time (checked by the tests of every
    /// rule's defaults).
    pub fn new(text: &str) -> Self {
        Time {
            ms: crate::values::parse_msec(text).unwrap_or(0),
            text: text.to_owned(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match crate::values::parse_msec(&text) {
            Some(ms) => Ok(Time { ms, text }),
            None => Err(serde::de::Error::custom(format!(
                "\"{text}\" is not an nginx time (e.g. \"30s\", \"5m\", \"1h\")"
            ))),
        }
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// An nginx size in an option (`"8k"`), kept as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Size {
    pub bytes: u64,
    text: String,
}

impl Size {
    /// A default written in code (see [`Time::new`]).
    pub fn new(text: &str) -> Self {
        Size {
            bytes: crate::values::parse_size(text).unwrap_or(0),
            text: text.to_owned(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match crate::values::parse_size(&text) {
            Some(bytes) => Ok(Size { bytes, text }),
            None => Err(serde::de::Error::custom(format!(
                "\"{text}\" is not an nginx size (e.g. \"8k\", \"1m\")"
            ))),
        }
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_valid_and_documented() {
        for meta in super::super::all_meta() {
            let Some(spec) = &meta.options else { continue };
            let defaults = spec.defaults();
            (spec.check)(&defaults).unwrap_or_else(|e| panic!("{}: {e}", meta.id));
            for key in defaults.keys() {
                assert!(
                    spec.docs.iter().any(|(k, _)| k == key),
                    "{}: option `{key}` has no doc line",
                    meta.id
                );
            }
            for (key, _) in spec.docs {
                assert!(
                    defaults.contains_key(*key),
                    "{}: documented option `{key}` has no default",
                    meta.id
                );
                assert!(
                    key.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                    "{}: `{key}` is not kebab-case",
                    meta.id
                );
            }
            for value in defaults.values() {
                if let toml::Value::String(s) = value {
                    assert!(!s.is_empty(), "{}", meta.id);
                }
            }
        }
    }

    #[test]
    fn rules_toml_is_the_generated_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/rules.toml");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == defaults_toml(),
            "rules.toml is not what the code says; run `cargo run -- rules --format toml > rules.toml`"
        );
    }

    #[test]
    fn a_wrong_option_is_an_error_naming_its_place() {
        let dir = std::env::temp_dir().join(format!("gwlint-options-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("nginx-gwlint.toml");
        let check = |text: &str| {
            std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
            let settings = Settings::with_file(&file).unwrap_or_else(|e| panic!("{e}"));
            validate(&settings).map_err(|e| e.to_string())
        };
        let err = check("[rules.GW103]\nmax-timeout = \"banana\"\n")
            .err()
            .unwrap_or_default();
        assert!(err.contains("nginx-gwlint.toml:2:15"), "{err}");
        assert!(err.contains("not an nginx time"), "{err}");
        let err = check("[rules.timeout-masks-slow-backend]\nmax-timout = \"5m\"\n")
            .err()
            .unwrap_or_default();
        assert!(
            err.contains("unknown option `max-timout`") && err.contains(":2:"),
            "{err}"
        );
        let err = check("[rules.GW201]\nmargin = \"5s\"\n")
            .err()
            .unwrap_or_default();
        assert!(err.contains("GW201 has no options"), "{err}");
        let err = check("[rules.GW403]\nminimum = 8\n")
            .err()
            .unwrap_or_default();
        assert!(err.contains("minimum"), "{err}");
        assert!(check("[rules.GW103]\nmax-timeout = \"10m\"\nlong-lived-paths = []\n").is_ok());
        // The snake_case spelling of GW010's options still reads.
        assert!(check("[rules.GW010]\nthird_party_severity = \"info\"\n").is_ok());
        assert!(check("[rules.GW103]\nmax_timeout = \"5m\"\n").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn times_and_sizes_read_like_nginx() {
        let t: Time = toml::Value::String("5m".into())
            .try_into()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.ms, 300_000);
        assert!(toml::Value::String("banana".into())
            .try_into::<Time>()
            .is_err());
        let s: Size = toml::Value::String("8k".into())
            .try_into()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.bytes, 8192);
        assert!(toml::Value::String("8q".into()).try_into::<Size>().is_err());
    }
}
