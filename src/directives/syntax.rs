//! The syntax of grammar/directives.toml's fields: context names, arity flags, versions and
//! value kinds. build.rs includes this file too (it has no dependencies), so the table compiled
//! into the binary is read with the same rules as a table given in settings, once, at build time.

/// Every context name of the table, in its fixed order: bit `i` of a context set is name `i`.
/// The first fourteen are `Context`'s variants in order; the rtmp ones have no `Context`
/// (nginx-gwlint does not look inside `rtmp { }`), but entries may name them.
pub const CONTEXT_NAMES: &[&str] = &[
    "main",
    "events",
    "http",
    "server",
    "location",
    "upstream",
    "if_server",
    "if_location",
    "limit_except",
    "stream",
    "stream_server",
    "stream_upstream",
    "mail",
    "mail_server",
    "rtmp",
    "rtmp_server",
    "rtmp_application",
    "rtmp_recorder",
];

/// The bit of context `name`.
pub fn context_bit(name: &str) -> Option<u32> {
    CONTEXT_NAMES
        .iter()
        .position(|n| *n == name)
        .map(|i| 1 << i)
}

/// nginx's arity bits (`NGX_CONF_NOARGS` ... `NGX_CONF_2MORE`, ngx_conf_file.h).
pub const NOARGS: u32 = 0x0001;
pub const FLAG: u32 = 0x0200;
pub const ANY: u32 = 0x0400;
pub const ONE_MORE: u32 = 0x0800;
pub const TWO_MORE: u32 = 0x1000;

/// `TAKE1`, `NOARGS|TAKE12`, `1MORE`, ... (the `NGX_CONF_` prefix removed) as arity bits
/// (`NOARGS` is bit 0, `TAKEn` bit n); `Err` names the flag it does not know.
pub fn arity_bits(s: &str) -> Result<u32, &str> {
    let mut bits = 0;
    for flag in s.split('|').map(str::trim) {
        bits |= match flag {
            "NOARGS" => NOARGS,
            "FLAG" => FLAG,
            "ANY" => ANY,
            "1MORE" => ONE_MORE,
            "2MORE" => TWO_MORE,
            take => {
                let digits = take
                    .strip_prefix("TAKE")
                    .filter(|d| !d.is_empty())
                    .ok_or(flag)?;
                let mut b = 0;
                for d in digits.bytes() {
                    match d {
                        b'1'..=b'7' => b |= 1 << (d - b'0'),
                        _ => return Err(flag),
                    }
                }
                b
            }
        };
    }
    Ok(bits)
}

/// `X.Y.Z`: exactly three dot-separated runs of ASCII digits, each within u32.
pub fn version(s: &str) -> Option<[u32; 3]> {
    let mut parts = [0u32; 3];
    let mut count = 0;
    for part in s.trim().as_bytes().split(|&b| b == b'.') {
        let slot = parts.get_mut(count)?;
        if part.is_empty() {
            return None;
        }
        for &b in part {
            if !b.is_ascii_digit() {
                return None;
            }
            *slot = slot.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
        }
        count += 1;
    }
    (count == 3).then_some(parts)
}

/// The value kinds as the table writes them, with the name of their `ValueKind` variant: how
/// build.rs writes an entry's kind (the crate reads a settings table's kinds with serde; a test
/// checks that both agree).
#[cfg_attr(not(test), allow(dead_code))]
pub const KIND_NAMES: &[(&str, &str)] = &[
    ("time", "Time"),
    ("time_sec", "TimeSec"),
    ("size", "Size"),
    ("offset", "Offset"),
    ("flag", "Flag"),
    ("number", "Number"),
    ("enum", "Enum"),
    ("bitmask", "Bitmask"),
    ("bufs", "Bufs"),
    ("string", "String"),
    ("path", "Path"),
    ("keyval", "Keyval"),
];
