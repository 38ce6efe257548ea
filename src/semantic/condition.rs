//! `if (...)` conditions checked as `ngx_http_rewrite_if_condition`
//! (src/http/modules/ngx_http_rewrite_module.c) checks them: the parentheses, a variable alone
//! or compared with `=`, `!=`, `~`, `~*`, `!~`, `!~*`, or a file test `-f -d -e -x` (and `!-...`).
//! Regexes and variable names are checked elsewhere (GW021, GW020).

/// nginx's message for a condition it refuses, and the index of the word it names.
pub fn check(args: &[&str]) -> Option<(String, usize)> {
    let invalid = |i: usize, v: &str| Some((format!("invalid condition \"{v}\""), i));
    let first = *args.first()?;
    if !first.starts_with('(') {
        return invalid(0, first);
    }
    let mut values: Vec<&str> = args.to_vec();
    let mut cur = if first.len() == 1 {
        1
    } else {
        values[0] = &first[1..];
        0
    };
    let mut last = values.len() - 1;
    let lastv = values[last];
    if !lastv.ends_with(')') {
        return invalid(last, lastv);
    }
    if lastv.len() == 1 {
        last = last.checked_sub(1)?;
    } else {
        values[last] = &lastv[..lastv.len() - 1];
    }
    if cur > last {
        return None;
    }
    let p = values[cur];
    if p.len() > 1 && p.starts_with('$') {
        if cur != last && cur + 2 != last {
            return invalid(cur, p);
        }
        if cur == last {
            return None;
        }
        cur += 1;
        let op = values[cur];
        return match op {
            "=" | "!=" | "~" | "~*" | "!~" | "!~*" => None,
            _ => Some((format!("unexpected \"{op}\" in condition"), cur)),
        };
    }
    let file_test = (p.len() == 2 && p.starts_with('-')) || (p.len() == 3 && p.starts_with("!-"));
    if file_test {
        if cur + 1 != last {
            return invalid(cur, p);
        }
        let flag = p.as_bytes()[p.len() - 1];
        return match flag {
            b'f' | b'd' | b'e' | b'x' => None,
            _ => invalid(cur, p),
        };
    }
    invalid(cur, p)
}

#[cfg(test)]
mod tests {
    use super::check;

    fn msg(a: &[&str]) -> Option<String> {
        check(a).map(|(m, _)| m)
    }

    #[test]
    fn nginx_answers() {
        assert_eq!(msg(&["($uri)"]), None);
        assert_eq!(msg(&["(", "$uri", ")"]), None);
        assert_eq!(msg(&["($a", "=", "b)"]), None);
        assert_eq!(msg(&["(-f", "$uri)"]), None);
        assert_eq!(msg(&["(!-e", "$uri)"]), None);
        assert_eq!(
            msg(&["($x", "=", "a"]).as_deref(),
            Some("invalid condition \"a\"")
        );
        assert_eq!(msg(&["$x"]).as_deref(), Some("invalid condition \"$x\""));
        assert_eq!(
            msg(&["($uri", "==", "a)"]).as_deref(),
            Some("unexpected \"==\" in condition")
        );
        assert_eq!(
            msg(&["(-q", "$uri)"]).as_deref(),
            Some("invalid condition \"-q\"")
        );
        assert_eq!(
            msg(&["($uri", "a", "b", "c)"]).as_deref(),
            Some("invalid condition \"$uri\"")
        );
        assert_eq!(
            msg(&["($uri", "~", "a", "b)"]).as_deref(),
            Some("invalid condition \"$uri\"")
        );
    }
}
