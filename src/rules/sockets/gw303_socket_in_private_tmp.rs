use super::common::UnitScope;
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};
use crate::system::systemd::{is_php_fpm_unit, php_fpm_unit_for};
use crate::system::Unit;

pub struct SocketInPrivateTmp;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW303,
    severity: Severity::Warning,
    summary: "unix socket under /tmp or /var/tmp, which systemd's PrivateTmp hides",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
A `unix:` upstream path (any `*_pass` or upstream `server` line) under `/tmp/` or `/var/tmp/`.

## Why it matters
systemd units with `PrivateTmp=` on (`yes`/`true`/`1`/`on`, or `disconnected` since systemd
257) get a /tmp and /var/tmp of their own (systemd.exec(5)). Whether a unit sets it is read,
never assumed: nginx.service and the php-fpm units (`php*-fpm.service`; for a socket of a known
pool, the unit of its PHP version: `php8.2-fpm.service` for /etc/php/8.2/), with their
drop-ins in systemd's order (systemd.unit(5): `NAME.d/`, the dash-prefix `php8.2-.service.d/`
and `service.d/` directories, /etc before /run before /usr/lib, same names hidden, applied by
file name; an empty `PrivateTmp=` resets it). Units are read under `--sysroot` when given, or on
this machine when the checked tree is its installed configuration (/etc/nginx, `nginx -T`).

- nginx.service sets it: a fact, nginx finds no other service's socket in its /tmp; the
  message names the line.
- The backend's php-fpm unit sets it: a fact, php-fpm creates the socket in its own /tmp,
  nginx looks in the real one and finds nothing; the message names the line.
- Units were read and none sets it: info (Debian's php8.2-fpm.service does not).
- No unit file was found, or the tree is a copy: the message says it is unknown.

`JoinsNamespaceOf=` (two units sharing one private /tmp) is not read. What nginx logs when the
two sides see different /tmp directories:

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
        let scope = UnitScope::of(cx.ws);
        let units = scope.web_units();
        let nginx = units.iter().find(|u| u.name == "nginx.service");
        for named in cx.config.named_addresses() {
            let Some(path) = named.address.unix_path() else {
                continue;
            };
            if !(path.starts_with("/tmp/") || path.starts_with("/var/tmp/")) {
                continue;
            }
            let node = cx.config.node(named.node);
            let Some(word) = node.directive.args().first() else {
                continue;
            };
            let symptom =
                format!("502 \"connect() to unix:{path} failed (2: No such file or directory)\"");
            // The php-fpm unit that creates this socket: the one of the pool listening there,
            // else every php-fpm unit read (the socket may be any of theirs).
            let pool = cx.ws.php.pools().find(|p| {
                p.listen
                    .as_ref()
                    .is_some_and(|l| named.address.matches_listen(&l.value))
            });
            let backends: Vec<&Unit> = match pool.and_then(|p| php_fpm_unit_for(&units, &p.header.file)) {
                Some(u) => vec![u],
                None => units.iter().filter(|u| is_php_fpm_unit(&u.name)).collect(),
            };
            let private = |u: &Unit| u.private_tmp().filter(|(on, _)| *on).map(|(_, at)| at.at());
            let nginx_private = nginx.and_then(private);
            let backend_private: Vec<String> = backends
                .iter()
                .filter_map(|u| private(u).map(|at| format!("{} (PrivateTmp= at {at})", u.name)))
                .collect();
            let (message, severity) = if let Some(at) = nginx_private {
                (format!("socket {path} is under a temporary directory, and nginx.service sets PrivateTmp= at {at}: nginx sees a /tmp of its own, where no socket of another service is: {symptom}"), None)
            } else if !backend_private.is_empty() {
                (format!("socket {path} is under a temporary directory, and {} gives php-fpm a /tmp of its own: it creates the socket there, while nginx looks in the real /tmp: {symptom}", backend_private.join(" and ")), None)
            } else if !units.is_empty() {
                // The units that decide: nginx's and the backend's.
                let read: Vec<String> = nginx
                    .into_iter()
                    .chain(backends.iter().copied())
                    .map(|u| u.path.display().to_string())
                    .collect();
                (format!("socket {path} is under a temporary directory; {} (read {}, with drop-ins) do not set PrivateTmp, so nginx and the backend share /tmp as long as that holds; a unit or drop-in that adds PrivateTmp=true gives {symptom}", read.join(", "), scope.describe()), Some(Severity::Info))
            } else {
                (format!("socket {path} is under a temporary directory; whether the backend's service runs with systemd's PrivateTmp=true (a /tmp of its own, then {symptom}) is unknown: no php-fpm or nginx unit file was read {} (Debian's php8.2-fpm.service does not set it)", scope.describe()), None)
            };
            let mut d = cx
                .diagnostic(&META, node.file, word.span(), message)
                .with_help(
                    "put the socket under /run (e.g. /run/php/), in the pool's `listen` and here",
                );
            if let Some(s) = severity {
                d.severity = d.severity.min(s);
            }
            out.push(d);
        }
    }
}
