//! `check --fix`, `--diff`, `--unsafe-fixes`, `--verify-with` through the binary.
//!
//! The first group covers paths where there is nothing to fix, usage errors, parse errors,
//! dumps. The second group needs at least one rule that offers a safe fix for [`FIXABLE_SITE`]
//! (GW101, GW207 or GW402; GW101 does today); it checks properties of fixing that hold whatever
//! the rule: files change and re-parse, a second run is a no-op, `--diff` equals `--fix`, CRLF,
//! symlinks, mode and owner, dumps, nginx -t before and after. Each of those asserts that
//! something was fixed, so they fail loudly rather than pass vacuously if no rule fixes the
//! site any more.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use crate::common;
use crate::common::{bin, write};

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use predicates::prelude::*;

const MAIN: &str = "events {}\nhttp {\n    include sites-enabled/*;\n}\n";

/// A site whose findings have fixes RULES.md marks safe: GW101 (`proxy_read_timeout` in a
/// fastcgi location), GW207 (upstream keep-alive without HTTP/1.1 and an empty Connection
/// header), GW402 (Upgrade passed without HTTP/1.1). nginx -t accepts it as it is.
const FIXABLE_SITE: &str = "upstream app {
    server 127.0.0.1:3000;
    keepalive 16;
}

server {
    listen 8080;
    server_name app.example.com;   # the app

    location / {
        proxy_pass http://app;
    }

    location /ws/ {
        proxy_pass http://127.0.0.1:3001;
        proxy_set_header Upgrade $http_upgrade;
    }

    location ~ \\.php$ {
        fastcgi_pass 127.0.0.1:9000;
        proxy_read_timeout 300s;
    }
}
";

/// nginx.conf + sites-enabled/app.conf (a plain file).
fn fixable_tree(site: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "nginx.conf", MAIN);
    write(dir.path(), "sites-enabled/app.conf", site);
    dir
}

/// The `N fixed` / `N would be fixed` count of the summary line on stderr.
fn fixed_count(stderr: &[u8]) -> usize {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .rev()
        .find(|l| l.contains(" remaining"))
        .unwrap_or_else(|| panic!("no summary line in stderr: {text}"));
    line.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("bad summary line: {line}"))
}

fn fix(dir: &Path) -> std::process::Output {
    bin()
        .args(["check", "--fix", "--format", "concise"])
        .arg(dir)
        .output()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Runs today.

#[test]
fn fix_on_a_clean_tree_writes_nothing() {
    let dir = fixable_tree("server { listen 8080; }\n");
    let conf = dir.path().join("sites-enabled/app.conf");
    let before = std::fs::metadata(&conf).unwrap();
    bin()
        .args(["check", "--fix", "--format", "concise"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout("")
        .stderr(predicate::str::contains("0 fixed, 0 remaining"));
    let after = std::fs::metadata(&conf).unwrap();
    assert_eq!(before.ino(), after.ino(), "the file was replaced");
    assert_eq!(before.mtime_nsec(), after.mtime_nsec());
}

#[test]
fn diff_with_nothing_to_fix_prints_nothing_and_exits_as_check() {
    let dir = fixable_tree("server { include missing.conf; }\n");
    bin()
        .args(["check", "--diff"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("0 would be fixed, 1 remaining"));
}

#[test]
fn fix_reports_remaining_findings_in_the_chosen_format() {
    let dir = fixable_tree("server { include missing.conf; }\n");
    let out = bin()
        .args(["check", "--fix", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["diagnostics"][0]["rule"], "GW002");
}

#[test]
fn fix_and_diff_conflict() {
    let dir = fixable_tree("server { listen 8080; }\n");
    bin()
        .args(["check", "--fix", "--diff"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

#[test]
fn verify_with_needs_fix_or_diff() {
    let dir = fixable_tree("server { listen 8080; }\n");
    bin()
        .args(["check", "--verify-with", "/usr/sbin/nginx"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--verify-with needs --fix or --diff",
        ));
}

#[test]
fn verify_with_is_not_run_when_nothing_changes() {
    let dir = fixable_tree("server { listen 8080; }\n");
    bin()
        .args(["check", "--fix", "--verify-with", "/nonexistent/nginx"])
        .arg(dir.path())
        .assert()
        .code(0);
}

#[test]
fn fix_on_a_tree_that_does_not_parse_writes_nothing() {
    let dir = fixable_tree(FIXABLE_SITE);
    write(dir.path(), "sites-enabled/broken.conf", "server {\n");
    bin()
        .args(["check", "--fix", "--unsafe-fixes", "--format", "concise"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout(predicate::str::contains("GW001"))
        .stderr(predicate::str::contains("nothing fixed"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("sites-enabled/app.conf")).unwrap(),
        FIXABLE_SITE
    );
}

#[test]
fn fix_on_a_dump_with_nothing_to_fix() {
    let dump = "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp { server { listen 8080; } }\n";
    bin()
        .args(["check", "--fix", "-"])
        .write_stdin(dump)
        .assert()
        .code(0)
        .stdout("")
        .stderr(predicate::str::contains("0 would be fixed, 0 remaining"));
}

/// Every example stays accepted by nginx -t after `--fix --unsafe-fixes`, the fix run itself
/// passes `--verify-with`, and a second run fixes nothing.
#[test]
fn examples_stay_valid_for_nginx_after_fixing() {
    if common::oracle::nginx().is_none() {
        return;
    }
    let nginx = common::nginx_binary();
    for (example, main) in [
        ("grpc", "nginx.conf"),
        ("node-proxy", "nginx.conf"),
        ("php-fpm-wordpress", "etc/nginx/nginx.conf"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(common::root().join("examples").join(example))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let conf = dir.path().join(example).join(main);
        assert_eq!(common::nginx_test(&conf), None, "{example} before fixing");
        let out = bin()
            .args(["check", "--fix", "--unsafe-fixes", "--format", "concise"])
            .arg("--verify-with")
            .arg(&nginx)
            .arg(&conf)
            .output()
            .unwrap();
        assert_ne!(
            out.status.code(),
            Some(2),
            "{example}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(common::nginx_test(&conf), None, "{example} after fixing");
        let again = bin()
            .args(["check", "--fix", "--unsafe-fixes", "--format", "concise"])
            .arg(&conf)
            .output()
            .unwrap();
        assert_eq!(fixed_count(&again.stderr), 0, "{example}: second run");
    }
}

// ---------------------------------------------------------------------------------------------
// Needs a rule with a safe fix for FIXABLE_SITE (GW101, GW207 or GW402; GW101 does today).

#[test]
fn fix_writes_reparses_and_a_second_run_is_a_no_op() {
    let dir = fixable_tree(FIXABLE_SITE);
    let conf = dir.path().join("sites-enabled/app.conf");
    let first = fix(dir.path());
    assert_ne!(first.status.code(), Some(2));
    assert!(fixed_count(&first.stderr) > 0);
    let fixed = std::fs::read(&conf).unwrap();
    assert_ne!(fixed, FIXABLE_SITE.as_bytes());
    assert!(nginx_gwlint::syntax::parse(&fixed).is_ok());
    // The comment and the untouched lines are still there, byte for byte.
    let fixed_text = String::from_utf8(fixed.clone()).unwrap();
    assert!(fixed_text.contains("    server_name app.example.com;   # the app\n"));
    assert!(fixed_text.starts_with("upstream app {\n    server 127.0.0.1:3000;\n"));

    let second = fix(dir.path());
    assert_eq!(fixed_count(&second.stderr), 0);
    assert_eq!(std::fs::read(&conf).unwrap(), fixed);
}

#[test]
fn diff_writes_nothing_and_patching_with_it_equals_fix() {
    let diff_dir = fixable_tree(FIXABLE_SITE);
    let out = bin()
        .args(["check", "--diff"])
        .arg(diff_dir.path())
        .output()
        .unwrap();
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(
        diff.starts_with("--- a/sites-enabled/app.conf\n+++ b/sites-enabled/app.conf\n"),
        "{diff}"
    );
    assert!(fixed_count(&out.stderr) > 0);
    let conf = diff_dir.path().join("sites-enabled/app.conf");
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), FIXABLE_SITE);

    let mut patch = std::process::Command::new("patch")
        .args(["-p1", "--quiet"])
        .current_dir(diff_dir.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    patch
        .stdin
        .take()
        .unwrap()
        .write_all(diff.as_bytes())
        .unwrap();
    assert!(patch.wait().unwrap().success());

    let fix_dir = fixable_tree(FIXABLE_SITE);
    fix(fix_dir.path());
    assert_eq!(
        std::fs::read(&conf).unwrap(),
        std::fs::read(fix_dir.path().join("sites-enabled/app.conf")).unwrap()
    );
}

#[test]
fn nginx_accepts_the_tree_before_and_after() {
    if common::oracle::nginx().is_none() {
        return;
    }
    let dir = fixable_tree(FIXABLE_SITE);
    let conf = dir.path().join("nginx.conf");
    assert_eq!(common::nginx_test(&conf), None);
    let out = bin()
        .args(["check", "--fix", "--format", "concise", "--verify-with"])
        .arg(common::nginx_binary())
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(fixed_count(&out.stderr) > 0);
    assert_eq!(common::nginx_test(&conf), None);
}

#[test]
fn crlf_files_stay_crlf() {
    let crlf = FIXABLE_SITE.replace('\n', "\r\n");
    let dir = fixable_tree(&crlf);
    let out = fix(dir.path());
    assert!(fixed_count(&out.stderr) > 0);
    let text = std::fs::read_to_string(dir.path().join("sites-enabled/app.conf")).unwrap();
    assert_ne!(text, crlf);
    assert_eq!(
        text.matches('\n').count(),
        text.matches("\r\n").count(),
        "bare LF in {text:?}"
    );
}

#[test]
fn a_file_without_final_newline_keeps_it_that_way() {
    let site = FIXABLE_SITE.trim_end();
    let dir = fixable_tree(site);
    let out = fix(dir.path());
    assert!(fixed_count(&out.stderr) > 0);
    let text = std::fs::read_to_string(dir.path().join("sites-enabled/app.conf")).unwrap();
    assert!(text.ends_with('}') && text != site, "{text:?}");
}

#[test]
fn symlinks_are_written_through_and_mode_and_owner_kept() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "nginx.conf", MAIN);
    let target = write(dir.path(), "sites-available/app.conf", FIXABLE_SITE);
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    if root {
        std::os::unix::fs::chown(&target, Some(4321), Some(8765)).unwrap();
    }
    let owner = {
        let m = std::fs::metadata(&target).unwrap();
        (m.uid(), m.gid())
    };
    let link = dir.path().join("sites-enabled/app.conf");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("../sites-available/app.conf", &link).unwrap();

    let out = fix(dir.path());
    assert!(fixed_count(&out.stderr) > 0);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_ne!(std::fs::read_to_string(&target).unwrap(), FIXABLE_SITE);
    let m = std::fs::metadata(&target).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o640);
    assert_eq!((m.uid(), m.gid()), owner);
    let names: Vec<_> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "temp files left: {names:?}");
}

#[test]
fn a_file_included_twice_is_written_once() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp {\n    include sites-available/app.conf;\n    include sites-enabled/*;\n}\n",
    );
    // Two different server_names would be needed for nginx; the linter does not care.
    let target = write(dir.path(), "sites-available/app.conf", FIXABLE_SITE);
    std::fs::create_dir_all(dir.path().join("sites-enabled")).unwrap();
    std::os::unix::fs::symlink(
        "../sites-available/app.conf",
        dir.path().join("sites-enabled/app.conf"),
    )
    .unwrap();
    let single = fixable_tree(FIXABLE_SITE);
    fix(single.path());
    let out = fix(dir.path());
    assert!(fixed_count(&out.stderr) > 0);
    assert_eq!(
        std::fs::read(&target).unwrap(),
        std::fs::read(single.path().join("sites-enabled/app.conf")).unwrap()
    );
}

#[test]
fn a_dump_on_stdin_gets_a_diff_and_nothing_is_written() {
    let dump = format!(
        "# configuration file /etc/nginx/nginx.conf:\n{MAIN}\n# configuration file /etc/nginx/sites-enabled/app.conf:\n{FIXABLE_SITE}\n"
    );
    let out = bin()
        .args(["check", "--fix", "-"])
        .write_stdin(dump)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("--- a/sites-enabled/app.conf\n"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(fixed_count(&out.stderr) > 0);
}

#[test]
fn a_rejecting_nginx_means_nothing_is_written() {
    let dir = fixable_tree(FIXABLE_SITE);
    let fake = write(
        dir.path(),
        "fake-nginx",
        "#!/bin/sh\necho \"nginx: [emerg] refused by the fake nginx ($*)\" >&2\nexit 1\n",
    );
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin()
        .args(["check", "--fix", "--verify-with"])
        .arg(&fake)
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "refused by the fake nginx (-t -p ",
        ))
        .stderr(predicate::str::contains("-e /dev/null"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("sites-enabled/app.conf")).unwrap(),
        FIXABLE_SITE
    );
}

#[test]
fn a_read_only_target_is_a_clear_error_and_nothing_is_written() {
    let dir = fixable_tree(FIXABLE_SITE);
    let conf = dir.path().join("sites-enabled/app.conf");
    let Some(_guard) = ReadOnlyDir::new(conf.parent().unwrap()) else {
        return;
    };
    let out = fix(dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nothing written"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), FIXABLE_SITE);
}

#[test]
fn the_examples_have_fixes() {
    let mut total = 0;
    for conf in [
        "examples/grpc/nginx.conf",
        "examples/node-proxy/nginx.conf",
        "examples/php-fpm-wordpress/etc/nginx/nginx.conf",
    ] {
        let out = bin()
            .args(["check", "--diff", "--unsafe-fixes"])
            .arg(common::root().join(conf))
            .output()
            .unwrap();
        total += fixed_count(&out.stderr);
    }
    assert!(total > 0);
}

/// A directory no one can create files in while this lives: mode 0555, and for root (who
/// ignores modes) the immutable attribute as well (`chattr +i`, ext4/xfs/btrfs).
struct ReadOnlyDir(PathBuf, bool);

impl ReadOnlyDir {
    /// `None` (with a line saying so) when root cannot make `dir` immutable: overlayfs and tmpfs
    /// have no `chattr +i`, and root ignores modes. A property of the file system, not an
    /// oracle CI could install, so it is never a failure.
    fn new(dir: &Path) -> Option<Self> {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
        if root {
            let ok = std::process::Command::new("chattr")
                .arg("+i")
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
                eprintln!(
                    "cli_fix: skipped a read-only target: running as root, `chattr +i` fails on {} (a file system without attributes)",
                    dir.display()
                );
                return None;
            }
        }
        Some(Self(dir.to_path_buf(), root))
    }
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        if self.1 {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.0)
                .status();
        }
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}
