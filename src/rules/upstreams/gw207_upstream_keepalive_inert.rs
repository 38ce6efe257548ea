use foldhash::{HashSet, HashSetExt};

use super::common::{
    insert_after, insert_in_block, replace_arg, unread_include, upgrade_header, FileUses,
};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::{Family, NodeId, ResolvedConfig};
use crate::directives::Context;
use crate::diagnostic::edits::directive_text;
use crate::diagnostic::{Diagnostic, Severity};
use crate::diagnostic::{Edit, Fix};

pub struct UpstreamKeepaliveInert;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW207,
    severity: Severity::Warning,
    summary: "`keepalive` in an upstream whose users do not keep connections open",
    fix: FixAvailability::Sometimes(crate::diagnostic::Applicability::Safe),
    options: None,
    doc: r#"## What it finds
An `upstream` block with `keepalive N` used by a `proxy_pass` whose location does not have
both `proxy_http_version 1.1` and a `Connection` header other than nginx's default `close`
in effect (`proxy_set_header Connection ""`; inherited values count; `proxy_set_header` is
inherited only by levels that set none of their own), or by a `fastcgi_pass` without
`fastcgi_keep_conn on`. A `Connection` header built from a variable (the WebSocket
`$connection_upgrade` map) is not judged; `keep-alive` or `upgrade` keep the connection open.
`grpc_pass` keeps connections open by itself; uwsgi and scgi cannot.

## Why it matters
nginx talks HTTP/1.0 to upstreams and sends `Connection: close` unless told otherwise, so the
backend closes every connection after one response and `keepalive` caches nothing: every
request pays a new TCP (and TLS) connection, and under load the backend's accept queue and
the ephemeral ports run out — the 502 "connect() failed (111: Connection refused)" / (99:
Cannot assign requested address) storms keep-alive was meant to prevent. For FastCGI, nginx
asks php-fpm to close the connection after each request unless `fastcgi_keep_conn on`.

## Example
```nginx
upstream node_app {
    server 127.0.0.1:3000;
    keepalive 32;
}
server {
    location / {
        proxy_pass http://node_app;
    }
}
```

## Use instead
```nginx
upstream node_app {
    server 127.0.0.1:3000;
    keepalive 32;
}
server {
    location / {
        proxy_http_version 1.1;
        proxy_pass http://node_app;
        proxy_set_header Connection "";
    }
}
```

## Fix safety
Safe: adds `proxy_http_version 1.1;` at the start of the location and
`proxy_set_header Connection "";` after the `proxy_pass` line (or `fastcgi_keep_conn on;`),
with the indentation of the lines around them and the file's line endings; an explicit
`proxy_http_version 1.0`, `Connection close` or `fastcgi_keep_conn off` in the location is
changed in place. When the location sets no `proxy_set_header` of its own but inherits some,
those inherited lines are copied into the location too, byte for byte: adding one
`proxy_set_header` to a level drops every inherited one, which would silently lose headers
such as `Host`.

No fix (the message only) when the handler sits in `if` or `limit_except`; in a location that
passes the `Upgrade` header (WebSocket), where `Connection ""` would end the handshake — derive
the header from a `map` there (GW401); when a line to copy is not UTF-8 text; and when the
change would land in a file included from several places (a handler in a shared snippet gets
the lines at the start of the including location instead)."#,
};

impl Rule for UpstreamKeepaliveInert {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let mut seen = HashSet::new();
        for upstream in config.blocks_with_inner(Context::Upstream) {
            let Some(keepalive) = config.last_child_named(Some(upstream), "keepalive") else {
                continue;
            };
            let name = config.node(upstream).arg(0).unwrap_or_default();
            let ka = config.node(keepalive);
            for (pass, family) in config.upstream_users(upstream) {
                let uses = cx.file_uses();
                // A handler in a shared snippet is one finding for every location reading it;
                // its fix adds the lines to each of them.
                let places = uses.places(config, pass, &mut seen);
                let check_at = |place: NodeId, strict: bool| {
                    let block = config.block_of(place)?;
                    let site = Site {
                        cx,
                        uses,
                        block,
                        pass: place,
                        strict,
                    };
                    let (missing, fix) = match family {
                        Family::Proxy => site.proxy(),
                        Family::FastCgi => site.fastcgi(),
                        _ => return None,
                    };
                    if missing.is_empty() {
                        return None;
                    }
                    let fix = if config.node(place).context == Context::Location {
                        fix
                    } else {
                        Err("no fix offered: the handler sits in `if` or `limit_except`".to_owned())
                    };
                    Some((missing, fix))
                };
                let mut first: Option<(NodeId, Vec<&'static str>)> = None;
                let mut all_missing: Vec<&'static str> = Vec::new();
                for &place in &places {
                    let Some((missing, _)) = check_at(place, true) else {
                        continue;
                    };
                    for m in &missing {
                        if !all_missing.contains(m) {
                            all_missing.push(m);
                        }
                    }
                    first.get_or_insert((place, missing));
                }
                let (edits, reasons) = uses.fix_for_places(&places, |place, strict| {
                    check_at(place, strict).map(|(_, fix)| fix)
                });
                let reasons: Vec<String> = reasons.into_iter().filter(|r| !r.is_empty()).collect();
                let Some((place, missing)) = first else {
                    continue;
                };
                let node = config.node(place);
                let Some(word) = node.directive.args().first() else {
                    continue;
                };
                let add = format!("add {}", all_missing.join(" and "));
                let mut help = add.clone();
                for why in &reasons {
                    help.push_str("; ");
                    help.push_str(why);
                }
                let mut d = cx
                    .diagnostic(
                        &META,
                        node.file,
                        word.span(),
                        format!(
                            "upstream `{name}` has `keepalive`, but this location lacks {}: connections are closed after every request",
                            missing.join(" and ")
                        ),
                    )
                    .with_label(ka.file, ka.directive.span(), "keep-alive cache configured here")
                    .with_help(help);
                if !edits.is_empty() {
                    let title = if places.len() < 2 {
                        add
                    } else {
                        format!(
                            "{add} wherever {} is included",
                            config.tree.sources.get(node.file).display
                        )
                    };
                    d = d.with_fix(Fix::safe(title, edits));
                }
                match config.block_of(place) {
                    Some(block) => out.push(cx.hedged(
                        d,
                        block,
                        &["proxy_http_version", "proxy_set_header"],
                    )),
                    None => out.push(d),
                }
            }
        }
    }
}

/// One location using a keep-alive upstream, and where its fix may write: a file read at this
/// place only ([`FileUses::read_once`]); a handler in a shared snippet gets the lines at the
/// start of the location instead of after the handler.
struct Site<'c, 'a, 't> {
    cx: &'c LintContext<'a, 't>,
    uses: &'c FileUses,
    block: NodeId,
    pass: NodeId,
    /// Edit only files read at this one place (see [`FileUses::fix_for_places`]).
    strict: bool,
}

/// What a location lacks, and the edits that add it (or why there are none).
type Check = (Vec<&'static str>, Result<Vec<Edit>, String>);

impl Site<'_, '_, '_> {
    fn config(&self) -> &ResolvedConfig<'_> {
        self.cx.config
    }

    fn shared(&self, id: NodeId) -> Option<String> {
        let file = self.config().node(id).file;
        (self.strict && !self.uses.read_once(file)).then(|| {
            format!(
                "no fix offered: {} is included from several places, and the change is not right in all of them",
                self.cx.tree.sources.get(file).display
            )
        })
    }

    /// Changes argument `i` of a directive of this location, where it is written.
    fn replace(&self, id: NodeId, i: usize, value: &str) -> Result<Edit, String> {
        if let Some(why) = self.shared(id) {
            return Err(why);
        }
        replace_arg(self.config(), id, i, value).ok_or_else(String::new)
    }

    /// Adds `first` at the start of the location and `after` after its handler line (also at
    /// the start when the handler comes from a shared snippet).
    fn add(&self, mut first: Vec<String>, after: Vec<String>) -> Result<Vec<Edit>, String> {
        if let Some(inc) = unread_include(self.config(), self.block) {
            return Err(format!(
                "no fix offered: this location includes {} ({}), which was not read: it may set these already",
                self.config().node(inc).arg(0).unwrap_or_default(),
                self.cx.where_is(inc)
            ));
        }
        let mut edits = Vec::new();
        if !after.is_empty() {
            if self.shared(self.pass).is_none() {
                let lines: Vec<&str> = after.iter().map(String::as_str).collect();
                edits.push(insert_after(self.config(), self.pass, &lines));
            } else {
                first.extend(after);
            }
        }
        if !first.is_empty() {
            if let Some(why) = self.shared(self.block) {
                return Err(why);
            }
            let lines: Vec<&str> = first.iter().map(String::as_str).collect();
            edits.push(insert_in_block(self.config(), self.block, &lines).ok_or_else(String::new)?);
        }
        Ok(edits)
    }

    fn proxy(&self) -> Check {
        let (config, block) = (self.config(), self.block);
        let mut missing = Vec::new();
        let mut edits = Vec::new();
        let mut blocked: Option<String> = None;
        let (mut first, mut after) = (Vec::new(), Vec::new());
        let version = config.effective(block, "proxy_http_version");
        let version_ok = version.is_some_and(|v| config.node(v).arg(0).is_some_and(|a| a != "1.0"));
        if !version_ok {
            missing.push("`proxy_http_version 1.1`");
            match version.filter(|v| config.block_of(*v) == Some(block)) {
                Some(own) => match self.replace(own, 0, "1.1") {
                    Ok(e) => edits.push(e),
                    Err(why) => blocked = blocked.or(Some(why)),
                },
                None => first.push("proxy_http_version 1.1;".to_owned()),
            }
        }
        let connection = config.effective_header(block, "proxy_set_header", "Connection");
        let value = connection.and_then(|c| config.node(c).arg(1));
        // nginx sends `Connection: close` unless told otherwise; any other value (empty: no
        // header, `keep-alive`, `upgrade`) leaves an HTTP/1.1 connection persistent. Measured
        // with nginx 1.22 as both proxy and backend: with `Connection "upgrade"` the backend
        // served successive requests on one connection ($connection_requests 1, 2, 3).
        let connection_ok = value.is_some_and(|v| {
            v.contains('$') || !v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"))
        });
        if !connection_ok {
            if upgrade_header(self.cx, block).is_some() {
                // An empty Connection header ends the WebSocket handshake this location is
                // set up for (nginx's WebSocket guide sends "upgrade" or a mapped value).
                missing.push("`proxy_set_header Connection $connection_upgrade` (from a `map` on `$http_upgrade`; `Connection \"\"` would end the WebSocket handshake)");
                blocked = blocked.or(Some(
                    "no fix offered: in a location set up for WebSocket, add `map $http_upgrade $connection_upgrade { default upgrade; '' \"\"; }` in http and review it".to_owned(),
                ));
            } else {
                missing.push("`proxy_set_header Connection \"\"`");
                match connection.filter(|c| config.block_of(*c) == Some(block)) {
                    Some(own) => match self.replace(own, 1, "") {
                        Ok(e) => edits.push(e),
                        Err(why) => blocked = blocked.or(Some(why)),
                    },
                    None => match self.inherited_headers() {
                        Ok(lines) => {
                            after.extend(lines);
                            after.push("proxy_set_header Connection \"\";".to_owned());
                        }
                        Err(why) => blocked = blocked.or(Some(why)),
                    },
                }
            }
        }
        if missing.is_empty() {
            return (missing, Ok(Vec::new()));
        }
        let fix = match blocked {
            Some(why) => Err(why),
            None => self.add(first, after).map(|added| {
                edits.extend(added);
                edits
            }),
        };
        (missing, fix)
    }

    /// The `proxy_set_header` lines this location inherits, to copy into it: adding one of its
    /// own drops every inherited one (`Host` would be lost). Copied byte for byte; a line that
    /// is not UTF-8 text (a Latin-1 header value) cannot be an edit's content unchanged, so
    /// there is no fix then.
    fn inherited_headers(&self) -> Result<Vec<String>, String> {
        let config = self.config();
        let mut lines = Vec::new();
        for inherited in config.effective_array(self.block, "proxy_set_header") {
            let n = config.node(inherited);
            if config.block_of(inherited) == Some(self.block)
                || n.arg(0)
                    .is_some_and(|h| h.eq_ignore_ascii_case("connection"))
            {
                continue;
            }
            let source = config.tree.sources.get(n.file);
            let Some(text) = directive_text(source, n.directive.span()) else {
                return Err(format!(
                    "no fix offered: the inherited `proxy_set_header` at {} is not UTF-8 text and cannot be copied unchanged",
                    self.cx.where_is(inherited)
                ));
            };
            lines.push(text.to_owned());
        }
        Ok(lines)
    }

    fn fastcgi(&self) -> Check {
        let (config, block) = (self.config(), self.block);
        let keep = config.effective(block, "fastcgi_keep_conn");
        if keep.is_some_and(|k| config.node(k).arg(0) == Some("on")) {
            return (Vec::new(), Ok(Vec::new()));
        }
        let fix = match keep.filter(|k| config.block_of(*k) == Some(block)) {
            Some(own) => self.replace(own, 0, "on").map(|e| vec![e]),
            None => self.add(Vec::new(), vec!["fastcgi_keep_conn on;".to_owned()]),
        };
        (vec!["`fastcgi_keep_conn on`"], fix)
    }
}
