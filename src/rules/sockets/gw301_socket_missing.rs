use super::known_backends::check_address;
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};

pub struct SocketMissing;

pub(crate) static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW301,
    severity: Severity::Error,
    summary: "unix socket path that no known pool or backend creates",
    fix: FixAvailability::Sometimes(crate::diagnostic::Applicability::Unsafe),
    options: None,
    doc: r#"## What it finds
A `unix:` path in `fastcgi_pass`, `proxy_pass http://unix:...`, `grpc_pass`, `uwsgi_pass`,
`scgi_pass` or an upstream `server` line that no php-fpm pool `listen`s on (for
`fastcgi_pass`) and no declared backend (`[[backend]] address = "unix:/run/app.sock"`) names.
The classic case is a PHP upgrade: the site still says `php7.4-fpm.sock`, the machine runs
php8.2-fpm. The message names the nearest existing socket (edit distance on the path).

Without any known pool or declared backend the static check is silent. `check --probe` looks
at the live system: a path that does not exist or is not a socket is reported here, marked
"(probe)".

## Why it matters
```
[crit] connect() to unix:/run/php/php7.4-fpm.sock failed (2: No such file or directory) while connecting to upstream, client: ..., upstream: "fastcgi://unix:/run/php/php7.4-fpm.sock:"
```
and the client gets 502 for every PHP request.

## Example
```nginx
location ~ \.php$ {
    fastcgi_pass unix:/run/php/php7.4-fpm.sock;   # only php8.2-fpm is installed
}
```

## Use instead
```nginx
location ~ \.php$ {
    fastcgi_pass unix:/run/php/php8.2-fpm.sock;
}
```

## Fix safety
Unsafe, as GW202: rewritten to the socket of the single known pool, only when there is
exactly one candidate."#,
};

impl Rule for SocketMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        for named in cx.config.named_addresses() {
            if named.address.is_unix() {
                check_address(cx, &META, named, out);
            }
        }
    }
}
