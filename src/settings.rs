//! The user's settings file (`nginx-gwlint.toml`): rule switches and severities, rule options
//! (kept as written, with where they were written; the rules layer checks them against each
//! rule's options type, `rules::options::validate`), selection, declared backends, directives.
//! Defaults live in the code: nothing here knows a rule beyond its id.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::backends::{BackendKind, DeclaredBackend};
use crate::codes::RuleId;
use crate::diagnostic::Severity;
use crate::directives::{
    Arity, ContextSet, DirectiveError, DirectiveSpec, DirectiveTable, Directives, ValueKind,
    Version, USER_MODULE,
};

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

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BackendToml {
    name: Option<String>,
    address: String,
    kind: Option<BackendKind>,
    timeout: Option<String>,
    keepalive_timeout: Option<String>,
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

fn selectors(key: &str, value: toml::Value) -> Result<Vec<String>, String> {
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

fn glob(key: &str, pattern: &str) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("`{key}`: bad glob `{pattern}`: {e}"))
}

impl Settings {
    /// The shipped defaults only.
    pub fn defaults() -> Result<Self, SettingsError> {
        let table = DirectiveTable::builtin()?;
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

    fn apply_directives(&mut self, body: toml::Table) -> Result<(), String> {
        let table = DirectiveTable::builtin().map_err(|e| e.to_string())?;
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

fn declared_backend(b: BackendToml, origin: &str) -> Result<DeclaredBackend, String> {
    let time = |field: &str, text: &Option<String>| -> Result<Option<u64>, String> {
        text.as_deref()
            .map(|t| {
                crate::values::parse_msec(t).ok_or_else(|| {
                    format!(
                        "[[backend]] {field} = \"{t}\" is not an nginx time (e.g. \"30s\", \"5m\")"
                    )
                })
            })
            .transpose()
    };
    let address = crate::address::parse_host_port(&b.address, false);
    if let crate::address::Host::Invalid(why) = &address.host {
        return Err(format!("[[backend]] address = \"{}\": {why}", b.address));
    }
    let kind = b.kind.unwrap_or(BackendKind::Other);
    Ok(DeclaredBackend {
        name: b.name.unwrap_or_else(|| b.address.clone()),
        timeout_ms: time("timeout", &b.timeout)?.or(kind.default_timeout_ms()),
        keepalive_timeout_ms: time("keepalive_timeout", &b.keepalive_timeout)?
            .or(kind.default_keepalive_ms()),
        address,
        kind,
        origin: origin.to_owned(),
    })
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
        assert!(d.allows_context(crate::config::Context::Server));
        assert!(!d.allows_context(crate::config::Context::Location));
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

/// Where distributions and nginx's own `make install` put the binary, tried before `PATH`.
pub const NGINX_LOCATIONS: [&str; 3] = [
    "/usr/sbin/nginx",
    "/usr/local/sbin/nginx",
    "/usr/local/nginx/sbin/nginx",
];

/// The installed nginx to ask for its version (and to run `nginx -t` with): the usual install
/// locations first, then `PATH` entries, which count only when absolute (`.` or `bin` in PATH
/// would run whatever the current directory holds), not the current directory itself, and not
/// inside a checked tree or `--sysroot` (a repository's own `./nginx` must never run).
/// Symlinks are resolved before that check.
pub fn installed_nginx(checked: &[PathBuf]) -> Option<PathBuf> {
    let roots: Vec<PathBuf> = checked
        .iter()
        .filter_map(|p| {
            let p = std::fs::canonicalize(p).ok()?;
            // A checked file stands for its directory (the tree around it).
            if p.is_file() {
                p.parent().map(Path::to_path_buf)
            } else {
                Some(p)
            }
        })
        .collect();
    let from_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|dir| dir.is_absolute() && !is_current_dir(dir))
        .map(|dir| dir.join("nginx"));
    NGINX_LOCATIONS
        .iter()
        .map(PathBuf::from)
        .chain(from_path)
        .find(|candidate| {
            let Ok(real) = std::fs::canonicalize(candidate) else {
                return false;
            };
            let executable = std::fs::metadata(&real).is_ok_and(|m| {
                m.is_file()
                    && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
            });
            executable && !roots.iter().any(|root| real.starts_with(root))
        })
}

/// `dir` is the current directory, however spelled (`$PWD` in PATH is `.` in disguise).
fn is_current_dir(dir: &Path) -> bool {
    let (Ok(cwd), Ok(dir)) = (std::env::current_dir(), std::fs::canonicalize(dir)) else {
        return false;
    };
    std::fs::canonicalize(cwd).is_ok_and(|cwd| cwd == dir)
}

/// The version an nginx binary reports (`nginx -v` prints `nginx version: nginx/1.22.1` on
/// stderr; distribution builds may add a suffix such as ` (Ubuntu)`).
pub fn detect_nginx_version(binary: &Path) -> Option<Version> {
    let out = std::process::Command::new(binary).arg("-v").output().ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    parse_nginx_v(&text)
}

/// The version in `nginx -v` output.
pub fn parse_nginx_v(text: &str) -> Option<Version> {
    let rest = text.split("nginx/").nth(1)?;
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    version.parse().ok()
}

#[cfg(test)]
mod version_tests {
    use super::*;

    #[test]
    fn nginx_v_output() {
        let v = parse_nginx_v("nginx version: nginx/1.22.1\n").map(|v| v.to_string());
        assert_eq!(v.as_deref(), Some("1.22.1"));
        let v = parse_nginx_v("nginx version: nginx/1.24.0 (Ubuntu)\n").map(|v| v.to_string());
        assert_eq!(v.as_deref(), Some("1.24.0"));
        assert!(parse_nginx_v("openresty/1.21.4.1").is_none());
    }
}
