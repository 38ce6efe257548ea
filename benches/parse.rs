//! `cargo bench --bench parse`: parse and load throughput on a generated tree of 300 files and
//! 3000 server blocks (benches/support/tree.rs). bench/compare.sh times crossplane, gixy-ng and
//! `nginx -t` on the same tree.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/tree.rs"]
mod tree;

// The same allocator as the binary (src/main.rs), so the numbers are the tool's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nginx_gwlint::config::{load_path, ResolvedConfig};
use nginx_gwlint::lint::{lint, Selection};
use nginx_gwlint::settings::Settings;
use nginx_gwlint::syntax::parse;
use nginx_gwlint::workspace::Workspace;

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let bytes = tree::write_tree(dir.path(), 300, 10).unwrap();
    let files: Vec<Vec<u8>> = walk(dir.path());

    let mut g = c.benchmark_group("tree-300-files-3000-servers");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(20);
    g.bench_function("parse (in memory)", |b| {
        b.iter(|| {
            for f in &files {
                std::hint::black_box(parse(f).unwrap());
            }
        })
    });
    g.bench_function("load (read + parse + includes)", |b| {
        b.iter(|| std::hint::black_box(load_path(dir.path()).unwrap()))
    });
    g.bench_function("load + resolve", |b| {
        b.iter(|| {
            let tree = load_path(dir.path()).unwrap();
            let resolved = ResolvedConfig::build(&tree);
            std::hint::black_box(resolved.nodes.len());
        })
    });
    let settings = Settings::defaults().unwrap();
    g.bench_function("check (load + every rule)", |b| {
        b.iter(|| {
            let ws = Workspace::nginx_only(load_path(dir.path()).unwrap());
            std::hint::black_box(lint(&ws, &settings, &Selection::default()).len());
        })
    });
    g.finish();
}

fn walk(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "conf") {
            out.push(std::fs::read(entry.path()).unwrap());
        }
    }
    out
}

criterion_group!(parse_benches, benches);
criterion_main!(parse_benches);
