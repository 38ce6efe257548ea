use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Severity};

pub struct UnusedSuppression;

/// Reported by [`crate::suppress::unused`] after every other rule has run: whether a
/// suppression was used is only known then.
pub(crate) static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW005,
    severity: Severity::Info,
    summary: "an inline suppression that silences nothing or names an unknown rule",
    fix: FixAvailability::Sometimes(crate::diagnostic::Applicability::Safe),
    options: None,
    doc: r#"## What it finds
A `# nginx-gwlint: ignore ...` or `# nginx-gwlint: ignore-file ...` comment that
- names a rule that reported nothing on the directive (or in the file) it annotates,
- names a rule id that does not exist (a typo: `GW21` for `GW201`),
- names no rule at all (`# nginx-gwlint: ignore` alone is refused: a suppression must say
  what it silences), or uses an unknown verb,
- annotates no directive (it is the last thing in its block or file).

Suppressions are written like this:
```nginx
# nginx-gwlint: ignore GW201 the app listens on 127.0.0.1 and ::1
proxy_pass http://localhost:3000;
proxy_read_timeout 900s;   # nginx-gwlint: ignore GW103 nightly export
# nginx-gwlint: ignore-file GW103, GW104 reason text
```
`ignore` on its own line applies to the next directive of the same block; at the end of a
directive's line (or right after a block's `{`) it applies to that directive. It silences
diagnostics that start in the directive's head, not in its block body. `ignore-file` applies
to the whole file it is written in. Ids are separated by commas or spaces; the rest of the
comment is the reason. Only suppressions of rules that ran are judged: one for a rule turned
off in settings or left out by `--select`/`--ignore` is never called unused.

## Why it matters
A suppression outlives the problem it hid: once the config is fixed the comment stays and
would silently hide the next real finding of that rule on the same directive. An unknown id
suppresses nothing, so the finding it was meant for is still reported — or, worse, the typo
makes someone believe a finding is acknowledged when it is not.

## Example
```nginx
location /api {
    # nginx-gwlint: ignore GW201 was needed before the move to 127.0.0.1
    proxy_pass http://127.0.0.1:3000;
}
```

## Use instead
```nginx
location /api {
    proxy_pass http://127.0.0.1:3000;
}
```

## Fix safety
Safe, when the comment has no effect at all: it is malformed, annotates no directive, or every
rule it names is unknown or ran and silenced nothing. The fix removes the comment (its whole
line when it stands alone), so no finding comes back. A comment that still silences one of its
rules, or names a rule that did not run (off in settings, left out by `--select`; it may
silence that rule once it runs), is left for you to edit. Severity is `info` by default, so
`--fail-on warning` (the default) does not fail on it; `--fail-on info` does."#,
};

impl Rule for UnusedSuppression {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _cx: &LintContext<'_, '_>, _out: &mut Vec<Diagnostic>) {
        // Nothing to do while rules run; see `crate::suppress::unused`.
    }
}
