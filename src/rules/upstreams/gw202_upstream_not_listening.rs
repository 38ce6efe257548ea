use super::known_backends::check_address;
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};

pub struct UpstreamNotListening;

pub(crate) static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW202,
    severity: Severity::Error,
    summary: "upstream TCP address where no known backend listens",
    fix: FixAvailability::Sometimes(crate::diagnostic::Applicability::Unsafe),
    options: None,
    doc: r#"## What it finds
A TCP address in `fastcgi_pass`, `proxy_pass`, `grpc_pass`, `uwsgi_pass`, `scgi_pass` or an
upstream `server` line that matches no backend nginx-gwlint knows about:

- the `listen` addresses of the php-fpm pools read (`--php`, or /etc/php when checking
  /etc/nginx; these count for `fastcgi_pass` only, the one protocol php-fpm speaks): a bare
  port, `0.0.0.0:P` and `[::]:P` answer on every address, and `localhost` and the loopback
  addresses count as one host;
- the backends declared in settings (`[[backend]] address = "127.0.0.1:3000"`).

Only addresses on this machine (loopback, `localhost`) or on a host some known backend names
are judged. **Without any known pool or declared backend the check is silent**: there is
nothing to compare with. `check --probe` then tells from the live system: it connects to
every address the configuration names and reports refused or timed-out ones here, marked
"(probe)". Unix sockets are GW301's.

## Why it matters
Nothing answers at that address, so every request through it fails with 502:

```
[error] connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:3999/", host: "127.0.0.1:18081"
```

(for a firewalled or dead host: `upstream timed out (110: Connection timed out) while
connecting to upstream`, after `*_connect_timeout`.)

## Example
```nginx
# php-fpm pool: listen = 127.0.0.1:9001
location ~ \.php$ {
    fastcgi_pass 127.0.0.1:9000;
}
```

## Use instead
```nginx
location ~ \.php$ {
    fastcgi_pass 127.0.0.1:9001;
}
```

## Fix safety
Unsafe: when exactly one php-fpm pool is known and no other backend is declared, a
`fastcgi_pass` (or a `server` line of an upstream used by `fastcgi_pass`) is rewritten to that
pool's address. It may be the wrong pool for this site, so review it. Otherwise the message
names the nearest known address (by edit distance)."#,
};

impl Rule for UpstreamNotListening {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        for named in cx.config.named_addresses() {
            if !named.address.is_unix() {
                check_address(cx, &META, named, out);
            }
        }
    }
}
