use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};
use crate::semantic::sites;

pub struct InvalidRegex;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW021,
    severity: Severity::Error,
    summary: "a regular expression PCRE2 cannot compile (location, server_name, rewrite, if, map, fastcgi_split_path_info, ...)",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
A regular expression that PCRE2, the library nginx compiles regexes with, refuses: in
`location ~`/`~*`, `server_name ~`, `rewrite`, `if (... ~ ...)`, `map` keys starting with `~`,
`fastcgi_split_path_info`, `proxy_redirect ~`, `proxy_cookie_domain ~`, `proxy_cookie_path ~`,
`valid_referers ~` and `gzip_disable`. nginx-gwlint compiles each one with PCRE2 and the options
nginx uses (`PCRE2_CASELESS` for `~*`, nothing else; src/core/ngx_regex.c), so PCRE-only syntax
that nginx accepts (lookahead, lookbehind, backreferences, possessive quantifiers) is accepted.

## Why it matters
`nginx -t` fails and a reload is refused, with PCRE2's reason:

```
[emerg] pcre2_compile() failed: missing closing parenthesis in "^/(api" in /etc/nginx/conf.d/app.conf:12
```

## Example
```nginx
location ~ ^/(api|static {
    proxy_pass http://app;
}
```

## Use instead
```nginx
location ~ ^/(api|static) {
    proxy_pass http://app;
}
```

## Fix safety
No automatic fix: only you know what the pattern should match."#,
};

impl Rule for InvalidRegex {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        for n in config
            .nodes_named("server_name")
            .iter()
            .map(|id| config.node(*id))
        {
            for w in n.directive.args() {
                if w.as_str() == "~" {
                    out.push(
                        cx.diagnostic(&META, n.file, w.span(), "empty regex in server name \"~\"")
                            .with_help("write the pattern right after the `~` (server_name ~^(www\\.)?example\\.com$;), or drop the `~`"),
                    );
                }
            }
        }
        for sites::CompiledSite { site, compiled } in cx.regexes() {
            let Err(message) = compiled.as_ref() else {
                continue;
            };
            let n = config.node(site.node);
            out.push(
                cx.diagnostic(&META, n.file, site.word.span(), message.as_str())
                    .with_help("fix the pattern: escape characters meant literally (\\( \\) \\[ \\{ \\. \\\\), close every group and class; nginx compiles it with PCRE2"),
            );
        }
    }
}
