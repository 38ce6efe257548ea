use foldhash::{HashSet, HashSetExt};

use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};
use crate::semantic::refs::{self, RefKind};
use crate::semantic::script::{self, ScriptError};
use crate::semantic::variables::{self, Namespace};

pub struct UnknownVariable;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW020,
    severity: Severity::Error,
    summary: "a variable that is neither built into nginx nor defined by set/map/geo/split_clients/regex captures; or a malformed `$` reference",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
A `$name` in an argument nginx compiles as a script (proxy_pass, proxy_set_header, return,
add_header, root, try_files, log_format, map values, if conditions, ...) where `name` is no
built-in variable of the target nginx version (grammar/variables.toml, per module: http and
stream have separate sets) and nothing in the configuration defines it: `set`, `map`, `geo`,
`split_clients`, `auth_request_set`, `perl_set`, `js_set`, `js_var`, or a named capture
`(?<name>...)` of a location, server_name, rewrite, if or map regex. nginx resolves names once the
whole configuration is read, so where the definition stands does not matter. Names are compared
in lower case, as nginx does. Also a `$` with no name after it ("invalid variable name") and
`${name` without its `}`.

Variables of third-party modules are unknown to nginx-gwlint: when the configuration uses a
directive that is not stock nginx, a `$name` argument of it counts as a definition, and with a
third-party `load_module` an unknown name is only reported as info.

A name may be defined in a file this check could not read: an include that was not read (at
any level, since `set $x` in one location declares `$x` for the whole configuration), or the
nginx.conf around a file checked on its own. Then the finding is info and says so ("cannot
tell for sure").

## Why it matters
`nginx -t` fails, so the new configuration never loads:

```
[emerg] unknown "connection_upgrade" variable
```

The classic cases: `proxy_set_header Connection $connection_upgrade;` copied from a WebSocket
tutorial without the `map` that defines it, and a `${PORT}` left over from a template that
envsubst (or the docker image's template step) was supposed to replace.

## Example
```nginx
location /ws/ {
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_pass http://app;
}
```

## Use instead
```nginx
map $http_upgrade $connection_upgrade {   # in http { }
    default upgrade;
    ''      close;
}
```

## Fix safety
No automatic fix: what the variable should hold is your decision."#,
};

/// The dynamic modules of stock nginx (their variables are in grammar/variables.toml).
const STOCK_DYNAMIC: &[&str] = &[
    "ngx_http_geoip_module.so",
    "ngx_http_image_filter_module.so",
    "ngx_http_perl_module.so",
    "ngx_http_xslt_filter_module.so",
    "ngx_stream_module.so",
    "ngx_stream_geoip_module.so",
    "ngx_mail_module.so",
];

/// True when a `load_module` names a module that is not part of stock nginx: its variables are
/// unknown here.
fn third_party_modules(cx: &LintContext<'_, '_>) -> bool {
    cx.config.children_named(None, "load_module").any(|id| {
        let file = cx.config.node(id).arg(0).unwrap_or("");
        let base = file.rsplit('/').next().unwrap_or(file);
        !STOCK_DYNAMIC.contains(&base)
    })
}

fn help_for(name: &str, braced: bool, ns: Namespace, cx: &LintContext<'_, '_>) -> String {
    let lower = name.to_ascii_lowercase();
    // nginx's own variables are all lower case: an upper-case name is a template placeholder
    // (envsubst replaces both $NAME and ${NAME}) that was never filled in.
    let upper = name.bytes().any(|b| b.is_ascii_uppercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if upper && (braced || name.len() > 1) {
        let written = if braced {
            format!("${{{name}}}")
        } else {
            format!("${name}")
        };
        return format!(
            "`{written}` looks like a template placeholder that was never replaced: run the template step (envsubst, the nginx image's /etc/nginx/templates) on this file before nginx reads it, or write the value itself"
        );
    }
    if lower == "connection_upgrade" {
        return "define it in http { }: map $http_upgrade $connection_upgrade { default upgrade; '' close; }".to_owned();
    }
    if let Some(since) = variables::newer_builtin(ns, &lower) {
        return format!(
            "${lower} is built in from nginx {since}; the target is {} (--nginx-version)",
            cx.directives.target
        );
    }
    let other = match ns {
        Namespace::Http => Namespace::Stream,
        Namespace::Stream => Namespace::Http,
    };
    if variables::is_builtin(other, &lower, cx.directives.target) {
        let (here, there) = match ns {
            Namespace::Http => ("http", "stream"),
            Namespace::Stream => ("stream", "http"),
        };
        return format!("${lower} is a {there} variable; {here} {{ }} has its own set");
    }
    let near =
        crate::directives::suggest(&lower, variables::builtin_names(ns, cx.directives.target));
    match near {
        Some(n) => format!("did you mean ${n}? Otherwise define it with set or map"),
        None => {
            "define it (set $name value; or a map block in http { }), or use a built-in variable"
                .to_owned()
        }
    }
}

impl Rule for UnknownVariable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let defined = cx.defined_variables();
        let third_party = third_party_modules(cx);
        let mut reported: HashSet<(Namespace, String)> = HashSet::new();
        // Most words repeat across server blocks ($host, http://app$request_uri): one whose
        // names are all known is settled once per distinct (namespace, kind, value).
        let mut clean: HashSet<(Namespace, RefKind, &str)> = HashSet::new();
        refs::reference_words(config, |ns, r| {
            if clean.contains(&(ns, r.kind, r.value)) {
                return;
            }
            let n = config.node(r.node);
            let names: Vec<(&str, bool)> = match r.kind {
                RefKind::Whole => match r.value.strip_prefix('$') {
                    Some(name) if !name.is_empty() => vec![(name, false)],
                    _ => {
                        out.push(
                            cx.diagnostic(
                                &META,
                                n.file,
                                r.word.span(),
                                "invalid variable name \"$\"",
                            )
                            .with_help("write a variable name after `$`"),
                        );
                        return;
                    }
                },
                RefKind::Script => match script::variables(r.value) {
                    Ok(v) => v
                        .into_iter()
                        .map(|v| (v.name, r.value[v.offset..].starts_with("${")))
                        .collect(),
                    Err(e) => {
                        let help = match &e {
                            ScriptError::InvalidName { .. } => "a `$` must start a variable name ($name or ${name}); nginx has no escape for a literal `$` in a script, use a variable that holds it (geo $dollar { default \"$\"; })",
                            ScriptError::MissingBracket { .. } => "close the `${` with `}`; a name has only letters, digits and `_`",
                        };
                        out.push(
                            cx.diagnostic(&META, n.file, r.word.span(), e.message())
                                .with_help(help),
                        );
                        return;
                    }
                },
            };
            let raw = cx.tree.sources.get(n.file).slice(r.word.span());
            // Point at the reference itself when it stands in the word as written (so two
            // unknown names in one word are two findings); else at the word. Each name is
            // searched after the previous one; the search runs only when a name is unknown
            // (most are known), catching up on the names before it.
            let mut cursor = 0;
            let mut located = 0;
            let mut locate = |name: &str, braced: bool| {
                let written = if braced {
                    format!("${{{name}}}")
                } else {
                    format!("${name}")
                };
                match raw
                    .get(cursor..)
                    .and_then(|rest| memchr::memmem::find(rest, written.as_bytes()))
                {
                    Some(at) => {
                        let start = r.word.span().start() + cursor + at;
                        cursor += at + written.len();
                        crate::syntax::Span::new(start, start + written.len())
                    }
                    None => r.word.span(),
                }
            };
            let mut all_known = true;
            for (k, &(name, braced)) in names.iter().enumerate() {
                if defined.knows(ns, name, cx.directives.target) {
                    continue;
                }
                all_known = false;
                for &(before, b) in &names[located..k] {
                    locate(before, b);
                }
                let span = locate(name, braced);
                located = k + 1;
                let lower = name.to_ascii_lowercase();
                if !reported.insert((ns, lower.clone())) {
                    continue;
                }
                let mut d = cx
                    .diagnostic(&META, n.file, span, format!("unknown \"{lower}\" variable"))
                    .with_help(help_for(name, braced, ns, cx));
                if third_party && d.severity > Severity::Info {
                    d.severity = Severity::Info;
                    d.message
                        .push_str(" (unless a third-party module loaded here defines it)");
                }
                out.push(cx.hedged_undefined_anywhere(d, "that variable"));
            }
            if all_known {
                clean.insert((ns, r.kind, r.value));
            }
        });
    }
}
