//! README.md's Rules table must match the registry. Rules are added in parallel branches, so
//! the table is generated (`nginx-gwlint rules --format markdown`), never edited by hand.
//!
//! `UPDATE_README=1 cargo test --test it readme_rules` rewrites the table between the markers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use crate::common;

use nginx_gwlint::report::rules_doc::{
    readme_with_rules_table, rules_markdown, README_TABLE_END, README_TABLE_START,
};

#[test]
fn readme_rules_table_is_current() {
    let path = common::root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let Some(expected) = readme_with_rules_table(&readme) else {
        panic!("README.md has no {README_TABLE_START} ... {README_TABLE_END} markers");
    };
    if expected == readme {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(&path, expected).unwrap();
        eprintln!("README.md: rules table rewritten");
        return;
    }
    panic!(
        "README.md's rules table is stale. Regenerate it with\n\n    UPDATE_README=1 cargo test --test it readme_rules\n\n(or paste `nginx-gwlint rules --format markdown` between the markers). Expected table:\n\n{}",
        rules_markdown()
    );
}
