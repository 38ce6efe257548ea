//! Fixes that compose and never make a configuration worse (issue #11), through the binary.
//!
//! Every case is a small tree written to a temp dir. [`compose`] runs `check --fix
//! --unsafe-fixes` on it and requires: `nginx -t` still passes when it passed before, no finding
//! the original did not have (matched by fingerprint, else by rule and file), no U+FFFD written
//! where there was none, and a second `--fix` run that changes no byte. Each case then checks
//! what the fix did (or did not do) to its own lines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::common::bin;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A pool listening where the cases' `fastcgi_pass` connects, owned by the worker user (so no
/// GW302 noise), with `max_execution_time` from `php.ini`.
const POOL: &str = "[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\nlisten.owner = www-data\nlisten.group = www-data\npm = static\npm.max_children = 5\n";

fn php_ini(max_execution_time: u32) -> String {
    format!("[PHP]\nmax_execution_time = {max_execution_time}\n")
}

struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new(files: &[(&str, &[u8])]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
        }
        Tree { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn read(&self, rel: &str) -> String {
        String::from_utf8(std::fs::read(self.path().join(rel)).unwrap()).unwrap()
    }

    /// Every file's bytes, by relative path.
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(root, &p, out);
                } else {
                    out.insert(
                        p.strip_prefix(root).unwrap().to_path_buf(),
                        std::fs::read(&p).unwrap(),
                    );
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(self.path(), self.path(), &mut out);
        out
    }

    /// `check` arguments: the tree, and its `php/` folder when there is one.
    fn args(&self) -> Vec<String> {
        let mut args = vec![self.path().display().to_string()];
        if self.path().join("php").is_dir() {
            args.push(format!("--php={}", self.path().join("php").display()));
        }
        args
    }

    /// The findings of `check --format json`, as (rule, file, fingerprint, message, has fix).
    fn findings(&self) -> Vec<Finding> {
        let out = bin()
            .arg("check")
            .args(self.args())
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "check failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| Finding {
                rule: d["rule"].as_str().unwrap().to_owned(),
                file: d["file"].as_str().unwrap().to_owned(),
                fingerprint: d["fingerprint"].as_str().unwrap_or_default().to_owned(),
                message: format!(
                    "{} ({})",
                    d["message"].as_str().unwrap_or_default(),
                    d["help"].as_str().unwrap_or_default()
                ),
                fixable: !d["fix"].is_null(),
            })
            .collect()
    }

    /// `check --fix --unsafe-fixes`: its stderr.
    fn fix(&self) -> String {
        self.fix_with(&[])
    }

    /// `check --fix --unsafe-fixes` with more arguments (`--select`).
    fn fix_with(&self, more: &[&str]) -> String {
        let out = bin()
            .arg("check")
            .args(self.args())
            .args(["--fix", "--unsafe-fixes", "--format", "concise"])
            .args(more)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "--fix failed: {stderr}"
        );
        stderr
    }

    /// nginx -t's verdict; without nginx (a fresh clone, `common::oracle` says so once) every
    /// tree counts as accepted and only the lint-side checks run.
    fn nginx_t(&self) -> Option<(String, usize)> {
        common::oracle::nginx()?;
        common::nginx_test(&self.path().join("nginx.conf"))
    }
}

#[derive(Debug, Clone)]
struct Finding {
    rule: String,
    file: String,
    fingerprint: String,
    message: String,
    fixable: bool,
}

/// Fixes `tree` and checks the invariants every fix must keep; returns the findings left.
fn compose(tree: &Tree) -> Vec<Finding> {
    let before_nginx = tree.nginx_t();
    let before = tree.findings();
    let before_files = tree.snapshot();
    tree.fix();
    let after_files = tree.snapshot();
    if before_nginx.is_none() {
        assert_eq!(
            tree.nginx_t(),
            None,
            "nginx -t refuses the fixed tree:\n{}",
            dump(&after_files)
        );
    }
    let after = tree.findings();
    for f in &after {
        let old = before.iter().any(|b| b.fingerprint == f.fingerprint)
            || before.iter().any(|b| b.rule == f.rule && b.file == f.file);
        assert!(
            old,
            "the fix introduced {f:?}\nbefore: {before:#?}\n{}",
            dump(&after_files)
        );
    }
    for (path, text) in &after_files {
        let replacement = "\u{fffd}".as_bytes();
        let had = before_files
            .get(path)
            .is_some_and(|t| t.windows(3).any(|w| w == replacement));
        assert!(
            had || !text.windows(3).any(|w| w == replacement),
            "{} got U+FFFD",
            path.display()
        );
    }
    // A second run finds nothing more to change.
    let stderr = tree.fix();
    assert_eq!(
        tree.snapshot(),
        after_files,
        "a second --fix changed files: {stderr}"
    );
    assert!(stderr.contains("0 fixed"), "{stderr}");
    assert!(
        tree.findings().iter().all(|f| !f.fixable),
        "a fix is still offered after fixing"
    );
    after
}

fn dump(files: &BTreeMap<PathBuf, Vec<u8>>) -> String {
    files
        .iter()
        .map(|(p, t)| format!("--- {}\n{}", p.display(), String::from_utf8_lossy(t)))
        .collect()
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

/// The body of `location PATH {` in `text`, up to its closing brace (cases have no nesting).
fn location<'a>(text: &'a str, path: &str) -> &'a str {
    let head = format!("location {path} {{");
    let start = text
        .find(&head)
        .unwrap_or_else(|| panic!("no {head} in:\n{text}"));
    let body = &text[start + head.len()..];
    &body[..body.find('}').unwrap()]
}

// --- 1. GW101's rename and GW104's raise: one fastcgi_read_timeout per location -------------

#[test]
fn gw101_rename_and_gw104_raise_leave_one_timeout() {
    let ini = php_ini(200);
    let files: &[(&str, &[u8])] = &[
        (
            "nginx.conf",
            b"events {}\nhttp {\n    server {\n        listen 8080;\n        location ~ \\.php$ {\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n            proxy_read_timeout 120s;\n        }\n    }\n}\n",
        ),
        ("php/php.ini", ini.as_bytes()),
        ("php/pool.d/www.conf", POOL.as_bytes()),
    ];
    let tree = Tree::new(files);
    let left = compose(&tree);
    let one_raised_timeout = |tree: &Tree| {
        let conf = tree.read("nginx.conf");
        let body = location(&conf, "~ \\.php$");
        assert_eq!(count(body, "fastcgi_read_timeout"), 1, "{conf}");
        assert!(body.contains("fastcgi_read_timeout 205s;"), "{conf}");
        assert!(!body.contains("proxy_read_timeout"), "{conf}");
    };
    one_raised_timeout(&tree);
    assert!(left.iter().all(|f| f.rule != "GW104" && f.rule != "GW101"));
    // Without GW014 to clean up a duplicate afterwards, the two fixes still make one line.
    let tree = Tree::new(files);
    tree.fix_with(&["--select", "GW101,GW104"]);
    one_raised_timeout(&tree);
    assert_eq!(tree.nginx_t(), None);
}

#[test]
fn gw104_raises_a_timeout_an_include_sets_where_it_is() {
    let tree = Tree::new(&[
        (
            "nginx.conf",
            b"events {}\nhttp {\n    server {\n        listen 8080;\n        location ~ \\.php$ {\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n            include snippets/timeouts.conf;\n        }\n    }\n}\n",
        ),
        ("snippets/timeouts.conf", b"fastcgi_read_timeout 100s;\n"),
        ("php/php.ini", php_ini(200).as_bytes()),
        ("php/pool.d/www.conf", POOL.as_bytes()),
    ]);
    compose(&tree);
    let conf = tree.read("nginx.conf");
    assert_eq!(count(&conf, "fastcgi_read_timeout"), 0, "{conf}");
    assert_eq!(
        tree.read("snippets/timeouts.conf"),
        "fastcgi_read_timeout 205s;\n"
    );
}

#[test]
fn gw104_leaves_a_timeout_a_shared_include_sets() {
    let site = b"events {}\nhttp {\n    server {\n        listen 8080;\n        location ~ \\.php$ {\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n            include snippets/timeouts.conf;\n        }\n        location /legacy/ {\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n            include snippets/timeouts.conf;\n        }\n    }\n}\n";
    let tree = Tree::new(&[
        ("nginx.conf", site),
        ("snippets/timeouts.conf", b"fastcgi_read_timeout 100s;\n"),
        ("php/php.ini", php_ini(200).as_bytes()),
        ("php/pool.d/www.conf", POOL.as_bytes()),
    ]);
    let left = compose(&tree);
    assert_eq!(tree.read("nginx.conf").as_bytes(), site);
    assert_eq!(
        tree.read("snippets/timeouts.conf"),
        "fastcgi_read_timeout 100s;\n"
    );
    let gw104: Vec<_> = left.iter().filter(|f| f.rule == "GW104").collect();
    assert!(!gw104.is_empty());
    assert!(
        gw104
            .iter()
            .all(|f| f.message.contains("included from several places")),
        "{gw104:#?}"
    );
}

#[test]
fn gw104_puts_the_timeout_in_the_location_when_the_handler_is_a_shared_snippet() {
    let tree = Tree::new(&[
        (
            "nginx.conf",
            b"events {}\nhttp {\n    server {\n        listen 8080;\n        location ~ \\.php$ {\n            include snippets/php.conf;\n        }\n        location /admin/ {\n            include snippets/php.conf;\n            fastcgi_read_timeout 300s;\n        }\n    }\n}\n",
        ),
        (
            "snippets/php.conf",
            b"fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n",
        ),
        ("php/php.ini", php_ini(200).as_bytes()),
        ("php/pool.d/www.conf", POOL.as_bytes()),
    ]);
    compose(&tree);
    assert_eq!(
        tree.read("snippets/php.conf"),
        "fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n"
    );
    let conf = tree.read("nginx.conf");
    assert!(
        location(&conf, "~ \\.php$").contains("fastcgi_read_timeout 205s;"),
        "{conf}"
    );
    assert_eq!(count(location(&conf, "/admin/"), "fastcgi_read_timeout"), 1);
}

// --- 2. GW104 never proposes what GW103 reports --------------------------------------------

#[test]
fn gw104_stays_within_gw103s_limit() {
    let tree = Tree::new(&[
        (
            "nginx.conf",
            b"events {}\nhttp {\n    server {\n        listen 8080;\n        location ~ \\.php$ {\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n        }\n    }\n}\n",
        ),
        ("php/php.ini", php_ini(300).as_bytes()),
        ("php/pool.d/www.conf", POOL.as_bytes()),
    ]);
    let left = compose(&tree);
    assert!(
        tree.read("nginx.conf").contains("fastcgi_read_timeout 5m;"),
        "{}",
        tree.read("nginx.conf")
    );
    assert!(left.iter().all(|f| f.rule != "GW103" && f.rule != "GW104"));
}

#[test]
fn gw104_offers_no_fix_beyond_gw103s_limit_and_says_why() {
    let conf = b"events {}\nhttp {\n    server {\n        listen 8080;\n        location ~ \\.php$ {\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n        }\n    }\n}\n";
    let tree = Tree::new(&[
        ("nginx.conf", conf),
        ("php/php.ini", php_ini(1800).as_bytes()),
        ("php/pool.d/www.conf", POOL.as_bytes()),
    ]);
    let left = compose(&tree);
    assert_eq!(tree.read("nginx.conf").as_bytes(), conf);
    let gw104: Vec<_> = left.iter().filter(|f| f.rule == "GW104").collect();
    assert_eq!(gw104.len(), 1, "{left:#?}");
    assert!(!gw104[0].fixable);
    assert!(
        gw104[0].message.contains("background job") && gw104[0].message.contains("GW103"),
        "{}",
        gw104[0].message
    );
    // A stricter GW103 setting moves the limit GW104 keeps to.
    std::fs::write(
        tree.path().join("nginx-gwlint.toml"),
        "[rules.GW103]\nmax-timeout = \"1h\"\n",
    )
    .unwrap();
    compose(&tree);
    assert!(tree
        .read("nginx.conf")
        .contains("fastcgi_read_timeout 1805s;"));
}

// --- 3. GW207 -------------------------------------------------------------------------------

#[test]
fn gw207_puts_keep_conn_in_the_including_locations_not_the_shared_snippet() {
    let tree = Tree::new(&[
        (
            "nginx.conf",
            b"events {}\nhttp {\n    upstream php {\n        server 127.0.0.1:9000;\n        keepalive 8;\n    }\n    server {\n        listen 8080;\n        location /a.php {\n            include snippets/php.conf;\n        }\n        location /b.php {\n            include snippets/php.conf;\n            fastcgi_keep_conn on;\n        }\n        location /c.php {\n            include snippets/php.conf;\n        }\n    }\n}\n",
        ),
        ("snippets/php.conf", b"fastcgi_pass php;\n"),
    ]);
    let left = compose(&tree);
    assert_eq!(tree.read("snippets/php.conf"), "fastcgi_pass php;\n");
    let conf = tree.read("nginx.conf");
    for path in ["/a.php", "/b.php", "/c.php"] {
        assert_eq!(
            count(location(&conf, path), "fastcgi_keep_conn on;"),
            1,
            "{conf}"
        );
    }
    assert!(left.iter().all(|f| f.rule != "GW207"), "{left:#?}");
}

#[test]
fn gw207_never_clears_connection_in_a_websocket_location() {
    let tree = Tree::new(&[(
        "nginx.conf",
        b"events {}\nhttp {\n    upstream app {\n        server 127.0.0.1:3000;\n        keepalive 8;\n    }\n    server {\n        listen 8080;\n        location /ws/ {\n            proxy_pass http://app;\n            proxy_http_version 1.1;\n            proxy_set_header Upgrade $http_upgrade;\n            proxy_set_header Connection \"upgrade\";\n        }\n        location /live/ {\n            proxy_pass http://app;\n            proxy_http_version 1.1;\n            proxy_set_header Upgrade $http_upgrade;\n        }\n    }\n}\n",
    )]);
    let left = compose(&tree);
    let conf = tree.read("nginx.conf");
    assert!(!conf.contains("Connection \"\""), "{conf}");
    assert!(!conf.contains("Connection ''"), "{conf}");
    // GW401's unsafe fix may switch the hard-coded value to the map; never to nothing.
    let ws = location(&conf, "/ws/");
    assert!(
        ws.contains("Connection \"upgrade\"") || ws.contains("$connection_upgrade"),
        "{conf}"
    );
    // /live/ sends nginx's default `Connection: close`: still reported, with the reason.
    let live: Vec<_> = left.iter().filter(|f| f.rule == "GW207").collect();
    assert_eq!(live.len(), 1, "{left:#?}");
    assert!(live[0].message.contains("WebSocket"), "{}", live[0].message);
}

#[test]
fn gw207_copies_inherited_headers_byte_for_byte_or_not_at_all() {
    let mut latin1 = b"events {}\nhttp {\n    upstream app {\n        server 127.0.0.1:3000;\n        keepalive 8;\n    }\n    server {\n        listen 8080;\n        proxy_set_header X-Name \"caf".to_vec();
    latin1.push(0xe9);
    latin1.extend_from_slice(b"\";\n        location / {\n            proxy_pass http://app;\n        }\n    }\n    server {\n        listen 8081;\n        proxy_set_header X-Name \"caf\xc3\xa9\";\n        location / {\n            proxy_pass http://app;\n        }\n    }\n}\n");
    let tree = Tree::new(&[("nginx.conf", &latin1)]);
    compose(&tree);
    let text = std::fs::read(tree.path().join("nginx.conf")).unwrap();
    // The Latin-1 server is left as it was: its header cannot be an edit's text unchanged.
    let cut = text.windows(11).position(|w| w == b"listen 8081").unwrap();
    assert_eq!(&text[..cut], &latin1[..cut]);
    // The UTF-8 one gets the copy, the same bytes, before Connection "".
    let second = String::from_utf8(text[cut..].to_vec()).unwrap();
    assert_eq!(count(&second, "proxy_set_header X-Name \"caf\u{e9}\";"), 2);
    assert!(
        second.contains("proxy_set_header Connection \"\";"),
        "{second}"
    );
}

// --- 4. GW401: the map comes with the fix that needs it, once ------------------------------

#[test]
fn gw401_fix_brings_its_map_when_a_sibling_is_suppressed() {
    let tree = Tree::new(&[(
        "nginx.conf",
        b"events {}\nhttp {\n    server {\n        listen 8080;\n        # nginx-gwlint: ignore GW401 the backend wants it on every request\n        proxy_set_header Connection \"upgrade\";\n        location / {\n            proxy_pass http://127.0.0.1:3000;\n        }\n        location /b/ {\n            proxy_pass http://127.0.0.1:3001;\n            proxy_set_header Connection \"upgrade\";\n        }\n        location /c/ {\n            proxy_pass http://127.0.0.1:3002;\n            proxy_set_header Connection upgrade;\n        }\n    }\n}\n",
    )]);
    let left = compose(&tree);
    let conf = tree.read("nginx.conf");
    assert_eq!(
        count(&conf, "map $http_upgrade $connection_upgrade"),
        1,
        "{conf}"
    );
    assert_eq!(count(&conf, "$connection_upgrade"), 3, "{conf}");
    // The suppressed one stays.
    assert!(conf
        .contains("wants it on every request\n        proxy_set_header Connection \"upgrade\";"));
    assert!(left.iter().all(|f| f.rule != "GW401"));
}

#[test]
fn gw401_uses_a_map_that_already_exists() {
    let tree = Tree::new(&[
        (
            "nginx.conf",
            b"events {}\nhttp {\n    include conf.d/*.conf;\n    server {\n        listen 8080;\n        location / {\n            proxy_pass http://127.0.0.1:3000;\n            proxy_set_header Connection \"upgrade\";\n        }\n    }\n}\n",
        ),
        (
            "conf.d/upgrade.conf",
            b"map $http_upgrade $connection_upgrade {\n    default upgrade;\n    '' close;\n}\n",
        ),
    ]);
    compose(&tree);
    let conf = tree.read("nginx.conf");
    assert_eq!(count(&conf, "map "), 0, "{conf}");
    assert!(conf.contains("proxy_set_header Connection \"$connection_upgrade\";"));
}

#[test]
fn gw401_in_a_websocket_only_location_is_info() {
    // nginx's own first example (https://nginx.org/en/docs/http/websocket.html).
    let tree = Tree::new(&[(
        "nginx.conf",
        b"events {}\nhttp {\n    upstream backend {\n        server 127.0.0.1:3000;\n    }\n    server {\n        listen 8080;\n        location /chat/ {\n            proxy_pass http://backend;\n            proxy_http_version 1.1;\n            proxy_set_header Upgrade $http_upgrade;\n            proxy_set_header Connection \"upgrade\";\n        }\n    }\n}\n",
    )]);
    let out = bin()
        .arg("check")
        .arg(tree.path())
        .args(["--format", "json", "--select", "GW401"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &v["diagnostics"][0];
    assert_eq!(d["rule"], "GW401");
    assert_eq!(d["severity"], "info", "{d}");
    assert_eq!(out.status.code(), Some(0));
    compose(&tree);
}

// --- 5. GW107 settles -----------------------------------------------------------------------

#[test]
fn gw107_settles_below_a_1s_backend_keepalive() {
    let tree = Tree::new(&[
        (
            "nginx.conf",
            b"events {}\nhttp {\n    upstream app {\n        server 127.0.0.1:3000;\n        keepalive 8;\n        keepalive_timeout 30s;\n    }\n    server {\n        listen 8080;\n        location / {\n            proxy_http_version 1.1;\n            proxy_set_header Connection \"\";\n            proxy_pass http://app;\n        }\n    }\n}\n",
        ),
        (
            "nginx-gwlint.toml",
            b"[[backend]]\nname = \"api\"\naddress = \"127.0.0.1:3000\"\nkind = \"other\"\nkeepalive_timeout = \"1s\"\n",
        ),
    ]);
    let left = compose(&tree);
    assert!(tree.read("nginx.conf").contains("keepalive_timeout 500ms;"));
    assert!(left.iter().all(|f| f.rule != "GW107"), "{left:#?}");
}

// --- 6. Files included from several places --------------------------------------------------

#[test]
fn gw101_renames_in_a_shared_snippet_only_when_right_everywhere() {
    let conf = b"events {}\nhttp {\n    server {\n        listen 8080;\n        location ~ \\.php$ {\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n            include snippets/php-timeouts.conf;\n        }\n        location /legacy/ {\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n            include snippets/php-timeouts.conf;\n        }\n        location ~ \\.cgi$ {\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n            include snippets/mixed.conf;\n        }\n        location /api/ {\n            proxy_pass http://127.0.0.1:3000;\n            include snippets/mixed.conf;\n        }\n    }\n}\n";
    let tree = Tree::new(&[
        ("nginx.conf", conf),
        ("snippets/php-timeouts.conf", b"proxy_read_timeout 50s;\n"),
        ("snippets/mixed.conf", b"proxy_send_timeout 50s;\n"),
    ]);
    compose(&tree);
    assert_eq!(tree.read("nginx.conf").as_bytes(), conf);
    // Both includers are FastCGI locations: the rename is right in each.
    assert_eq!(
        tree.read("snippets/php-timeouts.conf"),
        "fastcgi_read_timeout 50s;\n"
    );
    // A FastCGI and a proxy location: renaming would break the proxy one.
    assert_eq!(
        tree.read("snippets/mixed.conf"),
        "proxy_send_timeout 50s;\n"
    );
}

#[test]
fn gw402_adds_the_version_in_the_including_location_not_the_shared_snippet() {
    let tree = Tree::new(&[
        (
            "nginx.conf",
            b"events {}\nhttp {\n    server {\n        listen 8080;\n        location /ws/ {\n            proxy_pass http://127.0.0.1:3000;\n            include snippets/ws.conf;\n        }\n        location /live/ {\n            proxy_pass http://127.0.0.1:3001;\n            include snippets/ws.conf;\n        }\n    }\n}\n",
        ),
        (
            "snippets/ws.conf",
            b"proxy_set_header Upgrade $http_upgrade;\nproxy_set_header Connection \"upgrade\";\n",
        ),
    ]);
    compose(&tree);
    let conf = tree.read("nginx.conf");
    for path in ["/ws/", "/live/"] {
        assert_eq!(
            count(location(&conf, path), "proxy_http_version 1.1;"),
            1,
            "{conf}"
        );
    }
    assert!(!tree.read("snippets/ws.conf").contains("proxy_http_version"));
}

#[test]
fn gw104_raises_an_outer_timeout_rather_than_leaving_it_without_effect() {
    // Two PHP locations inherit 30s from server; a new line in each would leave the server's
    // fastcgi_read_timeout reaching only the proxy location (GW101: no effect).
    let tree = Tree::new(&[
        (
            "nginx.conf",
            b"events {}\nhttp {\n    server {\n        listen 8080;\n        fastcgi_read_timeout 30s;\n        location / {\n            proxy_pass http://127.0.0.1:3000;\n        }\n        location /a.php {\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n        }\n        location /b.php {\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n        }\n    }\n}\n",
        ),
        ("php/php.ini", php_ini(200).as_bytes()),
        ("php/pool.d/www.conf", POOL.as_bytes()),
    ]);
    let left = compose(&tree);
    let conf = tree.read("nginx.conf");
    assert_eq!(count(&conf, "fastcgi_read_timeout"), 1, "{conf}");
    assert!(
        conf.contains("        fastcgi_read_timeout 205s;\n"),
        "{conf}"
    );
    assert!(left.iter().all(|f| f.rule != "GW101" && f.rule != "GW104"));
}

#[test]
fn nothing_is_added_to_a_block_whose_include_was_not_read() {
    // The include exists on the target only: it may set any of the lines a fix would add.
    let conf = b"events {}\nhttp {\n    upstream php {\n        server 127.0.0.1:9000;\n        keepalive 8;\n    }\n    server {\n        listen 8080;\n        location ~ \\.php$ {\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n            include snippets/generated-on-the-target.conf;\n            proxy_read_timeout 120s;\n        }\n        location /pool/ {\n            fastcgi_pass php;\n            include snippets/generated-on-the-target.conf;\n        }\n    }\n}\n";
    let tcp_pool = POOL
        .replace("[www]", "[tcp]")
        .replace("/run/php/php8.2-fpm.sock", "127.0.0.1:9000");
    let tree = Tree::new(&[
        ("nginx.conf", conf),
        ("php/php.ini", php_ini(200).as_bytes()),
        ("php/pool.d/www.conf", POOL.as_bytes()),
        ("php/pool.d/tcp.conf", tcp_pool.as_bytes()),
    ]);
    let left = compose(&tree);
    assert_eq!(tree.read("nginx.conf").as_bytes(), conf);
    for rule in ["GW101", "GW104", "GW207"] {
        let f: Vec<_> = left.iter().filter(|f| f.rule == rule).collect();
        assert!(!f.is_empty(), "{rule}: {left:#?}");
        assert!(f.iter().all(|f| !f.fixable), "{f:#?}");
    }
    assert!(left
        .iter()
        .any(|f| f.message.contains("which was not read")));
}
