//! Writes the benchmark config tree (see benches/support/tree.rs) so other tools can be timed
//! on the same input: `cargo run --release --example gen_bench_tree -- DIR [FILES] [SERVERS]
//! [SHAPE]` (SHAPE: sites, the default, or one of the linearity shapes of tree.rs).
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../benches/support/tree.rs"]
mod tree;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: gen_bench_tree DIR [FILES=300] [SERVERS_PER_FILE=10] [SHAPE=sites]");
        std::process::exit(2);
    };
    let files = args.next().and_then(|a| a.parse().ok()).unwrap_or(300);
    let servers = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let shape = args.next().unwrap_or_else(|| "sites".to_owned());
    match tree::write_shape(std::path::Path::new(&dir), &shape, files, servers) {
        Ok(bytes) => println!("{bytes}"),
        Err(e) => {
            eprintln!("gen_bench_tree: {e}");
            std::process::exit(1);
        }
    }
}
