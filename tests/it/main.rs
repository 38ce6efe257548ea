//! The integration tests, one binary: each file is a module, helpers live once in `common`.
//! One binary links the crate once instead of once per file (the test build and CI time were
//! dominated by ~30 links of the whole crate), and its tests run in parallel together.
//!
//! Run a part with a filter: `cargo test --test it rules::` or `cargo test --test it -- gate::`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod backends;
mod cli;
mod cli_fix;
mod cli_flags;
mod compose_cli;
mod corpus_check;
mod corpus_layouts;
mod corpus_parse;
mod diagnose;
mod diagnose_cli;
mod diagnose_nginx;
mod directives_nginx_oracle;
mod dist;
mod fix_compose;
mod fix_engine;
mod fix_property;
mod fix_safety;
mod formats;
mod fuzz_parser;
mod gate;
mod loader;
mod lsp;
mod lsp_property;
mod nginx_differential;
mod nginx_oracle;
mod parallel;
mod parser_golden;
mod readme_rules;
mod rules;
mod rules_lab;
mod structure_corpus;
mod timeouts_lab;
mod trees;
mod upstream_lab;
