//! `--diff`: one unified diff for every changed file, `--- a/PATH` / `+++ b/PATH` with paths
//! relative to the configuration prefix, so `patch -p1` applies it from there.

use similar::TextDiff;

use super::FileChange;

/// The unified diff of all changes (empty when nothing changed). A file that does not end with
/// a newline gets the usual `\ No newline at end of file` marker.
pub fn unified_diff(changes: &[FileChange]) -> String {
    let mut out = String::new();
    for change in changes {
        let old = String::from_utf8_lossy(&change.original);
        let new = String::from_utf8_lossy(&change.fixed);
        let diff = TextDiff::from_lines(old.as_ref(), new.as_ref());
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("a/{}", change.diff_path),
                &format!("b/{}", change.diff_path),
            )
            .missing_newline_hint(true)
            .to_string();
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(original: &str, fixed: &str) -> FileChange {
        FileChange {
            path: "/etc/nginx/sites-enabled/app.conf".into(),
            aliases: vec![],
            display: "/etc/nginx/sites-enabled/app.conf".into(),
            diff_path: "sites-enabled/app.conf".into(),
            target: "/etc/nginx/sites-enabled/app.conf".into(),
            original: original.as_bytes().to_vec(),
            fixed: fixed.as_bytes().to_vec(),
        }
    }

    #[test]
    fn headers_are_relative_and_hunks_unified() {
        let d = unified_diff(&[change("a;\nb;\nc;\n", "a;\nB;\nc;\n")]);
        assert_eq!(
            d,
            "--- a/sites-enabled/app.conf\n+++ b/sites-enabled/app.conf\n@@ -1,3 +1,3 @@\n a;\n-b;\n+B;\n c;\n"
        );
    }

    #[test]
    fn missing_final_newline_is_marked() {
        let d = unified_diff(&[change("a;", "b;")]);
        assert!(d.contains("\\ No newline at end of file"), "{d}");
    }
}
