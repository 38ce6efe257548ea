use super::{FixKind, LintContext, Rule, RuleMeta};
use crate::address::{edit_distance, Host};
use crate::config::Context;
use crate::diagnostic::{Diagnostic, Severity};

pub struct UndefinedUpstream;

static META: RuleMeta = RuleMeta {
    id: "GW208",
    name: "undefined-upstream",
    severity: Severity::Error,
    summary: "pass to a name that is no `upstream` block and no resolvable host",
    fix: FixKind::None,
    options: &[],
    doc: r#"## What it finds
`proxy_pass http://NAME`, `fastcgi_pass NAME`, `grpc_pass grpc://NAME` (and uwsgi/scgi) where
NAME has no dot, is not `localhost`, is not an IP address, no `upstream NAME { }` block exists,
and /etc/hosts (under `--sysroot` when given) does not list it. Usually a typo in an upstream
name, or an upstream block in a file that is not included.

A name with an explicit port (`http://app:3000`) is not reported: that is how Docker Compose
service names are written, and only the container's DNS knows them.

## Why it matters
nginx resolves a name that is no upstream block when it starts, so it refuses to start or
reload:

```
[emerg] host not found in upstream "bakend" in /etc/nginx/conf.d/app.conf:9
```

## Example
```nginx
upstream backend { server 127.0.0.1:3000; }
server {
    location / { proxy_pass http://bakend; }
}
```

## Use instead
```nginx
upstream backend { server 127.0.0.1:3000; }
server {
    location / { proxy_pass http://backend; }
}
```

## Fix safety
No automatic fix; the message suggests the nearest upstream name."#,
};

impl Rule for UndefinedUpstream {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let upstream_names: Vec<String> = config
            .blocks_with_inner(Context::Upstream)
            .filter_map(|id| config.node(id).arg(0).map(str::to_owned))
            .collect();
        for (pass, _) in config.pass_directives() {
            let Some(addr) = config.pass_address(pass) else {
                continue;
            };
            let Host::Name(name) = &addr.host else {
                continue;
            };
            if addr.port.is_some()
                || name.contains('.')
                || name.eq_ignore_ascii_case("localhost")
                || config.upstream_block(name).is_some()
            {
                continue;
            }
            let in_hosts = crate::system::hosts_addresses(cx.ws.sysroot.as_deref(), name)
                .is_some_and(|ips| !ips.is_empty());
            if in_hosts {
                continue;
            }
            let node = config.node(pass);
            let Some(word) = node.directive.args.first() else {
                continue;
            };
            let nearest = upstream_names
                .iter()
                .map(|u| (edit_distance(name, u), u))
                .filter(|(d, u)| *d <= u.len().max(name.len()) / 2)
                .min();
            let help = match nearest {
                Some((_, u)) => format!("did you mean upstream `{u}`?"),
                None => format!(
                    "define `upstream {name} {{ server ...; }}` (in a file that is included), or use a resolvable host name"
                ),
            };
            out.push(
                cx.diagnostic(
                    &META,
                    node.file,
                    word.span,
                    format!("`{name}` is no upstream block and not a host name nginx can resolve at start: nginx -t fails with \"host not found in upstream \\\"{name}\\\"\""),
                )
                .with_help(help),
            );
        }
    }
}
