//! nginx value syntax: times ("1m30s", "90", "1h 30m"), sizes ("16k"), offsets ("1g"), flags.
//! Each parser follows the C function named in its doc comment, so "valid" means what nginx
//! accepts, no more and no less.

const MAX: i128 = i64::MAX as i128;

/// `ngx_parse_time(line, is_sec)`: units y M w d h m s ms, largest first, each at most once,
/// spaces allowed after a unit; a bare number is seconds. In milliseconds (`is_sec == false`)
/// `y` and `M` are refused; in seconds `ms` is refused. Returns milliseconds or seconds.
fn parse_time(line: &str, is_sec: bool) -> Option<u64> {
    #[derive(PartialEq, PartialOrd, Clone, Copy)]
    enum Step {
        Start,
        Year,
        Month,
        Week,
        Day,
        Hour,
        Min,
        Sec,
        Msec,
        Last,
    }
    let bytes = line.as_bytes();
    let mut step = if is_sec { Step::Start } else { Step::Month };
    let mut value: i128 = 0;
    let mut total: i128 = 0;
    let mut valid = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_digit() {
            value = value * 10 + i128::from(c - b'0');
            if value > MAX {
                return None;
            }
            valid = true;
            i += 1;
            continue;
        }
        i += 1;
        let (next, mut scale): (Step, i128) = match c {
            b'y' if step <= Step::Start => (Step::Year, 60 * 60 * 24 * 365),
            b'M' if step < Step::Month => (Step::Month, 60 * 60 * 24 * 30),
            b'w' if step < Step::Week => (Step::Week, 60 * 60 * 24 * 7),
            b'd' if step < Step::Day => (Step::Day, 60 * 60 * 24),
            b'h' if step < Step::Hour => (Step::Hour, 60 * 60),
            b'm' if bytes.get(i) == Some(&b's') => {
                if is_sec || step >= Step::Msec {
                    return None;
                }
                i += 1;
                (Step::Msec, 1)
            }
            b'm' if step < Step::Min => (Step::Min, 60),
            b's' if step < Step::Sec => (Step::Sec, 1),
            b' ' if step < Step::Sec => (Step::Last, 1),
            _ => return None,
        };
        step = next;
        if step != Step::Msec && !is_sec {
            scale *= 1000;
        }
        value *= scale;
        if value > MAX {
            return None;
        }
        total += value;
        if total > MAX {
            return None;
        }
        value = 0;
        while bytes.get(i) == Some(&b' ') {
            i += 1;
        }
    }
    if !valid {
        return None;
    }
    if !is_sec {
        value *= 1000;
    }
    total += value;
    if total > MAX {
        return None;
    }
    u64::try_from(total).ok()
}

/// A time for an `ngx_conf_set_msec_slot` directive (`proxy_read_timeout 60s`), in milliseconds.
pub fn parse_msec(line: &str) -> Option<u64> {
    parse_time(line, false)
}

/// A time for an `ngx_conf_set_sec_slot` directive (`keepalive_timeout` in upstream...), in seconds.
pub fn parse_sec(line: &str) -> Option<u64> {
    parse_time(line, true)
}

/// `ngx_parse_size`: digits with an optional k/K or m/M suffix.
pub fn parse_size(line: &str) -> Option<u64> {
    let (digits, scale) = match line.as_bytes().last()? {
        b'k' | b'K' => (&line[..line.len() - 1], 1024u64),
        b'm' | b'M' => (&line[..line.len() - 1], 1024 * 1024),
        _ => (line, 1),
    };
    let n = atoi(digits)?;
    n.checked_mul(scale).filter(|v| i64::try_from(*v).is_ok())
}

/// `ngx_parse_offset`: digits with an optional k, m or g suffix (any case).
pub fn parse_offset(line: &str) -> Option<u64> {
    let (digits, scale) = match line.as_bytes().last()? {
        b'k' | b'K' => (&line[..line.len() - 1], 1024u64),
        b'm' | b'M' => (&line[..line.len() - 1], 1024 * 1024),
        b'g' | b'G' => (&line[..line.len() - 1], 1024 * 1024 * 1024),
        _ => (line, 1),
    };
    let n = atoi(digits)?;
    n.checked_mul(scale).filter(|v| i64::try_from(*v).is_ok())
}

/// `ngx_atoi`: one or more ASCII digits, no sign, no overflow.
pub fn atoi(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse::<u64>()
        .ok()
        .filter(|v| i64::try_from(*v).is_ok())
}

/// `ngx_conf_set_flag_slot`: "on" or "off", any case.
pub fn parse_flag(word: &str) -> Option<bool> {
    if word.eq_ignore_ascii_case("on") {
        Some(true)
    } else if word.eq_ignore_ascii_case("off") {
        Some(false)
    } else {
        None
    }
}

/// Milliseconds as nginx time syntax: 90000 -> "90s", 1500 -> "1500ms".
pub fn format_msec(ms: u64) -> String {
    if ms % 1000 != 0 {
        return format!("{ms}ms");
    }
    format_sec(ms / 1000)
}

/// Seconds as nginx time syntax, the way people write it: the largest unit that divides the
/// value evenly, else seconds. 3600 -> "1h", 300 -> "5m", 75 -> "75s", 305 -> "305s".
pub fn format_sec(secs: u64) -> String {
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= size && secs % size == 0 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// A duration for messages: "30s", "1h (3600s)", "16m40s (1000s)", "1500ms". From a minute
/// up, the value is shown in nginx's own compound syntax with the seconds beside it, so every
/// long value reads the same way.
pub fn describe_msec(ms: u64) -> String {
    if ms % 1000 != 0 {
        return format!("{ms}ms");
    }
    let secs = ms / 1000;
    if secs < 60 {
        return format!("{secs}s");
    }
    let mut rest = secs;
    let mut human = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= size {
            human.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    format!("{human} ({secs}s)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_like_nginx() {
        assert_eq!(describe_msec(30_000), "30s");
        assert_eq!(describe_msec(60_000), "1m (60s)");
        assert_eq!(describe_msec(900_000), "15m (900s)");
        assert_eq!(describe_msec(1_000_000), "16m40s (1000s)");
        assert_eq!(describe_msec(3_600_000), "1h (3600s)");
        assert_eq!(describe_msec(1_500), "1500ms");
        for ms in [75_000, 1_000_000, 90_061_000] {
            let d = describe_msec(ms);
            let human = d.split(' ').next().unwrap_or_default();
            assert_eq!(parse_msec(human), Some(ms), "{d}");
        }
        assert_eq!(parse_msec("60"), Some(60_000));
        assert_eq!(parse_msec("60s"), Some(60_000));
        assert_eq!(parse_msec("1m30s"), Some(90_000));
        assert_eq!(parse_msec("1h 30m"), Some(5_400_000));
        assert_eq!(parse_msec("500ms"), Some(500));
        assert_eq!(parse_msec("1s 500ms"), Some(1_500));
        assert_eq!(parse_msec("1d"), Some(86_400_000));
        assert_eq!(parse_msec("300x"), None);
        assert_eq!(parse_msec("5 m"), None);
        assert_eq!(parse_msec("30s1m"), None);
        assert_eq!(parse_msec(""), None);
        assert_eq!(parse_msec("s"), None);
        assert_eq!(parse_msec("1y"), None, "msec slots refuse years");
        assert_eq!(parse_msec("-1s"), None);
        assert_eq!(parse_sec("1y"), Some(31_536_000));
        assert_eq!(parse_sec("10ms"), None, "sec slots refuse ms");
        assert_eq!(parse_sec("75"), Some(75));
    }

    #[test]
    fn sizes_and_offsets() {
        assert_eq!(parse_size("16k"), Some(16 * 1024));
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("16kk"), None);
        assert_eq!(parse_size("1g"), None);
        assert_eq!(parse_size("k"), None);
        assert_eq!(parse_offset("1g"), Some(1 << 30));
    }

    #[test]
    fn flags_and_formatting() {
        assert_eq!(parse_flag("ON"), Some(true));
        assert_eq!(parse_flag("Off"), Some(false));
        assert_eq!(parse_flag("yes"), None);
        assert_eq!(format_msec(90_000), "90s");
        assert_eq!(format_msec(300_000), "5m");
        assert_eq!(format_msec(1_500), "1500ms");
        assert_eq!(format_sec(3600), "1h");
        assert_eq!(format_sec(305), "305s");
        assert_eq!(format_sec(0), "0s");
    }
}
