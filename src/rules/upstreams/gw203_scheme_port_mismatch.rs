use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::address::Scheme;
use crate::diagnostic::{Diagnostic, Severity};

pub struct SchemePortMismatch;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW203,
    severity: Severity::Error,
    summary: "TLS scheme to port 80, or plain scheme to port 443",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
`proxy_pass https://HOST:80`, `proxy_pass http://HOST:443`, and the same for `grpcs://` and
`grpc://`. When the pass directive names an `upstream` block, its `server` lines' ports are
checked against the scheme. Only the well-known ports 80 and 443 are judged.

## Why it matters
With `https://` to a plain-HTTP port nginx starts a TLS handshake and gets HTTP back: 502 with
`SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL
handshaking to upstream`. With `http://` to a TLS port the backend cannot read the request and
answers 400 ("The plain HTTP request was sent to HTTPS port") or closes the connection: 502
"upstream prematurely closed connection".

## Example
```nginx
location / {
    proxy_pass https://127.0.0.1:80;
}
```

## Use instead
```nginx
location / {
    proxy_pass http://127.0.0.1:80;    # or https://127.0.0.1:443
}
```

## Fix safety
No automatic fix: only you know whether the scheme or the port is wrong."#,
};

fn mismatch(scheme: Scheme, port: u16) -> Option<&'static str> {
    match (scheme, port) {
        (Scheme::Https | Scheme::Grpcs, 80) => Some("a TLS scheme to port 80, where backends speak plain text: the TLS handshake fails (502 \"SSL_do_handshake() failed ... wrong version number\")"),
        (Scheme::Http | Scheme::Grpc, 443) => Some("a plain-text scheme to port 443, where backends expect TLS: the backend cannot read the request (400 \"plain HTTP request was sent to HTTPS port\", or 502 \"upstream prematurely closed connection\")"),
        _ => None,
    }
}

impl Rule for SchemePortMismatch {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        for p in cx.passes() {
            let pass = p.node;
            let Some(addr) = p.address.as_ref() else {
                continue;
            };
            if addr.scheme == Scheme::None {
                continue;
            }
            let node = config.node(pass);
            let Some(word) = node.directive.args().first() else {
                continue;
            };
            if let Some(upstream) = p.upstream {
                for (server_addr, server) in config.upstream_servers(upstream) {
                    let s = config.node(server);
                    let Some(port) = server_addr.port else {
                        continue;
                    };
                    if let Some(why) = mismatch(addr.scheme, port) {
                        out.push(
                            cx.diagnostic(
                                &META,
                                node.file,
                                word.span(),
                                format!(
                                    "`{}://` to upstream `{}` whose server {} uses port {port}: {why}",
                                    addr.scheme.as_str(),
                                    addr.name().unwrap_or_default(),
                                    s.arg(0).unwrap_or_default()
                                ),
                            )
                            .with_label(s.file, s.directive.span(), "this server's port")
                            .with_help(help(addr.scheme)),
                        );
                    }
                }
                continue;
            }
            let Some(port) = addr.port else { continue };
            if let Some(why) = mismatch(addr.scheme, port) {
                out.push(
                    cx.diagnostic(
                        &META,
                        node.file,
                        word.span(),
                        format!("`{}://` to port {port}: {why}", addr.scheme.as_str()),
                    )
                    .with_help(help(addr.scheme)),
                );
            }
        }
    }
}

fn help(scheme: Scheme) -> &'static str {
    if scheme.is_tls() {
        "use http:// (grpc://) for a plain-text port, or the backend's TLS port"
    } else {
        "use https:// (grpcs://) for a TLS port, or the backend's plain-text port"
    }
}
