//! GW202, GW301, GW302 and `--probe` against a real nginx and a real php-fpm on 127.0.0.1
//! (lab scenarios A, B, C, G, I of ../shared/lab): each test starts the processes as children
//! (stopped by PID when the test ends), makes the request, asserts the real 502 and the
//! error.log line, and asserts that nginx-gwlint flags the same configuration statically and
//! with `--probe`. Ports 18200-18299. Needs root (nginx workers switch to nobody, php-fpm to
//! www-data), nginx, php-fpm and curl: a missing binary fails the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use crate::common::lab::*;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn scenario_a_proxy_connection_refused() {
    let Some(mut lab) = Lab::new("a") else {
        return;
    };
    lab.nginx_conf(18201, "", "");
    lab.write(
        "nginx.conf",
        &std::fs::read_to_string(lab.path().join("nginx.conf"))
            .unwrap()
            .replace(
                "@LOCATIONS@",
                "        location / {\n            proxy_pass http://127.0.0.1:18251;    # nothing listens on 18251\n        }",
            ),
    );
    // The application is declared at 18250: the config says 18251.
    lab.write(
        "settings.toml",
        "[[backend]]\nname = \"node\"\naddress = \"127.0.0.1:18250\"\nkind = \"node\"\n",
    );
    lab.start_nginx(18201);
    assert_eq!(http_get(18201, "/"), 502);
    let log = lab.error_log();
    assert!(
        log.contains("connect() failed (111: Connection refused) while connecting to upstream")
            && log.contains("upstream: \"http://127.0.0.1:18251/\""),
        "{log}"
    );

    // Statically: silent without anything to compare with, found with a declared backend.
    let bare = lab.gwlint(&["--config", "/dev/null"]);
    assert!(of_rule(&bare, "GW202").is_empty(), "{bare:#?}");
    let settings = lab.path().join("settings.toml").display().to_string();
    let declared = lab.gwlint(&["--config", &settings]);
    assert_has(
        &declared,
        "GW202",
        "127.0.0.1:18251 matches no known backend",
    );
    assert!(probe_findings(&declared).is_empty());

    let probed = lab.gwlint(&["--config", "/dev/null", "--probe"]);
    assert_has(
        &probed,
        "GW202",
        "(probe) connect() to 127.0.0.1:18251 failed (111: Connection refused)",
    );
}

#[test]
fn scenario_b_fastcgi_socket_missing_and_the_fix_works() {
    let Some(mut lab) = Lab::new("b") else {
        return;
    };
    lab.nginx_conf(18202, "", "");
    let conf = std::fs::read_to_string(lab.path().join("nginx.conf")).unwrap().replace(
        "@LOCATIONS@",
        "        location ~ \\.php$ {\n            fastcgi_pass unix:@DIR@/no-such-php-fpm.sock;   # socket file does not exist\n            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n            fastcgi_param REQUEST_METHOD  $request_method;\n        }",
    );
    lab.write("nginx.conf", &conf);
    let socket = lab.path().join("php-fpm.sock");
    lab.start_fpm(
        "[lab]\nuser = www-data\ngroup = www-data\nlisten = @DIR@/php-fpm.sock\nlisten.owner = www-data\nlisten.group = www-data\nlisten.mode = 0666\npm = static\npm.max_children = 1\n",
        &socket,
    );
    lab.start_nginx(18202);
    assert_eq!(http_get(18202, "/index.php"), 502);
    let log = lab.error_log();
    let dir = lab.path().display().to_string();
    assert!(
        log.contains(&format!(
            "connect() to unix:{dir}/no-such-php-fpm.sock failed (2: No such file or directory) while connecting to upstream"
        )),
        "{log}"
    );

    let pool = lab.path().join("pool.conf").display().to_string();
    let static_findings = lab.gwlint(&["--config", "/dev/null", "--php", &pool]);
    assert_has(
        &static_findings,
        "GW301",
        &format!("unix:{dir}/no-such-php-fpm.sock matches no known backend (listening: unix:{dir}/php-fpm.sock)"),
    );
    let fix = static_findings
        .iter()
        .find(|d| d["rule"] == "GW301")
        .and_then(|d| d["fix"].as_object().cloned())
        .expect("GW301 offers a fix with one pool");
    assert_eq!(fix["applicability"], "unsafe");
    assert_eq!(
        fix["edits"][0]["content"],
        format!("unix:{dir}/php-fpm.sock")
    );

    let probed = lab.gwlint(&["--config", "/dev/null", "--probe"]);
    assert_has(
        &probed,
        "GW301",
        &format!("(probe) unix:{dir}/no-such-php-fpm.sock does not exist"),
    );

    // Apply the fix the way --fix would (one edit on the line) and reload: PHP answers.
    let fixed = conf.replace(
        "unix:@DIR@/no-such-php-fpm.sock",
        fix["edits"][0]["content"].as_str().unwrap(),
    );
    let line = fix["edits"][0]["line"].as_u64().unwrap() as usize;
    assert!(fixed
        .lines()
        .nth(line - 1)
        .unwrap()
        .contains("php-fpm.sock;"));
    lab.write("nginx.conf", &fixed);
    let pid = std::fs::read_to_string(lab.path().join("logs/nginx.pid")).unwrap();
    let sent_at = Instant::now();
    Command::new("kill")
        .args(["-HUP", pid.trim()])
        .status()
        .unwrap();
    wait_for(
        || sent_at.elapsed() > Duration::from_millis(300) && http_get(18202, "/index.php") == 200,
        "nginx to reload with the fixed socket",
    );
    let after = lab.gwlint(&["--config", "/dev/null", "--php", &pool, "--probe"]);
    assert!(of_rule(&after, "GW301").is_empty(), "{after:#?}");
    assert!(of_rule(&after, "GW302").is_empty(), "{after:#?}");
    assert!(of_rule(&after, "GW202").is_empty(), "{after:#?}");
}

const PHP_LOCATION: &str = "        location ~ \\.php$ {\n            fastcgi_pass unix:@DIR@/php-fpm.sock;\n            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n            fastcgi_param REQUEST_METHOD  $request_method;\n        }";

fn php_lab(name: &str, port: u16, user_line: &str, pool_perms: &str) -> Option<Lab> {
    let mut lab = Lab::new(name)?;
    lab.nginx_conf(port, user_line, "");
    let conf = std::fs::read_to_string(lab.path().join("nginx.conf"))
        .unwrap()
        .replace("@LOCATIONS@", PHP_LOCATION);
    lab.write("nginx.conf", &conf);
    let socket = lab.path().join("php-fpm.sock");
    lab.start_fpm(
        &format!("[lab]\nuser = www-data\ngroup = www-data\nlisten = @DIR@/php-fpm.sock\n{pool_perms}pm = static\npm.max_children = 1\n"),
        &socket,
    );
    lab.start_nginx(port);
    Some(lab)
}

#[test]
fn scenario_c_socket_permission_denied() {
    let Some(lab) = php_lab(
        "c",
        18203,
        "user nobody nogroup;",
        "listen.owner = www-data\nlisten.group = www-data\nlisten.mode = 0660\n",
    ) else {
        return;
    };
    assert_eq!(http_get(18203, "/index.php"), 502);
    let dir = lab.path().display().to_string();
    let log = lab.error_log();
    assert!(
        log.contains(&format!(
            "connect() to unix:{dir}/php-fpm.sock failed (13: Permission denied) while connecting to upstream"
        )),
        "{log}"
    );
    let pool = lab.path().join("pool.conf").display().to_string();
    // Statically, from the pool file and this machine's /etc/passwd and /etc/group.
    let static_findings = lab.gwlint(&["--config", "/dev/null", "--php", &pool]);
    assert_has(
        &static_findings,
        "GW302",
        "nginx workers run as `user nobody nogroup`; the socket",
    );
    assert_has(&static_findings, "GW302", "is www-data:www-data mode 0660");
    assert!(of_rule(&static_findings, "GW301").is_empty());
    // Live: the socket as it is on disk.
    let probed = lab.gwlint(&["--config", "/dev/null", "--probe"]);
    assert_has(
        &probed,
        "GW302",
        &format!("(probe) nginx workers run as `user nobody nogroup`; unix:{dir}/php-fpm.sock is www-data:www-data mode 0660"),
    );
    assert!(of_rule(&probed, "GW301").is_empty(), "{probed:#?}");
}

#[test]
fn scenario_c_variant_directory_not_searchable() {
    // The socket itself is open to everyone, but its directory is www-data's, mode 0700.
    let Some(mut lab) = Lab::new("c2") else {
        return;
    };
    let sockdir = lab.path().join("private");
    std::fs::create_dir(&sockdir).unwrap();
    let chown = Command::new("chown")
        .args(["www-data:www-data"])
        .arg(&sockdir)
        .status()
        .unwrap();
    assert!(chown.success(), "chown needs root");
    std::fs::set_permissions(&sockdir, std::fs::Permissions::from_mode(0o700)).unwrap();
    lab.nginx_conf(18204, "user nobody nogroup;", "");
    let conf = std::fs::read_to_string(lab.path().join("nginx.conf"))
        .unwrap()
        .replace(
            "@LOCATIONS@",
            &PHP_LOCATION.replace("@DIR@/php-fpm.sock", "@DIR@/private/php-fpm.sock"),
        );
    lab.write("nginx.conf", &conf);
    lab.start_fpm(
        "[lab]\nuser = www-data\ngroup = www-data\nlisten = @DIR@/private/php-fpm.sock\nlisten.mode = 0666\npm = static\npm.max_children = 1\n",
        &sockdir.join("php-fpm.sock"),
    );
    lab.start_nginx(18204);
    assert_eq!(http_get(18204, "/index.php"), 502);
    assert!(
        lab.error_log().contains("failed (13: Permission denied)"),
        "{}",
        lab.error_log()
    );
    let probed = lab.gwlint(&["--config", "/dev/null", "--probe"]);
    assert_has(
        &probed,
        "GW302",
        &format!(
            "cannot search directory {} (www-data:www-data mode 0700)",
            sockdir.display()
        ),
    );
}

#[test]
fn socket_that_matches_a_pool_and_allows_the_worker_is_clean() {
    let Some(lab) = php_lab(
        "ok",
        18205,
        "user nobody nogroup;",
        "listen.owner = nobody\nlisten.group = nogroup\nlisten.mode = 0660\n",
    ) else {
        return;
    };
    assert_eq!(http_get(18205, "/index.php"), 200);
    let pool = lab.path().join("pool.conf").display().to_string();
    let all = lab.gwlint(&["--config", "/dev/null", "--php", &pool, "--probe"]);
    for rule in ["GW202", "GW301", "GW302"] {
        assert!(of_rule(&all, rule).is_empty(), "{rule}: {all:#?}");
    }
}

#[test]
fn scenario_g_grpc_connection_refused() {
    let Some(mut lab) = Lab::new("g") else {
        return;
    };
    lab.nginx_conf(18206, "", "    #h2");
    let conf = std::fs::read_to_string(lab.path().join("nginx.conf"))
        .unwrap()
        .replace(
            "@LOCATIONS@",
            "        location / {\n            grpc_pass grpc://127.0.0.1:18252;     # nothing listens on 18252\n        }",
        );
    lab.write("nginx.conf", &conf);
    lab.start_nginx(18206);
    let out = Command::new(curl_binary())
        .args([
            "-sS",
            "--noproxy",
            "*",
            "--max-time",
            "20",
            "--http2-prior-knowledge",
            "-H",
            "content-type: application/grpc",
            "-H",
            "te: trailers",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "http://127.0.0.1:18206/helloworld.Greeter/SayHello",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "502");
    let log = lab.error_log();
    assert!(
        log.contains("connect() failed (111: Connection refused) while connecting to upstream")
            && log.contains("upstream: \"grpc://127.0.0.1:18252\""),
        "{log}"
    );
    let probed = lab.gwlint(&["--config", "/dev/null", "--probe"]);
    assert_has(
        &probed,
        "GW202",
        "(probe) connect() to 127.0.0.1:18252 failed (111: Connection refused)",
    );
}

#[test]
fn scenario_i_no_live_upstreams() {
    let Some(mut lab) = Lab::new("i") else {
        return;
    };
    lab.nginx_conf(
        18207,
        "",
        "    upstream backend {                  # both down; default max_fails=1 fail_timeout=10s\n        server 127.0.0.1:18253;\n        server 127.0.0.1:18254;\n    }",
    );
    let conf = std::fs::read_to_string(lab.path().join("nginx.conf"))
        .unwrap()
        .replace(
            "@LOCATIONS@",
            "        location / {\n            proxy_pass http://backend;\n        }",
        );
    lab.write("nginx.conf", &conf);
    lab.start_nginx(18207);
    assert_eq!(http_get(18207, "/"), 502);
    assert_eq!(http_get(18207, "/"), 502);
    let log = lab.error_log();
    assert!(
        log.contains("no live upstreams while connecting to upstream")
            && log.contains("upstream: \"http://backend/\""),
        "{log}"
    );
    let probed = lab.gwlint(&["--config", "/dev/null", "--probe"]);
    let found = of_rule(&probed, "GW202");
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].contains("127.0.0.1:18253") && found[1].contains("127.0.0.1:18254"));
    // Lines of the two server directives.
    let lines: Vec<u64> = probed
        .iter()
        .filter(|d| d["rule"] == "GW202")
        .map(|d| d["line"].as_u64().unwrap())
        .collect();
    let text = std::fs::read_to_string(lab.path().join("nginx.conf")).unwrap();
    for l in lines {
        assert!(text
            .lines()
            .nth(l as usize - 1)
            .unwrap()
            .contains("server 127.0.0.1:1825"));
    }
}

#[test]
fn variable_host_without_resolver() {
    let Some(mut lab) = Lab::new("r") else {
        return;
    };
    lab.nginx_conf(18208, "", "    upstream pool { server 127.0.0.1:18255; }");
    let conf = std::fs::read_to_string(lab.path().join("nginx.conf"))
        .unwrap()
        .replace(
            "@LOCATIONS@",
            "        location / {\n            set $backend api.internal:8080;\n            proxy_pass http://$backend;\n        }\n        location /static/ {\n            proxy_pass http://api.internal$request_uri;\n        }\n        location /up/ {\n            proxy_pass http://pool$request_uri;\n        }",
        );
    lab.write("nginx.conf", &conf);
    lab.start_nginx(18208);
    assert_eq!(http_get(18208, "/"), 502);
    assert_eq!(http_get(18208, "/static/x"), 502);
    let log = lab.error_log();
    assert_eq!(
        log.matches("no resolver defined to resolve api.internal")
            .count(),
        2,
        "{log}"
    );
    let found = of_rule(&lab.gwlint(&["--config", "/dev/null"]), "GW204");
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found
        .iter()
        .all(|m| m.contains("no resolver defined to resolve api.internal")));
}
