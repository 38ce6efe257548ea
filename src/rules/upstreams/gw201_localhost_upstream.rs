use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::address::Host;
use crate::diagnostic::{Diagnostic, Severity};
use crate::diagnostic::{Edit, Fix};
use crate::syntax::Span;

pub struct LocalhostUpstream;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW201,
    severity: Severity::Warning,
    summary:
        "`localhost` as an upstream host: nginx makes one peer per address (127.0.0.1 and ::1)",
    fix: FixAvailability::Sometimes(crate::diagnostic::Applicability::Unsafe),
    options: None,
    doc: r#"## What it finds
`localhost` as the host of `proxy_pass`, `fastcgi_pass`, `grpc_pass`, `uwsgi_pass`,
`scgi_pass`, or of a `server` line in an `upstream` block. An `upstream` block that happens to be
named `localhost` is not reported (nginx uses the block), and neither is nginx running in a
Docker Compose service off the host's network: loopback is its own container there (GW210).
Nor is a port this configuration's own `listen`s answer on both addresses (`listen 8080;` with
`listen [::]:8080;`, or `listen [::]:8080 ipv6only=off;`): both peers are this nginx. A
`listen [::]:8080;` alone takes IPv6 only (nginx sets `ipv6only=on` unless told otherwise).

## Why it matters
nginx resolves the name once, at start, and makes one peer per address. Debian and Ubuntu's
/etc/hosts map `localhost` to both `127.0.0.1` and `::1`, so nginx round-robins over both. An
application that listens on one family only (Node's `listen(3000, '127.0.0.1')`, php-fpm's
`listen = 127.0.0.1:9000`) refuses every connection on the other:

```
[error] connect() failed (111: Connection refused) while connecting to upstream, ... upstream: "http://[::1]:3000/"
```

nginx retries the other peer (`proxy_next_upstream error`, the default; a refused connect is
retried for every method, since nothing was sent yet), marks the failing one down for
`fail_timeout`, and the request succeeds: each failed try logs one error line, which makes the
errors come and go and hard to trace. It is a 502 only when every try fails (nothing listens on
either address) or no next try is allowed (`proxy_next_upstream off`,
`proxy_next_upstream_tries 1`). The message says which /etc/hosts was read (the one under
`--sysroot` when given, else this machine's) and which addresses it gives `localhost`.

## Example
```nginx
upstream node_app {
    server localhost:3000;
}
```

## Use instead
```nginx
upstream node_app {
    server 127.0.0.1:3000;   # the address the application listens on
}
```

## Fix safety
Unsafe: replaces `localhost` with `127.0.0.1` (only those bytes). Correct when the application
listens on IPv4, which is the usual case; an application listening on `::1` only needs `[::1]`
instead. When the port is this nginx's own and only its IPv6 socket (`listen [::]:8080;`)
takes it, the fix writes `[::1]`."#,
};

impl Rule for LocalhostUpstream {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let resolved = crate::system::hosts_addresses(cx.ws.sysroot.as_deref(), "localhost");
        let hosts = match cx.ws.sysroot.as_deref() {
            Some(root) => format!("{}/etc/hosts", root.display()),
            None => "this machine's /etc/hosts".to_owned(),
        };
        let resolves_to = match resolved.as_deref() {
            Some(ips) if ips.len() > 1 => {
                let list: Vec<String> = ips.iter().map(ToString::to_string).collect();
                format!(
                    "{hosts} maps it to {}, and nginx makes one peer per address",
                    list.join(" and ")
                )
            }
            Some([ip]) => format!(
                "{hosts} maps it to {ip} only, but Debian/Ubuntu's default maps it to 127.0.0.1 and ::1, where nginx makes two peers"
            ),
            Some(_) => format!(
                "{hosts} does not list it (the system resolver decides); Debian/Ubuntu's default maps it to 127.0.0.1 and ::1, where nginx makes two peers"
            ),
            None => format!("{hosts} could not be read; Debian/Ubuntu's default maps it to 127.0.0.1 and ::1, where nginx makes one peer per address"),
        };
        // nginx in a Compose container (not on the host's network): loopback is the
        // container's own, which GW210 reports; the two-peers question does not arise first.
        if super::common::compose_nginx(cx.ws).is_some_and(|(_, nginx, _, _)| !nginx.host_network()) {
            return;
        }
        for named in cx.config.named_addresses() {
            let Host::Name(name) = &named.address.host else {
                continue;
            };
            if !name.eq_ignore_ascii_case("localhost") {
                continue;
            }
            let node = cx.config.node(named.node);
            let Some(word) = node.directive.args().first() else {
                continue;
            };
            // This nginx itself answers on both addresses: no peer refuses.
            let port = named
                .address
                .effective_port()
                .or(named.upstream.map(|_| 80));
            let own = port.map_or((false, false), |p| own_listens(cx.config, p));
            if own == (true, true) {
                continue;
            }
            // Only this nginx's IPv6 socket answers there: `[::1]` is the address that works.
            let replacement = if own == (false, true) {
                "[::1]"
            } else {
                "127.0.0.1"
            };
            let src = &cx.tree.sources.get(node.file).text;
            let raw = word.raw(src);
            let what = if let Some(up) = named.upstream {
                let name = cx.config.node(up).arg(0).unwrap_or("");
                format!("a `server` of upstream `{name}`")
            } else {
                format!("`{}`", node.name())
            };
            let mut d = cx
                .diagnostic(
                    &META,
                    node.file,
                    word.span(),
                    format!(
                        "`localhost` in {what}: {resolves_to}; an application listening on only one of them refuses the other: nginx logs \"connect() failed (111: Connection refused)\", marks that peer failed for fail_timeout and tries the next address (proxy_next_upstream error, the default), so the request still succeeds. It is a 502 when nothing listens on the other address either, or when no next try is allowed (proxy_next_upstream off, proxy_next_upstream_tries 1)"
                    ),
                )
                .with_help(format!(
                    "use the address the application listens on, e.g. {replacement}"
                ));
            if let Some(at) = find_ascii_ci(raw, b"localhost") {
                let start = word.span().start() + at;
                d = d.with_fix(Fix::unsafe_edit(
                    format!("use {replacement}"),
                    vec![Edit::replace(
                        node.file,
                        Span::new(start, start + "localhost".len()),
                        replacement,
                    )],
                ));
            }
            out.push(d);
        }
    }
}

/// Whether the configuration's own TCP `listen`s accept connections on 127.0.0.1 and on ::1 at
/// `port`. IPv4: `P`, `*:P`, `0.0.0.0:P`, `127.0.0.1:P` (ngx_parse_url makes a bare port
/// INADDR_ANY). IPv6: `[::]:P` or `[::1]:P`; `[::]:P` alone takes IPv6 only, since nginx sets
/// IPV6_V6ONLY unless `ipv6only=off` (`lsopt.ipv6only = 1` in ngx_http_core_listen, 1.22.1),
/// and with `ipv6only=off` it takes both. A `udp` listen (stream) accepts no TCP connection.
fn own_listens(config: &crate::config::ResolvedConfig<'_>, port: u16) -> (bool, bool) {
    let (mut v4, mut v6) = (false, false);
    for id in config.nodes_named("listen") {
        let node = config.node(*id);
        let Some(arg) = node.arg(0) else {
            continue;
        };
        let params: Vec<&str> = node.directive.args().iter().skip(1).map(|a| a.as_str()).collect();
        if params.contains(&"udp") {
            continue;
        }
        let (host, p) = if let Some(v6) = arg.strip_prefix('[') {
            let Some((host, rest)) = v6.split_once(']') else {
                continue;
            };
            let p = match rest.strip_prefix(':') {
                Some(p) => p.parse::<u16>().ok(),
                None if rest.is_empty() => Some(80),
                None => None,
            };
            (Some(host), p)
        } else if let Ok(p) = arg.parse::<u16>() {
            (None, Some(p))
        } else if let Some((host, p)) = arg.rsplit_once(':') {
            (Some(host), p.parse::<u16>().ok())
        } else {
            (Some(arg), Some(80))
        };
        if p != Some(port) {
            continue;
        }
        match host {
            None | Some("*" | "0.0.0.0" | "127.0.0.1") => v4 = true,
            Some("::") => {
                v6 = true;
                if params.contains(&"ipv6only=off") {
                    v4 = true;
                }
            }
            Some("::1") => v6 = true,
            _ => {}
        }
    }
    (v4, v6)
}

fn find_ascii_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}
