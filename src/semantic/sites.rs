//! Where a configuration holds regular expressions nginx compiles at startup, each with the
//! options nginx compiles it with (src/http/ngx_http_core_module.c `ngx_http_core_location`,
//! `ngx_http_core_server_name`, gzip_disable; ngx_http_rewrite_module.c `rewrite` and `if`;
//! ngx_http_map_module.c / ngx_stream_map_module.c; ngx_http_proxy_module.c proxy_redirect and
//! proxy_cookie_*; ngx_http_referer_module.c; fastcgi_split_path_info).

use crate::config::{NodeId, ResolvedConfig};

use crate::directives::Context;
use crate::syntax::{DirRef, WordRef};

/// One regex nginx compiles.
#[derive(Clone, Debug)]
pub struct RegexSite<'t> {
    /// The directive holding it (for map entries, the `map` block).
    pub node: NodeId,
    /// The word the pattern comes from (a map entry's key, a location's argument, ...).
    pub word: WordRef<'t>,
    /// The pattern, without nginx's `~` / `~*` marker.
    pub pattern: &'t str,
    pub caseless: bool,
    /// True for regexes nginx compiles through `ngx_http_regex_compile`, whose named captures
    /// become variables (locations, server names, rewrite, if, map); false for plain
    /// `ngx_regex_compile` (fastcgi_split_path_info, gzip_disable, valid_referers).
    pub defines_captures: bool,
}

/// Strips a leading `~` or `~*`.
fn strip_tilde(s: &str) -> Option<(&str, bool)> {
    let rest = s.strip_prefix('~')?;
    Some(match rest.strip_prefix('*') {
        Some(r) => (r, true),
        None => (rest, false),
    })
}

/// How a `location` is written, as `ngx_http_core_location` reads its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocationForm<'t> {
    Exact(&'t str),
    NoRegex(&'t str),
    Prefix(&'t str),
    Named(&'t str),
    Regex {
        pattern: &'t str,
        caseless: bool,
        word: usize,
    },
    /// `location <mod> uri` with a modifier nginx does not know.
    InvalidModifier(&'t str),
}

pub fn location_form(d: DirRef<'_>) -> Option<LocationForm<'_>> {
    let args = d.args();
    match (args.array(), args.array()) {
        (_, Some([m, name])) => Some(match m.as_str() {
            "=" => LocationForm::Exact(name.as_str()),
            "^~" => LocationForm::NoRegex(name.as_str()),
            "~" => LocationForm::Regex {
                pattern: name.as_str(),
                caseless: false,
                word: 1,
            },
            "~*" => LocationForm::Regex {
                pattern: name.as_str(),
                caseless: true,
                word: 1,
            },
            other => LocationForm::InvalidModifier(other),
        }),
        (Some([name]), _) => {
            let n = name.as_str();
            Some(if let Some(rest) = n.strip_prefix('=') {
                LocationForm::Exact(rest)
            } else if let Some(rest) = n.strip_prefix("^~") {
                LocationForm::NoRegex(rest)
            } else if let Some((pattern, caseless)) = strip_tilde(n) {
                LocationForm::Regex {
                    pattern,
                    caseless,
                    word: 0,
                }
            } else if n.starts_with('@') {
                LocationForm::Named(n)
            } else {
                LocationForm::Prefix(n)
            })
        }
        _ => None,
    }
}

/// The operands of an `if (...)` condition, parentheses removed (`ngx_http_rewrite_if`
/// strips the `(` from the first word and the `)` from the last).
pub fn if_operands(d: DirRef<'_>) -> Vec<(WordRef<'_>, &str)> {
    let n = d.args().len();
    d.args()
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mut s = w.as_str();
            if i == 0 {
                s = s.strip_prefix('(').unwrap_or(s);
            }
            if i + 1 == n {
                s = s.strip_suffix(')').unwrap_or(s);
            }
            (w, s)
        })
        .collect()
}

/// Entries of a `map` block that are regexes: `(word, pattern, caseless)`.
fn map_regexes(d: DirRef<'_>) -> Vec<(WordRef<'_>, &str, bool)> {
    let mut out = Vec::new();
    for entry in d.children() {
        if matches!(
            entry.name(),
            "default" | "hostnames" | "volatile" | "include"
        ) && entry.args().len() <= 1
        {
            continue;
        }
        if let Some((p, c)) = strip_tilde(entry.name()) {
            out.push((entry.name_word(), p, c));
        }
    }
    out
}

/// A regex site and what compiling it gave: the regex, or nginx's message for why PCRE2
/// refused it.
#[derive(Clone, Debug)]
pub struct CompiledSite<'t> {
    pub site: RegexSite<'t>,
    pub compiled: std::sync::Arc<Result<pcre2::bytes::Regex, String>>,
}

/// [`regex_sites`], each compiled as nginx compiles it ([`super::regex::compile`]). A pattern
/// written many times (the same `location ~ \.php$` in thousands of servers) is compiled once:
/// the result depends only on the pattern and the caseless flag.
pub fn compiled_regex_sites<'t>(config: &ResolvedConfig<'t>) -> Vec<CompiledSite<'t>> {
    type Compiled = std::sync::Arc<Result<pcre2::bytes::Regex, String>>;
    let mut seen: foldhash::HashMap<(&'t str, bool), Compiled> = foldhash::HashMap::default();
    regex_sites(config)
        .into_iter()
        .map(|site| {
            let compiled = seen
                .entry((site.pattern, site.caseless))
                .or_insert_with(|| {
                    std::sync::Arc::new(super::regex::compile(site.pattern, site.caseless))
                })
                .clone();
            CompiledSite { site, compiled }
        })
        .collect()
}

/// Every regex of the configuration, in source order.
pub fn regex_sites<'t>(config: &ResolvedConfig<'t>) -> Vec<RegexSite<'t>> {
    let mut out = Vec::new();
    for (id, n) in config.iter() {
        let d: DirRef<'t> = n.directive;
        let site =
            |word: WordRef<'t>, pattern: &'t str, caseless: bool, captures: bool| RegexSite {
                node: id,
                word,
                pattern,
                caseless,
                defines_captures: captures,
            };
        match (n.name(), n.context) {
            ("location", Context::Server | Context::Location) => {
                if let Some(LocationForm::Regex {
                    pattern,
                    caseless,
                    word,
                }) = location_form(d)
                {
                    if let Some(w) = d.args().get(word) {
                        out.push(site(w, pattern, caseless, true));
                    }
                }
            }
            ("server_name", Context::Server) => {
                for w in d.args() {
                    if let Some(p) = w.as_str().strip_prefix('~') {
                        if !p.is_empty() {
                            let caseless = p.bytes().any(|b| b.is_ascii_uppercase());
                            out.push(site(w, p, caseless, true));
                        }
                    }
                }
            }
            ("rewrite", _) if n.context.is_http_like() => {
                if let Some(w) = d.args().first() {
                    out.push(site(w, w.as_str(), false, true));
                }
            }
            ("if", Context::Server | Context::Location) => {
                let ops = if_operands(d);
                for pair in ops.windows(2) {
                    let (op, (w, p)) = (pair[0].1, pair[1]);
                    if matches!(op, "~" | "~*" | "!~" | "!~*") {
                        out.push(site(w, p, op.ends_with('*'), true));
                    }
                }
            }
            ("map", Context::Http | Context::Stream) => {
                for (w, p, c) in map_regexes(d) {
                    out.push(site(w, p, c, true));
                }
            }
            ("fastcgi_split_path_info", _) => {
                if let Some(w) = d.args().first() {
                    out.push(site(w, w.as_str(), false, false));
                }
            }
            ("gzip_disable", _) => {
                for w in d.args() {
                    if !matches!(w.as_str(), "msie6" | "degradation") {
                        out.push(site(w, w.as_str(), true, false));
                    }
                }
            }
            ("valid_referers", _) => {
                for w in d.args() {
                    if let Some(p) = w.as_str().strip_prefix('~') {
                        out.push(site(w, p, true, false));
                    }
                }
            }
            (
                "proxy_redirect" | "proxy_cookie_domain" | "proxy_cookie_path",
                Context::Http | Context::Server | Context::Location | Context::IfLocation,
            ) => {
                if let (Some(w), 2) = (d.args().first(), d.args().len()) {
                    if let Some((p, c)) = strip_tilde(w.as_str()) {
                        out.push(site(w, p, c || n.name() == "proxy_cookie_domain", true));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each site gets what compiling its own pattern gives; a pattern written twice with the
    /// same flag shares one compilation, with the other flag it gets its own.
    #[test]
    fn a_pattern_written_many_times_is_compiled_once() {
        let text = "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp {\n server {\n  location ~ \\.php$ { }\n  location ~* \\.php$ { }\n  location ~ (unclosed { }\n }\n server {\n  location ~ \\.php$ { }\n  location ~ (unclosed { }\n }\n}\n";
        let tree = crate::config::load_dump(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let config = ResolvedConfig::build(&tree);
        let sites = compiled_regex_sites(&config);
        assert_eq!(sites.len(), 5);
        for s in &sites {
            let alone = crate::semantic::regex::compile(s.site.pattern, s.site.caseless);
            assert_eq!(alone.as_ref().err(), s.compiled.as_ref().as_ref().err());
            assert_eq!(alone.is_ok(), s.compiled.is_ok());
        }
        assert!(std::sync::Arc::ptr_eq(
            &sites[0].compiled,
            &sites[3].compiled
        ));
        assert!(!std::sync::Arc::ptr_eq(
            &sites[0].compiled,
            &sites[1].compiled
        ));
        assert!(std::sync::Arc::ptr_eq(
            &sites[2].compiled,
            &sites[4].compiled
        ));
        assert!(sites[2].compiled.is_err());
    }
}
