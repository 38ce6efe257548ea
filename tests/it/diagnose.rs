//! `diagnose` against real nginx 1.22 / php-fpm 8.2 output from ../shared/lab, plus property tests.

use crate::common;

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use nginx_gwlint::diagnose::{
    classify, parse_fpm_line, parse_line, scan_error_log, Cause, FpmEvent, IncidentScanner,
    ScanOptions, Upstream,
};
use proptest::prelude::*;

/// `../shared/lab`; `None` without it (the test is skipped, or fails under CI: see
/// common::oracle).
fn lab_dir() -> Option<PathBuf> {
    Some(common::oracle::shared()?.join("lab"))
}

/// Lines of one `--- NAME ---` section of an expected.txt.
fn section<'a>(text: &'a str, header_prefix: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(header_prefix));
    if lines.next().is_none() {
        return Vec::new();
    }
    lines
        .take_while(|l| !l.starts_with("--- "))
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// Scenario id (the part of the directory name before the first `-`) -> the cause of each
/// nginx error.log line, in order.
fn expected_causes() -> BTreeMap<&'static str, Vec<Cause>> {
    use Cause::*;
    BTreeMap::from([
        ("A", vec![ConnectionRefused]),
        ("B", vec![SocketMissing]),
        ("C", vec![SocketPermission]),
        ("D", vec![ReadTimeout]),
        ("E", vec![ReadTimeout]),
        ("F1", vec![PhpFatal]),
        ("F2", vec![BackendReset]),
        ("G", vec![ConnectionRefused]),
        ("H1", vec![PrematureClose]),
        ("H2", vec![BackendReset]),
        (
            "I",
            vec![ConnectionRefused, ConnectionRefused, NoLiveUpstreams],
        ),
    ])
}

fn scenarios() -> Option<Vec<(String, String)>> {
    let dir = lab_dir()?.join("scenarios");
    let mut out = Vec::new();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let expected = path.join("expected.txt");
        if !expected.is_file() {
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&expected)
            .unwrap_or_else(|e| panic!("{}: {e}", expected.display()));
        out.push((name, text));
    }
    out.sort();
    Some(out)
}

#[test]
fn every_lab_gateway_line_is_parsed_and_classified() {
    let expected = expected_causes();
    let Some(scenarios) = scenarios() else {
        return;
    };
    let ids: Vec<String> = scenarios
        .iter()
        .map(|(n, _)| n.split('-').next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        ids,
        expected.keys().map(|k| k.to_string()).collect::<Vec<_>>(),
        "lab scenarios and this test's expectations differ"
    );

    for (name, text) in &scenarios {
        let id = name.split('-').next().unwrap_or("");
        let lines = section(text, "--- nginx error.log");
        let mut causes = Vec::new();
        for line in &lines {
            let entry = parse_line(line).unwrap_or_else(|| panic!("{name}: not parsed: {line}"));
            assert!(
                entry.time.is_some() && entry.pid.is_some(),
                "{name}: {line}"
            );
            assert!(entry.connection.is_some(), "{name}: {line}");
            assert_eq!(entry.client, Some("127.0.0.1"), "{name}: {line}");
            assert_eq!(entry.server, Some(""), "{name}: {line}");
            let request = entry
                .request
                .unwrap_or_else(|| panic!("{name}: no request: {line}"));
            assert!(
                request.protocol.is_some_and(|p| p.starts_with("HTTP/")),
                "{name}: {line}"
            );
            assert!(request.path().starts_with('/'), "{name}: {line}");
            let upstream = entry
                .upstream
                .unwrap_or_else(|| panic!("{name}: no upstream: {line}"));
            assert!(!Upstream::parse(upstream).peer.is_empty(), "{name}: {line}");
            assert!(
                entry.host.is_some_and(|h| h.starts_with("127.0.0.1:")),
                "{name}: {line}"
            );
            let cause =
                classify(&entry).unwrap_or_else(|| panic!("{name}: not classified: {line}"));
            causes.push(cause);
        }
        assert_eq!(causes, expected[id], "{name}");

        // The whole capture through the scanner: the header lines are not nginx lines, and every
        // gateway line lands in an incident.
        let report = scan_error_log(
            Cursor::new(text.as_bytes()),
            Path::new(name),
            &ScanOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        // Every gateway line lands in a request; requests are counted once (I: the two tries
        // of request *1 are one request).
        assert_eq!(report.failure_lines(), lines.len() as u64, "{name}");
        let requests = if id == "I" { 2 } else { 1 };
        assert_eq!(report.failures(), requests, "{name}");
        for incident in &report.incidents {
            assert!(
                incident.key.upstream.is_some() && incident.key.path.is_some(),
                "{name}"
            );
            assert!(
                incident.first.is_some() && incident.first == incident.last,
                "{name}"
            );
        }
    }
}

#[test]
fn lab_socket_and_upstream_details() {
    let Some(scenarios) = scenarios() else {
        return;
    };
    let first_line = |prefix: &str| -> String {
        let (name, text) = scenarios
            .iter()
            .find(|(n, _)| n.starts_with(prefix))
            .unwrap_or_else(|| panic!("no scenario {prefix}"));
        let lines = section(text, "--- nginx error.log");
        lines
            .first()
            .map(|l| l.to_string())
            .unwrap_or_else(|| panic!("{name}: no log line"))
    };
    // B: the socket path is in the message and in the upstream (with nginx's trailing `:`).
    let b = first_line("B-");
    let e = parse_line(&b).unwrap_or_else(|| panic!("{b}"));
    let up = Upstream::parse(e.upstream.unwrap_or(""));
    assert_eq!(up.scheme, Some("fastcgi"));
    assert_eq!(up.peer, "unix:/tmp/lab/run/B/no-such-php-fpm.sock");
    assert!(e.message.contains(up.peer));
    // E: timeout lines have no trailing `:`, and the peer is the same shape.
    let e_line = first_line("E-");
    let e = parse_line(&e_line).unwrap_or_else(|| panic!("{e_line}"));
    assert_eq!(
        Upstream::parse(e.upstream.unwrap_or("")).peer,
        "unix:/tmp/lab/run/E/php-fpm.sock"
    );
    // G: grpc scheme, no URI.
    let g = first_line("G-");
    let e = parse_line(&g).unwrap_or_else(|| panic!("{g}"));
    let up = Upstream::parse(e.upstream.unwrap_or(""));
    assert_eq!(
        (up.scheme, up.peer, up.uri),
        (Some("grpc"), "127.0.0.1:3998", "")
    );
    assert_eq!(e.request.map(|r| r.protocol), Some(Some("HTTP/2.0")));
}

#[test]
fn lab_scenario_i_groups_by_upstream_peer() {
    let Some(all) = scenarios() else {
        return;
    };
    let (_, text) = all
        .into_iter()
        .find(|(n, _)| n.starts_with("I-"))
        .unwrap_or_else(|| panic!("no scenario I"));
    let mut scanner = IncidentScanner::new(ScanOptions::default());
    scanner
        .read(Cursor::new(text.as_bytes()), Path::new("I"))
        .unwrap_or_else(|e| panic!("{e}"));
    let report = scanner.finish();
    // Request *1 tried both servers (two lines, the last one its outcome); request *4 found no
    // live server.
    let groups: Vec<(Cause, Option<&str>, u64, u32, u64)> = report
        .incidents
        .iter()
        .map(|i| {
            (
                i.cause(),
                i.key.upstream.as_deref(),
                i.count,
                i.key.tries,
                i.lines,
            )
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            (
                Cause::ConnectionRefused,
                Some("http://127.0.0.1:3996"),
                1,
                2,
                2
            ),
            (Cause::NoLiveUpstreams, Some("http://backend"), 1, 1, 1),
        ]
    );
}

#[test]
fn lab_fpm_logs() {
    let Some(all) = scenarios() else {
        return;
    };
    for (name, text) in all {
        let id = name.split('-').next().unwrap_or("");
        let lines = section(&text, "--- php-fpm log");
        let mut timeouts = 0;
        let mut sigterm = 0;
        let mut fatal = 0;
        for line in &lines {
            let e = parse_fpm_line(line).unwrap_or_else(|| panic!("{name}: not parsed: {line}"));
            assert!(e.time.is_some(), "{name}: {line}");
            match e.event {
                FpmEvent::ExecutionTimedOut {
                    script, seconds, ..
                } => {
                    timeouts += 1;
                    assert!(script.ends_with("/slow.php") && seconds > 2.0, "{line}");
                    assert_eq!(e.event.request().map(|r| r.path()), Some("/slow.php"));
                }
                FpmEvent::ChildSignaled {
                    signal: 15,
                    name: Some("SIGTERM"),
                    ..
                } => sigterm += 1,
                ref ev if ev.is_php_fatal() => fatal += 1,
                _ => {}
            }
        }
        let want = match id {
            "F2" => (1, 1, 0),
            "F1" => (0, 0, 1),
            _ => (0, 0, 0),
        };
        assert_eq!((timeouts, sigterm, fatal), want, "{name}");
    }
}

#[test]
fn lab_nginx_t_output_parses() {
    let Some(lab) = lab_dir() else {
        return;
    };
    let dir = lab.join("nginx-t");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut emerg = 0;
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.extension() != Some(std::ffi::OsStr::new("stderr")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        for line in text.lines().filter(|l| l.contains("[emerg]")) {
            let e = parse_line(line).unwrap_or_else(|| panic!("{}: {line}", path.display()));
            assert!(e.message.contains(" in /tmp/lab/nginx-t/"), "{line}");
            // Config errors are no gateway failures.
            assert_eq!(classify(&e), None, "{line}");
            emerg += 1;
        }
    }
    assert!(
        emerg >= 14,
        "only {emerg} [emerg] lines found in {}",
        dir.display()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_string_never_panics(s in any::<String>()) {
        if let Some(e) = parse_line(&s) {
            let _ = classify(&e);
            let _ = e.message_text();
            let _ = e.request.map(|r| r.path());
            let _ = e.upstream.map(Upstream::parse);
        }
        let _ = parse_fpm_line(&s);
    }

    /// Strings built from the pieces that matter (quotes, keys, separators) after a valid head.
    #[test]
    fn structured_noise_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just(", client: ".to_owned()), Just(", server: ".to_owned()),
                Just(", request: \"".to_owned()), Just(", upstream: \"".to_owned()),
                Just(", host: \"".to_owned()), Just(", referrer: \"".to_owned()),
                Just("\"".to_owned()), Just(" HTTP/1.1".to_owned()), Just(" while ".to_owned()),
                Just("unix:".to_owned()), Just("://".to_owned()), Just("(111: ".to_owned()),
                Just("FastCGI sent in stderr: \"".to_owned()), Just("\u{e9}".to_owned()),
                "[ -~]{0,6}",
            ],
            0..24,
        ),
    ) {
        let body: String = parts.concat();
        for head in ["2026/11/26 02:55:54 [error] 1#1: *1 ", "nginx: [emerg] ", "[26-Nov-2026 02:56:09] WARNING: [pool a] child 1, script '"] {
            let line = format!("{head}{body}");
            if let Some(e) = parse_line(&line) {
                let _ = classify(&e);
                let _ = e.message_text();
                let _ = e.request.map(|r| r.path());
                let _ = e.upstream.map(Upstream::parse);
            }
            let _ = parse_fpm_line(&line);
        }
    }

    #[test]
    fn scanner_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let r = scan_error_log(Cursor::new(bytes), Path::new("x"), &ScanOptions::default());
        prop_assert!(r.is_ok());
    }
}
