//! `--since`: an absolute time, or a span ("1h", "30m", "2d", "1h30m") counted back from the
//! newest line of the logs being read.
//!
//! Why the newest log line and not the clock: nginx writes its local time without a zone, and
//! std has no time-zone database (reading /etc/localtime would mean a tz parser). Counting back
//! from the logs' own newest line needs no zone at all, gives the same answer on a laptop that
//! reads logs copied off a server hours later, and is what "the last hour of the incident" means.
//! The cost: on a live server whose last error is old, `--since 1h` is the hour before that error,
//! not the last hour of the clock (use an absolute time for that).

use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::str::FromStr;

use super::incidents::{check_regular, open_log, read_line_capped, DiagnoseError, MAX_LINE};
use super::logline::{parse_line, LogTime};

/// A parsed `--since` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Since {
    /// `2026/11/26 02:55:54`, `2026-11-26 02:55:54`, `2026-11-26T02:55:54`, `2026-11-26`.
    At(LogTime),
    /// A span in seconds, counted back from the newest log line.
    Ago(u64),
}

/// A `--since` value that is neither a time nor a span.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid --since \"{0}\": expected a time (2026-11-26 02:55:54, 2026-11-26 02:55, 2026-11-26) or a span (90s, 30m, 1h, 2d, 1h30m)")]
pub struct SinceError(pub String);

impl FromStr for Since {
    type Err = SinceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(t) = s.parse::<LogTime>() {
            return Ok(Since::At(t));
        }
        // nginx's own time syntax (ngx_parse_time with seconds): 30m, 1h30m, 2d, 1w.
        let compact: String = s.split_whitespace().collect();
        match crate::values::parse_sec(&compact) {
            Some(secs) if secs > 0 => Ok(Since::Ago(secs)),
            _ => Err(SinceError(s.to_owned())),
        }
    }
}

impl fmt::Display for Since {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Since::At(t) => write!(f, "{t}"),
            Since::Ago(secs) => write!(f, "{}", crate::values::format_sec(*secs)),
        }
    }
}

impl Since {
    /// The cut-off time; `newest` is the newest time in the logs (needed for [`Since::Ago`]).
    pub fn resolve(self, newest: Option<LogTime>) -> Option<LogTime> {
        match self {
            Since::At(t) => Some(t),
            Since::Ago(secs) => {
                let newest = newest?;
                let secs = i64::try_from(secs).ok()?;
                LogTime::from_unix(newest.to_unix().checked_sub(secs)?)
            }
        }
    }
}

impl LogTime {
    /// Seconds since 1970-01-01 00:00:00, reading the time as if it were UTC (nginx writes local
    /// time without a zone; differences between two log times are right either way).
    pub fn to_unix(self) -> i64 {
        let days = days_from_civil(
            i64::from(self.year),
            u32::from(self.month),
            u32::from(self.day),
        );
        days * 86_400
            + i64::from(self.hour) * 3_600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// The inverse of [`LogTime::to_unix`]; `None` outside years 0..=65535.
    pub fn from_unix(secs: i64) -> Option<LogTime> {
        let days = secs.div_euclid(86_400);
        let rest = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        LogTime::new(
            u16::try_from(y).ok()?,
            u8::try_from(m).ok()?,
            u8::try_from(d).ok()?,
            u8::try_from(rest / 3_600).ok()?,
            u8::try_from(rest % 3_600 / 60).ok()?,
            u8::try_from(rest % 60).ok()?,
        )
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// How much of a plain log's end is read to find its newest line.
const TAIL: u64 = 256 * 1024;

/// The newest timestamp in a log. A plain file is chronological, so only its tail is read; a
/// gzip file (or a tail without any timestamp) is streamed once, line by line.
pub fn newest_time(path: &Path) -> Result<Option<LogTime>, DiagnoseError> {
    let read_err = |source| DiagnoseError::Read {
        path: path.to_owned(),
        source,
    };
    check_regular(path)?;
    let mut file = std::fs::File::open(path).map_err(|source| DiagnoseError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic).map_err(read_err)?;
    if !(n == 2 && magic == [0x1f, 0x8b]) {
        let len = file.metadata().map_err(read_err)?.len();
        let start = len.saturating_sub(TAIL);
        file.seek(SeekFrom::Start(start)).map_err(read_err)?;
        let mut tail = Vec::new();
        file.take(TAIL).read_to_end(&mut tail).map_err(read_err)?;
        let text = String::from_utf8_lossy(&tail);
        // The first line of a tail that starts mid-file may be cut: skip it.
        let skip = usize::from(start > 0);
        let newest = text
            .lines()
            .skip(skip)
            .filter_map(|l| parse_line(l).and_then(|e| e.time))
            .max();
        if newest.is_some() {
            return Ok(newest);
        }
    }
    let mut reader = open_log(path)?;
    let mut buf = Vec::with_capacity(4096);
    let mut newest = None;
    while read_line_capped(&mut reader, &mut buf, MAX_LINE)
        .map_err(read_err)?
        .is_some()
    {
        let text = String::from_utf8_lossy(&buf);
        if let Some(t) = parse_line(&text).and_then(|e| e.time) {
            newest = newest.max(Some(t));
        }
    }
    Ok(newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> LogTime {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn unix_round_trip() {
        assert_eq!(t("1970-01-01 00:00:00").to_unix(), 0);
        assert_eq!(t("2000-03-01 00:00:00").to_unix(), 951_868_800);
        assert_eq!(t("2026-11-26 02:55:54").to_unix(), 1_795_661_754);
        for s in [
            "2024-02-29 23:59:59",
            "1999-12-31 00:00:01",
            "2026-01-01 12:00:00",
        ] {
            assert_eq!(LogTime::from_unix(t(s).to_unix()), Some(t(s)), "{s}");
        }
    }

    #[test]
    fn since_values() {
        assert_eq!("1h".parse(), Ok(Since::Ago(3_600)));
        assert_eq!("30m".parse(), Ok(Since::Ago(1_800)));
        assert_eq!("2d".parse(), Ok(Since::Ago(172_800)));
        // The --help and README example.
        assert_eq!(
            "2026-11-26 02:55".parse(),
            Ok(Since::At(t("2026-11-26 02:55:00")))
        );
        assert_eq!("1h 30m".parse(), Ok(Since::Ago(5_400)));
        assert_eq!(
            "2026-11-26".parse(),
            Ok(Since::At(t("2026-11-26 00:00:00")))
        );
        assert!("yesterday".parse::<Since>().is_err());
        assert!("0s".parse::<Since>().is_err());
        assert!("-1h".parse::<Since>().is_err());
        let newest = t("2026-03-01 00:30:00");
        assert_eq!(
            Since::Ago(3_600).resolve(Some(newest)),
            Some(t("2026-02-28 23:30:00"))
        );
        assert_eq!(Since::Ago(3_600).resolve(None), None);
        assert_eq!(
            Since::At(newest).resolve(None),
            Some(t("2026-03-01 00:30:00"))
        );
    }

    #[test]
    fn newest_time_plain_and_gzip() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut body = String::from("garbage first line\n");
        let start = t("2026-11-26 02:00:00").to_unix();
        for i in 0..5000 {
            let at = LogTime::from_unix(start + i).unwrap_or_else(|| panic!("time"));
            body.push_str(&format!(
                "{at} [error] 1#1: *{i} no live upstreams while connecting to upstream, client: 1.1.1.1, server: a\n"
            ));
        }
        body.push_str("trailing garbage\n");
        let plain = dir.path().join("error.log");
        std::fs::write(&plain, &body).unwrap_or_else(|e| panic!("{e}"));
        let want = Some(t("2026-11-26 03:23:19"));
        assert_eq!(newest_time(&plain).unwrap_or_else(|e| panic!("{e}")), want);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let gz = enc
            .write_all(body.as_bytes())
            .and_then(|()| enc.finish())
            .unwrap_or_else(|e| panic!("{e}"));
        let gz_path = dir.path().join("error.log.1.gz");
        std::fs::write(&gz_path, gz).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            newest_time(&gz_path).unwrap_or_else(|e| panic!("{e}")),
            want
        );
        let empty = dir.path().join("empty.log");
        std::fs::write(&empty, "").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(newest_time(&empty).unwrap_or_else(|e| panic!("{e}")), None);
    }
}
