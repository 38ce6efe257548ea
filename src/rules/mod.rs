//! The rule registry. One rule per file; each has an id (`GWnnn`), a kebab-case name, a default
//! severity, an `explain` page (what it finds, why it causes a 502/504, a bad and a good
//! example, fix safety) and a `check` that reads the resolved configuration.

pub(crate) mod common;
mod gw001_parse_error;
mod gw002_include_not_found;
mod gw003_include_cycle;
mod gw004_php_config_invalid;
pub(crate) mod gw005_unused_suppression;
mod gw010_unknown_directive;
mod gw011_directive_not_allowed_here;
mod gw012_wrong_argument_count;
mod gw013_invalid_value;
mod gw014_duplicate_directive;
mod gw020_unknown_variable;
mod gw021_invalid_regex;
mod gw022_invalid_pass_address;
mod gw023_invalid_upstream;
mod gw024_duplicate_definition;
mod gw025_invalid_listen;
mod gw026_undefined_zone_or_format;
mod gw027_invalid_directive_value;
mod gw028_invalid_buffer_sizes;
mod gw029_invalid_zone_declaration;
mod gw101_timeout_wrong_module;
mod gw102_connect_timeout_ineffective;
mod gw103_timeout_masks_slow_backend;
mod gw104_backend_outlives_nginx;
mod gw105_backend_killed_first;
mod gw106_websocket_idle_timeout;
mod gw107_keepalive_outlives_backend;
mod gw201_localhost_upstream;
mod gw202_upstream_not_listening;
mod gw203_scheme_port_mismatch;
mod gw204_variable_upstream_no_resolver;
mod gw205_proxy_pass_uri_in_regex_location;
mod gw206_upstream_no_live_servers;
mod gw207_upstream_keepalive_inert;
mod gw208_undefined_upstream;
mod gw209_upstream_dns_resolved_once;
mod gw301_socket_missing;
mod gw302_socket_permission_denied;
mod gw303_socket_in_private_tmp;
mod gw401_hardcoded_connection_upgrade;
mod gw402_upgrade_without_http11;
mod gw403_small_upstream_header_buffer;
mod gw404_inherited_headers_dropped;
mod gw405_fastcgi_no_script_filename;
mod gw501_no_ssl_session_cache;
mod gw601_fd_limit_below_connections;
mod known_backends;
mod structure;

use crate::config::{ConfigTree, ResolvedConfig};
use crate::diagnostic::{Diagnostic, Severity};
use crate::directives::Directives;
use crate::lint::Workspace;
use crate::settings::Settings;

/// Whether and how a rule can fix what it finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixKind {
    None,
    Safe,
    Unsafe,
}

impl FixKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FixKind::None => "none",
            FixKind::Safe => "safe",
            FixKind::Unsafe => "unsafe",
        }
    }
}

/// The static description of a rule.
#[derive(Debug)]
pub struct RuleMeta {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// The long page printed by `explain` (Markdown).
    pub doc: &'static str,
    pub fix: FixKind,
    /// Rule-specific settings keys with a one-line description each.
    pub options: &'static [(&'static str, &'static str)],
}

/// Everything a rule may look at.
pub struct LintContext<'a, 't> {
    pub tree: &'t ConfigTree,
    pub config: &'a ResolvedConfig<'t>,
    pub settings: &'a Settings,
    /// The PHP side (pools, php.ini) and helpers to point into those files.
    pub ws: &'t Workspace,
    /// The directives known to this run (table, user declarations, sets, target version).
    pub directives: &'a Directives<'a>,
    /// How each node resolves against the directive table (GW010-GW014), computed once.
    pub(crate) resolutions: std::sync::OnceLock<Vec<structure::Resolution<'a>>>,
}

impl LintContext<'_, '_> {
    /// A diagnostic for `meta` with the configured severity.
    pub fn diagnostic(
        &self,
        meta: &'static RuleMeta,
        file: crate::source::FileId,
        span: crate::syntax::Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(
            meta.id,
            meta.name,
            self.settings.severity(meta),
            file,
            span,
            message,
        )
    }
}

/// An nginx time value in effect somewhere: its value and the directive that set it (`None`
/// for nginx's default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EffectiveTime {
    pub ms: u64,
    pub set_by: Option<crate::config::NodeId>,
}

impl LintContext<'_, '_> {
    /// The php-fpm pools listening where `addr` connects.
    pub fn pools_for(&self, addr: &crate::address::Address) -> Vec<&crate::backends::Pool> {
        self.ws
            .php
            .pools()
            .filter(|p| {
                p.listen
                    .as_ref()
                    .is_some_and(|l| addr.matches_listen(&l.value))
            })
            .collect()
    }

    /// The `[[backend]]` declared in settings at the address `addr` connects to.
    pub fn declared_backend_for(
        &self,
        addr: &crate::address::Address,
    ) -> Option<&crate::settings::DeclaredBackend> {
        self.settings
            .backends
            .iter()
            .find(|b| b.address.same_peer(addr))
    }

    /// The effective value of a time directive (`fastcgi_read_timeout`) for `block`, with
    /// nginx's default when nothing sets it. Values nginx would refuse count as the default
    /// (GW013 reports them).
    pub fn effective_time(
        &self,
        block: crate::config::NodeId,
        name: &str,
        default_ms: u64,
    ) -> EffectiveTime {
        match self.config.effective(block, name) {
            Some(id) => EffectiveTime {
                ms: self
                    .config
                    .node(id)
                    .arg(0)
                    .and_then(crate::values::parse_msec)
                    .unwrap_or(default_ms),
                set_by: Some(id),
            },
            None => EffectiveTime {
                ms: default_ms,
                set_by: None,
            },
        }
    }

    /// A time option of a rule (`max-timeout = "300s"`), in milliseconds; `default_ms` when it
    /// is not an nginx time (settings are validated when loaded, so that is a broken build).
    pub fn option_msec(&self, meta: &RuleMeta, key: &str, default_ms: u64) -> u64 {
        self.settings
            .option::<String>(meta.id, key)
            .and_then(|s| crate::values::parse_msec(&s))
            .unwrap_or(default_ms)
    }

    /// `file:line` of a node, for messages.
    pub fn where_is(&self, id: crate::config::NodeId) -> String {
        let (file, span) = self.config.location(id);
        let f = self.tree.sources.get(file);
        format!("{}:{}", f.display, f.lines.line(span.start))
    }

    /// `file:line` of a value read from a PHP file.
    pub fn where_is_php<T>(&self, located: &crate::backends::Located<T>) -> String {
        match self.ws.php_location(located) {
            Some((file, _)) => format!("{}:{}", self.tree.sources.get(file).display, located.line),
            None => format!("{}:{}", located.file.display(), located.line),
        }
    }
}

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>);
}

/// Every rule, in id order.
pub static REGISTRY: &[&dyn Rule] = &[
    &gw001_parse_error::ParseError,
    &gw002_include_not_found::IncludeNotFound,
    &gw003_include_cycle::IncludeCycle,
    &gw004_php_config_invalid::PhpConfigInvalid,
    &gw005_unused_suppression::UnusedSuppression,
    &gw010_unknown_directive::UnknownDirective,
    &gw011_directive_not_allowed_here::DirectiveNotAllowedHere,
    &gw012_wrong_argument_count::WrongArgumentCount,
    &gw013_invalid_value::InvalidValue,
    &gw014_duplicate_directive::DuplicateDirective,
    &gw020_unknown_variable::UnknownVariable,
    &gw021_invalid_regex::InvalidRegex,
    &gw022_invalid_pass_address::InvalidPassAddress,
    &gw023_invalid_upstream::InvalidUpstream,
    &gw024_duplicate_definition::DuplicateDefinition,
    &gw025_invalid_listen::InvalidListen,
    &gw026_undefined_zone_or_format::UndefinedZoneOrFormat,
    &gw027_invalid_directive_value::InvalidDirectiveValue,
    &gw028_invalid_buffer_sizes::InvalidBufferSizes,
    &gw029_invalid_zone_declaration::InvalidZoneDeclaration,
    &gw101_timeout_wrong_module::TimeoutWrongModule,
    &gw102_connect_timeout_ineffective::ConnectTimeoutIneffective,
    &gw103_timeout_masks_slow_backend::TimeoutMasksSlowBackend,
    &gw104_backend_outlives_nginx::BackendOutlivesNginx,
    &gw105_backend_killed_first::BackendKilledFirst,
    &gw106_websocket_idle_timeout::WebsocketIdleTimeout,
    &gw107_keepalive_outlives_backend::KeepaliveOutlivesBackend,
    &gw201_localhost_upstream::LocalhostUpstream,
    &gw202_upstream_not_listening::UpstreamNotListening,
    &gw203_scheme_port_mismatch::SchemePortMismatch,
    &gw204_variable_upstream_no_resolver::VariableUpstreamNoResolver,
    &gw205_proxy_pass_uri_in_regex_location::ProxyPassUriInRegexLocation,
    &gw206_upstream_no_live_servers::UpstreamNoLiveServers,
    &gw207_upstream_keepalive_inert::UpstreamKeepaliveInert,
    &gw208_undefined_upstream::UndefinedUpstream,
    &gw209_upstream_dns_resolved_once::UpstreamDnsResolvedOnce,
    &gw301_socket_missing::SocketMissing,
    &gw302_socket_permission_denied::SocketPermissionDenied,
    &gw303_socket_in_private_tmp::SocketInPrivateTmp,
    &gw401_hardcoded_connection_upgrade::HardcodedConnectionUpgrade,
    &gw402_upgrade_without_http11::UpgradeWithoutHttp11,
    &gw403_small_upstream_header_buffer::SmallUpstreamHeaderBuffer,
    &gw404_inherited_headers_dropped::InheritedHeadersDropped,
    &gw405_fastcgi_no_script_filename::FastcgiNoScriptFilename,
    &gw501_no_ssl_session_cache::NoSslSessionCache,
    &gw601_fd_limit_below_connections::FdLimitBelowConnections,
];

pub fn all_meta() -> impl Iterator<Item = &'static RuleMeta> {
    REGISTRY.iter().map(|r| r.meta())
}

/// Looks a rule up by id (`GW101`, any case) or name (`timeout-wrong-module`).
pub fn meta_by_id_or_name(key: &str) -> Option<&'static RuleMeta> {
    all_meta().find(|m| m.id.eq_ignore_ascii_case(key) || m.name == key)
}

/// True when `selector` (an id, a family prefix such as `GW1` or `GW10`, or `ALL`) covers `id`.
pub fn selector_matches(selector: &str, meta: &RuleMeta) -> bool {
    let sel = selector.trim();
    sel.eq_ignore_ascii_case("all")
        || meta.name == sel
        || meta
            .id
            .get(..sel.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(sel))
}

/// Whether `meta`'s rule runs on this tree with these settings.
pub fn runs(cx: &LintContext<'_, '_>, meta: &RuleMeta) -> bool {
    // Structure rules always run; the others need every file to parse.
    cx.settings.enabled(meta.id) && (!cx.tree.has_parse_errors() || meta.id.starts_with("GW00"))
}

/// Runs every rule enabled in settings and accepted by `wanted` (the user's selection).
pub fn run(cx: &LintContext<'_, '_>, wanted: impl Fn(&RuleMeta) -> bool) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rule in REGISTRY {
        if runs(cx, rule.meta()) && wanted(rule.meta()) {
            rule.check(cx, &mut out);
        }
    }
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    // A snippet included in several places yields the same finding once per expansion.
    out.dedup_by(|b, a| a.rule == b.rule && a.file == b.file && a.span == b.span);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_sorted_and_named() {
        let metas: Vec<_> = all_meta().collect();
        for pair in metas.windows(2) {
            assert!(
                pair[0].id < pair[1].id,
                "{} before {}",
                pair[0].id,
                pair[1].id
            );
        }
        for m in &metas {
            assert!(m.id.starts_with("GW") && m.id.len() == 5, "{}", m.id);
            assert!(
                m.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                m.name
            );
            assert!(
                m.doc.contains("## Example"),
                "{} explain has no example",
                m.id
            );
        }
    }

    #[test]
    fn explain_pages_have_every_section() {
        for m in all_meta().filter(|m| m.id.as_bytes()[2] >= b'2') {
            for section in [
                "## What it finds",
                "## Why it matters",
                "## Example",
                "## Use instead",
                "## Fix safety",
            ] {
                assert!(m.doc.contains(section), "{} lacks {section}", m.id);
            }
        }
    }

    #[test]
    fn selectors() -> Result<(), String> {
        let m = meta_by_id_or_name("GW001").ok_or("GW001 missing")?;
        assert!(selector_matches("GW0", m));
        assert!(selector_matches("gw001", m));
        assert!(selector_matches("parse-error", m));
        assert!(!selector_matches("GW1", m));
        Ok(())
    }
}
