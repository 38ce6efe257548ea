//! `nginx -T` output: every file nginx read, each after a `# configuration file PATH:` line.
//!
//! nginx writes the header, the file's bytes unchanged, then one LF (src/core/nginx.c). Anything
//! before the first header (the "syntax is ok" lines when stderr was merged) is skipped.

use std::path::PathBuf;

const HEADER: &[u8] = b"# configuration file ";

/// One file cut out of a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpedFile {
    pub path: PathBuf,
    pub text: Vec<u8>,
}

/// Splits a dump into its files, in the order nginx read them. Returns an empty list when the
/// input has no header at all.
pub fn split_dump(input: &[u8]) -> Vec<DumpedFile> {
    let mut headers = Vec::new();
    let mut line_start = 0;
    while line_start < input.len() {
        let line_end =
            memchr::memchr(b'\n', &input[line_start..]).map_or(input.len(), |i| line_start + i);
        let line = &input[line_start..line_end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(rest) = line.strip_prefix(HEADER) {
            if let Some(path) = rest.strip_suffix(b":") {
                headers.push((line_start, line_end + 1, path.to_vec()));
            }
        }
        line_start = line_end + 1;
    }
    let mut files = Vec::with_capacity(headers.len());
    for (i, (_, body_start, path)) in headers.iter().enumerate() {
        let body_end = headers.get(i + 1).map_or(input.len(), |next| next.0);
        let body_start = (*body_start).min(body_end);
        let mut text = &input[body_start..body_end];
        // nginx adds exactly one LF after each file.
        if let Some(stripped) = text.strip_suffix(b"\n") {
            text = stripped;
        }
        files.push(DumpedFile {
            path: PathBuf::from(String::from_utf8_lossy(path).into_owned()),
            text: text.to_vec(),
        });
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_files_and_strips_the_added_newline() {
        let dump = b"nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n\
# configuration file /etc/nginx/nginx.conf:\nevents {}\ninclude a.conf;\n\n\
# configuration file /etc/nginx/a.conf:\nuser x;\n";
        let files = split_dump(dump);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].path, PathBuf::from("/etc/nginx/nginx.conf"));
        assert_eq!(files[0].text, b"events {}\ninclude a.conf;\n");
        assert_eq!(files[1].text, b"user x;");
    }

    #[test]
    fn no_header_no_files() {
        assert!(split_dump(b"events {}\n").is_empty());
    }
}
