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
instead."#,
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
            let Some(word) = node.directive.args.first() else {
                continue;
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
                    word.span,
                    format!(
                        "`localhost` in {what}: {resolves_to}; an application listening on only one of them refuses the other: nginx logs \"connect() failed (111: Connection refused)\", marks that peer failed for fail_timeout and tries the next address (proxy_next_upstream error, the default), so the request still succeeds. It is a 502 when nothing listens on the other address either, or when no next try is allowed (proxy_next_upstream off, proxy_next_upstream_tries 1)"
                    ),
                )
                .with_help("use the address the application listens on, e.g. 127.0.0.1");
            if let Some(at) = find_ascii_ci(raw, b"localhost") {
                let start = word.span.start + at;
                d = d.with_fix(Fix::unsafe_edit(
                    "use 127.0.0.1",
                    vec![Edit::replace(
                        node.file,
                        Span::new(start, start + "localhost".len()),
                        "127.0.0.1",
                    )],
                ));
            }
            out.push(d);
        }
    }
}

fn find_ascii_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}
