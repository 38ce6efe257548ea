//! The PHP side of a 502/504: php.ini files and php-fpm pools.
//!
//! nginx only knows an address (`fastcgi_pass unix:/run/php/php8.2-fpm.sock;`) and its own
//! timeouts. Whether something listens there, whether nginx may open the socket, and how long
//! PHP works before giving up or being killed are written in php-fpm's pool files and php.ini.
//! This module reads those files into data the rules can compare with the nginx config:
//!
//! - [`ini`]: PHP's ini syntax (php.ini, conf.d/*.ini, and php-fpm's files).
//! - [`fpm`]: php-fpm's global options and pools, `include=` globs, `$pool`.
//! - [`listen`]: the `listen` address syntax.
//! - [`compose`]: a Docker Compose project's services, ports and networks.
//! - [`effective`]: the effective `max_execution_time` / `request_terminate_timeout` of a pool
//!   and the line that set it.
//!
//! [`discover`] finds the files under the paths a user gives; [`system_paths`] lists the usual
//! places on Debian/Ubuntu, RHEL and the Docker php images. Nothing here fails on content: bad
//! lines become [`Problem`]s; only reading a file named on the command line can fail
//! ([`BackendError`]), and [`discover`] turns that into a problem too.

pub mod apps;
pub mod compose;
pub mod effective;
pub mod fpm;
pub mod ini;
pub mod listen;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::syntax::Span;

pub use apps::{BackendKind, DeclaredBackend};
pub use effective::{Effective, Origin, PHP_DEFAULT_MAX_EXECUTION_TIME};
pub use fpm::{
    parse_fpm_time, read_fpm_config, FpmConfig, FpmGlobal, FpmOptions, PhpDefine, PhpDefineKind,
    Pool, ProcessManager, SocketGroup, SocketOwner, DEFAULT_LISTEN_MODE,
};
pub use ini::{read_ini, Dialect, IniEntry, IniFile, IniItem, IniSection};
pub use listen::{Listen, ListenError};

/// A value and the place in a file it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    /// The file as read (under the sysroot when one was given).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// Byte span of the value text in `file`.
    pub span: Span,
}

/// A line PHP or php-fpm would reject or misread. Data, not an error: reading goes on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: usize,
    pub message: String,
}

/// Reading a file failed.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Everything found about PHP on one system.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhpSetup {
    /// php.ini files and the conf.d/*.ini files next to them, sorted by path.
    pub inis: Vec<IniFile>,
    /// One entry per php-fpm.conf, and one per pool file no php-fpm.conf includes.
    pub fpm: Vec<FpmConfig>,
    /// Problems of discovery itself (unreadable files); per-file problems stay with the file.
    pub problems: Vec<Problem>,
}

impl PhpSetup {
    /// Every pool of every php-fpm config.
    pub fn pools(&self) -> impl Iterator<Item = &Pool> {
        self.fpm.iter().flat_map(|cfg| cfg.pools.iter())
    }

    /// Every problem: discovery, ini files, php-fpm files; sorted by file and line.
    pub fn all_problems(&self) -> Vec<&Problem> {
        let mut all: Vec<&Problem> = self
            .problems
            .iter()
            .chain(self.inis.iter().flat_map(|i| i.problems.iter()))
            .chain(self.fpm.iter().flat_map(|f| f.problems.iter()))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// The ini files the pool's PHP loads, in loading order: php.ini, then conf.d/*.ini.
    ///
    /// A pool file under `.../php/X.Y/fpm/` (Debian's layout, one directory per PHP version)
    /// uses `.../php/X.Y/fpm/php.ini` and `.../php/X.Y/fpm/conf.d/*.ini`; otherwise, when the
    /// loaded ini files all belong to one directory, those. Else none: the caller then gets PHP's
    /// defaults, which is what a pool without a readable php.ini runs with.
    pub fn inis_for_pool(&self, pool: &Pool) -> Vec<&IniFile> {
        let scope = debian_fpm_dir(&pool.header.file).or_else(|| {
            let scopes: BTreeSet<PathBuf> = self.inis.iter().map(|i| ini_scope(&i.path)).collect();
            (scopes.len() == 1)
                .then(|| scopes.into_iter().next())
                .flatten()
        });
        let Some(scope) = scope else {
            return Vec::new();
        };
        let mut inis: Vec<&IniFile> = self
            .inis
            .iter()
            .filter(|i| ini_scope(&i.path) == scope)
            .collect();
        // php.ini first, then the scan dir in alphabetical order (php_init_config, main/php_ini.c).
        inis.sort_by_key(|i| {
            (
                i.path.parent().is_some_and(|p| p.ends_with("conf.d")),
                i.path.clone(),
            )
        });
        inis
    }

    /// The pool's effective `max_execution_time` and the line that set it.
    pub fn max_execution_time(&self, pool: &Pool) -> Effective<u64> {
        effective::max_execution_time(pool, &self.inis_for_pool(pool))
    }

    /// The pool's effective `request_terminate_timeout` (0 = off) and the line that set it.
    pub fn request_terminate_timeout(&self, pool: &Pool) -> Effective<u64> {
        effective::request_terminate_timeout(pool)
    }
}

/// `.../php/X.Y/fpm` when `path` lies under such a directory.
fn debian_fpm_dir(path: &Path) -> Option<PathBuf> {
    let parts: Vec<_> = path.components().collect();
    let at = parts.windows(3).rposition(|w| {
        w[0].as_os_str() == "php"
            && w[2].as_os_str() == "fpm"
            && w[1]
                .as_os_str()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.')
    })?;
    Some(parts[..at + 3].iter().collect())
}

/// The directory whose php.ini an ini file belongs with: conf.d files belong to the parent.
fn ini_scope(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new(""));
    match dir.file_name() {
        Some(name) if name == "conf.d" => dir.parent().unwrap_or(dir).to_path_buf(),
        _ => dir.to_path_buf(),
    }
}

/// Finds and reads PHP and php-fpm config under `paths` (files or directories) on this system.
pub fn discover(paths: &[PathBuf]) -> PhpSetup {
    discover_with_root(paths, None)
}

/// [`discover`] for a copy of a system under `root`: absolute paths inside the configs
/// (`include=/etc/php/8.2/fpm/pool.d/*.conf`) are read under `root`.
///
/// A directory is searched (6 levels deep) for `php.ini` (except in cli/, apache2/, phpdbg/ and
/// embed/ directories: those PHPs never answer nginx), `conf.d/*.ini` beside a php.ini,
/// `php-fpm.conf`, and `*.conf` in `pool.d/`, `php-fpm.d/` and `fpm.d/` directories. A file is
/// read as ini when its name contains `.ini` (php.ini, php.ini-production, 99-app.ini), else as a
/// php-fpm file. Pool files already included by a php-fpm.conf are not read twice.
pub fn discover_with_root(paths: &[PathBuf], root: Option<&Path>) -> PhpSetup {
    discover_in(paths, root, false)
}

/// [`discover`] for copies of PHP configuration directories (`--php DIR` without a sysroot):
/// an absolute `include=` pattern of a file found under DIR that names a path outside it is
/// looked for under DIR first ([`FpmOptions::copy_root`]), so
/// `include=/etc/php/8.2/fpm/pool.d/*.conf` reads `DIR/pool.d/*.conf`. For files given one by
/// one, DIR is the directory they all lie in.
pub fn discover_copy(paths: &[PathBuf]) -> PhpSetup {
    discover_in(paths, None, true)
}

fn discover_in(paths: &[PathBuf], root: Option<&Path>, copies: bool) -> PhpSetup {
    let mut found = Found::default();
    let sysroot = root.map(crate::config::Sysroot::new);
    for path in paths {
        if path.is_dir() {
            found.walk(path, sysroot.as_ref());
        } else {
            found.add_file(path);
        }
    }
    let mut setup = PhpSetup::default();
    // The copied directory a file was found in; for a file given on its own, the directory
    // all the given paths share (`--php copy/pool.d/www.conf --php copy/conf/env.conf`: copy).
    let shared = copies.then(|| common_directory(paths)).flatten();
    let copy_root = |file: &Path| -> Option<PathBuf> {
        if !copies {
            return None;
        }
        paths
            .iter()
            .filter(|p| p.is_dir() && file.starts_with(p))
            .max_by_key(|p| p.components().count())
            .cloned()
            .or_else(|| shared.clone())
    };
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    for path in found.ini {
        match read_ini(&path, Dialect::PhpIni) {
            Ok(ini) => setup.inis.push(ini),
            Err(e) => setup.problems.push(io_problem(&path, &e)),
        }
    }
    // Main files first, so that pool files they include are known before the pool dirs.
    let mut read: Vec<FpmConfig> = Vec::new();
    for path in found.fpm_main.into_iter().chain(found.fpm_pools) {
        if seen.contains(&canonical(&path)) {
            continue;
        }
        let options = FpmOptions {
            root: root.map(Path::to_path_buf),
            prefix: None,
            copy_root: copy_root(&path),
        };
        match read_fpm_config(&path, &options) {
            Ok(cfg) => {
                seen.extend(cfg.files.iter().map(|f| canonical(f)));
                read.push(cfg);
            }
            Err(e) => setup.problems.push(io_problem(&path, &e)),
        }
    }
    // A file another one includes is read there, in the section open at its `include=`
    // (php-fpm has one current section), even when it sorted first and was read on its own
    // too: that reading is dropped.
    let included: BTreeSet<PathBuf> = read
        .iter()
        .flat_map(|cfg| cfg.files.iter().skip(1).map(|f| canonical(f)))
        .collect();
    setup.fpm = read
        .into_iter()
        .filter(|cfg| !included.contains(&canonical(&cfg.entry)))
        .collect();
    setup
}

/// The deepest directory holding every path (a directory itself, a file its directory).
fn common_directory(paths: &[PathBuf]) -> Option<PathBuf> {
    let mut dirs = paths.iter().map(|p| {
        if p.is_dir() {
            p.clone()
        } else {
            p.parent().map(Path::to_path_buf).unwrap_or_default()
        }
    });
    let mut common = dirs.next()?;
    for dir in dirs {
        while !dir.starts_with(&common) {
            if !common.pop() {
                return None;
            }
        }
    }
    (!common.as_os_str().is_empty()).then_some(common)
}

fn io_problem(path: &Path, error: &BackendError) -> Problem {
    Problem {
        file: path.to_path_buf(),
        line: 0,
        message: error.to_string(),
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Files found, each set sorted and free of duplicates.
#[derive(Default)]
struct Found {
    ini: BTreeSet<PathBuf>,
    fpm_main: BTreeSet<PathBuf>,
    fpm_pools: BTreeSet<PathBuf>,
}

const SAPIS_NOT_BEHIND_NGINX: &[&str] = &["cli", "apache2", "phpdbg", "embed"];
const POOL_DIRS: &[&str] = &["pool.d", "php-fpm.d", "fpm.d"];

impl Found {
    fn add_file(&mut self, path: &Path) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.contains(".ini") {
            self.ini.insert(path.to_path_buf());
        } else if name == "php-fpm.conf" {
            self.fpm_main.insert(path.to_path_buf());
        } else {
            self.fpm_pools.insert(path.to_path_buf());
        }
    }

    /// Under a sysroot, links are followed inside it (a pool file linked to `/etc/php/...` is
    /// the root's file, never this machine's); linked directories are not descended there.
    fn walk(&mut self, dir: &Path, sysroot: Option<&crate::config::Sysroot>) {
        let walker = walkdir::WalkDir::new(dir)
            .max_depth(6)
            .follow_links(sysroot.is_none())
            .sort_by_file_name();
        for dirent in walker.into_iter().flatten() {
            let resolved = match sysroot {
                Some(root) if dirent.path_is_symlink() => root
                    .inside(dirent.path())
                    .and_then(|inside| root.resolve(&inside).ok())
                    .filter(|f| f.is_file()),
                _ => None,
            };
            if !dirent.file_type().is_file() && resolved.is_none() {
                continue;
            }
            let path = dirent.path();
            let file = resolved.clone().unwrap_or_else(|| path.to_path_buf());
            let name = dirent.file_name().to_string_lossy();
            let parent = path.parent().unwrap_or(Path::new(""));
            let parent_name = parent
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name == "php.ini" && !SAPIS_NOT_BEHIND_NGINX.contains(&parent_name.as_str()) {
                self.ini.insert(file.clone());
            } else if name.ends_with(".ini") && parent_name == "conf.d" {
                let base = parent.parent().unwrap_or(parent);
                let base_name = base
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if !SAPIS_NOT_BEHIND_NGINX.contains(&base_name.as_str()) {
                    self.ini.insert(file.clone());
                }
            } else if name == "php-fpm.conf" {
                self.fpm_main.insert(file.clone());
            } else if name.ends_with(".conf") && POOL_DIRS.contains(&parent_name.as_str()) {
                self.fpm_pools.insert(file.clone());
            }
        }
    }
}

/// The usual PHP config locations that exist under `sysroot` (`/` for this machine):
/// Debian/Ubuntu `/etc/php/*/fpm`, Alpine `/etc/phpNN`, RHEL `/etc/php-fpm.conf`,
/// `/etc/php-fpm.d`, `/etc/php.ini`, webdevops images' `/opt/docker/etc/php/fpm/php-fpm.conf`,
/// and the Docker php images' `/usr/local/etc/php-fpm.conf`, `/usr/local/etc/php-fpm.d`,
/// `/usr/local/etc/php/php.ini` (plus its `conf.d`, where those images put overrides).
pub fn system_paths(sysroot: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let debian = sysroot.join("etc/php");
    if let Ok(versions) = std::fs::read_dir(&debian) {
        let mut dirs: Vec<PathBuf> = versions
            .flatten()
            .map(|d| d.path().join("fpm"))
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        paths.extend(dirs);
    }
    // Alpine: /etc/php82/php-fpm.conf, /etc/php82/php-fpm.d/, /etc/php82/php.ini.
    if let Ok(entries) = std::fs::read_dir(crate::system::map_under_root(
        Some(sysroot),
        Path::new("/etc"),
    )) {
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix("php")
                    .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(|e| {
                crate::system::map_under_root(Some(sysroot), &Path::new("/etc").join(e.file_name()))
            })
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        paths.extend(dirs);
    }
    for fixed in [
        "etc/php-fpm.conf",
        "opt/docker/etc/php/fpm/php-fpm.conf",
        "etc/php-fpm.d",
        "etc/php.ini",
        "usr/local/etc/php-fpm.conf",
        "usr/local/etc/php-fpm.d",
        "usr/local/etc/php/php.ini",
        "usr/local/etc/php/conf.d",
    ] {
        // Opened as the checked system would: an absolute link in a copied root (Docker images
        // link /usr/local/etc/php-fpm.conf into /opt/docker) is followed inside it.
        let path = crate::system::map_under_root(Some(sysroot), &Path::new("/").join(fixed));
        if path.exists() && !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn maps_absolute_paths_under_root() {
        let root = Path::new("/tmp/sys");
        assert_eq!(
            crate::system::map_under_root(Some(root), Path::new("/etc/php")),
            Path::new("/tmp/sys/etc/php")
        );
        assert_eq!(
            crate::system::map_under_root(Some(root), Path::new("rel/x")),
            Path::new("rel/x")
        );
        assert_eq!(
            crate::system::map_under_root(None, Path::new("/etc/php")),
            Path::new("/etc/php")
        );
    }

    #[test]
    fn finds_the_debian_version_dir() {
        let got = debian_fpm_dir(Path::new("/r/etc/php/8.2/fpm/pool.d/www.conf"));
        assert_eq!(got.as_deref(), Some(Path::new("/r/etc/php/8.2/fpm")));
        assert_eq!(debian_fpm_dir(Path::new("/etc/php-fpm.d/www.conf")), None);
        assert_eq!(
            ini_scope(Path::new("/x/fpm/conf.d/10-opcache.ini")),
            Path::new("/x/fpm")
        );
        assert_eq!(ini_scope(Path::new("/x/fpm/php.ini")), Path::new("/x/fpm"));
    }

    #[test]
    fn system_paths_lists_what_exists() -> std::io::Result<()> {
        let tmp = tempfile::tempdir()?;
        let root = tmp.path();
        assert!(system_paths(root).is_empty());
        fs::create_dir_all(root.join("etc/php/8.2/fpm"))?;
        fs::create_dir_all(root.join("etc/php/7.4/fpm"))?;
        fs::create_dir_all(root.join("etc/php/8.2/cli"))?;
        fs::create_dir_all(root.join("usr/local/etc/php-fpm.d"))?;
        fs::write(root.join("etc/php.ini"), "")?;
        let got = system_paths(root);
        let want = [
            root.join("etc/php/7.4/fpm"),
            root.join("etc/php/8.2/fpm"),
            root.join("etc/php.ini"),
            root.join("usr/local/etc/php-fpm.d"),
        ];
        assert_eq!(got, want);
        Ok(())
    }

    #[test]
    fn discover_reports_unreadable_files_and_never_panics() {
        let setup = discover(&[
            PathBuf::from("/nonexistent-gwlint/php.ini"),
            PathBuf::from("/nonexistent-gwlint/www.conf"),
        ]);
        assert_eq!(setup.problems.len(), 2);
        assert!(setup.inis.is_empty() && setup.fpm.is_empty());
        assert_eq!(setup.all_problems().len(), 2);
    }

    #[test]
    fn docker_layout_one_scope_is_used_for_every_pool() -> std::io::Result<()> {
        let tmp = tempfile::tempdir()?;
        let root = tmp.path();
        let etc = root.join("usr/local/etc");
        fs::create_dir_all(etc.join("php-fpm.d"))?;
        fs::create_dir_all(etc.join("php/conf.d"))?;
        fs::write(
            etc.join("php-fpm.conf"),
            "[global]\ninclude=etc/php-fpm.d/*.conf\n",
        )?;
        fs::write(etc.join("php-fpm.d/www.conf"), "[www]\nlisten = 9000\n")?;
        fs::write(
            etc.join("php-fpm.d/zz-docker.conf"),
            "[global]\ndaemonize = no\n[www]\nlisten = 9000\n",
        )?;
        fs::write(
            etc.join("php/conf.d/uploads.ini"),
            "max_execution_time = 600\n",
        )?;
        let setup = discover_with_root(&system_paths(root), Some(root));
        assert_eq!(
            setup.fpm.len(),
            1,
            "pool files must not be read twice: {setup:#?}"
        );
        let pools: Vec<&Pool> = setup.pools().collect();
        assert_eq!(pools.len(), 1);
        let e = setup.max_execution_time(pools[0]);
        assert_eq!(e.value, 600);
        assert!(
            setup.all_problems().is_empty(),
            "{:#?}",
            setup.all_problems()
        );
        Ok(())
    }
}
