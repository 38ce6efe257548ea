//! A large, realistic, deterministic config tree for benchmarks: a main nginx.conf including
//! `sites/*.conf`, each site file holding several server blocks with proxy, FastCGI, gRPC and
//! static locations, maps, comments and quoted strings. Every directive is valid for nginx 1.22,
//! so `nginx -t` can be timed on the same tree.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// Writes the tree under `dir`; returns the total number of bytes written.
pub fn write_tree(dir: &Path, files: usize, servers_per_file: usize) -> io::Result<u64> {
    std::fs::create_dir_all(dir.join("sites"))?;
    std::fs::create_dir_all(dir.join("snippets"))?;
    let main = format!(
        "# generated benchmark tree\nworker_processes auto;\npid {}/nginx.pid;\n\nevents {{\n    worker_connections 65536;\n}}\n\nhttp {{\n    default_type application/octet-stream;\n    sendfile on;\n    keepalive_timeout 65;\n    server_names_hash_bucket_size 128;\n    server_names_hash_max_size 65536;\n    map $http_upgrade $connection_upgrade {{\n        default upgrade;\n        ''      close;\n    }}\n    log_format main '$remote_addr - $remote_user [$time_local] \"$request\" '\n                    '$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"';\n    include sites/*.conf;\n}}\n",
        dir.display()
    );
    let snippet = "proxy_set_header Host $host;\nproxy_set_header X-Real-IP $remote_addr;\nproxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\nproxy_set_header X-Forwarded-Proto $scheme;\nproxy_http_version 1.1;\n";
    std::fs::write(dir.join("nginx.conf"), &main)?;
    std::fs::write(dir.join("snippets/proxy.conf"), snippet)?;
    let mut total = (main.len() + snippet.len()) as u64;
    for f in 0..files {
        let mut text = String::with_capacity(servers_per_file * 1600);
        let _ = writeln!(text, "# site group {f}");
        let _ = writeln!(text, "upstream app_{f} {{\n    server 127.0.0.1:{};\n    server 127.0.0.1:{} backup;\n    keepalive 16;\n}}\n", 3000 + f % 1000, 4000 + f % 1000);
        for s in 0..servers_per_file {
            let n = f * servers_per_file + s;
            let _ = write!(
                text,
                r#"server {{
    listen {port};
    server_name site{n}.example.com www.site{n}.example.com;
    root /var/www/site{n}/public;
    index index.php index.html;
    access_log /var/log/nginx/site{n}.access.log main;
    client_max_body_size 16m;

    location / {{
        try_files $uri $uri/ /index.php?$query_string;
    }}

    location /api/ {{
        proxy_pass http://app_{f};
        include snippets/proxy.conf;
        proxy_set_header Connection "";
        proxy_read_timeout 30s;
    }}

    location /ws/ {{
        proxy_pass http://127.0.0.1:{ws};
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_read_timeout 1h;
    }}

    location ~ \.php$ {{
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_read_timeout 60s;
    }}

    location = /health {{
        access_log off;
        add_header Content-Type "text/plain; charset=utf-8";
        return 200 'ok';
    }}

    location ~* \.(?:css|js|png|jpg|svg|woff2)$ {{
        expires 30d;
        add_header Cache-Control "public, max-age=2592000";
    }}
}}

"#,
                port = 10000 + n % 50000,
                ws = 5000 + n % 1000,
            );
        }
        total += text.len() as u64;
        std::fs::write(dir.join(format!("sites/site{f:04}.conf")), text)?;
    }
    Ok(total)
}

/// The shapes `gen_bench_tree` and the benches write: `sites` is [`write_tree`]; the others
/// stress one dimension each, for linearity (`n` is their size).
pub const SHAPES: &[&str] = &[
    "sites", "deep", "oneline", "members", "findings", "includes",
];

/// Writes shape `shape` of size `n` under `dir` (`files`, `servers_per_file` for `sites`;
/// otherwise `n = files * servers_per_file`); returns the bytes written.
pub fn write_shape(
    dir: &Path,
    shape: &str,
    files: usize,
    servers_per_file: usize,
) -> io::Result<u64> {
    let n = files * servers_per_file;
    let text = match shape {
        "sites" => return write_tree(dir, files, servers_per_file),
        "includes" => return includes(dir, n),
        "deep" => deep(n),
        "oneline" => oneline(n),
        "members" => members(n),
        "findings" => findings(n),
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown shape {shape} (one of {})", SHAPES.join(", ")),
            ))
        }
    };
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("nginx.conf"), &text)?;
    Ok(text.len() as u64)
}

const MAIN_HEAD: &str = "events {\n    worker_connections 1024;\n}\n\n";

/// `n` nested locations (nginx accepts nested prefix locations; depth is bounded by
/// `syntax::MAX_DEPTH`, so `n` is capped there).
fn deep(n: usize) -> String {
    let n = n.min(nginx_gwlint::syntax::MAX_DEPTH - 8);
    let mut text = String::from(MAIN_HEAD);
    text.push_str("http {\n    server {\n        listen 8080;\n");
    for _ in 0..n {
        text.push_str("location /d {\nproxy_read_timeout 30s;\n");
    }
    text.push_str("proxy_pass http://127.0.0.1:3000;\n");
    for _ in 0..n {
        text.push_str("}\n");
    }
    text.push_str("    }\n}\n");
    text
}

/// One line holding `n` directives (`add_header`s of one server), no newline until the end.
fn oneline(n: usize) -> String {
    let mut text = String::from("events { worker_connections 1024; } http { server { listen 8080; location / { proxy_pass http://127.0.0.1:3000;");
    for i in 0..n {
        let _ = write!(text, " add_header X-H{i} v{i};");
    }
    text.push_str(" } } }\n");
    text
}

/// One upstream with `n` members, used by one server.
fn members(n: usize) -> String {
    let mut text = String::from(MAIN_HEAD);
    text.push_str("http {\n    upstream big {\n");
    for i in 0..n {
        let _ = writeln!(
            text,
            "        server 10.{}.{}.{}:{} max_fails=3;",
            i >> 16 & 255,
            i >> 8 & 255,
            i & 255,
            3000 + i % 1000
        );
    }
    text.push_str("        keepalive 32;\n    }\n    server {\n        listen 8080;\n        location / {\n            proxy_pass http://big;\n            proxy_http_version 1.1;\n            proxy_set_header Connection \"\";\n        }\n    }\n}\n");
    text
}

/// `n` locations, each including a file of its own and one snippet they all share (read `n`
/// times): `n` include files and `2n` include directives.
fn includes(dir: &Path, n: usize) -> io::Result<u64> {
    std::fs::create_dir_all(dir.join("inc"))?;
    let shared = "proxy_set_header Host $host;\nproxy_http_version 1.1;\n";
    std::fs::write(dir.join("shared.conf"), shared)?;
    let mut total = shared.len() as u64;
    let mut text = String::from(MAIN_HEAD);
    text.push_str("http {\n    server {\n        listen 8080;\n");
    for i in 0..n {
        let _ = writeln!(
            text,
            "        location /i{i} {{\n            include inc/i{i}.conf;\n            include shared.conf;\n        }}"
        );
        let own = format!(
            "proxy_pass http://127.0.0.1:{};\nproxy_read_timeout 30s;\n",
            3000 + i % 1000
        );
        total += own.len() as u64;
        std::fs::write(dir.join(format!("inc/i{i}.conf")), own)?;
    }
    text.push_str("    }\n}\n");
    total += text.len() as u64;
    std::fs::write(dir.join("nginx.conf"), &text)?;
    Ok(total)
}

/// `n` locations with several findings each (GW102, GW103, GW202, GW303, GW301, ...): about
/// five findings per location.
fn findings(n: usize) -> String {
    let mut text = String::from(MAIN_HEAD);
    text.push_str("http {\n    server {\n        listen 8080;\n");
    for i in 0..n {
        let _ = writeln!(
            text,
            "        location /l{i} {{\n            proxy_pass http://127.0.0.1:1;\n            proxy_connect_timeout 90s;\n            proxy_read_timeout 600s;\n        }}\n        location /p{i} {{\n            fastcgi_pass unix:/tmp/php{i}.sock;\n        }}"
        );
    }
    text.push_str("    }\n}\n");
    text
}
