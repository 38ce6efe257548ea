//! `cargo bench --bench memory [-- SERVERS...]`: resident memory per phase of `check` on
//! Linux, read from /proc/self/status: after each phase the resident set (VmRSS) and its peak
//! during the phase (VmHWM, reset before the phase through /proc/self/clear_refs). Phases:
//! load (files read, parsed, includes followed: source copies, line indexes and the syntax
//! trees), expand (the resolved tree and its indexes), rules (every rule and the findings),
//! json (the rendered report); after load, the heap the syntax trees hold. Trees as in
//! benches/parse.rs (benches/support/tree.rs, 20
//! servers per file; default 1,000 and 4,000 servers). The allocator is the binary's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

// Only the `sites` tree is used here.
#[allow(dead_code)]
#[path = "support/tree.rs"]
mod tree;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use nginx_gwlint::config::{load_path, ResolvedConfig};
use nginx_gwlint::lint::{lint, Selection};
use nginx_gwlint::settings::Settings;
use nginx_gwlint::workspace::Workspace;

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// (VmRSS, VmHWM) in bytes.
fn resident() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Runs `f`, prints the resident set after it and its peak during it, returns its result.
fn phase<T>(name: &str, input: u64, f: impl FnOnce() -> T) -> T {
    // "5" resets the peak resident set to the current one (proc(5), /proc/pid/clear_refs).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (before, _) = resident();
    let out = f();
    let (rss, peak) = resident();
    println!(
        "  {name:<7} rss {:7.1} MiB (+{:6.1})   peak {:7.1} MiB   peak/input {:5.1}x",
        mib(rss),
        mib(rss.saturating_sub(before)),
        mib(peak),
        peak as f64 / input as f64
    );
    out
}

fn main() {
    // `cargo test --all-targets` runs this unoptimized without --bench: a small tree only.
    let benching = std::env::args().any(|a| a == "--bench");
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = if benching { vec![1000, 4000] } else { vec![40] };
    }
    let settings = Settings::defaults().unwrap();
    for servers in sizes {
        let dir = tempfile::tempdir().unwrap();
        let bytes = tree::write_tree(dir.path(), servers.div_ceil(20), 20).unwrap();
        println!("{servers} servers, {:.1} MiB of config", mib(bytes));
        println!("  start   rss {:7.1} MiB", mib(resident().0));
        let tree = phase("load", bytes, || load_path(dir.path()).unwrap());
        let trees: usize = tree
            .nginx_files
            .iter()
            .filter_map(|f| tree.ast(*f))
            .map(|a| a.heap_size())
            .sum();
        println!(
            "          syntax trees {:.1} MiB ({:.2}x the input)",
            mib(trees as u64),
            trees as f64 / bytes as f64
        );
        let resolved = phase("expand", bytes, || ResolvedConfig::build(&tree));
        drop(resolved);
        let ws = Workspace::nginx_only(tree);
        let found = phase("rules", bytes, || {
            lint(&ws, &settings, &Selection::default())
        });
        let fps = nginx_gwlint::baseline::fingerprints(&ws.tree, &found);
        let json = phase("json", bytes, || {
            nginx_gwlint::report::render_json(&ws.tree.sources, &ws.tree.nginx_files, &found, &fps)
        });
        println!(
            "  {} findings, {:.1} MiB of JSON",
            found.len(),
            mib(json.len() as u64)
        );
    }
}
