use super::common::is_long_lived;
use super::gw101_timeout_wrong_module::{time_arg, timeout_family};
use super::options::{OptionsSpec, Time};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::NodeId;
use crate::diagnostic::{Diagnostic, Severity};
use crate::values::describe_msec;

pub struct TimeoutMasksSlowBackend;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW103,
    severity: Severity::Warning,
    summary: "a read/send timeout above 300s on an ordinary request location",
    fix: FixAvailability::None,
    options: Some(OptionsSpec::of::<Options>(&[
        ("max-timeout", "largest read/send timeout accepted without a finding"),
        ("long-lived-paths", "location path fragments that mark WebSocket/SSE/long-poll endpoints, exempt from this rule"),
    ])),
    doc: r#"## What it finds
A `*_read_timeout` or `*_send_timeout` above 300 seconds (option `max-timeout`) in a place
that serves ordinary requests. Locations meant to idle are exempt: WebSocket upgrades
(`proxy_set_header Upgrade ...`), buffering turned off (server-sent events, streaming), gRPC,
and locations whose path contains one of `long-lived-paths` (ws, socket.io, sse, events,
stream, poll, ...).

## Why it matters
A request that needs ten minutes holds a worker of the backend (a PHP-FPM child, a gunicorn
worker) and a connection the whole time; a handful of them exhaust `pm.max_children` and every
other request queues until nginx answers `504` anyway. Each load balancer, CDN or browser in
front has its own limit (often 60-100s) and gives up first. Raising the timeout hides the slow
endpoint instead of fixing it.

## Example
```nginx
location /export {
    proxy_pass http://app;
    proxy_read_timeout 3600s;
}
```

## Use instead
Start the work in the background and answer at once (`202 Accepted` with a job URL the
client polls), or stream progress. Keep the read timeout at a value that bounds a normal
request:
```nginx
location /export {
    proxy_pass http://app;        # POST /export -> 202 + /jobs/{id}
    proxy_read_timeout 60s;
}
```

## Fix safety
No automatic fix: the right design depends on the application."#,
};

/// GW103's options.
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
struct Options {
    max_timeout: Time,
    long_lived_paths: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_timeout: Time::new("300s"),
            long_lived_paths: [
                "ws", "websocket", "socket.io", "sockjs", "sse", "events", "stream", "poll",
                "subscribe", "cable", "hub", "live",
            ]
            .map(str::to_owned)
            .to_vec(),
        }
    }
}

/// The largest read/send timeout GW103 accepts (option `max-timeout`).
pub(crate) fn max_timeout_ms(cx: &LintContext<'_, '_>) -> u64 {
    cx.options::<Options>(&META).max_timeout.ms
}

fn long_lived_paths(cx: &LintContext<'_, '_>) -> Vec<String> {
    cx.options::<Options>(&META)
        .long_lived_paths
        .into_iter()
        .map(|p| p.to_ascii_lowercase())
        .collect()
}

/// True when a read/send timeout of `ms` written in `block` serves ordinary requests there:
/// above the limit and reaching a location that is not meant to idle.
fn masks(cx: &LintContext<'_, '_>, block: NodeId, ms: u64, max_ms: u64, paths: &[String]) -> bool {
    if ms <= max_ms {
        return false;
    }
    // Exempt when every location it reaches with a handler is long-lived.
    let reached: Vec<_> = cx
        .config
        .reached_blocks(block)
        .into_iter()
        .filter(|b| cx.config.handler(*b).is_some())
        .collect();
    if reached.is_empty() {
        !is_long_lived(cx, block, paths)
    } else {
        reached.iter().any(|b| !is_long_lived(cx, *b, paths))
    }
}

/// True when GW103 (enabled in settings) would report a read timeout of `ms` set in `block`.
/// GW104 asks before it proposes a value, so that one rule's fix never creates another's
/// finding.
pub(crate) fn would_report(cx: &LintContext<'_, '_>, block: NodeId, ms: u64) -> bool {
    cx.settings.enabled(META.id) && masks(cx, block, ms, max_timeout_ms(cx), &long_lived_paths(cx))
}

impl Rule for TimeoutMasksSlowBackend {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let max_ms = max_timeout_ms(cx);
        let paths = long_lived_paths(cx);
        for (id, node) in cx.config.iter() {
            let name = node.name();
            if !(name.ends_with("_read_timeout") || name.ends_with("_send_timeout"))
                || timeout_family(name).is_none()
                || !node.context.is_http_like()
            {
                continue;
            }
            let Some((value, ms)) = time_arg(node) else {
                continue;
            };
            let Some(block) = node.parent else { continue };
            if !masks(cx, block, ms, max_ms, &paths) {
                continue;
            }
            let (file, _) = cx.config.location(id);
            out.push(
                cx.diagnostic(
                    &META,
                    file,
                    value.span,
                    format!(
                        "`{name}` is {}: requests this slow tie up backend workers and are cut by any proxy in front; the timeout hides a slow endpoint",
                        describe_msec(ms)
                    ),
                )
                .with_help(
                    "move the slow work to a background job (answer 202 with a status URL), or mark the location as streaming; keep the timeout near the time a normal request needs",
                ),
            );
        }
    }
}
