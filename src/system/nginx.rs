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
/// stderr; distribution builds may add a suffix such as ` (Ubuntu)`).
pub fn detect_nginx_version(binary: &Path) -> Option<Version> {
    let out = std::process::Command::new(binary).arg("-v").output().ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    parse_nginx_v(&text)
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
mod version_tests {
    use super::*;

    #[test]
    fn nginx_v_output() {
        let v = parse_nginx_v("nginx version: nginx/1.22.1\n").map(|v| v.to_string());
        assert_eq!(v.as_deref(), Some("1.22.1"));
        let v = parse_nginx_v("nginx version: nginx/1.24.0 (Ubuntu)\n").map(|v| v.to_string());
        assert_eq!(v.as_deref(), Some("1.24.0"));
        assert!(parse_nginx_v("openresty/1.21.4.1").is_none());
    }
}
