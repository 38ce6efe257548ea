//! Corpus repositories installed the way their own Dockerfile or README installs them, each
//! under a `--sysroot` (issue #14's "rebuild each repository's install layout"), and checked
//! as the target machine would see them: `check --sysroot ROOT ROOT/etc/nginx/nginx.conf`.
//!
//! A layout names the repository's files, where its install step puts them (with the file and
//! line of the Dockerfile or README that says so, at the corpus commit), and the base system
//! under them: the stock files of the distribution's nginx package, its accounts and its
//! `/var/run -> /run` link. The stock files are this machine's Debian package copies standing in
//! for the image's (mime.types and the `*_params` files differ between packages only in
//! comments and a few types); a file the image has and this machine does not is left out, and
//! then the check says so (GW002), which the snapshot shows.
//!
//! Each layout's findings are kept in `tests/corpus_layouts/NAME.snap` (UPDATE_SNAPSHOTS=1
//! rewrites them; review the diff); every error there was read and judged (the closing note of
//! the session that added it). `cargo test --test it corpus_layouts -- --nocapture` prints the
//! errors per rule of the same main file checked as a plain copy (before) and installed (after).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;

/// The system a repository's files are installed onto.
#[derive(Clone, Copy)]
enum Base {
    /// Debian's nginx package (/etc/nginx with sites-available, snippets, proxy_params).
    Debian,
    /// Alpine's nginx package (/etc/nginx with http.d, the `nginx` account).
    Alpine,
    /// The official `nginx` image (nginx.org's package: /etc/nginx/conf.d, the `nginx` account).
    NginxImage,
    /// nginx built from source and `make install`ed: every file comes from the repository.
    Source,
}

struct Layout {
    /// The snapshot's name.
    name: &'static str,
    /// The corpus directory (`owner__repo`).
    repo: &'static str,
    /// Where the layout is stated, at the corpus commit.
    source: &'static str,
    base: Base,
    /// The target's nginx version (from the image tag or the distribution's package).
    nginx_version: &'static str,
    /// (path in the repository, "" for all of its corpus files; path on the target).
    copies: &'static [(&'static str, &'static str)],
    /// (link on the target, its target as the install step writes it).
    links: &'static [(&'static str, &'static str)],
    /// Files of the base image the check needs that are not nginx's: (path, text).
    stand_ins: &'static [(&'static str, &'static str)],
    /// The repository's main file, for the "before" count (checked as a plain copy).
    main: &'static str,
    /// nginx.conf on the target (its `--conf-path`).
    conf: &'static str,
}

const LAYOUTS: &[Layout] = &[
    Layout {
        name: "trafex-docker-php-nginx",
        repo: "TrafeX__docker-php-nginx",
        source: "Dockerfile:50-57 (COPY config/nginx.conf /etc/nginx/nginx.conf, config/conf.d \
                 /etc/nginx/conf.d/, fpm-pool.conf ${PHP_INI_DIR}/php-fpm.d/www.conf, php.ini \
                 ${PHP_INI_DIR}/conf.d/custom.ini; PHP_INI_DIR=/etc/php85), FROM alpine:3.23",
        base: Base::Alpine,
        nginx_version: "1.28.0",
        copies: &[
            ("config/nginx.conf", "etc/nginx/nginx.conf"),
            ("config/conf.d", "etc/nginx/conf.d"),
            ("config/fpm-pool.conf", "etc/php85/php-fpm.d/www.conf"),
            ("config/php.ini", "etc/php85/conf.d/custom.ini"),
        ],
        links: &[],
        // Alpine's php85-fpm package: php-fpm.conf includes the pool directory.
        stand_ins: &[(
            "etc/php85/php-fpm.conf",
            "[global]\ninclude=/etc/php85/php-fpm.d/*.conf\n",
        )],
        main: "config/nginx.conf",
        conf: "etc/nginx/nginx.conf",
    },
    Layout {
        name: "richarvey-nginx-php-fpm",
        repo: "richarvey__nginx-php-fpm",
        source: "Dockerfile:97-107 (ADD conf/nginx.conf /etc/nginx/nginx.conf, nginx-site.conf \
                 /etc/nginx/sites-available/default.conf, nginx-site-ssl.conf \
                 .../default-ssl.conf, ln -s /etc/nginx/sites-available/default.conf \
                 /etc/nginx/sites-enabled/default.conf), FROM php:8.2.7-fpm-alpine3.18 (nginx \
                 1.24 from apk); the php-fpm pool is the image's www.conf edited by sed, not in \
                 the repository",
        base: Base::Alpine,
        nginx_version: "1.24.0",
        copies: &[
            ("conf/nginx.conf", "etc/nginx/nginx.conf"),
            (
                "conf/nginx-site.conf",
                "etc/nginx/sites-available/default.conf",
            ),
            (
                "conf/nginx-site-ssl.conf",
                "etc/nginx/sites-available/default-ssl.conf",
            ),
        ],
        links: &[(
            "etc/nginx/sites-enabled/default.conf",
            "/etc/nginx/sites-available/default.conf",
        )],
        stand_ins: &[],
        main: "conf/nginx.conf",
        conf: "etc/nginx/nginx.conf",
    },
    Layout {
        name: "nextcloud-insecure-mariadb-fpm",
        repo: "nextcloud__docker",
        source: ".examples/docker-compose/insecure/mariadb/fpm/compose.yaml (web: image \
                 nginx:alpine-slim, volumes ./web/nginx.conf:/etc/nginx/nginx.conf:ro; app: \
                 nextcloud:fpm-alpine, a separate container)",
        base: Base::NginxImage,
        nginx_version: "1.29.0",
        copies: &[(
            ".examples/docker-compose/insecure/mariadb/fpm/web/nginx.conf",
            "etc/nginx/nginx.conf",
        )],
        links: &[],
        stand_ins: &[],
        main: ".examples/docker-compose/insecure/mariadb/fpm/web/nginx.conf",
        conf: "etc/nginx/nginx.conf",
    },
    Layout {
        name: "getsentry-self-hosted",
        repo: "getsentry__self-hosted",
        source: "docker-compose.yml:606-617 (nginx: image nginx:1.31.3-alpine, bind ./nginx.conf \
                 on /etc/nginx/nginx.conf)",
        base: Base::NginxImage,
        nginx_version: "1.31.3",
        copies: &[("nginx.conf", "etc/nginx/nginx.conf")],
        links: &[],
        stand_ins: &[],
        main: "nginx.conf",
        conf: "etc/nginx/nginx.conf",
    },
    Layout {
        name: "pothi-wordpress-nginx",
        repo: "pothi__wordpress-nginx",
        source: "README.md:109-126 (cp -a wordpress-nginx/* /etc/nginx/ over Debian's, mkdir \
                 /etc/nginx/sites-enabled, the example.com site copied and enabled with ln -s \
                 ../sites-available/...)",
        base: Base::Debian,
        nginx_version: "1.22.1",
        copies: &[("", "etc/nginx")],
        links: &[(
            "etc/nginx/sites-enabled/example.com.conf",
            "../sites-available/example.com.conf",
        )],
        stand_ins: &[],
        main: "nginx.conf",
        conf: "etc/nginx/nginx.conf",
    },
    Layout {
        name: "h5bp-server-configs-nginx",
        repo: "h5bp__server-configs-nginx",
        source: "README.md:137-159 (the repository cloned as /etc/nginx; in conf.d, cp \
                 templates/example.com.conf actual-hostname.conf)",
        base: Base::Debian,
        nginx_version: "1.22.1",
        copies: &[
            ("", "etc/nginx"),
            (
                "conf.d/templates/example.com.conf",
                "etc/nginx/conf.d/actual-hostname.conf",
            ),
        ],
        links: &[],
        stand_ins: &[],
        main: "nginx.conf",
        conf: "etc/nginx/nginx.conf",
    },
    Layout {
        name: "perusio-drupal-with-nginx",
        repo: "perusio__drupal-with-nginx",
        source: "README.md:775-855 (git clone ... /etc/nginx in place of the old one, create \
                 /etc/nginx/sites-enabled and enable the virtual host)",
        base: Base::Debian,
        nginx_version: "1.22.1",
        copies: &[("", "etc/nginx")],
        links: &[(
            "etc/nginx/sites-enabled/example.com.conf",
            "/etc/nginx/sites-available/example.com.conf",
        )],
        stand_ins: &[],
        main: "nginx.conf",
        conf: "etc/nginx/nginx.conf",
    },
    Layout {
        name: "nginx-source-make-install",
        repo: "nginx__nginx",
        source: "auto/install:117-149 (conf/koi-win, koi-utf, win-utf, mime.types, \
                 fastcgi_params, fastcgi.conf, uwsgi_params, scgi_params and nginx.conf copied to \
                 $NGX_CONF_PREFIX; auto/options:645 NGX_CONF_PATH=conf/nginx.conf under the \
                 default prefix /usr/local/nginx)",
        base: Base::Source,
        nginx_version: "1.31.4",
        copies: &[("conf", "usr/local/nginx/conf")],
        links: &[],
        stand_ins: &[],
        main: "conf/nginx.conf",
        conf: "usr/local/nginx/conf/nginx.conf",
    },
];

/// Files the nginx package of `base` installs in /etc/nginx, copied from this machine's
/// package where it has them.
fn stock_files(base: Base) -> &'static [&'static str] {
    match base {
        Base::Debian => &[
            "mime.types",
            "fastcgi.conf",
            "fastcgi_params",
            "proxy_params",
            "scgi_params",
            "uwsgi_params",
            "koi-utf",
            "koi-win",
            "win-utf",
            "snippets/fastcgi-php.conf",
            "snippets/snakeoil.conf",
        ],
        Base::Alpine => &[
            "mime.types",
            "fastcgi.conf",
            "fastcgi_params",
            "scgi_params",
            "uwsgi_params",
        ],
        Base::NginxImage => &[
            "mime.types",
            "fastcgi_params",
            "scgi_params",
            "uwsgi_params",
        ],
        Base::Source => &[],
    }
}

/// The accounts of the base: Debian's base-passwd (www-data 33), Alpine's nginx package
/// (`adduser -S ... -G nginx nginx`), the official image (`nginx` 101).
fn accounts(base: Base) -> (&'static str, &'static str) {
    match base {
        Base::Debian => (
            "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            "root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n",
        ),
        Base::Alpine => (
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\nnginx:x:100:101:nginx:/var/lib/nginx:/sbin/nologin\n",
            "root:x:0:root\nnobody:x:65534:\nnginx:x:101:nginx\n",
        ),
        Base::NginxImage => (
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\nnginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\n",
            "root:x:0:root\nnobody:x:65534:\nnginx:x:101:nginx\n",
        ),
        // A Debian host building from source: its base-passwd (nginx's default user nobody).
        Base::Source => (
            "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            "root:x:0:\nnogroup:x:65534:\n",
        ),
    }
}

fn write(path: &Path, text: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The layout's system root, built under `root`.
fn install(layout: &Layout, corpus: &Path, root: &Path) {
    let (passwd, group) = accounts(layout.base);
    write(&root.join("etc/passwd"), passwd.as_bytes());
    write(&root.join("etc/group"), group.as_bytes());
    std::fs::create_dir_all(root.join("run")).unwrap();
    std::fs::create_dir_all(root.join("var")).unwrap();
    std::os::unix::fs::symlink("../run", root.join("var/run")).unwrap();
    let dirs: &[&str] = match layout.base {
        Base::Debian => &[
            "etc/nginx/conf.d",
            "etc/nginx/sites-available",
            "etc/nginx/sites-enabled",
            "etc/nginx/modules-enabled",
        ],
        Base::Alpine => &["etc/nginx/http.d", "etc/nginx/modules"],
        Base::NginxImage => &["etc/nginx/conf.d"],
        Base::Source => &["usr/local/nginx/logs"],
    };
    for d in dirs {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for name in stock_files(layout.base) {
        let from = Path::new("/etc/nginx").join(name);
        if let Ok(bytes) = std::fs::read(&from) {
            write(&root.join("etc/nginx").join(name), &bytes);
        }
    }
    let repo = corpus.join(layout.repo);
    for (from, to) in layout.copies {
        let src = repo.join(from);
        let dst = root.join(to);
        if src.is_dir() {
            common::copy_tree(&src, &dst).unwrap();
        } else {
            write(&dst, &std::fs::read(&src).unwrap());
        }
    }
    for (link, target) in layout.links {
        let at = root.join(link);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, at).unwrap();
    }
    for (path, text) in layout.stand_ins {
        write(&root.join(path), text.as_bytes());
    }
}

/// `check` in the concise format, the temp directory written as `ROOT`.
fn check(args: &[&std::ffi::OsStr], root: Option<&Path>) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_nginx-gwlint"))
        .arg("check")
        .args(args)
        .args(["--format", "concise", "--color", "never", "--exit-zero"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let code = out.status.code();
    assert!(
        code == Some(0),
        "check {args:?}: exit {code:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    match root {
        Some(root) => text.replace(&root.display().to_string(), "ROOT"),
        None => text,
    }
}

/// The files `check --format json` lists as read, `ROOT`-relative.
fn check_json(args: &[&std::ffi::OsStr], root: &Path) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_nginx-gwlint"))
        .arg("check")
        .args(args)
        .args(["--format", "json", "--exit-zero"])
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let prefix = root.display().to_string();
    value["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str())
        .map(|f| f.replace(&prefix, "ROOT"))
        .collect()
}

/// Errors per rule in concise output (`path:line:col: GWnnn [error] ...`).
fn errors_by_rule(concise: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in concise.lines() {
        let mut words = line.split_whitespace();
        let (Some(_), Some(rule), Some(severity)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        if severity == "[error]" {
            *out.entry(rule.to_owned()).or_default() += 1;
        }
    }
    out
}

#[test]
fn corpus_repositories_checked_as_installed() {
    let Some(shared) = common::oracle::shared() else {
        return;
    };
    let corpus = shared.join("corpus");
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus_layouts");
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for layout in LAYOUTS {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("sys");
        install(layout, &corpus, &root);
        let main: PathBuf = root.join(layout.conf);
        let after = check(
            &[
                "--sysroot".as_ref(),
                root.as_os_str(),
                "--nginx-version".as_ref(),
                layout.nginx_version.as_ref(),
                main.as_os_str(),
            ],
            Some(&root),
        );
        let read = check_json(
            &[
                "--sysroot".as_ref(),
                root.as_os_str(),
                "--nginx-version".as_ref(),
                layout.nginx_version.as_ref(),
                main.as_os_str(),
            ],
            &root,
        );
        let plain = corpus.join(layout.repo).join(layout.main);
        let before = check(
            &[
                "--nginx-version".as_ref(),
                layout.nginx_version.as_ref(),
                plain.as_os_str(),
            ],
            None,
        );
        table.push(format!(
            "{:34} before {:?}\n{:34} after  {:?}",
            layout.name,
            errors_by_rule(&before),
            "",
            errors_by_rule(&after)
        ));
        let text = format!(
            "# {} installed as {}\n# read: {}\n{after}",
            layout.repo.replace("__", "/"),
            layout
                .source
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            read.join(" ")
        );
        let snap = snapshots.join(format!("{}.snap", layout.name));
        if update {
            write(&snap, text.as_bytes());
        } else if std::fs::read_to_string(&snap).ok().as_deref() != Some(text.as_str()) {
            failures.push(format!(
                "{} differs from {} (UPDATE_SNAPSHOTS=1 rewrites it):\n{text}",
                layout.name,
                snap.display()
            ));
        }
    }
    println!(
        "errors per rule, plain copy vs installed:\n{}",
        table.join("\n")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
