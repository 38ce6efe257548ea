//! `cargo bench --bench parse`: `check` per phase (parse in memory, load = read + parse +
//! includes, expand = load + the resolved tree, rules = load + expand + every rule) on generated
//! trees of 1,000 and 4,000 server blocks (20 per file; benches/support/tree.rs), and one case
//! per dimension `check` must stay linear in: many findings (with their baseline fingerprints
//! and matching, and their JSON), a one-line file of many directives, deep nesting, a wide
//! upstream, many include files. Before those, a scaling table: each dimension's lint at a
//! size and at four times it, with the ratio of the two times (about 4 when linear; a rule
//! that pairs every X with every Y shows as 16).
//! bench/compare.sh times whole processes against crossplane, gixy-ng, nginx-lint and `nginx -t`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "support/tree.rs"]
mod tree;

// The same allocator as the binary (src/main.rs), so the numbers are the tool's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use nginx_gwlint::baseline::{self, Baseline};
use nginx_gwlint::config::{load_path, ResolvedConfig};
use nginx_gwlint::lint::{lint, Selection};
use nginx_gwlint::report::render_json;
use nginx_gwlint::settings::Settings;
use nginx_gwlint::syntax::parse;
use nginx_gwlint::workspace::Workspace;

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn group<'a>(c: &'a mut Criterion, name: &str, bytes: u64) -> Group<'a> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    g
}

/// The four phases of `check` on the tree in `dir`.
fn phases(g: &mut Group<'_>, dir: &Path, settings: &Settings) {
    let files = walk(dir);
    g.bench_function("parse (in memory)", |b| {
        b.iter(|| {
            for f in &files {
                std::hint::black_box(parse(f).unwrap());
            }
        })
    });
    g.bench_function("load (read + parse + includes)", |b| {
        b.iter(|| std::hint::black_box(load_path(dir).unwrap()))
    });
    g.bench_function("expand (load + resolved tree)", |b| {
        b.iter(|| {
            let tree = load_path(dir).unwrap();
            let resolved = ResolvedConfig::build(&tree);
            std::hint::black_box(resolved.nodes.len());
        })
    });
    g.bench_function("rules (load + expand + every rule)", |b| {
        b.iter(|| {
            let ws = Workspace::nginx_only(load_path(dir).unwrap());
            std::hint::black_box(lint(&ws, settings, &Selection::default()).len());
        })
    });
}

fn benches(c: &mut Criterion) {
    let settings = Settings::defaults().unwrap();
    // `cargo test --all-targets` runs each bench once, unoptimized: there the inputs are
    // small, so the suite stays quick; `cargo bench` (which passes --bench) gets the sizes.
    let scale = if std::env::args().any(|a| a == "--bench") {
        1
    } else {
        100
    };
    scaling(&settings, scale);
    for servers in [1000, 4000].map(|n| n / scale.min(50)) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = tree::write_tree(dir.path(), servers / 20, 20).unwrap();
        let mut g = group(c, &format!("sites-{servers}-servers"), bytes);
        phases(&mut g, dir.path(), &settings);
        g.finish();
    }

    // Findings: 20,000 locations, four findings per pair (80,000 in all), their fingerprints
    // and a baseline hiding all of them.
    let dir = tempfile::tempdir().unwrap();
    let bytes = tree::write_shape(dir.path(), "findings", 20_000 / scale, 1).unwrap();
    let ws = Workspace::nginx_only(load_path(dir.path()).unwrap());
    let found = lint(&ws, &settings, &Selection::default());
    assert!(found.len() >= 60_000 / scale, "{} findings", found.len());
    let mut g = group(c, &format!("findings-{}", found.len()), bytes);
    g.bench_function("rules", |b| {
        b.iter(|| std::hint::black_box(lint(&ws, &settings, &Selection::default()).len()))
    });
    g.bench_function("json output (with fingerprints)", |b| {
        let fps = baseline::fingerprints(&ws.tree, &found);
        b.iter(|| {
            let files = &ws.tree.nginx_files;
            std::hint::black_box(render_json(&ws.tree.sources, files, &found, &fps).len())
        })
    });
    g.bench_function("baseline fingerprints", |b| {
        b.iter(|| std::hint::black_box(baseline::fingerprints(&ws.tree, &found).len()))
    });
    let fps = baseline::fingerprints(&ws.tree, &found);
    let recorded = Baseline::of(&ws.tree, &found, &fps);
    g.bench_function("baseline match", |b| {
        b.iter(|| {
            let (mut d, mut f) = (found.clone(), fps.clone());
            let hidden = recorded.matcher().hide(&ws.tree, &mut d, &mut f);
            assert_eq!(hidden, found.len());
        })
    });
    g.finish();

    // Other dimensions: one line of 1M directives, nesting near the limit, 100k upstream
    // members, 20k include files (and one snippet included 20k times).
    for (shape, n) in [
        ("oneline", 1_000_000),
        ("deep", 12_000),
        ("members", 100_000),
        ("includes", 20_000),
    ] {
        let n = n / scale;
        let dir = tempfile::tempdir().unwrap();
        let bytes = tree::write_shape(dir.path(), shape, n, 1).unwrap();
        let mut g = group(c, &format!("{shape}-{n}"), bytes);
        let text = std::fs::read(dir.path().join("nginx.conf")).unwrap();
        g.bench_function("parse (in memory)", |b| {
            b.iter(|| std::hint::black_box(parse(&text).unwrap()))
        });
        g.bench_function("rules (load + expand + every rule)", |b| {
            b.iter(|| {
                let ws = Workspace::nginx_only(load_path(dir.path()).unwrap());
                std::hint::black_box(lint(&ws, &settings, &Selection::default()).len());
            })
        });
        g.finish();
    }
}

/// Load + expand + every rule on each dimension's shape at `n` and `4n`: the best of three
/// runs each, and their ratio.
fn scaling(settings: &Settings, scale: usize) {
    let time = |dir: &Path| {
        (0..3)
            .map(|_| {
                let start = std::time::Instant::now();
                let ws = Workspace::nginx_only(load_path(dir).unwrap());
                std::hint::black_box(lint(&ws, settings, &Selection::default()).len());
                start.elapsed()
            })
            .min()
            .unwrap_or_default()
    };
    println!("scaling (load + expand + rules; best of 3; ratio 4 is linear):");
    println!(
        "{:<10} {:>9} {:>11} {:>9} {:>11} {:>6}",
        "shape", "n", "time", "4n", "time", "ratio"
    );
    for (shape, n) in [
        ("sites", 50),
        ("findings", 5_000),
        ("oneline", 250_000),
        ("deep", 2_000),
        ("members", 25_000),
        ("includes", 5_000),
    ] {
        let n = (n / scale).max(1);
        let measure = |n: usize| {
            let dir = tempfile::tempdir().unwrap();
            // `sites` is n files of 20 servers; the others n of their unit.
            match shape {
                "sites" => tree::write_tree(dir.path(), n, 20).unwrap(),
                _ => tree::write_shape(dir.path(), shape, n, 1).unwrap(),
            };
            time(dir.path())
        };
        let (small, large) = (measure(n), measure(4 * n));
        let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-9);
        println!(
            "{shape:<10} {n:>9} {:>8.2} ms {:>9} {:>8.2} ms {ratio:>6.1}",
            small.as_secs_f64() * 1e3,
            4 * n,
            large.as_secs_f64() * 1e3
        );
    }
}

fn walk(dir: &Path) -> Vec<Vec<u8>> {
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
