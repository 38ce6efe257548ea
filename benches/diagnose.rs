//! `diagnose` throughput: lines per second through the incident scanner (parse, classify, group)
//! and through the whole pipeline (scan + mapping to a config), on a generated 200k-line
//! error.log that mixes the line shapes of the lab captures (../shared/lab) with noise.
//!
//! Memory stays flat: the scanner reads through one reused line buffer (`IncidentScanner::read`),
//! keys lines to groups without allocating, and keeps at most `max_groups` groups; only the
//! generated input itself lives in memory here (a `Cursor`, standing in for the file).
//!
//! Run: `cargo bench --bench diagnose`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::io::Cursor;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nginx_gwlint::config::{load_dump, ResolvedConfig};
use nginx_gwlint::diagnose::{diagnose, IncidentScanner, LogTime, ScanOptions};

const LINES: usize = 200_000;

const CONFIG: &str = r"# configuration file /etc/nginx/nginx.conf:
user www-data;
events {}
http {
    upstream backend { server 127.0.0.1:3997; server 127.0.0.1:3996; }
    upstream node_app { server localhost:3000; }
    server {
        listen 80;
        server_name shop.example.com;
        root /var/www/shop;
        location / { try_files $uri /index.php?$args; }
        location ~ \.php$ {
            fastcgi_pass unix:/run/php/php8.2-fpm.sock;
            fastcgi_read_timeout 30s;
        }
        location /api/ { proxy_pass http://node_app; proxy_read_timeout 5s; }
        location /grpc/ { grpc_pass grpc://127.0.0.1:50051; }
    }
    server {
        listen 80 default_server;
        location / { proxy_pass http://backend; }
        location /old/ { proxy_pass http://127.0.0.1:3999; }
    }
}
";

/// A deterministic generator (no rand dependency for a bench).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn generate() -> Vec<u8> {
    let mut rng = Lcg(42);
    let start = LogTime::new(2026, 11, 26, 0, 0, 0).unwrap().to_unix();
    let mut out = String::with_capacity(LINES * 300);
    let paths = [
        "/",
        "/cart",
        "/checkout",
        "/product/42",
        "/search",
        "/account",
        "/blog/a",
        "/blog/b",
    ];
    for i in 0..LINES {
        let t = LogTime::from_unix(start + (i as i64) / 10).unwrap();
        let pid = 28_400 + (i % 4);
        let conn = i + 1;
        let path = paths[(rng.next() % paths.len() as u64) as usize];
        let q = rng.next() % 1000;
        let ctx = |req: &str, up: &str, host: &str, server: &str| {
            format!(", client: 10.0.{}.{}, server: {server}, request: \"{req}\", upstream: \"{up}\", host: \"{host}\"", q % 256, i % 256)
        };
        let line = match rng.next() % 20 {
            0..=3 => format!(
                "{t} [error] {pid}#{pid}: *{conn} connect() failed (111: Connection refused) while connecting to upstream{}",
                ctx(&format!("GET /api{path}?q={q} HTTP/1.1"), &format!("http://[::1]:3000/api{path}?q={q}"), "shop.example.com", "shop.example.com")
            ),
            4..=6 => format!(
                "{t} [error] {pid}#{pid}: *{conn} upstream timed out (110: Connection timed out) while reading response header from upstream{}",
                ctx(&format!("GET {path}.php?id={q} HTTP/1.1"), "fastcgi://unix:/run/php/php8.2-fpm.sock", "shop.example.com", "shop.example.com")
            ),
            7 => format!(
                "{t} [crit] {pid}#{pid}: *{conn} connect() to unix:/run/php/php7.4-fpm.sock failed (2: No such file or directory) while connecting to upstream{}",
                ctx(&format!("POST {path}.php HTTP/1.1"), "fastcgi://unix:/run/php/php7.4-fpm.sock:", "shop.example.com", "shop.example.com")
            ),
            8 => format!(
                "{t} [error] {pid}#{pid}: *{conn} recv() failed (104: Connection reset by peer) while reading response header from upstream{}",
                ctx(&format!("GET {path}.php HTTP/1.1"), "fastcgi://unix:/run/php/php8.2-fpm.sock:", "shop.example.com", "shop.example.com")
            ),
            9 => format!(
                "{t} [error] {pid}#{pid}: *{conn} no live upstreams while connecting to upstream{}",
                ctx(&format!("GET {path} HTTP/1.1"), "http://backend/", "127.0.0.1", "")
            ),
            10 => format!(
                "{t} [error] {pid}#{pid}: *{conn} upstream prematurely closed connection while reading response header from upstream{}",
                ctx(&format!("GET /old{path} HTTP/1.1"), &format!("http://127.0.0.1:3999/old{path}"), "127.0.0.1", "")
            ),
            11 => format!(
                "{t} [error] {pid}#{pid}: *{conn} FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Maximum execution time of 30 seconds exceeded in /var/www/shop{path}.php on line 3\" while reading response header from upstream{}",
                ctx(&format!("GET {path}.php HTTP/1.1"), "fastcgi://unix:/run/php/php8.2-fpm.sock:", "shop.example.com", "shop.example.com")
            ),
            12..=15 => format!(
                "{t} [error] {pid}#{pid}: *{conn} open() \"/var/www/shop{path}/favicon.ico\" failed (2: No such file or directory), client: 10.0.0.{}, server: shop.example.com, request: \"GET {path}/favicon.ico HTTP/1.1\", host: \"shop.example.com\"",
                i % 256
            ),
            16 | 17 => format!(
                "{t} [info] {pid}#{pid}: *{conn} client timed out (110: Connection timed out) while reading client request headers, client: 10.0.0.{}, server: 0.0.0.0:80",
                i % 256
            ),
            18 => format!("{t} [notice] {pid}#{pid}: signal process started"),
            _ => "PHP Warning:  something printed by another program".to_owned(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.into_bytes()
}

fn bench(c: &mut Criterion) {
    let log = generate();
    let tree = load_dump(CONFIG.as_bytes()).unwrap();
    let cfg = ResolvedConfig::build(&tree);
    let mb = log.len() as f64 / 1e6;

    // One measured pass for the numbers quoted in the docs.
    let t = std::time::Instant::now();
    let mut scanner = IncidentScanner::new(ScanOptions::default());
    scanner.read(Cursor::new(&log), Path::new("gen")).unwrap();
    let report = scanner.finish();
    let scan_secs = t.elapsed().as_secs_f64();
    let groups = report.incidents.len();
    let t = std::time::Instant::now();
    let d = diagnose(report, None, Some(&cfg));
    let map_secs = t.elapsed().as_secs_f64();
    eprintln!(
        "diagnose bench input: {LINES} lines, {mb:.1} MB, {groups} groups, {} mapped to a handler; one pass: scan {:.0} lines/s ({:.0} MB/s), mapping {:.1} ms",
        d.findings.iter().filter(|f| f.handler.is_some()).count(),
        LINES as f64 / scan_secs,
        mb / scan_secs,
        map_secs * 1e3
    );

    let mut group = c.benchmark_group("diagnose");
    group.sample_size(10);
    group.throughput(Throughput::Elements(LINES as u64));
    group.bench_function("scan_200k_lines", |b| {
        b.iter(|| {
            let mut s = IncidentScanner::new(ScanOptions::default());
            s.read(Cursor::new(&log), Path::new("gen")).unwrap();
            s.finish()
        });
    });
    group.bench_function("scan_and_map_200k_lines", |b| {
        b.iter(|| {
            let mut s = IncidentScanner::new(ScanOptions::default());
            s.read(Cursor::new(&log), Path::new("gen")).unwrap();
            diagnose(s.finish(), None, Some(&cfg))
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
