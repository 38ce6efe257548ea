//! The fix engine on real files, driven by synthetic rules (no rule on this branch offers a fix
//! yet): bytes outside edits stay identical, a second run is a no-op, every written file
//! re-parses, a fix that breaks parsing is dropped, overlapping fixes wait for the next pass,
//! and writing is atomic, through symlinks, keeping mode and owner.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::common::write;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nginx_gwlint::config::{load_dump_with, load_path_with, ConfigTree, ResolvedConfig};
use nginx_gwlint::diagnostic::edits::{
    delete_directive, insert_directive_after, insert_directive_in_block, replace_word,
};
use nginx_gwlint::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
use nginx_gwlint::fix::{
    fix_until_stable, unified_diff, verify_with_nginx, write_changes, write_outcome, Checked,
    FileChange, FixError, FixOptions, FixOutcome,
};
use nginx_gwlint::syntax::{parse, Span};
use nginx_gwlint::workspace::Workspace;

type Rule = fn(&ConfigTree, &ResolvedConfig<'_>, &mut Vec<Diagnostic>);

fn read(p: &Path) -> String {
    String::from_utf8(std::fs::read(p).unwrap()).unwrap()
}

fn diag(
    rule: &'static str,
    file: nginx_gwlint::source::FileId,
    span: Span,
    fix: Fix,
) -> Diagnostic {
    Diagnostic::new(
        rule,
        "synthetic",
        Severity::Warning,
        file,
        span,
        "synthetic finding",
    )
    .with_fix(fix)
}

fn lint_with(tree: ConfigTree, rules: &[Rule]) -> Checked {
    let mut diagnostics = Vec::new();
    {
        let config = ResolvedConfig::build(&tree);
        for rule in rules {
            rule(&tree, &config, &mut diagnostics);
        }
    }
    diagnostics.sort_by_key(|d| d.sort_key());
    Checked {
        ws: Workspace::nginx_only(tree),
        diagnostics,
    }
}

fn run(root: &Path, rules: &[Rule], options: FixOptions) -> FixOutcome {
    fix_until_stable(
        |overlay| Ok(lint_with(load_path_with(root, overlay)?, rules)),
        &options,
    )
    .unwrap()
}

fn run_safe(root: &Path, rules: &[Rule]) -> FixOutcome {
    run(root, rules, FixOptions::default())
}

fn assert_changes_parse(outcome: &FixOutcome) {
    for c in &outcome.changes {
        assert!(parse(&c.fixed).is_ok(), "{} does not parse", c.display);
    }
}

/// GW901: `proxy_read_timeout` in a location with `fastcgi_pass` -> `fastcgi_read_timeout`.
fn rename_timeout(tree: &ConfigTree, config: &ResolvedConfig<'_>, out: &mut Vec<Diagnostic>) {
    let _ = tree;
    for (_, node) in config.iter() {
        if node.name() != "proxy_read_timeout" {
            continue;
        }
        let Some(parent) = node.parent() else {
            continue;
        };
        if config
            .children_named(Some(parent), "fastcgi_pass")
            .next()
            .is_none()
        {
            continue;
        }
        let fix = Fix::safe(
            "rename to fastcgi_read_timeout",
            vec![replace_word(
                node.file,
                node.directive.name_word(),
                "fastcgi_read_timeout",
            )],
        );
        out.push(diag("GW901", node.file, node.directive.span(), fix));
    }
}

/// GW902: every `proxy_pass` gets `proxy_http_version 1.1;` after it, unless its block has one.
fn add_http_version(tree: &ConfigTree, config: &ResolvedConfig<'_>, out: &mut Vec<Diagnostic>) {
    for (_, node) in config.iter() {
        if node.name() != "proxy_pass" {
            continue;
        }
        if config
            .children_named(node.parent(), "proxy_http_version")
            .next()
            .is_some()
        {
            continue;
        }
        let src = tree.sources.get(node.file);
        let fix = Fix::safe(
            "add proxy_http_version 1.1",
            vec![insert_directive_after(
                node.file,
                src,
                node.directive.span(),
                "proxy_http_version 1.1;",
            )],
        );
        out.push(diag("GW902", node.file, node.directive.span(), fix));
    }
}

/// GW903: a directive repeated with the same text in one block: delete the earlier one.
fn dedupe(tree: &ConfigTree, config: &ResolvedConfig<'_>, out: &mut Vec<Diagnostic>) {
    let blocks: Vec<_> = std::iter::once(None)
        .chain(config.ids().map(Some))
        .collect();
    for block in blocks {
        let children = config.children(block);
        for pair in children.windows(2) {
            let (a, b) = (config.node(pair[0]), config.node(pair[1]));
            if a.file != b.file || a.directive.has_block() {
                continue;
            }
            let src = tree.sources.get(a.file);
            if src.slice(a.directive.span()) != src.slice(b.directive.span()) {
                continue;
            }
            let fix = Fix::safe(
                "remove the earlier duplicate",
                vec![delete_directive(a.file, src, a.directive.span())],
            );
            out.push(diag("GW903", b.file, b.directive.span(), fix));
        }
    }
}

/// GW904: every `location` without `marker` gets `marker on;` as its first line.
fn add_marker(tree: &ConfigTree, config: &ResolvedConfig<'_>, out: &mut Vec<Diagnostic>) {
    for (id, node) in config.iter() {
        if node.name() != "location" || config.children_named(Some(id), "marker").next().is_some() {
            continue;
        }
        let src = tree.sources.get(node.file);
        let Some(edit) = insert_directive_in_block(node.file, src, node.directive, "marker on;")
        else {
            continue;
        };
        out.push(diag(
            "GW904",
            node.file,
            node.directive.name_word().span(),
            Fix::safe("add marker", vec![edit]),
        ));
    }
}

/// GW905: `break_me` is "fixed" into an unbalanced brace.
fn breaker(_: &ConfigTree, config: &ResolvedConfig<'_>, out: &mut Vec<Diagnostic>) {
    for (_, node) in config.iter() {
        if node.name() == "break_me" {
            let fix = Fix::safe(
                "break it",
                vec![Edit::replace(
                    node.file,
                    node.directive.name_word().span(),
                    "x {",
                )],
            );
            out.push(diag("GW905", node.file, node.directive.span(), fix));
        }
    }
}

const APP: &str = "# app server\nserver {\n\tlisten 8080;   # keep this comment\n\tlocation ~ \\.php$ {\n\t\tfastcgi_pass unix:/run/php/php8.2-fpm.sock;\n\t\tproxy_read_timeout   300s; # set by ops\n\t}\n\tlocation / {\n\t\tproxy_pass http://127.0.0.1:3000;\n\t}\n}\n";

fn app_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp {\n    include sites-enabled/*.conf;\n}\n",
    );
    write(dir.path(), "sites-enabled/app.conf", APP);
    dir
}

#[test]
fn rename_keeps_every_other_byte_and_a_second_run_is_a_no_op() {
    let dir = app_tree();
    let outcome = run_safe(dir.path(), &[rename_timeout, add_http_version]);
    assert_eq!(outcome.fixed(), 2, "{:?}", outcome.applied);
    assert!(outcome.remaining().is_empty());
    assert_eq!(outcome.changes.len(), 1);
    assert_changes_parse(&outcome);
    let expected = APP
        .replace("proxy_read_timeout   300s", "fastcgi_read_timeout   300s")
        .replace(
            "proxy_pass http://127.0.0.1:3000;\n",
            "proxy_pass http://127.0.0.1:3000;\n\t\tproxy_http_version 1.1;\n",
        );
    assert_eq!(String::from_utf8_lossy(&outcome.changes[0].fixed), expected);
    // Nothing was written by the engine itself.
    assert_eq!(read(&dir.path().join("sites-enabled/app.conf")), APP);

    let written = write_outcome(&outcome).unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(read(&dir.path().join("sites-enabled/app.conf")), expected);

    let again = run_safe(dir.path(), &[rename_timeout, add_http_version]);
    assert_eq!(again.fixed(), 0);
    assert!(again.changes.is_empty());
    assert_eq!(again.passes, 0);
}

#[test]
fn diff_has_relative_headers() {
    let dir = app_tree();
    let outcome = run_safe(dir.path(), &[rename_timeout]);
    let diff = String::from_utf8(unified_diff(&outcome.changes)).unwrap();
    assert!(
        diff.starts_with("--- a/sites-enabled/app.conf\n+++ b/sites-enabled/app.conf\n"),
        "{diff}"
    );
    assert!(diff.contains("-\t\tproxy_read_timeout   300s; # set by ops\n+\t\tfastcgi_read_timeout   300s; # set by ops\n"), "{diff}");
}

#[test]
fn overlapping_fixes_wait_for_the_next_pass() {
    /// GW906 rewrites the whole `a 1;` directive, GW907 only its argument: they overlap.
    fn whole(_: &ConfigTree, config: &ResolvedConfig<'_>, out: &mut Vec<Diagnostic>) {
        for (_, n) in config.iter() {
            if n.name() == "a" {
                let fix = Fix::safe(
                    "a -> b",
                    vec![Edit::replace(n.file, n.directive.span(), "b 1;")],
                );
                out.push(diag("GW906", n.file, n.directive.span(), fix));
            }
        }
    }
    fn arg(_: &ConfigTree, config: &ResolvedConfig<'_>, out: &mut Vec<Diagnostic>) {
        for (_, n) in config.iter() {
            let Some(word) = n.directive.args().first() else {
                continue;
            };
            if matches!(n.name(), "a" | "b") && word.as_str() == "1" {
                let fix = Fix::safe("1 -> 2", vec![replace_word(n.file, word, "2")]);
                out.push(diag("GW907", n.file, n.directive.span(), fix));
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "nginx.conf", "events {}\na 1;\nc 1;\n");
    let outcome = run_safe(dir.path(), &[whole, arg]);
    assert_eq!(
        String::from_utf8_lossy(&outcome.changes[0].fixed),
        "events {}\nb 2;\nc 1;\n"
    );
    assert_eq!(outcome.passes, 2);
    let rules: Vec<_> = outcome.applied.iter().map(|a| (a.rule, a.pass)).collect();
    assert_eq!(rules, [("GW906", 1), ("GW907", 2)]);
}

#[test]
fn a_fix_that_breaks_parsing_is_dropped_and_reported_once() {
    let dir = app_tree();
    write(
        dir.path(),
        "sites-enabled/other.conf",
        "server {\n    break_me 1;\n}\n",
    );
    let outcome = run_safe(dir.path(), &[rename_timeout, breaker]);
    assert_eq!(outcome.fixed(), 1);
    assert_eq!(outcome.dropped.len(), 1);
    let msg = outcome.dropped[0].to_string();
    assert!(
        msg.starts_with("fix \"break it\" for GW905 dropped: it would break parsing: "),
        "{msg}"
    );
    assert!(msg.contains("other.conf:"), "{msg}");
    assert_eq!(outcome.changes.len(), 1);
    assert!(outcome.changes[0].diff_path.ends_with("app.conf"));
    assert_changes_parse(&outcome);
    // The broken fix's diagnostic remains.
    assert!(outcome.remaining().iter().any(|d| d.rule == "GW905"));
}

#[test]
fn a_multi_file_fix_that_breaks_one_file_is_dropped_everywhere() {
    fn both(tree: &ConfigTree, _: &ResolvedConfig<'_>, out: &mut Vec<Diagnostic>) {
        let [a, b] = tree.nginx_files[1..3] else {
            return;
        };
        if tree.sources.get(a).text.starts_with(b"#") {
            return;
        }
        let fix = Fix::safe(
            "two files",
            vec![Edit::insert(a, 0, "# touched\n"), Edit::insert(b, 0, "}")],
        );
        out.push(diag("GW908", a, Span::empty(0), fix));
    }
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp { include a.conf; include b.conf; }\n",
    );
    write(dir.path(), "a.conf", "server { }\n");
    write(dir.path(), "b.conf", "server { }\n");
    let outcome = run_safe(dir.path(), &[both]);
    assert!(outcome.changes.is_empty());
    assert_eq!(outcome.dropped.len(), 1);
    assert!(outcome.dropped[0]
        .to_string()
        .contains("b.conf:1:1: unexpected \"}\""));
}

#[test]
fn crlf_files_get_crlf_lines() {
    let dir = tempfile::tempdir().unwrap();
    let text = "events {}\r\nhttp {\r\n  server {\r\n    location / {\r\n      proxy_pass http://a;\r\n    }\r\n  }\r\n}\r\n";
    let conf = write(dir.path(), "nginx.conf", text);
    let outcome = run_safe(dir.path(), &[add_http_version, add_marker]);
    assert_eq!(outcome.fixed(), 2);
    write_outcome(&outcome).unwrap();
    let out = read(&conf);
    assert_eq!(
        out,
        "events {}\r\nhttp {\r\n  server {\r\n    location / {\r\n      marker on;\r\n      proxy_pass http://a;\r\n      proxy_http_version 1.1;\r\n    }\r\n  }\r\n}\r\n"
    );
    assert_eq!(out.matches('\n').count(), out.matches("\r\n").count());
}

#[test]
fn a_file_without_final_newline_keeps_it_that_way() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp { server { include loc.conf; } }",
    );
    let loc = write(
        dir.path(),
        "loc.conf",
        "location / {\n    proxy_pass http://a;\n}\nx 1;\nx 1;",
    );
    let outcome = run_safe(dir.path(), &[add_http_version, dedupe]);
    write_outcome(&outcome).unwrap();
    assert_eq!(
        read(&loc),
        "location / {\n    proxy_pass http://a;\n    proxy_http_version 1.1;\n}\nx 1;"
    );
    let outcome = run_safe(dir.path(), &[add_http_version, dedupe]);
    assert!(outcome.changes.is_empty());
}

#[test]
fn delete_removes_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp {\n    keepalive_timeout 5s;\n    keepalive_timeout 5s;\n    keepalive_timeout 5s;\n    server { a 1; a 1; }\n}\n",
    );
    let outcome = run_safe(dir.path(), &[dedupe]);
    write_outcome(&outcome).unwrap();
    assert_eq!(
        read(&conf),
        "events {}\nhttp {\n    keepalive_timeout 5s;\n    server { a 1; }\n}\n"
    );
}

#[test]
fn symlinked_file_is_written_through_and_stays_a_link() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp { include sites-enabled/*; }\n",
    );
    let target = write(dir.path(), "sites-available/app.conf", APP);
    let link = dir.path().join("sites-enabled/app.conf");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("../sites-available/app.conf", &link).unwrap();
    let outcome = run_safe(dir.path(), &[rename_timeout]);
    assert_eq!(outcome.changes.len(), 1);
    // The diff names the real file, so `patch` edits it (it refuses to patch a symlink).
    assert_eq!(outcome.changes[0].diff_path, "sites-available/app.conf");
    let written = write_outcome(&outcome).unwrap();
    assert_eq!(written, [std::fs::canonicalize(&target).unwrap()]);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(read(&target).contains("fastcgi_read_timeout   300s"));
    assert_eq!(
        std::fs::read_dir(target.parent().unwrap()).unwrap().count(),
        1,
        "no temp file left"
    );
}

#[test]
fn a_file_reached_twice_is_fixed_and_written_once() {
    let dir = tempfile::tempdir().unwrap();
    // The same snippet included from two servers, and a link to it included too.
    write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp {\n  server { include a/php.conf; }\n  server { include a/php.conf; }\n  server { include b/php.conf; }\n}\n",
    );
    let snippet = write(
        dir.path(),
        "a/php.conf",
        "location ~ \\.php$ {\n  fastcgi_pass 127.0.0.1:9000;\n  proxy_read_timeout 60s;\n}\n",
    );
    std::fs::create_dir_all(dir.path().join("b")).unwrap();
    std::os::unix::fs::symlink("../a/php.conf", dir.path().join("b/php.conf")).unwrap();
    let outcome = run_safe(dir.path(), &[rename_timeout]);
    assert_eq!(outcome.fixed(), 1, "{:?}", outcome.applied);
    assert_eq!(outcome.changes.len(), 1);
    assert_eq!(outcome.changes[0].aliases.len(), 2);
    assert!(outcome.remaining().is_empty());
    let written = write_outcome(&outcome).unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(
        read(&snippet),
        "location ~ \\.php$ {\n  fastcgi_pass 127.0.0.1:9000;\n  fastcgi_read_timeout 60s;\n}\n"
    );
}

#[test]
fn a_parse_error_anywhere_means_nothing_is_fixed_or_written() {
    let dir = app_tree();
    write(dir.path(), "sites-enabled/broken.conf", "server {\n");
    let outcome = run_safe(dir.path(), &[rename_timeout]);
    assert!(outcome.changes.is_empty());
    assert_eq!(outcome.fixed(), 0);
    assert!(matches!(
        write_outcome(&outcome),
        Err(FixError::TreeDoesNotParse { .. })
    ));
    assert_eq!(read(&dir.path().join("sites-enabled/app.conf")), APP);
}

#[test]
fn a_dump_is_fixed_in_memory_but_never_written() {
    let dump = format!(
        "# configuration file /etc/nginx/nginx.conf:\nevents {{}}\nhttp {{ include /etc/nginx/sites-enabled/*.conf; }}\n\n# configuration file /etc/nginx/sites-enabled/app.conf:\n{APP}\n"
    );
    let outcome = fix_until_stable(
        |overlay| {
            Ok(lint_with(
                load_dump_with(dump.as_bytes(), overlay)?,
                &[rename_timeout],
            ))
        },
        &FixOptions::default(),
    )
    .unwrap();
    assert_eq!(outcome.fixed(), 1);
    assert_eq!(outcome.changes[0].diff_path, "sites-enabled/app.conf");
    assert!(matches!(write_outcome(&outcome), Err(FixError::FromDump)));
}

#[test]
fn unsafe_and_display_only_fixes() {
    fn levels(_: &ConfigTree, config: &ResolvedConfig<'_>, out: &mut Vec<Diagnostic>) {
        for (_, n) in config.iter() {
            let applicability = match n.name() {
                "u" => Applicability::Unsafe,
                "d" => Applicability::DisplayOnly,
                _ => continue,
            };
            let fix = Fix {
                applicability,
                title: "rename".into(),
                edits: vec![replace_word(n.file, n.directive.name_word(), "done")],
            };
            out.push(diag("GW909", n.file, n.directive.span(), fix));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "nginx.conf", "events {}\nu 1;\nd 1;\n");
    let safe = run_safe(dir.path(), &[levels]);
    assert_eq!(safe.fixed(), 0);
    assert_eq!(safe.unsafe_fixable(), 1);
    assert_eq!(
        safe.summary_line(true),
        "0 fixed, 2 remaining (1 fixable with --unsafe-fixes)"
    );
    let with_unsafe = run(
        dir.path(),
        &[levels],
        FixOptions {
            unsafe_fixes: true,
            ..FixOptions::default()
        },
    );
    assert_eq!(with_unsafe.fixed(), 1);
    assert_eq!(
        String::from_utf8_lossy(&with_unsafe.changes[0].fixed),
        "events {}\ndone 1;\nd 1;\n"
    );
    assert_eq!(
        with_unsafe.summary_line(false),
        "1 would be fixed, 1 remaining"
    );
}

#[test]
fn the_loop_is_bounded_and_stops_on_identical_text() {
    fn forever(_: &ConfigTree, config: &ResolvedConfig<'_>, out: &mut Vec<Diagnostic>) {
        for (_, n) in config.iter() {
            if n.name() == "grow" {
                let fix = Fix::safe(
                    "grow",
                    vec![Edit::insert(n.file, n.directive.span().end(), " ")],
                );
                out.push(diag("GW910", n.file, n.directive.span(), fix));
            }
        }
    }
    fn same(_: &ConfigTree, config: &ResolvedConfig<'_>, out: &mut Vec<Diagnostic>) {
        for (_, n) in config.iter() {
            if n.name() == "same" {
                let fix = Fix::safe(
                    "same",
                    vec![replace_word(n.file, n.directive.name_word(), "same")],
                );
                out.push(diag("GW911", n.file, n.directive.span(), fix));
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "nginx.conf", "events {}\ngrow 1;\n");
    let outcome = run(
        dir.path(),
        &[forever],
        FixOptions {
            max_passes: 3,
            ..FixOptions::default()
        },
    );
    assert!(outcome.hit_pass_limit);
    assert_eq!(outcome.passes, 3);
    assert_eq!(
        String::from_utf8_lossy(&outcome.changes[0].fixed),
        "events {}\ngrow 1;   \n"
    );

    write(dir.path(), "nginx.conf", "events {}\nsame 1;\n");
    let outcome = run_safe(dir.path(), &[same]);
    assert!(!outcome.hit_pass_limit);
    assert_eq!(outcome.passes, 0);
    assert_eq!(outcome.fixed(), 0);
    assert!(outcome.changes.is_empty());
}

#[test]
fn invalid_and_outside_edits_are_dropped() {
    fn bad(tree: &ConfigTree, _: &ResolvedConfig<'_>, out: &mut Vec<Diagnostic>) {
        let root = tree.root;
        let len = tree.sources.get(root).text.len();
        out.push(diag(
            "GW912",
            root,
            Span::empty(0),
            Fix::safe("past the end", vec![Edit::insert(root, len + 5, "x")]),
        ));
        out.push(diag(
            "GW913",
            root,
            Span::empty(0),
            Fix::safe(
                "self overlap",
                vec![
                    Edit::replace(root, Span::new(0, 4), "a"),
                    Edit::replace(root, Span::new(2, 6), "b"),
                ],
            ),
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "nginx.conf", "events {}\n");
    let outcome = run_safe(dir.path(), &[bad]);
    assert!(outcome.changes.is_empty());
    let msgs: Vec<String> = outcome.dropped.iter().map(ToString::to_string).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(msgs[0].contains("lies outside"), "{msgs:?}");
    assert!(msgs[1].contains("own edits overlap"), "{msgs:?}");
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[test]
fn mode_and_owner_are_kept() {
    let dir = app_tree();
    let app = dir.path().join("sites-enabled/app.conf");
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (uid, gid) = if running_as_root() {
        std::os::unix::fs::chown(&app, Some(4321), Some(8765)).unwrap();
        (4321, 8765)
    } else {
        let m = std::fs::metadata(&app).unwrap();
        (m.uid(), m.gid())
    };
    let outcome = run_safe(dir.path(), &[rename_timeout]);
    write_outcome(&outcome).unwrap();
    let m = std::fs::metadata(&app).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o640);
    assert_eq!((m.uid(), m.gid()), (uid, gid));
    assert!(read(&app).contains("fastcgi_read_timeout"));
}

#[test]
fn an_unwritable_target_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good/a.conf", "a;\n");
    let change = |path: &Path| FileChange {
        path: path.to_path_buf(),
        aliases: vec![path.to_path_buf()],
        display: path.display().to_string(),
        diff_path: path.display().to_string(),
        target: path.to_path_buf(),
        original: std::fs::read(path).unwrap(),
        fixed: b"b;\n".to_vec(),
    };
    // A directory no one can create files in: /proc even for root, a 0555 directory otherwise.
    let bad = if running_as_root() {
        PathBuf::from("/proc/version")
    } else {
        let p = write(dir.path(), "ro/b.conf", "a;\n");
        std::fs::set_permissions(p.parent().unwrap(), std::fs::Permissions::from_mode(0o555))
            .unwrap();
        p
    };
    let before = std::fs::read(&bad).unwrap();
    let err = write_changes(&[change(&good), change(&bad)]).unwrap_err();
    assert!(matches!(err, FixError::NotWritable { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("nothing written: cannot write next to "),
        "{err}"
    );
    assert_eq!(read(&good), "a;\n");
    assert_eq!(std::fs::read(&bad).unwrap(), before);
    let left: Vec<_> = std::fs::read_dir(good.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "temp files left: {left:?}");
}

#[test]
fn verify_with_nginx_accepts_a_good_fix_and_rejects_a_bad_one() {
    if common::oracle::nginx().is_none() {
        return;
    }
    let nginx = common::nginx_binary();
    let dir = app_tree();
    let good = run_safe(dir.path(), &[rename_timeout, add_http_version]);
    assert_eq!(good.fixed(), 2);
    verify_with_nginx(&nginx, &good).unwrap();

    // `marker` is no nginx directive: nginx -t refuses the fixed tree, not the original.
    let bad = run_safe(dir.path(), &[add_marker]);
    assert_eq!(bad.fixed(), 2);
    let err = verify_with_nginx(&nginx, &bad).unwrap_err();
    let FixError::VerifyFailed {
        stderr,
        original_fails,
    } = &err
    else {
        panic!("{err}");
    };
    assert!(!original_fails);
    assert!(
        stderr.contains("unknown directive \"marker\" in ")
            && stderr.contains("sites-enabled/app.conf:5"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("nginx-gwlint-verify"),
        "temp paths shown: {stderr}"
    );
    assert_eq!(read(&dir.path().join("sites-enabled/app.conf")), APP);
}

#[test]
fn verify_reads_the_copy_even_through_absolute_includes() {
    if common::oracle::nginx().is_none() {
        return;
    }
    // `include /etc/nginx/sites-enabled/*.conf` is found under the checked tree; nginx -t on
    // the copy must read the fixed copy, not the live /etc/nginx.
    let nginx = common::nginx_binary();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp {\n    include /etc/nginx/sites-enabled/*.conf;\n}\n",
    );
    write(dir.path(), "sites-enabled/app.conf", APP);
    let bad = run_safe(dir.path(), &[add_marker]);
    assert_eq!(bad.fixed(), 2);
    let err = verify_with_nginx(&nginx, &bad).unwrap_err();
    assert!(
        err.to_string().contains("unknown directive \"marker\""),
        "{err}"
    );
    // A tree that nginx already rejects is reported as such.
    write(
        dir.path(),
        "sites-enabled/app.conf",
        APP.replace("listen 8080;", "listen 8080 nonsense;"),
    );
    let bad = run_safe(dir.path(), &[add_marker]);
    // nginx stops at the `listen` error, before the markers: its answer is the same with and
    // without the fixes, and that is all `nginx -t` can tell (the CLI says so).
    let verdict = verify_with_nginx(&nginx, &bad).unwrap();
    let nginx_gwlint::fix::Verified::SameFailure(stderr) = verdict else {
        panic!("{verdict:?}");
    };
    assert!(
        stderr.contains("invalid parameter \"nonsense\""),
        "{stderr}"
    );
}

#[test]
fn verify_sees_files_relative_to_the_prefix() {
    if common::oracle::nginx().is_none() {
        return;
    }
    // A relative auth_basic_user_file / ssl file resolves against the copy's prefix: the files
    // that are not configs must be there too (linked), or nginx -t would fail on the copy only.
    let nginx = common::nginx_binary();
    let dir = app_tree();
    write(dir.path(), "secrets/htpasswd", "user:$apr1$x$y\n");
    write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp {\n    include mime.types;\n    include sites-enabled/*.conf;\n}\n",
    );
    std::fs::copy("/etc/nginx/mime.types", dir.path().join("mime.types")).unwrap();
    let site = APP.replace(
        "\tlisten 8080;",
        "\tlisten 8080;\n\tauth_basic_user_file secrets/htpasswd;\n\terror_log logs/site.log;",
    );
    std::fs::create_dir_all(dir.path().join("logs")).unwrap();
    write(dir.path(), "sites-enabled/app.conf", &site);
    assert_eq!(common::nginx_test(&dir.path().join("nginx.conf")), None);
    let good = run_safe(dir.path(), &[rename_timeout]);
    assert_eq!(good.fixed(), 1);
    verify_with_nginx(&nginx, &good).unwrap();
}

#[test]
fn a_fix_that_introduces_a_finding_is_left_out_and_the_others_applied() {
    /// GW920 inserts `bad 1;` after each `trigger`; GW921 reports every `bad`; GW922 renames
    /// `old` to `new`. GW920's fixes introduce GW921 findings: they are left out, GW922's kept.
    fn inserter(_: &ConfigTree, config: &ResolvedConfig<'_>, out: &mut Vec<Diagnostic>) {
        for (_, n) in config.iter() {
            if n.name() == "trigger" {
                let fix = Fix::safe(
                    "add bad",
                    vec![Edit::insert(n.file, n.directive.span().end(), " bad 1;")],
                );
                out.push(diag("GW920", n.file, n.directive.span(), fix));
            }
        }
    }
    fn reporter(_: &ConfigTree, config: &ResolvedConfig<'_>, out: &mut Vec<Diagnostic>) {
        for (_, n) in config.iter() {
            if n.name() == "bad" {
                out.push(Diagnostic::new(
                    "GW921",
                    "synthetic",
                    Severity::Error,
                    n.file,
                    n.directive.span(),
                    "bad is bad",
                ));
            }
        }
    }
    fn renamer(_: &ConfigTree, config: &ResolvedConfig<'_>, out: &mut Vec<Diagnostic>) {
        for (_, n) in config.iter() {
            if n.name() == "old" {
                let fix = Fix::safe(
                    "old -> new",
                    vec![replace_word(n.file, n.directive.name_word(), "new")],
                );
                out.push(diag("GW922", n.file, n.directive.span(), fix));
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "nginx.conf",
        "events {}\nold 1;\ntrigger 1;\nold 2;\ntrigger 2;\nold 3;\n",
    );
    let outcome = run_safe(dir.path(), &[inserter, reporter, renamer]);
    assert_eq!(
        String::from_utf8_lossy(&outcome.changes[0].fixed),
        "events {}\nnew 1;\ntrigger 1;\nnew 2;\ntrigger 2;\nnew 3;\n"
    );
    let rules: Vec<_> = outcome.applied.iter().map(|a| a.rule).collect();
    assert_eq!(rules, ["GW922", "GW922", "GW922"]);
    let dropped: Vec<String> = outcome.dropped.iter().map(ToString::to_string).collect();
    assert_eq!(dropped.len(), 2, "{dropped:?}");
    for d in &dropped {
        assert!(
            d.starts_with(
                "fix \"add bad\" for GW920 dropped: it would introduce GW921 synthetic at "
            ) && d.contains("nginx.conf:"),
            "{d}"
        );
    }
    // The GW920 findings remain, with their fixes not applied; a second run changes nothing.
    assert_eq!(
        outcome
            .remaining()
            .iter()
            .filter(|d| d.rule == "GW920")
            .count(),
        2
    );
    write_outcome(&outcome).unwrap();
    let again = run_safe(dir.path(), &[inserter, reporter, renamer]);
    assert!(again.changes.is_empty());
}
