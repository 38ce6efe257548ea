//! The timeout rules against real nginx + php-fpm on 127.0.0.1 (../shared/lab scenarios D, E,
//! F1, F2): each test makes the real request, asserts the real status and error.log line, then
//! asserts what nginx-gwlint says about exactly that configuration. Ports 18210-18219. Needs
//! root, nginx, php-fpm: a missing binary fails the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use crate::common::lab::*;

const PHP_LOCATION: &str = "        location ~ \\.php$ {\n            fastcgi_pass unix:@DIR@/php-fpm.sock;\n@TIMEOUT@\n            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n            fastcgi_param REQUEST_METHOD  $request_method;\n        }";

/// nginx in front of php-fpm with `fastcgi_read_timeout`, the pool and php.ini given.
fn php_lab(name: &str, port: u16, timeout: &str, pool_extra: &str, ini: &str) -> Option<Lab> {
    let mut lab = Lab::new(name)?;
    lab.nginx_conf(port, "user www-data;", "");
    let conf = std::fs::read_to_string(lab.path().join("nginx.conf"))
        .unwrap()
        .replace(
            "@LOCATIONS@",
            &PHP_LOCATION.replace(
                "@TIMEOUT@",
                &format!("            fastcgi_read_timeout {timeout};"),
            ),
        );
    lab.write("nginx.conf", &conf);
    lab.write("www/slow.php", "<?php sleep(4); echo \"done\\n\";\n");
    lab.write("www/busy.php", "<?php $i = 0; while (true) { $i++; }\n");
    lab.write("php.ini", ini);
    let socket = lab.path().join("php-fpm.sock");
    lab.start_fpm_with_ini(
        &format!("[lab]\nuser = www-data\ngroup = www-data\nlisten = @DIR@/php-fpm.sock\nlisten.owner = www-data\nlisten.group = www-data\npm = static\npm.max_children = 2\ncatch_workers_output = yes\n{pool_extra}"),
        &socket,
        "php.ini",
    );
    lab.start_nginx(port);
    Some(lab)
}

fn php_args(lab: &Lab) -> String {
    format!(
        "--php={},{}",
        lab.path().join("pool.conf").display(),
        lab.path().join("php.ini").display()
    )
}

#[test]
fn scenario_e_php_outlives_fastcgi_read_timeout_gives_504_and_gw104() {
    let Some(lab) = php_lab(
        "e",
        18210,
        "1s",
        "",
        "display_errors = Off\nlog_errors = On\nmax_execution_time = 30\n",
    ) else {
        return;
    };
    assert_eq!(http_get(18210, "/slow.php"), 504);
    let log = lab.error_log();
    assert!(
        log.contains("upstream timed out (110: Connection timed out) while reading response header from upstream"),
        "{log}"
    );
    let diags = lab.gwlint(&[&php_args(&lab)]);
    assert_has(
        &diags,
        "GW104",
        "nginx waits 1s for this backend (`fastcgi_read_timeout`",
    );
    assert_has(&diags, "GW104", "may work for 30s (max_execution_time");
}

#[test]
fn scenario_f2_request_terminate_timeout_kills_first_gives_502_and_gw105() {
    let Some(lab) = php_lab(
        "f2",
        18211,
        "10s",
        "request_terminate_timeout = 2s\n",
        "display_errors = Off\nlog_errors = On\nmax_execution_time = 30\n",
    ) else {
        return;
    };
    assert_eq!(http_get(18211, "/slow.php"), 502);
    let log = lab.error_log();
    assert!(
        log.contains("recv() failed (104: Connection reset by peer) while reading response header from upstream"),
        "{log}"
    );
    let fpm_log = std::fs::read_to_string(lab.path().join("logs/php-fpm.log")).unwrap();
    assert!(fpm_log.contains("execution timed out"), "{fpm_log}");
    let diags = lab.gwlint(&[&php_args(&lab)]);
    assert_has(
        &diags,
        "GW105",
        "kills a request after 2s (request_terminate_timeout) but PHP allows 30s",
    );
    // PHP's own limit (2s, the pool's kill) is below nginx's 10s: no 504 side.
    assert!(of_rule(&diags, "GW104").is_empty(), "{diags:#?}");
}

#[test]
fn scenario_f1_max_execution_time_is_a_500_not_a_gateway_error_and_no_false_gw104() {
    let Some(lab) = php_lab(
        "f1",
        18212,
        "10s",
        "",
        "display_errors = Off\nlog_errors = On\nmax_execution_time = 2\n",
    ) else {
        return;
    };
    assert_eq!(http_get(18212, "/busy.php"), 500);
    let log = lab.error_log();
    assert!(
        log.contains("PHP Fatal error:  Maximum execution time of 2 seconds exceeded"),
        "{log}"
    );
    // PHP stops itself after 2s, well inside nginx's 10s: neither timeout rule fires.
    let diags = lab.gwlint(&[&php_args(&lab)]);
    assert!(of_rule(&diags, "GW104").is_empty(), "{diags:#?}");
    assert!(of_rule(&diags, "GW105").is_empty(), "{diags:#?}");
}

/// A backend that reads the request and answers only after `delay`.
fn slow_upstream(port: u16, delay: Duration) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                std::thread::sleep(delay);
                let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
            });
        }
    });
}

#[test]
fn scenario_d_slow_proxied_backend_gives_504_and_gw104_with_a_declared_backend() {
    let Some(mut lab) = Lab::new("d") else {
        return;
    };
    lab.nginx_conf(18213, "", "");
    let conf = std::fs::read_to_string(lab.path().join("nginx.conf"))
        .unwrap()
        .replace(
            "@LOCATIONS@",
            "        location /api/ {\n            proxy_pass http://127.0.0.1:18218;\n            proxy_read_timeout 1s;\n        }",
        );
    lab.write("nginx.conf", &conf);
    slow_upstream(18218, Duration::from_secs(3));
    lab.start_nginx(18213);
    assert_eq!(http_get(18213, "/api/report"), 504);
    assert!(lab
        .error_log()
        .contains("upstream timed out (110: Connection timed out) while reading response header from upstream"));
    // nginx-gwlint cannot read a proxied app's limits: without a declaration it stays silent...
    let silent = lab.gwlint(&[]);
    assert!(of_rule(&silent, "GW104").is_empty(), "{silent:#?}");
    // ...and with the app's limit declared it names the mismatch.
    lab.write(
        "nginx-gwlint.toml",
        "[[backend]]\nname = \"report api\"\naddress = \"127.0.0.1:18218\"\ntimeout = \"30s\"\n",
    );
    let settings = lab.path().join("nginx-gwlint.toml");
    let diags = lab.gwlint(&["--config", settings.to_str().unwrap()]);
    assert_has(&diags, "GW104", "backend `report api` may work for 30s");
}
