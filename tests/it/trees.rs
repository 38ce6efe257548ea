//! Which files nginx reads, and "cannot tell" where a file was not read (issue #14).
//!
//! - `--sysroot` on real layouts (`tests/fixtures/trees/`): Debian (absolute sites-enabled links,
//!   /var/run -> /run), RHEL (conf.d + php-fpm.d, /var/run -> ../run), a hosting panel under
//!   /www/server, a Docker image under /opt/docker (nginx.conf and php-fpm.conf linked there),
//!   Alpine (/etc/php82); nothing outside the sysroot is read, ever.
//! - include globs: dangling links and unlistable folders are errors, as in `nginx -t`.
//! - stock files from this machine's package: said, and listed in the JSON `external_files`.
//! - "cannot tell": unread includes make GW204/GW208 info, never errors.
//! - single site files, checked in the http/server context with the prefix found above them.
//! - stream upstreams and proxy_pass in GW201 and `--probe`; `down`/`backup` servers.
//! - the precision items of the issue (GW010, GW102, GW201, GW204, GW208, GW303, --php).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use nginx_gwlint::backends::{self, PhpSetup};
use nginx_gwlint::config::{
    load_dump, load_path_opts, LoadOptions, Overlay, ResolvedConfig, Scoped,
};
use nginx_gwlint::diagnostic::{Diagnostic, Severity};
use nginx_gwlint::directives::Context;
use nginx_gwlint::lint::{lint, Selection};
use nginx_gwlint::report;
use nginx_gwlint::settings::Settings;
use nginx_gwlint::workspace::Workspace;

use crate::common::copy_tree;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/trees")
        .join(name)
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nginx-gwlint"))
}

/// What `check --sysroot ROOT [MAIN]` sees: the tree, the PHP side, every finding.
fn check_sysroot(root: &Path, main: Option<&Path>) -> (Workspace, Vec<Diagnostic>) {
    let path = main.map_or_else(|| root.join("etc/nginx"), Path::to_path_buf);
    let options = LoadOptions {
        sysroot: Some(root.to_path_buf()),
        ..LoadOptions::default()
    };
    let tree = load_path_opts(&path, &Overlay::default(), &options).unwrap();
    let php = backends::discover_with_root(&backends::system_paths(root), Some(root));
    let ws = Workspace::new(tree, php, Some(root.to_path_buf()));
    let diagnostics = lint(&ws, &Settings::defaults().unwrap(), &Selection::default());
    (ws, diagnostics)
}

fn check_path(path: &Path, options: &LoadOptions) -> (Workspace, Vec<Diagnostic>) {
    let tree = load_path_opts(path, &Overlay::default(), options).unwrap();
    let ws = Workspace::new(tree, PhpSetup::default(), None);
    let diagnostics = lint(&ws, &Settings::defaults().unwrap(), &Selection::default());
    (ws, diagnostics)
}

fn concise(ws: &Workspace, diagnostics: &[Diagnostic]) -> String {
    report::render_concise(&ws.tree.sources, diagnostics)
}

fn of_rule<'d>(diagnostics: &'d [Diagnostic], rule: &str) -> Vec<&'d Diagnostic> {
    diagnostics.iter().filter(|d| d.rule == rule).collect()
}

fn errors(diagnostics: &[Diagnostic]) -> Vec<&Diagnostic> {
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

/// Every file read, as paths on this machine.
fn read_paths(ws: &Workspace) -> Vec<PathBuf> {
    ws.tree
        .nginx_files
        .iter()
        .map(|id| ws.tree.sources.get(*id).path.clone())
        .chain(ws.php.fpm.iter().flat_map(|f| f.files.iter().cloned()))
        .chain(ws.php.inis.iter().map(|i| i.path.clone()))
        .collect()
}

/// FNV-1a over every regular file under `dir` (path and bytes), links by their target.
fn checksum(dir: &Path) -> BTreeMap<PathBuf, u64> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .flatten()
    {
        let bytes = if entry.path_is_symlink() {
            std::fs::read_link(entry.path())
                .map(|t| t.into_os_string().into_encoded_bytes())
                .unwrap_or_default()
        } else if entry.file_type().is_file() {
            std::fs::read(entry.path()).unwrap_or_default()
        } else {
            continue;
        };
        let mut h: u64 = 0xcbf29ce484222325;
        for b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
        out.insert(entry.path().to_path_buf(), h);
    }
    out
}

// ---------------------------------------------------------------- sysroot layouts

#[test]
fn debian_sysroot_reads_its_own_linked_site_and_var_run_is_run() {
    let root = fixture("debian");
    let (ws, diagnostics) = check_sysroot(&root, None);
    let text = concise(&ws, &diagnostics);
    // sites-enabled/default -> /etc/nginx/sites-available/default: the sysroot's file.
    let default = ws
        .tree
        .nginx_files
        .iter()
        .map(|id| ws.tree.sources.get(*id))
        .find(|f| f.display.ends_with("sites-enabled/default"))
        .expect("sites-enabled/default read");
    assert!(
        String::from_utf8_lossy(&default.text).contains("sysroot-debian.example"),
        "this machine's default site was read instead of the sysroot's"
    );
    assert!(default.path.ends_with("etc/nginx/sites-available/default"));
    // Its snippet (relative to the prefix) and the php-fpm pool are the sysroot's too.
    assert!(read_paths(&ws)
        .iter()
        .any(|p| p.ends_with("etc/nginx/snippets/fastcgi-php.conf")));
    assert_eq!(ws.php.pools().count(), 1, "{:#?}", ws.php);
    // `fastcgi_pass unix:/var/run/php/php8.2-fpm.sock` reaches the pool on /run/php/...
    assert!(of_rule(&diagnostics, "GW301").is_empty(), "{text}");
    assert!(errors(&diagnostics).is_empty(), "{text}");
    for p in read_paths(&ws) {
        assert!(
            p.starts_with(&root),
            "{} read outside the sysroot",
            p.display()
        );
    }
}

#[test]
fn nothing_outside_the_sysroot_is_read_even_through_a_planted_link() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("sys");
    copy_tree(&fixture("debian"), &root)?;
    // Links to files this machine has, which the checked system does not.
    for (link, target) in [
        ("etc/nginx/sites-enabled/planted", "/etc/nginx/nginx.conf"),
        (
            "etc/nginx/conf.d/escape.conf",
            "../../../../../../../../etc/nginx/mime.types",
        ),
    ] {
        // Git keeps no empty directories: conf.d may be missing from the fixture.
        if let Some(dir) = root.join(link).parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::os::unix::fs::symlink(target, root.join(link))?;
    }
    let machine = Path::new("/etc/nginx");
    let before = checksum(machine);
    let (ws, diagnostics) = check_sysroot(&root, None);
    for p in read_paths(&ws) {
        assert!(
            p.starts_with(&root),
            "{} read outside the sysroot",
            p.display()
        );
    }
    let text = concise(&ws, &diagnostics);
    // /etc/nginx/nginx.conf inside the root is the sysroot's own nginx.conf (a cycle);
    // `..` stops at the root, so the escape reads the sysroot's mime.types.
    assert!(text.contains("GW003"), "{text}");
    // --fix on the copy writes nothing outside it.
    let out = bin()
        .args(["check", "--fix", "--format", "concise", "--sysroot"])
        .arg(&root)
        .output()?;
    assert!(out.status.code().is_some(), "{out:?}");
    assert_eq!(
        before,
        checksum(machine),
        "this machine's /etc/nginx changed"
    );
    Ok(())
}

#[test]
fn a_sysroot_whose_var_run_is_a_directory_keeps_the_paths_apart() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("sys");
    copy_tree(&fixture("debian"), &root)?;
    std::fs::remove_file(root.join("var/run"))?;
    std::fs::create_dir_all(root.join("var/run/php"))?;
    let (ws, diagnostics) = check_sysroot(&root, None);
    let gw301 = of_rule(&diagnostics, "GW301");
    assert_eq!(gw301.len(), 1, "{}", concise(&ws, &diagnostics));
    Ok(())
}

#[test]
fn without_a_sysroot_var_run_is_run_as_on_current_distributions() -> TestResult {
    let tmp = tempfile::tempdir()?;
    std::fs::write(
        tmp.path().join("nginx.conf"),
        "events {}\nhttp { server { listen 80; location ~ \\.php$ { fastcgi_pass unix:/var/run/php/php8.2-fpm.sock; } } }\n",
    )?;
    std::fs::write(
        tmp.path().join("www.conf"),
        "[www]\nlisten = /run/php/php8.2-fpm.sock\n",
    )?;
    let tree = load_path_opts(
        &tmp.path().join("nginx.conf"),
        &Overlay::default(),
        &LoadOptions::default(),
    )?;
    let php = backends::discover(&[tmp.path().join("www.conf")]);
    let ws = Workspace::new(tree, php, None);
    let diagnostics = lint(&ws, &Settings::defaults()?, &Selection::default());
    assert!(
        of_rule(&diagnostics, "GW301").is_empty(),
        "{}",
        concise(&ws, &diagnostics)
    );
    Ok(())
}

#[test]
fn rhel_conf_d_and_php_fpm_d() {
    let root = fixture("rhel");
    let (ws, diagnostics) = check_sysroot(&root, None);
    let text = concise(&ws, &diagnostics);
    let paths = read_paths(&ws);
    for want in [
        "etc/nginx/conf.d/app.conf",
        "etc/nginx/conf.d/php-fpm.conf",
        "etc/nginx/fastcgi_params",
        "etc/php-fpm.d/www.conf",
    ] {
        assert!(paths.iter().any(|p| p.ends_with(want)), "{want} not read");
    }
    // upstream `server unix:/var/run/php-fpm/www.sock` (var/run -> ../run) is the pool's.
    assert!(of_rule(&diagnostics, "GW301").is_empty(), "{text}");
    assert!(errors(&diagnostics).is_empty(), "{text}");
}

#[test]
fn hosting_panel_absolute_vhost_includes_are_read_under_the_sysroot() {
    let root = fixture("panel");
    let main = root.join("www/server/nginx/conf/nginx.conf");
    let (ws, diagnostics) = check_sysroot(&root, Some(&main));
    let text = concise(&ws, &diagnostics);
    let paths = read_paths(&ws);
    assert!(paths
        .iter()
        .any(|p| p.ends_with("www/server/panel/vhost/nginx/site.example.conf")));
    // `include enable-php-82.conf;` in the vhost is relative to the prefix /www/server/nginx/conf.
    assert!(paths
        .iter()
        .any(|p| p.ends_with("www/server/nginx/conf/enable-php-82.conf")));
    assert!(of_rule(&diagnostics, "GW002").is_empty(), "{text}");
    assert!(errors(&diagnostics).is_empty(), "{text}");
}

#[test]
fn docker_image_under_opt_docker_links_are_followed_inside_the_image() {
    let root = fixture("docker");
    // /etc/nginx/nginx.conf -> /opt/docker/etc/nginx/nginx.conf, which includes
    // /opt/docker/etc/nginx/main.conf; /usr/local/etc/php-fpm.conf -> /opt/docker/...
    let (ws, diagnostics) = check_sysroot(&root, None);
    let text = concise(&ws, &diagnostics);
    let paths = read_paths(&ws);
    assert!(paths
        .iter()
        .any(|p| p.ends_with("opt/docker/etc/nginx/main.conf")));
    assert!(paths
        .iter()
        .any(|p| p.ends_with("opt/docker/etc/nginx/vhost.common.d/10-php.conf")));
    let pools: Vec<_> = ws.php.pools().collect();
    assert_eq!(pools.len(), 1, "{:#?}", ws.php);
    assert_eq!(pools[0].name, "application");
    assert!(
        ws.php.all_problems().is_empty(),
        "{:#?}",
        ws.php.all_problems()
    );
    assert!(of_rule(&diagnostics, "GW004").is_empty(), "{text}");
    assert!(of_rule(&diagnostics, "GW202").is_empty(), "{text}");
    assert!(errors(&diagnostics).is_empty(), "{text}");
}

#[test]
fn alpine_php82_pools_are_found() {
    let root = fixture("alpine");
    let (ws, diagnostics) = check_sysroot(&root, None);
    let text = concise(&ws, &diagnostics);
    assert_eq!(ws.php.pools().count(), 1, "{:#?}", ws.php);
    assert!(read_paths(&ws)
        .iter()
        .any(|p| p.ends_with("etc/nginx/http.d/default.conf")));
    assert!(of_rule(&diagnostics, "GW202").is_empty(), "{text}");
    assert!(errors(&diagnostics).is_empty(), "{text}");
}

#[test]
fn a_stock_file_missing_from_a_sysroot_is_an_error_never_read_from_this_machine() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("sys");
    copy_tree(&fixture("alpine"), &root)?;
    std::fs::remove_file(root.join("etc/nginx/fastcgi.conf"))?;
    let (ws, diagnostics) = check_sysroot(&root, None);
    let gw002 = of_rule(&diagnostics, "GW002");
    assert_eq!(gw002.len(), 1, "{}", concise(&ws, &diagnostics));
    assert_eq!(gw002[0].severity, Severity::Error);
    assert!(gw002[0].message.contains("(2: No such file or directory)"));
    assert!(ws.tree.machine_files.is_empty());
    Ok(())
}

// ---------------------------------------------------------------- globs

/// `nginx -t` on `conf`, when nginx is installed: its stderr.
fn nginx_t(conf: &Path) -> Option<String> {
    let prefix = conf.parent()?;
    let out = Command::new("nginx")
        .arg("-t")
        .arg("-c")
        .arg(conf)
        .arg("-p")
        .arg(prefix)
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_dangling_link_matched_by_a_glob_is_the_error_nginx_gives() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    std::fs::create_dir(dir.join("sites-enabled"))?;
    std::fs::write(
        dir.join("nginx.conf"),
        "events {}\nhttp {\n    include sites-enabled/*;\n}\n",
    )?;
    std::fs::write(dir.join("sites-enabled/a"), "server { listen 8080; }\n")?;
    std::os::unix::fs::symlink("../sites-available/gone", dir.join("sites-enabled/gone"))?;
    let (ws, diagnostics) = check_path(&dir.join("nginx.conf"), &LoadOptions::default());
    let gw002 = of_rule(&diagnostics, "GW002");
    assert_eq!(gw002.len(), 1, "{}", concise(&ws, &diagnostics));
    let ours = &gw002[0].message;
    let expected = format!(
        "open() \"{}\" failed (2: No such file or directory)",
        dir.join("sites-enabled/gone").display()
    );
    assert_eq!(ours, &expected);
    if let Some(stderr) = nginx_t(&dir.join("nginx.conf")) {
        assert!(stderr.contains(&expected), "nginx -t said: {stderr}");
    }
    Ok(())
}

/// Runs the binary as `nobody` (setpriv), when this test runs as root.
fn as_nobody(args: &[&std::ffi::OsStr]) -> Option<std::process::Output> {
    let root = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&root.stdout).trim() != "0" {
        return None;
    }
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_nginx-gwlint"))
        .args(args)
        .output()
        .ok()
}

#[test]
fn an_unlistable_folder_under_a_glob_is_an_error_and_fix_writes_nothing() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("t");
    std::fs::create_dir_all(dir.join("conf.d"))?;
    let conf = dir.join("nginx.conf");
    // GW101 fixes the misplaced proxy timeout: there is something to write.
    let text = "events {}\nhttp {\n    include conf.d/*.conf;\n    server {\n        listen 8080;\n        location ~ \\.php$ {\n            fastcgi_pass 127.0.0.1:9000;\n            proxy_read_timeout 300s;\n        }\n    }\n}\n";
    std::fs::write(&conf, text)?;
    std::fs::write(dir.join("conf.d/a.conf"), "map $host $x { default 1; }\n")?;
    for p in [tmp.path(), dir.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777))?;
    }
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o666))?;
    // Control: readable, the fix is written.
    let copy = tmp.path().join("control");
    copy_tree(&dir, &copy)?;
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o777))?;
    std::fs::set_permissions(
        copy.join("nginx.conf"),
        std::fs::Permissions::from_mode(0o666),
    )?;
    std::fs::set_permissions(copy.join("conf.d"), std::fs::Permissions::from_mode(0o755))?;
    // Files of the unprivileged user, so the writer may keep their owner.
    for entry in walkdir::WalkDir::new(tmp.path()).into_iter().flatten() {
        std::os::unix::fs::lchown(entry.path(), Some(65534), Some(65534)).ok();
    }
    let control_conf = copy.join("nginx.conf");
    let Some(out) = as_nobody(&["check".as_ref(), "--fix".as_ref(), control_conf.as_os_str()])
    else {
        eprintln!("skipped: needs root and setpriv to run as an unprivileged user");
        return Ok(());
    };
    assert_ne!(
        std::fs::read_to_string(&control_conf)?,
        text,
        "control: the fix was not written: {out:?}"
    );
    // conf.d cannot be listed by the user running the check.
    std::fs::set_permissions(dir.join("conf.d"), std::fs::Permissions::from_mode(0o000))?;
    let out = as_nobody(&[
        "check".as_ref(),
        "--fix".as_ref(),
        "--format".as_ref(),
        "concise".as_ref(),
        conf.as_os_str(),
    ])
    .ok_or("setpriv")?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(stderr.contains("nothing written"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&conf)?,
        text,
        "--fix wrote: {out:?}"
    );
    // Without --fix, the report says why.
    let out = as_nobody(&[
        "check".as_ref(),
        "--format".as_ref(),
        "concise".as_ref(),
        conf.as_os_str(),
    ])
    .ok_or("setpriv")?;
    std::fs::set_permissions(dir.join("conf.d"), std::fs::Permissions::from_mode(0o755))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        stdout.contains("GW002") && stdout.contains("cannot list"),
        "{stdout}"
    );
    Ok(())
}

#[test]
fn an_absolute_link_out_of_a_copied_tree_is_read_inside_the_copy_or_not_at_all() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("repo/nginx");
    for d in ["sites-available", "sites-enabled"] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    std::fs::write(
        dir.join("nginx.conf"),
        "events {}\nhttp {\n    include sites-enabled/*;\n}\n",
    )?;
    std::fs::write(
        dir.join("sites-available/default"),
        "server { listen 8080; server_name copy-marker.example; }\n",
    )?;
    // Debian's own link, and one to a file only the target system has.
    std::os::unix::fs::symlink(
        "/etc/nginx/sites-available/default",
        dir.join("sites-enabled/default"),
    )?;
    std::os::unix::fs::symlink("/srv/generated/site.conf", dir.join("sites-enabled/zz"))?;
    let (ws, diagnostics) = check_path(&dir.join("nginx.conf"), &LoadOptions::default());
    let text = concise(&ws, &diagnostics);
    let paths = read_paths(&ws);
    assert!(
        paths.contains(&dir.join("sites-available/default")),
        "{paths:?}"
    );
    for p in &paths {
        assert!(
            p.starts_with(tmp.path()),
            "{} read from this machine",
            p.display()
        );
    }
    let gw002 = of_rule(&diagnostics, "GW002");
    assert_eq!(gw002.len(), 1, "{text}");
    assert_eq!(gw002[0].severity, Severity::Info, "{text}");
    assert!(
        gw002[0].message.contains("/srv/generated/site.conf"),
        "{text}"
    );
    Ok(())
}

#[test]
fn a_link_out_of_a_copy_included_at_two_places_is_reported_at_both() -> TestResult {
    // The loader asks once per file and load whether a target is such a link (a snippet
    // included from a thousand places was a stat per include): the answer must still be
    // given at every include that reads it.
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("repo/nginx");
    std::fs::create_dir_all(dir.join("snippets"))?;
    std::fs::write(
        dir.join("snippets/inside.conf"),
        "proxy_read_timeout 30s;\n",
    )?;
    std::os::unix::fs::symlink(
        "/srv/generated/proxy.conf",
        dir.join("snippets/outside.conf"),
    )?;
    std::os::unix::fs::symlink("inside.conf", dir.join("snippets/relative.conf"))?;
    std::fs::write(
        dir.join("nginx.conf"),
        "events {}\nhttp {\n    server {\n        listen 8080;\n        include snippets/outside.conf;\n        include snippets/relative.conf;\n    }\n    server {\n        listen 8081;\n        include snippets/outside.conf;\n        include snippets/relative.conf;\n    }\n}\n",
    )?;
    let (ws, diagnostics) = check_path(&dir.join("nginx.conf"), &LoadOptions::default());
    let text = concise(&ws, &diagnostics);
    let gw002 = of_rule(&diagnostics, "GW002");
    assert_eq!(gw002.len(), 2, "{text}");
    let lines: Vec<_> = gw002
        .iter()
        .map(|d| ws.tree.sources.get(d.file).line_col(d.span.start()).0)
        .collect();
    assert_eq!(lines, [5, 10], "{text}");
    // Named explicitly, not by a glob: still a file of the target system, not a missing one.
    assert!(
        gw002.iter().all(
            |d| d.severity == Severity::Info && d.message.contains("/srv/generated/proxy.conf")
        ),
        "{text}"
    );
    // The link that stays inside the copy is read, once, for both servers.
    let paths = read_paths(&ws);
    let relative = paths
        .iter()
        .filter(|p| p.ends_with("snippets/relative.conf"))
        .count();
    assert_eq!(relative, 1, "{paths:?}");
    Ok(())
}

#[test]
fn an_absolute_include_outside_a_copy_is_not_read_as_a_same_named_file_of_the_copy() -> TestResult {
    // A reviewer's case (docker/awesome-compose): the tree's nginx.conf includes an app's
    // nginx.conf by an absolute path outside the tree. Re-rooting it down to the bare file
    // name read the tree's own nginx.conf instead (a false "include cycle"), and any other
    // name read an unrelated file of the tree. nginx -t reads the outside file.
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("etc/nginx");
    let app = tmp.path().join("opt/app");
    std::fs::create_dir_all(&dir)?;
    std::fs::create_dir_all(&app)?;
    std::fs::write(app.join("nginx.conf"), "server { listen 8080; }\n")?;
    std::fs::write(app.join("foo.conf"), "server { listen 8081; }\n")?;
    std::fs::write(dir.join("foo.conf"), "not_read_by_nginx;\n")?;
    // Where the include's directory is a stock one, the tree's file of that name is the
    // target's file (a copy of /etc/nginx): that still resolves inside the copy.
    std::fs::write(dir.join("stock.conf"), "server { listen 8082; }\n")?;
    std::fs::write(
        dir.join("nginx.conf"),
        format!(
            "events {{}}\nhttp {{\n    include {};\n    include {};\n    include /etc/nginx/stock.conf;\n}}\n",
            app.join("nginx.conf").display(),
            app.join("foo.conf").display()
        ),
    )?;
    let (ws, diagnostics) = check_path(&dir.join("nginx.conf"), &LoadOptions::default());
    let text = concise(&ws, &diagnostics);
    assert!(of_rule(&diagnostics, "GW003").is_empty(), "{text}");
    assert!(of_rule(&diagnostics, "GW010").is_empty(), "{text}");
    let paths = read_paths(&ws);
    assert!(!paths.contains(&dir.join("foo.conf")), "{paths:?}");
    assert!(paths.contains(&dir.join("stock.conf")), "{paths:?}");
    let gw002 = of_rule(&diagnostics, "GW002");
    assert_eq!(gw002.len(), 2, "{text}");
    assert!(gw002.iter().all(|d| d.severity == Severity::Info), "{text}");
    Ok(())
}

// ---------------------------------------------------------------- stock files from this machine

#[test]
fn a_stock_file_read_from_this_machine_is_said_and_listed_in_json() -> TestResult {
    if !Path::new("/etc/nginx/proxy_params").is_file() {
        eprintln!("skipped: no /etc/nginx/proxy_params on this machine");
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    std::fs::write(
        tmp.path().join("nginx.conf"),
        "events {}\nhttp {\n    server {\n        listen 80;\n        location / {\n            include proxy_params;\n            proxy_pass http://127.0.0.1:3000;\n        }\n    }\n}\n",
    )?;
    let out = bin()
        .args(["check", "--format", "json"])
        .arg(tmp.path().join("nginx.conf"))
        .output()?;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let files: Vec<&str> = json["files"]
        .as_array()
        .ok_or("files")?
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert!(files.contains(&"/etc/nginx/proxy_params"), "{files:?}");
    assert_eq!(json["external_files"][0]["file"], "/etc/nginx/proxy_params");
    assert_eq!(json["external_files"][0]["origin"], "machine-package");
    let said = json["diagnostics"]
        .as_array()
        .ok_or("diagnostics")?
        .iter()
        .find(|d| d["rule"] == "GW002")
        .ok_or("no GW002")?;
    assert_eq!(said["severity"], "info");
    assert!(said["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("read from this machine's nginx package: /etc/nginx/proxy_params"));
    Ok(())
}

// ---------------------------------------------------------------- cannot tell

const RESOLVER_CONF: &str = "events {}\nhttp {\n    include /config/nginx/resolver.conf;\n    server {\n        listen 80;\n        location / {\n            set $upstream_app app;\n            set $upstream_port 8080;\n            proxy_pass http://$upstream_app:$upstream_port;\n        }\n        location /web { proxy_pass http://web; }\n    }\n}\n";

#[test]
fn an_unread_include_makes_gw204_and_gw208_info_naming_it() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let conf = tmp.path().join("nginx.conf");
    std::fs::write(&conf, RESOLVER_CONF)?;
    let (ws, diagnostics) = check_path(&conf, &LoadOptions::default());
    let text = concise(&ws, &diagnostics);
    for rule in ["GW204", "GW208"] {
        let found = of_rule(&diagnostics, rule);
        assert_eq!(found.len(), 1, "{text}");
        assert_eq!(found[0].severity, Severity::Info, "{text}");
        assert!(
            found[0]
                .message
                .contains("`include /config/nginx/resolver.conf` was not read"),
            "{text}"
        );
    }
    assert!(errors(&diagnostics).is_empty(), "{text}");
    // The same tree with the file there: the resolver it sets is seen.
    let with = tmp.path().join("with");
    std::fs::create_dir(&with)?;
    std::fs::write(
        with.join("nginx.conf"),
        RESOLVER_CONF.replace("/config/nginx/resolver.conf", "resolver.conf"),
    )?;
    std::fs::write(
        with.join("resolver.conf"),
        "resolver 127.0.0.11 valid=30s;\nupstream web { server 127.0.0.1:8081; }\n",
    )?;
    let (ws, diagnostics) = check_path(&with.join("nginx.conf"), &LoadOptions::default());
    let text = concise(&ws, &diagnostics);
    assert!(of_rule(&diagnostics, "GW204").is_empty(), "{text}");
    assert!(of_rule(&diagnostics, "GW208").is_empty(), "{text}");
    // And without any include: the errors are back (the rule still checks).
    let without = tmp.path().join("without");
    std::fs::create_dir(&without)?;
    std::fs::write(
        without.join("nginx.conf"),
        RESOLVER_CONF.replace("include /config/nginx/resolver.conf;", ""),
    )?;
    let (_, diagnostics) = check_path(&without.join("nginx.conf"), &LoadOptions::default());
    assert_eq!(of_rule(&diagnostics, "GW204")[0].severity, Severity::Error);
    Ok(())
}

#[test]
fn effective_scoped_answers_unknown_below_an_unread_include() -> TestResult {
    let dump = "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp {\n    include /etc/nginx/missing.conf;\n    proxy_read_timeout 30s;\n    server {\n        location / { proxy_pass http://127.0.0.1:1; }\n    }\n    server {\n        include /etc/nginx/also-missing.conf;\n        location / { proxy_pass http://127.0.0.1:2; }\n    }\n}\n";
    let tree = load_dump(dump.as_bytes())?;
    let config = ResolvedConfig::build(&tree);
    let locations: Vec<_> = config.blocks_with_inner(Context::Location).collect();
    assert_eq!(locations.len(), 2);
    // proxy_read_timeout is set after the unread include at http level: known.
    assert!(matches!(
        config.effective_scoped(locations[0], "proxy_read_timeout"),
        Scoped::Set(_)
    ));
    // resolver: the unread http-level include may set it.
    assert!(matches!(
        config.effective_scoped(locations[0], "resolver"),
        Scoped::Unknown { .. }
    ));
    // In the second server, its own unread include comes first.
    let Scoped::Unknown { include } = config.effective_scoped(locations[1], "resolver") else {
        panic!("expected Unknown");
    };
    assert_eq!(
        config.include_argument(include),
        "/etc/nginx/also-missing.conf"
    );
    // The old API is unchanged: not found.
    assert!(config.effective(locations[1], "resolver").is_none());
    Ok(())
}

// ---------------------------------------------------------------- single site files

fn site_layout(dir: &Path) -> std::io::Result<PathBuf> {
    let etc = dir.join("etc/nginx");
    for d in ["sites-available", "sites-enabled", "snippets"] {
        std::fs::create_dir_all(etc.join(d))?;
    }
    std::fs::write(
        etc.join("nginx.conf"),
        "events {}\nhttp {\n    include sites-enabled/*;\n}\n",
    )?;
    std::fs::write(
        etc.join("sites-available/app.conf"),
        "upstream app { server 127.0.0.1:3000; }\nmap $http_upgrade $connection_upgrade { default upgrade; '' close; }\nserver {\n    listen 80;\n    include snippets/common.conf;\n    location / {\n        proxy_pass http://app;\n        proxy_read_timeout 30s;\n    }\n}\n",
    )?;
    std::fs::write(
        etc.join("snippets/common.conf"),
        "client_max_body_size 10m;\n",
    )?;
    std::fs::write(
        etc.join("snippets/locations.conf"),
        "location /x {\n    proxy_pass http://127.0.0.1:3001;\n}\n",
    )?;
    std::os::unix::fs::symlink(
        "../sites-available/app.conf",
        etc.join("sites-enabled/app.conf"),
    )?;
    Ok(etc)
}

#[test]
fn a_site_file_is_checked_in_the_http_context_with_the_prefix_above_it() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let etc = site_layout(tmp.path())?;
    let (ws, diagnostics) = check_path(
        &etc.join("sites-available/app.conf"),
        &LoadOptions::default(),
    );
    let text = concise(&ws, &diagnostics);
    assert_eq!(ws.tree.root_context, Context::Http);
    assert_eq!(ws.tree.prefix, etc);
    assert!(of_rule(&diagnostics, "GW011").is_empty(), "{text}");
    assert!(of_rule(&diagnostics, "GW002").is_empty(), "{text}");
    assert!(read_paths(&ws)
        .iter()
        .any(|p| p.ends_with("snippets/common.conf")));
    // The rules still run: `proxy_pass http://app` is found as the upstream.
    assert!(of_rule(&diagnostics, "GW208").is_empty(), "{text}");
    // Forced to main, it is nginx.conf-like: nginx's refusals come back.
    let forced = LoadOptions {
        context: Some(Context::Main),
        ..LoadOptions::default()
    };
    let (ws, diagnostics) = check_path(&etc.join("sites-available/app.conf"), &forced);
    let gw011 = of_rule(&diagnostics, "GW011");
    assert!(
        gw011.iter().any(|d| d.message.contains("no \"events\"")),
        "{}",
        concise(&ws, &diagnostics)
    );
    Ok(())
}

#[test]
fn a_file_of_locations_is_checked_in_the_server_context() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let etc = site_layout(tmp.path())?;
    let (ws, diagnostics) = check_path(
        &etc.join("snippets/locations.conf"),
        &LoadOptions {
            prefix: Some(etc.clone()),
            ..LoadOptions::default()
        },
    );
    assert_eq!(ws.tree.root_context, Context::Server);
    assert!(
        errors(&diagnostics).is_empty(),
        "{}",
        concise(&ws, &diagnostics)
    );
    Ok(())
}

#[test]
fn a_lone_site_file_leaves_relative_includes_unread_as_info() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let etc = site_layout(tmp.path())?;
    let lone = tmp.path().join("app.conf");
    std::fs::copy(etc.join("sites-available/app.conf"), &lone)?;
    let (ws, diagnostics) = check_path(&lone, &LoadOptions::default());
    let text = concise(&ws, &diagnostics);
    let gw002 = of_rule(&diagnostics, "GW002");
    assert_eq!(gw002.len(), 1, "{text}");
    assert_eq!(gw002[0].severity, Severity::Info);
    assert!(gw002[0].message.contains("prefix"), "{text}");
    assert!(errors(&diagnostics).is_empty(), "{text}");
    // --prefix finds it.
    let (ws, diagnostics) = check_path(
        &lone,
        &LoadOptions {
            prefix: Some(etc),
            ..LoadOptions::default()
        },
    );
    assert!(diagnostics.is_empty(), "{}", concise(&ws, &diagnostics));
    Ok(())
}

#[test]
fn single_file_flags_on_the_command_line() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let etc = site_layout(tmp.path())?;
    let out = bin()
        .args(["check", "--format", "concise"])
        .arg(etc.join("sites-available/app.conf"))
        .output()?;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = bin()
        .args(["check", "--format", "concise", "--context", "main"])
        .arg(etc.join("sites-available/app.conf"))
        .output()?;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("GW011"),
        "{out:?}"
    );
    let out = bin()
        .args(["check", "--context", "nowhere"])
        .arg(etc.join("sites-available/app.conf"))
        .output()?;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    Ok(())
}

// ---------------------------------------------------------------- stream

const STREAM_CONF: &str = "events {}\nstream {\n    upstream db {\n        server localhost:3306;\n        server 127.0.0.1:3307 down;\n    }\n    server { listen 13306; proxy_pass db; }\n    server { listen 13307; proxy_pass 127.0.0.1:3309; }\n}\n";

#[test]
fn stream_upstreams_and_proxy_pass_are_named_addresses() -> TestResult {
    let dump = format!("# configuration file /etc/nginx/nginx.conf:\n{STREAM_CONF}");
    let tree = load_dump(dump.as_bytes())?;
    let config = ResolvedConfig::build(&tree);
    let named: Vec<String> = config
        .named_addresses()
        .iter()
        .filter(|n| n.stream)
        .map(|n| n.address.to_string())
        .collect();
    // `down` is never connected to; `proxy_pass db` is the upstream's servers.
    assert_eq!(named, ["127.0.0.1:3309", "localhost:3306"]);
    let ws = Workspace::nginx_only(load_dump(dump.as_bytes())?);
    let diagnostics = lint(&ws, &Settings::defaults()?, &Selection::default());
    let gw201 = of_rule(&diagnostics, "GW201");
    assert_eq!(gw201.len(), 1, "{}", concise(&ws, &diagnostics));
    Ok(())
}

#[test]
fn probe_covers_stream_and_skips_down_and_backup_is_at_most_a_warning() -> TestResult {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?;
    let refused = closed.local_addr()?.port();
    drop(closed);
    let open = std::net::TcpListener::bind("127.0.0.1:0")?;
    let listening = open.local_addr()?.port();
    let conf = format!(
        "events {{}}\nstream {{\n    upstream db {{\n        server 127.0.0.1:{listening};\n        server 127.0.0.1:{refused} down;\n        server 127.0.0.1:{refused} backup;\n    }}\n    server {{ listen 13306; proxy_pass db; }}\n    server {{ listen 13307; proxy_pass 127.0.0.1:{refused}; }}\n}}\n"
    );
    let dump = format!("# configuration file /etc/nginx/nginx.conf:\n{conf}");
    let ws = Workspace::nginx_only(load_dump(dump.as_bytes())?);
    let config = ResolvedConfig::build(&ws.tree);
    let found = nginx_gwlint::probe::run_with_timeout(
        &ws,
        &config,
        &Settings::defaults()?,
        std::time::Duration::from_millis(500),
    );
    let text = report::render_concise(&ws.tree.sources, &found);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let backup = lines.iter().find(|l| l.contains(":6:")).ok_or("backup")?;
    let pass = lines
        .iter()
        .find(|l| l.contains(":9:"))
        .ok_or("proxy_pass")?;
    // The backup: a warning that says what it is.
    assert!(
        backup.contains("[warning]") && backup.contains("backup server"),
        "{text}"
    );
    // The stream proxy_pass: an error, described as a stream failure.
    assert!(pass.contains("[error]"), "{text}");
    assert!(pass.contains("stream clients are disconnected"), "{text}");
    drop(open);
    Ok(())
}

// ---------------------------------------------------------------- precision items

fn lint_dump(conf: &str) -> (Workspace, Vec<Diagnostic>) {
    let dump = format!("# configuration file /etc/nginx/nginx.conf:\n{conf}");
    let ws = Workspace::nginx_only(load_dump(dump.as_bytes()).unwrap());
    let diagnostics = lint(&ws, &Settings::defaults().unwrap(), &Selection::default());
    (ws, diagnostics)
}

#[test]
fn gw208_variables_are_not_startup_failures_and_compose_names_are_said_as_such() {
    let (ws, diagnostics) = lint_dump(
        "events {}\nhttp {\n    upstream backend { server 127.0.0.1:3000; }\n    resolver 127.0.0.11;\n    server {\n        location ~ ^/s/(.*)/(.*)$ { proxy_pass http://storage/$2; }\n        location / { proxy_pass http://web; }\n        location /b { proxy_pass http://bakend; }\n    }\n}\n",
    );
    let text = concise(&ws, &diagnostics);
    let gw208 = of_rule(&diagnostics, "GW208");
    assert_eq!(gw208.len(), 2, "{text}");
    assert!(!text.contains("storage"), "{text}");
    assert!(!text.contains("nginx -t fails"), "{text}");
    let web = gw208.iter().find(|d| d.message.contains("`web`")).unwrap();
    assert_eq!(web.severity, Severity::Warning);
    assert!(web
        .message
        .contains("refuses to start where it does not resolve"));
    let typo = gw208
        .iter()
        .find(|d| d.message.contains("`bakend`"))
        .unwrap();
    assert_eq!(typo.severity, Severity::Error);
}

#[test]
fn gw204_a_static_host_with_a_variable_uri_names_the_host() {
    let (ws, diagnostics) = lint_dump(
        "events {}\nhttp {\n    server {\n        location ~ ^/f/(.*)$ { proxy_pass http://files.internal/$1; }\n    }\n}\n",
    );
    let gw204 = of_rule(&diagnostics, "GW204");
    assert_eq!(gw204.len(), 1, "{}", concise(&ws, &diagnostics));
    assert!(gw204[0].message.contains("resolve files.internal"));
    assert!(!gw204[0].message.contains("comes from $1"));
}

#[test]
fn gw010_nginx_plus_directives_and_js_include() -> TestResult {
    let conf = "events {}\nhttp {\n    keyval_zone zone=one:32k;\n    js_include main.js;\n    server {\n        location /api { api write=on; }\n        location / { proxy_pass http://127.0.0.1:1; health_check; }\n    }\n}\n";
    let (ws, diagnostics) = lint_dump(conf);
    let text = concise(&ws, &diagnostics);
    let gw010 = of_rule(&diagnostics, "GW010");
    let plus = gw010
        .iter()
        .filter(|d| d.message.contains("is NGINX Plus only"))
        .count();
    assert_eq!(plus, 3, "{text}");
    assert!(
        gw010.iter().any(|d| d.message.contains("js_import")),
        "{text}"
    );
    // Declared Plus: known.
    let tmp = tempfile::tempdir()?;
    let settings_file = tmp.path().join("s.toml");
    std::fs::write(&settings_file, "[rules.GW010]\nnginx_plus = true\n")?;
    let settings = Settings::with_file(&settings_file)?;
    let dump = format!("# configuration file /etc/nginx/nginx.conf:\n{conf}");
    let ws = Workspace::nginx_only(load_dump(dump.as_bytes())?);
    let diagnostics = lint(&ws, &settings, &Selection::default());
    assert!(
        !diagnostics
            .iter()
            .any(|d| d.message.contains("NGINX Plus only")),
        "{}",
        concise(&ws, &diagnostics)
    );
    Ok(())
}

#[test]
fn gw201_does_not_promise_a_502_and_names_the_hosts_file() {
    let (ws, diagnostics) = lint_dump(
        "events {}\nhttp {\n    server {\n        location / { proxy_pass http://localhost:3000; }\n    }\n}\n",
    );
    let gw201 = of_rule(&diagnostics, "GW201");
    assert_eq!(gw201.len(), 1, "{}", concise(&ws, &diagnostics));
    let m = &gw201[0].message;
    assert!(m.contains("tries the next address"), "{m}");
    assert!(m.contains("the request still succeeds"), "{m}");
    assert!(m.contains("It is a 502 when"), "{m}");
    assert!(m.contains("/etc/hosts"), "{m}");
}

#[test]
fn gw102_says_linux_gives_up_after_about_127_seconds() {
    let (ws, diagnostics) = lint_dump(
        "events {}\nhttp {\n    server {\n        location / { proxy_pass http://127.0.0.1:3000; proxy_connect_timeout 300s; }\n    }\n}\n",
    );
    let gw102 = of_rule(&diagnostics, "GW102");
    assert_eq!(gw102.len(), 1, "{}", concise(&ws, &diagnostics));
    assert!(gw102[0].message.contains("about 127 s on Linux"));
    let page = nginx_gwlint::rules::meta_by_id_or_name("GW102")
        .unwrap()
        .doc;
    assert!(page.contains("127 s") && page.contains("tcp_syn_retries"));
}

#[test]
fn gw303_says_only_what_the_units_read_say() -> TestResult {
    let conf = "events {}\nhttp {\n    server {\n        location ~ \\.php$ { fastcgi_pass unix:/tmp/php-fpm.sock; }\n    }\n}\n";
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("sys");
    std::fs::create_dir_all(root.join("etc/nginx"))?;
    std::fs::write(root.join("etc/nginx/nginx.conf"), conf)?;
    // No unit at all: unknown, said so.
    let (ws, diagnostics) = check_sysroot(&root, None);
    let gw303 = of_rule(&diagnostics, "GW303");
    assert_eq!(gw303.len(), 1, "{}", concise(&ws, &diagnostics));
    assert!(gw303[0].message.contains("is unknown"));
    assert!(!gw303[0].message.contains("Debian and RHEL"));
    // Debian's own unit, which does not set PrivateTmp: info, naming it.
    let units = root.join("lib/systemd/system");
    std::fs::create_dir_all(&units)?;
    std::fs::write(
        units.join("php8.2-fpm.service"),
        "[Unit]\nDescription=The PHP 8.2 FastCGI Process Manager\n\n[Service]\nType=notify\nExecStart=/usr/sbin/php-fpm8.2 --nodaemonize --fpm-config /etc/php/8.2/fpm/php-fpm.conf\n",
    )?;
    let (_, diagnostics) = check_sysroot(&root, None);
    let gw303 = of_rule(&diagnostics, "GW303");
    assert_eq!(gw303[0].severity, Severity::Info);
    assert!(gw303[0].message.contains("php8.2-fpm.service"));
    // A drop-in that adds it: a warning naming the unit.
    std::fs::create_dir_all(root.join("etc/systemd/system/php8.2-fpm.service.d"))?;
    std::fs::write(
        root.join("etc/systemd/system/php8.2-fpm.service.d/override.conf"),
        "[Service]\nPrivateTmp=yes\n",
    )?;
    let (_, diagnostics) = check_sysroot(&root, None);
    let gw303 = of_rule(&diagnostics, "GW303");
    assert_eq!(gw303[0].severity, Severity::Warning);
    assert!(
        gw303[0]
            .message
            .contains("php8.2-fpm.service (PrivateTmp= at ")
            && gw303[0].message.contains("override.conf:2)"),
        "{}",
        gw303[0].message
    );
    // A later drop-in that resets it with an empty assignment: back to systemd's default.
    std::fs::write(
        root.join("etc/systemd/system/php8.2-fpm.service.d/zz-reset.conf"),
        "[Service]\nPrivateTmp=\n",
    )?;
    let (_, diagnostics) = check_sysroot(&root, None);
    assert_eq!(of_rule(&diagnostics, "GW303")[0].severity, Severity::Info);
    Ok(())
}

#[test]
fn php_given_twice_is_listed_once_and_a_missing_php_path_is_exit_2() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let conf = tmp.path().join("nginx.conf");
    std::fs::write(
        &conf,
        "events {}\nhttp { server { listen 80; location ~ \\.php$ { fastcgi_pass unix:/run/php/other.sock; } } }\n",
    )?;
    std::fs::write(
        tmp.path().join("a.conf"),
        "[www]\nlisten = /run/php/www.sock\n",
    )?;
    std::fs::write(
        tmp.path().join("b.conf"),
        "[www]\nlisten = /run/php/www.sock\n",
    )?;
    let out = bin()
        .args(["check", "--format", "concise", "--php"])
        .arg(format!(
            "{0}/a.conf,{0}/b.conf,{0}/./a.conf",
            tmp.path().display()
        ))
        .arg(&conf)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("(listening: unix:/run/php/www.sock)"),
        "{stdout}"
    );
    let out = bin()
        .args(["check", "--php", "/nonexistent-gwlint"])
        .arg(&conf)
        .output()?;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    Ok(())
}

// ---------------------------------------------------------------- names defined around a file

const SITE_USING_NAMES: &str = "server {\n    listen 127.0.0.1:8080;\n    access_log /tmp/gwlint-site-a.log combined;\n    access_log /tmp/gwlint-site-b.log timed;\n    limit_req zone=perip;\n    location ~ \\.php$ {\n        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n        fastcgi_param REQUEST_METHOD $request_method;\n        fastcgi_pass fpm;\n    }\n    location / {\n        return 200 $site_flag;\n    }\n}\n";

const NGINX_DEFINING_NAMES: &str = "events {}\nerror_log stderr;\nhttp {\n    log_format timed '$request_time';\n    limit_req_zone $binary_remote_addr zone=perip:1m rate=1r/s;\n    upstream fpm { server 127.0.0.1:9000; }\n    map $uri $site_flag { default 1; }\n    include sites-enabled/*;\n}\n";

const NGINX_DEFINING_NOTHING: &str =
    "events {}\nerror_log stderr;\nhttp {\n    include sites-enabled/*;\n}\n";

/// A site file using an upstream, a zone, a log format and a variable that nginx.conf defines:
/// checked on its own each is "cannot tell" (info), under an nginx.conf that defines them there
/// is nothing to say, and under one that does not they are errors — as `nginx -t` says.
#[test]
fn names_a_site_file_uses_are_cannot_tell_alone_and_judged_in_the_tree() -> TestResult {
    let judged = ["GW020", "GW022", "GW026", "GW208"];
    let tmp = tempfile::tempdir()?;
    let lone = tmp.path().join("app.conf");
    std::fs::write(&lone, SITE_USING_NAMES)?;
    let (ws, diagnostics) = check_path(&lone, &LoadOptions::default());
    let text = concise(&ws, &diagnostics);
    assert_eq!(ws.tree.root_context, Context::Http, "{text}");
    assert!(errors(&diagnostics).is_empty(), "{text}");
    for rule in judged {
        let found = of_rule(&diagnostics, rule);
        assert!(!found.is_empty(), "{rule} says nothing:\n{text}");
        assert!(
            found.iter().all(|d| d.severity == Severity::Info
                && (d.message.contains("cannot tell") || d.message.contains("cannot be told"))),
            "{text}"
        );
    }
    // `combined` is nginx's own format, in a lone file too.
    assert!(!text.contains("\"combined\""), "{text}");

    for (conf, accepted) in [
        (NGINX_DEFINING_NAMES, true),
        (NGINX_DEFINING_NOTHING, false),
    ] {
        let dir = tempfile::tempdir()?;
        let etc = dir.path().join("etc/nginx");
        std::fs::create_dir_all(etc.join("sites-enabled"))?;
        std::fs::write(etc.join("nginx.conf"), conf)?;
        std::fs::write(etc.join("sites-enabled/app.conf"), SITE_USING_NAMES)?;
        let (ws, diagnostics) = check_path(&etc.join("nginx.conf"), &LoadOptions::default());
        let text = concise(&ws, &diagnostics);
        let errors = errors(&diagnostics);
        if accepted {
            assert!(errors.is_empty(), "{text}");
            for rule in judged {
                assert!(of_rule(&diagnostics, rule).is_empty(), "{text}");
            }
        } else {
            for rule in ["GW020", "GW022", "GW026"] {
                assert!(
                    errors.iter().any(|d| d.rule == rule),
                    "{rule} is no error:\n{text}"
                );
            }
        }
        if crate::common::oracle::nginx().is_some() {
            let verdict = crate::common::nginx_test(&etc.join("nginx.conf"));
            assert_eq!(verdict.is_none(), accepted, "nginx -t: {verdict:?}\n{text}");
            if let Some((message, _)) = verdict {
                assert!(
                    errors.iter().any(|d| d.message == message),
                    "nginx's first error {message:?} is not among:\n{text}"
                );
            }
        }
    }
    Ok(())
}

/// A directive no stock module has, in a file checked on its own: the nginx.conf around it may
/// load the module that provides it (info); a near-miss of a stock name stays an error.
#[test]
fn unknown_directives_of_a_lone_file_are_hedged_unless_they_are_typos() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let lone = tmp.path().join("app.conf");
    std::fs::write(
        &lone,
        "server {\n    listen 8080;\n    pagespeed on;\n    more_set_headers \"X-A: b\";\n    location / {\n        proxy_passs http://127.0.0.1:3000;\n    }\n}\n",
    )?;
    let (ws, diagnostics) = check_path(&lone, &LoadOptions::default());
    let text = concise(&ws, &diagnostics);
    let gw010 = of_rule(&diagnostics, "GW010");
    assert_eq!(gw010.len(), 3, "{text}");
    for d in &gw010 {
        let typo = d.message.contains("proxy_passs");
        assert_eq!(d.severity == Severity::Error, typo, "{text}");
        assert_eq!(d.message.contains("cannot tell"), !typo, "{text}");
    }
    Ok(())
}

// ---------------------------------------------------------------- the target's own nginx binary

/// A sysroot with a php-fpm pool whose socket only `www-data` may use, an nginx.conf without a
/// `user` directive, and `binary` (bytes) as its /usr/sbin/nginx.
fn sysroot_with_binary(dir: &Path, binary: Option<&[u8]>) -> std::io::Result<PathBuf> {
    let root = dir.join("sys");
    let etc = root.join("etc");
    std::fs::create_dir_all(etc.join("nginx"))?;
    std::fs::create_dir_all(etc.join("php/8.2/fpm/pool.d"))?;
    std::fs::write(
        etc.join("nginx/nginx.conf"),
        "events {}\nhttp {\n    server {\n        listen 8080;\n        location ~ \\.php$ {\n            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n            fastcgi_param REQUEST_METHOD $request_method;\n            fastcgi_pass unix:/run/php/app.sock;\n        }\n    }\n}\n",
    )?;
    std::fs::write(
        etc.join("php/8.2/fpm/php-fpm.conf"),
        "[global]\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n",
    )?;
    std::fs::write(
        etc.join("php/8.2/fpm/pool.d/app.conf"),
        "[app]\nuser = www-data\ngroup = www-data\nlisten = /run/php/app.sock\nlisten.owner = www-data\nlisten.group = www-data\n",
    )?;
    std::fs::write(
        etc.join("passwd"),
        "root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\nnginx:x:101:101::/var/cache/nginx:/sbin/nologin\n",
    )?;
    std::fs::write(
        etc.join("group"),
        "root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\nnginx:x:101:\n",
    )?;
    if let Some(bytes) = binary {
        std::fs::create_dir_all(root.join("usr/sbin"))?;
        std::fs::write(root.join("usr/sbin/nginx"), bytes)?;
    }
    Ok(root)
}

/// Without a `user` directive the workers run as the build's default: the binary inside the
/// sysroot says which (read, never run); without one it is nginx's compiled-in nobody, assumed
/// (a warning, not an error).
#[test]
fn the_worker_default_comes_from_the_sysroots_own_nginx() -> TestResult {
    let gw302 = |root: &Path| {
        let (ws, diagnostics) = check_sysroot(root, None);
        let text = concise(&ws, &diagnostics);
        let found: Vec<(Severity, String)> = of_rule(&diagnostics, "GW302")
            .iter()
            .map(|d| (d.severity, d.message.clone()))
            .collect();
        (found, text)
    };
    // nginx.org's packages: --user=nginx.
    let tmp = tempfile::tempdir()?;
    let fake =
        b"\0nginx/1.24.0\0configure arguments: --prefix=/etc/nginx --user=nginx --group=nginx\n\0";
    let root = sysroot_with_binary(tmp.path(), Some(fake))?;
    let (found, text) = gw302(&root);
    assert_eq!(found.len(), 1, "{text}");
    assert_eq!(found[0].0, Severity::Error, "{text}");
    assert!(found[0].1.contains("nginx:nginx"), "{text}");
    assert!(found[0].1.contains("--user=nginx"), "{text}");
    // No binary: nobody, assumed, a warning.
    let tmp = tempfile::tempdir()?;
    let root = sysroot_with_binary(tmp.path(), None)?;
    let (found, text) = gw302(&root);
    assert_eq!(found.len(), 1, "{text}");
    assert_eq!(found[0].0, Severity::Warning, "{text}");
    assert!(found[0].1.contains("nobody:nogroup"), "{text}");
    // This machine's real nginx binary in the sysroot: Debian builds it without --user, so
    // the workers of an nginx.conf without `user` run as nobody:nogroup.
    if let Ok(real) = std::fs::read("/usr/sbin/nginx") {
        let tmp = tempfile::tempdir()?;
        let root = sysroot_with_binary(tmp.path(), Some(&real))?;
        let (found, text) = gw302(&root);
        if let Some(build) = nginx_gwlint::system::sysroot_build(&root).map(|(_, b)| b) {
            if build.user.is_none() {
                assert_eq!(found.len(), 1, "{text}");
                assert_eq!(found[0].0, Severity::Error, "{text}");
                assert!(found[0].1.contains("nobody:nogroup"), "{text}");
                assert!(found[0].1.contains("without --user"), "{text}");
            }
        }
    }
    Ok(())
}

/// `check --sysroot` takes the nginx version from the sysroot's binary, not this machine's.
#[test]
fn the_target_version_is_the_sysroots_nginx() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let fake = b"\0nginx/1.18.0\0configure arguments: --prefix=/etc/nginx\n\0";
    let root = sysroot_with_binary(tmp.path(), Some(fake))?;
    std::fs::write(
        root.join("etc/nginx/nginx.conf"),
        "events {}\nhttp {\n    server {\n        listen 8443 ssl;\n        http2 on;\n        ssl_certificate /etc/ssl/a.pem;\n        ssl_certificate_key /etc/ssl/a.key;\n    }\n}\n",
    )?;
    let out = bin()
        .args([
            "check",
            "--format",
            "concise",
            "--color",
            "never",
            "--sysroot",
        ])
        .arg(&root)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("unknown directive \"http2\" in nginx 1.18.0"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// The binary inside `--sysroot` gives its prefix (relative `load_module` paths) and its
/// dynamic modules (a stock directive before its `load_module` is unknown to it).
#[test]
fn the_sysroots_nginx_gives_module_paths_and_dynamic_modules() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let fake = b"\0nginx/1.22.1\0configure arguments: --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --with-stream=dynamic --with-http_geoip_module=dynamic\n\0";
    let root = sysroot_with_binary(tmp.path(), Some(fake))?;
    std::fs::create_dir_all(root.join("usr/share/nginx/modules"))?;
    std::fs::write(
        root.join("etc/nginx/nginx.conf"),
        "load_module modules/ngx_http_geoip_module.so;\nevents {}\nstream {\n    server { listen 13306; proxy_pass 127.0.0.1:3306; }\n}\n",
    )?;
    let (ws, diagnostics) = check_sysroot(&root, None);
    let text = concise(&ws, &diagnostics);
    let gw030 = of_rule(&diagnostics, "GW030");
    assert_eq!(gw030.len(), 1, "{text}");
    assert!(
        gw030[0]
            .message
            .contains("\"/usr/share/nginx/modules/ngx_http_geoip_module.so\""),
        "{text}"
    );
    let gw010 = of_rule(&diagnostics, "GW010");
    assert_eq!(gw010.len(), 1, "{text}");
    assert!(
        gw010[0].message.contains("unknown directive \"stream\""),
        "{text}"
    );
    assert!(
        gw010[0].message.contains("--sysroot's /usr/sbin/nginx"),
        "{text}"
    );
    // The module files there: nothing to say.
    std::fs::write(
        root.join("usr/share/nginx/modules/ngx_http_geoip_module.so"),
        "",
    )?;
    std::fs::write(
        root.join("etc/nginx/nginx.conf"),
        "load_module modules/ngx_http_geoip_module.so;\nload_module /usr/share/nginx/modules/ngx_stream_module.so;\nevents {}\nstream {\n    server { listen 13306; proxy_pass 127.0.0.1:3306; }\n}\n",
    )?;
    std::fs::write(
        root.join("usr/share/nginx/modules/ngx_stream_module.so"),
        "",
    )?;
    let (ws, diagnostics) = check_sysroot(&root, None);
    let text = concise(&ws, &diagnostics);
    assert!(of_rule(&diagnostics, "GW030").is_empty(), "{text}");
    assert!(of_rule(&diagnostics, "GW010").is_empty(), "{text}");
    Ok(())
}

/// A file named nginx.conf whose top level is `server` blocks (many repositories name their
/// site file so) is a site file, checked in the http context; a syntax error in a site file
/// does not make it nginx.conf either.
#[test]
fn a_site_file_named_nginx_conf_or_with_a_syntax_error_stays_a_site_file() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let conf = tmp.path().join("nginx.conf");
    std::fs::write(
        &conf,
        "server { listen 80; location / { proxy_pass http://127.0.0.1:8080; } }\n",
    )?;
    let (ws, diagnostics) = check_path(&conf, &LoadOptions::default());
    assert_eq!(ws.tree.root_context, Context::Http);
    assert!(diagnostics.is_empty(), "{}", concise(&ws, &diagnostics));
    let site = tmp.path().join("site.conf");
    std::fs::write(&site, "server {\n    listen 80;\n    root /a;;\n}\n")?;
    let (ws, diagnostics) = check_path(&site, &LoadOptions::default());
    let text = concise(&ws, &diagnostics);
    assert_eq!(ws.tree.root_context, Context::Http, "{text}");
    assert_eq!(of_rule(&diagnostics, "GW001").len(), 1, "{text}");
    assert!(of_rule(&diagnostics, "GW011").is_empty(), "{text}");
    // A real nginx.conf is still the main file: its missing events block is nginx's error.
    std::fs::write(&conf, "http { server { listen 80; } }\n")?;
    let (ws, diagnostics) = check_path(&conf, &LoadOptions::default());
    assert_eq!(ws.tree.root_context, Context::Main);
    assert!(of_rule(&diagnostics, "GW011")
        .iter()
        .any(|d| d.message.contains("no \"events\"")));
    Ok(())
}

/// A file that is only `stream { }` (or `mail { }`) blocks and is no nginx.conf is a fragment
/// nginx.conf includes at its top level: checked on its own it has no `events` of its own, and
/// nginx accepts it included from a main file that has one.
#[test]
fn a_protocol_block_fragment_checked_alone_needs_no_events() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let fragments = [
        (
            "stream.conf",
            "stream {\n    server {\n        listen 15432;\n        proxy_pass 127.0.0.1:5432;\n    }\n}\n",
        ),
        (
            "mail.conf",
            "mail {\n    server {\n        listen 1025;\n        protocol smtp;\n    }\n}\n",
        ),
    ];
    for (name, text) in fragments {
        let path = tmp.path().join(name);
        std::fs::write(&path, text)?;
        let (ws, diagnostics) = check_path(&path, &LoadOptions::default());
        let text = concise(&ws, &diagnostics);
        assert!(ws.tree.entry_is_snippet, "{name}: {text}");
        assert!(of_rule(&diagnostics, "GW011").is_empty(), "{name}: {text}");
    }
    // The oracle: nginx accepts the fragment included from a main file with `events`.
    let module = Path::new("/usr/lib/nginx/modules/ngx_stream_module.so");
    let conf = tmp.path().join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "load_module {};\nevents {{}}\ninclude stream.conf;\n",
            module.display()
        ),
    )?;
    if module.exists() {
        if let Some(stderr) = nginx_t(&conf) {
            assert!(
                stderr.contains("test is successful"),
                "nginx -t said: {stderr}"
            );
        }
    }
    // A stream block beside main-level directives is a main file: its missing events is
    // nginx's error.
    let main = tmp.path().join("lb.conf");
    std::fs::write(
        &main,
        "worker_processes 2;\nstream {\n    server {\n        listen 15432;\n        proxy_pass 127.0.0.1:5432;\n    }\n}\n",
    )?;
    let (ws, diagnostics) = check_path(&main, &LoadOptions::default());
    assert!(
        of_rule(&diagnostics, "GW011")
            .iter()
            .any(|d| d.message.contains("no \"events\"")),
        "{}",
        concise(&ws, &diagnostics)
    );
    Ok(())
}

/// A file that is only an `http { }` block and is no nginx.conf is a fragment nginx.conf
/// includes at its top level (`events {}` then `include http.conf;`, as crossplane's
/// includes-globbed does): checked on its own it gets no "no events section", and nginx
/// accepts it included so. `http { }` beside `events { }` or main-level directives is still a
/// main file.
#[test]
fn an_http_block_fragment_checked_alone_needs_no_events() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let fragment = tmp.path().join("http.conf");
    std::fs::write(
        &fragment,
        "http {\n    server {\n        listen 18291;\n        return 204;\n    }\n}\n",
    )?;
    let (ws, diagnostics) = check_path(&fragment, &LoadOptions::default());
    let text = concise(&ws, &diagnostics);
    assert!(ws.tree.entry_is_snippet, "{text}");
    assert!(of_rule(&diagnostics, "GW011").is_empty(), "{text}");
    // The oracle: nginx accepts the fragment included at main level beside `events`.
    let conf = tmp.path().join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "error_log {}/error.log;\npid {}/nginx.pid;\nevents {{}}\ninclude http.conf;\n",
            tmp.path().display(),
            tmp.path().display()
        ),
    )?;
    if crate::common::oracle::nginx().is_some() {
        assert_eq!(
            crate::common::nginx_test(&conf),
            None,
            "nginx -t refused it"
        );
    }
    // A main file written without events: nginx's error, and ours.
    for (name, text) in [
        (
            "site-main.conf",
            "worker_processes 1;\nhttp {\n    server {\n        listen 18291;\n    }\n}\n",
        ),
        (
            "app.conf",
            "http {\n    server {\n        listen 18291;\n    }\n}\nstream {\n}\nuser www-data;\n",
        ),
    ] {
        let main = tmp.path().join(name);
        std::fs::write(&main, text)?;
        let (ws, diagnostics) = check_path(&main, &LoadOptions::default());
        assert!(
            of_rule(&diagnostics, "GW011")
                .iter()
                .any(|d| d.message.contains("no \"events\"")),
            "{name}: {}",
            concise(&ws, &diagnostics)
        );
    }
    // nginx.conf itself is the main file even when it is only `http { }`.
    let main = tmp.path().join("sub/nginx.conf");
    std::fs::create_dir_all(tmp.path().join("sub"))?;
    std::fs::write(
        &main,
        "http {\n    server {\n        listen 18291;\n    }\n}\n",
    )?;
    let (ws, diagnostics) = check_path(&main, &LoadOptions::default());
    assert!(
        of_rule(&diagnostics, "GW011")
            .iter()
            .any(|d| d.message.contains("no \"events\"")),
        "{}",
        concise(&ws, &diagnostics)
    );
    Ok(())
}
