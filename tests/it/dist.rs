//! The distribution files: the composite action, the release workflow, the Dockerfile, the CI
//! examples and the pre-commit manifest. Each is checked with the validator its ecosystem
//! publishes (SchemaStore's schemas through `check-jsonschema`, `pre-commit validate-manifest`),
//! and against each other: one build command, every action input declared, used and documented.

use crate::common::{self, oracle};
use std::path::Path;
use std::process::Command;

fn read(rel: &str) -> String {
    std::fs::read_to_string(common::root().join(rel)).unwrap()
}

/// Runs a validator; its output is the failure message.
fn validates(command: &Path, args: &[&str]) {
    let out = Command::new(command)
        .args(args)
        .current_dir(common::root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}:\n{}{}",
        command.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ci_files_validate_against_their_published_schemas() {
    let Some(check) = oracle::on_path("check-jsonschema", "pip install check-jsonschema") else {
        return;
    };
    let check = check.as_path();
    validates(
        check,
        &["--builtin-schema", "vendor.github-actions", "action.yml"],
    );
    validates(
        check,
        &[
            "--builtin-schema",
            "vendor.github-workflows",
            ".github/workflows/release.yml",
            "examples/ci/github-actions.yml",
        ],
    );
    validates(
        check,
        &[
            "--builtin-schema",
            "vendor.gitlab-ci",
            "examples/ci/gitlab-ci.yml",
        ],
    );
}

#[test]
fn pre_commit_manifest_is_valid() {
    let Some(pre_commit) = oracle::on_path("pre-commit", "pip install pre-commit") else {
        return;
    };
    validates(
        &pre_commit,
        &["validate-manifest", ".pre-commit-hooks.yaml"],
    );
}

/// The inputs declared under `inputs:` (two-space keys up to the next top-level key).
fn declared_inputs(action: &str) -> Vec<String> {
    let mut inputs = Vec::new();
    let mut inside = false;
    for line in action.lines() {
        if !line.starts_with(' ') && !line.is_empty() && !line.starts_with('#') {
            inside = line == "inputs:";
            continue;
        }
        if inside {
            if let Some(key) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
                if !key.starts_with(' ') {
                    inputs.push(key.to_owned());
                }
            }
        }
    }
    inputs
}

/// Every input the action declares has a description, is used by a step, and is in the
/// README's table; every `inputs.X` a step uses is declared.
#[test]
fn action_inputs_are_declared_used_and_documented() {
    let action = read("action.yml");
    let readme = read("README.md");
    let declared = declared_inputs(&action);
    assert!(declared.len() >= 5, "{declared:?}");
    let used: Vec<&str> = action
        .match_indices("inputs.")
        .map(|(i, _)| {
            let rest = &action[i + "inputs.".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    for name in &used {
        assert!(
            declared.iter().any(|d| d == name),
            "inputs.{name} is not declared"
        );
    }
    let section = readme
        .split("### GitHub Action")
        .nth(1)
        .expect("README has a `### GitHub Action` section");
    for name in &declared {
        assert!(used.contains(&name.as_str()), "input {name} is never used");
        let block = action
            .split(&format!("\n  {name}:\n"))
            .nth(1)
            .unwrap_or_default();
        assert!(
            block.trim_start().starts_with("description:"),
            "input {name} has no description"
        );
        assert!(
            section.contains(&format!("`{name}`")),
            "input {name} is not in the README's GitHub Action section"
        );
    }
}

/// The Dockerfile and the release workflow build with the one script (the one the maintainers
/// run and test), never with a `cargo build` of their own.
#[test]
fn one_build_command_for_image_and_release() {
    for file in ["Dockerfile", ".github/workflows/release.yml"] {
        let text = read(file);
        assert!(text.contains("dist/build-static.sh"), "{file}");
        let own_builds = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter(|l| l.contains("cargo build") || l.contains("cargo install"))
            .count();
        assert_eq!(own_builds, 0, "{file} builds on its own");
    }
    let script = read("dist/build-static.sh");
    assert!(script.contains("cargo build --release --locked --target"));
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains("FROM scratch"));
    // The release publishes what the action downloads.
    let release = read(".github/workflows/release.yml");
    let action = read("action.yml");
    for target in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
        assert!(
            release.contains(target) && action.contains(target),
            "{target}"
        );
    }
    assert!(release.contains("SHA256SUMS") && action.contains("SHA256SUMS"));
}
