//! php-fpm's own log (`error_log` in php-fpm.conf): the other half of many 502s.
//!
//! php-fpm writes `[DD-Mon-YYYY HH:MM:SS] LEVEL: [pool NAME] MESSAGE` (sapi/fpm/fpm/zlog.c; with
//! `log_level = debug` the time has microseconds and the level is followed by
//! `pid N, function(), line N: `). The lines that explain a gateway error (lab F2):
//!
//! ```text
//! [26-Nov-2026 02:56:09] WARNING: [pool lab] child 28814, script '/x/slow.php' (request: "GET /slow.php") execution timed out (2.554018 sec), terminating
//! [26-Nov-2026 02:56:09] WARNING: [pool lab] child 28814 exited on signal 15 (SIGTERM) after 2.669222 seconds from start
//! [26-Nov-2026 02:56:11] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it
//! ```
//!
//! The first is `request_terminate_timeout` killing the worker: nginx logs `recv() failed (104:
//! Connection reset by peer)` for the same request at the same second.

use std::fmt;

use super::logline::{LogTime, Request};

/// php-fpm's log levels (`level_names` in zlog.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FpmLevel {
    Debug,
    Notice,
    Warning,
    Error,
    Alert,
}

impl FpmLevel {
    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "DEBUG" => Self::Debug,
            "NOTICE" => Self::Notice,
            "WARNING" => Self::Warning,
            "ERROR" => Self::Error,
            "ALERT" => Self::Alert,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "DEBUG",
            Self::Notice => "NOTICE",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
            Self::Alert => "ALERT",
        }
    }
}

impl fmt::Display for FpmLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an php-fpm log line says, for the lines that matter to a gateway error.
#[derive(Clone, Debug, PartialEq)]
pub enum FpmEvent<'a> {
    /// `child N, script 'S' (request: "R") execution timed out (T sec), terminating`:
    /// request_terminate_timeout fired; nginx sees 104 or "prematurely closed" (502).
    ExecutionTimedOut {
        child: u32,
        script: &'a str,
        request: &'a str,
        seconds: f64,
    },
    /// `child N, script 'S' (request: "R") executing too slow (T sec), logging`:
    /// request_slowlog_timeout; a warning sign, not a failure.
    SlowRequest {
        child: u32,
        script: &'a str,
        request: &'a str,
        seconds: f64,
    },
    /// `child N exited on signal S (NAME) after T seconds from start`.
    ChildSignaled {
        child: u32,
        signal: u32,
        name: Option<&'a str>,
        after_seconds: Option<f64>,
    },
    /// `child N exited with code C after T seconds from start`.
    ChildExited {
        child: u32,
        code: i32,
        after_seconds: Option<f64>,
    },
    /// `server reached pm.max_children setting (N), consider raising it`: requests queue on the
    /// listen socket; nginx sees read timeouts (504) or, with a full backlog, 502.
    MaxChildrenReached { max_children: u32 },
    /// `child N said into stderr: "TEXT"` (catch_workers_output = yes).
    ChildStderr { child: u32, text: &'a str },
    /// Any other line (start, stop, reload, `seems busy`, ...).
    Other,
}

impl FpmEvent<'_> {
    /// Short kebab-case id of the event kind.
    pub fn kind(&self) -> &'static str {
        match self {
            FpmEvent::ExecutionTimedOut { .. } => "execution-timed-out",
            FpmEvent::SlowRequest { .. } => "slow-request",
            FpmEvent::ChildSignaled { .. } => "child-signaled",
            FpmEvent::ChildExited { .. } => "child-exited",
            FpmEvent::MaxChildrenReached { .. } => "max-children-reached",
            FpmEvent::ChildStderr { .. } => "child-stderr",
            FpmEvent::Other => "other",
        }
    }

    /// The request line php-fpm quotes (`GET /slow.php`: method and path, no query).
    pub fn request(&self) -> Option<Request<'_>> {
        match self {
            FpmEvent::ExecutionTimedOut { request, .. } | FpmEvent::SlowRequest { request, .. } => {
                Request::parse(request)
            }
            _ => None,
        }
    }

    /// A PHP fatal error relayed from a worker's stderr.
    pub fn is_php_fatal(&self) -> bool {
        matches!(self, FpmEvent::ChildStderr { text, .. } if text.contains("PHP Fatal error"))
    }
}

/// One parsed php-fpm log line.
#[derive(Clone, Debug, PartialEq)]
pub struct FpmEntry<'a> {
    /// `None` when php-fpm logs to syslog/journald and the time is not in the line.
    pub time: Option<LogTime>,
    pub level: FpmLevel,
    pub pool: Option<&'a str>,
    pub message: &'a str,
    pub event: FpmEvent<'a>,
}

/// Parses one php-fpm log line; `None` for blank lines and anything without php-fpm's shape.
pub fn parse_fpm_line(line: &str) -> Option<FpmEntry<'_>> {
    let line = line.trim_end_matches(['\n', '\r']);
    let (time, rest) = match line.strip_prefix('[') {
        Some(r) => {
            let (stamp, rest) = r.split_once("] ")?;
            (Some(parse_fpm_time(stamp)?), rest)
        }
        None => (None, line),
    };
    let (level, mut rest) = rest.split_once(": ")?;
    let level = FpmLevel::from_name(level)?;
    // log_level = debug: "pid 123, fpm_children_bury(), line 289: ".
    if rest.starts_with("pid ") {
        if let Some(i) = rest.find("(), line ") {
            if let Some(j) = rest[i..].find(": ") {
                rest = &rest[i + j + 2..];
            }
        }
    }
    let (pool, message) = match rest.strip_prefix("[pool ") {
        Some(r) => match r.split_once("] ") {
            Some((pool, msg)) => (Some(pool), msg),
            None => (None, rest),
        },
        None => (None, rest),
    };
    Some(FpmEntry {
        time,
        level,
        pool,
        message,
        event: parse_event(message),
    })
}

/// `26-Nov-2026 02:56:09` or `26-Nov-2026 02:56:09.123456`.
fn parse_fpm_time(s: &str) -> Option<LogTime> {
    let (date, time) = s.split_once(' ')?;
    let mut parts = date.splitn(3, '-');
    let day = parts.next()?.parse().ok()?;
    let month = month_number(parts.next()?)?;
    let year = parts.next()?.parse().ok()?;
    let time = time.split('.').next()?;
    let mut hms = time.splitn(3, ':');
    let hour = hms.next()?.parse().ok()?;
    let minute = hms.next()?.parse().ok()?;
    let second = hms.next()?.parse().ok()?;
    LogTime::new(year, month, day, hour, minute, second)
}

fn month_number(name: &str) -> Option<u8> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let i = MONTHS.iter().position(|m| *m == name)?;
    u8::try_from(i + 1).ok()
}

fn parse_event(msg: &str) -> FpmEvent<'_> {
    if let Some(n) = msg
        .strip_prefix("server reached pm.max_children setting (")
        .or_else(|| msg.strip_prefix("server reached max_children setting ("))
        .and_then(|r| r.split_once(')'))
        .and_then(|(n, _)| n.parse().ok())
    {
        return FpmEvent::MaxChildrenReached { max_children: n };
    }
    let Some(rest) = msg.strip_prefix("child ") else {
        return FpmEvent::Other;
    };
    let end = rest
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    let Ok(child) = rest[..end].parse::<u32>() else {
        return FpmEvent::Other;
    };
    let rest = &rest[end..];

    if let Some(r) = rest.strip_prefix(", script '") {
        return script_event(child, r).unwrap_or(FpmEvent::Other);
    }
    if let Some(r) = rest.strip_prefix(" exited on signal ") {
        let end = r
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(r.len());
        let Ok(signal) = r[..end].parse() else {
            return FpmEvent::Other;
        };
        let r = &r[end..];
        let name = r
            .strip_prefix(" (")
            .and_then(|n| n.split_once(')'))
            .map(|(n, _)| n.trim_end_matches(" - core dumped"));
        return FpmEvent::ChildSignaled {
            child,
            signal,
            name,
            after_seconds: after_seconds(r),
        };
    }
    if let Some(r) = rest.strip_prefix(" exited with code ") {
        let end = r
            .bytes()
            .position(|b| !(b.is_ascii_digit() || b == b'-'))
            .unwrap_or(r.len());
        let Ok(code) = r[..end].parse() else {
            return FpmEvent::Other;
        };
        return FpmEvent::ChildExited {
            child,
            code,
            after_seconds: after_seconds(r),
        };
    }
    if let Some(r) = rest.strip_prefix(" said into stderr: \"") {
        // Lines longer than log_limit end with `...` and no closing quote.
        let text = r
            .strip_suffix('"')
            .or_else(|| r.strip_suffix("\", pipe is closed"))
            .unwrap_or(r);
        return FpmEvent::ChildStderr { child, text };
    }
    FpmEvent::Other
}

/// After `child N, script '`: `S' (request: "R") execution timed out (T sec), terminating`.
fn script_event(child: u32, r: &str) -> Option<FpmEvent<'_>> {
    let (script, r) = r.split_once("' (request: \"")?;
    // The request may contain quotes; the fixed text after it may not.
    let (request, tail) = r
        .rsplit_once("\") execution timed out (")
        .or_else(|| r.rsplit_once("\") executing too slow ("))?;
    let seconds = tail.split_once(" sec)")?.0.parse().ok()?;
    if r[request.len()..].starts_with("\") execution timed out") {
        Some(FpmEvent::ExecutionTimedOut {
            child,
            script,
            request,
            seconds,
        })
    } else {
        Some(FpmEvent::SlowRequest {
            child,
            script,
            request,
            seconds,
        })
    }
}

/// ` ... after 2.669222 seconds from start`.
fn after_seconds(r: &str) -> Option<f64> {
    let (_, t) = r.split_once(" after ")?;
    t.split_once(" seconds")?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(l: &str) -> FpmEntry<'_> {
        match parse_fpm_line(l) {
            Some(e) => e,
            None => panic!("not parsed: {l}"),
        }
    }

    #[test]
    fn lab_f2_timeout_and_signal() {
        let e = parse("[26-Nov-2026 02:56:09] WARNING: [pool lab] child 28814, script '/tmp/lab/run/F2/www/slow.php' (request: \"GET /slow.php\") execution timed out (2.554018 sec), terminating\n");
        assert_eq!(e.time, LogTime::new(2026, 11, 26, 2, 56, 9));
        assert_eq!(e.level, FpmLevel::Warning);
        assert_eq!(e.pool, Some("lab"));
        assert_eq!(
            e.event,
            FpmEvent::ExecutionTimedOut {
                child: 28814,
                script: "/tmp/lab/run/F2/www/slow.php",
                request: "GET /slow.php",
                seconds: 2.554018
            }
        );
        assert_eq!(e.event.request().map(|r| r.path()), Some("/slow.php"));
        assert_eq!(e.event.kind(), "execution-timed-out");

        let e = parse("[26-Nov-2026 02:56:09] WARNING: [pool lab] child 28814 exited on signal 15 (SIGTERM) after 2.669222 seconds from start");
        assert_eq!(
            e.event,
            FpmEvent::ChildSignaled {
                child: 28814,
                signal: 15,
                name: Some("SIGTERM"),
                after_seconds: Some(2.669222)
            }
        );
    }

    #[test]
    fn other_shapes() {
        let e = parse("[26-Nov-2026 02:56:11] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it");
        assert_eq!(e.event, FpmEvent::MaxChildrenReached { max_children: 5 });
        let e = parse("[26-Nov-2026 02:56:11] WARNING: [pool www] server reached max_children setting (8), consider raising it");
        assert_eq!(e.event, FpmEvent::MaxChildrenReached { max_children: 8 });

        let e = parse("[26-Nov-2026 02:56:01] WARNING: [pool lab] child 28721 said into stderr: \"NOTICE: PHP message: PHP Fatal error:  Maximum execution time of 2 seconds exceeded in /tmp/lab/run/F1/www/busy.php on line 3\"");
        assert!(e.event.is_php_fatal());

        let e = parse("[26-Nov-2026 02:56:11] WARNING: [pool www] child 7, script '/a.php' (request: \"POST /a.php?x=\"1\"\") executing too slow (5.01 sec), logging");
        assert!(matches!(
            e.event,
            FpmEvent::SlowRequest {
                request: "POST /a.php?x=\"1\"",
                ..
            }
        ));

        let e = parse("[26-Nov-2026 02:56:11] WARNING: [pool www] child 9 exited with code 255 after 1.5 seconds from start");
        assert_eq!(
            e.event,
            FpmEvent::ChildExited {
                child: 9,
                code: 255,
                after_seconds: Some(1.5)
            }
        );

        let e = parse("[26-Nov-2026 02:55:54.123456] DEBUG: pid 1, fpm_event_loop(), line 3: [pool www] child 9 exited on signal 9 (SIGKILL - core dumped) after 1 seconds from start");
        assert_eq!(e.pool, Some("www"));
        assert!(matches!(
            e.event,
            FpmEvent::ChildSignaled {
                signal: 9,
                name: Some("SIGKILL"),
                ..
            }
        ));

        let e = parse("[26-Nov-2026 02:55:54] NOTICE: fpm is running, pid 28496");
        assert_eq!((e.pool, e.event), (None, FpmEvent::Other));

        let e = parse(
            "WARNING: [pool www] server reached pm.max_children setting (5), consider raising it",
        );
        assert_eq!(e.time, None);
    }

    #[test]
    fn not_fpm_lines() {
        for l in [
            "",
            "[26-Nov-2026 02:55:54]",
            "[bad] NOTICE: x",
            "hello: world",
            "[26-Foo-2026 02:55:54] NOTICE: x",
        ] {
            assert_eq!(parse_fpm_line(l), None, "{l:?}");
        }
        let e = parse("[26-Nov-2026 02:56:09] WARNING: [pool lab] child 1, script 'x' (request: \"GET /\") execution timed out (NaNx sec), terminating");
        assert_eq!(e.event, FpmEvent::Other);
    }
}
