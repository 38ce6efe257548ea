use foldhash::HashSet;

use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::NodeId;
use crate::directives::Context;
use crate::diagnostic::{Diagnostic, Severity};
use crate::semantic::refs::namespace;
use crate::semantic::variables::Namespace;

pub struct UndefinedZoneOrFormat;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW026,
    severity: Severity::Error,
    summary: "limit_req/limit_conn/proxy_cache zone, access_log format or aio thread pool that is never defined",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
- `limit_req zone=NAME` without a `limit_req_zone ... zone=NAME:size`, `limit_conn NAME` without
  a `limit_conn_zone ... zone=NAME:size` (http and stream apart): nginx ends up with a shared
  memory zone of size zero, "zero size shared memory zone "NAME"";
- `proxy_cache NAME` (and `fastcgi_cache`, `uwsgi_cache`, `scgi_cache`) without the matching
  `*_cache_path ... keys_zone=NAME:size`: `"proxy_cache" zone "NAME" is unknown`;
- `access_log PATH FORMAT` whose FORMAT is neither `combined` (http) nor a `log_format` defined
  before it (nginx looks formats up while it reads `access_log`, so a `log_format` further down
  does not count; names compare without case): `unknown log format "FORMAT"`. Note that the
  second argument is always the format: `access_log /var/log/x.log buffer=32k;` names a format
  "buffer=32k".

- `aio threads=NAME` without a `thread_pool NAME threads=N;` in the main context (only the
  pool `default` exists on its own): `unknown thread pool "NAME"`.

Each of these says a name is defined nowhere. When an include at the main or http level was
not read, or the file is checked on its own (the nginx.conf around it may define the zone,
format or pool), the finding is info, "cannot tell for sure". `combined` is nginx's own format
in a file checked on its own too.

## Why it matters
`nginx -t` fails:

```
[emerg] zero size shared memory zone "api"
[emerg] unknown log format "json" in /etc/nginx/sites-enabled/app:3
```

Typical after copying a server block from another machine without the http-level part.

## Example
```nginx
location /api/ {
    limit_req zone=api burst=10;
    proxy_pass http://app;
}
```

## Use instead
```nginx
limit_req_zone $binary_remote_addr zone=api:10m rate=10r/s;   # in http { }
```

## Fix safety
No automatic fix: the zone's key, size and rate are yours to choose."#,
};

fn zone_names(
    cx: &LintContext<'_, '_>,
    directive: &str,
    key: &str,
) -> HashSet<(Option<Namespace>, String)> {
    cx.config
        .nodes_named(directive)
        .iter()
        .filter_map(|id| {
            let n = cx.config.node(*id);
            let z = n
                .directive
                .args()
                .iter()
                .find_map(|a| a.as_str().strip_prefix(key))?;
            Some((
                namespace(cx.config, *id),
                z.split(':').next().unwrap_or(z).to_owned(),
            ))
        })
        .collect()
}

impl Rule for UndefinedZoneOrFormat {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let mut found = Vec::new();
        undefined(cx, &mut found);
        // Each finding says a name is defined nowhere: a file that was not read (or the
        // nginx.conf around a file checked on its own) may define it.
        out.extend(found.into_iter().map(|d| {
            let what = if d.message.starts_with("log format is not specified") {
                return d;
            } else if d.message.starts_with("unknown log format") {
                "that log format"
            } else if d.message.starts_with("unknown thread pool") {
                "that thread pool"
            } else {
                "that zone"
            };
            cx.hedged_undefined(d, what)
        }));
    }
}

/// Every zone, thread pool and log format used and defined nowhere in the files read.
fn undefined(cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
    let config = cx.config;
    let req = zone_names(cx, "limit_req_zone", "zone=");
    let conn = zone_names(cx, "limit_conn_zone", "zone=");
    for &id in config.nodes_named("limit_req") {
        let n = config.node(id);
        let Some(w) = n
            .directive
            .args()
            .iter()
            .find(|a| a.as_str().starts_with("zone="))
        else {
            continue;
        };
        let name = &w.as_str()[5..];
        if !req.contains(&(namespace(config, id), name.to_owned())) {
            out.push(cx.diagnostic(&META, n.file, w.span(), format!("zero size shared memory zone \"{name}\""))
                .with_help(format!("define the zone in http {{ }}: limit_req_zone $binary_remote_addr zone={name}:10m rate=10r/s;")));
        }
    }
    for &id in config.nodes_named("limit_conn") {
        let n = config.node(id);
        let Some(w) = n.directive.args().first() else {
            continue;
        };
        let ns = namespace(config, id);
        if !conn.contains(&(ns, w.as_str().to_owned())) {
            let level = if ns == Some(Namespace::Stream) {
                "stream"
            } else {
                "http"
            };
            out.push(cx.diagnostic(&META, n.file, w.span(), format!("zero size shared memory zone \"{}\"", w.as_str()))
                .with_help(format!("define the zone in {level} {{ }}: limit_conn_zone $binary_remote_addr zone={}:10m;", w.as_str())));
        }
    }
    for family in ["proxy", "fastcgi", "uwsgi", "scgi"] {
        let cache = format!("{family}_cache");
        let zones = zone_names(cx, &format!("{family}_cache_path"), "keys_zone=");
        for &id in config.nodes_named(&cache) {
            let n = config.node(id);
            let Some(w) = n.directive.args().first() else {
                continue;
            };
            if w.as_str() == "off" || w.as_str().contains('$') || n.context == Context::Entries
            {
                continue;
            }
            if !zones.contains(&(namespace(config, id), w.as_str().to_owned())) {
                let mut d = cx.diagnostic(
                    &META,
                    n.file,
                    w.span(),
                    format!("\"{cache}\" zone \"{}\" is unknown", w.as_str()),
                );
                if let Some((file, close)) = crate::semantic::refs::http_close(config, id) {
                    d = d.with_label(
                        file,
                        close,
                        "nginx -t reports it at this line (the end of http { })",
                    );
                }
                out.push(d
                    .with_help(format!("define it in http {{ }}: {family}_cache_path /var/cache/nginx/{0} keys_zone={0}:10m;", w.as_str())));
            }
        }
    }
    // `aio threads=NAME` needs `thread_pool NAME ...` in main, except the pool "default"
    // that nginx creates on its own (ngx_thread_pool_init_conf).
    let pools: HashSet<&str> = config
        .nodes_named("thread_pool")
        .iter()
        .filter_map(|id| config.node(*id).arg(0))
        .collect();
    for &id in config.nodes_named("aio") {
        let n = config.node(id);
        let Some(w) = n.directive.args().first() else {
            continue;
        };
        let Some(name) = w.as_str().strip_prefix("threads=") else {
            continue;
        };
        if !n.context.is_http_like() || name.contains('$') || name == "default" || pools.contains(name) {
            continue;
        }
        out.push(cx.diagnostic(&META, n.file, w.span(), format!("unknown thread pool \"{name}\""))
            .with_help(format!("define it at the top of nginx.conf: thread_pool {name} threads=32; (or use `aio threads;` for the default pool)")));
    }
    // `zone NAME;` in an upstream without a size needs the zone declared with a size by
    // another upstream; otherwise it has size zero.
    let all = super::gw024_duplicate_definition::zones(config);
    for (id, name, size, tag) in &all {
        if *size != 0 || !tag.starts_with("upstream") {
            continue;
        }
        if all.iter().any(|(_, n, s, _)| n == name && *s != 0) {
            continue;
        }
        let n = config.node(*id);
        let w = n
            .directive
            .args()
            .first()
            .map_or(n.directive.head_span(), |w| w.span());
        out.push(
            cx.diagnostic(
                &META,
                n.file,
                w,
                format!("zero size shared memory zone \"{name}\""),
            )
            .with_help(format!("give the zone a size: zone {name} 64k;")),
        );
    }
    // access_log formats: those defined before, case-insensitively.
    let mut formats: Vec<(Option<Namespace>, String, NodeId)> = config
        .nodes_named("log_format")
        .iter()
        .filter_map(|id| {
            Some((
                namespace(config, *id),
                config.node(*id).arg(0)?.to_ascii_lowercase(),
                *id,
            ))
        })
        .collect();
    formats.sort_by_key(|f| f.2);
    for &id in config.nodes_named("access_log") {
        let n = config.node(id);
        if n.arg(0) == Some("off") {
            continue;
        }
        let ns = namespace(config, id);
        let Some(w) = n.directive.args().get(1) else {
            if ns == Some(Namespace::Stream) {
                out.push(cx.diagnostic(&META, n.file, n.directive.head_span(), "log format is not specified")
                    .with_help("stream access_log needs a format: access_log /var/log/nginx/stream.log NAME; with log_format NAME ... in stream { }"));
            }
            continue;
        };
        let name = w.as_str().to_ascii_lowercase();
        if ns == Some(Namespace::Http) && name == "combined" {
            continue;
        }
        if formats
            .iter()
            .any(|(fns, f, fid)| *fns == ns && *f == name && *fid < id)
        {
            continue;
        }
        let later = formats.iter().any(|(fns, f, _)| *fns == ns && *f == name);
        let help = if later {
            "log_format must come before the access_log that uses it: move it up (to the top of http { })".to_owned()
        } else if w.as_str().contains('=') {
            format!("the second argument of access_log is the format name: write access_log PATH combined {};", w.as_str())
        } else {
            format!("define it first: log_format {} '...';", w.as_str())
        };
        out.push(
            cx.diagnostic(
                &META,
                n.file,
                w.span(),
                format!("unknown log format \"{}\"", w.as_str()),
            )
            .with_help(help),
        );
    }
}
