use foldhash::{HashMap, HashMapExt};

use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::NodeId;
use crate::directives::Context;
use crate::diagnostic::{Diagnostic, Severity};
use crate::semantic::sites::{location_form, LocationForm};
use crate::semantic::url::{self, UrlOptions};

pub struct DuplicateDefinition;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW024,
    severity: Severity::Error,
    summary:
        "a name nginx allows once defined twice: location, upstream, log_format, built-in variable, shared memory zone",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
- two prefix locations with the same URI in one block (`location /api` twice, or `/api` and
  `^~ /api`), or two exact ones (`location = /x` twice): "duplicate location" (nginx joins an
  exact and a prefix location of the same URI; regex and named locations may repeat);
- two `upstream` blocks with the same name, compared case-insensitively (http and stream
  apart): "duplicate upstream";
- two `log_format` with one name, or one named `combined` (built in): `duplicate "log_format"
  name`;
- `set`, `map`, `geo`, `split_clients`, `auth_request_set`, `perl_set` or a named regex
  capture that defines a built-in variable nginx does not let a configuration change (`set
  $host ...`, `(?<uri>...)`): `the duplicate "host" variable` (`$args`, `$limit_rate` and a
  few others may be set);
- a shared memory zone declared twice: `limit_req_zone`/`limit_conn_zone` with the same
  `zone=` ("is already bound to key"), `*_cache_path` with the same `keys_zone=` ("duplicate
  zone"), or one name used by two kinds of zone ("already declared for a different use").

## Why it matters
`nginx -t` fails:

```
[emerg] duplicate location "/api" in /etc/nginx/sites-enabled/app:31
```

It happens when a snippet with a location is included into a server that already has it, or
when two sites each declare `upstream backend`.

## Example
```nginx
server {
    include snippets/api.conf;   # has location /api { ... }
    location /api { proxy_pass http://app; }
}
```

## Use instead
```nginx
server {
    include snippets/api.conf;
}
```

## Fix safety
No automatic fix: which of the two definitions should stay is your decision."#,
};

/// The first declaration of a shared memory zone: the directive, its size (0: none given) and
/// the module that owns it (nginx's `tag`: one name may not serve two modules).
struct Zone {
    id: NodeId,
    size: u64,
    tag: String,
}

/// Every shared memory zone the configuration declares, in source order.
pub(crate) fn zones(
    config: &crate::config::ResolvedConfig<'_>,
) -> Vec<(NodeId, String, u64, String)> {
    let mut all = Vec::new();
    let split = |v: &str| -> (String, u64) {
        match v.split_once(':') {
            Some((n, s)) => (n.to_owned(), crate::values::parse_size(s).unwrap_or(0)),
            None => (v.to_owned(), 0),
        }
    };
    let module = |id: NodeId| match crate::semantic::refs::namespace(config, id) {
        Some(crate::semantic::variables::Namespace::Stream) => "stream",
        _ => "http",
    };
    for (directive, key) in [
        ("limit_req_zone", "zone="),
        ("limit_conn_zone", "zone="),
        ("proxy_cache_path", "keys_zone="),
        ("fastcgi_cache_path", "keys_zone="),
        ("uwsgi_cache_path", "keys_zone="),
        ("scgi_cache_path", "keys_zone="),
    ] {
        for &id in config.nodes_named(directive) {
            if let Some(z) = config
                .node(id)
                .directive
                .args()
                .iter()
                .find_map(|a| a.as_str().strip_prefix(key))
            {
                let (name, size) = split(z);
                all.push((id, name, size, format!("{directive} {}", module(id))));
            }
        }
    }
    for &id in config.nodes_named("ssl_session_cache") {
        for a in config.node(id).directive.args() {
            if let Some(z) = a.as_str().strip_prefix("shared:") {
                let (name, size) = split(z);
                all.push((id, name, size, format!("ssl {}", module(id))));
            }
        }
    }
    for &id in config.nodes_named("zone") {
        let n = config.node(id);
        if !matches!(n.context, Context::Upstream | Context::StreamUpstream) {
            continue;
        }
        if let Some(name) = n.arg(0) {
            let size = n.arg(1).and_then(crate::values::parse_size).unwrap_or(0);
            all.push((
                id,
                name.to_owned(),
                size,
                format!("upstream {}", module(id)),
            ));
        }
    }
    all.sort();
    all
}

impl Rule for DuplicateDefinition {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let here = |id: NodeId| cx.where_is(id);
        // Locations, per enclosing block: grouped by block (a stable sort keeps each block's
        // locations in source order), so one small map at a time holds a block's locations
        // rather than one map holding every location of the configuration.
        let mut by_block: Vec<(Option<NodeId>, NodeId)> = config
            .nodes_named("location")
            .iter()
            .filter(|&&id| matches!(config.node(id).context, Context::Server | Context::Location))
            .map(|&id| (config.node(id).parent(), id))
            .collect();
        by_block.sort_by_key(|&(block, _)| block);
        let mut seen: HashMap<(bool, &str), NodeId> = HashMap::new();
        for (i, &(block, id)) in by_block.iter().enumerate() {
            if i == 0 || by_block[i - 1].0 != block {
                seen.clear();
            }
            let n = config.node(id);
            let key = match location_form(n.directive) {
                Some(LocationForm::Exact(u)) => (true, u),
                Some(LocationForm::Prefix(u) | LocationForm::NoRegex(u)) => (false, u),
                _ => continue,
            };
            match seen.entry(key) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(id);
                }
                std::collections::hash_map::Entry::Occupied(o) => {
                    let first = *o.get();
                    out.push(
                        cx.diagnostic(
                            &META,
                            n.file,
                            n.directive.head_span(),
                            format!("duplicate location \"{}\"", key.1),
                        )
                        .with_label(
                            config.node(first).file,
                            config.node(first).directive.head_span(),
                            "first defined here",
                        )
                        .with_help(format!(
                            "merge the two blocks into one, or remove one (the other is at {})",
                            here(first)
                        )),
                    );
                }
            }
        }
        // Upstreams, case-insensitively.
        let mut ups: HashMap<(Context, String), NodeId> = HashMap::new();
        for ctx in [Context::Upstream, Context::StreamUpstream] {
            for id in config.blocks_with_inner(ctx) {
                let n = config.node(id);
                let Some(name) = n.arg(0) else { continue };
                if let Some(first) = ups.insert((ctx, name.to_ascii_lowercase()), id) {
                    ups.insert((ctx, name.to_ascii_lowercase()), first);
                    out.push(
                        cx.diagnostic(&META, n.file, n.directive.head_span(), format!("duplicate upstream \"{name}\""))
                            .with_label(config.node(first).file, config.node(first).directive.head_span(), "first defined here")
                            .with_help(format!("upstream names are compared without case: rename one, or keep one block (the other is at {})", here(first))),
                    );
                }
            }
        }
        // log_format names, per module (http and stream have their own; `combined` is built in
        // for http).
        let mut formats: HashMap<(Context, String), Option<NodeId>> = HashMap::new();
        for &id in config.nodes_named("log_format") {
            let n = config.node(id);
            let Some(w) = n.directive.args().first() else {
                continue;
            };
            let ctx = n.context;
            if ctx == Context::Http {
                formats.entry((ctx, "combined".to_owned())).or_insert(None);
            }
            match formats.insert((ctx, w.as_str().to_owned()), Some(id)) {
                None => {}
                Some(first) => {
                    let mut d = cx.diagnostic(
                        &META,
                        n.file,
                        w.span(),
                        format!("duplicate \"log_format\" name \"{}\"", w.as_str()),
                    );
                    d = match first {
                        Some(f) => d
                            .with_label(
                                config.node(f).file,
                                config.node(f).directive.head_span(),
                                "first defined here",
                            )
                            .with_help("rename one of the formats"),
                        None => d.with_help(
                            "`combined` is built into nginx: give your format another name",
                        ),
                    };
                    out.push(d);
                }
            }
        }
        // Server names per listen address: a second server with a name another server on the
        // same address already has is ignored for it (ngx_http_server_names: a warning).
        // Listen address, then name: looked up without building a key per pair.
        let mut names: HashMap<String, HashMap<String, NodeId>> = HashMap::new();
        for server in config.blocks_with_inner(Context::Server) {
            let mut keys: Vec<String> = config
                .children_named(Some(server), "listen")
                .filter_map(|l| {
                    let n = config.node(l);
                    let a = n.arg(0)?;
                    // `quic` listens on UDP, a socket apart from the port's TCP one.
                    let quic = n.directive.args().iter().skip(1).any(|w| w.as_str() == "quic");
                    url::parse(
                        a,
                        UrlOptions {
                            uri_part: false,
                            listen: true,
                        },
                    )
                    .ok()?
                    .socket_key(quic)
                })
                .collect();
            if config
                .children_named(Some(server), "listen")
                .next()
                .is_none()
            {
                keys.push("0.0.0.0:80".to_owned());
            }
            keys.dedup();
            let mut words: Vec<(Option<crate::syntax::WordRef<'_>>, String)> = config
                .children_named(Some(server), "server_name")
                .flat_map(|s| config.node(s).directive.args().iter())
                .filter(|w| !w.as_str().starts_with('~') && !w.as_str().starts_with('$'))
                .map(|w| (Some(w), w.as_str().to_ascii_lowercase()))
                .collect();
            if config
                .children_named(Some(server), "server_name")
                .next()
                .is_none()
            {
                words.push((None, String::new()));
            }
            for key in &keys {
                let on_key = names.entry(key.clone()).or_default();
                for (w, name) in &words {
                    let Some(first) = on_key.get(name.as_str()).copied() else {
                        on_key.insert(name.clone(), server);
                        continue;
                    };
                    if first == server {
                        continue;
                    }
                    let n = config.node(server);
                    let span = w.map_or(n.directive.head_span(), |w| w.span());
                    let mut d = cx
                        .diagnostic(&META, n.file, span, format!("conflicting server name \"{name}\" on {key}, ignored"))
                        .with_label(config.node(first).file, config.node(first).directive.head_span(), "this server has the name first")
                        .with_help(format!("requests for \"{name}\" on {key} go to the first server (at {}); remove the name here or merge the servers", here(first)));
                    d.severity = d.severity.min(Severity::Warning);
                    out.push(d);
                }
            }
        }
        self.check_zones(cx, out);
        // A built-in variable defined again (ngx_http_add_variable).
        for (ns, id, word, name) in crate::semantic::refs::stock_definitions_with(config, cx.regexes()) {
            if crate::semantic::variables::is_fixed_builtin(ns, &name, cx.directives.target) {
                let n = config.node(id);
                out.push(
                    cx.diagnostic(&META, n.file, word.span(), format!("the duplicate \"{name}\" variable"))
                        .with_help(format!("${name} is built into nginx and cannot be redefined: pick another name (e.g. $my_{name})")),
                );
            }
        }
    }
}

impl DuplicateDefinition {
    /// Shared memory zones: one namespace for the whole configuration, http and stream
    /// included (ngx_shared_memory_add in src/core/ngx_cycle.c).
    fn check_zones(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let mut first: HashMap<String, Zone> = HashMap::new();
        for (id, name, size, tag) in zones(config) {
            let n = config.node(id);
            let Some(f) = first.get_mut(&name) else {
                first.insert(name, Zone { id, size, tag });
                continue;
            };
            if f.size == 0 {
                f.size = size;
            }
            let fnode = config.node(f.id);
            let directive = n.name();
            let message = if f.tag != tag {
                format!("the shared memory zone \"{name}\" is already declared for a different use")
            } else if size != 0 && size != f.size {
                format!("the size {size} of shared memory zone \"{name}\" conflicts with already declared size {}", f.size)
            } else if directive.ends_with("_cache_path") {
                format!("duplicate zone \"{name}\"")
            } else if matches!(directive, "limit_req_zone" | "limit_conn_zone") {
                format!(
                    "{directive} \"{name}\" is already bound to key \"{}\"",
                    fnode.arg(0).unwrap_or_default()
                )
            } else {
                // ssl_session_cache and upstream zones may share a zone of one size.
                continue;
            };
            out.push(
                cx.diagnostic(&META, n.file, n.directive.head_span(), message)
                    .with_label(fnode.file, fnode.directive.head_span(), "first declared here")
                    .with_help("give each zone its own name (http and stream count as different uses too), or the same size everywhere it is shared"),
            );
        }
    }
}
