use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};

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
systemd units with `PrivateTmp=true` get a private /tmp and /var/tmp. Whether a unit sets
it is read, never assumed: the php-fpm units (`php*-fpm.service`) and nginx.service with their
drop-ins, under `--sysroot` when given, else on this machine. A unit that sets it makes this a
warning that names the unit; units read that do not set it make it info (Debian's
php8.2-fpm.service does not); when no unit file is found, the message says that it is unknown. php-fpm creates its socket in its own /tmp, nginx looks in the real
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
        // The units of the checked system: under --sysroot, or this machine's when the checked
        // tree is its installed configuration (or its `nginx -T`); a copied tree's system is
        // not this machine, so nothing is read for it.
        let root = cx.ws.sysroot.as_deref();
        let live = root.is_none()
            && (cx.tree.from_dump
                || [
                    "/etc/nginx",
                    "/usr/local/etc/nginx",
                    "/usr/local/nginx/conf",
                ]
                .iter()
                .any(|d| cx.tree.prefix == std::path::Path::new(d)));
        let units = if root.is_some() || live {
            crate::system::private_tmp_units(root)
        } else {
            Vec::new()
        };
        let where_ = match root {
            Some(r) => format!("under {}", r.display()),
            None if live => "on this machine".to_owned(),
            None => {
                "for a copied tree (check with --sysroot to read its system's units)".to_owned()
            }
        };
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
            let symptom =
                format!("502 \"connect() to unix:{path} failed (2: No such file or directory)\"");
            let private: Vec<String> = units
                .iter()
                .filter(|u| u.private_tmp)
                .map(|u| u.unit.display().to_string())
                .collect();
            let (message, severity) = if !private.is_empty() {
                (format!("socket {path} is under a temporary directory, and {} sets PrivateTmp=true: that service sees its own /tmp, the others the real one: {symptom}", private.join(" and ")), None)
            } else if !units.is_empty() {
                let read: Vec<String> =
                    units.iter().map(|u| u.unit.display().to_string()).collect();
                (format!("socket {path} is under a temporary directory; {} (read {where_}) do not set PrivateTmp, so nginx and the backend share /tmp as long as that holds; a unit or drop-in that adds PrivateTmp=true gives {symptom}", read.join(", ")), Some(Severity::Info))
            } else {
                (format!("socket {path} is under a temporary directory; whether the backend's service runs with systemd's PrivateTmp=true (a /tmp of its own, then {symptom}) is unknown: no php-fpm or nginx unit file was read {where_} (Debian's php8.2-fpm.service does not set it)"), None)
            };
            let mut d = cx
                .diagnostic(&META, node.file, word.span, message)
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
