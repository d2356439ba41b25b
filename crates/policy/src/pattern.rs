//! Patterns of `Action` and `Resource` entries: `*` and `?` wildcards (the MQTT `+` and `#` are
//! literal), `${...}` policy variables substituted from the request context.

use crate::request::Context;

/// Whether an `Action` pattern matches `action`: case-insensitive, with `*`
/// (any run of characters) and `?` (one character).
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let pattern = plain_tokens(&pattern.to_lowercase(), true);
    let text: Vec<char> = action.to_lowercase().chars().collect();
    glob_match(&pattern, &text)
}

/// Whether a `Resource` pattern matches `resource` after substituting
/// policy variables from `context` (as in a `2012-10-17` document):
/// case-sensitive, `*` matches any run of characters including `/`, `?` one
/// character, `+` and `#` are literal. `None` when a variable cannot be
/// resolved (AWS then treats the resource as not matching).
pub fn resource_matches(pattern: &str, resource: &str, context: &Context) -> Option<bool> {
    let tokens = compile(pattern, context, true, true).ok()?;
    let text: Vec<char> = resource.chars().collect();
    Some(glob_match(&tokens, &text))
}

/// Whether `pattern` (compared case-sensitively, or case-insensitively when
/// `ignore_case`) matches every string that starts with `prefix`; e.g.
/// `iot:*`, `*` and `io?:*` cover the prefix `iot:`. Policy variables are
/// not expanded.
pub fn pattern_covers_prefix(pattern: &str, prefix: &str, ignore_case: bool) -> bool {
    let (pattern, prefix) = if ignore_case {
        (pattern.to_lowercase(), prefix.to_lowercase())
    } else {
        (pattern.to_string(), prefix.to_string())
    };
    let tokens = plain_tokens(&pattern, true);
    let n = tokens.len();
    let close = |states: &mut Vec<bool>| {
        for p in 0..n {
            if states[p] && tokens[p] == Tok::Any {
                states[p + 1] = true;
            }
        }
    };
    let mut states = vec![false; n + 1];
    states[0] = true;
    close(&mut states);
    for c in prefix.chars() {
        let mut next = vec![false; n + 1];
        for p in 0..n {
            if !states[p] {
                continue;
            }
            match tokens[p] {
                Tok::Any => next[p] = true,
                Tok::One => next[p + 1] = true,
                Tok::Lit(l) if l == c => next[p + 1] = true,
                Tok::Lit(_) => {}
            }
        }
        close(&mut next);
        states = next;
    }
    (0..=n).any(|p| states[p] && tokens[p..].iter().all(|t| *t == Tok::Any))
}

/// Whether `pattern` has a `*` or `?` wildcard outside `${...}` variables.
pub fn has_wildcards(pattern: &str) -> bool {
    let mut rest = pattern;
    loop {
        let (head, tail) = match rest.find("${") {
            Some(start) => match rest[start..].find('}') {
                Some(end) => (&rest[..start], Some(&rest[start + end + 1..])),
                None => (rest, None),
            },
            None => (rest, None),
        };
        if head.contains(['*', '?']) {
            return true;
        }
        match tail {
            Some(t) => rest = t,
            None => return false,
        }
    }
}

/// The policy variables referenced in `text` (the key inside each
/// `${...}`, without a `, 'default'` part); the escapes `${*}`, `${?}` and
/// `${$}` are not variables.
pub fn policy_variables(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            break;
        };
        let inner = after[..end].trim();
        if !matches!(inner, "*" | "?" | "$") {
            let key = inner.split(',').next().unwrap_or(inner).trim();
            found.push(key.to_string());
        }
        rest = &after[end + 1..];
    }
    found
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    Lit(char),
    Any,
    One,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VarError {
    variable: String,
    multi_valued: bool,
}

impl VarError {
    pub(crate) fn describe(&self, element: &str) -> String {
        if self.multi_valued {
            format!(
                "{element:?} uses ${{{}}}, which has several values in the request context (a multi-valued key cannot be a policy variable), so it cannot match",
                self.variable
            )
        } else {
            format!(
                "{element:?} uses ${{{}}}, which has no value in the request context, so it cannot match",
                self.variable
            )
        }
    }
}

pub(crate) fn plain_tokens(pattern: &str, wildcards: bool) -> Vec<Tok> {
    pattern
        .chars()
        .map(|c| match c {
            '*' if wildcards => Tok::Any,
            '?' if wildcards => Tok::One,
            other => Tok::Lit(other),
        })
        .collect()
}

pub(crate) fn tokens_to_string(tokens: &[Tok]) -> String {
    tokens
        .iter()
        .map(|t| match t {
            Tok::Lit(c) => *c,
            Tok::Any => '*',
            Tok::One => '?',
        })
        .collect()
}

/// Turns a pattern into tokens, substituting `${...}` variables when `vars`
/// (substituted text is literal) and treating `*` / `?` as wildcards when
/// `wildcards`.
pub(crate) fn compile(
    pattern: &str,
    context: &Context,
    vars: bool,
    wildcards: bool,
) -> Result<Vec<Tok>, VarError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if vars && c == '$' && chars.get(i + 1) == Some(&'{') {
            if let Some(len) = chars[i + 2..].iter().position(|&ch| ch == '}') {
                let inner: String = chars[i + 2..i + 2 + len].iter().collect();
                resolve_variable(&inner, context, &mut out)?;
                i += len + 3;
                continue;
            }
        }
        out.push(match c {
            '*' if wildcards => Tok::Any,
            '?' if wildcards => Tok::One,
            other => Tok::Lit(other),
        });
        i += 1;
    }
    Ok(out)
}

fn resolve_variable(inner: &str, context: &Context, out: &mut Vec<Tok>) -> Result<(), VarError> {
    let inner = inner.trim();
    match inner {
        "*" | "?" | "$" => {
            out.extend(inner.chars().map(Tok::Lit));
            return Ok(());
        }
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((key, default)) => {
            let default = default.trim();
            let default = default
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .unwrap_or(default);
            (key.trim(), Some(default))
        }
        None => (inner, None),
    };
    match context.get(key) {
        Some([value]) => out.extend(value.chars().map(Tok::Lit)),
        Some(values) if values.len() > 1 => {
            return Err(VarError {
                variable: key.to_string(),
                multi_valued: true,
            })
        }
        _ => match default {
            Some(default) => out.extend(default.chars().map(Tok::Lit)),
            None => {
                return Err(VarError {
                    variable: key.to_string(),
                    multi_valued: false,
                })
            }
        },
    }
    Ok(())
}

pub(crate) fn glob_match(pattern: &[Tok], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Tok::Any) => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
            }
            Some(Tok::Lit(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, from)) => {
                    p = star + 1;
                    t = from + 1;
                    backtrack = Some((star, from + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|tok| *tok == Tok::Any)
}
