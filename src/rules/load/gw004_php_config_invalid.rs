use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};
use crate::syntax::Span;

pub struct PhpConfigInvalid;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW004,
    severity: Severity::Warning,
    summary: "a php.ini or php-fpm line that PHP refuses or misreads",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
Lines of php.ini and php-fpm configuration files (given with `--php`, or found under the
usual places) that PHP or php-fpm refuses or reads differently from what the line suggests:
unknown php-fpm options, `#` comments (not comments since PHP 7), unterminated quotes, bad
`listen` addresses, unreadable include targets, include cycles, a `php_value` set twice (the
first one wins), `$pool` outside a pool.

Files are read as php-fpm reads them: an `include=` file's lines belong to the section open
where the include stands (php-fpm has one current section), so `env[...]` or
`php_admin_value[...]` in a file included inside `[www]` are `[www]`'s. A pool file read
without the php-fpm.conf that includes it holds, before its first `[section]`, lines of a
section not known here: those are not judged. So is a file named php-fpm.conf with no
`[section]` header and no global-only entry (`include`, `error_log`, `pid`, ...): it is a pool
fragment copied under that name (php-fpm reads a real php-fpm.conf's header-less lines as
`[global]`'s, and refuses pool settings there). With `--php DIR` (a copy), an absolute pattern
(`include=/etc/php/8.2/fpm/pool.d/*.conf`) is looked for under DIR first (`DIR/pool.d/*.conf`),
as absolute nginx includes are in a copied tree. A `${VAR}` value is php-fpm's environment
variable, unknown here: a number, mode, address or flag written so is not judged.

## Why it matters
php-fpm refuses to start on most of these: every PHP request then gets `502 Bad Gateway` with
`connect() to unix:... failed (2: No such file or directory)` because no socket is created.
The others silently change the limits the timeout rules (GW104, GW105) compare against.

## Example
```ini
[www]
listen = /run/php/php8.2-fpm.sock
# raised for the importer
request_terminate_timout = 300
```

## Use instead
```ini
[www]
listen = /run/php/php8.2-fpm.sock
; raised for the importer
request_terminate_timeout = 300
```

## Fix safety
No automatic fix."#,
};

impl Rule for PhpConfigInvalid {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        for p in cx.ws.php.all_problems() {
            let Some(file) = cx.ws.php_file(&p.file) else {
                continue;
            };
            let source = cx.tree.sources.get(file);
            let span = if p.line == 0 {
                Span::empty(0)
            } else {
                let start = source.lines.line_start(p.line);
                let end = start + source.lines.line_text(&source.text, p.line).len();
                Span::new(start, end)
            };
            out.push(cx.diagnostic(&META, file, span, p.message.clone()));
        }
    }
}
