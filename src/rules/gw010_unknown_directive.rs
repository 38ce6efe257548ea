use super::structure::{checked_nodes, resolve, Resolution};
use super::{FixKind, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};
use crate::directives::{module_file_for, suggest, DirectiveSpec, Lookup, DISTRO_BACKPORTS};

pub struct UnknownDirective;

static META: RuleMeta = RuleMeta {
    id: "GW010",
    name: "unknown-directive",
    severity: Severity::Error,
    summary: "a directive name nginx does not know (typo, missing module, wrong nginx version)",
    fix: FixKind::None,
    options: &[(
        "third_party_severity",
        "severity for directives of a known third-party module that the configuration does not load (default \"warning\")",
    )],
    doc: r#"## What it finds
A directive name that is not in nginx-gwlint's directive table for the target nginx version:
a typo (`proxy_passs`), a directive of a third-party module that is not loaded
(`content_by_lua_block` without `load_module ngx_http_lua_module.so`), or a directive the
target nginx version does not have yet or no longer has (`http2 on;` is new in 1.25.1, `ssl on;`
was removed in 1.25.1). The message is nginx's own, `unknown directive "x"`, with the closest
directive allowed at that place as a suggestion, or the module or version range that has it.

Directives inside `map`, `geo`, `types`, `split_clients`, `charset_map` bodies (entries, not
directives) and inside blocks of unknown modules are not checked.

## Why it matters
`nginx -t` fails with `[emerg] unknown directive`, so a reload keeps serving the old
configuration and a restart leaves nginx down: every request then fails, not only the ones the
new line was meant for. A typo in a timeout (`proxy_read_timout`) is a classic way to "fix" a 504
that never gets deployed.

## Third-party modules
Directives of the optional sets in grammar/directives.toml (lua, headers-more, njs, brotli,
geoip2, vts, upload-progress, rtmp) are known when a `load_module` line of the configuration
loads the set's module file, or when `enable_sets = [...]` under `[directives]` in
nginx-gwlint.toml enables the set. Otherwise they are reported with the module that provides
them, at the severity of the `third_party_severity` option (default **warning**, not error):
nginx builds such as OpenResty compile these modules in statically, with no `load_module` line
to see, so the linter cannot be sure the binary lacks them. A plain unknown name is an error:
no build of nginx has it. Directives of your own modules can be declared under
`[directives.NAME]` (`contexts`, `args`, optional `block`, `kind`, `values`).

## Target version
Directives are checked against the newest nginx the table knows unless a target version is
set; then a directive outside its version range is reported with the range, e.g.
`the "http2" directive exists since nginx 1.25.1` for `http2 on;` on 1.22.1.

## Example
```nginx
location /api {
    proxy_passs http://127.0.0.1:3000;
    content_by_lua_block { ngx.say("hi") }
}
```

## Use instead
```nginx
# nginx.conf, top level: load_module modules/ngx_http_lua_module.so;
location /api {
    proxy_pass http://127.0.0.1:3000;
    content_by_lua_block { ngx.say("hi") }
}
```

## Fix safety
No automatic fix: a suggestion may be the wrong directive, and loading a module needs the
module installed."#,
};

impl Rule for UnknownDirective {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let third_party_severity = cx
            .settings
            .option::<String>(META.id, "third_party_severity")
            .and_then(|s| s.parse::<Severity>().ok())
            .unwrap_or(Severity::Warning);
        for (id, node) in checked_nodes(cx) {
            let Resolution::Unknown(lookup) = resolve(cx, id) else {
                continue;
            };
            let name = node.name();
            let message = format!("unknown directive \"{name}\"");
            let span = node.directive.name.span;
            let d = match lookup {
                Lookup::SetNotEnabled(spec) => {
                    let mut d = cx
                        .diagnostic(
                            &META,
                            node.file,
                            span,
                            format!(
                                "{message}: it comes from the third-party module {}, which this configuration does not load",
                                spec.module
                            ),
                        )
                        .with_help(set_help(spec));
                    d.severity = third_party_severity;
                    d
                }
                Lookup::WrongVersion(spec) => {
                    let specs = cx.directives.table.get(name);
                    cx.diagnostic(
                        &META,
                        node.file,
                        span,
                        format!(
                            "{message} in nginx {}: the \"{name}\" directive {}",
                            cx.directives.target,
                            version_ranges(spec, specs)
                        ),
                    )
                    .with_help(match DISTRO_BACKPORTS.iter().find(|(n, _)| *n == name) {
                        Some((_, backport)) => format!(
                            "{backport}; if your nginx is such a build, set the target version accordingly or ignore this finding"
                        ),
                        None => format!(
                            "use a directive of nginx {} or check the target version",
                            cx.directives.target
                        ),
                    })
                }
                Lookup::Known(_) | Lookup::Unknown => {
                    let candidates = cx.directives.names_in_context(node.context);
                    let d = cx.diagnostic(&META, node.file, span, message);
                    match suggest(name, candidates) {
                        Some(s) => d.with_help(format!("did you mean \"{s}\"?")),
                        None => d.with_help(
                            "if it belongs to a third-party module, declare it under [directives] in nginx-gwlint.toml",
                        ),
                    }
                }
            };
            out.push(d);
        }
    }
}

fn set_help(spec: &DirectiveSpec) -> String {
    let set = spec.set.as_deref().unwrap_or_default();
    format!(
        "load it with `load_module modules/{};` at the top of nginx.conf, or, if your nginx has it built in (OpenResty), add enable_sets = [\"{set}\"] under [directives] in nginx-gwlint.toml",
        module_file_for(spec)
    )
}

/// "exists since nginx 1.25.1", "existed from nginx 0.7.14 until 1.25.1": the union of the
/// stock entries' ranges.
fn version_ranges(first: &DirectiveSpec, all: &[DirectiveSpec]) -> String {
    let stock: Vec<&DirectiveSpec> = all.iter().filter(|s| s.set.is_none()).collect();
    let since = stock.iter().filter_map(|s| s.since).min().or(first.since);
    let until = if stock.iter().any(|s| s.until.is_none()) {
        None
    } else {
        stock.iter().filter_map(|s| s.until).max()
    };
    match (since, until) {
        (Some(s), None) => format!("exists since nginx {s}"),
        (Some(s), Some(u)) => format!("existed from nginx {s} until it was removed in {u}"),
        (None, Some(u)) => format!("was removed in nginx {u}"),
        (None, None) => "is not in this nginx version".to_owned(),
    }
}
