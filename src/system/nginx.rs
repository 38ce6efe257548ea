//! The nginx binary installed on this machine: where it is (never one inside a checked tree)
//! and what version it reports.

use std::path::{Path, PathBuf};

use crate::directives::Version;

/// Where distributions and nginx's own `make install` put the binary, tried before `PATH`.
pub const NGINX_LOCATIONS: [&str; 3] = [
    "/usr/sbin/nginx",
    "/usr/local/sbin/nginx",
    "/usr/local/nginx/sbin/nginx",
];

/// The installed nginx to ask for its version (and to run `nginx -t` with): the usual install
/// locations first, then `PATH` entries, which count only when absolute (`.` or `bin` in PATH
/// would run whatever the current directory holds), not the current directory itself, and not
/// inside a checked tree or `--sysroot` (a repository's own `./nginx` must never run).
/// Symlinks are resolved before that check.
pub fn installed_nginx(checked: &[PathBuf]) -> Option<PathBuf> {
    let roots: Vec<PathBuf> = checked
        .iter()
        .filter_map(|p| {
            let p = std::fs::canonicalize(p).ok()?;
            // A checked file stands for its directory (the tree around it).
            if p.is_file() {
                p.parent().map(Path::to_path_buf)
            } else {
                Some(p)
            }
        })
        .collect();
    let from_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|dir| dir.is_absolute() && !is_current_dir(dir))
        .map(|dir| dir.join("nginx"));
    NGINX_LOCATIONS
        .iter()
        .map(PathBuf::from)
        .chain(from_path)
        .find(|candidate| {
            let Ok(real) = std::fs::canonicalize(candidate) else {
                return false;
            };
            let executable = std::fs::metadata(&real).is_ok_and(|m| {
                m.is_file()
                    && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
            });
            executable && !roots.iter().any(|root| real.starts_with(root))
        })
}

/// `dir` is the current directory, however spelled (`$PWD` in PATH is `.` in disguise).
fn is_current_dir(dir: &Path) -> bool {
    let (Ok(cwd), Ok(dir)) = (std::env::current_dir(), std::fs::canonicalize(dir)) else {
        return false;
    };
    std::fs::canonicalize(cwd).is_ok_and(|cwd| cwd == dir)
}

/// The version an nginx binary reports (`nginx -v` prints `nginx version: nginx/1.22.1` on
/// stderr; distribution builds may add a suffix such as ` (Ubuntu)`). `nginx -v` runs at most
/// once per binary: the answer is kept in the [`cache_file`] `nginx-versions`, keyed by the
/// binary's real path, device, inode, size, mtime and ctime, so an upgraded or replaced binary
/// is asked again. Without a usable cache directory it simply runs every time.
pub fn detect_nginx_version(binary: &Path) -> Option<Version> {
    ask_once(
        binary,
        VERSIONS,
        |v| v.parse().ok(),
        || {
            let v = run_nginx_v(binary)?;
            Some((v, v.to_string()))
        },
    )
}

/// `binary`'s answer kept in the [`cache_file`] `name` (read back with `read`), else `ask`ed
/// now (the answer and the one line to keep of it) and kept there for the next run.
fn ask_once<T>(
    binary: &Path,
    name: &str,
    read: impl Fn(&str) -> Option<T>,
    ask: impl FnOnce() -> Option<(T, String)>,
) -> Option<T> {
    let key = cache_key(binary);
    let cache = cache_file(name);
    if let (Some(key), Some(cache)) = (&key, &cache) {
        if let Some(known) = cached(cache, key).and_then(|line| read(&line)) {
            return Some(known);
        }
    }
    let (answer, line) = ask()?;
    if let (Some(key), Some(cache)) = (&key, &cache) {
        store(cache, key, &line);
    }
    Some(answer)
}

/// `nginx -v`, asked now.
pub fn run_nginx_v(binary: &Path) -> Option<Version> {
    let out = std::process::Command::new(binary).arg("-v").output().ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    parse_nginx_v(&text)
}

/// The build facts of an nginx binary (`nginx -V`), cached like [`detect_nginx_version`] in
/// `nginx-builds` (the version and the configure arguments: all that [`parse_nginx_build`]
/// reads). Running `nginx -V` takes a few milliseconds, most of a small check's time.
pub fn detect_nginx_build(binary: &Path) -> Option<NginxBuild> {
    ask_once(binary, BUILDS, build_of_answer, || {
        let out = std::process::Command::new(binary).arg("-V").output().ok()?;
        let text = String::from_utf8_lossy(&out.stderr);
        let build = parse_nginx_build(&text)?;
        let line = build_answer(&build, &text);
        Some((build, line))
    })
}

/// What the build cache keeps of `nginx -V` output `text`: the version, a space, and the
/// configure arguments as printed.
fn build_answer(build: &NginxBuild, text: &str) -> String {
    format!("{} {}", build.version, configure_arguments(text))
}

/// The build a cached [`build_answer`] stands for.
fn build_of_answer(answer: &str) -> Option<NginxBuild> {
    let (version, arguments) = answer.split_once(' ')?;
    parse_nginx_build(&format!(
        "nginx version: nginx/{version}\nconfigure arguments:{arguments}\n"
    ))
}

/// The cache of `nginx -v` answers.
const VERSIONS: &str = "nginx-versions";
/// The cache of `nginx -V` answers.
const BUILDS: &str = "nginx-builds";

/// `$XDG_CACHE_HOME/nginx-gwlint/NAME` (an absolute `XDG_CACHE_HOME` only, as the XDG spec
/// says), else `$HOME/.cache/nginx-gwlint/NAME`.
pub fn cache_file(name: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|h| h.join(".cache"))
        })?;
    Some(base.join("nginx-gwlint").join(name))
}

/// One line of a cache without its answer: what identifies this build of the binary.
fn cache_key(binary: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let real = std::fs::canonicalize(binary).ok()?;
    let m = std::fs::metadata(&real).ok()?;
    let path = real.to_str()?;
    if path.contains(['\t', '\n']) {
        return None;
    }
    Some(format!(
        "{path}\t{}\t{}\t{}\t{}.{}\t{}.{}",
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    ))
}

/// The answer a cache holds for `key`.
fn cached(cache: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(cache).ok()?;
    text.lines().find_map(|line| {
        let (k, v) = line.split_at_checked(key.len())?;
        (k == key).then(|| v.strip_prefix('\t').map(str::to_owned))?
    })
}

/// Records `key`'s answer (one line, no tab), replacing the file atomically
/// ([`crate::temp::create_beside`]); entries for other binaries are kept (the last 64).
/// Failing to write is not an error, and an answer that does not fit on one line is not kept.
fn store(cache: &Path, key: &str, answer: &str) {
    use std::io::Write;
    if answer.contains(['\t', '\n', '\r']) {
        return;
    }
    let Some(dir) = cache.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let old = std::fs::read_to_string(cache).unwrap_or_default();
    let path_of = |line: &str| line.split('\t').next().map(str::to_owned);
    let this_path = path_of(key);
    let mut lines: Vec<&str> = old
        .lines()
        .filter(|l| l.contains('\t') && path_of(l) != this_path)
        .collect();
    let skip = lines.len().saturating_sub(63);
    lines.drain(..skip);
    let mut text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    text.push_str(&format!("{key}\t{answer}\n"));
    let Ok((tmp, mut file)) = crate::temp::create_beside(cache) else {
        return;
    };
    let written = file.write_all(text.as_bytes());
    drop(file);
    if written.and_then(|()| std::fs::rename(&tmp, cache)).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// The version in `nginx -v` output.
pub fn parse_nginx_v(text: &str) -> Option<Version> {
    let rest = text.split("nginx/").nth(1)?;
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    version.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod version_tests {
    use super::*;

    #[test]
    fn version_cache_keeps_one_line_per_binary() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("sub/nginx-versions");
        let bin = dir.path().join("nginx");
        std::fs::write(&bin, "x").unwrap();
        let key = cache_key(&bin).unwrap();
        assert_eq!(cached(&cache, &key), None);
        store(&cache, &key, "1.22.1");
        store(&cache, "/other\t1\t2\t3\t4.5\t6.7", "1.2.3");
        assert_eq!(cached(&cache, &key).as_deref(), Some("1.22.1"));
        // The binary replaced: a new key for the same path, which replaces the old line.
        std::fs::write(&bin, "xy").unwrap();
        let new_key = cache_key(&bin).unwrap();
        assert_ne!(key, new_key);
        assert_eq!(cached(&cache, &new_key), None);
        store(&cache, &new_key, "1.24.0");
        let text = std::fs::read_to_string(&cache).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert_eq!(cached(&cache, &new_key).as_deref(), Some("1.24.0"));
        // An answer with spaces is kept whole; one that is not one line is not kept.
        store(
            &cache,
            &key,
            "1.22.1 --prefix=/usr/share/nginx --with-cc-opt='-g -O2'",
        );
        assert_eq!(
            cached(&cache, &key).as_deref(),
            Some("1.22.1 --prefix=/usr/share/nginx --with-cc-opt='-g -O2'")
        );
        store(&cache, "/third\t1\t2\t3\t4.5\t6.7", "a\tb");
        assert_eq!(cached(&cache, "/third\t1\t2\t3\t4.5\t6.7"), None);
    }

    #[test]
    fn nginx_v_output() {
        let v = parse_nginx_v("nginx version: nginx/1.22.1\n").map(|v| v.to_string());
        assert_eq!(v.as_deref(), Some("1.22.1"));
        let v = parse_nginx_v("nginx version: nginx/1.24.0 (Ubuntu)\n").map(|v| v.to_string());
        assert_eq!(v.as_deref(), Some("1.24.0"));
        assert!(parse_nginx_v("openresty/1.21.4.1").is_none());
    }
}

/// Where an nginx build reads its files from, as `nginx -V` prints its configure arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NginxBuild {
    /// `--prefix` (nginx's default `/usr/local/nginx`): relative `load_module` paths and `-p`.
    pub prefix: PathBuf,
    /// `--conf-path` (default `PREFIX/conf/nginx.conf`; relative ones are under the prefix):
    /// the configuration the binary reads without `-c`.
    pub conf_path: PathBuf,
    /// The stock modules built as dynamic modules (`--with-X=dynamic`): their directives are
    /// unknown until a `load_module` loads the file.
    pub dynamic: Vec<DynamicModule>,
    /// `--user` / `--group`: the workers' account without a `user` directive. Unset, nginx's
    /// compiled-in default is nobody (auto/unix: `NGX_USER=${NGX_USER:-nobody}`), with the group
    /// nobody or nogroup, whichever the build machine's /etc/group has.
    pub user: Option<String>,
    pub group: Option<String>,
    /// The version (`nginx version: nginx/1.22.1`).
    pub version: Version,
    /// `--with-file-aio`: without it NGX_HAVE_FILE_AIO is unset and `aio on;` is refused
    /// ("\"aio on\" is unsupported on this platform", ngx_http_core_set_aio).
    pub file_aio: bool,
    /// `--with-threads`: without it `aio threads` is refused the same way and `thread_pool` is
    /// no directive.
    pub threads: bool,
}

/// A stock module nginx was configured to build as a loadable file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamicModule {
    /// The file name without `.so`, as `load_module` names it (`ngx_stream_module`).
    pub file: String,
    /// The modules inside: one (`ngx_http_geoip_module`), or every module whose name starts
    /// with a prefix (`--with-stream=dynamic` puts the stream core and its stock modules in
    /// `ngx_stream_module.so`, except those configured as dynamic on their own).
    pub family: bool,
    pub module: String,
}

impl NginxBuild {
    /// The dynamic module file that holds `module`, if it is one.
    pub fn dynamic_file_of(&self, module: &str) -> Option<&DynamicModule> {
        self.dynamic
            .iter()
            .find(|d| !d.family && d.module == module)
            .or_else(|| {
                self.dynamic
                    .iter()
                    .find(|d| d.family && module.starts_with(&d.module))
            })
    }
}

/// `--with-X=dynamic` as the module file it builds (auto/options, auto/modules).
fn dynamic_module(option: &str) -> Option<DynamicModule> {
    let what = option.strip_prefix("--with-")?.strip_suffix("=dynamic")?;
    Some(match what {
        "stream" | "mail" => DynamicModule {
            file: format!("ngx_{what}_module"),
            family: true,
            module: format!("ngx_{what}_"),
        },
        // The XSLT module's name has `_filter` in it (ngx_http_xslt_filter_module.so).
        "http_xslt_module" => DynamicModule {
            file: "ngx_http_xslt_filter_module".to_owned(),
            family: false,
            module: "ngx_http_xslt_filter_module".to_owned(),
        },
        m if m.ends_with("_module") => DynamicModule {
            file: format!("ngx_{m}"),
            family: false,
            module: format!("ngx_{m}"),
        },
        _ => return None,
    })
}

/// The build facts of the installed nginx (`nginx -V`), asked once per process.
pub fn installed_build(checked: &[PathBuf]) -> Option<NginxBuild> {
    static BUILD: std::sync::OnceLock<Option<NginxBuild>> = std::sync::OnceLock::new();
    BUILD
        .get_or_init(|| detect_nginx_build(&installed_nginx(checked)?))
        .clone()
}

/// The `configure arguments:` of `nginx -V` output (after the colon; empty without them).
fn configure_arguments(text: &str) -> &str {
    text.lines()
        .find_map(|l| l.strip_prefix("configure arguments:"))
        .unwrap_or_default()
}

/// The prefix and configuration path in `nginx -V` output (`configure arguments: ...`), with
/// nginx's defaults (auto/options: `NGX_PREFIX=/usr/local/nginx`, `NGX_CONF_PATH=conf/nginx.conf`
/// relative to the prefix). `None` when the text is no `nginx -V` output.
pub fn parse_nginx_build(text: &str) -> Option<NginxBuild> {
    let version = parse_nginx_v(text)?;
    let arguments = configure_arguments(text);
    let option = |name: &str| {
        arguments
            .split_whitespace()
            .find_map(|a| a.strip_prefix(name)?.strip_prefix('='))
            .map(|v| v.trim_matches(|c| c == '\'' || c == '"'))
    };
    let prefix = PathBuf::from(option("--prefix").unwrap_or("/usr/local/nginx"));
    let conf = Path::new(option("--conf-path").unwrap_or("conf/nginx.conf"));
    let dynamic = arguments
        .split_whitespace()
        .filter_map(dynamic_module)
        .collect();
    Some(NginxBuild {
        conf_path: prefix.join(conf),
        prefix,
        dynamic,
        user: option("--user").map(str::to_owned),
        group: option("--group").map(str::to_owned),
        version,
        file_aio: arguments.split_whitespace().any(|a| a == "--with-file-aio"),
        threads: arguments.split_whitespace().any(|a| a == "--with-threads"),
    })
}

/// Where an nginx binary sits in a system root, in the order packages and `make install` put it.
const BINARY_PATHS: [&str; 4] = [
    "/usr/sbin/nginx",
    "/usr/local/sbin/nginx",
    "/usr/local/nginx/sbin/nginx",
    "/usr/bin/nginx",
];

/// The build facts of the nginx binary inside a copied system root (`--sysroot`), read from the
/// binary's own bytes: nginx keeps the text `nginx -V` prints, `"configure arguments:"
/// NGX_CONFIGURE` and `NGINX_VER` ("nginx/1.22.1"), as string literals (src/core/nginx.c,
/// ngx_show_version_info). Nothing is run. `None` when the root has no readable nginx binary.
pub fn sysroot_build(root: &Path) -> Option<(PathBuf, NginxBuild)> {
    // Several rules ask; the binary is read once per root and process.
    type Cache =
        std::sync::Mutex<std::collections::HashMap<PathBuf, Option<(PathBuf, NginxBuild)>>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = match cache.lock() {
        Ok(c) => c,
        Err(poisoned) => poisoned.into_inner(),
    };
    cache
        .entry(root.to_path_buf())
        .or_insert_with(|| read_sysroot_build(root))
        .clone()
}

/// [`sysroot_build`] without the cache.
fn read_sysroot_build(root: &Path) -> Option<(PathBuf, NginxBuild)> {
    /// Bigger than any nginx binary (Debian's is 1.3 MB): a larger file is not read.
    const MAX_BINARY: u64 = 64 << 20;
    let sysroot = crate::config::Sysroot::new(root);
    for path in BINARY_PATHS {
        let Ok(on_disk) = sysroot.resolve(Path::new(path)) else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(&on_disk) else {
            continue;
        };
        if !meta.is_file() || meta.len() > MAX_BINARY {
            continue;
        }
        let Ok(bytes) = std::fs::read(&on_disk) else {
            continue;
        };
        if let Some(build) = build_from_binary(&bytes) {
            return Some((PathBuf::from(path), build));
        }
    }
    None
}

/// [`sysroot_build`]'s reading of a binary's bytes.
fn build_from_binary(bytes: &[u8]) -> Option<NginxBuild> {
    let literal = |at: usize| {
        let rest = &bytes[at..];
        let end = rest
            .iter()
            .position(|b| *b == 0 || *b == b'\n')
            .unwrap_or(rest.len());
        String::from_utf8_lossy(&rest[..end]).into_owned()
    };
    let arguments = memchr::memmem::find(bytes, b"configure arguments:").map(literal)?;
    // NGINX_VER: "nginx/" and a version, among the binary's strings.
    let version = memchr::memmem::find_iter(bytes, b"nginx/")
        .map(literal)
        .find(|s| s[6..].starts_with(|c: char| c.is_ascii_digit()))?;
    parse_nginx_build(&format!("nginx version: {version}\n{arguments}\n"))
}

#[cfg(test)]
mod build_tests {
    use super::*;

    #[test]
    fn a_binary_keeps_its_version_and_configure_arguments() {
        let mut bytes = b"\x7fELF\0\0junk\0Server: nginx/1.24.0\r\n\0nginx/\0".to_vec();
        bytes.extend_from_slice(b"nginx/1.24.0\0configure arguments: --prefix=/etc/nginx --conf-path=/etc/nginx/nginx.conf --user=nginx --group=nginx --with-stream=dynamic\n\0tail");
        let Some(build) = build_from_binary(&bytes) else {
            panic!("no build read");
        };
        assert_eq!(build.version, Version::new(1, 24, 0));
        assert_eq!(build.user.as_deref(), Some("nginx"));
        assert_eq!(build.group.as_deref(), Some("nginx"));
        assert_eq!(build.conf_path, PathBuf::from("/etc/nginx/nginx.conf"));
        assert!(build.dynamic_file_of("ngx_stream_proxy_module").is_some());
        assert!(!build.file_aio && !build.threads);
        assert!(build_from_binary(b"no nginx here").is_none());
    }

    #[test]
    fn nginx_capital_v_output() {
        let debian = "nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.9 30 May 2023\nTLS SNI support enabled\nconfigure arguments: --with-cc-opt='-g -O2' --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --modules-path=/usr/lib/nginx/modules --with-http_xslt_module=dynamic --with-stream=dynamic --with-stream_geoip_module=dynamic --with-stream_ssl_module\n";
        let Some(build) = parse_nginx_build(debian) else {
            panic!("Debian's nginx -V output");
        };
        assert_eq!(build.prefix, PathBuf::from("/usr/share/nginx"));
        assert_eq!(build.conf_path, PathBuf::from("/etc/nginx/nginx.conf"));
        let file = |m: &str| build.dynamic_file_of(m).map(|d| d.file.as_str());
        assert_eq!(file("ngx_stream_proxy_module"), Some("ngx_stream_module"));
        assert_eq!(file("ngx_stream_module"), Some("ngx_stream_module"));
        assert_eq!(
            file("ngx_stream_geoip_module"),
            Some("ngx_stream_geoip_module")
        );
        assert_eq!(
            file("ngx_http_xslt_filter_module"),
            Some("ngx_http_xslt_filter_module")
        );
        assert_eq!(file("ngx_http_proxy_module"), None);
        let source = "nginx version: nginx/1.27.3\nconfigure arguments: --with-http_ssl_module\n";
        assert_eq!(
            parse_nginx_build(source).map(|b| b.conf_path),
            Some(PathBuf::from("/usr/local/nginx/conf/nginx.conf"))
        );
        assert!(parse_nginx_build("bash: nginx: command not found").is_none());
    }

    #[test]
    fn a_cached_build_is_the_build() {
        for text in [
            "nginx version: nginx/1.24.0 (Ubuntu)\nbuilt with OpenSSL 3.0.13\nconfigure arguments: --with-cc-opt='-g -O2 -fstack-protector' --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --user=www-data --with-threads --with-file-aio --with-stream=dynamic\n",
            "nginx version: nginx/1.27.3\n",
            "nginx version: nginx/1.25.1\nconfigure arguments:\n",
        ] {
            let Some(build) = parse_nginx_build(text) else {
                panic!("{text}");
            };
            let answer = build_answer(&build, text);
            assert!(!answer.contains(['\t', '\n']), "{answer}");
            assert_eq!(build_of_answer(&answer), Some(build), "{answer}");
        }
        assert_eq!(build_of_answer("garbage"), None);
    }
}
