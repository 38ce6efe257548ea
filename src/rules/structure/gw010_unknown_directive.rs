use super::structure::{checked_nodes, resolve, Resolution};
use super::options::OptionsSpec;
use super::{Elsewhere, FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};
use crate::directives::{module_file_for, suggest, Context, DirectiveSpec, Lookup, DISTRO_BACKPORTS};

pub struct UnknownDirective;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW010,
    severity: Severity::Error,
    summary: "a directive name nginx does not know (typo, missing module, wrong nginx version)",
    fix: FixAvailability::None,
    options: Some(OptionsSpec::of::<Options>(&[
        (
            "third-party-severity",
            "severity for directives of a known third-party module that the configuration does not load",
        ),
        (
            "nginx-plus",
            "the configuration runs on NGINX Plus: its commercial directives (api, health_check, keyval, zone_sync ...) are known",
        ),
    ])),
    doc: r#"## What it finds
A directive name that is not in nginx-gwlint's directive table for the target nginx version:
a typo (`proxy_passs`), a directive of a third-party module that is not loaded
(`content_by_lua_block` without `load_module ngx_http_lua_module.so`), or a directive the
target nginx version does not have yet or no longer has (`http2 on;` is new in 1.25.1, `ssl on;`
was removed in 1.25.1). The message is nginx's own, `unknown directive "x"`, with the closest
directive allowed at that place as a suggestion, or the module or version range that has it.

A stock directive whose module the target's nginx builds as a dynamic module (`nginx -V`
lists `--with-stream=dynamic`, `--with-http_geoip_module=dynamic` ...) is unknown to nginx until
a `load_module` of that file comes before it: `stream { }` on Debian or Ubuntu without
libnginx-mod-stream. This is checked only where the target's build is known: the checked
nginx.conf is the one this machine's nginx reads (its `--conf-path`), or `--sysroot` holds the
nginx binary (its configure arguments are read from the file, never run). For a copy of a
tree, the target's build is not known.

Directives inside `map`, `geo`, `types`, `split_clients`, `charset_map` bodies (entries, not
directives) and inside blocks of unknown modules are not checked.

A module's `load_module` can only stand at the main level. When an include there was not read,
or the file is checked on its own, a third-party module's directive and a name no stock
directive is near may be provided by a module loaded there: info, "cannot tell for sure". A
near miss of a stock name (`proxy_passs`) stays an error with its suggestion.

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
them, at the severity of the `third-party-severity` option (default **warning**, not error):
nginx builds such as OpenResty compile these modules in statically, with no `load_module` line
to see, so the linter cannot be sure the binary lacks them. A plain unknown name is an error:
no build of nginx has it. Directives of your own modules can be declared under
`[directives.NAME]` (`contexts`, `args`, optional `block`, `kind`, `values`).

## NGINX Plus and removed directives
A directive of NGINX Plus's commercial modules (`api`, `status_zone`, `health_check`,
`keyval`, `zone_sync`, `auth_jwt`, ...) is reported as "NGINX Plus only": open-source nginx
refuses it. Set `nginx-plus = true` under `[rules.GW010]` when the configuration runs on NGINX
Plus. A directive its module removed names its replacement (`js_include` -> `js_import`).

## Target version
Directives are checked against the newest nginx the table knows unless a target version is
set; then a directive outside its version range is reported with the range, e.g.
`the "http2" directive exists since nginx 1.25.1` for `http2 on;` on 1.22.1. When no target
was given (`--nginx-version`, `nginx-version` in settings) and no nginx binary of the target
was read (`nginx -v` of the installed nginx, the `--sysroot`'s binary), the newest version is
assumed: a directive outside its range there is info, and the message says the version is
assumed.

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

/// GW010's options.
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
struct Options {
    #[serde(alias = "third_party_severity")]
    third_party_severity: Severity,
    #[serde(alias = "nginx_plus")]
    nginx_plus: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            third_party_severity: Severity::Warning,
            nginx_plus: false,
        }
    }
}

impl Rule for UnknownDirective {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let Options {
            third_party_severity,
            nginx_plus,
        } = cx.options(&META);
        // A module's `load_module` can only be at the main level: an unread include there, or
        // the nginx.conf around a file checked on its own, may load what provides a name.
        let elsewhere = cx.defined_elsewhere().filter(|e| match e {
            Elsewhere::Unread(inc) => cx.config.node(*inc).context == Context::Main,
            Elsewhere::AroundThisFile => true,
        });
        let loader = "may load a module that provides it";
        for (id, node) in checked_nodes(cx) {
            let Resolution::Unknown(lookup) = resolve(cx, id) else {
                continue;
            };
            let name = node.name();
            let message = format!("unknown directive \"{name}\"");
            let span = node.directive.name_word().span();
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
                    cx.hedged_by(d, loader, elsewhere)
                }
                Lookup::WrongVersion(spec) => {
                    let specs = cx.directives.table.get(name);
                    // A guessed target (the newest) is no fact about the nginx that runs this:
                    // say which version is assumed, as info.
                    let guess = crate::rules::common::target_is_guess(cx);
                    let mut d = cx.diagnostic(
                        &META,
                        node.file,
                        span,
                        format!(
                            "{message} in nginx {}: the \"{name}\" directive {}",
                            crate::rules::common::target_described(cx),
                            version_ranges(spec, specs)
                        ),
                    );
                    if guess {
                        d.severity = d.severity.min(Severity::Info);
                    }
                    d
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
                Lookup::Unknown if NGINX_PLUS_ONLY.contains(&name) => {
                    if nginx_plus {
                        continue;
                    }
                    cx.diagnostic(
                        &META,
                        node.file,
                        span,
                        format!("{message}: \"{name}\" is NGINX Plus only (the commercial build); open-source nginx refuses it"),
                    )
                    .with_help("remove it for open-source nginx; if this configuration runs on NGINX Plus, set nginx_plus = true under [rules.GW010] in nginx-gwlint.toml")
                }
                Lookup::Unknown if REMOVED.iter().any(|(n, _)| *n == name) => {
                    let replacement = REMOVED
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map_or("", |(_, r)| *r);
                    cx.diagnostic(&META, node.file, span, format!("{message}: {replacement}"))
                        .with_help("rewrite it with the replacement; current njs builds refuse the old directive")
                }
                Lookup::Known(_) | Lookup::Unknown => {
                    let candidates = cx.directives.names_in_context(node.context);
                    let d = cx.diagnostic(&META, node.file, span, message);
                    match suggest(name, candidates) {
                        Some(s) => d.with_help(format!("did you mean \"{s}\"?")),
                        // No stock directive is near: a third-party module's, perhaps loaded
                        // where this check could not look.
                        None => cx.hedged_by(d.with_help(
                            "if it belongs to a third-party module, declare it under [directives] in nginx-gwlint.toml",
                        ), loader, elsewhere),
                    }
                }
            };
            out.push(d);
        }
        unloaded_dynamic_modules(cx, out);
    }
}

/// Stock directives of a module that the target's nginx (this machine's, or the binary inside
/// `--sysroot`) builds as a dynamic module (`nginx -V`: `--with-stream=dynamic`), used before
/// any `load_module` of its file: nginx does not know them (`unknown directive "stream"`). Once
/// per module file, at its first use. Elsewhere the target's build is unknown: nothing is said.
fn unloaded_dynamic_modules(cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
    let Some((which, build)) = crate::rules::common::target_build(cx.ws) else {
        return;
    };
    if build.dynamic.is_empty() {
        return;
    }
    // A main-level include that was not read may load anything from its position on.
    let unread = cx.config.unread_include_in(None).map(|id| id.index());
    let mut loaded: Vec<String> = Vec::new();
    let mut reported: Vec<&str> = Vec::new();
    for (id, node) in checked_nodes(cx) {
        if node.name() == "load_module" {
            if let Some(path) = node.arg(0) {
                let file = path.rsplit('/').next().unwrap_or(path);
                loaded.push(file.strip_suffix(".so").unwrap_or(file).to_owned());
            }
            continue;
        }
        let Resolution::Spec(spec) = resolve(cx, id) else {
            continue;
        };
        if spec.set.is_some() || unread.is_some_and(|u| u < id.index()) {
            continue;
        }
        let Some(dynamic) = build.dynamic_file_of(&spec.module) else {
            continue;
        };
        if loaded.contains(&dynamic.file) || reported.contains(&dynamic.file.as_str()) {
            continue;
        }
        reported.push(&dynamic.file);
        let name = node.name();
        let package = dynamic
            .file
            .trim_start_matches("ngx_")
            .trim_end_matches("_module")
            .replace('_', "-");
        out.push(
            cx.diagnostic(
                &META,
                node.file,
                node.directive.name_word().span(),
                format!(
                    "unknown directive \"{name}\": {which}, which reads this configuration, has {} as a dynamic module and nothing loads {}.so before this line",
                    spec.module, dynamic.file
                ),
            )
            .with_help(format!(
                "add `load_module modules/{}.so;` at the top of nginx.conf (on Debian and Ubuntu the package libnginx-mod-{package} installs the module and a load_module line under /etc/nginx/modules-enabled/)",
                dynamic.file
            )),
        );
    }
}

/// Directives of NGINX Plus's commercial modules that open-source nginx does not have (the
/// nginx.org reference marks them "available as part of our commercial subscription"). Only
/// consulted for names the directive table does not know at all: a directive that later came
/// to open-source nginx (`sticky` in 1.29.6, upstream `zone`) is in the table.
const NGINX_PLUS_ONLY: &[&str] = &[
    "api",
    "status",
    "status_format",
    "status_zone",
    "health_check",
    "health_check_timeout",
    "match",
    "keyval",
    "keyval_zone",
    "zone_sync",
    "zone_sync_buffers",
    "zone_sync_connect_retry_interval",
    "zone_sync_connect_timeout",
    "zone_sync_interval",
    "zone_sync_recv_buffer_size",
    "zone_sync_server",
    "zone_sync_ssl",
    "zone_sync_ssl_certificate",
    "zone_sync_ssl_certificate_key",
    "zone_sync_ssl_ciphers",
    "zone_sync_ssl_protocols",
    "zone_sync_ssl_trusted_certificate",
    "zone_sync_ssl_verify",
    "zone_sync_timeout",
    "auth_jwt",
    "auth_jwt_claim_set",
    "auth_jwt_header_set",
    "auth_jwt_key_cache",
    "auth_jwt_key_file",
    "auth_jwt_key_request",
    "auth_jwt_leeway",
    "auth_jwt_require",
    "auth_jwt_type",
    "session_log",
    "session_log_format",
    "session_log_zone",
    "f4f",
    "f4f_buffer_size",
    "hls",
    "hls_buffers",
    "hls_forward_args",
    "hls_fragment",
    "hls_mp4_buffer_size",
    "hls_mp4_max_buffer_size",
    "ntlm",
    "queue",
    "state",
    "least_time",
    "sticky_cookie_insert",
    "upstream_conf",
    "internal_redirect",
    "mp4_limit_rate",
    "mp4_limit_rate_after",
    "license_token",
    "mgmt",
    "usage_report",
];

/// Directives removed from a module, with what replaces them.
const REMOVED: &[(&str, &str)] = &[(
    "js_include",
    "njs deprecated `js_include` in 0.4.0 and later removed it; use `js_import FILE;` and name handlers as `module.function` (`js_content main.handler;`)",
)];

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
