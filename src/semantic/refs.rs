//! Where a configuration refers to variables and where it defines them, directive by directive,
//! as the stock modules compile their arguments: only the arguments nginx compiles as scripts or
//! complex values (`ngx_http_script_compile`, `ngx_http_compile_complex_value`,
//! `ngx_http_get_variable_index`) count, so a `$` in a regex or a literal stays a `$`.

use crate::config::{NodeId, ResolvedConfig};

use crate::directives::Context;
use crate::directives::DirectiveTable;
use crate::syntax::{DirRef, WordRef};

use super::sites::{self, if_operands};
use super::variables::{Defined, Namespace};

/// The module namespace a node belongs to: under `http` or under `stream`.
pub fn namespace(config: &ResolvedConfig<'_>, id: NodeId) -> Option<Namespace> {
    let top = config.outermost(id);
    match config.node(top).name() {
        "http" => Some(Namespace::Http),
        "stream" => Some(Namespace::Stream),
        // A file checked on its own in the http, server or location context (or stream's):
        // its top level sits inside a block that was not read.
        _ => match config.tree.root_context {
            Context::Main | Context::Events | Context::Mail | Context::MailServer => None,
            Context::Stream | Context::StreamServer | Context::StreamUpstream => {
                Some(Namespace::Stream)
            }
            _ => Some(Namespace::Http),
        },
    }
}

/// The closing brace of the `http` block around a node: where nginx's messages point for the
/// checks it makes while merging, after it has read all of http { }.
pub fn http_close(
    config: &ResolvedConfig<'_>,
    id: NodeId,
) -> Option<(crate::source::FileId, crate::syntax::Span)> {
    let http = config
        .ancestors(id)
        .find(|a| config.node(*a).inner_context() == Context::Http)?;
    let n = config.node(http);
    Some((n.file, n.directive.block()?.close()))
}

/// How a word refers to variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefKind {
    /// A script value: `$name`, `${name}`, `$1` anywhere in it.
    Script,
    /// The whole word after `$` is one variable name (`if ($name)`, `charset $name`).
    Whole,
}

/// One argument nginx reads variables from.
#[derive(Clone, Copy, Debug)]
pub struct RefWord<'t> {
    pub node: NodeId,
    pub word: WordRef<'t>,
    /// The part of the word that is the value (the `if` operand without its parenthesis,
    /// `if=` stripped from access_log's condition).
    pub value: &'t str,
    pub kind: RefKind,
}

/// Which arguments of a directive nginx compiles as scripts, by its name and namespace
/// ([`script_args`]); what the arguments themselves decide is left to [`Args::range`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Args {
    /// Every argument.
    All,
    /// From the second on (`set $x VALUE`).
    From1,
    /// `rewrite REGEX REPLACEMENT [FLAG]`: the replacement only.
    Rewrite,
    /// `log_format NAME [escape=...] STRING...`.
    LogFormat,
    /// `access_log PATH [FORMAT ...] [if=COND]`: the path and the condition.
    AccessLog,
    /// `proxy_redirect`, `proxy_cookie_domain`, `proxy_cookie_path`: all, or after a regex.
    Redirect,
    /// All but the second (`map $src $dst`, `split_clients`, upstream `hash KEY consistent`).
    SkipSecond,
    /// `geo [$src] $dst`: with two arguments, the source.
    Geo,
}

impl Args {
    /// `(first, skip)`: arguments from index `first` on, except `skip`.
    fn range(self, d: DirRef<'_>) -> Option<(usize, Option<usize>)> {
        let n = d.args().len();
        Some(match self {
            Args::All => (0, None),
            Args::From1 | Args::LogFormat => (1, None),
            Args::Rewrite => (1, Some(2)),
            Args::AccessLog => (0, if n > 1 { Some(1) } else { None }),
            Args::Redirect => {
                let regex0 = d.arg(0).is_some_and(|a| a.starts_with('~'));
                (if regex0 { 1 } else { 0 }, None)
            }
            Args::SkipSecond => (0, Some(1)),
            Args::Geo if n == 2 => (0, Some(1)),
            Args::Geo => return None,
        })
    }
}

/// The arguments of directive `name` in `ns` that nginx compiles as scripts.
fn script_args(name: &str, ns: Namespace) -> Option<Args> {
    Some(match (ns, name) {
        (
            Namespace::Http,
            "proxy_pass"
            | "fastcgi_pass"
            | "grpc_pass"
            | "uwsgi_pass"
            | "scgi_pass"
            | "memcached_pass"
            | "proxy_set_header"
            | "grpc_set_header"
            | "fastcgi_param"
            | "uwsgi_param"
            | "scgi_param"
            | "proxy_set_body"
            | "add_header"
            | "add_trailer"
            | "return"
            | "root"
            | "alias"
            | "try_files"
            | "index"
            | "error_page"
            | "proxy_cache_key"
            | "fastcgi_cache_key"
            | "uwsgi_cache_key"
            | "scgi_cache_key"
            | "proxy_cache_bypass"
            | "proxy_no_cache"
            | "fastcgi_cache_bypass"
            | "fastcgi_no_cache"
            | "uwsgi_cache_bypass"
            | "uwsgi_no_cache"
            | "scgi_cache_bypass"
            | "scgi_no_cache"
            | "limit_req_zone"
            | "limit_conn_zone"
            | "sub_filter"
            | "auth_basic"
            | "auth_basic_user_file"
            | "secure_link"
            | "secure_link_md5"
            | "proxy_method"
            | "proxy_ssl_name"
            | "grpc_ssl_name"
            | "uwsgi_ssl_name"
            | "limit_rate"
            | "limit_rate_after"
            | "ssl_certificate"
            | "ssl_certificate_key"
            | "proxy_ssl_certificate"
            | "proxy_ssl_certificate_key"
            | "grpc_ssl_certificate"
            | "grpc_ssl_certificate_key"
            | "uwsgi_ssl_certificate"
            | "uwsgi_ssl_certificate_key"
            | "expires"
            | "proxy_cache"
            | "fastcgi_cache"
            | "uwsgi_cache"
            | "scgi_cache"
            | "proxy_store"
            | "fastcgi_store"
            | "uwsgi_store"
            | "scgi_store"
            | "proxy_bind"
            | "fastcgi_bind"
            | "grpc_bind"
            | "uwsgi_bind"
            | "scgi_bind"
            | "memcached_bind"
            | "proxy_cookie_flags",
        ) => Args::All,
        (Namespace::Http, "set" | "auth_request_set") => Args::From1,
        (Namespace::Http, "rewrite") => Args::Rewrite,
        (Namespace::Http, "log_format") => Args::LogFormat,
        (_, "access_log") => Args::AccessLog,
        (Namespace::Http, "proxy_redirect" | "proxy_cookie_domain" | "proxy_cookie_path") => {
            Args::Redirect
        }
        (Namespace::Http | Namespace::Stream, "map" | "split_clients") => Args::SkipSecond,
        (Namespace::Http | Namespace::Stream, "geo") => Args::Geo,
        // upstream `hash KEY [consistent]`: the key is a complex value.
        (Namespace::Http | Namespace::Stream, "hash") => Args::SkipSecond,
        (
            Namespace::Stream,
            "proxy_pass"
            | "pass"
            | "return"
            | "proxy_ssl_name"
            | "limit_conn_zone"
            | "proxy_bind"
            | "proxy_upload_rate"
            | "proxy_download_rate"
            | "ssl_certificate"
            | "ssl_certificate_key"
            | "proxy_ssl_certificate"
            | "proxy_ssl_certificate_key",
        ) => Args::All,
        (Namespace::Stream, "set") => Args::From1,
        (Namespace::Stream, "log_format") => Args::LogFormat,
        _ => return None,
    })
}

/// The directives whose arguments nginx reads variables from in a way of their own (besides
/// [`script_args`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Special {
    /// `if (...)` in a server or location: its operands.
    If,
    /// `charset $name` / `source_charset $name` in http.
    Charset,
    /// `map` values.
    Map,
    /// `memcached_pass` reads `$memcached_key`.
    MemcachedPass,
    None,
}

/// What a directive name reads variables from: decided once per name, not per node.
#[derive(Clone, Copy, Debug)]
struct NameRefs {
    special: Special,
    /// [`script_args`] in http and in stream (indexed by `Namespace as usize`).
    args: [Option<Args>; 2],
}

impl NameRefs {
    /// `None` when a directive of this name reads no variable anywhere.
    fn of(name: &str) -> Option<NameRefs> {
        let special = match name {
            "if" => Special::If,
            "charset" | "source_charset" => Special::Charset,
            "map" => Special::Map,
            "memcached_pass" => Special::MemcachedPass,
            _ => Special::None,
        };
        let args = [
            script_args(name, Namespace::Http),
            script_args(name, Namespace::Stream),
        ];
        (special != Special::None || args.iter().any(Option::is_some))
            .then_some(NameRefs { special, args })
    }
}

/// [`namespace`] for nodes asked in source order: consecutive nodes mostly share their
/// outermost block (`http`), whose answer is kept.
struct Namespaces<'c, 't> {
    config: &'c ResolvedConfig<'t>,
    last: Option<(NodeId, Option<Namespace>)>,
}

impl<'c, 't> Namespaces<'c, 't> {
    fn new(config: &'c ResolvedConfig<'t>) -> Self {
        Namespaces { config, last: None }
    }

    fn of(&mut self, id: NodeId) -> Option<Namespace> {
        let top = self.config.outermost(id);
        match self.last {
            Some((t, ns)) if t == top => ns,
            _ => {
                let ns = namespace(self.config, top);
                self.last = Some((top, ns));
                ns
            }
        }
    }
}

/// Every argument of the configuration that nginx reads variables from and that holds a `$`,
/// in source order (a word without one names no variable and cannot be a bad reference),
/// handed to `each` as it is found rather than gathered in a list.
pub fn reference_words<'t>(
    config: &ResolvedConfig<'t>,
    mut each: impl FnMut(Namespace, RefWord<'t>),
) {
    // What each node's directive reads, from its name (asked once per distinct name).
    let mut rules: Vec<Option<NameRefs>> = vec![None; config.nodes.len()];
    for (name, ids) in config.names() {
        if let Some(rule) = NameRefs::of(name) {
            for id in ids {
                if let Some(slot) = rules.get_mut(id.index()) {
                    *slot = Some(rule);
                }
            }
        }
    }
    let mut namespaces = Namespaces::new(config);
    for ((id, n), rule) in config.iter().zip(&rules) {
        let Some(rule) = *rule else {
            continue;
        };
        // Entries are values, and inside a third-party block directives are not nginx's own.
        if matches!(n.context, Context::Entries | Context::Unknown) {
            continue;
        }
        let Some(ns) = namespaces.of(id) else {
            continue;
        };
        let d: DirRef<'t> = n.directive;
        // The word as a reference when it holds a `$`. Words are short: a plain search costs
        // less than a vectorized one's setup.
        let refer = |word: WordRef<'t>, value: &'t str, kind| {
            value.as_bytes().contains(&b'$').then_some(RefWord {
                node: id,
                word,
                value,
                kind,
            })
        };
        match rule.special {
            Special::If if matches!(n.context, Context::Server | Context::Location) => {
                let ops = if_operands(d);
                let mut regex_next = false;
                for (i, &(w, v)) in ops.iter().enumerate() {
                    if regex_next {
                        regex_next = false;
                        continue;
                    }
                    match v {
                        "~" | "~*" | "!~" | "!~*" => regex_next = true,
                        "=" | "!=" | "-f" | "!-f" | "-d" | "!-d" | "-e" | "!-e" | "-x" | "!-x" => {}
                        // `if ($)`: nginx calls the condition invalid (GW027), no variable is read.
                        _ if i == 0 && v.starts_with('$') => {
                            if v.len() > 1 {
                                if let Some(r) = refer(w, v, RefKind::Whole) {
                                    each(ns, r)
                                }
                            }
                        }
                        _ => {
                            if let Some(r) = refer(w, v, RefKind::Script) {
                                each(ns, r)
                            }
                        }
                    }
                }
                continue;
            }
            Special::Charset if ns == Namespace::Http => {
                if let Some(w) = d.args().first() {
                    if w.as_str().starts_with('$') {
                        if let Some(r) = refer(w, w.as_str(), RefKind::Whole) {
                            each(ns, r)
                        }
                    }
                }
                continue;
            }
            Special::Map if d.has_block() => {
                for entry in d.children() {
                    if matches!(entry.name(), "hostnames" | "volatile" | "include")
                        && entry.args().is_empty()
                    {
                        continue;
                    }
                    if let Some(v) = entry.args().last() {
                        if let Some(r) = refer(v, v.as_str(), RefKind::Script) {
                            each(ns, r)
                        }
                    }
                }
            }
            // ngx_http_memcached_pass asks for the index of `$memcached_key`, which only `set`
            // defines: without one nginx refuses to start (unknown "memcached_key" variable).
            Special::MemcachedPass if ns == Namespace::Http => {
                if let Some(r) = refer(d.name_word(), "$memcached_key", RefKind::Whole) {
                    each(ns, r)
                }
            }
            _ => {}
        }
        let Some(args) = rule.args[ns as usize] else {
            continue;
        };
        let Some((first, skip)) = args.range(d) else {
            continue;
        };
        for (i, w) in d.args().iter().enumerate().skip(first) {
            if Some(i) == skip {
                continue;
            }
            let mut value = w.as_str();
            if args == Args::AccessLog {
                if let Some(cond) = value.strip_prefix("if=") {
                    value = cond;
                } else if i > 0 {
                    continue;
                }
            }
            if args == Args::LogFormat && value.starts_with("escape=") && i == 1 {
                continue;
            }
            if let Some(r) = refer(w, value, RefKind::Script) {
                each(ns, r)
            }
        }
    }
}

/// True when `name` is a stock nginx directive (not third-party, not unknown).
fn is_stock(table: &DirectiveTable, name: &str) -> bool {
    table.get(name).iter().any(|s| s.set.is_none())
}

/// Variables the configuration defines.
pub fn defined_variables(config: &ResolvedConfig<'_>, table: &DirectiveTable) -> Defined {
    defined_variables_with(config, table, &sites::compiled_regex_sites(config))
}

/// The variable a `$name` word names, without the `$`.
fn var(w: Option<WordRef<'_>>) -> Option<&str> {
    w.and_then(|w| w.as_str().strip_prefix('$'))
}

/// Every `$name` of `words` as defined where the namespace cannot be told (a third-party
/// directive or block may define it; nginx-gwlint cannot tell).
fn insert_any<'w>(defined: &mut Defined, words: impl IntoIterator<Item = WordRef<'w>>) {
    for v in words.into_iter().filter_map(|w| var(Some(w))) {
        defined.insert(None, v);
    }
}

/// Which argument of a directive defines a variable, by the directive's name.
#[derive(Clone, Copy)]
enum Defines {
    /// `set $x ...`, `auth_request_set`, `perl_set`, `js_set`, `js_var`.
    First,
    /// `map $src $dst`, `split_clients $src $dst`.
    Second,
    /// `geo [$src] $dst`.
    Geo,
    /// A third-party directive: any `$name` argument.
    AnyArg,
    Nothing,
}

/// [`defined_variables`] with the configuration's regexes already compiled (`regexes` is
/// [`sites::compiled_regex_sites`] of `config`).
pub fn defined_variables_with(
    config: &ResolvedConfig<'_>,
    table: &DirectiveTable,
    regexes: &[sites::CompiledSite<'_>],
) -> Defined {
    let mut defined = Defined::default();
    // Name by name (a set does not care about order): what a name defines is decided once.
    for (name, ids) in config.names() {
        let defines = match name {
            "set" | "auth_request_set" | "perl_set" | "js_set" | "js_var" => Defines::First,
            "map" | "split_clients" => Defines::Second,
            "geo" => Defines::Geo,
            // A third-party directive (set_by_lua, geoip2, ...): a `$name` argument may be
            // a variable it defines; nginx-gwlint cannot tell, so it counts as defined.
            _ if !is_stock(table, name) => Defines::AnyArg,
            _ => Defines::Nothing,
        };
        for &id in ids {
            let n = config.node(id);
            let d = n.directive;
            if n.context == Context::Entries || n.context == Context::Unknown {
                // Entries of a third-party block (geoip2 { $var ...; }) may define variables.
                if n.context == Context::Unknown {
                    insert_any(&mut defined, std::iter::once(d.name_word()).chain(d.args()));
                }
                continue;
            }
            let target = match defines {
                Defines::First => var(d.args().first()),
                Defines::Second => var(d.args().get(1)),
                Defines::Geo => var(d.args().last().filter(|_| d.args().len() <= 2)),
                Defines::AnyArg => {
                    insert_any(&mut defined, d.args());
                    None
                }
                Defines::Nothing => None,
            };
            if let Some(v) = target {
                defined.insert(namespace(config, id), v);
            }
        }
    }
    for sites::CompiledSite { site, compiled } in regexes {
        if !site.defines_captures {
            continue;
        }
        if let Ok(re) = compiled.as_ref() {
            let ns = namespace(config, site.node);
            for cap in super::regex::named_captures(re) {
                defined.insert(ns, cap);
            }
        }
    }
    defined
}

/// The variables stock directives define, each with the word that defines it: `set`,
/// `auth_request_set`, `perl_set`, `map`, `split_clients`, `geo` targets and the named captures
/// of regexes nginx compiles with `ngx_http_regex_compile`. Each one is added with
/// `ngx_http_add_variable` (or the stream twin), which refuses to redefine a built-in that is not
/// changeable.
pub fn stock_definitions<'t>(
    config: &ResolvedConfig<'t>,
) -> Vec<(Namespace, NodeId, WordRef<'t>, String)> {
    stock_definitions_with(config, &sites::compiled_regex_sites(config))
}

/// [`stock_definitions`] with the configuration's regexes already compiled (`regexes` is
/// [`sites::compiled_regex_sites`] of `config`).
pub fn stock_definitions_with<'t>(
    config: &ResolvedConfig<'t>,
    regexes: &[sites::CompiledSite<'t>],
) -> Vec<(Namespace, NodeId, WordRef<'t>, String)> {
    let mut out = Vec::new();
    for (id, n) in config.iter() {
        if matches!(n.context, Context::Entries | Context::Unknown) {
            continue;
        }
        let d: DirRef<'t> = n.directive;
        let word = match n.name() {
            "set" | "auth_request_set" | "perl_set" => d.args().first(),
            "map" | "split_clients" if d.has_block() => d.args().get(1),
            "geo" if d.has_block() && d.args().len() <= 2 => d.args().last(),
            _ => None,
        };
        let Some(ns) = word.and_then(|_| namespace(config, id)) else {
            continue;
        };
        if let Some(w) = word {
            if let Some(v) = w.as_str().strip_prefix('$') {
                out.push((ns, id, w, v.to_ascii_lowercase()));
            }
        }
    }
    for sites::CompiledSite { site, compiled } in regexes {
        let Some(ns) = namespace(config, site.node) else {
            continue;
        };
        if !site.defines_captures {
            continue;
        }
        if let Ok(re) = compiled.as_ref() {
            for cap in super::regex::named_captures(re) {
                out.push((ns, site.node, site.word, cap.to_ascii_lowercase()));
            }
        }
    }
    out
}
