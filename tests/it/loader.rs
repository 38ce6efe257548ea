//! The config tree loader: include resolution, globs, cycles, contexts, nginx -T dumps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::write;
use std::path::Path;

use nginx_gwlint::config::{load_dump, load_path, LoadProblemKind, ResolvedConfig};

use nginx_gwlint::directives::Context;

#[test]
fn includes_resolve_against_the_prefix_not_the_including_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "nginx.conf",
        "events {}\nhttp { include sites/*.conf; }\n",
    );
    // sites/app.conf includes `snippets/proxy.conf`: nginx looks in <prefix>/snippets, not sites/snippets.
    write(
        root,
        "sites/app.conf",
        "server { include snippets/proxy.conf; }\n",
    );
    write(root, "snippets/proxy.conf", "proxy_read_timeout 30s;\n");
    write(root, "sites/snippets/proxy.conf", "this would be wrong;\n");
    let tree = load_path(root).unwrap();
    assert!(tree.problems.is_empty(), "{:?}", tree.problems);
    let names: Vec<_> = tree
        .nginx_files
        .iter()
        .map(|f| tree.sources.get(*f).display.clone())
        .collect();
    assert_eq!(names.len(), 3);
    assert!(names[2].ends_with("snippets/proxy.conf") && !names[2].contains("sites/"));
    let cfg = ResolvedConfig::build(&tree);
    let (_, node) = cfg
        .iter()
        .find(|(_, n)| n.name() == "proxy_read_timeout")
        .unwrap();
    assert_eq!(node.context, Context::Server);
}

#[test]
fn globs_are_sorted_and_a_glob_matching_nothing_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "nginx.conf",
        "events {}\nhttp { include conf.d/*.conf; include empty.d/*.conf; }\n",
    );
    write(root, "conf.d/b.conf", "server { listen 2; }\n");
    write(root, "conf.d/a.conf", "server { listen 1; }\n");
    write(root, "conf.d/.hidden.conf", "server { listen 3; }\n");
    std::fs::create_dir_all(root.join("empty.d")).unwrap();
    let tree = load_path(root).unwrap();
    assert!(tree.problems.is_empty());
    let cfg = ResolvedConfig::build(&tree);
    let listens: Vec<_> = cfg
        .iter()
        .filter(|(_, n)| n.name() == "listen")
        .map(|(_, n)| n.arg(0).unwrap().to_owned())
        .collect();
    assert_eq!(listens, ["1", "2"]);
}

#[test]
fn missing_plain_include_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "nginx.conf", "events {}\ninclude nope.conf;\n");
    let tree = load_path(dir.path()).unwrap();
    assert!(matches!(
        &tree.problems[0].kind,
        LoadProblemKind::IncludeNotFound { path } if path.ends_with("nope.conf")
    ));
}

#[test]
fn include_cycles_are_found_with_their_chain_and_terminate() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "nginx.conf", "events {}\nhttp { include a.conf; }\n");
    write(root, "a.conf", "include b.conf;\n");
    write(root, "b.conf", "include a.conf;\n");
    let tree = load_path(root).unwrap();
    let cfg = ResolvedConfig::build(&tree);
    let chain = cfg
        .problems
        .iter()
        .find_map(|p| match &p.kind {
            LoadProblemKind::IncludeCycle { chain } => Some(chain.clone()),
            _ => None,
        })
        .expect("cycle reported");
    assert_eq!(chain.len(), 3);
    assert!(chain[0].ends_with("a.conf") && chain[2].ends_with("a.conf"));
}

#[test]
fn the_same_file_in_two_contexts_is_read_once_and_expanded_twice() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "nginx.conf",
        "events {}\nhttp { server { include common.conf; location / { include common.conf; } } }\n",
    );
    write(root, "common.conf", "proxy_read_timeout 30s;\n");
    let tree = load_path(root).unwrap();
    assert_eq!(tree.nginx_files.len(), 2);
    let cfg = ResolvedConfig::build(&tree);
    let contexts: Vec<_> = cfg
        .iter()
        .filter(|(_, n)| n.name() == "proxy_read_timeout")
        .map(|(_, n)| n.context)
        .collect();
    assert_eq!(contexts, [Context::Server, Context::Location]);
}

#[test]
fn each_file_must_balance_its_own_braces() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "nginx.conf",
        "events {}\nhttp {\ninclude open.conf;\n}\n",
    );
    write(root, "open.conf", "server {\n");
    let tree = load_path(root).unwrap();
    assert_eq!(tree.parse_errors.len(), 1);
    let (file, err) = &tree.parse_errors[0];
    assert!(tree.sources.get(*file).display.ends_with("open.conf"));
    assert_eq!(err.message, "unexpected end of file, expecting \"}\"");
}

#[test]
fn absolute_includes_are_looked_up_inside_a_copied_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "nginx.conf",
        "events {}\nhttp { include /etc/nginx/conf.d/*.conf; include /etc/nginx/mime.types; }\n",
    );
    write(root, "conf.d/app.conf", "server { listen 81; }\n");
    write(root, "mime.types", "types { text/html html; }\n");
    let tree = load_path(root).unwrap();
    assert!(tree.problems.is_empty(), "{:?}", tree.problems);
    assert_eq!(tree.nginx_files.len(), 3);
}

#[test]
fn nginx_t_dump_is_split_and_includes_resolve_inside_it() {
    let dump = b"# configuration file /etc/nginx/nginx.conf:\n\
events {}\nhttp { include /etc/nginx/conf.d/*.conf; include mime.types; }\n\n\
# configuration file /etc/nginx/mime.types:\ntypes { text/html html; }\n\n\
# configuration file /etc/nginx/conf.d/app.conf:\nserver { listen 80; }\n\n";
    let tree = load_dump(dump).unwrap();
    assert!(tree.from_dump);
    assert!(tree.problems.is_empty(), "{:?}", tree.problems);
    assert_eq!(tree.nginx_files.len(), 3);
    let cfg = ResolvedConfig::build(&tree);
    assert!(cfg
        .iter()
        .any(|(_, n)| n.name() == "listen" && n.context == Context::Server));
}

#[test]
fn directory_without_nginx_conf_uses_the_single_main_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "main.conf", "events {}\nhttp {}\n");
    write(dir.path(), "snippet.conf", "proxy_read_timeout 1s;\n");
    let tree = load_path(dir.path()).unwrap();
    assert!(tree.sources.get(tree.root).display.ends_with("main.conf"));
}

#[test]
fn load_path_with_overlay_reads_patched_texts_and_keeps_display_paths() {
    use nginx_gwlint::config::{load_path_with, Overlay};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "nginx.conf",
        "events {}\nhttp { include conf.d/*.conf; }\n",
    );
    write(root, "conf.d/a.conf", "server { listen 1; }\n");
    write(root, "extra.conf", "server { listen 2; }\n");
    let plain = load_path(root).unwrap();
    let conf_a = plain.sources.get(plain.nginx_files[1]).path.clone();
    let main = plain.sources.get(plain.root).path.clone();

    let mut overlay = Overlay::default();
    overlay.insert(conf_a.clone(), b"server { listen 3; }\n".to_vec());
    // A patched main file may include a file that is only on disk.
    overlay.insert(
        main,
        b"events {}\nhttp { include conf.d/*.conf; include extra.conf; }\n".to_vec(),
    );
    let patched = load_path_with(root, &overlay).unwrap();
    let shown = |t: &nginx_gwlint::config::ConfigTree| -> Vec<String> {
        t.nginx_files
            .iter()
            .map(|f| t.sources.get(*f).display.clone())
            .collect()
    };
    assert_eq!(shown(&patched)[..2], shown(&plain)[..]);
    assert_eq!(patched.nginx_files.len(), 3);
    let a = patched.sources.find(&conf_a).unwrap();
    assert_eq!(patched.sources.get(a).text, b"server { listen 3; }\n");
    // The disk is untouched.
    assert_eq!(
        std::fs::read(root.join("conf.d/a.conf")).unwrap(),
        b"server { listen 1; }\n"
    );
}

#[test]
fn load_dump_with_overlay() {
    use nginx_gwlint::config::{load_dump_with, Overlay};
    let dump = b"# configuration file /etc/nginx/nginx.conf:\nevents {}\ninclude a.conf;\n\n\
# configuration file /etc/nginx/a.conf:\nuser x;\n";
    let mut overlay = Overlay::default();
    overlay.insert("/etc/nginx/a.conf".into(), b"user y;\n".to_vec());
    let tree = load_dump_with(dump, &overlay).unwrap();
    assert!(tree.from_dump);
    let a = tree.sources.find(Path::new("/etc/nginx/a.conf")).unwrap();
    assert_eq!(tree.sources.get(a).text, b"user y;\n");
    assert_eq!(tree.sources.get(a).display, "/etc/nginx/a.conf");
}

#[test]
fn stock_files_left_out_of_a_copied_tree_come_from_the_package_or_are_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp { include mime.types; include /etc/nginx/fastcgi_params; }\n",
    );
    let tree = load_path(dir.path()).unwrap();
    for stock in ["/etc/nginx/mime.types", "/etc/nginx/fastcgi_params"] {
        let installed = Path::new(stock).is_file();
        let read = tree
            .nginx_files
            .iter()
            .any(|f| tree.sources.get(*f).path == Path::new(stock));
        let flagged = tree.problems.iter().any(|p| {
            matches!(&p.kind, LoadProblemKind::StockIncludeMissing { path } if path.ends_with(Path::new(stock).file_name().unwrap().to_str().unwrap()))
        });
        // On a machine with nginx installed the package's file is read; without, a stock-file
        // problem (a warning in GW002), never a plain "not found".
        assert_eq!(
            (read, flagged),
            (installed, !installed),
            "{stock}: {:?}",
            tree.problems
        );
    }
    assert!(!tree
        .problems
        .iter()
        .any(|p| matches!(p.kind, LoadProblemKind::IncludeNotFound { .. })));
}

#[test]
fn a_copied_tree_never_reads_this_machines_site_files() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp { include /etc/nginx/sites-enabled/*; include /etc/nginx/conf.d/site.conf; }\n",
    );
    let tree = load_path(dir.path()).unwrap();
    assert_eq!(tree.nginx_files.len(), 1, "only nginx.conf is read");
    let outside = tree
        .problems
        .iter()
        .filter(|p| matches!(p.kind, LoadProblemKind::OutsideTree { .. }))
        .count();
    assert_eq!(outside, 2, "{:?}", tree.problems);
}

#[test]
fn an_absolute_glob_into_an_empty_directory_of_the_copy_matches_nothing_quietly() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp { include /etc/nginx/conf.d/*.conf; }\n",
    );
    std::fs::create_dir_all(dir.path().join("conf.d")).unwrap();
    let tree = load_path(dir.path()).unwrap();
    assert!(tree.problems.is_empty(), "{:?}", tree.problems);
    assert_eq!(tree.nginx_files.len(), 1);
}

#[test]
fn nul_bytes_in_comments_are_fine_in_tokens_they_are_binary() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        b"# pasted \x00 garbage\nevents {}\nhttp {}\n",
    )
    .unwrap();
    assert!(load_path(dir.path()).unwrap().parse_errors.is_empty());
    std::fs::write(
        dir.path().join("nginx.conf"),
        b"events {}\nuser www\x00data;\n",
    )
    .unwrap();
    let tree = load_path(dir.path()).unwrap();
    assert_eq!(tree.parse_errors.len(), 1);
    assert!(tree.parse_errors[0].1.message.starts_with("binary file"));
    assert_eq!(tree.parse_errors[0].1.offset, 18);
}
