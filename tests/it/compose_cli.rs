//! Docker Compose through the binary (issue #18): the bundled example, `--compose FILE`,
//! discovery up to the repository root, and bad compose files (exit 2 when given, a warning
//! when found).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

fn rules(v: &serde_json::Value) -> Vec<(String, String)> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap().to_owned(),
                d["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

const NGINX: &str = "events {}\nhttp {\n    server {\n        listen 80;\n        location / { proxy_pass http://localhost:3000; }\n    }\n}\n";
const COMPOSE: &str = "services:\n  web:\n    image: nginx:1.25\n  app:\n    image: node:20\n    expose: [\"3000\"]\n";

#[test]
fn the_compose_example_names_the_service_to_use() {
    let out = common::bin()
        .args(["check", "--format", "json"])
        .arg(common::root().join("examples/compose-node"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let gw210: Vec<&serde_json::Value> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "GW210")
        .collect();
    assert_eq!(gw210.len(), 2, "{v}");
    assert_eq!(gw210[0]["severity"], "error");
    assert!(gw210[0]["help"]
        .as_str()
        .unwrap()
        .contains("http://app:3000"));
    assert_eq!(gw210[1]["severity"], "info");
    assert!(gw210[1]["message"]
        .as_str()
        .unwrap()
        .contains("declares port 9100"));
}

#[test]
fn compose_flag_reads_a_file_elsewhere_and_localhost_is_then_gw210_not_gw201() {
    let dir = tempfile::tempdir().unwrap();
    let conf = common::write(dir.path(), "conf/nginx.conf", NGINX);
    // Not beside the config and not in a repository: only --compose finds it.
    let compose = common::write(dir.path(), "deploy/stack.yml", COMPOSE);
    let plain = common::bin()
        .args(["check", "--format", "json"])
        .arg(&conf)
        .output()
        .unwrap();
    let found: Vec<String> = rules(&json(&plain)).into_iter().map(|r| r.0).collect();
    assert!(found.contains(&"GW201".to_owned()), "{found:?}");
    assert!(!found.contains(&"GW210".to_owned()), "{found:?}");
    let with = common::bin()
        .args(["check", "--format", "json", "--compose"])
        .arg(&compose)
        .arg(&conf)
        .output()
        .unwrap();
    let found = rules(&json(&with));
    assert!(
        found.contains(&("GW210".to_owned(), "error".to_owned())),
        "{found:?}"
    );
    assert!(!found.iter().any(|r| r.0 == "GW201"), "{found:?}");
}

#[test]
fn a_compose_file_is_found_in_a_parent_up_to_the_repository_root() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("repo/.git")).unwrap();
    common::write(dir.path(), "repo/compose.yaml", COMPOSE);
    common::write(dir.path(), "repo/deploy/nginx/nginx.conf", NGINX);
    let out = common::bin()
        .args(["check", "--format", "json"])
        .arg(dir.path().join("repo/deploy/nginx"))
        .output()
        .unwrap();
    assert!(rules(&json(&out)).iter().any(|r| r.0 == "GW210"));
    // Above the repository root nothing is looked at.
    std::fs::remove_file(dir.path().join("repo/compose.yaml")).unwrap();
    common::write(dir.path(), "compose.yaml", COMPOSE);
    let out = common::bin()
        .args(["check", "--format", "json"])
        .arg(dir.path().join("repo/deploy/nginx"))
        .output()
        .unwrap();
    assert!(!rules(&json(&out)).iter().any(|r| r.0 == "GW210"));
}

#[test]
fn a_bad_compose_file_is_exit_2_when_given_and_a_warning_when_found() {
    let dir = tempfile::tempdir().unwrap();
    let conf = common::write(dir.path(), "nginx.conf", NGINX);
    let bad = common::write(dir.path(), "compose.yaml", "services:\n  web: [\n");
    let out = common::bin()
        .args(["check", "--compose"])
        .arg(&bad)
        .arg(&conf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("compose.yaml:3:"), "{err}");
    let missing = common::bin()
        .args(["check", "--compose"])
        .arg(dir.path().join("nope.yaml"))
        .arg(&conf)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    // Found beside the config: the check goes on without it, and says so.
    let found = common::bin().arg("check").arg(&conf).output().unwrap();
    assert_eq!(found.status.code(), Some(1));
    let err = String::from_utf8_lossy(&found.stderr);
    assert!(err.contains("not used"), "{err}");
}
