//! Differential test against the real `nginx -t` (issue #13): a seeded generator of realistic
//! setups (Node proxy with upstream/keepalive/WebSocket, PHP-FPM over a unix socket, multi-site
//! with snippets, gRPC, stream, limit zones / maps / named and regex locations), times mutation
//! classes: mistakes nginx refuses and harmless edits nginx accepts. Each case is checked by
//! nginx (on a temp prefix: pid, error_log, temp paths and logs inside it) and by `check`
//! (the library); the per-class table says where they agree.
//!
//! - false red: nginx accepts, `check` reports an error from the gate rules (GW0xx: structure
//!   and the GW02x semantic layer). Always a failure.
//! - false green: nginx refuses, no error. A failure for the classes marked `claimed`.
//!
//! `GWLINT_SEED=N` picks another seed (default below), `GWLINT_CASES=N` cases per class.
//! `cargo test --test it nginx_differential -- --nocapture` prints the table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use crate::common;

use std::fmt::Write as _;
use std::path::Path;

use nginx_gwlint::config::load_path;
use nginx_gwlint::diagnostic::Severity;
use nginx_gwlint::lint::{lint, Selection};
use nginx_gwlint::settings::Settings;
use nginx_gwlint::workspace::Workspace;

const DEFAULT_SEED: u64 = 0x6777_6c69_6e74_0013;

/// splitmix64: small, seedable, good enough to pick setups and targets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Clone, Default)]
struct Block {
    head: String,
    lines: Vec<String>,
    children: Vec<Block>,
}

impl Block {
    fn new(head: &str, lines: &[&str]) -> Block {
        Block {
            head: head.to_owned(),
            lines: lines.iter().map(|s| s.to_string()).collect(),
            children: Vec::new(),
        }
    }
    fn with(mut self, child: Block) -> Block {
        self.children.push(child);
        self
    }
    fn render(&self, depth: usize, out: &mut String) {
        let pad = "    ".repeat(depth);
        let _ = writeln!(out, "{pad}{} {{", self.head);
        for l in &self.lines {
            let _ = writeln!(out, "{pad}    {l}");
        }
        for c in &self.children {
            c.render(depth + 1, out);
        }
        let _ = writeln!(out, "{pad}}}");
    }
}

/// One generated configuration.
#[derive(Clone, Default)]
struct Setup {
    kind: &'static str,
    http_top: Vec<String>,
    upstreams: Vec<Block>,
    /// `server` blocks of http; those with `Some(file)` are written to conf.d/FILE and included.
    servers: Vec<(Block, Option<String>)>,
    /// Snippet files (path relative to the prefix, lines).
    snippets: Vec<(String, Vec<String>)>,
    stream: Option<(Vec<Block>, Vec<Block>)>,
    /// Lines at the top of stream.
    stream_top: Vec<String>,
    /// Lines appended at the end of http (after servers).
    http_tail: Vec<String>,
}

impl Setup {
    fn render(&self, dir: &Path) -> Vec<(String, String)> {
        let d = dir.display();
        let mut main = String::new();
        if self.stream.is_some() {
            main.push_str("load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n");
        }
        let _ = writeln!(
            main,
            "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}"
        );
        main.push_str("http {\n");
        http_paths(&mut main, dir);
        for l in &self.http_top {
            let _ = writeln!(main, "    {l}");
        }
        for u in &self.upstreams {
            u.render(1, &mut main);
        }
        let mut files = Vec::new();
        for (s, file) in &self.servers {
            match file {
                None => s.render(1, &mut main),
                Some(f) => {
                    let mut text = String::new();
                    s.render(0, &mut text);
                    files.push((format!("conf.d/{f}"), text));
                }
            }
        }
        if self.servers.iter().any(|(_, f)| f.is_some()) {
            main.push_str("    include conf.d/*.conf;\n");
        }
        for l in &self.http_tail {
            let _ = writeln!(main, "    {l}");
        }
        main.push_str("}\n");
        if let Some((ups, servers)) = &self.stream {
            main.push_str("stream {\n");
            for l in &self.stream_top {
                let _ = writeln!(main, "    {l}");
            }
            for b in ups.iter().chain(servers) {
                b.render(1, &mut main);
            }
            main.push_str("}\n");
        }
        for (f, lines) in &self.snippets {
            files.push((f.clone(), lines.join("\n") + "\n"));
        }
        files.insert(0, ("nginx.conf".to_owned(), main));
        files
    }

    fn server(&mut self, rng: &mut Rng) -> &mut Block {
        let i = rng.below(self.servers.len());
        &mut self.servers[i].0
    }

    /// A location of some server (every generated server has one).
    fn location(&mut self, rng: &mut Rng) -> &mut Block {
        let s = self.server(rng);
        let n = s.children.len();
        let i = rng.below(n);
        &mut s.children[i]
    }
}

fn node_proxy(rng: &mut Rng) -> Setup {
    let port = 3000 + rng.below(50);
    let mut s = Setup {
        kind: "node-proxy",
        ..Default::default()
    };
    s.http_top
        .push("map $http_upgrade $connection_upgrade { default upgrade; '' close; }".into());
    s.upstreams.push(Block::new(
        "upstream backend",
        &[
            &format!("server 127.0.0.1:{port} max_fails=3 fail_timeout=10s;"),
            &format!("server 127.0.0.1:{} backup;", port + 1),
            "keepalive 16;",
        ],
    ));
    let server = Block::new(
        "server",
        &["listen 80 default_server;", "server_name app.example.com;"],
    )
    .with(Block::new(
        "location /",
        &[
            "proxy_http_version 1.1;",
            "proxy_set_header Connection \"\";",
            "proxy_set_header Host $host;",
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "proxy_pass http://backend;",
        ],
    ))
    .with(Block::new(
        "location /socket.io/",
        &[
            "proxy_http_version 1.1;",
            "proxy_set_header Upgrade $http_upgrade;",
            "proxy_set_header Connection $connection_upgrade;",
            "proxy_read_timeout 300s;",
            "proxy_pass http://backend;",
        ],
    ))
    .with(Block::new(
        "location ~* \\.(?:css|js|png)$",
        &["expires 7d;", "proxy_pass http://backend;"],
    ));
    s.servers.push((server, None));
    s
}

fn php_fpm(rng: &mut Rng) -> Setup {
    let ver = *rng.pick(&["8.2", "8.1", "7.4"]);
    let mut s = Setup {
        kind: "php-fpm",
        ..Default::default()
    };
    let server = Block::new(
        "server",
        &[
            "listen 80;",
            "server_name shop.example.com;",
            "root /var/www/shop/public;",
            "index index.php index.html;",
        ],
    )
    .with(Block::new(
        "location /",
        &["try_files $uri $uri/ /index.php?$query_string;"],
    ))
    .with(Block::new(
        "location ~ \\.php$",
        &[
            "fastcgi_split_path_info ^(.+\\.php)(/.+)$;",
            &format!("fastcgi_pass unix:/run/php/php{ver}-fpm.sock;"),
            "fastcgi_index index.php;",
            "fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;",
            "fastcgi_param PATH_INFO $fastcgi_path_info;",
            "fastcgi_read_timeout 60s;",
        ],
    ))
    .with(Block::new("location ~ /\\.(?!well-known)", &["deny all;"]));
    s.servers.push((server, None));
    s
}

fn multi_site(rng: &mut Rng) -> Setup {
    let mut s = Setup {
        kind: "multi-site",
        ..Default::default()
    };
    s.snippets.push((
        "snippets/proxy.conf".into(),
        vec![
            "proxy_set_header Host $host;".into(),
            "proxy_set_header X-Real-IP $remote_addr;".into(),
            "proxy_set_header X-Forwarded-Proto $scheme;".into(),
        ],
    ));
    s.upstreams.push(Block::new(
        "upstream api_pool",
        &[
            "least_conn;",
            "server 10.0.0.11:8080;",
            "server 10.0.0.12:8080;",
        ],
    ));
    let a = Block::new("server", &["listen 80;", "server_name a.example.com;"])
        .with(Block::new(
            "location /",
            &[
                "include snippets/proxy.conf;",
                "proxy_pass http://api_pool;",
            ],
        ))
        .with(Block::new(
            "location = /health",
            &["access_log off;", "return 200 \"ok\";"],
        ));
    let b = Block::new(
        "server",
        &[
            "listen 80;",
            "server_name b.example.com www.b.example.com;",
            "root /var/www/b;",
        ],
    )
    .with(Block::new("location /", &["try_files $uri $uri/ =404;"]))
    .with(Block::new(
        "location /api/",
        &[
            "include snippets/proxy.conf;",
            &format!("proxy_pass http://127.0.0.1:{}/;", 4000 + rng.below(100)),
        ],
    ));
    let c = Block::new("server", &["listen 80 default_server;", "server_name _;"])
        .with(Block::new("location /", &["return 444;"]));
    s.servers.push((a, Some("a.conf".into())));
    s.servers.push((b, Some("b.conf".into())));
    s.servers.push((c, None));
    s
}

fn grpc(_rng: &mut Rng) -> Setup {
    let mut s = Setup {
        kind: "grpc",
        ..Default::default()
    };
    s.upstreams.push(Block::new(
        "upstream grpc_backend",
        &["server 127.0.0.1:50051;", "keepalive 8;"],
    ));
    let server = Block::new(
        "server",
        &["listen 8080 http2;", "server_name grpc.example.com;"],
    )
    .with(Block::new(
        "location /",
        &[
            "grpc_pass grpc://grpc_backend;",
            "grpc_read_timeout 120s;",
            "grpc_set_header X-Real-IP $remote_addr;",
        ],
    ))
    .with(Block::new(
        "location /helloworld.Greeter/",
        &["grpc_pass grpc://127.0.0.1:50052;"],
    ));
    s.servers.push((server, None));
    s
}

fn stream_setup(rng: &mut Rng) -> Setup {
    let mut s = node_proxy(rng);
    s.kind = "stream";
    let ups = vec![Block::new(
        "upstream db",
        &["server 10.0.0.5:5432;", "server 10.0.0.6:5432 backup;"],
    )];
    let servers = vec![
        Block::new(
            "server",
            &[
                "listen 5432;",
                "proxy_pass db;",
                "proxy_connect_timeout 5s;",
            ],
        ),
        Block::new("server", &["listen 6379;", "proxy_pass 127.0.0.1:6380;"]),
    ];
    s.stream = Some((ups, servers));
    s
}

fn limits_maps(rng: &mut Rng) -> Setup {
    let mut s = Setup {
        kind: "limits-maps",
        ..Default::default()
    };
    s.http_top.extend([
        "limit_req_zone $binary_remote_addr zone=api:10m rate=10r/s;".to_string(),
        "limit_conn_zone $binary_remote_addr zone=addr:10m;".to_string(),
        "proxy_cache_path cache keys_zone=static:10m;".to_string(),
        "log_format main '$remote_addr - $remote_user [$time_local] \"$request\" $status';"
            .to_string(),
        "map $http_user_agent $is_bot { default 0; ~*(bot|crawler|spider) 1; }".to_string(),
        "map $uri $legacy_target { default \"\"; /old-page /new-page; /about-us /about; }"
            .to_string(),
    ]);
    s.upstreams.push(Block::new(
        "upstream app",
        &[&format!("server 127.0.0.1:{};", 5000 + rng.below(100))],
    ));
    let server = Block::new(
        "server",
        &["listen 8080;", "server_name limits.example.com;"],
    )
    .with(Block::new(
        "location /api/",
        &[
            "limit_req zone=api burst=20 nodelay;",
            "limit_conn addr 10;",
            "proxy_pass http://app;",
        ],
    ))
    .with(Block::new(
        "location /static/",
        &[
            "proxy_cache static;",
            "proxy_cache_valid 200 10m;",
            "proxy_pass http://app;",
        ],
    ))
    .with(Block::new(
        "location @fallback",
        &["proxy_pass http://app;"],
    ))
    .with(Block::new(
        "location ~ ^/users/(?<uid>[0-9]+)$",
        &["proxy_set_header X-User $uid;", "proxy_pass http://app;"],
    ))
    .with(Block::new(
        "location /",
        &[
            "access_log unused.log main;",
            "if ($legacy_target) { return 301 $legacy_target; }",
            "try_files $uri @fallback;",
        ],
    ));
    s.servers.push((server, None));
    s
}

const SETUPS: &[fn(&mut Rng) -> Setup] = &[
    node_proxy,
    php_fpm,
    multi_site,
    grpc,
    stream_setup,
    limits_maps,
];

type Mutate = fn(&mut Setup, &mut Rng) -> bool;

/// A mutation class: its name, whether nginx should refuse it (documentation only: the
/// verdict comes from nginx), whether `check` claims to catch it, and the edit.
struct Class {
    name: &'static str,
    refuse: bool,
    claimed: bool,
    apply: Mutate,
}

macro_rules! class {
    ($name:expr, refuse, $f:expr) => {
        Class {
            name: $name,
            refuse: true,
            claimed: true,
            apply: $f,
        }
    };
    ($name:expr, accept, $f:expr) => {
        Class {
            name: $name,
            refuse: false,
            claimed: true,
            apply: $f,
        }
    };
}

fn add_loc_line(s: &mut Setup, r: &mut Rng, line: &str) -> bool {
    s.location(r).lines.push(line.to_owned());
    true
}

fn add_server_line(s: &mut Setup, r: &mut Rng, line: &str) -> bool {
    s.server(r).lines.push(line.to_owned());
    true
}

fn add_location(s: &mut Setup, r: &mut Rng, head: &str, lines: &[&str]) -> bool {
    s.server(r).children.push(Block::new(head, lines));
    true
}

/// Replaces the first line of any location containing `needle` with `with`.
fn replace_line(s: &mut Setup, needle: &str, with: &str) -> bool {
    for (server, _) in &mut s.servers {
        for loc in &mut server.children {
            if let Some(l) = loc.lines.iter_mut().find(|l| l.contains(needle)) {
                *l = with.to_owned();
                return true;
            }
        }
    }
    false
}

fn classes() -> Vec<Class> {
    vec![
        class!("baseline", accept, |_, _| true),
        // --- pass addresses
        class!("proxy_pass without scheme", refuse, |s, r| {
            let target = *r.pick(&["localhost:3000", "127.0.0.1:3000", "backend"]);
            add_location(
                s,
                r,
                "location /no-scheme/",
                &[&format!("proxy_pass {target};")],
            )
        }),
        class!("fastcgi_pass with http://", refuse, |s, r| add_location(
            s,
            r,
            "location ~ \\.php5$",
            &["fastcgi_pass http://127.0.0.1:9000;"]
        )),
        class!("grpc_pass with http://", refuse, |s, r| add_location(
            s,
            r,
            "location /grpc-http/",
            &["grpc_pass http://127.0.0.1:50051;"]
        )),
        class!("uwsgi_pass with http://", refuse, |s, r| add_location(
            s,
            r,
            "location /uwsgi/",
            &["uwsgi_pass http://127.0.0.1:8001;"]
        )),
        class!("stream proxy_pass with scheme", refuse, |s, _| {
            let Some((_, servers)) = &mut s.stream else {
                return false;
            };
            servers.push(Block::new(
                "server",
                &["listen 7001;", "proxy_pass http://127.0.0.1:5432;"],
            ));
            true
        }),
        class!("pass port 0", refuse, |s, r| add_location(
            s,
            r,
            "location /port0/",
            &["proxy_pass http://127.0.0.1:0;"]
        )),
        class!("pass port above 65535", refuse, |s, r| {
            let p = *r.pick(&["65536", "99999", "300000"]);
            add_location(
                s,
                r,
                "location /bigport/",
                &[&format!("proxy_pass http://127.0.0.1:{p};")],
            )
        }),
        class!("pass port not a number", refuse, |s, r| add_location(
            s,
            r,
            "location /badport/",
            &["proxy_pass http://127.0.0.1:80a;"]
        )),
        class!("upstream name with port", refuse, |s, r| {
            let Some(name) = s
                .upstreams
                .first()
                .map(|u| u.head.trim_start_matches("upstream ").to_owned())
            else {
                return false;
            };
            add_location(
                s,
                r,
                "location /up-port/",
                &[&format!("proxy_pass http://{name}:3000;")],
            )
        }),
        class!("pass without port (no default port)", refuse, |s, r| {
            let l = *r.pick(&[
                "fastcgi_pass 127.0.0.9;",
                "grpc_pass grpc://127.0.0.9;",
                "uwsgi_pass uwsgi://127.0.0.9;",
                "memcached_pass 127.0.0.9;",
                "scgi_pass 127.0.0.9;",
            ]);
            add_location(s, r, "location ~ \\.phtml$", &[l])
        }),
        class!("proxy_pass empty unix path", refuse, |s, r| add_location(
            s,
            r,
            "location /sock/",
            &["proxy_pass http://unix:;"]
        )),
        // --- variables
        class!("$connection_upgrade without map", refuse, |s, r| {
            s.http_top.retain(|l| !l.contains("$connection_upgrade"));
            replace_line(
                s,
                "Connection $connection_upgrade",
                "proxy_set_header Connection $connection_upgrade;",
            ) || add_loc_line(s, r, "proxy_set_header Connection $connection_upgrade;")
        }),
        class!("envsubst leftover ${PORT}", refuse, |s, r| {
            let line = *r.pick(&[
                "proxy_set_header X-Port ${PORT};",
                "add_header X-Backend \"${BACKEND_HOST}\";",
                "return 302 https://${DOMAIN}$request_uri;",
            ]);
            add_location(s, r, "location /tpl/", &[line])
        }),
        class!("variable typo", refuse, |s, r| {
            let line = *r.pick(&[
                "add_header X-Client $remote_adr;",
                "proxy_set_header X-Host $hots;",
                "return 200 $request_url;",
            ]);
            add_location(s, r, "location /typo/", &[line])
        }),
        class!("unknown variable in if", refuse, |s, r| add_server_line(
            s,
            r,
            "if ($maintenance_mode) { return 503; }"
        )),
        class!("lone $ in a script", refuse, |s, r| add_location(
            s,
            r,
            "location /price/",
            &["return 200 \"costs 5 $\";"]
        )),
        class!("unclosed ${", refuse, |s, r| add_location(
            s,
            r,
            "location /brace/",
            &["add_header X-H \"${host\";"]
        )),
        class!("stream variable in http", refuse, |s, r| add_location(
            s,
            r,
            "location /sni/",
            &["return 200 $ssl_preread_server_name;"]
        )),
        // --- regexes
        class!("location regex unbalanced", refuse, |s, r| {
            let re = *r.pick(&["^/(api|static", "^/files/[a-z+$", "^/x{2,1}$", "\"^/a)b\""]);
            add_location(s, r, &format!("location ~ {re}"), &["return 404;"])
        }),
        class!("rewrite regex unbalanced", refuse, |s, r| add_server_line(
            s,
            r,
            "rewrite ^/(old/(.*)$ /new/$2 permanent;"
        )),
        class!("map regex unbalanced", refuse, |s, _| {
            s.http_top
                .push("map $request_uri $bad_map { default 0; \"~^/(a|b\" 1; }".into());
            true
        }),
        class!("if regex unbalanced", refuse, |s, r| add_server_line(
            s,
            r,
            "if ($http_user_agent ~* \"(curl|wget\") { return 403; }"
        )),
        class!("server_name regex unbalanced", refuse, |s, r| {
            add_server_line(s, r, "server_name ~^(www\\.)?(?<domain>.+$;")
        }),
        class!(
            "fastcgi_split_path_info regex unbalanced",
            refuse,
            |s, r| add_location(
                s,
                r,
                "location ~ \\.php7$",
                &[
                    "fastcgi_split_path_info ^(.+\\.php)(/.+$;",
                    "fastcgi_pass 127.0.0.1:9000;"
                ]
            )
        ),
        class!("duplicate named capture", refuse, |s, r| add_location(
            s,
            r,
            "location ~ ^/(?<id>\\d+)/(?<id>\\d+)$",
            &["return 404;"]
        )),
        // --- duplicates
        class!("duplicate location", refuse, |s, r| {
            let srv = s.server(r);
            let Some(head) = srv
                .children
                .iter()
                .map(|c| c.head.clone())
                .find(|h| !h.contains('~') && !h.contains('@'))
            else {
                return false;
            };
            srv.children.push(Block::new(&head, &["return 404;"]));
            true
        }),
        class!("duplicate location via ^~", refuse, |s, r| {
            let srv = s.server(r);
            srv.children
                .push(Block::new("location /assets/", &["expires 1d;"]));
            srv.children
                .push(Block::new("location ^~ /assets/", &["expires 2d;"]));
            true
        }),
        class!("duplicate upstream", refuse, |s, _| {
            let Some(u) = s.upstreams.first().cloned() else {
                return false;
            };
            let mut dup = u.clone();
            dup.head = dup.head.to_uppercase().replace("UPSTREAM", "upstream");
            s.upstreams.push(dup);
            true
        }),
        class!("duplicate log_format", refuse, |s, _| {
            s.http_top.push("log_format main '$remote_addr';".into());
            s.http_top.push("log_format main '$request';".into());
            true
        }),
        class!("log_format named combined", refuse, |s, _| {
            s.http_top
                .push("log_format combined '$remote_addr $request';".into());
            true
        }),
        class!("limit_req_zone declared twice", refuse, |s, _| {
            s.http_top
                .push("limit_req_zone $binary_remote_addr zone=twice:1m rate=1r/s;".into());
            s.http_top
                .push("limit_req_zone $server_name zone=twice:1m rate=5r/s;".into());
            true
        }),
        class!("one zone name for two uses", refuse, |s, _| {
            s.http_top
                .push("limit_conn_zone $binary_remote_addr zone=shared:1m;".into());
            s.http_top
                .push("limit_req_zone $binary_remote_addr zone=shared:1m rate=1r/s;".into());
            true
        }),
        // --- upstreams
        class!("upstream without servers", refuse, |s, _| {
            s.upstreams
                .push(Block::new("upstream spare", &["keepalive 4;"]));
            true
        }),
        class!("server resolve before 1.27.3", refuse, |s, _| {
            let Some(u) = s.upstreams.first_mut() else {
                return false;
            };
            u.lines.insert(0, "server 127.0.0.1:3999 resolve;".into());
            true
        }),
        class!("backup in hash upstream", refuse, |s, r| {
            let bal = *r.pick(&["hash $request_uri consistent;", "ip_hash;", "random;"]);
            s.upstreams.push(Block::new(
                "upstream hashed",
                &[
                    bal,
                    "server 127.0.0.1:7001;",
                    "server 127.0.0.1:7002 backup;",
                ],
            ));
            add_location(s, r, "location /hashed/", &["proxy_pass http://hashed;"])
        }),
        class!("keepalive 0", refuse, |s, _| {
            let Some(u) = s.upstreams.first_mut() else {
                return false;
            };
            u.lines.retain(|l| !l.starts_with("keepalive"));
            u.lines.push("keepalive 0;".into());
            true
        }),
        class!("upstream server bad parameter", refuse, |s, _| {
            let Some(u) = s.upstreams.first_mut() else {
                return false;
            };
            u.lines.insert(0, "server 127.0.0.1:3998 weight=0;".into());
            true
        }),
        class!("upstream server commercial parameter", refuse, |s, _| {
            let Some(u) = s.upstreams.first_mut() else {
                return false;
            };
            u.lines
                .insert(0, "server 127.0.0.1:3997 slow_start=30s;".into());
            true
        }),
        class!("upstream server port 0", refuse, |s, _| {
            let Some(u) = s.upstreams.first_mut() else {
                return false;
            };
            u.lines.insert(0, "server 127.0.0.1:0;".into());
            true
        }),
        class!("upstream server with URI", refuse, |s, _| {
            let Some(u) = s.upstreams.first_mut() else {
                return false;
            };
            u.lines.insert(0, "server 127.0.0.1:3996/app;".into());
            true
        }),
        class!("stream upstream server without port", refuse, |s, _| {
            let Some((ups, _)) = &mut s.stream else {
                return false;
            };
            ups[0].lines.push("server 10.0.0.7;".into());
            true
        }),
        // --- listen
        class!("two default_server", refuse, |s, _| {
            let Some(port) = s.servers.iter().find_map(|(b, _)| {
                b.lines.iter().find(|l| l.starts_with("listen ")).map(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .unwrap_or("80")
                        .trim_end_matches(';')
                        .to_owned()
                })
            }) else {
                return false;
            };
            for (b, _) in &mut s.servers {
                b.lines.retain(|l| !l.contains("default_server"));
            }
            let a = Block::new(
                "server",
                &[
                    &format!("listen {port} default_server;"),
                    "server_name one.example;",
                ],
            )
            .with(Block::new("location /", &["return 204;"]));
            let b = Block::new(
                "server",
                &[
                    &format!("listen {port} default_server;"),
                    "server_name two.example;",
                ],
            )
            .with(Block::new("location /", &["return 204;"]));
            s.servers.push((a, None));
            s.servers.push((b, None));
            true
        }),
        class!("conflicting socket options", refuse, |s, _| {
            let a = Block::new(
                "server",
                &["listen 8181 reuseport;", "server_name r1.example;"],
            )
            .with(Block::new("location /", &["return 204;"]));
            let b = Block::new(
                "server",
                &["listen 8181 backlog=4096;", "server_name r2.example;"],
            )
            .with(Block::new("location /", &["return 204;"]));
            s.servers.push((a, None));
            s.servers.push((b, None));
            true
        }),
        class!("listen unknown parameter", refuse, |s, r| {
            let p = *r.pick(&["foo", "default-server", "http3", "spdy", "setfib=1"]);
            add_server_line(s, r, &format!("listen 8282 {p};"))
        }),
        class!("listen with variable", refuse, |s, r| add_server_line(
            s,
            r,
            "listen ${NGINX_PORT};"
        )),
        class!("listen port out of range", refuse, |s, r| add_server_line(
            s,
            r,
            "listen 70000;"
        )),
        class!("listen twice in one server", refuse, |s, r| {
            let srv = s.server(r);
            let Some(l) = srv.lines.iter().find(|l| l.starts_with("listen ")).cloned() else {
                return false;
            };
            srv.lines.push(l.replace(" default_server", ""));
            true
        }),
        class!("listen bad backlog", refuse, |s, r| add_server_line(
            s,
            r,
            "listen 8383 backlog=lots;"
        )),
        class!("listen ssl without certificate", refuse, |s, r| {
            add_server_line(s, r, "listen 8443 ssl;")
        }),
        class!("ssl_certificate without key", refuse, |s, r| {
            add_server_line(
                s,
                r,
                "ssl_certificate /etc/ssl/certs/ssl-cert-snakeoil.pem;",
            )
        }),
        class!("stream address in two servers", refuse, |s, _| {
            let Some((_, servers)) = &mut s.stream else {
                return false;
            };
            servers.push(Block::new(
                "server",
                &["listen 5432;", "proxy_pass 127.0.0.1:15432;"],
            ));
            true
        }),
        class!("stream listen unknown parameter", refuse, |s, _| {
            let Some((_, servers)) = &mut s.stream else {
                return false;
            };
            servers.push(Block::new(
                "server",
                &["listen 7000 http2;", "proxy_pass 127.0.0.1:17000;"],
            ));
            true
        }),
        // --- directive values
        class!("return with a word", refuse, |s, r| {
            let v = *r.pick(&["abc", "ok", "/maintenance.html", "1000"]);
            add_location(s, r, "location /ret/", &[&format!("return {v};")])
        }),
        class!("error_page code out of range", refuse, |s, r| {
            let c = *r.pick(&["200", "299", "600", "499", "40x"]);
            add_server_line(s, r, &format!("error_page {c} /error.html;"))
        }),
        class!("error_page bad response code", refuse, |s, r| {
            add_server_line(s, r, "error_page 404 =abc /404.html;")
        }),
        class!("if without parenthesis", refuse, |s, r| add_server_line(
            s,
            r,
            "if ($request_method = POST { return 405; }"
        )),
        class!("if with ==", refuse, |s, r| add_server_line(
            s,
            r,
            "if ($request_method == POST) { return 405; }"
        )),
        class!("if bad file test", refuse, |s, r| add_loc_line(
            s,
            r,
            "if (-q $request_filename) { return 404; }"
        )),
        class!("if extra words", refuse, |s, r| add_server_line(
            s,
            r,
            "if ($host = a.example b.example) { return 404; }"
        )),
        class!("rewrite bad flag", refuse, |s, r| {
            let f = *r.pick(&["permament", "redirect301", "Last"]);
            add_server_line(s, r, &format!("rewrite ^/old$ /new {f};"))
        }),
        class!("add_header bad flag", refuse, |s, r| add_loc_line(
            s,
            r,
            "add_header X-Frame-Options DENY alwyas;"
        )),
        class!("location bad modifier", refuse, |s, r| add_location(
            s,
            r,
            "location ~~ /x",
            &["return 404;"]
        )),
        class!("root and alias", refuse, |s, r| add_location(
            s,
            r,
            "location /media/",
            &["root /var/www;", "alias /srv/media/;"]
        )),
        class!("map target without $", refuse, |s, _| {
            s.http_top.push(
                "map $http_upgrade connection_upgrade2 { default upgrade; '' close; }".into(),
            );
            true
        }),
        class!("map duplicate key", refuse, |s, r| {
            let k = *r.pick(&["/old-page", "/OLD-page"]);
            s.http_top
                .push(format!("map $uri $dup_target {{ /old-page /a; {k} /b; }}"));
            true
        }),
        class!("map two defaults", refuse, |s, _| {
            s.http_top
                .push("map $uri $two_defaults { default 1; default 2; }".into());
            true
        }),
        class!("limit_req zone undefined", refuse, |s, r| add_loc_line(
            s,
            r,
            "limit_req zone=login burst=5;"
        )),
        class!("limit_conn zone undefined", refuse, |s, r| add_loc_line(
            s,
            r,
            "limit_conn perip 10;"
        )),
        class!("proxy_cache zone undefined", refuse, |s, r| add_loc_line(
            s,
            r,
            "proxy_cache pages;"
        )),
        class!("unknown log format", refuse, |s, r| {
            let f = *r.pick(&["json", "buffer=32k", "custom"]);
            add_server_line(s, r, &format!("access_log x.log {f};"))
        }),
        class!("log_format after its access_log", refuse, |s, r| {
            s.http_tail
                .push("log_format late '$remote_addr $status';".into());
            add_server_line(s, r, "access_log late.log late;")
        }),
        class!("proxy_buffer_size alone", refuse, |s, r| {
            let v = *r.pick(&["64k", "128k", "256k"]);
            add_loc_line(s, r, &format!("proxy_buffer_size {v};"))
        }),
        class!("fastcgi_buffers too few", refuse, |s, r| add_loc_line(
            s,
            r,
            "fastcgi_buffers 2 4k;"
        )),
        class!("busy buffers too small", refuse, |s, r| add_loc_line(
            s,
            r,
            "proxy_busy_buffers_size 1k;"
        )),
        class!("limit_conn 0", refuse, |s, r| {
            s.http_top
                .push("limit_conn_zone $binary_remote_addr zone=perip0:1m;".into());
            add_loc_line(s, r, "limit_conn perip0 0;")
        }),
        class!("nested location outside its parent", refuse, |s, r| {
            let b = Block::new("location /shop/", &["root /var/www;"])
                .with(Block::new("location /cart/", &["return 404;"]));
            s.server(r).children.push(b);
            true
        }),
        class!("location inside an exact location", refuse, |s, r| {
            let b = Block::new("location = /exact", &["return 204;"])
                .with(Block::new("location /exact/sub", &["return 404;"]));
            s.server(r).children.push(b);
            true
        }),
        class!("named location nested", refuse, |s, r| {
            let b = Block::new("location /outer/", &["return 204;"])
                .with(Block::new("location @inner", &["return 404;"]));
            s.server(r).children.push(b);
            true
        }),
        class!("alias in a named location", refuse, |s, r| add_location(
            s,
            r,
            "location @files",
            &["alias /srv/files/;"]
        )),
        class!("set without $", refuse, |s, r| add_loc_line(
            s,
            r,
            "set backend_port 3000;"
        )),
        class!("allow/deny bad address", refuse, |s, r| {
            let a = *r.pick(&[
                "deny 192.168.1.256;",
                "allow 10.0.0.0/33;",
                "allow 10.0.0;",
                "deny 2001:db8::/129;",
            ]);
            add_loc_line(s, r, a)
        }),
        class!("ssl_verify_client without CA", refuse, |s, _| {
            let b = Block::new(
                "server",
                &[
                    "listen 9444 ssl;",
                    "ssl_reject_handshake on;",
                    "ssl_verify_client on;",
                ],
            );
            s.servers.push((b, None));
            true
        }),
        class!("server_name *", refuse, |s, r| add_server_line(
            s,
            r,
            "server_name *;"
        )),
        class!("zone without size", refuse, |s, r| {
            let l = *r.pick(&[
                "limit_req_zone $binary_remote_addr zone=login rate=10r/s;",
                "limit_conn_zone $binary_remote_addr zone=conns;",
                "limit_req_zone $binary_remote_addr zone=login:10x rate=1r/s;",
            ]);
            s.http_top.push(l.into());
            true
        }),
        class!("rate per hour", refuse, |s, _| {
            s.http_top
                .push("limit_req_zone $binary_remote_addr zone=hourly:10m rate=100r/h;".into());
            true
        }),
        class!("zone too small", refuse, |s, _| {
            s.http_top
                .push("limit_req_zone $binary_remote_addr zone=tiny:8k rate=1r/s;".into());
            true
        }),
        class!("limit_req bad burst", refuse, |s, r| {
            s.http_top
                .push("limit_req_zone $binary_remote_addr zone=b:1m rate=1r/s;".into());
            let l = *r.pick(&[
                "limit_req zone=b burst=0;",
                "limit_req zone=b burst=abc;",
                "limit_req zone=b delay=0;",
                "limit_req zone=b nodelays;",
                "limit_req burst=5;",
            ]);
            add_loc_line(s, r, l)
        }),
        class!("keys_zone without size", refuse, |s, _| {
            s.http_top
                .push("proxy_cache_path cache2 keys_zone=c2;".into());
            true
        }),
        class!("cache levels invalid", refuse, |s, r| {
            let l = *r.pick(&["levels=1:2:3:4", "levels=3", "levels=1:", "levels=12"]);
            s.http_top
                .push(format!("proxy_cache_path cache3 {l} keys_zone=c3:1m;"));
            true
        }),
        class!("proxy_cache_path bad parameter", refuse, |s, r| {
            let l = *r.pick(&[
                "inactive=1x",
                "max_size=big",
                "use_temp_path=no",
                "purger=on",
            ]);
            s.http_top
                .push(format!("proxy_cache_path cache4 keys_zone=c4:1m {l};"));
            true
        }),
        class!("ssl_session_cache without size", refuse, |s, _| {
            s.http_top.push("ssl_session_cache shared:SSL;".into());
            true
        }),
        class!("ssl_session_cache sizes conflict", refuse, |s, r| {
            s.http_top.push("ssl_session_cache shared:SSL:10m;".into());
            add_server_line(s, r, "ssl_session_cache shared:SSL:20m;")
        }),
        class!("ssl_session_cache in http and stream", refuse, |s, _| {
            if s.stream.is_none() {
                return false;
            }
            s.http_top.push("ssl_session_cache shared:SSL:10m;".into());
            s.stream_top
                .push("ssl_session_cache shared:SSL:10m;".into());
            true
        }),
        class!("upstream zone without size", refuse, |s, _| {
            let Some(u) = s.upstreams.first_mut() else {
                return false;
            };
            u.lines.push("zone backend_zone;".into());
            true
        }),
        class!("one zone for an upstream and a limit", refuse, |s, _| {
            let Some(u) = s.upstreams.first_mut() else {
                return false;
            };
            u.lines.push("zone shared_z 64k;".into());
            s.http_top
                .push("limit_conn_zone $binary_remote_addr zone=shared_z:1m;".into());
            true
        }),
        class!("set a built-in variable", refuse, |s, r| {
            let v = *r.pick(&["host", "uri", "request_uri", "remote_addr", "Scheme"]);
            add_loc_line(s, r, &format!("set ${v} x;"))
        }),
        class!("named capture shadows a built-in", refuse, |s, r| {
            add_location(s, r, "location ~ ^/files/(?<uri>.+)$", &["return 404;"])
        }),
        class!("unknown variable in an included snippet", refuse, |s, r| {
            s.snippets.push((
                "snippets/headers.conf".into(),
                vec![
                    "add_header X-Request-Id $request_id;".into(),
                    "add_header X-Upstream $upstream_adress;".into(),
                ],
            ));
            add_loc_line(s, r, "include snippets/headers.conf;")
        }),
        class!("snippet with a location included twice", refuse, |s, r| {
            s.snippets.push((
                "snippets/health.conf".into(),
                vec!["location = /healthz { access_log off; return 200 \"ok\"; }".into()],
            ));
            let srv = s.server(r);
            srv.lines.push("include snippets/health.conf;".into());
            srv.lines.push("include snippets/health.conf;".into());
            true
        }),
        class!("proxy_ssl_verify without CA", refuse, |s, r| {
            let pass = *r.pick(&[
                "proxy_pass https://127.0.0.1:8443;",
                "proxy_pass https://10.0.0.20;",
            ]);
            add_location(
                s,
                r,
                "location /tls-backend/",
                &["proxy_ssl_verify on;", pass],
            )
        }),
        class!("proxy_ssl_certificate without key", refuse, |s, r| {
            add_location(
                s,
                r,
                "location /mtls/",
                &[
                    "proxy_ssl_certificate /etc/ssl/certs/client.pem;",
                    "proxy_pass https://127.0.0.1:8443;",
                ],
            )
        }),
        class!("ssl on without certificate", refuse, |s, _| {
            let b = Block::new("server", &["listen 9446;", "ssl on;"]);
            s.servers.push((b, None));
            true
        }),
        // --- harmless edits nginx accepts
        class!("lookahead regex", accept, |s, r| add_location(
            s,
            r,
            "location ~ ^/(?!api/|static/)(?<page>[a-z-]+)$",
            &["return 200 $page;"]
        )),
        class!("backreference and possessive regex", accept, |s, r| {
            add_location(s, r, "location ~ ^/(a|b)/\\1/x++$", &["return 404;"])
        }),
        class!("lookbehind in map", accept, |s, _| {
            s.http_top
                .push("map $uri $lb { default 0; \"~(?<=/v)\\d+$\" 1; }".into());
            true
        }),
        class!("map defined after use", accept, |s, r| {
            s.http_tail.push(
                "map $http_x_forwarded_proto $fwd_proto { default $scheme; https https; }".into(),
            );
            add_loc_line(s, r, "proxy_set_header X-Forwarded-Proto $fwd_proto;")
        }),
        class!("set after use in another location", accept, |s, r| {
            add_location(s, r, "location /reader/", &["return 200 $flag;"]);
            add_location(s, r, "location /writer/", &["set $flag on;", "return 204;"])
        }),
        class!("uppercase variable names", accept, |s, r| add_loc_line(
            s,
            r,
            "add_header X-Req $Request_Uri;"
        )),
        class!("prefix variable families", accept, |s, r| {
            add_location(s, r, "location /families/", &["add_header X-A \"$arg_page $cookie_session $http_x_custom_header $sent_http_content_type $upstream_http_x_cache\";", "return 204;"])
        }),
        class!("return URL forms", accept, |s, r| {
            let l = *r.pick(&[
                "return 301 $scheme://$host$request_uri;",
                "return https://example.com/;",
                "return 302;",
                "return 200 \"${host}\";",
            ]);
            add_location(s, r, "location /moved/", &[l])
        }),
        class!("exact and prefix with one URI", accept, |s, r| {
            add_location(s, r, "location = /same", &["return 204;"]);
            add_location(s, r, "location /same", &["return 204;"])
        }),
        class!("same regex twice", accept, |s, r| {
            add_location(s, r, "location ~ \\.bak$", &["deny all;"]);
            add_location(s, r, "location ~ \\.bak$", &["return 404;"])
        }),
        class!(
            "nested location with parent's URI prefix",
            accept,
            |s, r| {
                let b = Block::new("location /docs/", &["root /var/www;"])
                    .with(Block::new("location /docs/img/", &["expires 30d;"]));
                s.server(r).children.push(b);
                true
            }
        ),
        class!("default_server on another port", accept, |s, _| {
            let b = Block::new(
                "server",
                &["listen 8787 default_server;", "server_name other.example;"],
            )
            .with(Block::new("location /", &["return 204;"]));
            s.servers.push((b, None));
            true
        }),
        class!("same port on another address", accept, |s, _| {
            let b = Block::new(
                "server",
                &[
                    "listen 127.0.0.1:80 default_server;",
                    "listen [::1]:80;",
                    "server_name local.example;",
                ],
            )
            .with(Block::new("location /", &["return 204;"]));
            s.servers.push((b, None));
            true
        }),
        class!("proxy_pass with variables", accept, |s, r| add_location(
            s,
            r,
            "location /dyn/",
            &[
                "set $dyn_backend 127.0.0.1:3000;",
                "proxy_pass http://$dyn_backend;"
            ]
        )),
        class!("uppercase scheme and upstream name", accept, |s, r| {
            let Some(name) = s
                .upstreams
                .first()
                .map(|u| u.head.trim_start_matches("upstream ").to_uppercase())
            else {
                return false;
            };
            let scheme = if s.kind == "grpc" {
                "grpc_pass GRPC://"
            } else {
                "proxy_pass HTTP://"
            };
            add_location(s, r, "location /upper/", &[&format!("{scheme}{name};")])
        }),
        class!("balancers and parameters", accept, |s, r| {
            s.upstreams.push(Block::new(
                "upstream lc",
                &[
                    "least_conn;",
                    "server 127.0.0.1:7101 weight=5 max_conns=100;",
                    "server 127.0.0.1:7102 max_fails=0 fail_timeout=30s;",
                    "server 127.0.0.1:7103 backup;",
                    "server 127.0.0.1:7104 down;",
                    "keepalive 32;",
                    "keepalive_timeout 30s;",
                ],
            ));
            add_location(s, r, "location /lc/", &["proxy_pass http://lc;"])
        }),
        class!("error_page forms", accept, |s, r| {
            let l = *r.pick(&[
                "error_page 404 =200 /empty.gif;",
                "error_page 500 502 503 504 /50x.html;",
                "error_page 404 = @fallback404;",
                "error_page 403 http://example.com/forbidden.html;",
            ]);
            add_server_line(s, r, l)
        }),
        class!("if forms", accept, |s, r| {
            let l = *r.pick(&[
                "if ($request_method = POST) { return 405; }",
                "if (!-e $request_filename) { rewrite ^ /index.php last; }",
                "if ( $http_cookie ~* \"id=([^;]+)(?:;|$)\" ) { set $id $1; }",
                "if ($args) { set $has_args 1; }",
            ]);
            add_loc_line(s, r, l)
        }),
        class!("map with hostnames and regex", accept, |s, _| {
            s.http_top.push("map $host $site { hostnames; default main; .example.org org; *.example.net net; ~^api\\. api; }".into());
            true
        }),
        class!("named capture from server_name", accept, |s, _| {
            let b = Block::new(
                "server",
                &[
                    "listen 8989;",
                    "server_name ~^(?<sub>[a-z0-9-]+)\\.apps\\.example\\.com$;",
                    "root /srv/apps/$sub;",
                ],
            )
            .with(Block::new("location /", &["try_files $uri /index.html;"]));
            s.servers.push((b, None));
            true
        }),
        class!("access_log forms", accept, |s, r| {
            let l = *r.pick(&[
                "access_log c.log combined buffer=32k flush=5s;",
                "access_log off;",
                "access_log c.log;",
                "access_log c.log COMBINED if=$status;",
            ]);
            add_server_line(s, r, l)
        }),
        class!("valid buffer sizes", accept, |s, r| {
            let l = *r.pick(&[
                &["proxy_buffer_size 16k;", "proxy_buffers 8 16k;"][..],
                &[
                    "proxy_buffer_size 128k;",
                    "proxy_buffers 4 256k;",
                    "proxy_busy_buffers_size 256k;",
                ][..],
                &["fastcgi_buffers 16 16k;", "fastcgi_buffer_size 32k;"][..],
            ]);
            let loc = s.location(r);
            loc.lines.extend(l.iter().map(|x| x.to_string()));
            true
        }),
        class!("listen parameters", accept, |s, r| {
            let l = *r.pick(&[
                "listen 9191 reuseport backlog=1024;",
                "listen 9192 proxy_protocol;",
                "listen [::]:9193 ipv6only=on;",
                "listen 9194 so_keepalive=30m::10;",
                "listen 9195 http2;",
                "listen 9196 deferred fastopen=10 bind;",
                "listen 9197 accept_filter=dataready;",
            ]);
            add_server_line(s, r, l)
        }),
        class!("ssl server with reject_handshake", accept, |s, _| {
            let b = Block::new(
                "server",
                &[
                    "listen 9443 ssl default_server;",
                    "ssl_reject_handshake on;",
                ],
            );
            s.servers.push((b, None));
            true
        }),
        class!("limit zones used", accept, |s, r| {
            s.http_top
                .push("limit_req_zone $binary_remote_addr zone=used:1m rate=5r/s;".into());
            s.http_top
                .push("limit_conn_zone $server_name zone=perserver:1m;".into());
            add_loc_line(s, r, "limit_req zone=used burst=10;")
                && add_loc_line(s, r, "limit_conn perserver 100;")
        }),
        class!("map values with variables", accept, |s, _| {
            s.http_top.push("map $http_x_forwarded_host $fwd_host { default $host; \"\" $host; ~. $http_x_forwarded_host; }".into());
            true
        }),
        class!("literal $ outside scripts", accept, |s, r| add_location(
            s,
            r,
            "location ~ ^/price$",
            &["add_header X-Note \"see /price\";", "return 204;"]
        )),
        class!("stream map and ssl_preread", accept, |s, _| {
            let Some((_, servers)) = &mut s.stream else {
                return false;
            };
            servers.push(Block::new(
                "server",
                &[
                    "listen 8443;",
                    "ssl_preread on;",
                    "proxy_pass $sni_backend;",
                ],
            ));
            servers.push(Block::new(
                "map $ssl_preread_server_name $sni_backend",
                &["default 127.0.0.1:9443;", "~^db\\. 10.0.0.5:5432;"],
            ));
            true
        }),
        class!("nested regex inside a prefix location", accept, |s, r| {
            let b = Block::new("location /img/", &["root /var/www;"])
                .with(Block::new("location ~ \\.webp$", &["expires 30d;"]));
            s.server(r).children.push(b);
            true
        }),
        class!(
            "portless pass joins an earlier implicit upstream",
            accept,
            |s, r| {
                let srv = s.server(r);
                srv.children.push(Block::new(
                    "location /joined-a/",
                    &["proxy_pass http://127.0.0.1:4100;"],
                ));
                srv.children.push(Block::new(
                    "location ~ \\.php8$",
                    &["fastcgi_pass 127.0.0.1;"],
                ));
                true
            }
        ),
        class!("allow/deny forms", accept, |s, r| {
            add_loc_line(s, r, "allow 10.0.0.0/8;");
            add_loc_line(s, r, "allow 2001:db8::/32;");
            add_loc_line(s, r, "allow 192.168.1.5/24;");
            add_loc_line(s, r, "deny all;")
        }),
        class!(
            "one name on two servers of one address (nginx warns)",
            accept,
            |s, _| {
                let a = Block::new("server", &["listen 8585;", "server_name dup.example.com;"])
                    .with(Block::new("location /", &["return 204;"]));
                let b = Block::new("server", &["listen 8585;", "server_name DUP.example.com;"])
                    .with(Block::new("location /", &["return 204;"]));
                s.servers.push((a, None));
                s.servers.push((b, None));
                true
            }
        ),
        class!("ssl_verify_client optional_no_ca", accept, |s, _| {
            let b = Block::new(
                "server",
                &[
                    "listen 9445 ssl;",
                    "ssl_reject_handshake on;",
                    "ssl_verify_client optional_no_ca;",
                ],
            );
            s.servers.push((b, None));
            true
        }),
        class!("zones declared and shared", accept, |s, _| {
            s.http_top.push("ssl_session_cache shared:SSL:10m;".into());
            s.http_top.push("proxy_cache_path cache5 levels=1:2 keys_zone=c5:10m inactive=60m max_size=1g use_temp_path=off;".into());
            s.upstreams.push(Block::new(
                "upstream z1",
                &["zone upstreams 64k;", "server 127.0.0.1:7201;"],
            ));
            s.upstreams.push(Block::new(
                "upstream z2",
                &["zone upstreams;", "server 127.0.0.1:7202;"],
            ));
            s.servers[0]
                .0
                .lines
                .push("ssl_session_cache shared:SSL:10m;".into());
            true
        }),
        class!("set a changeable built-in", accept, |s, r| {
            let l = *r.pick(&[
                "set $args \"page=1\";",
                "set $limit_rate 100k;",
                "set $http_x_debug 1;",
                "set $ssl_protocol none;",
            ]);
            add_loc_line(s, r, l)
        }),
        class!("snippet included in two servers", accept, |s, _| {
            s.snippets.push((
                "snippets/health.conf".into(),
                vec!["location = /healthz { access_log off; return 200 \"ok\"; }".into()],
            ));
            for (srv, _) in s.servers.iter_mut().take(2) {
                srv.lines.push("include snippets/health.conf;".into());
            }
            true
        }),
        class!(
            "proxy_ssl_verify for a plain http backend",
            accept,
            |s, r| add_location(
                s,
                r,
                "location /plain/",
                &["proxy_ssl_verify on;", "proxy_pass http://127.0.0.1:8080;"]
            )
        ),
        class!(
            "deprecated ssl on with reject_handshake (nginx warns)",
            accept,
            |s, _| {
                let b = Block::new(
                    "server",
                    &["listen 9447;", "ssl on;", "ssl_reject_handshake on;"],
                );
                s.servers.push((b, None));
                true
            }
        ),
        class!("handler refuses a location value", refuse, |s, r| {
            let l = *r.pick(&[
                "try_files $uri $uri/ =404x;",
                "try_files $uri =1000;",
                "limit_except FETCH { deny all; }",
                "open_file_cache max=1000 inactive=20x;",
                "open_file_cache inactive=20s;",
                "gzip_comp_level 10;",
                "expires 30dd;",
                "expires @25h;",
                "expires modified @10h;",
                "expires later 1d;",
                "limit_rate 10kk;",
                "proxy_buffers 8 0;",
                "proxy_temp_path /var/tmp/gw-proxy 1 2 x;",
                "access_log off buffer=32k;",
                "access_log /var/log/nginx/gw.log combined flush=5s;",
                "access_log /var/log/nginx/gw.log combined gzip=10;",
                "resolver 127.0.0.53 ipv6=maybe;",
                "resolver 127.0.0.53 valid=3x;",
                "memcached_pass 127.0.0.1:11211;",
            ]);
            add_location(s, r, "location /gw-handler/", &[l])
        }),
        class!("handler accepts a location value", accept, |s, r| {
            let l = *r.pick(&[
                "try_files $uri $uri/ =404;",
                "limit_except get POST { deny all; }",
                "open_file_cache max=1000 inactive=20s;",
                "open_file_cache off;",
                "gzip_comp_level 9;",
                "expires 30d;",
                "expires @10h30m;",
                "expires modified 1d;",
                "expires -1;",
                "expires epoch;",
                "limit_rate 10k;",
                "proxy_buffers 16 8k;",
                "proxy_temp_path /var/tmp/gw-proxy 1 2;",
                "access_log /var/log/nginx/gw.log combined buffer=32k gzip=5 flush=5s;",
                "resolver 127.0.0.53 valid=30 ipv6=off;",
                "set $memcached_key $uri; memcached_pass 127.0.0.1:11211;",
            ]);
            add_location(s, r, "location /gw-handler/", &[l])
        }),
        class!("handler refuses an http value", refuse, |s, r| {
            let l = *r.pick(&[
                "error_log /var/log/nginx/gw-error.log warnx;",
                "error_log /var/log/nginx/gw-error.log warn error;",
                "error_log /var/log/nginx/gw-error.log debug debug_http;",
                "log_format gw escape=html '$remote_addr';",
                "split_clients \"${remote_addr}\" $gw_variant { 50% a; 60% b; }",
                "split_clients \"${remote_addr}\" $gw_variant { 0.555% a; * b; }",
                "large_client_header_buffers 4 0;",
                "upstream gw_hash { hash $gw_undefined consistent; server 127.0.0.1:7001; }",
            ]);
            s.http_top.push(l.to_owned());
            true
        }),
        class!("handler accepts an http value", accept, |s, r| {
            let l = *r.pick(&[
                "error_log /var/log/nginx/gw-error.log warn;",
                "error_log /var/log/nginx/gw-error.log debug_http debug_core;",
                "log_format gw escape=json '$remote_addr';",
                "split_clients \"${remote_addr}\" $gw_variant { 0.5% a; 49.5% b; * c; }",
                "large_client_header_buffers 4 16k;",
                "upstream gw_hash { hash $remote_addr$request_uri consistent; server 127.0.0.1:7001; }",
            ]);
            s.http_top.push(l.to_owned());
            true
        }),
        class!("stream handler refuses a value", refuse, |s, r| {
            let Some((ups, servers)) = &mut s.stream else {
                return false;
            };
            match r.below(4) {
                0 => ups.push(Block::new(
                    "upstream gw_h",
                    &["hash $remote_addr consistentt;", "server 127.0.0.1:7301;"],
                )),
                1 => ups.push(Block::new(
                    "upstream gw_r",
                    &["random two least_time=connect;", "server 127.0.0.1:7302;"],
                )),
                2 => servers.push(Block::new(
                    "server",
                    &[
                        "listen 7303;",
                        "proxy_ssl on;",
                        "proxy_ssl_verify on;",
                        "proxy_pass 127.0.0.1:7304;",
                    ],
                )),
                _ => servers.push(Block::new(
                    "server",
                    &[
                        "listen 7305;",
                        "allow 10.0.0.0/33;",
                        "proxy_pass 127.0.0.1:7306;",
                    ],
                )),
            }
            true
        }),
        class!("stream handler accepts a value", accept, |s, r| {
            let Some((ups, servers)) = &mut s.stream else {
                return false;
            };
            match r.below(3) {
                0 => ups.push(Block::new(
                    "upstream gw_h",
                    &["hash $remote_addr consistent;", "server 127.0.0.1:7301;"],
                )),
                1 => ups.push(Block::new(
                    "upstream gw_r",
                    &["random two least_conn;", "server 127.0.0.1:7302;"],
                )),
                _ => servers.push(Block::new(
                    "server",
                    &[
                        "listen 7303;",
                        "allow 10.0.0.0/8;",
                        "deny all;",
                        "proxy_ssl on;",
                        "proxy_ssl_verify on;",
                        "proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;",
                        "proxy_pass 127.0.0.1:7304;",
                    ],
                )),
            }
            true
        }),
        class!("rewrite flags and captures", accept, |s, r| {
            let f = *r.pick(&["last", "break", "redirect", "permanent"]);
            add_server_line(
                s,
                r,
                &format!("rewrite ^/blog/(\\d+)/(?<slug>[^/]+)$ /posts/$1/$slug {f};"),
            )
        }),
    ]
}

struct Tally {
    cases: usize,
    refused: usize,
    agree: usize,
    false_green: usize,
    false_red: usize,
    line_match: usize,
}

fn nginx_verdict(dir: &Path) -> Option<(String, String, usize)> {
    let out = std::process::Command::new(common::nginx_binary())
        .arg("-t")
        .arg("-p")
        .arg(format!("{}/", dir.display()))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg("/dev/null")
        .output()
        .expect("run nginx -t");
    if out.status.success() {
        return None;
    }
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let line = stderr
        .lines()
        .find(|l| l.contains("[emerg]"))
        .unwrap_or(&stderr)
        .to_owned();
    let msg = line
        .split_once("[emerg] ")
        .map_or(line.as_str(), |(_, m)| m)
        .to_owned();
    let (file, no) = match msg.rsplit_once(" in ") {
        Some((_, loc)) => match loc.rsplit_once(':') {
            Some((f, n)) => (f.to_owned(), n.trim().parse().unwrap_or(0)),
            None => (String::new(), 0),
        },
        None => (String::new(), 0),
    };
    Some((msg, file, no))
}

#[test]
fn check_agrees_with_nginx_t_on_generated_mistakes() {
    if common::oracle::nginx().is_none() {
        return;
    }
    let seed = std::env::var("GWLINT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let per_class: usize = std::env::var("GWLINT_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let mut rng = Rng(seed);
    let mut settings = Settings::defaults().unwrap();
    settings.directives.target = "1.22.1".parse().unwrap();
    settings.directives.target_origin = nginx_gwlint::settings::TargetOrigin::Settings;
    let classes = classes();
    assert!(classes.len() > 60, "{} classes", classes.len());
    let mut table = Vec::new();
    let mut failures = Vec::new();
    for class in &classes {
        let mut t = Tally {
            cases: 0,
            refused: 0,
            agree: 0,
            false_green: 0,
            false_red: 0,
            line_match: 0,
        };
        for case in 0..per_class {
            // Some classes need a setup with an upstream or a stream block: try a few.
            let mut setup = None;
            for _ in 0..20 {
                let mut s = (rng.pick(SETUPS))(&mut rng);
                if (class.apply)(&mut s, &mut rng) {
                    setup = Some(s);
                    break;
                }
            }
            let Some(setup) = setup else { continue };
            let dir = tempfile::tempdir().unwrap();
            for (rel, text) in setup.render(dir.path()) {
                let p = dir.path().join(&rel);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, text).unwrap();
            }
            let verdict = nginx_verdict(dir.path());
            let ws = Workspace::nginx_only(load_path(&dir.path().join("nginx.conf")).unwrap());
            let diags = lint(&ws, &settings, &Selection::default());
            let errors: Vec<String> = diags
                .iter()
                .filter(|d| d.severity == Severity::Error && d.rule.starts_with("GW0"))
                .map(|d| {
                    let f = ws.tree.sources.get(d.file);
                    format!(
                        "{}:{}: {} {}",
                        f.display,
                        f.lines.line(d.span.start()),
                        d.rule,
                        d.message
                    )
                })
                .collect();
            // Where our errors point, their notes included (for checks nginx makes after reading
            // http { }, a note names the line nginx reports).
            let places: Vec<String> = diags
                .iter()
                .filter(|d| d.severity == Severity::Error && d.rule.starts_with("GW0"))
                .flat_map(|d| {
                    std::iter::once((d.file, d.span))
                        .chain(d.labels.iter().map(|l| (l.file, l.span)))
                })
                .map(|(file, span)| {
                    let f = ws.tree.sources.get(file);
                    format!("{}:{}:", f.display, f.lines.line(span.start()))
                })
                .collect();
            t.cases += 1;
            let what = format!(
                "[{}] case {case} ({}) in {}",
                class.name,
                setup.kind,
                dir.path().display()
            );
            match (&verdict, errors.is_empty()) {
                (Some((msg, file, line)), false) => {
                    t.refused += 1;
                    t.agree += 1;
                    let base = Path::new(file)
                        .file_name()
                        .map(|f| f.to_string_lossy().to_string())
                        .unwrap_or_default();
                    if *line == 0
                        || places
                            .iter()
                            .any(|p| p.ends_with(&format!("/{base}:{line}:")))
                    {
                        t.line_match += 1;
                    } else if std::env::var_os("GWLINT_VERBOSE").is_some() {
                        println!("line differs {what}: nginx {msg}; check {errors:?}");
                    }
                }
                (Some((msg, _, _)), true) => {
                    t.refused += 1;
                    t.false_green += 1;
                    if class.claimed {
                        failures.push(format!("false green {what}: nginx: {msg}"));
                        let _ = dir.keep();
                    }
                }
                (None, false) => {
                    t.false_red += 1;
                    failures.push(format!("false red {what}: {errors:?}"));
                    let _ = dir.keep();
                }
                (None, true) => t.agree += 1,
            }
        }
        table.push((class.name, class.refuse, class.claimed, t));
    }
    println!(
        "nginx differential, seed {seed}, {per_class} cases per class, {} classes",
        classes.len()
    );
    println!(
        "{:<44} {:>6} {:>5} {:>7} {:>5} {:>6} {:>5} {:>5}",
        "class", "kind", "cases", "refused", "agree", "fgreen", "fred", "line"
    );
    let (mut cases, mut agree, mut fg, mut fr) = (0, 0, 0, 0);
    for (name, refuse, claimed, t) in &table {
        let kind = match (refuse, claimed) {
            (true, true) => "refuse",
            (true, false) => "refuse?",
            (false, _) => "accept",
        };
        println!(
            "{name:<44} {kind:>6} {:>5} {:>7} {:>5} {:>6} {:>5} {:>5}",
            t.cases, t.refused, t.agree, t.false_green, t.false_red, t.line_match
        );
        cases += t.cases;
        agree += t.agree;
        fg += t.false_green;
        fr += t.false_red;
    }
    println!("total: {cases} cases, {agree} agree, {fg} false green, {fr} false red");
    // A mutation class meant as a mistake that nginx accepts is a broken class, not a finding.
    for (name, refuse, _, t) in &table {
        if *refuse && t.refused < t.cases {
            failures.push(format!(
                "class [{name}] is meant to be refused but nginx accepted {} of {} cases",
                t.cases - t.refused,
                t.cases
            ));
        }
        if !*refuse && t.refused > 0 {
            failures.push(format!(
                "class [{name}] is meant to be accepted but nginx refused {} of {} cases",
                t.refused, t.cases
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every corpus main file `nginx -t` accepts gets no error from the GW02x rules.
#[test]
fn corpus_files_nginx_accepts_get_no_semantic_error() {
    if common::oracle::shared().is_none() {
        return;
    }
    let corpus = common::shared().join("corpus");
    let results = std::fs::read_to_string(corpus.join("RESULTS.tsv")).unwrap();
    let mut settings = Settings::defaults().unwrap();
    settings.directives.target = "1.22.1".parse().unwrap();
    settings.directives.target_origin = nginx_gwlint::settings::TargetOrigin::Settings;
    let mut accepted = 0;
    for line in results.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.get(1) != Some(&"0") {
            continue;
        }
        accepted += 1;
        let ws = Workspace::nginx_only(load_path(&corpus.join(cols[0])).unwrap());
        let bad: Vec<String> = lint(&ws, &settings, &Selection::default())
            .into_iter()
            .filter(|d| d.rule.starts_with("GW02") && d.severity == Severity::Error)
            .map(|d| format!("{} {}", d.rule, d.message))
            .collect();
        assert!(bad.is_empty(), "{}: {bad:?}", cols[0]);
    }
    assert!(accepted >= 9, "{accepted}");
}

/// The semantic rules on generated setups whose words are replaced by tricky tokens (no
/// nginx here: only that nothing panics and the output is stable across two runs).
#[test]
fn semantic_rules_survive_scrambled_words() {
    const TOKENS: &[&str] = &[
        "$",
        "${",
        "${X",
        "$1",
        "$-",
        "~",
        "~*",
        "(",
        ")",
        "((",
        "))",
        "[",
        "]",
        "\\\\",
        "unix:",
        "unix:/",
        ":",
        "::",
        "[::",
        "0",
        "-1",
        "99999",
        "=",
        "=abc",
        "*",
        ".",
        "..",
        "@x",
        "(?<n>a)",
        "(?<",
        "^(a",
        "a{2,1}",
        "http://",
        "grpc://",
        "http://:0",
        "weight=",
        "backlog=",
        "zone=",
        "zone=:",
        "keys_zone=",
        "default",
        "default_server",
        "ssl",
        "backup",
        "resolve",
        "\"\"",
        "on",
        "off",
        "if=",
        "escape=",
        "8k",
        "0k",
        "1 4k",
    ];
    let mut rng = Rng(std::env::var("GWLINT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED));
    let settings = Settings::defaults().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut linted = 0;
    for _ in 0..300 {
        let mut s = (rng.pick(SETUPS))(&mut rng);
        for _ in 0..1 + rng.below(4) {
            let loc = s.location(&mut rng);
            if loc.lines.is_empty() {
                continue;
            }
            let i = rng.below(loc.lines.len());
            let mut words: Vec<String> = loc.lines[i]
                .trim_end_matches(';')
                .split(' ')
                .map(str::to_owned)
                .collect();
            let w = rng.below(words.len());
            words[w] = rng.pick(TOKENS).to_string();
            if rng.below(3) == 0 {
                words.push(rng.pick(TOKENS).to_string());
            }
            loc.lines[i] = format!("{};", words.join(" "));
        }
        for (rel, text) in s.render(dir.path()) {
            let p = dir.path().join(&rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let ws = Workspace::nginx_only(load_path(&dir.path().join("nginx.conf")).unwrap());
        let first = lint(&ws, &settings, &Selection::default());
        let second = lint(&ws, &settings, &Selection::default());
        assert_eq!(first, second);
        if !ws.tree.has_parse_errors() {
            linted += 1;
        }
        for (rel, _) in s.render(dir.path()) {
            let _ = std::fs::remove_file(dir.path().join(rel));
        }
    }
    // Most scrambled trees still parse, so the semantic rules did run on them.
    assert!(linted > 200, "{linted} of 300 parsed");
}

/// Syntax mistakes made on the rendered text, after a semantic mistake or none: the ones people
/// make when editing by hand.
/// Each with the rules one of whose errors must report it (none: merging two directives can
/// give any directive's error, or none).
type SyntaxMutation = (
    &'static str,
    &'static [&'static str],
    fn(&str, &mut Rng) -> Option<String>,
);

const SYNTAX_MUTATIONS: &[SyntaxMutation] = &[
    ("stray } at the end", &["GW001"], |t, _| {
        Some(format!("{t}}}\n"))
    }),
    ("missing ; before }", &["GW001"], |t, r| {
        let lines: Vec<&str> = t.lines().collect();
        let at: Vec<usize> = (0..lines.len().saturating_sub(1))
            .filter(|&i| lines[i].trim_end().ends_with(';') && lines[i + 1].trim() == "}")
            .collect();
        let i = *at.get(r.below(at.len().max(1)))?;
        Some(edit_line(
            &lines,
            i,
            lines[i].trim_end().trim_end_matches(';'),
        ))
    }),
    ("missing ; between directives", &[], |t, r| {
        let lines: Vec<&str> = t.lines().collect();
        let at: Vec<usize> = (0..lines.len().saturating_sub(1))
            .filter(|&i| {
                lines[i].trim_end().ends_with(';') && lines[i + 1].trim_end().ends_with(';')
            })
            .collect();
        let i = *at.get(r.below(at.len().max(1)))?;
        Some(edit_line(
            &lines,
            i,
            lines[i].trim_end().trim_end_matches(';'),
        ))
    }),
    ("last } missing", &["GW001"], |t, _| {
        let end = t.trim_end().strip_suffix('}')?;
        Some(format!("{end}\n"))
    }),
    ("doubled ;", &["GW001"], |t, r| {
        let lines: Vec<&str> = t.lines().collect();
        let at: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].trim_end().ends_with(';'))
            .collect();
        let i = *at.get(r.below(at.len().max(1)))?;
        Some(edit_line(&lines, i, &format!("{};", lines[i].trim_end())))
    }),
    ("semicolon instead of {", &["GW012"], |t, r| {
        let lines: Vec<&str> = t.lines().collect();
        let at: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].trim_start().starts_with("location ") && lines[i].ends_with('{'))
            .collect();
        let i = *at.get(r.below(at.len().max(1)))?;
        Some(edit_line(
            &lines,
            i,
            &format!("{};", lines[i].trim_end_matches('{').trim_end()),
        ))
    }),
    ("{ after a simple directive", &["GW012"], |t, r| {
        let lines: Vec<&str> = t.lines().collect();
        let at: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].trim_start().starts_with("server_name "))
            .collect();
        let i = *at.get(r.below(at.len().max(1)))?;
        Some(edit_line(
            &lines,
            i,
            &format!("{} {{", lines[i].trim_end().trim_end_matches(';')),
        ))
    }),
];

fn edit_line(lines: &[&str], i: usize, with: &str) -> String {
    let mut out = String::new();
    for (j, l) in lines.iter().enumerate() {
        out.push_str(if j == i { with } else { l });
        out.push('\n');
    }
    out
}

/// "Every error at once": a setup with a semantic mistake (or none) and then a syntax mistake in
/// one of its files. nginx reports only its first error; it must be among `check`'s errors, at
/// nginx's line, and `check` must report the syntax error too (GW001 or, for a block where none
/// belongs, GW012), whatever came first in the file.
#[test]
fn nginx_first_error_is_among_all_errors_with_a_syntax_mistake() {
    if common::oracle::nginx().is_none() {
        return;
    }
    let seed = std::env::var("GWLINT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let cases: usize = std::env::var("GWLINT_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(60, |n: usize| n * 15);
    let mut rng = Rng(seed ^ 0x5e);
    let mut settings = Settings::defaults().unwrap();
    settings.directives.target = "1.22.1".parse().unwrap();
    settings.directives.target_origin = nginx_gwlint::settings::TargetOrigin::Settings;
    let refused: Vec<Class> = classes()
        .into_iter()
        .filter(|c| c.refuse && c.claimed)
        .collect();
    let mut failures = Vec::new();
    let mut done = 0;
    let mut semantic_first = 0;
    for case in 0..cases {
        let mut setup = (rng.pick(SETUPS))(&mut rng);
        // Two cases in three carry a semantic mistake as well.
        let class = if rng.below(3) > 0 {
            let c = rng.pick(&refused);
            (c.apply)(&mut setup, &mut rng).then_some(c.name)
        } else {
            None
        };
        let dir = tempfile::tempdir().unwrap();
        let mut files = setup.render(dir.path());
        let (syntax, expect, mutate) = *rng.pick(SYNTAX_MUTATIONS);
        let f = rng.below(files.len());
        let Some(text) = mutate(&files[f].1, &mut rng) else {
            continue;
        };
        files[f].1 = text;
        for (rel, text) in &files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let what = format!(
            "case {case} ({} + {:?} + [{syntax}] in {}) in {}",
            setup.kind,
            class,
            files[f].0,
            dir.path().display()
        );
        let verdict = nginx_verdict(dir.path());
        let ws = Workspace::nginx_only(load_path(&dir.path().join("nginx.conf")).unwrap());
        let diags = lint(&ws, &settings, &Selection::default());
        let errors: Vec<_> = diags
            .iter()
            .filter(|d| d.severity == Severity::Error && d.rule.starts_with("GW0"))
            .collect();
        let Some((msg, file, line)) = verdict else {
            // Merging two directives can make one nginx accepts (`index a index b;`).
            if !errors.is_empty() {
                failures.push(format!("false red {what}: {errors:?}"));
                let _ = dir.keep();
            }
            continue;
        };
        done += 1;
        // nginx reports a directive's error at the line of its `;` or `{`: for a directive over
        // several lines (two merged by a missing `;`), any line of the finding's span matches.
        let places: Vec<(String, usize, usize)> = errors
            .iter()
            .flat_map(|d| {
                std::iter::once((d.file, d.span)).chain(d.labels.iter().map(|l| (l.file, l.span)))
            })
            .map(|(file, span)| {
                let f = ws.tree.sources.get(file);
                // The whole head of the directive the finding is in: nginx names the line
                // where that directive ends.
                let span = head_around(&ws, file, span).unwrap_or(span);
                (
                    f.display.clone(),
                    f.lines.line(span.start()),
                    f.lines.line(span.end().max(span.start() + 1) - 1),
                )
            })
            .collect();
        let base = Path::new(&file)
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default();
        let at_nginx_line = |(f, from, to): &(String, usize, usize)| {
            f.ends_with(&format!("/{base}")) && (*from..=*to).contains(&line)
        };
        // line 0: nginx names no place (a check made after reading all of http).
        if line != 0 && !places.iter().any(at_nginx_line) {
            failures.push(format!(
                "nginx's first error is not among check's: {what}: nginx {msg}; check {places:?}"
            ));
            let _ = dir.keep();
            continue;
        }
        if errors.is_empty() {
            failures.push(format!("false green {what}: nginx {msg}"));
            let _ = dir.keep();
            continue;
        }
        // The syntax mistake must be reported where it made one: the original file parsed (a
        // `{` in an unquoted regex can make the appended `}` a balancing one).
        let was_clean =
            nginx_gwlint::syntax::parse(setup.render(dir.path())[f].1.as_bytes()).is_ok();
        if was_clean && !expect.is_empty() && !errors.iter().any(|d| expect.contains(&d.rule)) {
            failures.push(format!("{expect:?} not reported: {what}: {places:?}"));
            let _ = dir.keep();
        }
        if !msg.contains("unexpected") && !msg.contains("terminated") && !msg.contains("opening") {
            semantic_first += 1;
        }
    }
    println!(
        "syntax mistakes: {done} cases nginx refuses, {semantic_first} where nginx's first error is not the syntax one, {} failures",
        failures.len()
    );
    assert!(done >= cases / 2, "{done} of {cases} cases ran");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The http-level lines that keep nginx -t inside the temp prefix `dir`: temp paths and the
/// access log.
fn http_paths(out: &mut String, dir: &Path) {
    let d = dir.display();
    for t in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        let _ = writeln!(out, "    {t}_temp_path {d}/tmp_{t};");
    }
    let _ = writeln!(out, "    access_log {d}/access.log;");
}

/// One snippet of tests/gate/snippets.txt as a whole configuration in `dir`.
fn render_snippet(dir: &Path, context: &str, snippet: &str) -> Option<String> {
    let d = dir.display();
    let mut out = String::new();
    let prologue = format!("pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\n");
    match context {
        "stream" | "stream-server" => {
            out.push_str("load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n");
            out.push_str(&prologue);
            out.push_str("stream {\n");
            if context == "stream" {
                let _ = writeln!(out, "    {snippet}");
                out.push_str("    server { listen 127.0.0.1:19080; return ok; }\n");
            } else {
                let _ = writeln!(
                    out,
                    "    server {{\n        listen 127.0.0.1:19080;\n        {snippet}\n    }}"
                );
            }
            out.push_str("}\n");
        }
        "main" | "http" | "server" | "location" => {
            if context == "main" {
                let _ = writeln!(out, "{snippet}");
            }
            out.push_str(&prologue);
            out.push_str("http {\n");
            http_paths(&mut out, dir);
            if context == "http" {
                let _ = writeln!(out, "    {snippet}");
            }
            out.push_str(
                "    server {\n        listen 127.0.0.1:18080;\n        server_name t.example;\n",
            );
            match context {
                "server" => {
                    let _ = writeln!(out, "        {snippet}");
                }
                "location" => {
                    let _ = writeln!(out, "        location /x {{ {snippet} }}");
                }
                _ => {}
            }
            out.push_str("    }\n}\n");
        }
        _ => return None,
    }
    Some(out)
}

/// Hand-written snippets of what people write (tests/gate/snippets.txt, found by trying
/// mistakes against `nginx -t`), each in its context: nginx refuses it exactly when `check`
/// reports a gate error (GW0xx). The verdicts come from nginx, not from the file. Known
/// disagreements are listed with their reason and must still disagree (so the list shrinks
/// when one is mended).
#[test]
fn snippets_agree_with_nginx_t() {
    if common::oracle::nginx().is_none() {
        return;
    }
    // Snippets name logs, sockets and caches under /tmp/explore: nginx -t opens them, so the
    // directory must exist (it did on the machine the list was written on; a fresh machine
    // lacks it, and nginx then refuses for a reason the snippet is not about).
    std::fs::create_dir_all("/tmp/explore").unwrap();
    let list = std::fs::read_to_string(common::root().join("tests/gate/snippets.txt")).unwrap();
    let mut settings = Settings::defaults().unwrap();
    settings.directives.target = "1.22.1".parse().unwrap();
    settings.directives.target_origin = nginx_gwlint::settings::TargetOrigin::Settings;
    let (mut cases, mut refused, mut skipped) = (0, 0, 0);
    let mut failures = Vec::new();
    for line in list
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (skip, rest) = match line.strip_prefix("skip|") {
            Some(rest) => match rest.split_once('|') {
                Some((reason, rest)) => (Some(reason), rest),
                None => panic!("skip line without a reason: {line}"),
            },
            None => (None, line),
        };
        let Some((context, snippet)) = rest.split_once('|') else {
            panic!("not CONTEXT|SNIPPET: {line}");
        };
        let dir = tempfile::tempdir().unwrap();
        let Some(text) = render_snippet(dir.path(), context, snippet) else {
            panic!("unknown context {context:?}: {line}");
        };
        std::fs::write(dir.path().join("nginx.conf"), text).unwrap();
        let verdict = nginx_verdict(dir.path());
        let ws = Workspace::nginx_only(load_path(&dir.path().join("nginx.conf")).unwrap());
        let errors: Vec<String> = lint(&ws, &settings, &Selection::default())
            .into_iter()
            .filter(|d| d.severity == Severity::Error && d.rule.starts_with("GW0"))
            .map(|d| format!("{} {}", d.rule, d.message))
            .collect();
        cases += 1;
        refused += usize::from(verdict.is_some());
        let agree = verdict.is_some() != errors.is_empty();
        match (skip, agree) {
            (None, true) => {}
            (None, false) => failures.push(format!(
                "[{context}] {snippet}: nginx {}; check {errors:?}",
                verdict.map_or("accepts".to_owned(), |v| v.0)
            )),
            (Some(_), false) => skipped += 1,
            (Some(reason), true) => failures.push(format!(
                "[{context}] {snippet}: listed as a known disagreement ({reason}) but now agrees: remove `skip|`"
            )),
        }
    }
    println!("snippets: {cases} cases, nginx refuses {refused}, {skipped} known disagreements");
    assert!(cases > 250, "{cases}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The head (name to `;` or `{`) of the innermost directive of `file` around `span`.
fn head_around(
    ws: &Workspace,
    file: nginx_gwlint::source::FileId,
    span: nginx_gwlint::syntax::Span,
) -> Option<nginx_gwlint::syntax::Span> {
    let ast = ws.tree.ast(file)?;
    ast.walk()
        .map(|d| {
            let end = d
                .semicolon()
                .map(|s| s.end())
                .or_else(|| d.block().as_ref().map(|b| b.open().end()))
                .unwrap_or(d.span().end());
            nginx_gwlint::syntax::Span::new(d.name_word().span().start(), end)
        })
        .filter(|h| h.start() <= span.start() && span.end() <= h.end())
        .min_by_key(|h| h.len())
}
