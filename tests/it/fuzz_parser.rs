//! Property tests: the parser and the whole check pipeline never panic, whatever the bytes,
//! and every tree they accept is lossless. `PROPTEST_CASES=100000 cargo test --release --test
//! fuzz_parser` runs a long session.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use nginx_gwlint::config::load_path;
use nginx_gwlint::lint::{lint, Selection};
use nginx_gwlint::settings::Settings;
use nginx_gwlint::syntax::parse;
use proptest::prelude::*;

/// Fragments that exercise every tokenizer state.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b" ".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\t".to_vec()),
        Just(b";".to_vec()),
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"#".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"'".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"$".to_vec()),
        Just(b"${".to_vec()),
        Just(b")".to_vec()),
        Just(b"location".to_vec()),
        Just(b"server".to_vec()),
        Just(b"http".to_vec()),
        Just(b"map".to_vec()),
        Just(b"upstream".to_vec()),
        Just(b"include".to_vec()),
        Just(b"proxy_pass".to_vec()),
        Just(b"fastcgi_pass".to_vec()),
        Just(b"proxy_read_timeout".to_vec()),
        Just(b"content_by_lua_block".to_vec()),
        Just(b"[[".to_vec()),
        Just(b"]]".to_vec()),
        Just(b"--".to_vec()),
        Just(b"60s".to_vec()),
        Just(b"unix:/run/php/php-fpm.sock".to_vec()),
        Just(b"http://127.0.0.1:3000".to_vec()),
        Just(vec![0xff, 0xfe]),
        Just(vec![0xc3, 0xa9]),
        proptest::collection::vec(any::<u8>(), 0..4),
    ]
}

fn config_like() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(fragment(), 0..80).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(crate::common::proptest_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(ast) = parse(&bytes) {
            common::assert_lossless(&ast, &bytes);
        }
    }

    #[test]
    fn config_like_input_never_panics_and_is_lossless(bytes in config_like()) {
        match parse(&bytes) {
            Ok(ast) => common::assert_lossless(&ast, &bytes),
            Err(e) => prop_assert!(e.offset <= bytes.len()),
        }
    }
}

proptest! {
    #![proptest_config(crate::common::proptest_cases(300))]

    /// The loader and every rule on random trees of three files including each other.
    #[test]
    fn check_pipeline_never_panics(
        main in config_like(),
        a in config_like(),
        b in config_like(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut main = main;
        main.extend_from_slice(b"\ninclude a.conf;\ninclude *.conf;\n");
        std::fs::write(dir.path().join("nginx.conf"), &main).unwrap();
        std::fs::write(dir.path().join("a.conf"), &a).unwrap();
        std::fs::write(dir.path().join("b.conf"), &b).unwrap();
        let tree = load_path(dir.path()).unwrap();
        let settings = Settings::defaults().unwrap();
        let ws = nginx_gwlint::workspace::Workspace::nginx_only(tree);
        let _ = lint(&ws, &settings, &Selection::default());
    }
}
