//! Rule codes: the one list of every rule. Each entry is the rule's id, its kebab-case name,
//! its file under `src/rules/` and the module and type that file defines. The list expands twice:
//! here into [`RuleId`] (ids as a type, for diagnostics, settings, suppressions and `diagnose`),
//! and in `rules` into the modules and the registry. Adding a rule is one file and one line here.

/// Calls `$callback!` with the list of rules, in id order.
macro_rules! for_each_rule {
    ($callback:ident) => {
        $callback! {
            (GW001, "parse-error", "load/gw001_parse_error.rs", gw001_parse_error, ParseError),
            (GW002, "include-not-found", "load/gw002_include_not_found.rs", gw002_include_not_found, IncludeNotFound),
            (GW003, "include-cycle", "load/gw003_include_cycle.rs", gw003_include_cycle, IncludeCycle),
            (GW004, "php-config-invalid", "load/gw004_php_config_invalid.rs", gw004_php_config_invalid, PhpConfigInvalid),
            (GW005, "unused-suppression", "load/gw005_unused_suppression.rs", gw005_unused_suppression, UnusedSuppression),
            (GW010, "unknown-directive", "structure/gw010_unknown_directive.rs", gw010_unknown_directive, UnknownDirective),
            (GW011, "directive-not-allowed-here", "structure/gw011_directive_not_allowed_here.rs", gw011_directive_not_allowed_here, DirectiveNotAllowedHere),
            (GW012, "wrong-argument-count", "structure/gw012_wrong_argument_count.rs", gw012_wrong_argument_count, WrongArgumentCount),
            (GW013, "invalid-value", "structure/gw013_invalid_value.rs", gw013_invalid_value, InvalidValue),
            (GW014, "duplicate-directive", "structure/gw014_duplicate_directive.rs", gw014_duplicate_directive, DuplicateDirective),
            (GW020, "unknown-variable", "gate/gw020_unknown_variable.rs", gw020_unknown_variable, UnknownVariable),
            (GW021, "invalid-regex", "gate/gw021_invalid_regex.rs", gw021_invalid_regex, InvalidRegex),
            (GW022, "invalid-pass-address", "gate/gw022_invalid_pass_address.rs", gw022_invalid_pass_address, InvalidPassAddress),
            (GW023, "invalid-upstream", "gate/gw023_invalid_upstream.rs", gw023_invalid_upstream, InvalidUpstream),
            (GW024, "duplicate-definition", "gate/gw024_duplicate_definition.rs", gw024_duplicate_definition, DuplicateDefinition),
            (GW025, "invalid-listen", "gate/gw025_invalid_listen.rs", gw025_invalid_listen, InvalidListen),
            (GW026, "undefined-zone-or-format", "gate/gw026_undefined_zone_or_format.rs", gw026_undefined_zone_or_format, UndefinedZoneOrFormat),
            (GW027, "invalid-directive-value", "gate/gw027_invalid_directive_value.rs", gw027_invalid_directive_value, InvalidDirectiveValue),
            (GW028, "invalid-buffer-sizes", "gate/gw028_invalid_buffer_sizes.rs", gw028_invalid_buffer_sizes, InvalidBufferSizes),
            (GW029, "invalid-zone-declaration", "gate/gw029_invalid_zone_declaration.rs", gw029_invalid_zone_declaration, InvalidZoneDeclaration),
            (GW030, "startup-file-missing", "gate/gw030_startup_file_missing.rs", gw030_startup_file_missing, StartupFileMissing),
            (GW101, "timeout-wrong-module", "timeouts/gw101_timeout_wrong_module.rs", gw101_timeout_wrong_module, TimeoutWrongModule),
            (GW102, "connect-timeout-ineffective", "timeouts/gw102_connect_timeout_ineffective.rs", gw102_connect_timeout_ineffective, ConnectTimeoutIneffective),
            (GW103, "timeout-masks-slow-backend", "timeouts/gw103_timeout_masks_slow_backend.rs", gw103_timeout_masks_slow_backend, TimeoutMasksSlowBackend),
            (GW104, "backend-outlives-nginx", "timeouts/gw104_backend_outlives_nginx.rs", gw104_backend_outlives_nginx, BackendOutlivesNginx),
            (GW105, "backend-killed-first", "timeouts/gw105_backend_killed_first.rs", gw105_backend_killed_first, BackendKilledFirst),
            (GW106, "websocket-idle-timeout", "timeouts/gw106_websocket_idle_timeout.rs", gw106_websocket_idle_timeout, WebsocketIdleTimeout),
            (GW107, "keepalive-outlives-backend", "timeouts/gw107_keepalive_outlives_backend.rs", gw107_keepalive_outlives_backend, KeepaliveOutlivesBackend),
            (GW201, "localhost-upstream", "upstreams/gw201_localhost_upstream.rs", gw201_localhost_upstream, LocalhostUpstream),
            (GW202, "upstream-not-listening", "upstreams/gw202_upstream_not_listening.rs", gw202_upstream_not_listening, UpstreamNotListening),
            (GW203, "scheme-port-mismatch", "upstreams/gw203_scheme_port_mismatch.rs", gw203_scheme_port_mismatch, SchemePortMismatch),
            (GW204, "variable-upstream-no-resolver", "upstreams/gw204_variable_upstream_no_resolver.rs", gw204_variable_upstream_no_resolver, VariableUpstreamNoResolver),
            (GW205, "proxy-pass-uri-in-regex-location", "upstreams/gw205_proxy_pass_uri_in_regex_location.rs", gw205_proxy_pass_uri_in_regex_location, ProxyPassUriInRegexLocation),
            (GW206, "upstream-no-live-servers", "upstreams/gw206_upstream_no_live_servers.rs", gw206_upstream_no_live_servers, UpstreamNoLiveServers),
            (GW207, "upstream-keepalive-inert", "upstreams/gw207_upstream_keepalive_inert.rs", gw207_upstream_keepalive_inert, UpstreamKeepaliveInert),
            (GW208, "undefined-upstream", "upstreams/gw208_undefined_upstream.rs", gw208_undefined_upstream, UndefinedUpstream),
            (GW209, "upstream-dns-resolved-once", "upstreams/gw209_upstream_dns_resolved_once.rs", gw209_upstream_dns_resolved_once, UpstreamDnsResolvedOnce),
            (GW210, "compose-upstream-unreachable", "upstreams/gw210_compose_upstream_unreachable.rs", gw210_compose_upstream_unreachable, ComposeUpstreamUnreachable),
            (GW301, "socket-missing", "sockets/gw301_socket_missing.rs", gw301_socket_missing, SocketMissing),
            (GW302, "socket-permission-denied", "sockets/gw302_socket_permission_denied.rs", gw302_socket_permission_denied, SocketPermissionDenied),
            (GW303, "socket-in-private-tmp", "sockets/gw303_socket_in_private_tmp.rs", gw303_socket_in_private_tmp, SocketInPrivateTmp),
            (GW401, "hardcoded-connection-upgrade", "proxy/gw401_hardcoded_connection_upgrade.rs", gw401_hardcoded_connection_upgrade, HardcodedConnectionUpgrade),
            (GW402, "upgrade-without-http11", "proxy/gw402_upgrade_without_http11.rs", gw402_upgrade_without_http11, UpgradeWithoutHttp11),
            (GW403, "small-upstream-header-buffer", "proxy/gw403_small_upstream_header_buffer.rs", gw403_small_upstream_header_buffer, SmallUpstreamHeaderBuffer),
            (GW404, "inherited-headers-dropped", "proxy/gw404_inherited_headers_dropped.rs", gw404_inherited_headers_dropped, InheritedHeadersDropped),
            (GW405, "fastcgi-no-script-filename", "proxy/gw405_fastcgi_no_script_filename.rs", gw405_fastcgi_no_script_filename, FastcgiNoScriptFilename),
            (GW501, "no-ssl-session-cache", "tls/gw501_no_ssl_session_cache.rs", gw501_no_ssl_session_cache, NoSslSessionCache),
            (GW601, "fd-limit-below-connections", "system/gw601_fd_limit_below_connections.rs", gw601_fd_limit_below_connections, FdLimitBelowConnections),
        }
    };
}
pub(crate) use for_each_rule;

macro_rules! define_rule_ids {
    ($(($id:ident, $name:literal, $path:literal, $module:ident, $rule:ident)),* $(,)?) => {
        /// A rule's id (`GW101`). Ordered by id.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RuleId {
            $($id),*
        }

        impl RuleId {
            /// Every rule, in id order.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$id),*];

            /// The id as written: `GW101`.
            pub fn code(self) -> &'static str {
                match self {
                    $(RuleId::$id => stringify!($id)),*
                }
            }

            /// The kebab-case name: `timeout-wrong-module`.
            pub fn name(self) -> &'static str {
                match self {
                    $(RuleId::$id => $name),*
                }
            }
        }
    };
}

for_each_rule!(define_rule_ids);

impl RuleId {
    /// The rule with this id (any case) or name.
    pub fn from_code_or_name(key: &str) -> Option<RuleId> {
        // A code (`GW402`, any case): ALL is in code order, so a binary search on the digits
        // (this runs once per finding).
        if key.len() == 5 && key.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("gw")) {
            let digits = key.get(2..)?;
            return Self::ALL
                .binary_search_by(|id| id.code()[2..].cmp(digits))
                .ok()
                .map(|i| Self::ALL[i]);
        }
        Self::ALL.iter().copied().find(|id| id.name() == key)
    }

    /// True when `selector` (an id, a name, a family prefix such as `GW1` or `GW10`, or `ALL`)
    /// covers this rule.
    pub fn matches_selector(self, selector: &str) -> bool {
        let sel = selector.trim();
        sel.eq_ignore_ascii_case("all")
            || self.name() == sel
            || self
                .code()
                .get(..sel.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(sel))
    }

    /// True when some rule matches `selector`: a typo must not silently select nothing.
    pub fn selector_is_known(selector: &str) -> bool {
        Self::ALL.iter().any(|id| id.matches_selector(selector))
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl PartialEq<str> for RuleId {
    fn eq(&self, other: &str) -> bool {
        self.code() == other
    }
}

impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        self.code() == *other
    }
}

impl PartialEq<String> for RuleId {
    fn eq(&self, other: &String) -> bool {
        self.code() == other
    }
}

impl serde::Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_named() {
        for pair in RuleId::ALL.windows(2) {
            assert!(
                pair[0].code() < pair[1].code(),
                "{} before {}",
                pair[0],
                pair[1]
            );
            assert!(pair[0] < pair[1]);
        }
        for id in RuleId::ALL {
            let code = id.code();
            assert!(code.starts_with("GW") && code.len() == 5, "{code}");
            assert!(
                id.name()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                id.name()
            );
            assert_eq!(RuleId::from_code_or_name(code), Some(*id));
            assert_eq!(
                RuleId::from_code_or_name(&code.to_ascii_lowercase()),
                Some(*id)
            );
            assert_eq!(RuleId::from_code_or_name(id.name()), Some(*id));
        }
    }

    #[test]
    fn selectors() {
        assert!(RuleId::GW001.matches_selector("GW0"));
        assert!(RuleId::GW001.matches_selector("gw001"));
        assert!(RuleId::GW001.matches_selector("parse-error"));
        assert!(RuleId::GW001.matches_selector("ALL"));
        assert!(!RuleId::GW001.matches_selector("GW1"));
        assert!(!RuleId::selector_is_known("GW9"));
    }
}
