//! What GW202 and GW301 compare an upstream address with: the php-fpm pools' `listen`
//! addresses and the backends declared in settings (`[[backend]]`).

use crate::address::{edit_distance, Address, Host};
use crate::backends::DeclaredBackend;
use crate::backends::{Listen, Pool};
use crate::config::{Family, NamedAddress};
use crate::diagnostic::Diagnostic;
use crate::diagnostic::{Edit, Fix};
use crate::settings::Settings;
use crate::workspace::Workspace;

/// One place something listens.
pub(crate) enum Known<'a> {
    Pool(&'a Pool, &'a Listen),
    Declared(&'a DeclaredBackend),
}

impl Known<'_> {
    pub fn matches(&self, addr: &Address, var_run_is_run: bool) -> bool {
        match self {
            Known::Pool(_, listen) => addr.matches_listen_with(listen, var_run_is_run),
            Known::Declared(b) => b.address.same_peer(addr),
        }
    }

    /// How nginx would write the address (`unix:/run/php/php8.2-fpm.sock`, `127.0.0.1:9000`).
    pub fn nginx_text(&self) -> String {
        match self {
            Known::Pool(_, Listen::Unix(path)) => format!("unix:{}", path.display()),
            Known::Pool(_, Listen::Tcp { host, port }) => match host.as_deref() {
                None | Some("" | "0.0.0.0" | "*") => format!("127.0.0.1:{port}"),
                Some("::") => format!("[::1]:{port}"),
                Some(h) if h.contains(':') => format!("[{h}]:{port}"),
                Some(h) => format!("{h}:{port}"),
            },
            Known::Declared(b) => b.address.to_string(),
        }
    }

    /// Where it is written, for messages.
    pub fn describe(&self) -> String {
        match self {
            Known::Pool(pool, _) => format!("php-fpm pool `{}`", pool.name),
            Known::Declared(b) => format!("declared backend `{}` ({})", b.name, b.origin),
        }
    }

    fn host_text(&self) -> Option<String> {
        match self {
            Known::Pool(_, Listen::Tcp { host, .. }) => host.clone(),
            Known::Pool(_, Listen::Unix(_)) => None,
            Known::Declared(b) => match &b.address.host {
                Host::Name(n) => Some(n.clone()),
                Host::Ipv4(ip) => Some(ip.to_string()),
                Host::Ipv6(ip) => Some(ip.to_string()),
                _ => None,
            },
        }
    }
}

/// The backends an address used by `families` may be meant for: php-fpm pools only speak
/// FastCGI, declared backends are taken whatever their protocol.
pub(crate) fn candidates<'a>(
    ws: &'a Workspace,
    settings: &'a Settings,
    families: &[Family],
) -> Vec<Known<'a>> {
    let mut out = Vec::new();
    if families.contains(&Family::FastCgi) {
        // A pool read twice (given twice, or a pool file also included by php-fpm.conf) or
        // defined twice with the same address is one place that listens.
        let mut seen: Vec<(&str, &Listen)> = Vec::new();
        for pool in ws.php.pools() {
            if let Some(listen) = &pool.listen {
                if seen.contains(&(pool.name.as_str(), &listen.value)) {
                    continue;
                }
                seen.push((pool.name.as_str(), &listen.value));
                out.push(Known::Pool(pool, &listen.value));
            }
        }
    }
    out.extend(settings.backends.iter().map(Known::Declared));
    out
}

/// True when the address is on this machine (or named by a known backend), so that the known
/// backends are the whole truth about it. A remote `10.0.0.5:9000` may well be another host's
/// php-fpm.
pub(crate) fn is_comparable(addr: &Address, known: &[Known<'_>]) -> bool {
    if addr.is_unix() || addr.is_loopback() {
        return true;
    }
    let host = match &addr.host {
        Host::Name(n) => n.clone(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
        _ => return false,
    };
    known
        .iter()
        .any(|k| k.host_text().is_some_and(|h| h.eq_ignore_ascii_case(&host)))
}

/// The known backend nearest to `addr` by edit distance of the written address.
pub(crate) fn nearest<'k, 'a>(addr: &Address, known: &'k [Known<'a>]) -> Option<&'k Known<'a>> {
    let written = match &addr.host {
        Host::Unix(p) => format!("unix:{p}"),
        _ => {
            let mut a = addr.clone();
            a.scheme = crate::address::Scheme::None;
            a.uri = None;
            a.to_string()
        }
    };
    known
        .iter()
        .min_by_key(|k| edit_distance(&written, &k.nginx_text()))
}

/// Reports `named` when it matches no known backend (GW202 for TCP, GW301 for unix sockets).
pub(crate) fn check_address(
    cx: &super::LintContext<'_, '_>,
    meta: &'static super::RuleMeta,
    named: &NamedAddress,
    out: &mut Vec<Diagnostic>,
) {
    let known = candidates(cx.ws, cx.settings, &named.families);
    if known.is_empty() || !is_comparable(&named.address, &known) {
        return;
    }
    let var_run_is_run = crate::system::var_run_is_run(cx.ws.sysroot.as_deref());
    if known
        .iter()
        .any(|k| k.matches(&named.address, var_run_is_run))
    {
        return;
    }
    let node = cx.config.node(named.node);
    let Some(word) = node.directive.args().first() else {
        return;
    };
    let what = if named.upstream.is_some() {
        "upstream `server`".to_owned()
    } else {
        format!("`{}`", node.name())
    };
    let mut list: Vec<String> = Vec::new();
    for text in known.iter().map(Known::nginx_text) {
        if !list.contains(&text) {
            list.push(text);
        }
    }
    let (target, symptom) = match named.address.unix_path() {
        Some(p) => (
            format!("unix:{p}"),
            format!("502 \"connect() to unix:{p} failed (2: No such file or directory)\""),
        ),
        None => (
            display_target(&named.address),
            "502 \"connect() failed (111: Connection refused) while connecting to upstream\""
                .to_owned(),
        ),
    };
    let message = format!(
        "{what} {target} matches no known backend (listening: {}): {symptom}",
        list.join(", ")
    );
    let mut d = cx.diagnostic(meta, node.file, word.span(), message);
    if let Some(near) = nearest(&named.address, &known) {
        d = d.with_help(format!(
            "nearest existing: {} ({})",
            near.nginx_text(),
            near.describe()
        ));
        if let Known::Pool(pool, _) = near {
            if let Some((file, span)) = pool.listen.as_ref().and_then(|l| cx.ws.php_location(l)) {
                d = d.with_label(file, span, format!("pool `{}` listens here", pool.name));
            }
        }
    }
    // Rewrite only when there is exactly one place to go and it is a php-fpm pool used by
    // fastcgi_pass (the only protocol a pool speaks).
    if let [only @ Known::Pool(..)] = known.as_slice() {
        let text = only.nginx_text();
        if named.families == [Family::FastCgi] && is_plain_word(&text) {
            d = d.with_fix(Fix::unsafe_edit(
                format!("use {text}"),
                vec![Edit::replace(node.file, word.span(), text)],
            ));
        }
    }
    out.push(d);
}

fn display_target(addr: &Address) -> String {
    let mut a = addr.clone();
    a.uri = None;
    a.to_string()
}

/// Text that can stand unquoted as one nginx word.
fn is_plain_word(text: &str) -> bool {
    !text.is_empty()
        && !text.bytes().any(|b| {
            b.is_ascii_whitespace()
                || matches!(b, b';' | b'{' | b'}' | b'"' | b'\'' | b'#' | b'$' | b'\\')
        })
}
