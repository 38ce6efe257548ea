//! Where a configuration refers to variables and where it defines them, directive by directive,
//! as the stock modules compile their arguments: only the arguments nginx compiles as scripts or
//! complex values (`ngx_http_script_compile`, `ngx_http_compile_complex_value`,
//! `ngx_http_get_variable_index`) count, so a `$` in a regex or a literal stays a `$`.

use crate::config::{NodeId, ResolvedConfig};

use crate::directives::Context;
use crate::directives::DirectiveTable;
use crate::syntax::{Directive, Word};

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
    Some((n.file, n.directive.block.as_ref()?.close))
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
    pub word: &'t Word,
    /// The part of the word that is the value (the `if` operand without its parenthesis,
    /// `if=` stripped from access_log's condition).
    pub value: &'t str,
    pub kind: RefKind,
}

/// The arguments of a directive that nginx compiles as scripts: `(first, skip)`: arguments from
/// index `first` on, except `skip`.
fn script_args(name: &str, ns: Namespace, d: &Directive) -> Option<(usize, Option<usize>)> {
    let n = d.args.len();
    let regex0 = d.arg(0).is_some_and(|a| a.starts_with('~'));
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
        ) => (0, None),
        (Namespace::Http, "set" | "auth_request_set") => (1, None),
        (Namespace::Http, "rewrite") => (1, Some(2)),
        (Namespace::Http, "log_format") => (1, None),
        (_, "access_log") => (0, if n > 1 { Some(1) } else { None }),
        (Namespace::Http, "proxy_redirect" | "proxy_cookie_domain" | "proxy_cookie_path") => {
            (if regex0 { 1 } else { 0 }, None)
        }
        (Namespace::Http | Namespace::Stream, "map" | "split_clients") => (0, Some(1)),
        (Namespace::Http | Namespace::Stream, "geo") if n == 2 => (0, Some(1)),
        // upstream `hash KEY [consistent]`: the key is a complex value.
        (Namespace::Http | Namespace::Stream, "hash") => (0, Some(1)),
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
        ) => (0, None),
        (Namespace::Stream, "set") => (1, None),
        (Namespace::Stream, "log_format") => (1, None),
        _ => return None,
    })
}

/// Every argument of the configuration that nginx reads variables from and that holds a `$`,
/// in source order (a word without one names no variable and cannot be a bad reference).
pub fn reference_words<'t>(config: &ResolvedConfig<'t>) -> Vec<(Namespace, RefWord<'t>)> {
    let mut out = Vec::new();
    for (id, n) in config.iter() {
        let Some(ns) = namespace(config, id) else {
            continue;
        };
        let d: &'t Directive = n.directive;
        let push =
            |out: &mut Vec<(Namespace, RefWord<'t>)>, word: &'t Word, value: &'t str, kind| {
                if memchr::memchr(b'$', value.as_bytes()).is_none() {
                    return;
                }
                out.push((
                    ns,
                    RefWord {
                        node: id,
                        word,
                        value,
                        kind,
                    },
                ))
            };
        // Entries are values, and inside a third-party block directives are not nginx's own.
        if matches!(n.context, Context::Entries | Context::Unknown) {
            continue;
        }
        if n.name() == "if" && matches!(n.context, Context::Server | Context::Location) {
            let ops = if_operands(d);
            let mut regex_next = false;
            for (i, (w, v)) in ops.iter().enumerate() {
                if regex_next {
                    regex_next = false;
                    continue;
                }
                match *v {
                    "~" | "~*" | "!~" | "!~*" => regex_next = true,
                    "=" | "!=" | "-f" | "!-f" | "-d" | "!-d" | "-e" | "!-e" | "-x" | "!-x" => {}
                    // `if ($)`: nginx calls the condition invalid (GW027), no variable is read.
                    _ if i == 0 && v.starts_with('$') => {
                        if v.len() > 1 {
                            push(&mut out, w, v, RefKind::Whole)
                        }
                    }
                    _ => push(&mut out, w, v, RefKind::Script),
                }
            }
            continue;
        }
        if matches!(n.name(), "charset" | "source_charset") && ns == Namespace::Http {
            if let Some(w) = d.args.first() {
                if w.as_str().starts_with('$') {
                    push(&mut out, w, w.as_str(), RefKind::Whole);
                }
            }
            continue;
        }
        if n.name() == "map" && d.block.is_some() {
            for entry in d.children() {
                if matches!(entry.name(), "hostnames" | "volatile" | "include")
                    && entry.args.is_empty()
                {
                    continue;
                }
                if let Some(v) = entry.args.last() {
                    push(&mut out, v, v.as_str(), RefKind::Script);
                }
            }
        }
        // ngx_http_memcached_pass asks for the index of `$memcached_key`, which only `set`
        // defines: without one nginx refuses to start (unknown "memcached_key" variable).
        if n.name() == "memcached_pass" && ns == Namespace::Http {
            push(&mut out, &d.name, "$memcached_key", RefKind::Whole);
        }
        let Some((first, skip)) = script_args(n.name(), ns, d) else {
            continue;
        };
        for (i, w) in d.args.iter().enumerate().skip(first) {
            if Some(i) == skip {
                continue;
            }
            let mut value = w.as_str();
            if n.name() == "access_log" {
                if let Some(cond) = value.strip_prefix("if=") {
                    value = cond;
                } else if i > 0 {
                    continue;
                }
            }
            if n.name() == "log_format" && value.starts_with("escape=") && i == 1 {
                continue;
            }
            push(&mut out, w, value, RefKind::Script);
        }
    }
    out
}

/// True when `name` is a stock nginx directive (not third-party, not unknown).
fn is_stock(table: &DirectiveTable, name: &str) -> bool {
    table.get(name).iter().any(|s| s.set.is_none())
}

/// Variables the configuration defines.
pub fn defined_variables(config: &ResolvedConfig<'_>, table: &DirectiveTable) -> Defined {
    defined_variables_with(config, table, &sites::compiled_regex_sites(config))
}

/// [`defined_variables`] with the configuration's regexes already compiled (`regexes` is
/// [`sites::compiled_regex_sites`] of `config`).
pub fn defined_variables_with(
    config: &ResolvedConfig<'_>,
    table: &DirectiveTable,
    regexes: &[sites::CompiledSite<'_>],
) -> Defined {
    let mut defined = Defined::default();
    let var = |w: Option<&Word>| {
        w.and_then(|w| w.as_str().strip_prefix('$'))
            .map(str::to_owned)
    };
    for (id, n) in config.iter() {
        let ns = namespace(config, id);
        let d = n.directive;
        let name = n.name();
        if n.context == Context::Entries || n.context == Context::Unknown {
            // Entries of a third-party block (geoip2 { $var ...; }) may define variables.
            if n.context == Context::Unknown {
                for w in std::iter::once(&d.name).chain(&d.args) {
                    if let Some(v) = var(Some(w)) {
                        defined.insert(None, &v);
                    }
                }
            }
            continue;
        }
        let target = match name {
            "set" | "auth_request_set" | "perl_set" | "js_set" | "js_var" => var(d.args.first()),
            "map" | "split_clients" => var(d.args.get(1)),
            "geo" => var(d.args.last().filter(|_| d.args.len() <= 2)),
            _ if !is_stock(table, name) => {
                // A third-party directive (set_by_lua, geoip2, ...): a `$name` argument may be
                // a variable it defines; nginx-gwlint cannot tell, so it counts as defined.
                for w in &d.args {
                    if let Some(v) = var(Some(w)) {
                        defined.insert(None, &v);
                    }
                }
                None
            }
            _ => None,
        };
        if let Some(v) = target {
            defined.insert(ns, &v);
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
) -> Vec<(Namespace, NodeId, &'t Word, String)> {
    stock_definitions_with(config, &sites::compiled_regex_sites(config))
}

/// [`stock_definitions`] with the configuration's regexes already compiled (`regexes` is
/// [`sites::compiled_regex_sites`] of `config`).
pub fn stock_definitions_with<'t>(
    config: &ResolvedConfig<'t>,
    regexes: &[sites::CompiledSite<'t>],
) -> Vec<(Namespace, NodeId, &'t Word, String)> {
    let mut out = Vec::new();
    for (id, n) in config.iter() {
        if matches!(n.context, Context::Entries | Context::Unknown) {
            continue;
        }
        let d: &'t Directive = n.directive;
        let word = match n.name() {
            "set" | "auth_request_set" | "perl_set" => d.args.first(),
            "map" | "split_clients" if d.block.is_some() => d.args.get(1),
            "geo" if d.block.is_some() && d.args.len() <= 2 => d.args.last(),
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
