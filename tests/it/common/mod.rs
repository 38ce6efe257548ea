//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod lab;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use nginx_gwlint::syntax::{Ast, ItemRef, Items, LineIndex, Quote};

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What the tests need beyond Rust: ../shared (corpus, lab, schemas), the real nginx, php-fpm
/// and curl. Each accessor returns `None` when it is missing, after printing one line per
/// oracle saying what is skipped and why (once for the whole test binary, however many tests
/// ask); when `CI` is set or
/// `GWLINT_REQUIRE_ORACLES=1`, a missing oracle fails the test instead (CI must never pass by
/// skipping). A fresh clone with only Rust installed thus passes `cargo test --all-targets`.
pub mod oracle {
    use std::io::Write as _;
    use std::path::PathBuf;
    use std::sync::Mutex;

    /// Oracles announced as missing in this test binary (`it`: all the integration tests).
    static ANNOUNCED: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

    /// Missing oracles fail instead of skipping.
    pub fn required() -> bool {
        std::env::var_os("CI").is_some_and(|v| !v.is_empty())
            || std::env::var_os("GWLINT_REQUIRE_ORACLES").is_some_and(|v| v == "1")
    }

    fn missing<T>(what: &'static str, why: String) -> Option<T> {
        if required() {
            panic!("{what} is required (CI or GWLINT_REQUIRE_ORACLES=1 is set): {why}");
        }
        let mut announced = ANNOUNCED.lock().unwrap_or_else(|e| e.into_inner());
        if !announced.contains(&what) {
            announced.push(what);
            let binary = std::env::current_exe()
                .ok()
                .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .map(|s| {
                    s.rsplit_once('-')
                        .map_or(s.clone(), |(name, _)| name.to_owned())
                })
                .unwrap_or_default();
            // Straight to the terminal: the test harness captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "[{binary}] skipped: the tests that need {what}: {why} (CI=1 or GWLINT_REQUIRE_ORACLES=1 makes this a failure)"
            );
        }
        None
    }

    /// `../shared` (corpus, lab, schemas), found by walking up from the crate.
    pub fn shared() -> Option<PathBuf> {
        for dir in super::root().ancestors() {
            let candidate = dir.join("shared");
            if candidate.join("corpus").is_dir() {
                return Some(candidate);
            }
        }
        missing(
            "../shared (corpus, lab, schemas)",
            format!("not found above {}", super::root().display()),
        )
    }

    /// The nginx binary: $NGINX, else `nginx` in /usr/sbin or an absolute PATH entry.
    pub fn nginx() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("NGINX") {
            return Some(PathBuf::from(p));
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::iter::once(PathBuf::from("/usr/sbin"))
            .chain(std::env::split_paths(&path).filter(|d| d.is_absolute()))
            .map(|dir| dir.join("nginx"))
            .find(|p| p.is_file())
            .or_else(|| {
                missing(
                    "the real nginx",
                    "no nginx in /usr/sbin or PATH (apt-get install -y nginx, or set NGINX=/path/to/nginx)".to_owned(),
                )
            })
    }

    /// The newest php-fpm binary: $PHP_FPM, else /usr/sbin/php-fpm*.
    pub fn php_fpm() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("PHP_FPM") {
            return Some(PathBuf::from(p));
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/sbin")
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.is_file()
                            && p.file_name()
                                .is_some_and(|n| n.to_string_lossy().starts_with("php-fpm"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found.pop().or_else(|| {
            missing(
                "php-fpm",
                "no /usr/sbin/php-fpm* (apt-get install -y php-fpm, or set PHP_FPM=/path/to/php-fpm)".to_owned(),
            )
        })
    }

    /// A command on PATH, for the tests that validate the CI files with the tools their
    /// ecosystems publish (`check-jsonschema` with SchemaStore's schemas, `pre-commit`).
    pub fn on_path(command: &'static str, install: &str) -> Option<PathBuf> {
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join(command))
            .find(|p| p.is_file())
            .or_else(|| missing(command, format!("not on PATH ({install})")))
    }

    /// curl, for the lab tests' requests through nginx.
    pub fn curl() -> Option<PathBuf> {
        ["/usr/bin", "/usr/local/bin", "/bin"]
            .iter()
            .map(|d| std::path::Path::new(d).join("curl"))
            .find(|p| p.is_file())
            .or_else(|| {
                missing(
                    "curl",
                    "not in /usr/bin, /usr/local/bin or /bin (apt-get install -y curl)".to_owned(),
                )
            })
    }
}

/// `../shared`, for tests that checked [`oracle::shared`] first.
pub fn shared() -> PathBuf {
    oracle::shared().expect("gate the test with common::oracle::shared() first")
}

/// The nginx binary, for tests that checked [`oracle::nginx`] first.
pub fn nginx_binary() -> PathBuf {
    oracle::nginx().expect("gate the test with common::oracle::nginx() first")
}

/// Result of `nginx -t` on a config file: None when it passes, else (message, line). For tests
/// that checked [`oracle::nginx`] first.
pub fn nginx_test(conf: &Path) -> Option<(String, usize)> {
    nginx_test_with(&nginx_binary(), conf)
}

/// [`nginx_test`] with a given nginx binary.
pub fn nginx_test_with(nginx: &Path, conf: &Path) -> Option<(String, usize)> {
    let dir = conf.parent().unwrap();
    let out = std::process::Command::new(nginx)
        .arg("-t")
        .arg("-p")
        .arg(format!("{}/", dir.display()))
        .arg("-c")
        .arg(conf)
        .arg("-e")
        .arg("stderr")
        .output()
        .expect("run nginx -t");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        return None;
    }
    let line = stderr
        .lines()
        .find(|l| l.contains("[emerg]"))
        .unwrap_or_else(|| panic!("nginx -t failed without [emerg]: {stderr}"));
    let msg = line.split_once("[emerg] ").unwrap().1;
    // Drop the "PID#TID: " prefix of the stderr log shape.
    let msg = match msg.split_once(": ") {
        Some((pid, rest)) if pid.contains('#') => rest,
        _ => msg,
    };
    let (text, loc) = msg.rsplit_once(" in ").unwrap_or((msg, ""));
    let line_no = loc
        .rsplit_once(':')
        .and_then(|(_, n)| n.trim().parse().ok())
        .unwrap_or(0);
    Some((text.to_owned(), line_no))
}

/// The nginx-gwlint binary, for `assert_cmd` tests.
pub fn bin() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("nginx-gwlint").unwrap()
}

/// Writes `text` to `root/rel`, creating its directories; returns the path.
pub fn write(root: &Path, rel: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

/// Copies a fixture tree, symlinks as symlinks (absolute targets unchanged).
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// A readable dump of a tree: one line per node, words with their quoting.
pub fn dump_tree(ast: &Ast, src: &[u8]) -> String {
    let idx = LineIndex::new(src);
    let mut out = String::new();
    fn walk(items: Items<'_>, src: &[u8], idx: &LineIndex, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        for node in items {
            match node {
                ItemRef::Comment(c) => {
                    let (l, col) = idx.line_col(src, c.span().start());
                    let _ = writeln!(out, "{pad}# {:?} @{l}:{col}", c.text());
                }
                ItemRef::Directive(d) => {
                    let (l, col) = idx.line_col(src, d.span().start());
                    let words: Vec<String> = d
                        .args()
                        .iter()
                        .map(|a| {
                            let q = match a.quote() {
                                Quote::None => "",
                                Quote::Single => "s",
                                Quote::Double => "d",
                                Quote::Raw => "raw",
                            };
                            format!("{q}{:?}", a.as_str())
                        })
                        .collect();
                    let _ = write!(out, "{pad}{:?} [{}] @{l}:{col}", d.name(), words.join(", "));
                    for c in d.inner_comments() {
                        let _ = write!(out, " (# {:?})", c.text());
                    }
                    match d.block() {
                        Some(b) => {
                            let _ = writeln!(out, " {{ ({:?})", b.kind());
                            if let Some(raw) = b.raw() {
                                let _ = writeln!(out, "{pad}  raw {:?}", raw.as_str());
                            }
                            walk(b.items(), src, idx, depth + 1, out);
                            let _ = writeln!(out, "{pad}}}");
                        }
                        None => out.push('\n'),
                    }
                }
            }
        }
    }
    walk(ast.items(), src, &idx, 0, &mut out);
    out
}

/// Asserts the tree is lossless: token spans are ordered, do not overlap, and only nginx
/// whitespace lies between them.
pub fn assert_lossless(ast: &Ast, src: &[u8]) {
    let spans = ast.token_spans();
    let mut pos = 0;
    for s in spans {
        assert!(s.start() >= pos, "overlapping spans at {}", s.start());
        let gap = &src[pos..s.start()];
        assert!(
            gap.iter()
                .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')),
            "non-whitespace between tokens at {pos}..{}: {:?}",
            s.start(),
            String::from_utf8_lossy(gap)
        );
        pos = s.end();
    }
    assert!(src[pos..]
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')));
}

/// Compares `actual` with the golden file; `UPDATE_GOLDEN=1` rewrites it.
pub fn golden(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!(
            "golden file {} is missing: run with UPDATE_GOLDEN=1, review, commit",
            path.display()
        )
    });
    assert_eq!(expected, actual, "golden mismatch for {}", path.display());
}

/// `*.conf` files of a directory, sorted.
pub fn conf_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    v.sort();
    v
}

/// Cases per proptest property: `PROPTEST_CASES` when set (long fuzzing sessions), else
/// `default`.
pub fn proptest_cases(default: u32) -> proptest::test_runner::Config {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    proptest::test_runner::Config::with_cases(n)
}
