use super::{FixKind, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};

pub struct SocketInPrivateTmp;

static META: RuleMeta = RuleMeta {
    id: "GW303",
    name: "socket-in-private-tmp",
    severity: Severity::Warning,
    summary: "unix socket under /tmp or /var/tmp, which systemd's PrivateTmp hides",
    fix: FixKind::None,
    options: &[],
    doc: r#"## What it finds
A `unix:` upstream path (any `*_pass` or upstream `server` line) under `/tmp/` or `/var/tmp/`.

## Why it matters
systemd units with `PrivateTmp=true` — Debian's and RHEL's php-fpm units set it — get a
private /tmp and /var/tmp. php-fpm creates its socket in its own /tmp, nginx looks in the real
one and finds nothing:

```
[crit] connect() to unix:/tmp/php-fpm.sock failed (2: No such file or directory) while connecting to upstream
```

It works when both are started by hand and breaks as soon as they run as services.

## Example
```nginx
fastcgi_pass unix:/tmp/php-fpm.sock;
```

## Use instead
```nginx
fastcgi_pass unix:/run/php/php8.2-fpm.sock;   # and listen = /run/php/php8.2-fpm.sock in the pool
```

## Fix safety
No automatic fix: the pool's `listen` must move too."#,
};

impl Rule for SocketInPrivateTmp {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        for named in cx.config.named_addresses() {
            let Some(path) = named.address.unix_path() else {
                continue;
            };
            if !(path.starts_with("/tmp/") || path.starts_with("/var/tmp/")) {
                continue;
            }
            let node = cx.config.node(named.node);
            let Some(word) = node.directive.args.first() else {
                continue;
            };
            out.push(
                cx.diagnostic(
                    &META,
                    node.file,
                    word.span,
                    format!("socket {path} is under a temporary directory: with systemd's PrivateTmp=true (php-fpm's unit on Debian and RHEL) the backend and nginx see different /tmp: 502 \"connect() to unix:{path} failed (2: No such file or directory)\""),
                )
                .with_help("put the socket under /run (e.g. /run/php/), in the pool's `listen` and here"),
            );
        }
    }
}
