use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::LoadProblemKind;
use crate::diagnostic::{Diagnostic, Severity};

pub struct IncludeCycle;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW003,
    severity: Severity::Error,
    summary: "a file that includes itself through a chain of includes",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
A file that includes itself, directly or through other files. The message shows the chain.
Also reported: a tree so large once includes are expanded that checking it would not finish.

## Why it matters
nginx follows includes without a cycle check (`ngx_conf_include` parses each matched file
with no record of the files already open). It reads the files again and again until it fails:
- when a file of the cycle sets a directive that may appear only once in its block, the second
  reading stops with `[emerg] "proxy_read_timeout" directive is duplicate in ...`;
- otherwise the recursion runs until the stack is exhausted: `nginx -t` (1.22.1, tested) dies
  with SIGSEGV, exit status 139, and prints nothing at all; a reload or restart runs the same
  configuration reading, so the configuration never loads.

## Example
```nginx
# nginx.conf
http { include conf.d/*.conf; }
# conf.d/common.conf
include conf.d/*.conf;
```

## Use instead
Include shared snippets from one place only, and keep snippets out of the directories that
are globbed (e.g. put them in `snippets/`).

## Fix safety
No automatic fix."#,
};

impl Rule for IncludeCycle {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        for p in &cx.config.problems {
            let message = match &p.kind {
                LoadProblemKind::IncludeCycle { chain } => {
                    format!("include cycle: {}", chain.join(" -> "))
                }
                LoadProblemKind::TooLarge => format!(
                    "the configuration expands to more than {} directives through its includes",
                    crate::config::MAX_RESOLVED_NODES
                ),
                _ => continue,
            };
            out.push(
                cx.diagnostic(&META, p.file, p.span, message)
                    .with_help("remove the include that closes the loop"),
            );
        }
    }
}
