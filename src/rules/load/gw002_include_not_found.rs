use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::LoadProblemKind;
use crate::diagnostic::{Diagnostic, Severity};

pub struct IncludeNotFound;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW002,
    severity: Severity::Error,
    summary: "an include path that does not exist or cannot be read",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
An `include` of a plain path (no `*`, `?` or `[`) that does not exist, or a file it names that
cannot be read. Relative paths are resolved against the prefix, the directory of the main
nginx.conf, not against the including file: that is how nginx resolves them
(`ngx_conf_full_name`). A glob that matches nothing is fine for nginx and is not reported.

A glob's matches are opened one by one, as nginx does: a dangling symlink matched by
`include sites-enabled/*;` is an error (`open() "..." failed (2: No such file or directory)`),
and so is a directory under a glob that cannot be listed (what it holds is unknown, so
`--fix` writes nothing).

When a copy of a tree (a repository, a container build context) includes a file the nginx
package installs (`mime.types`, `fastcgi_params`, `fastcgi.conf`, `scgi_params`,
`uwsgi_params`, `proxy_params`, Debian's `snippets/fastcgi-php.conf`, ...) that the copy
leaves out, the package's file on this machine (/etc/nginx) is read instead, and an info
finding at the include says so ("read from this machine's nginx package: ..."); the JSON
report lists it in `external_files`. When there is none, the finding is a warning: nginx on
the target system has it. Any other absolute include outside a checked copy, with nothing at
the same place inside it, is not read from this machine (its files there belong to another
setup): that is reported as info. So is a symlink in the copy that points out of it
(`sites-enabled/default -> /etc/nginx/sites-available/default`): it is read at the same place
inside the copy when there is one, else not read, never from this machine.

With `--sysroot DIR` every include is opened inside DIR as nginx chrooted there would open it
(absolute symlinks resolved inside DIR), and nothing outside DIR is read: a stock file missing
there is an error, as it would be for nginx on that system. A single site file checked on its
own whose nginx.conf is not found (pass `--prefix`) leaves its relative includes unread, as
info.

## Why it matters
nginx stops with `open() "/etc/nginx/conf.d/missing.conf" failed (2: No such file or
directory)`: the reload fails and the old (or no) configuration keeps serving.

## Example
```nginx
http {
    include sites-enabled/app.conf;   # the file was renamed
}
```

## Use instead
```nginx
http {
    include sites-enabled/*.conf;     # or the right file name
}
```

## Fix safety
No automatic fix."#,
};

impl Rule for IncludeNotFound {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        for p in &cx.tree.problems {
            if let LoadProblemKind::StockIncludeMissing { path } = &p.kind {
                let mut d = cx
                    .diagnostic(
                        &META,
                        p.file,
                        p.span,
                        format!("\"{path}\" is not in the checked tree, and no nginx package on this machine has it"),
                    )
                    .with_help("nginx packages install this file next to nginx.conf; check on the target system (or with --sysroot), or add the file to the tree");
                // nginx on the target almost always has it: not an error of the config itself.
                d.severity = d.severity.min(crate::diagnostic::Severity::Warning);
                out.push(d);
                continue;
            }
            if let LoadProblemKind::ReadFromMachine { path } = &p.kind {
                let mut d = cx
                    .diagnostic(
                        &META,
                        p.file,
                        p.span,
                        format!("read from this machine's nginx package: {path} (the checked tree does not have it)"),
                    )
                    .with_help("the verdict on what it sets depends on this machine's copy; add the file to the tree, or check the whole system with --sysroot");
                d.severity = crate::diagnostic::Severity::Info;
                out.push(d);
                continue;
            }
            if let LoadProblemKind::PrefixUnknown { path } = &p.kind {
                let mut d = cx
                    .diagnostic(
                        &META,
                        p.file,
                        p.span,
                        format!("\"{path}\" was not found and not read: no nginx.conf above this file includes it, so nginx's prefix (which relative includes are resolved against) is unknown"),
                    )
                    .with_help("pass --prefix DIR (the directory of the nginx.conf that includes this file), or check that nginx.conf");
                d.severity = crate::diagnostic::Severity::Info;
                out.push(d);
                continue;
            }
            if let LoadProblemKind::OutsideTree { path } = &p.kind {
                let mut d = cx
                    .diagnostic(
                        &META,
                        p.file,
                        p.span,
                        format!("\"{path}\" lies outside the checked tree and was not read: what it includes is not checked"),
                    )
                    .with_help("check the installed tree (or a copy of the whole system with --sysroot), or keep the included files beside nginx.conf in the same layout");
                d.severity = crate::diagnostic::Severity::Info;
                out.push(d);
                continue;
            }
            let (message, help) = match &p.kind {
                LoadProblemKind::IncludeNotFound { path } => (
                    format!("open() \"{path}\" failed (2: No such file or directory)"),
                    "relative include paths are resolved against the directory of the main nginx.conf; fix the path or use a glob if the file is optional".to_owned(),
                ),
                LoadProblemKind::IncludeUnreadable { path, reason }
                    if reason.ends_with(crate::config::UNLISTABLE_SUFFIX) =>
                {
                    (
                        format!(
                            "cannot list \"{path}\" ({}): what the include glob matches there is unknown",
                            reason.trim_end_matches(crate::config::UNLISTABLE_SUFFIX)
                        ),
                        "make the directory readable by the user running this check (nginx reads it as root); nothing is fixed while it cannot be read".to_owned(),
                    )
                }
                LoadProblemKind::IncludeUnreadable { path, reason } => (
                    format!("open() \"{path}\" failed ({reason})"),
                    "make the file readable by the user that runs `nginx -t` (root) and by this check".to_owned(),
                ),
                _ => continue,
            };
            out.push(
                cx.diagnostic(&META, p.file, p.span, message)
                    .with_help(help),
            );
        }
    }
}
