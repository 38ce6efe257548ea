//! `[[backend]]`: backends the user describes, with the limits nginx-gwlint cannot read from the
//! application itself.

use crate::backends::{BackendKind, DeclaredBackend};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BackendToml {
    name: Option<String>,
    address: String,
    kind: Option<BackendKind>,
    timeout: Option<String>,
    keepalive_timeout: Option<String>,
}

pub(super) fn declared_backend(b: BackendToml, origin: &str) -> Result<DeclaredBackend, String> {
    let time = |field: &str, text: &Option<String>| -> Result<Option<u64>, String> {
        text.as_deref()
            .map(|t| {
                crate::values::parse_msec(t).ok_or_else(|| {
                    format!(
                        "[[backend]] {field} = \"{t}\" is not an nginx time (e.g. \"30s\", \"5m\")"
                    )
                })
            })
            .transpose()
    };
    let address = crate::address::parse_host_port(&b.address, false);
    if let crate::address::Host::Invalid(why) = &address.host {
        return Err(format!("[[backend]] address = \"{}\": {why}", b.address));
    }
    let kind = b.kind.unwrap_or(BackendKind::Other);
    Ok(DeclaredBackend {
        name: b.name.unwrap_or_else(|| b.address.clone()),
        timeout_ms: time("timeout", &b.timeout)?.or(kind.default_timeout_ms()),
        keepalive_timeout_ms: time("keepalive_timeout", &b.keepalive_timeout)?
            .or(kind.default_keepalive_ms()),
        address,
        kind,
        origin: origin.to_owned(),
    })
}
