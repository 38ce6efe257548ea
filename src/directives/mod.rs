//! The directive knowledge base: grammar/directives.toml, compiled in by build.rs as typed data
//! (no TOML and no field syntax read at run time; each name's entries become
//! [`DirectiveSpec`]s the first time the name is asked for), plus the per-run view
//! ([`Directives`]) that adds the user's own directives, the enabled third-party sets and the
//! target nginx version.
//!
//! Arity follows `ngx_conf_handler` (src/core/ngx_conf_file.c) exactly: `FLAG` takes one
//! argument, `1MORE` at least one, `2MORE` at least two, `ANY` anything, and otherwise the
//! `NOARGS`/`TAKEn` bits are tested against the count, which nginx caps at 7 arguments
//! (`NGX_CONF_MAX_ARGS` = 8 words including the name).

use std::collections::BTreeSet;

use foldhash::{HashMap, HashMapExt};
use std::fmt;
use std::str::FromStr;
use std::sync::{LazyLock, OnceLock};

use serde::Deserialize;

mod context;
mod syntax;

pub use context::Context;
pub use syntax::CONTEXT_NAMES;

/// The knowledge base shipped with the binary.
pub const DIRECTIVES_TOML: &str = include_str!("../../grammar/directives.toml");

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DirectiveError {
    #[error("invalid version \"{0}\" (expected X.Y.Z)")]
    Version(String),
    #[error("unknown arity flag \"{0}\" (expected NOARGS, TAKE1..TAKE7, TAKE12, TAKE13, TAKE23, TAKE123, TAKE1234, FLAG, 1MORE, 2MORE or ANY)")]
    Arity(String),
    #[error("unknown context \"{0}\"")]
    Context(String),
    #[error("unknown value kind \"{0}\"")]
    Kind(String),
    #[error("grammar/directives.toml: {0}")]
    Table(String),
}

/// An nginx version, `X.Y.Z`, ordered numerically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }
}

impl FromStr for Version {
    type Err = DirectiveError;

    /// Exactly three dot-separated runs of ASCII digits, each within u32.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match syntax::version(s) {
            Some([major, minor, patch]) => Ok(Version::new(major, minor, patch)),
            None => Err(DirectiveError::Version(s.to_owned())),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// nginx's arity bits (`NGX_CONF_NOARGS` ... `NGX_CONF_2MORE`), as in ngx_conf_file.h.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Arity(u32);

impl Arity {
    const FLAG: u32 = syntax::FLAG;
    const ANY: u32 = syntax::ANY;
    const ONE_MORE: u32 = syntax::ONE_MORE;
    const TWO_MORE: u32 = syntax::TWO_MORE;
    /// `NGX_CONF_MAX_ARGS`: words including the name.
    const MAX_WORDS: usize = 8;

    /// `n` arguments: NOARGS is bit 0, TAKEn is bit n.
    fn take_bit(n: usize) -> u32 {
        1 << n
    }

    pub fn bits(self) -> u32 {
        self.0
    }

    /// `ngx_conf_handler`'s check, with `args` = number of words after the name.
    pub fn accepts(self, args: usize) -> bool {
        let t = self.0;
        if t & Self::ANY != 0 {
            return true;
        }
        if t & Self::FLAG != 0 {
            return args == 1;
        }
        if t & Self::ONE_MORE != 0 {
            return args >= 1;
        }
        if t & Self::TWO_MORE != 0 {
            return args >= 2;
        }
        if args + 1 > Self::MAX_WORDS {
            return false;
        }
        t & Self::take_bit(args) != 0
    }

    /// Words for messages: "exactly one argument", "1 to 3 arguments", ...
    pub fn describe(self) -> String {
        let t = self.0;
        if t & Self::ANY != 0 {
            return "any number of arguments".to_owned();
        }
        if t & Self::FLAG != 0 {
            return "exactly one argument (on or off)".to_owned();
        }
        if t & Self::ONE_MORE != 0 {
            return "one or more arguments".to_owned();
        }
        if t & Self::TWO_MORE != 0 {
            return "two or more arguments".to_owned();
        }
        let counts: Vec<usize> = (0..Self::MAX_WORDS).filter(|n| self.accepts(*n)).collect();
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        match counts.as_slice() {
            [] => "no valid argument count".to_owned(),
            [0] => "no arguments".to_owned(),
            [n] => format!("exactly {n} {}", plural(*n)),
            [a, b] => format!("{a} or {b} {}", plural(*b)),
            many => {
                let contiguous = many.windows(2).all(|w| w[1] == w[0] + 1);
                let (first, last) = (many[0], many[many.len() - 1]);
                if contiguous {
                    format!("{first} to {last} arguments")
                } else {
                    let list: Vec<String> = many.iter().map(ToString::to_string).collect();
                    format!("{} arguments", list.join(", "))
                }
            }
        }
    }
}

impl FromStr for Arity {
    type Err = DirectiveError;

    /// `TAKE1`, `NOARGS|TAKE12`, `1MORE`, ... (the `NGX_CONF_` prefix removed).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        syntax::arity_bits(s)
            .map(Arity)
            .map_err(|flag| DirectiveError::Arity(flag.to_owned()))
    }
}

impl<'de> Deserialize<'de> for Arity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The value syntax of directives whose setter is one of nginx's generic slot functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// `ngx_conf_set_msec_slot`
    Time,
    /// `ngx_conf_set_sec_slot`
    TimeSec,
    /// `ngx_conf_set_size_slot`
    Size,
    /// `ngx_conf_set_off_slot`
    Offset,
    /// `ngx_conf_set_flag_slot`
    Flag,
    /// `ngx_conf_set_num_slot`
    Number,
    /// `ngx_conf_set_enum_slot`
    Enum,
    /// `ngx_conf_set_bitmask_slot`
    Bitmask,
    /// `ngx_conf_set_bufs_slot`
    Bufs,
    /// `ngx_conf_set_str_slot`
    String,
    /// `ngx_conf_set_path_slot`
    Path,
    /// `ngx_conf_set_keyval_slot`
    Keyval,
}

impl ValueKind {
    /// The generic slots that refuse a second value in the same block with "is duplicate".
    pub fn rejects_duplicates(self) -> bool {
        !matches!(self, ValueKind::Bitmask | ValueKind::Keyval)
    }
}

/// A set of contexts, one bit per [`CONTEXT_NAMES`] entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ContextSet(u32);

impl ContextSet {
    pub fn contains(self, ctx: Context) -> bool {
        match ctx {
            // Not contexts of the table.
            Context::Entries | Context::Unknown => false,
            // The other variants are CONTEXT_NAMES' first entries, in order (a test checks it).
            c => self.0 & (1 << c as u32) != 0,
        }
    }

    /// The names, in the table's order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        CONTEXT_NAMES
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| *n)
    }

    pub fn from_names<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, DirectiveError> {
        let mut bits = 0;
        for n in names {
            bits |= syntax::context_bit(n).ok_or_else(|| DirectiveError::Context(n.to_owned()))?;
        }
        Ok(ContextSet(bits))
    }
}

impl<'de> Deserialize<'de> for ContextSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        ContextSet::from_names(names.iter().map(String::as_str)).map_err(serde::de::Error::custom)
    }
}

/// One (name, module) entry of the table, or a directive the user declared in settings.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectiveSpec {
    pub name: String,
    pub module: String,
    pub contexts: ContextSet,
    pub args: Arity,
    pub block: bool,
    #[serde(default)]
    pub kind: Option<ValueKind>,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub since: Option<Version>,
    #[serde(default)]
    pub until: Option<Version>,
    /// The optional third-party set (`lua`, `headers-more`, ...); `None` for stock nginx.
    #[serde(default)]
    pub set: Option<String>,
}

impl DirectiveSpec {
    pub fn allows_context(&self, ctx: Context) -> bool {
        self.contexts.contains(ctx)
    }

    pub fn accepts_arg_count(&self, n: usize) -> bool {
        self.args.accepts(n)
    }

    pub fn is_block(&self) -> bool {
        self.block
    }

    /// True when nginx `version` has this directive (sets and user entries have no range).
    pub fn exists_in(&self, version: Version) -> bool {
        self.since.is_none_or(|s| s <= version) && self.until.is_none_or(|u| version < u)
    }

    /// "since 1.25.1", "0.7.14 until 1.25.1", "" for entries without a range.
    pub fn version_range(&self) -> String {
        match (self.since, self.until) {
            (Some(s), Some(u)) => format!("from nginx {s} until {u} (removed in {u})"),
            (Some(s), None) => format!("since nginx {s}"),
            (None, Some(u)) => format!("until nginx {u}"),
            (None, None) => String::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    directive: Vec<DirectiveSpec>,
}

/// A directive table: the compiled-in grammar/directives.toml, or one parsed from TOML.
#[derive(Debug)]
pub struct DirectiveTable {
    entries: Entries,
    /// The nginx release the table was generated from: the default target.
    newest: Version,
    /// Third-party set names, sorted.
    sets: BTreeSet<String>,
}

#[derive(Debug)]
enum Entries {
    /// The compiled-in table: name `i` is `DIRECTIVE_NAMES[i]` (its [`NameId`]), its entries
    /// are `TABLE_ENTRIES[NAME_RANGES[i]]`, typed into `specs[i]` when first asked for (a
    /// small check meets a few dozen of the ~900 names).
    Builtin {
        specs: Vec<OnceLock<Vec<DirectiveSpec>>>,
    },
    /// A table parsed from TOML; `names` sorted (for suggestions and deterministic iteration).
    Parsed {
        by_name: HashMap<String, Vec<DirectiveSpec>>,
        names: Vec<String>,
    },
}

/// One entry of grammar/directives.toml, typed by build.rs.
struct RawEntry {
    name: &'static str,
    module: &'static str,
    contexts: ContextSet,
    args: Arity,
    block: bool,
    kind: Option<ValueKind>,
    values: &'static [&'static str],
    since: Option<Version>,
    until: Option<Version>,
    set: Option<&'static str>,
}

// TABLE_HEADER, TABLE_ENTRIES, DIRECTIVE_NAMES and NAME_RANGES.
include!(concat!(env!("OUT_DIR"), "/directives_table.rs"));

/// A directive name of the built-in table as a small number: its place in the table's sorted
/// list of names (generated by build.rs). The resolved tree keeps one per node instead of a
/// string slice, a quarter of a node's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NameId(u16);

impl NameId {
    /// The id of `name`, when the built-in table has a directive of that name.
    pub fn of(name: &str) -> Option<NameId> {
        static INDEX: LazyLock<foldhash::HashMap<&'static str, u16>> = LazyLock::new(|| {
            DIRECTIVE_NAMES
                .iter()
                .zip(0..)
                .map(|(&n, i)| (n, i))
                .collect()
        });
        INDEX.get(name).map(|&i| NameId(i))
    }

    /// The number (below `u16::MAX`, which build.rs checks).
    pub fn index(self) -> u16 {
        self.0
    }

    /// The name whose id has number `i`, if the table has one (the resolved tree asks it of
    /// every node rules look at: one bounds check and a load).
    #[inline]
    pub fn str_of_index(i: u16) -> Option<&'static str> {
        DIRECTIVE_NAMES.get(usize::from(i)).copied()
    }
}

impl RawEntry {
    /// The entry as a [`DirectiveSpec`].
    fn spec(&self) -> DirectiveSpec {
        DirectiveSpec {
            name: self.name.to_owned(),
            module: self.module.to_owned(),
            contexts: self.contexts,
            args: self.args,
            block: self.block,
            kind: self.kind,
            values: self.values.iter().map(|v| (*v).to_owned()).collect(),
            since: self.since,
            until: self.until,
            set: self.set.map(str::to_owned),
        }
    }
}

/// The release named in a table's header comments ("nginx release-1.31.4").
fn header_version(text: &str) -> Option<Version> {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| {
            let rest = &l[l.find("nginx release-")? + "nginx release-".len()..];
            rest.split_whitespace().next()?.parse::<Version>().ok()
        })
}

static BUILTIN: LazyLock<DirectiveTable> = LazyLock::new(|| {
    let mut newest = header_version(TABLE_HEADER).unwrap_or(Version::new(0, 0, 0));
    let mut sets = BTreeSet::new();
    for e in TABLE_ENTRIES {
        for v in e.since.iter().chain(&e.until) {
            newest = newest.max(*v);
        }
        if let Some(set) = e.set {
            sets.insert(set.to_owned());
        }
    }
    DirectiveTable {
        entries: Entries::Builtin {
            specs: DIRECTIVE_NAMES.iter().map(|_| OnceLock::new()).collect(),
        },
        newest,
        sets,
    }
});

impl DirectiveTable {
    /// The compiled-in table (build.rs checked its fields).
    pub fn builtin() -> &'static DirectiveTable {
        &BUILTIN
    }

    /// A table in grammar/directives.toml's form (the built-in one is compiled in by build.rs).
    pub fn parse(text: &str) -> Result<Self, DirectiveError> {
        let file: TableFile =
            toml::from_str(text).map_err(|e| DirectiveError::Table(e.to_string()))?;
        Self::from_specs(text, file.directive)
    }

    /// The table of `specs`; `text` begins with the file's header comments.
    fn from_specs(text: &str, specs: Vec<DirectiveSpec>) -> Result<Self, DirectiveError> {
        let mut newest = header_version(text).unwrap_or(Version::new(0, 0, 0));
        let mut by_name: HashMap<String, Vec<DirectiveSpec>> = HashMap::new();
        let mut sets = BTreeSet::new();
        for spec in specs {
            for v in spec.since.iter().chain(&spec.until) {
                newest = newest.max(*v);
            }
            if let Some(set) = &spec.set {
                sets.insert(set.clone());
            }
            if matches!(spec.kind, Some(ValueKind::Enum | ValueKind::Bitmask))
                && spec.values.is_empty()
            {
                return Err(DirectiveError::Table(format!(
                    "\"{}\" ({}) is an enum/bitmask without values",
                    spec.name, spec.module
                )));
            }
            by_name.entry(spec.name.clone()).or_default().push(spec);
        }
        let mut names: Vec<String> = by_name.keys().cloned().collect();
        names.sort();
        Ok(DirectiveTable {
            entries: Entries::Parsed { by_name, names },
            newest,
            sets,
        })
    }

    /// Every entry named `name` (several modules may define one name), in table order.
    pub fn get(&self, name: &str) -> &[DirectiveSpec] {
        match &self.entries {
            Entries::Builtin { specs } => {
                let Some(i) = NameId::of(name).map(|id| usize::from(id.index())) else {
                    return &[];
                };
                match specs.get(i) {
                    Some(cell) => cell.get_or_init(|| {
                        NAME_RANGES
                            .get(i)
                            .and_then(|&(a, b)| TABLE_ENTRIES.get(a as usize..b as usize))
                            .unwrap_or_default()
                            .iter()
                            .map(RawEntry::spec)
                            .collect()
                    }),
                    None => &[],
                }
            }
            Entries::Parsed { by_name, .. } => by_name.get(name).map_or(&[], Vec::as_slice),
        }
    }

    /// True when a stock entry named `name` exists in nginx `version`.
    pub fn known_in(&self, name: &str, version: Version) -> bool {
        self.get(name)
            .iter()
            .any(|s| s.set.is_none() && s.exists_in(version))
    }

    /// The newest nginx release the table knows: the default target version.
    pub fn newest(&self) -> Version {
        self.newest
    }

    /// Every name once, sorted.
    pub fn names(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match &self.entries {
            Entries::Builtin { .. } => Box::new(DIRECTIVE_NAMES.iter().copied()),
            Entries::Parsed { names, .. } => Box::new(names.iter().map(String::as_str)),
        }
    }

    /// Every entry, grouped by name in name order.
    pub fn iter(&self) -> impl Iterator<Item = &DirectiveSpec> {
        self.names().flat_map(|n| self.get(n))
    }

    /// The names of the optional third-party sets.
    pub fn sets(&self) -> impl Iterator<Item = &str> {
        self.sets.iter().map(String::as_str)
    }

    pub fn has_set(&self, set: &str) -> bool {
        self.sets.contains(set)
    }
}

/// Module files whose name does not match a module of their set.
const MODULE_FILE_ALIASES: &[(&str, &str)] = &[("ngx_rtmp_module", "rtmp")];

/// The set a `load_module` path loads, if it is one of the known third-party sets: the file
/// name without `.so` is a module of the set (`ngx_http_lua_module.so` -> `lua`).
pub fn set_for_module_file(table: &DirectiveTable, path: &str) -> Option<String> {
    let file = path.rsplit('/').next()?;
    let stem = file.strip_suffix(".so").unwrap_or(file);
    if let Some((_, set)) = MODULE_FILE_ALIASES.iter().find(|(m, _)| *m == stem) {
        return Some((*set).to_owned());
    }
    table
        .iter()
        .find(|s| s.set.is_some() && s.module == stem)
        .and_then(|s| s.set.clone())
}

/// The `.so` file that provides a set's module (for messages).
pub fn module_file_for(spec: &DirectiveSpec) -> String {
    if spec.set.as_deref() == Some("rtmp") {
        return "ngx_rtmp_module.so".to_owned();
    }
    // The core halves of njs are in the same file as the module.
    let module = spec.module.replace("_js_core_module", "_js_module");
    format!("{module}.so")
}

/// How a name looks in the directives known to this run.
#[derive(Debug, Clone)]
pub enum Lookup<'a> {
    /// Known; the entries that exist for the target and enabled sets.
    Known(Vec<&'a DirectiveSpec>),
    /// Only in a third-party set that is not enabled.
    SetNotEnabled(&'a DirectiveSpec),
    /// Stock, but not in the target version.
    WrongVersion(&'a DirectiveSpec),
    Unknown,
}

/// The directives known to one run: the table, the user's declarations, the sets enabled in
/// settings or loaded by `load_module`, and the target version.
#[derive(Debug)]
pub struct Directives<'a> {
    pub table: &'a DirectiveTable,
    pub user: &'a [DirectiveSpec],
    pub enabled_sets: BTreeSet<String>,
    pub target: Version,
}

impl<'a> Directives<'a> {
    pub fn new(
        table: &'a DirectiveTable,
        user: &'a [DirectiveSpec],
        enabled_sets: impl IntoIterator<Item = String>,
        target: Version,
    ) -> Self {
        Self {
            table,
            user,
            enabled_sets: enabled_sets.into_iter().collect(),
            target,
        }
    }

    /// A view of the built-in table with the user's declarations and sets.
    pub fn builtin(
        user: &'a [DirectiveSpec],
        enabled_sets: impl IntoIterator<Item = String>,
        target: Version,
    ) -> Self {
        Self::new(DirectiveTable::builtin(), user, enabled_sets, target)
    }

    /// Adds the sets of the modules `load_module` loads (`paths`: their arguments).
    pub fn with_loaded_modules<'p>(mut self, paths: impl IntoIterator<Item = &'p str>) -> Self {
        for path in paths {
            if let Some(set) = set_for_module_file(self.table, path) {
                self.enabled_sets.insert(set);
            }
        }
        self
    }

    fn is_known(&self, spec: &DirectiveSpec) -> bool {
        match &spec.set {
            Some(set) => self.enabled_sets.contains(set),
            None => spec.exists_in(self.target),
        }
    }

    pub fn lookup(&self, name: &str) -> Lookup<'a> {
        let table: &'a DirectiveTable = self.table;
        let user: &'a [DirectiveSpec] = self.user;
        let mut known: Vec<&'a DirectiveSpec> = user.iter().filter(|s| s.name == name).collect();
        known.extend(table.get(name).iter().filter(|s| self.is_known(s)));
        if !known.is_empty() {
            return Lookup::Known(known);
        }
        let entries = table.get(name);
        if let Some(stock) = entries.iter().find(|s| s.set.is_none()) {
            return Lookup::WrongVersion(stock);
        }
        match entries.first() {
            Some(set_entry) => Lookup::SetNotEnabled(set_entry),
            None => Lookup::Unknown,
        }
    }

    /// The entry nginx would use for `name` in `ctx`: the first known one allowing it.
    pub fn for_context(&self, name: &str, ctx: Context) -> Option<&'a DirectiveSpec> {
        match self.lookup(name) {
            Lookup::Known(specs) => specs.into_iter().find(|s| s.allows_context(ctx)),
            _ => None,
        }
    }

    /// Known names allowed in `ctx` (user ones first), for "did you mean".
    pub fn names_in_context(&self, ctx: Context) -> BTreeSet<&'a str> {
        let table: &'a DirectiveTable = self.table;
        let user: &'a [DirectiveSpec] = self.user;
        user.iter()
            .chain(table.iter())
            .filter(|s| s.allows_context(ctx) && self.is_known(s))
            .map(|s| s.name.as_str())
            .collect()
    }
}

/// Directives that distributions backport into older nginx versions than upstream's `since`
/// (found by tests/directives_nginx_oracle.rs against Debian's binary): GW010 names them.
pub const DISTRO_BACKPORTS: &[(&str, &str)] = &[(
    "max_headers",
    "Debian 12 backports it into 1.22.1 (1.22.1-9+deb12u11, a security fix)",
)];

/// Directives with a custom setter that still refuses a second occurrence in one block with
/// `"x" directive is duplicate` (checked against nginx 1.22 by tests/directives_nginx_oracle.rs).
/// The generic slots are covered by [`ValueKind::rejects_duplicates`]; array-like directives
/// (`add_header`, `proxy_set_header`, `error_page`, `listen`, `server`, `set`, `rewrite`,
/// `return`, `allow`, `limit_req` with different zones, ...) legitimately repeat.
pub const CUSTOM_DUPLICATE_DIRECTIVES: &[&str] = &[
    "alias",
    "auth_request",
    "expires",
    "fastcgi_cache",
    "fastcgi_cache_key",
    "fastcgi_pass",
    "grpc_pass",
    "internal",
    "keepalive_timeout",
    "memcached_pass",
    "proxy_cache",
    "proxy_cache_key",
    "proxy_pass",
    "resolver",
    "root",
    "scgi_cache",
    "scgi_cache_key",
    "scgi_pass",
    "try_files",
    "uwsgi_cache",
    "uwsgi_cache_key",
    "uwsgi_pass",
];

impl DirectiveSpec {
    /// True when nginx refuses this directive twice in one block ("is duplicate").
    pub fn rejects_duplicates(&self) -> bool {
        self.kind.is_some_and(ValueKind::rejects_duplicates)
            || (self.set.is_none() && CUSTOM_DUPLICATE_DIRECTIVES.contains(&self.name.as_str()))
    }
}

/// The `module` of directives declared in the user's settings.
pub const USER_MODULE: &str = "settings [directives]";

/// Levenshtein distance with adjacent transpositions (optimal string alignment), on bytes.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest of `candidates` to `name`, if close enough to be a typo.
pub fn suggest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let lower = name.to_ascii_lowercase();
    let limit = (name.len() / 4).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> &'static DirectiveTable {
        DirectiveTable::builtin()
    }

    #[test]
    fn builtin_table_loads_with_known_facts() {
        let t = table();
        assert_eq!(t.newest(), Version::new(1, 31, 4));
        let prt = &t.get("proxy_read_timeout")[0];
        assert!(prt.allows_context(Context::Location));
        assert!(!prt.allows_context(Context::Upstream));
        assert_eq!(prt.kind, Some(ValueKind::Time));
        assert!(prt.accepts_arg_count(1) && !prt.accepts_arg_count(2));
        let http2 = &t.get("http2")[0];
        assert_eq!(http2.since, Some(Version::new(1, 25, 1)));
        assert!(!t.known_in("http2", Version::new(1, 22, 1)));
        assert!(t.known_in("http2", Version::new(1, 25, 1)));
        assert!(t.known_in("ssl", Version::new(1, 22, 1)));
        assert!(!t.known_in("ssl", Version::new(1, 25, 1)));
        assert!(t.get("server").len() >= 4);
        assert!(t.get("location")[0].is_block());
        assert!(t.has_set("lua") && t.has_set("headers-more") && t.has_set("rtmp"));
        assert!(!t.known_in("content_by_lua_block", t.newest()));
    }

    #[test]
    fn compiled_in_table_is_the_toml_table() -> Result<(), DirectiveError> {
        let parsed = DirectiveTable::parse(DIRECTIVES_TOML)?;
        let built = table();
        assert_eq!(parsed.newest, built.newest);
        assert!(parsed.names().eq(built.names()));
        assert_eq!(parsed.sets, built.sets);
        let mut entries = 0;
        for name in parsed.names() {
            assert_eq!(parsed.get(name), built.get(name), "{name}");
            entries += built.get(name).len();
        }
        assert_eq!(entries, TABLE_ENTRIES.len());
        assert!(built.get("no_such_directive").is_empty());
        Ok(())
    }

    #[test]
    fn context_sets_hold_contexts_by_name() {
        use Context::*;
        let all = [
            Main,
            Events,
            Http,
            Server,
            Location,
            Upstream,
            IfServer,
            IfLocation,
            LimitExcept,
            Stream,
            StreamServer,
            StreamUpstream,
            Mail,
            MailServer,
            Entries,
            Unknown,
        ];
        // `contains` tests a bit by the variant's place: it must be the bit of its name.
        for ctx in all {
            let Ok(set) = ContextSet::from_names([ctx.as_str()]) else {
                assert!(matches!(ctx, Entries | Unknown), "{ctx:?} has no bit");
                continue;
            };
            for other in all {
                assert_eq!(set.contains(other), other == ctx, "{ctx:?} {other:?}");
            }
        }
        let every = ContextSet::from_names(CONTEXT_NAMES.iter().copied());
        let every = every.unwrap_or_default();
        assert!(all
            .iter()
            .all(|&c| every.contains(c) != matches!(c, Entries | Unknown)));
    }

    #[test]
    fn value_kind_names_are_the_serde_names() {
        use serde::de::IntoDeserializer;
        for (name, variant) in syntax::KIND_NAMES {
            let d: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
                name.into_deserializer();
            let kind = ValueKind::deserialize(d).map_err(|e| e.to_string());
            assert_eq!(kind.map(|k| format!("{k:?}")).as_deref(), Ok(*variant));
        }
    }

    #[test]
    fn arity_follows_ngx_conf_handler() -> Result<(), DirectiveError> {
        let a = |s: &str| s.parse::<Arity>();
        assert!(a("FLAG")?.accepts(1) && !a("FLAG")?.accepts(0) && !a("FLAG")?.accepts(2));
        assert!(a("1MORE")?.accepts(1) && a("1MORE")?.accepts(30) && !a("1MORE")?.accepts(0));
        assert!(a("2MORE")?.accepts(2) && !a("2MORE")?.accepts(1));
        assert!(a("ANY")?.accepts(0) && a("ANY")?.accepts(100));
        assert!(a("NOARGS")?.accepts(0) && !a("NOARGS")?.accepts(1));
        assert!(a("TAKE12")?.accepts(1) && a("TAKE12")?.accepts(2) && !a("TAKE12")?.accepts(3));
        assert!(a("NOARGS|TAKE1")?.accepts(0) && a("NOARGS|TAKE1")?.accepts(1));
        // 1MORE is tested before the NOARGS bit: nginx refuses zero arguments here.
        assert!(!a("NOARGS|1MORE")?.accepts(0));
        assert!(a("TAKE7")?.accepts(7) && !a("TAKE7")?.accepts(8));
        assert_eq!(a("TAKE123")?.describe(), "1 to 3 arguments");
        assert_eq!(a("TAKE13")?.describe(), "1 or 3 arguments");
        assert_eq!(a("TAKE1")?.describe(), "exactly 1 argument");
        assert!(a("TAKE8").is_err() && a("TAKE").is_err() && a("MORE").is_err());
        Ok(())
    }

    #[test]
    fn versions_order_numerically() -> Result<(), DirectiveError> {
        assert!("1.9.11".parse::<Version>()? < "1.10.0".parse::<Version>()?);
        assert_eq!("1.22.1".parse::<Version>()?.to_string(), "1.22.1");
        assert!("1.22".parse::<Version>().is_err());
        assert!("1.22.x".parse::<Version>().is_err());
        assert!("1.2.3.4".parse::<Version>().is_err());
        assert_eq!(" 1.25.0\n".parse::<Version>()?, Version::new(1, 25, 0));
        for bad in [
            "",
            "1..2",
            "1.2.3.",
            ".1.2",
            "+1.2.3",
            "1.2.-3",
            "1.2.4294967296",
            "1.2.٣",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?}");
        }
        assert_eq!(
            "1.2.4294967295".parse::<Version>()?,
            Version::new(1, 2, u32::MAX)
        );
        Ok(())
    }

    #[test]
    fn module_files_map_to_sets() {
        let t = table();
        let set = |p: &str| set_for_module_file(t, p);
        assert_eq!(
            set("/usr/lib/nginx/modules/ngx_http_lua_module.so").as_deref(),
            Some("lua")
        );
        assert_eq!(
            set("modules/ngx_http_headers_more_filter_module.so").as_deref(),
            Some("headers-more")
        );
        assert_eq!(set("ngx_http_js_module.so").as_deref(), Some("njs"));
        assert_eq!(
            set("ngx_http_brotli_filter_module.so").as_deref(),
            Some("brotli")
        );
        assert_eq!(set("ngx_http_geoip2_module.so").as_deref(), Some("geoip2"));
        assert_eq!(
            set("ngx_http_vhost_traffic_status_module.so").as_deref(),
            Some("vts")
        );
        assert_eq!(
            set("ngx_http_uploadprogress_module.so").as_deref(),
            Some("upload-progress")
        );
        assert_eq!(set("ngx_rtmp_module.so").as_deref(), Some("rtmp"));
        assert_eq!(set("ngx_stream_module.so"), None);
    }

    #[test]
    fn suggestions() {
        let names = ["proxy_pass", "proxy_read_timeout", "root"];
        assert_eq!(suggest("proxy_passs", names), Some("proxy_pass"));
        assert_eq!(suggest("Proxy_Pass", names), Some("proxy_pass"));
        assert_eq!(
            suggest("proxy_raed_timeout", names),
            Some("proxy_read_timeout")
        );
        assert_eq!(suggest("xyz", names), None);
        assert_eq!(edit_distance("abc", "acb"), 1);
    }
}
