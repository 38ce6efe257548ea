use super::common::upgrade_header;
use super::options::{OptionsSpec, Time};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::{Family, DEFAULT_TIMEOUT_MS};
use crate::diagnostic::{Diagnostic, Severity};
use crate::values::describe_msec;

pub struct WebsocketIdleTimeout;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW106,
    severity: Severity::Warning,
    summary: "a WebSocket location that keeps the 60s proxy_read_timeout",
    fix: FixAvailability::None,
    options: Some(OptionsSpec::of::<Options>(&[
        (
            "min-timeout",
            "WebSocket read timeouts at or below this are reported",
        ),
        (
            "suggested-timeout",
            "the value suggested in the message",
        ),
    ])),
    doc: r#"## What it finds
A location that upgrades connections to WebSocket (`proxy_set_header Upgrade ...` with
`proxy_pass`) whose effective `proxy_read_timeout` is the default 60s or lower (option
`min-timeout`).

A location for Socket.IO (its path holds `socket.io`) is different: Socket.IO's server sends a
heartbeat every `pingInterval`, 25s by default in v2 to v4 (the server pings in v3 and v4, and
answers the client's ping in v2), so a quiet client still gets a frame well within 60s. There
the finding is a warning only when the timeout is 25s or less; above that it is info, saying
the timeout fires only if the server's pingInterval was raised above it.

## Why it matters
After the upgrade nginx still applies `proxy_read_timeout` between two frames from the
backend. A socket with no message for 60 seconds is closed by nginx (`upstream timed out (110:
Connection timed out) while proxying upgraded connection`): clients reconnect every minute,
lose state, and a quiet chat or dashboard looks broken. A server that pings its clients more
often than the timeout (as Socket.IO does by default) is never idle that long.

## Example
```nginx
location /ws/ {
    proxy_pass http://127.0.0.1:3000;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
}
```

## Use instead
```nginx
location /ws/ {
    proxy_pass http://127.0.0.1:3000;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_read_timeout 1h;         # or send pings more often than the timeout
}
```

## Fix safety
No automatic fix: the right idle time depends on the application's ping interval."#,
};

/// GW106's options (GW101 reads `min-timeout` too, through [`min_timeout_ms`]).
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
struct Options {
    min_timeout: Time,
    suggested_timeout: Time,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_timeout: Time::new("60s"),
            suggested_timeout: Time::new("1h"),
        }
    }
}

/// The WebSocket read timeout at or below which GW106 reports (option `min-timeout`).
pub(crate) fn min_timeout_ms(cx: &LintContext<'_, '_>) -> u64 {
    cx.options::<Options>(&META).min_timeout.ms
}

/// Socket.IO's default `pingInterval` (Engine.IO, v2 to v4): the server sends a ping (v3, v4)
/// or answers the client's (v2) this often, so the socket never stays quiet longer.
const SOCKET_IO_PING_INTERVAL_MS: u64 = 25_000;

/// Whether the location around `block` serves Socket.IO's path (`/socket.io/`, its default).
fn socket_io_location(cx: &LintContext<'_, '_>, block: crate::config::NodeId) -> bool {
    let mut at = Some(block);
    while let Some(id) = at {
        let node = cx.config.node(id);
        if node.name() == "location" {
            return node
                .directive
                .args()
                .last()
                .is_some_and(|a| a.as_str().to_ascii_lowercase().contains("socket.io"));
        }
        at = cx.config.block_of(id);
    }
    false
}

impl Rule for WebsocketIdleTimeout {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let options: Options = cx.options(&META);
        let min_ms = options.min_timeout.ms;
        let suggested = options.suggested_timeout.as_str().to_owned();
        for &(block, family, pass) in cx.handled_blocks() {
            if family != Family::Proxy {
                continue;
            }
            let Some(upgrade) = upgrade_header(cx, block) else {
                continue;
            };
            let t = cx.effective_time(block, "proxy_read_timeout", DEFAULT_TIMEOUT_MS);
            if t.ms > min_ms {
                continue;
            }
            let (file, span) = match t.set_by {
                Some(id) => cx.config.location(id),
                None => cx.config.location(pass),
            };
            let origin = match t.set_by {
                Some(id) => format!("set at {}", cx.where_is(id)),
                None => "nginx's default".to_owned(),
            };
            let (uf, us) = cx.config.location(upgrade);
            let socket_io = socket_io_location(cx, block);
            let message = if socket_io && t.ms > SOCKET_IO_PING_INTERVAL_MS {
                format!(
                    "this Socket.IO location closes a socket after {} without a frame from the server (`proxy_read_timeout`, {origin}); Socket.IO's server sends a heartbeat every pingInterval (25s by default, v2 to v4), so this fires only if that heartbeat was raised above {} or stops",
                    describe_msec(t.ms),
                    describe_msec(t.ms)
                )
            } else if socket_io {
                format!(
                    "this Socket.IO location closes a socket after {} without a frame from the server (`proxy_read_timeout`, {origin}), not longer than Socket.IO's default heartbeat (pingInterval 25s): quiet clients are dropped and reconnect",
                    describe_msec(t.ms)
                )
            } else {
                format!(
                    "this WebSocket location closes idle sockets after {} (`proxy_read_timeout`, {origin}): quiet clients are dropped and reconnect",
                    describe_msec(t.ms)
                )
            };
            let help = if socket_io && t.ms > SOCKET_IO_PING_INTERVAL_MS {
                format!(
                    "keep the server's pingInterval below {} (the default 25s is), or set `proxy_read_timeout {suggested};` in this location",
                    describe_msec(t.ms)
                )
            } else {
                format!(
                    "set `proxy_read_timeout {suggested};` in this location, or make the server ping more often than the timeout"
                )
            };
            let mut d = cx
                .diagnostic(&META, file, span, message)
                .with_label(uf, us, "the connection is upgraded here")
                .with_help(help);
            if socket_io && t.ms > SOCKET_IO_PING_INTERVAL_MS {
                d.severity = d.severity.min(Severity::Info);
            }
            out.push(cx.hedged(d, block, &["proxy_read_timeout"]));
        }
    }
}
