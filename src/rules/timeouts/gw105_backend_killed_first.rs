use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::backends::Origin;
use crate::diagnostic::{Diagnostic, Severity};

pub struct BackendKilledFirst;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW105,
    severity: Severity::Error,
    summary: "php-fpm's request_terminate_timeout kills scripts PHP allows to run longer",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
A php-fpm pool whose `request_terminate_timeout` is shorter than the `max_execution_time` its
scripts run with (pool `php_admin_value`/`php_value`, else that PHP version's php.ini, else
30s). The finding is on the pool line, with a note on the line that sets
`max_execution_time`.

## Why it matters
PHP believes a script may run for `max_execution_time`, but the php-fpm master kills the
worker at `request_terminate_timeout` (checked on its heartbeat, so a little later than the
value). The script dies without an error page or PHP log entry; nginx sees the connection
reset and answers `502 Bad Gateway` with `recv() failed (104: Connection reset by peer) while
reading response header from upstream`, and php-fpm logs `execution timed out (2.55 sec),
terminating` then `exited on signal 15 (SIGTERM)`.

## Example
```ini
; php.ini
max_execution_time = 300
; pool.d/www.conf
request_terminate_timeout = 60s
```

## Use instead
```ini
max_execution_time = 300
request_terminate_timeout = 310s   ; a last resort just above PHP's own limit
```

## Fix safety
No automatic fix: this is PHP's side; the message names the file and line to change."#,
};

impl Rule for BackendKilledFirst {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        for pool in cx.ws.php.pools() {
            let rtt = cx.ws.php.request_terminate_timeout(pool);
            let met = cx.ws.php.max_execution_time(pool);
            if rtt.value == 0 || met.value == 0 || rtt.value >= met.value {
                continue;
            }
            let Some(rtt_loc) = rtt.origin.location() else {
                continue;
            };
            let Some((file, span)) = cx.ws.php_location(rtt_loc) else {
                continue;
            };
            let met_where = match &met.origin {
                Origin::Default => "PHP's default".to_owned(),
                o => o
                    .location()
                    .map_or_else(String::new, |l| format!("set at {}", cx.where_is_php(l))),
            };
            let mut d = cx
                .diagnostic(
                    &META,
                    file,
                    span,
                    format!(
                        "pool [{}] kills a request after {}s (request_terminate_timeout) but PHP allows {}s (max_execution_time, {met_where}): scripts between the two die and nginx answers 502 \"Connection reset by peer\"",
                        pool.name, rtt.value, met.value
                    ),
                )
                .with_help(format!(
                    "set request_terminate_timeout above max_execution_time (e.g. {}s), or lower max_execution_time to the time you really allow",
                    met.value + 10
                ));
            if let Some(l) = met.origin.location() {
                if let Some((f, s)) = cx.ws.php_location(l) {
                    d = d.with_label(f, s, "max_execution_time is set here");
                }
            }
            out.push(d);
        }
    }
}
