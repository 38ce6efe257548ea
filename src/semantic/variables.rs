//! Which variables exist: nginx's built-in ones (grammar/variables.toml, per module and version)
//! and those the configuration defines (`set`, `map`, `geo`, `split_clients`,
//! `auth_request_set`, `perl_set`, `js_set`, `js_var`, named regex captures). nginx looks every
//! referenced name up once the whole configuration is read (`ngx_http_variables_init_vars`), so
//! where a definition stands does not matter, only in which module (http or stream) it is.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::directives::Version;

/// http and stream have separate variable namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Namespace {
    Http,
    Stream,
}

#[derive(Debug, Deserialize)]
struct Entry {
    name: String,
    #[allow(dead_code)]
    module: String,
    #[serde(default)]
    prefix: bool,
    #[serde(default)]
    changeable: bool,
    since: Option<Version>,
}

#[derive(Debug, Deserialize)]
struct Table {
    http: Vec<Entry>,
    stream: Vec<Entry>,
}

static TABLE: LazyLock<Option<Table>> =
    LazyLock::new(|| toml::from_str(include_str!("../../grammar/variables.toml")).ok());

/// True when the table loaded (it is embedded; a test checks it parses).
pub fn table_loaded() -> bool {
    TABLE.is_some()
}

fn entries(ns: Namespace) -> &'static [Entry] {
    match TABLE.as_ref() {
        Some(t) => match ns {
            Namespace::Http => &t.http,
            Namespace::Stream => &t.stream,
        },
        None => &[],
    }
}

/// A namespace's entries by exact name, and its prefix families: GW020 asks once per
/// variable reference, and scanning the whole table each time cost most of its time.
struct Index {
    exact: foldhash::HashMap<&'static str, Vec<&'static Entry>>,
    prefixes: Vec<&'static Entry>,
}

impl Index {
    fn of(ns: Namespace) -> Index {
        let mut exact: foldhash::HashMap<&'static str, Vec<&'static Entry>> =
            foldhash::HashMap::default();
        let mut prefixes = Vec::new();
        for e in entries(ns) {
            if e.prefix {
                prefixes.push(e);
            } else {
                exact.entry(e.name.as_str()).or_default().push(e);
            }
        }
        Index { exact, prefixes }
    }
}

static INDEX: LazyLock<[Index; 2]> =
    LazyLock::new(|| [Index::of(Namespace::Http), Index::of(Namespace::Stream)]);

/// True when `name` (lower case, without `$`) is a built-in variable of `ns` in `version`:
/// an exact entry, or a name starting with a prefix family (`http_`, `arg_`, ...).
pub fn is_builtin(ns: Namespace, name: &str, version: Version) -> bool {
    let index = &INDEX[ns as usize];
    let known = |e: &&Entry| e.since.is_none_or(|s| s <= version);
    index.exact.get(name).is_some_and(|es| es.iter().any(known))
        || index
            .prefixes
            .iter()
            .any(|e| known(e) && name.starts_with(e.name.as_str()))
}

/// True when `name` is a built-in of `ns` in `version` that the configuration may not define
/// again (not NGX_HTTP_VAR_CHANGEABLE): `set $host ...` is "the duplicate "host" variable".
pub fn is_fixed_builtin(ns: Namespace, name: &str, version: Version) -> bool {
    INDEX[ns as usize].exact.get(name).is_some_and(|es| {
        es.iter()
            .any(|e| !e.changeable && e.since.is_none_or(|s| s <= version))
    })
}

/// The built-in that `name` would be in a newer nginx, with that version.
pub fn newer_builtin(ns: Namespace, name: &str) -> Option<Version> {
    entries(ns)
        .iter()
        .find(|e| {
            if e.prefix {
                name.starts_with(e.name.as_str())
            } else {
                e.name == name
            }
        })
        .and_then(|e| e.since)
}

/// Built-in names of `ns` (no prefix families), for "did you mean".
pub fn builtin_names(ns: Namespace, version: Version) -> impl Iterator<Item = &'static str> {
    entries(ns)
        .iter()
        .filter(move |e| !e.prefix && e.since.is_none_or(|s| s <= version))
        .map(|e| e.name.as_str())
}

/// Variables defined by the configuration, lower case, per namespace.
#[derive(Debug, Default)]
pub struct Defined {
    pub http: HashSet<String>,
    pub stream: HashSet<String>,
    /// Names defined where nginx-gwlint cannot tell the namespace (third-party directives).
    pub any: HashSet<String>,
}

impl Defined {
    pub fn contains(&self, ns: Namespace, name: &str) -> bool {
        self.any.contains(name)
            || match ns {
                Namespace::Http => self.http.contains(name),
                Namespace::Stream => self.stream.contains(name),
            }
    }

    /// nginx knows `$name` in `ns` (any case): a built-in variable of the target version, or
    /// one the configuration defines. What GW020 reports when false.
    pub fn knows(&self, ns: Namespace, name: &str, version: Version) -> bool {
        // Names are nearly always written in lower case already: no copy then.
        let lower: std::borrow::Cow<'_, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            name.to_ascii_lowercase().into()
        } else {
            name.into()
        };
        is_builtin(ns, &lower, version) || self.contains(ns, &lower)
    }

    pub fn insert(&mut self, ns: Option<Namespace>, name: &str) {
        let name = name.to_ascii_lowercase();
        match ns {
            Some(Namespace::Http) => self.http.insert(name),
            Some(Namespace::Stream) => self.stream.insert(name),
            None => self.any.insert(name),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_and_answers() {
        assert!(table_loaded());
        let v = Version::new(1, 22, 1);
        assert!(is_builtin(Namespace::Http, "host", v));
        assert!(is_builtin(Namespace::Http, "http_upgrade", v));
        assert!(is_builtin(Namespace::Http, "upstream_http_x_cache", v));
        assert!(!is_builtin(Namespace::Http, "connection_upgrade", v));
        assert!(!is_builtin(Namespace::Http, "ssl_preread_server_name", v));
        assert!(is_builtin(Namespace::Stream, "ssl_preread_server_name", v));
        assert!(!is_builtin(Namespace::Http, "proxy_protocol_tlv_0x01", v));
        assert!(is_builtin(
            Namespace::Http,
            "proxy_protocol_tlv_0x01",
            Version::new(1, 23, 2)
        ));
        assert!(is_fixed_builtin(Namespace::Http, "host", v));
        assert!(!is_fixed_builtin(Namespace::Http, "args", v));
        assert!(!is_fixed_builtin(Namespace::Http, "limit_rate", v));
        assert!(!is_fixed_builtin(Namespace::Http, "http_x", v));
        assert_eq!(
            newer_builtin(Namespace::Stream, "server_name"),
            Some(Version::new(1, 25, 5))
        );
    }

    /// The index answers as a scan of the whole table does, for every name in it (and a name
    /// under each prefix family), in both namespaces, at versions around each `since`.
    #[test]
    fn the_index_answers_as_the_table_scan() {
        let scan = |ns: Namespace, name: &str, version: Version| {
            entries(ns).iter().any(|e| {
                e.since.is_none_or(|s| s <= version)
                    && if e.prefix {
                        name.starts_with(e.name.as_str())
                    } else {
                        e.name == name
                    }
            })
        };
        let mut versions = vec![Version::new(1, 0, 0), Version::new(9, 0, 0)];
        for ns in [Namespace::Http, Namespace::Stream] {
            versions.extend(entries(ns).iter().filter_map(|e| e.since));
        }
        let mut checked = 0;
        for ns in [Namespace::Http, Namespace::Stream] {
            for e in entries(ns) {
                for name in [e.name.clone(), format!("{}x", e.name), "nope".to_owned()] {
                    for v in &versions {
                        assert_eq!(
                            is_builtin(ns, &name, *v),
                            scan(ns, &name, *v),
                            "{name} {v:?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }
}
