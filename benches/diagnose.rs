//! `diagnose` throughput: lines per second through the incident scanner (parse, classify, group)
//! and through the whole pipeline (scan + mapping to a config), on a generated 200k-line
//! error.log that mixes the line shapes of the lab captures (../shared/lab) with noise.
//!
//! Memory stays flat: the scanner reads through one reused line buffer (`IncidentScanner::read`),
//! keys lines to groups without allocating, and keeps at most `max_groups` groups; only the
//! generated input itself lives in memory here (a `Cursor`, standing in for the file).
//!
//! Run: `cargo bench --bench diagnose`.
//!
//! `diagnose-4000-servers`: the same pipeline against the generated 4,000-server tree
//! (benches/support/tree.rs, the tree of bench/diagnose_run.sh) on a 200k-line error.log that
//! names its server blocks (the shapes of bench/gen_error_log.py), and the access-log reader on
//! 200k lines of a timed log_format. Before it, with `--bench`, one pass prints the resident
//! memory after each phase of `diagnose --format json` on that tree and log (read from a file,
//! as the CLI streams it): load, expand, map, scan, diagnose, json (VmRSS and the phase's
//! VmHWM from /proc/self/status, as benches/memory.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

#[path = "support/tree.rs"]
#[allow(dead_code)] // the other shapes are for benches/parse.rs
mod tree;

// The same allocator as the binary (src/main.rs), so the numbers are the tool's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Cursor;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nginx_gwlint::config::{load_dump, load_path, ResolvedConfig};
use nginx_gwlint::diagnose::{
    choose_format, diagnose, diagnose_with, open_log, retry_window_secs, write_json, AccessScanner,
    ConfigMap, IncidentScanner, LogTime, ScanOptions,
};

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

/// bench/gen_error_log.py's mix for a tree of `servers` blocks, 10 per file (upstream `app_F`
/// at 127.0.0.1:3000+F and :4000+F): retried requests, refused, php-fpm resets, invalid
/// headers, no live upstreams, timeouts, and noise.
fn generate_for_tree(lines: usize, servers: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(lines * 330);
    let (mut conn, mut i, mut sec) = (0usize, 0usize, 0usize);
    while i < lines {
        if i % 50 == 0 {
            sec += 1;
        }
        let t = format!(
            "2026/11/26 {:02}:{:02}:{:02}",
            2 + sec / 3600 % 20,
            sec / 60 % 60,
            sec % 60
        );
        conn += 1;
        let (a, b) = (conn % 250, conn / 250 % 250);
        let p = format!("/api/items/{}?page={}", conn % 997, conn % 7);
        let sn = conn * 7919 % servers;
        let f = sn / 10;
        let (up1, up2) = (
            format!("http://127.0.0.1:{}", 3000 + f % 1000),
            format!("http://127.0.0.1:{}", 4000 + f % 1000),
        );
        let tail = |m: &str, p: &str, u: &str| {
            format!(", client: 10.0.{a}.{b}, server: site{sn}.example.com, request: \"{m} {p} HTTP/1.1\", upstream: \"{u}{p}\", host: \"site{sn}.example.com:{}\"\n", 10000 + sn % 50000)
        };
        let refused = "connect() failed (111: Connection refused) while connecting to upstream";
        let timeout = "upstream timed out (110: Connection timed out) while reading response header from upstream";
        let e = |msg: &str| format!("{t} [error] 4242#4242: *{conn} {msg}");
        match i % 10 {
            0 | 1 => {
                let _ = write!(out, "{}{}", e(refused), tail("GET", &p, &up1));
                let _ = write!(out, "{}{}", e(timeout), tail("GET", &p, &up2));
                i += 2;
                continue;
            }
            2 => out.push_str(&(e(refused) + &tail("GET", &p, &up1))),
            3 => out.push_str(&(e("recv() failed (104: Connection reset by peer) while reading response header from upstream") + &tail("POST", "/index.php", "fastcgi://unix:/run/php/php8.2-fpm.sock:"))),
            4 => out.push_str(&(e("upstream sent invalid header: \"X-Bad: a\\x0d...\" while reading response header from upstream") + &tail("GET", &p, &up2))),
            5 => out.push_str(&(e("no live upstreams while connecting to upstream") + &tail("GET", &p, &format!("http://app_{f}")))),
            6 => {
                let _ = writeln!(out, "{t} [error] 4242#4242: *{conn} open() \"/var/www/shop/favicon{}.ico\" failed (2: No such file or directory), client: 10.0.{a}.{b}, server: shop.example.com, request: \"GET /favicon.ico HTTP/1.1\", host: \"shop.example.com\"", conn % 13);
            }
            7 => {
                let _ = writeln!(out, "{t} [info] 4242#4242: *{conn} client timed out (110: Connection timed out) while waiting for request, client: 10.0.{a}.{b}, server: 0.0.0.0:443");
            }
            8 => out.push_str(&(format!("{t} [warn] 4242#4242: *{conn} an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/1/00/{conn:010} while reading upstream") + &tail("GET", &p, &up2))),
            _ => out.push_str(&(e(timeout) + &tail("GET", &format!("/report/{}", conn % 31), "http://127.0.0.1:8081"))),
        }
        i += 1;
    }
    out.into_bytes()
}

/// 200k-style access log lines of the `timed` format below.
fn generate_access(lines: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(lines * 220);
    for i in 0..lines {
        let (status, urt) = match i % 100 {
            0 => (502, "0.000".to_owned()),
            1 => (504, "30.001".to_owned()),
            _ => (200, format!("0.{:03}", 3 + i % 400)),
        };
        let path = ["/api/items/1", "/index.php", "/static/a.css", "/report/x"][i % 4];
        let _ = writeln!(
            out,
            "10.0.{}.{} - - [26/Nov/2026:02:{:02}:{:02} +0000] \"GET {path}?page={} HTTP/1.1\" {status} 157 \"-\" \"bench/{i}\" rt=0.{:03} urt=\"{urt}\" host=shop.example.com sn=\"shop.example.com\"",
            i % 256,
            i / 256 % 256,
            i / 60_000 % 60,
            i / 1000 % 60,
            i % 7,
            5 + i % 500
        );
    }
    out.into_bytes()
}

const ACCESS_CONFIG: &str = r#"# configuration file /etc/nginx/nginx.conf:
events {}
http {
    log_format timed '$remote_addr - $remote_user [$time_local] "$request" $status '
                     '$body_bytes_sent "$http_referer" "$http_user_agent" '
                     'rt=$request_time urt="$upstream_response_time" host=$host sn="$server_name"';
    access_log /var/log/nginx/access.log timed;
    upstream node_app { server 10.0.0.1:3000; server 10.0.0.2:3000; }
    server {
        listen 80;
        server_name shop.example.com;
        root /var/www/shop;
        location / { try_files $uri /index.php?$args; }
        location ~ \.php$ { fastcgi_pass unix:/run/php/php8.2-fpm.sock; fastcgi_read_timeout 30s; }
        location /api/ { proxy_pass http://node_app; }
        location /static/ { }
        location /report/ { proxy_pass http://127.0.0.1:8081; proxy_read_timeout 5s; }
    }
}
"#;

/// (VmRSS, VmHWM) in MiB.
fn resident() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Runs `f` and prints the resident set after it and its peak during it.
fn phase<T>(name: &str, f: impl FnOnce() -> T) -> T {
    // "5" resets the peak to the current resident set (proc(5), /proc/pid/clear_refs).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (before, _) = resident();
    let out = f();
    let (rss, peak) = resident();
    eprintln!(
        "  {name:<9} rss {rss:7.1} MiB (+{:6.1})   peak {peak:7.1} MiB",
        rss - before
    );
    out
}

/// The phases of `diagnose --error-log LOG --config-root TREE --format json`, in the CLI's
/// order, with the resident memory after each.
fn memory_phases(tree_root: &Path, log: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("error.log");
    std::fs::write(&log_path, log).unwrap();
    eprintln!(
        "diagnose memory per phase ({} lines):",
        log.iter().filter(|&&b| b == b'\n').count()
    );
    let t = phase("load", || load_path(&tree_root.join("nginx.conf")).unwrap());
    let cfg = phase("expand", || ResolvedConfig::build(&t));
    let map = phase("map", || ConfigMap::new(&cfg));
    let options = ScanOptions {
        retry_window_secs: retry_window_secs(&cfg),
        ..ScanOptions::default()
    };
    let report = phase("scan", || {
        let mut s = IncidentScanner::new(options);
        s.read(open_log(&log_path).unwrap(), &log_path).unwrap();
        s.finish()
    });
    let d = phase("diagnose", || diagnose_with(report, None, Some(&map), None));
    phase("json", || {
        write_json(&d, &mut std::io::sink()).unwrap();
    });
}

fn bench_tree(c: &mut Criterion) {
    // `cargo test --all-targets` runs each bench once, unoptimized: small inputs there.
    let full = std::env::args().any(|a| a == "--bench");
    let (servers, lines) = if full { (4000, LINES) } else { (200, 2000) };
    let dir = tempfile::tempdir().unwrap();
    tree::write_tree(dir.path(), servers / 10, 10).unwrap();
    let log = generate_for_tree(lines, servers);
    if full {
        // First, so that the deltas are the phases' own.
        memory_phases(dir.path(), &log);
    }
    let t = load_path(&dir.path().join("nginx.conf")).unwrap();
    let cfg = ResolvedConfig::build(&t);
    let access = generate_access(lines);
    let at = load_dump(ACCESS_CONFIG.as_bytes()).unwrap();
    let acfg = ResolvedConfig::build(&at);
    let amap = ConfigMap::new(&acfg);
    let choice = choose_format(Some(&acfg), Path::new("/var/log/nginx/access.log"));
    assert_eq!(choice.format.name, "timed");

    let mut group = c.benchmark_group(format!("diagnose-{servers}-servers"));
    group.sample_size(10);
    group.throughput(Throughput::Elements(lines as u64));
    group.bench_function(format!("error_log_scan_and_map_{lines}_lines"), |b| {
        b.iter(|| {
            let mut s = IncidentScanner::new(ScanOptions::default());
            s.read(Cursor::new(&log), Path::new("gen")).unwrap();
            let map = ConfigMap::new(&cfg);
            diagnose_with(s.finish(), None, Some(&map), None)
                .groups
                .len()
        });
    });
    group.bench_function(format!("access_log_{lines}_lines"), |b| {
        b.iter(|| {
            let mut s = AccessScanner::new(Some(&amap), None);
            s.read(
                Cursor::new(&access),
                Path::new("access.log"),
                choice.clone(),
            )
            .unwrap();
            s.finish().groups.len()
        });
    });
    group.finish();
}

criterion_group!(benches, bench, bench_tree);
criterion_main!(benches);
