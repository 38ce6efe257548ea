//! systemd service units of the checked system (under `--sysroot`, or this machine's): the one
//! reader of unit files and their drop-ins, for what the rules need from them: `PrivateTmp=`
//! (GW303), `User=`/`Group=` (the nginx worker user and the php-fpm master, GW302),
//! `LimitNOFILE=` (GW601).
//!
//! Semantics followed (systemd.unit(5), systemd.syntax(7), systemd.exec(5)):
//! - The unit file is the first of its name in the unit search path (highest precedence
//!   first, [`UNIT_DIRS`]); one linked to /dev/null is masked: the service does not start.
//! - Drop-ins are the `*.conf` files of `NAME.d/`, of the truncated-at-every-dash prefixes
//!   (`php8.2-.service.d/`) and of the type-wide `service.d/`, in every unit directory. A
//!   drop-in name found in several directories is taken from the one of highest precedence
//!   (one linked to /dev/null hides the others); all are then applied in lexicographic order
//!   of their file names, whatever directory they are in, after the unit file.
//! - Only `[Service]` lines count; `#` and `;` start comments; a line ending in `\` goes on
//!   with the next; the last assignment wins, and an empty one (`LimitNOFILE=`) resets the
//!   setting to its default.
//! - Booleans are systemd's (`1 yes y true t on` / `0 no n false f off`, any case);
//!   `PrivateTmp=` also takes `disconnected` (systemd 257), a private /tmp as well.
//! - Specifiers: `%%` is `%`; `%n`/`%N`/`%p` are the unit's name, name without suffix and
//!   prefix; any other specifier (`%i` of templates, `%u`...) makes the value unknown.
//! - `systemctl set-property` writes drop-ins to `system.control`; runtime units and drop-ins
//!   are under /run: both are read where they exist (a live system).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::map_under_root;

/// systemd's system unit directories, highest precedence first (systemd.unit(5), "System Unit
/// Search Path"; generator and attached directories left out: nothing here writes those).
/// /lib/systemd/system is Debian's packaged directory before the merged /usr.
pub const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

/// One assignment that is in force, and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitSetting {
    /// The value, specifiers resolved; `None` when a specifier could not be resolved.
    pub value: Option<String>,
    /// The file (on this machine) and 1-based line of the assignment.
    pub file: PathBuf,
    pub line: usize,
}

impl UnitSetting {
    /// `FILE:LINE`, for messages.
    pub fn at(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }
}

/// One service unit as systemd would load it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    /// `nginx.service`.
    pub name: String,
    /// The unit file read, as a path on this machine.
    pub path: PathBuf,
    /// The drop-ins applied, in order.
    pub dropins: Vec<PathBuf>,
    /// The `[Service]` settings in force: the last assignment of each key after the drop-ins;
    /// a key whose last assignment is empty (a reset) is absent.
    settings: BTreeMap<String, UnitSetting>,
}

impl Unit {
    /// The unit `name` of the system under `root` (this machine for `None`); `None` when no
    /// unit file of that name exists, it is masked (linked to /dev/null) or unreadable.
    pub fn read(root: Option<&Path>, name: &str) -> Option<Unit> {
        let open = |p: &str| map_under_root(root, Path::new(p));
        let (lexical, path) = UNIT_DIRS.iter().find_map(|d| {
            let lexical = under(root, &format!("{d}/{name}"));
            std::fs::symlink_metadata(&lexical).ok()?;
            Some((lexical, open(&format!("{d}/{name}"))))
        })?;
        if masked(&lexical) || masked(&path) {
            return None;
        }
        let text = std::fs::read_to_string(&path).ok()?;
        let mut settings = BTreeMap::new();
        apply(&mut settings, &text, &path, name);
        let dropins = dropins(root, name);
        for d in &dropins {
            if let Ok(t) = std::fs::read_to_string(d) {
                apply(&mut settings, &t, d, name);
            }
        }
        Some(Unit {
            name: name.to_owned(),
            path,
            dropins,
            settings,
        })
    }

    /// The assignment of `key` in force, `None` when unset or reset.
    pub fn setting(&self, key: &str) -> Option<&UnitSetting> {
        self.settings.get(key)
    }

    /// `PrivateTmp=` in force: `Some((true, where))` for a private /tmp (`yes`, or
    /// `disconnected`), `Some((false, where))` when a line turns it off, `None` when nothing
    /// sets it (systemd's default: off) or the value is not a boolean systemd reads.
    pub fn private_tmp(&self) -> Option<(bool, &UnitSetting)> {
        let s = self.setting("PrivateTmp")?;
        let v = s.value.as_deref()?;
        if v.eq_ignore_ascii_case("disconnected") {
            return Some((true, s));
        }
        parse_boolean(v).map(|b| (b, s))
    }

    /// `User=` in force (a name or a numeric uid), `None` when unset (the service runs as
    /// root) or unknown.
    pub fn user(&self) -> Option<&UnitSetting> {
        self.setting("User")
    }

    /// `Group=` in force; unset means the user's primary group.
    pub fn group(&self) -> Option<&UnitSetting> {
        self.setting("Group")
    }

    /// `DynamicUser=` is on: the user is allocated when the service starts (a name that is in
    /// no /etc/passwd).
    pub fn dynamic_user(&self) -> bool {
        self.setting("DynamicUser")
            .and_then(|s| s.value.as_deref())
            .and_then(parse_boolean)
            .unwrap_or(false)
    }
}

/// The service units named `nginx.service` and `php*-fpm.service` of the system under `root`,
/// by name; masked and unreadable units are left out.
pub fn web_units(root: Option<&Path>) -> Vec<Unit> {
    let mut names = std::collections::BTreeSet::new();
    for dir in UNIT_DIRS {
        let Ok(listing) = std::fs::read_dir(map_under_root(root, Path::new(dir))) else {
            continue;
        };
        for entry in listing.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "nginx.service" || is_php_fpm_unit(&name) {
                names.insert(name);
            }
        }
    }
    names.iter().filter_map(|n| Unit::read(root, n)).collect()
}

/// `php8.2-fpm.service`, `php-fpm.service` (RHEL, Arch), `php82-fpm.service`.
pub fn is_php_fpm_unit(name: &str) -> bool {
    name.starts_with("php") && name.ends_with("-fpm.service")
}

/// The php-fpm unit that starts the pools of a php-fpm config file at `config_path` (a path of
/// the checked system, or on this machine under the root): the unit named for the PHP version
/// in the path (`/etc/php/8.2/fpm/...` -> `php8.2-fpm.service`), else the only php-fpm unit.
pub fn php_fpm_unit_for<'u>(units: &'u [Unit], config_path: &Path) -> Option<&'u Unit> {
    let fpm: Vec<&Unit> = units.iter().filter(|u| is_php_fpm_unit(&u.name)).collect();
    let text = config_path.to_string_lossy();
    let by_version = fpm.iter().find(|u| {
        let version = u
            .name
            .trim_start_matches("php")
            .trim_end_matches("-fpm.service");
        !version.is_empty() && text.contains(&format!("/php/{version}/"))
    });
    match (by_version, fpm.as_slice()) {
        (Some(u), _) => Some(u),
        (None, [only]) => Some(only),
        _ => None,
    }
}

fn under(root: Option<&Path>, path: &str) -> PathBuf {
    match root {
        Some(r) => r.join(path.trim_start_matches('/')),
        None => PathBuf::from(path),
    }
}

/// A unit or drop-in linked to /dev/null (`systemctl mask`), or an empty file of that name
/// that is /dev/null itself.
fn masked(path: &Path) -> bool {
    path == Path::new("/dev/null")
        || std::fs::read_link(path).is_ok_and(|t| t == Path::new("/dev/null"))
        || std::fs::canonicalize(path).is_ok_and(|t| t == Path::new("/dev/null"))
}

/// The drop-in directories of `name` in one unit directory, in the order systemd looks
/// (the full name, then each dash-truncated prefix, longest first, then the type-wide one).
fn dropin_dir_names(name: &str) -> Vec<String> {
    let mut out = vec![format!("{name}.d")];
    if let Some((stem, suffix)) = name.rsplit_once('.') {
        let mut cut = stem;
        while let Some((head, _)) = cut.rsplit_once('-') {
            out.push(format!("{head}-.{suffix}.d"));
            cut = head;
        }
        out.push(format!("{suffix}.d"));
    }
    out
}

/// The drop-ins of `name`, in the order systemd applies them.
fn dropins(root: Option<&Path>, name: &str) -> Vec<PathBuf> {
    // File name -> the file of the highest precedence with that name.
    let mut by_name: BTreeMap<std::ffi::OsString, PathBuf> = BTreeMap::new();
    for dir in UNIT_DIRS {
        for sub in dropin_dir_names(name) {
            let d = map_under_root(root, Path::new(&format!("{dir}/{sub}")));
            let Ok(listing) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut files: Vec<PathBuf> = listing
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "conf"))
                .collect();
            files.sort();
            for f in files {
                if let Some(file_name) = f.file_name() {
                    by_name.entry(file_name.to_owned()).or_insert(f);
                }
            }
        }
    }
    by_name.into_values().filter(|p| !masked(p)).collect()
}

/// Applies the `[Service]` assignments of one file's text to `settings`.
fn apply(settings: &mut BTreeMap<String, UnitSetting>, text: &str, file: &Path, unit: &str) {
    let mut in_service = false;
    let mut lines = text.lines().enumerate();
    while let Some((index, raw)) = lines.next() {
        let mut line = raw.trim().to_owned();
        // A trailing backslash joins the next line (systemd.syntax(7)).
        while line.ends_with('\\') {
            line.pop();
            line.push(' ');
            match lines.next() {
                Some((_, next)) => {
                    let next = next.trim();
                    if next.starts_with('#') || next.starts_with(';') {
                        continue;
                    }
                    line.push_str(next);
                }
                None => break,
            }
        }
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            in_service = line == "[Service]";
            continue;
        }
        if !in_service {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().to_owned();
        let value = value.trim();
        if value.is_empty() {
            settings.remove(&key);
            continue;
        }
        settings.insert(
            key,
            UnitSetting {
                value: resolve_specifiers(value, unit),
                file: file.to_path_buf(),
                line: index + 1,
            },
        );
    }
}

/// `value` with the specifiers that do not depend on the running manager resolved; `None`
/// when another one is used.
fn resolve_specifiers(value: &str, unit: &str) -> Option<String> {
    if !value.contains('%') {
        return Some(value.to_owned());
    }
    let without_suffix = unit.rsplit_once('.').map_or(unit, |(s, _)| s);
    let prefix = without_suffix
        .split_once('@')
        .map_or(without_suffix, |(p, _)| p);
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '%' => out.push('%'),
            'n' => out.push_str(unit),
            'N' => out.push_str(without_suffix),
            'p' => out.push_str(prefix),
            _ => return None,
        }
    }
    Some(out)
}

/// systemd's boolean (parse_boolean in basic/parse-util.c).
pub fn parse_boolean(value: &str) -> Option<bool> {
    let v = value.trim().to_ascii_lowercase();
    match v.as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, text: &str) -> std::io::Result<()> {
        let p = root.join(path.trim_start_matches('/'));
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(p, text)
    }

    #[test]
    fn booleans_and_specifiers() {
        for t in ["1", "yes", "Y", "true", "t", "ON"] {
            assert_eq!(parse_boolean(t), Some(true), "{t}");
        }
        for f in ["0", "no", "n", "FALSE", "f", "off"] {
            assert_eq!(parse_boolean(f), Some(false), "{f}");
        }
        assert_eq!(parse_boolean("maybe"), None);
        assert_eq!(
            resolve_specifiers("%p-%%", "php8.2-fpm.service").as_deref(),
            Some("php8.2-fpm-%")
        );
        assert_eq!(resolve_specifiers("%i", "app@a.service"), None);
        assert_eq!(
            dropin_dir_names("php8.2-fpm.service"),
            ["php8.2-fpm.service.d", "php8.2-.service.d", "service.d"]
        );
    }

    #[test]
    fn unit_dropins_precedence_reset_and_sections() -> std::io::Result<()> {
        let root = tempfile::tempdir()?;
        let r = root.path();
        write(
            r,
            "/lib/systemd/system/php8.2-fpm.service",
            "[Unit]\nUser=ignored\n[Service]\nType=notify\nPrivateTmp=true\nUser=www-data\nLimitNOFILE=1024 \\\n  # a comment inside\n",
        )?;
        // The same drop-in name in /etc and /lib: only /etc's counts.
        write(
            r,
            "/lib/systemd/system/php8.2-fpm.service.d/10-tmp.conf",
            "[Service]\nPrivateTmp=no\n",
        )?;
        write(
            r,
            "/etc/systemd/system/php8.2-fpm.service.d/10-tmp.conf",
            "[Service]\n# PrivateTmp=no\n",
        )?;
        // A later name in another directory applies after, and an empty User= resets.
        write(
            r,
            "/usr/lib/systemd/system/php8.2-.service.d/20-user.conf",
            "[Service]\nUser=\nGroup=web\n",
        )?;
        let unit = Unit::read(Some(r), "php8.2-fpm.service").ok_or(std::io::ErrorKind::NotFound)?;
        assert_eq!(unit.dropins.len(), 2);
        let (private, at) = unit.private_tmp().ok_or(std::io::ErrorKind::NotFound)?;
        assert!(private);
        assert!(at.file.ends_with("lib/systemd/system/php8.2-fpm.service"));
        assert_eq!(at.line, 5);
        assert_eq!(unit.user(), None);
        assert_eq!(unit.group().and_then(|g| g.value.as_deref()), Some("web"));
        assert_eq!(
            unit.setting("LimitNOFILE").and_then(|s| s.value.as_deref()),
            Some("1024")
        );
        // An /etc unit file of the same name replaces the packaged one.
        write(
            r,
            "/etc/systemd/system/php8.2-fpm.service",
            "[Service]\nPrivateTmp=disconnected\n",
        )?;
        let unit = Unit::read(Some(r), "php8.2-fpm.service").ok_or(std::io::ErrorKind::NotFound)?;
        assert_eq!(unit.private_tmp().map(|(b, _)| b), Some(true));
        assert!(unit.path.starts_with(r.join("etc")));
        Ok(())
    }

    #[test]
    fn masked_units_and_dropins() -> std::io::Result<()> {
        let root = tempfile::tempdir()?;
        let r = root.path();
        write(
            r,
            "/lib/systemd/system/nginx.service",
            "[Service]\nUser=nginx\n",
        )?;
        write(
            r,
            "/lib/systemd/system/nginx.service.d/user.conf",
            "[Service]\nUser=other\n",
        )?;
        std::fs::create_dir_all(r.join("etc/systemd/system/nginx.service.d"))?;
        std::os::unix::fs::symlink(
            "/dev/null",
            r.join("etc/systemd/system/nginx.service.d/user.conf"),
        )?;
        let unit = Unit::read(Some(r), "nginx.service").ok_or(std::io::ErrorKind::NotFound)?;
        assert!(unit.dropins.is_empty());
        assert_eq!(unit.user().and_then(|u| u.value.as_deref()), Some("nginx"));
        std::os::unix::fs::symlink("/dev/null", r.join("etc/systemd/system/nginx.service"))?;
        assert_eq!(Unit::read(Some(r), "nginx.service"), None);
        assert!(web_units(Some(r)).is_empty());
        Ok(())
    }

    #[test]
    fn php_fpm_unit_by_version() {
        let unit = |name: &str| Unit {
            name: name.to_owned(),
            path: PathBuf::from(name),
            dropins: Vec::new(),
            settings: BTreeMap::new(),
        };
        let units = vec![
            unit("nginx.service"),
            unit("php7.4-fpm.service"),
            unit("php8.2-fpm.service"),
        ];
        let got = php_fpm_unit_for(&units, Path::new("/etc/php/8.2/fpm/pool.d/www.conf"));
        assert_eq!(got.map(|u| u.name.as_str()), Some("php8.2-fpm.service"));
        assert_eq!(
            php_fpm_unit_for(&units, Path::new("/etc/php-fpm.d/www.conf")),
            None
        );
        let one = vec![unit("php-fpm.service")];
        assert!(php_fpm_unit_for(&one, Path::new("/etc/php-fpm.d/www.conf")).is_some());
    }
}
