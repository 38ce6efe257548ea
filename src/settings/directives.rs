//! `[directives]` and `nginx-version`: the user's own directives, third-party sets, and the
//! nginx version the configuration is checked against.

use std::path::PathBuf;

use super::Settings;
use crate::directives::{
    Arity, ContextSet, DirectiveSpec, DirectiveTable, ValueKind, Version, USER_MODULE,
};

/// The `[directives]` table: the user's own directives, enabled third-party sets, and the nginx
/// version the configuration is checked against.
#[derive(Clone, Debug)]
pub struct DirectiveSettings {
    /// `[directives.NAME]` entries, in file order.
    pub user: Vec<DirectiveSpec>,
    /// `enable_sets = ["lua", ...]`: third-party sets whose directives are known without a
    /// `load_module` line (e.g. modules compiled in statically, as in OpenResty).
    pub enable_sets: Vec<String>,
    /// The nginx version directives are checked against; the newest the table knows by default.
    pub target: Version,
    /// Where `target` came from, for messages.
    pub target_origin: TargetOrigin,
}

/// Where the target nginx version comes from (RULES: `--nginx-version`, else settings, else
/// what `nginx -v` prints, else the newest version the directive table knows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetOrigin {
    Newest,
    Settings,
    CommandLine,
    /// Detected from the nginx binary at this path.
    Detected(PathBuf),
    /// Read from the nginx binary at this path inside `--sysroot` (never run).
    Sysroot(PathBuf),
}

impl Settings {
    pub(super) fn apply_directives(&mut self, body: toml::Table) -> Result<(), String> {
        let table = DirectiveTable::builtin();
        for (key, value) in body {
            if key == "enable_sets" {
                let sets: Vec<String> = value
                    .try_into()
                    .map_err(|_| "[directives] enable_sets must be a list of strings".to_owned())?;
                for set in sets {
                    if !table.has_set(&set) {
                        let known: Vec<&str> = table.sets().collect();
                        return Err(format!(
                            "[directives] enable_sets: unknown set `{set}` (known: {})",
                            known.join(", ")
                        ));
                    }
                    if !self.directives.enable_sets.contains(&set) {
                        self.directives.enable_sets.push(set);
                    }
                }
                continue;
            }
            let spec = user_directive(&key, value)?;
            self.directives.user.retain(|s| s.name != key);
            self.directives.user.push(spec);
        }
        Ok(())
    }
}

/// `[directives.NAME]`: `contexts` and `args` required; `block`, `kind`, `values` optional.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UserDirective {
    contexts: Vec<String>,
    args: String,
    #[serde(default)]
    block: bool,
    #[serde(default)]
    kind: Option<ValueKind>,
    #[serde(default)]
    values: Vec<String>,
}

fn user_directive(name: &str, value: toml::Value) -> Result<DirectiveSpec, String> {
    let at = |e: &dyn std::fmt::Display| format!("[directives.{name}] {e}");
    if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace() || b == b'"') {
        return Err(format!("[directives] `{name}` is not a directive name"));
    }
    let toml::Value::Table(_) = value else {
        return Err(format!(
            "[directives.{name}] must be a table (contexts = [...], args = \"TAKE1\")"
        ));
    };
    let raw: UserDirective = value.try_into().map_err(|e| at(&e))?;
    if raw.contexts.is_empty() {
        return Err(at(&"contexts must name at least one context"));
    }
    let contexts =
        ContextSet::from_names(raw.contexts.iter().map(String::as_str)).map_err(|e| {
            at(&format!(
                "{e} (known: {})",
                crate::directives::CONTEXT_NAMES.join(", ")
            ))
        })?;
    let args: Arity = raw.args.parse().map_err(|e| at(&e))?;
    if matches!(raw.kind, Some(ValueKind::Enum | ValueKind::Bitmask)) && raw.values.is_empty() {
        return Err(at(&"kind enum/bitmask needs `values`"));
    }
    Ok(DirectiveSpec {
        name: name.to_owned(),
        module: USER_MODULE.to_owned(),
        contexts,
        args,
        block: raw.block,
        kind: raw.kind,
        values: raw.values,
        since: None,
        until: None,
        set: None,
    })
}
