use super::gw101_timeout_wrong_module::{time_arg, timeout_family};
use super::options::{OptionsSpec, Time};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::{NodeId, ResolvedConfig};
use crate::diagnostic::{Diagnostic, Severity};
use crate::diagnostic::{Edit, Fix};
use crate::values::{describe_msec, format_msec};

pub struct ConnectTimeoutIneffective;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW102,
    severity: Severity::Warning,
    summary: "a *_connect_timeout above 75s, which nginx usually cannot honour",
    fix: FixAvailability::Sometimes(crate::diagnostic::Applicability::Unsafe),
    options: Some(OptionsSpec::of::<Options>(&[(
        "max-connect-timeout",
        "largest connect timeout accepted without a finding",
    )])),
    doc: r#"## What it finds
`proxy_connect_timeout`, `fastcgi_connect_timeout`, `grpc_connect_timeout`,
`uwsgi_connect_timeout`, `scgi_connect_timeout` or `memcached_connect_timeout` above 75
seconds (option `max-connect-timeout`).

Where every handler the timeout applies to connects to unix sockets, nothing is said: a
unix-socket connect() succeeds or fails at once.

## Why it matters
The nginx documentation says of every `*_connect_timeout`: "it should be noted that this
timeout cannot usually exceed 75 seconds". 75 s is the BSD kernels' limit on establishing a
connection (`net.inet.tcp.keepinit`); Linux retransmits an unanswered SYN
`net.ipv4.tcp_syn_retries` times (default 6, after 1, 2, 4, 8, 16 and 32 s) and gives up about
127 s after the first one (tcp(7): "The default value is 6, which corresponds to retrying for
up to approximately 127 seconds"). A refused connect fails at once whatever the timeout. A connect timeout is not a read timeout: raising it does not give a slow backend more
time to answer; it only makes a dead backend hang every request longer before the
`502 Bad Gateway` (`connect() failed (110: Connection timed out) while connecting to
upstream`) and delays failover to the next upstream server.

## Example
```nginx
location /reports/ {
    proxy_pass http://127.0.0.1:3000;
    proxy_connect_timeout 300s;
}
```

## Use instead
```nginx
location /reports/ {
    proxy_pass http://127.0.0.1:3000;
    proxy_connect_timeout 5s;      # fail fast when the app is down
    proxy_read_timeout 300s;       # the time the app may take to answer
}
```

## Fix safety
Unsafe: the value is lowered to the threshold (75s). That keeps what nginx actually did, but
someone may have meant the read timeout; review it."#,
};

/// GW102's options.
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
struct Options {
    max_connect_timeout: Time,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_connect_timeout: Time::new("75s"),
        }
    }
}

impl Rule for ConnectTimeoutIneffective {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let max_ms = cx.options::<Options>(&META).max_connect_timeout.ms;
        let connect_timeouts = cx
            .config
            .nodes_where(|name| name.ends_with("_connect_timeout") && timeout_family(name).is_some());
        // Computed when the first timeout above the bound needs it.
        let mut below: Option<Vec<Below>> = None;
        for id in connect_timeouts {
            let node = cx.config.node(id);
            let Some((value, ms)) = time_arg(node) else {
                continue;
            };
            if ms <= max_ms {
                continue;
            }
            let below = below.get_or_insert_with(|| passes_below(cx));
            if only_unix_sockets(below, cx.config, id) {
                continue;
            }
            let (file, _) = cx.config.location(id);
            let read = node.name().replace("_connect_", "_read_");
            out.push(
                cx.diagnostic(
                    &META,
                    file,
                    value.span(),
                    format!(
                        "`{}` is {}: only a backend host that does not answer at all makes a connect wait, and the kernel gives up on it by itself (about 127 s on Linux with the default tcp_syn_retries=6, 75 s on BSD), so this only delays the 502 when the backend is down",
                        node.name(),
                        describe_msec(ms)
                    ),
                )
                .with_help(format!(
                    "keep the connect timeout short (a few seconds); if the backend is slow to answer, raise `{read}` instead"
                ))
                .with_fix(Fix::unsafe_edit(
                    format!("set `{}` to {}", node.name(), format_msec(max_ms)),
                    vec![Edit::replace(file, value.span(), format_msec(max_ms))],
                )),
            );
        }
    }
}

/// What the passes at or below a node connect to: none, unix sockets only, or some other
/// address. Worked out for every node at once, children before parents (nodes are numbered in
/// pre-order, so a parent's id is below its children's): one pass over the tree instead of a
/// scan of every pass for each timeout, which made a tree of many timeouts quadratic.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Below {
    Nothing,
    UnixOnly,
    Other,
}

impl Below {
    fn join(self, other: Below) -> Below {
        match (self, other) {
            (Below::Other, _) | (_, Below::Other) => Below::Other,
            (Below::UnixOnly, _) | (_, Below::UnixOnly) => Below::UnixOnly,
            _ => Below::Nothing,
        }
    }
}

/// [`Below`] per node (its own pass, if it is one, and every pass under it).
fn passes_below(cx: &LintContext<'_, '_>) -> Vec<Below> {
    let config = cx.config;
    let mut below = vec![Below::Nothing; config.nodes.len()];
    // An upstream's members are read once however many passes name it.
    let mut upstreams: foldhash::HashMap<NodeId, bool> = Default::default();
    for p in cx.passes() {
        let unix = match (p.upstream, &p.address) {
            (Some(up), _) => *upstreams.entry(up).or_insert_with(|| {
                let servers = config.upstream_servers(up);
                !servers.is_empty() && servers.iter().all(|(a, _)| a.is_unix())
            }),
            (None, Some(a)) => a.is_unix(),
            (None, None) => false,
        };
        let here = if unix { Below::UnixOnly } else { Below::Other };
        if let Some(slot) = below.get_mut(p.node.index()) {
            *slot = slot.join(here);
        }
    }
    for i in (0..below.len()).rev() {
        if let Some(parent) = config.nodes[i].parent() {
            let child = below[i];
            if let Some(slot) = below.get_mut(parent.index()) {
                *slot = slot.join(child);
            }
        }
    }
    below
}

/// True when every handler the timeout at `id` applies to (passes at or below its block)
/// connects to unix sockets only: connect() on a unix socket succeeds or fails at once
/// (ENOENT, ECONNREFUSED, EAGAIN), there is no SYN to wait for.
fn only_unix_sockets(below: &[Below], config: &ResolvedConfig<'_>, id: NodeId) -> bool {
    let Some(block) = config.node(id).parent() else {
        return false;
    };
    below.get(block.index()) == Some(&Below::UnixOnly)
}
