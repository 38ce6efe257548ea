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

A location with no handler that passes its requests on to a named location
(`try_files $uri @app;`, `error_page 404 = @app;`) does not use the timeout written there:
the request runs with the named location's settings. The finding then says so and gives the
value in force in `@app` (its own, the server's or http's, else nginx's 60s default).

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

/// A location without a handler at or below it that sends its requests on to a named
/// location (`try_files ... @app`, `error_page ... @app`): the request then runs with that
/// location's settings (ngx_http_named_location replaces the request's location
/// configuration), so a timeout written here is not the one in force at the handler.
struct Handoff {
    /// `try_files` or `error_page`.
    via: NodeId,
    /// The `location @name` block.
    named: NodeId,
}

fn named_handoff(cx: &LintContext<'_, '_>, block: NodeId) -> Option<Handoff> {
    let config = cx.config;
    let reached = config.reached_blocks(block);
    if reached.iter().any(|b| config.handler(*b).is_some()) {
        return None;
    }
    let server = config.enclosing_server(block)?;
    reached.iter().find_map(|b| {
        config
            .children_named_any(Some(*b), &["try_files", "error_page"])
            .into_iter()
            .find_map(|via| {
                let target = config.node(via).directive.args().last()?.as_str();
                if !target.starts_with('@') {
                    return None;
                }
                let named = config
                    .children_named(Some(server), "location")
                    .find(|l| config.is_named_location(*l) && config.node(*l).arg(0) == Some(target))?;
                Some(Handoff { via, named })
            })
    })
}

/// The finding for a timeout in a location that hands its requests to a named location: the
/// value written here is not used; the named location's own value is (its effective one).
fn not_used_here(cx: &LintContext<'_, '_>, id: NodeId, ms: u64, handoff: &Handoff) -> Diagnostic {
    let config = cx.config;
    let node = config.node(id);
    let name = node.name();
    let named = config.node(handoff.named);
    let target = named.arg(0).unwrap_or_default();
    let via = config.node(handoff.via);
    let handler = config.handler(handoff.named);
    let same_family = handler.is_some_and(|(f, _)| Some(f) == timeout_family(name));
    let in_force = config
        .effective(handoff.named, name)
        .and_then(|e| time_arg(config.node(e)).map(|(_, ms)| (e, ms)));
    let there = match (handler, same_family, in_force) {
        (Some((_, h)), false, _) => format!(
            "the handler there is `{}`, which does not read `{name}` at all",
            config.node(h).name()
        ),
        (None, _, _) => format!("`{target}` has no handler of its own either"),
        (_, true, Some((_, ms))) => format!("`{name}` there is {}", describe_msec(ms)),
        (_, true, None) => format!("`{name}` there is 60s (nginx's default)"),
    };
    // The same timeout of the handler's module (GW101's rename) when the families differ.
    let wanted = match (handler, timeout_family(name)) {
        (Some((h, _)), Some(t)) if h != t => {
            format!("{}{}", h.prefix(), &name[t.prefix().len()..])
        }
        _ => name.to_owned(),
    };
    let value = node.directive.args().first().map_or(node.directive.span(), |w| w.span());
    let mut d = cx
        .diagnostic(
            &META,
            node.file,
            value,
            format!(
                "`{name}` is {} here, but this location has no handler: `{}` passes its requests to `{target}`, and they run with that location's settings, so this value is not used; {there}",
                describe_msec(ms),
                via.name(),
            ),
        )
        .with_help(format!(
            "set `{wanted}` in `location {target}`, where the handler is, if that backend needs it (keep it near the time a normal request needs), and remove this line"
        ))
        .with_label(via.file, via.directive.head_span(), "hands the request on")
        .with_label(named.file, named.directive.head_span(), "the handler runs here, with this location's settings");
    if let Some((e, _)) = in_force.filter(|_| same_family) {
        let e = config.node(e);
        d = d.with_label(e.file, e.directive.head_span(), "the value in force there");
    }
    d
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
        let timeouts = cx.config.nodes_where(|name| {
            (name.ends_with("_read_timeout") || name.ends_with("_send_timeout"))
                && timeout_family(name).is_some()
        });
        for id in timeouts {
            let node = cx.config.node(id);
            let name = node.name();
            if !node.context.is_http_like() {
                continue;
            }
            let Some((value, ms)) = time_arg(node) else {
                continue;
            };
            let Some(block) = node.parent() else { continue };
            if !masks(cx, block, ms, max_ms, &paths) {
                continue;
            }
            let (file, _) = cx.config.location(id);
            if let Some(handoff) = named_handoff(cx, block) {
                out.push(not_used_here(cx, id, ms, &handoff));
                continue;
            }
            out.push(
                cx.diagnostic(
                    &META,
                    file,
                    value.span(),
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
