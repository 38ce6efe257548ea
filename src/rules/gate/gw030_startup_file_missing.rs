use std::path::{Path, PathBuf};

use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};

pub struct StartupFileMissing;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW030,
    severity: Severity::Error,
    summary: "a module or certificate file nginx opens at startup is missing on the target",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
Files nginx opens while it reads its configuration, missing on the machine that runs it:
- `load_module FILE`: a relative FILE is taken from nginx's prefix (`--prefix`, Debian's
  `/usr/share/nginx`, whose `modules` is a link to `/usr/lib/nginx/modules`), not from the
  directory of nginx.conf (`ngx_load_module` calls `ngx_conf_full_name(cycle, &file, 0)`);
- `ssl_certificate FILE` and `ssl_certificate_key FILE` (http, stream, mail): a relative FILE is
  taken from the directory of nginx.conf (`ngx_ssl_certificate` resolves it with
  `ngx_conf_full_name(cycle, cert, 1)`). A name with variables is loaded per handshake, not at
  startup (nginx 1.15.9+), and `data:` / `engine:` values are no files: those are not checked.

It only speaks where it knows the machine: the configuration of this machine's nginx (the
checked nginx.conf is the `--conf-path` of the installed nginx, as `nginx -V` prints it), or a
copied system root given with `--sysroot` whose directory holding the file exists (the copy
includes that folder, and the file is not in it); a relative `load_module` there is taken from
the `--prefix` of the nginx binary inside the copy (read from the file, never run), and not
judged when the copy has none. A repository checked on a CI runner says
nothing about the files on the server it deploys to: then this rule is silent.

## Why it matters
nginx refuses to start (and `nginx -t` fails), so a reload keeps the old workers or a restart
leaves the site down:

```
[emerg] dlopen() "/usr/share/nginx/modules/ngx_http_geoip2_module.so" failed (...: cannot open shared object file: No such file or directory) in /etc/nginx/modules-enabled/50-geoip2.conf:1
[emerg] cannot load certificate "/etc/letsencrypt/live/example.com/fullchain.pem": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:...)
```

Typical after removing a module package while its `modules-enabled` link stays, or a
certificate renamed or not yet issued (certbot's first run), or a path with a typo.

## Example
```nginx
load_module modules/ngx_http_geoip2_module.so;   # the package is not installed
server {
    listen 443 ssl;
    ssl_certificate     /etc/letsencrypt/live/example.com/fullchain.pem;   # not issued yet
    ssl_certificate_key /etc/letsencrypt/live/example.com/privkey.pem;
}
```

## Use instead
Install the module's package (Debian: `libnginx-mod-http-geoip2`) or drop the `load_module`
line; issue the certificate before enabling the TLS server (or point it at the files that
exist).

## Fix safety
No automatic fix: which file is right is yours to choose."#,
};

/// Where the files of the checked configuration are looked up.
enum Target {
    /// This machine's nginx reads the checked configuration: `prefix` is its `--prefix`.
    Live { prefix: PathBuf },
    /// A copied system root: absolute paths are looked up under it; `prefix` is the `--prefix`
    /// of the nginx binary inside it, when it has one.
    Sysroot {
        root: PathBuf,
        prefix: Option<PathBuf>,
    },
}

/// What kind of file a directive opens, and against which prefix nginx resolves it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `load_module`: nginx's prefix.
    Module,
    /// `ssl_certificate`: the configuration prefix.
    Certificate,
    /// `ssl_certificate_key`: the configuration prefix.
    CertificateKey,
}

const DIRECTIVES: [(&str, Kind); 3] = [
    ("load_module", Kind::Module),
    ("ssl_certificate", Kind::Certificate),
    ("ssl_certificate_key", Kind::CertificateKey),
];

impl Rule for StartupFileMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        if DIRECTIVES
            .iter()
            .all(|(name, _)| config.nodes_named(name).is_empty())
        {
            return;
        }
        let Some(target) = target(cx) else {
            return;
        };
        for (name, kind) in DIRECTIVES {
            for &id in config.nodes_named(name) {
                let n = config.node(id);
                let Some(arg) = n.directive.args().first() else {
                    continue;
                };
                let value = arg.as_str();
                if value.is_empty()
                    || value.contains('$')
                    || value.starts_with("data:")
                    || (kind == Kind::CertificateKey && value.starts_with("engine:"))
                {
                    continue;
                }
                let Some((shown, on_disk)) = locate(cx, &target, kind, value) else {
                    continue;
                };
                if on_disk.is_file() {
                    continue;
                }
                if let Target::Sysroot { .. } = target {
                    // The copy must hold the folder for its absence of the file to mean
                    // anything.
                    if !on_disk.parent().is_some_and(Path::is_dir) {
                        continue;
                    }
                }
                let shown = shown.display();
                let (message, help) = match kind {
                    Kind::Module => (
                        format!(
                            "dlopen() \"{shown}\" failed ({shown}: cannot open shared object \
                             file: No such file or directory)"
                        ),
                        "install the module's package (Debian: libnginx-mod-...), or remove \
                         this load_module line (and the module's directives)"
                            .to_owned(),
                    ),
                    Kind::Certificate | Kind::CertificateKey => {
                        let what = if kind == Kind::Certificate {
                            "certificate"
                        } else {
                            "certificate key"
                        };
                        (
                            format!(
                                "cannot load {what} \"{shown}\": BIO_new_file() failed (No such \
                                 file or directory): nginx refuses to start"
                            ),
                            format!(
                                "issue or copy the {what} to {shown} before this server is \
                                 enabled, or point `{name}` at the file that exists (nginx \
                                 reports this error without a file:line)"
                            ),
                        )
                    }
                };
                let where_from = match &target {
                    Target::Live { .. } => {
                        "looked up on this machine, whose nginx reads this configuration"
                    }
                    Target::Sysroot { .. } => "the --sysroot copy holds the folder, not the file",
                };
                out.push(
                    cx.diagnostic(&META, n.file, arg.span(), message)
                        .with_help(format!("{help} ({where_from})")),
                );
            }
        }
    }
}

/// The machine the checked files are for, when this run can know it.
fn target(cx: &LintContext<'_, '_>) -> Option<Target> {
    if cx.tree.from_dump {
        return None;
    }
    if let Some(root) = &cx.ws.sysroot {
        return Some(Target::Sysroot {
            root: root.clone(),
            prefix: crate::rules::common::target_build(cx.ws).map(|(_, b)| b.prefix),
        });
    }
    crate::rules::common::live_build(cx).map(|build| Target::Live {
        prefix: build.prefix,
    })
}

/// The path as nginx would print it, and the file on this machine to look at. `None` when it
/// cannot be known (a relative module path under a sysroot without an nginx binary: the
/// target's prefix is unknown).
fn locate(
    cx: &LintContext<'_, '_>,
    target: &Target,
    kind: Kind,
    value: &str,
) -> Option<(PathBuf, PathBuf)> {
    let path = Path::new(value);
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match (kind, target) {
            (Kind::Module, Target::Live { prefix }) => prefix.join(path),
            (Kind::Module, Target::Sysroot { prefix, .. }) => prefix.as_ref()?.join(path),
            (Kind::Certificate | Kind::CertificateKey, Target::Live { .. }) => {
                cx.tree.prefix.join(path)
            }
            (Kind::Certificate | Kind::CertificateKey, Target::Sysroot { root, .. }) => {
                // The configuration prefix is on this machine, under the sysroot; nginx on the
                // target prints it without the sysroot, and opens it through the target's own
                // links (an absolute `certs -> /srv/tls` is the copy's /srv/tls, not ours).
                let here = cx.tree.prefix.join(path);
                let shown = here
                    .strip_prefix(root)
                    .map(|p| Path::new("/").join(p))
                    .unwrap_or_else(|_| here.clone());
                let on_disk = crate::system::map_under_root(Some(root), &shown);
                return Some((shown, on_disk));
            }
        }
    };
    let on_disk = match target {
        Target::Live { .. } => full.clone(),
        Target::Sysroot { root, .. } if full.is_absolute() => {
            crate::system::map_under_root(Some(root), &full)
        }
        Target::Sysroot { .. } => return None,
    };
    Some((full, on_disk))
}
