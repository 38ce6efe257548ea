//! Variable references in a script value, read as `ngx_http_script_compile`
//! (src/http/ngx_http_script.c) reads them: `$name` (letters, digits, `_`), `${name}`, and
//! `$1`..`$9` (regex captures, one digit). A `$` with no name after it is "invalid variable
//! name"; `${name` without `}` is "the closing bracket in "name" variable is missing".

/// One `$name` reference: the name as written and its byte offset in the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarRef<'a> {
    pub name: &'a str,
    pub offset: usize,
}

/// Why nginx refuses a script value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptError {
    /// `$` at the end, or followed by something that is no name.
    InvalidName { offset: usize },
    /// `${name` with no closing bracket.
    MissingBracket { name: String, offset: usize },
}

impl ScriptError {
    /// nginx's message.
    pub fn message(&self) -> String {
        match self {
            ScriptError::InvalidName { .. } => "invalid variable name".to_owned(),
            ScriptError::MissingBracket { name, .. } => {
                format!("the closing bracket in \"{name}\" variable is missing")
            }
        }
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The variables a script value refers to, in order (captures `$1`..`$9` are left out), or the
/// first error nginx reports for it.
pub fn variables(value: &str) -> Result<Vec<VarRef<'_>>, ScriptError> {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        let dollar = i;
        i += 1;
        let Some(&next) = bytes.get(i) else {
            return Err(ScriptError::InvalidName { offset: dollar });
        };
        if (b'1'..=b'9').contains(&next) {
            i += 1;
            continue;
        }
        let bracket = next == b'{';
        if bracket {
            i += 1;
            if i == bytes.len() {
                return Err(ScriptError::InvalidName { offset: dollar });
            }
        }
        let start = i;
        while i < bytes.len() && is_name_byte(bytes[i]) {
            i += 1;
        }
        let name = &value[start..i];
        if bracket {
            if bytes.get(i) == Some(&b'}') {
                i += 1;
            } else {
                return Err(ScriptError::MissingBracket {
                    name: name.to_owned(),
                    offset: dollar,
                });
            }
        }
        if name.is_empty() {
            return Err(ScriptError::InvalidName { offset: dollar });
        }
        out.push(VarRef {
            name,
            offset: dollar,
        });
    }
    Ok(out)
}

/// True when nginx compiles `value` as a script: it has a `$` (`ngx_http_script_variables_count`).
pub fn is_script(value: &str) -> bool {
    value.contains('$')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &str) -> Result<Vec<&str>, ScriptError> {
        Ok(variables(v)?.into_iter().map(|r| r.name).collect())
    }

    #[test]
    fn references() {
        assert_eq!(
            names("$scheme://$host$request_uri"),
            Ok(vec!["scheme", "host", "request_uri"])
        );
        assert_eq!(names("${PORT}x"), Ok(vec!["PORT"]));
        assert_eq!(names("/$1/$2x"), Ok(vec![]));
        assert_eq!(names("$12"), Ok(vec![]));
        assert_eq!(names("$0"), Ok(vec!["0"]));
    }

    #[test]
    fn errors() {
        assert_eq!(names("a $"), Err(ScriptError::InvalidName { offset: 2 }));
        assert_eq!(names("a $ b"), Err(ScriptError::InvalidName { offset: 2 }));
        assert_eq!(names("$-x"), Err(ScriptError::InvalidName { offset: 0 }));
        assert_eq!(
            names("${x"),
            Err(ScriptError::MissingBracket {
                name: "x".into(),
                offset: 0
            })
        );
        assert_eq!(names("${"), Err(ScriptError::InvalidName { offset: 0 }));
        assert_eq!(
            names("${a-b}"),
            Err(ScriptError::MissingBracket {
                name: "a".into(),
                offset: 0
            })
        );
    }
}
