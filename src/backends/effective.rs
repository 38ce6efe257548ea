//! "What limit does this pool's PHP really run with, and which line set it?"
//!
//! Two limits decide whether PHP gives up before nginx does (GW104) or php-fpm kills the worker
//! before PHP gives up (GW105):
//!
//! - `max_execution_time`: PHP's own limit, default 30 seconds (`PHP_INI_ENTRY_EX(
//!   "max_execution_time", "30", ...)` in main/main.c; "The default limit is 30 seconds or, if it
//!   exists, the max_execution_time value defined in the php.ini", PHP manual, set_time_limit).
//!   0 means no limit. A pool's `php_admin_value[...]` wins over its `php_value[...]` (applied
//!   after it, fpm_php.c), which wins over the ini files. A script may still call
//!   set_time_limit() unless the value is an admin value; that is beyond configuration.
//! - `request_terminate_timeout`: php-fpm's hard kill, default 0 = off ("A value of '0' means
//!   'Off'", www.conf).

use std::time::Duration;

use super::fpm::{PhpDefineKind, Pool};
use super::ini::IniFile;
use super::Located;

/// PHP's built-in `max_execution_time` (main/main.c), used when nothing sets it.
pub const PHP_DEFAULT_MAX_EXECUTION_TIME: u64 = 30;

/// Where an effective value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Nothing sets it: the program's built-in default.
    Default,
    /// A pool's `php_admin_value[...]`/`php_admin_flag[...]` line.
    PhpAdminValue(Located<String>),
    /// A pool's `php_value[...]`/`php_flag[...]` line.
    PhpValue(Located<String>),
    /// A php.ini (or conf.d/*.ini) line.
    PhpIni(Located<String>),
    /// A php-fpm pool directive such as `request_terminate_timeout`.
    PoolDirective(Located<String>),
}

impl Origin {
    /// The line that set the value, if any.
    pub fn location(&self) -> Option<&Located<String>> {
        match self {
            Origin::Default => None,
            Origin::PhpAdminValue(l)
            | Origin::PhpValue(l)
            | Origin::PhpIni(l)
            | Origin::PoolDirective(l) => Some(l),
        }
    }
}

/// A value together with where it was set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effective<T> {
    pub value: T,
    pub origin: Origin,
}

impl Effective<u64> {
    /// The limit as a duration; None when it is 0, which means unlimited / off for both limits.
    pub fn as_duration(&self) -> Option<Duration> {
        (self.value > 0).then(|| Duration::from_secs(self.value))
    }
}

/// The `max_execution_time` a pool's scripts run with, in seconds (0 = unlimited).
///
/// `inis` are the ini files that pool's PHP loads, in loading order (php.ini, then conf.d/*.ini
/// sorted); the last one that sets the directive wins, as PHP reads them in that order.
pub fn max_execution_time(pool: &Pool, inis: &[&IniFile]) -> Effective<u64> {
    const NAME: &str = "max_execution_time";
    if let Some(define) = pool.php_define(NAME) {
        let value = php_timeout_seconds(&define.value.value);
        let origin = match define.kind {
            PhpDefineKind::AdminValue | PhpDefineKind::AdminFlag => {
                Origin::PhpAdminValue(define.value.clone())
            }
            PhpDefineKind::Value | PhpDefineKind::Flag => Origin::PhpValue(define.value.clone()),
        };
        return Effective { value, origin };
    }
    let from_ini = inis
        .iter()
        .rev()
        .find_map(|ini| ini.effective(NAME).map(|e| (*ini, e)));
    if let Some((ini, entry)) = from_ini {
        return Effective {
            value: php_timeout_seconds(&entry.value),
            origin: Origin::PhpIni(Located {
                value: entry.value.clone(),
                file: ini.path.clone(),
                line: entry.line,
                span: entry.span,
            }),
        };
    }
    Effective {
        value: PHP_DEFAULT_MAX_EXECUTION_TIME,
        origin: Origin::Default,
    }
}

/// The pool's `request_terminate_timeout` in seconds (0 = off, the default).
pub fn request_terminate_timeout(pool: &Pool) -> Effective<u64> {
    match &pool.request_terminate_timeout {
        Some(t) => Effective {
            value: t.value,
            origin: Origin::PoolDirective(Located {
                value: t.value.to_string(),
                file: t.file.clone(),
                line: t.line,
                span: t.span,
            }),
        },
        None => Effective {
            value: 0,
            origin: Origin::Default,
        },
    }
}

/// PHP reads max_execution_time with strtol (ZEND_ATOL in OnUpdateTimeout, main/main.c): leading
/// blanks, a sign, digits; anything after is ignored and no digits read as 0 (unlimited).
/// A negative number cannot arm a timer, so it counts as unlimited too.
pub fn php_timeout_seconds(value: &str) -> u64 {
    let v = value.trim_start();
    let (negative, digits) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    let end = digits.bytes().take_while(u8::is_ascii_digit).count();
    if negative {
        return 0;
    }
    digits[..end]
        .parse::<u64>()
        .unwrap_or(if end == 0 { 0 } else { u64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::fpm::{parse_fpm_config, FpmOptions};
    use crate::backends::ini::{parse_ini, Dialect};
    use std::path::Path;

    fn pool(src: &str) -> Pool {
        let cfg = parse_fpm_config(
            Path::new("/p/www.conf"),
            src.as_bytes(),
            &FpmOptions::default(),
        );
        cfg.pools
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no pool in {src}"))
    }

    fn ini(src: &str) -> IniFile {
        parse_ini(
            Path::new("/etc/php/8.2/fpm/php.ini"),
            src.as_bytes(),
            Dialect::PhpIni,
        )
    }

    #[test]
    fn precedence_admin_value_php_value_ini_default() {
        let php_ini = ini("[PHP]\nmax_execution_time = 120\n");
        let both = pool(
            "[www]\nphp_value[max_execution_time] = 60\nphp_admin_value[max_execution_time] = 90\n",
        );
        let e = max_execution_time(&both, &[&php_ini]);
        assert_eq!(e.value, 90);
        assert!(matches!(&e.origin, Origin::PhpAdminValue(l) if l.line == 3));

        let user = pool("[www]\nphp_value[max_execution_time] = 60\n");
        let e = max_execution_time(&user, &[&php_ini]);
        assert_eq!(e.value, 60);
        assert!(
            matches!(&e.origin, Origin::PhpValue(l) if l.line == 2 && l.file == Path::new("/p/www.conf"))
        );

        let bare = pool("[www]\nlisten = 9000\n");
        let e = max_execution_time(&bare, &[&php_ini]);
        assert_eq!(e.value, 120);
        let loc = e.origin.location().map(|l| (l.file.clone(), l.line));
        assert_eq!(
            loc,
            Some((Path::new("/etc/php/8.2/fpm/php.ini").to_path_buf(), 2))
        );

        let e = max_execution_time(&bare, &[]);
        assert_eq!((e.value, e.origin), (30, Origin::Default));
    }

    #[test]
    fn later_ini_files_override_earlier_ones() {
        let php_ini = ini("max_execution_time = 30\n");
        let conf_d = parse_ini(
            Path::new("/etc/php/8.2/fpm/conf.d/99-app.ini"),
            b"max_execution_time = 0\n",
            Dialect::PhpIni,
        );
        let e = max_execution_time(&pool("[www]\nlisten=9000\n"), &[&php_ini, &conf_d]);
        assert_eq!(e.value, 0);
        assert_eq!(e.as_duration(), None);
        assert!(matches!(&e.origin, Origin::PhpIni(l) if l.file.ends_with("99-app.ini")));
    }

    #[test]
    fn terminate_timeout_default_is_off() {
        let e = request_terminate_timeout(&pool("[www]\nlisten=9000\n"));
        assert_eq!((e.value, &e.origin), (0, &Origin::Default));
        let e = request_terminate_timeout(&pool("[www]\nrequest_terminate_timeout = 5m\n"));
        assert_eq!(e.value, 300);
        assert_eq!(e.as_duration(), Some(Duration::from_secs(300)));
        assert!(matches!(&e.origin, Origin::PoolDirective(l) if l.line == 2));
    }

    #[test]
    fn php_reads_timeouts_with_strtol() {
        assert_eq!(php_timeout_seconds("30"), 30);
        assert_eq!(php_timeout_seconds(" 45abc"), 45);
        assert_eq!(php_timeout_seconds("abc"), 0);
        assert_eq!(php_timeout_seconds("-5"), 0);
        assert_eq!(php_timeout_seconds("+7"), 7);
        assert_eq!(php_timeout_seconds("99999999999999999999999"), u64::MAX);
    }
}
