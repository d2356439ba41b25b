//! `${...}` interpolation in stack values and policy templates.
//!
//! - `${prefix}`, `${email}`, `${ip}`, `${region}`, `${account}`, `${prefix_underscore}`,
//!   `${email_domain}` and `${partition}` (the region's ARN partition: `aws`, `aws-cn`,
//!   `aws-us-gov`) are parameters;
//! - `${resource-id.attribute}` refers to an attribute of another resource of the stack (and makes
//!   it a dependency);
//! - anything with a `:` in it (`${iot:ClientId}`, `${cognito-identity.amazonaws.com:sub}`) and the
//!   escapes `${*}`, `${?}`, `${$}` are IAM / IoT policy variables and pass through untouched.

use std::collections::BTreeMap;

/// The parameters a template may use.
pub const PARAMS: &[&str] = &[
    "prefix",
    "prefix_underscore",
    "email",
    "email_domain",
    "ip",
    "region",
    "account",
    "partition",
    // The copy number of a counted resource (`count: N`), replaced when the stack is loaded.
    "index",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Lit(String),
    Param(String),
    Ref { id: String, attr: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    pub parts: Vec<Part>,
}

/// A problem in a template: the character offset of the `${` and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

impl Template {
    pub fn parse(s: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '$' && chars.get(i + 1) == Some(&'{') {
                let start = i;
                let Some(len) = chars[i + 2..].iter().position(|c| *c == '}') else {
                    return Err(TemplateError {
                        offset: start,
                        message: "unclosed `${`: add the closing `}`".into(),
                    });
                };
                let inner: String = chars[i + 2..i + 2 + len].iter().collect();
                i += 3 + len;
                let trimmed = inner.trim();
                if trimmed.contains(':') || matches!(trimmed, "*" | "?" | "$") {
                    lit.push_str(&format!("${{{inner}}}"));
                    continue;
                }
                let part = if PARAMS.contains(&trimmed) {
                    Part::Param(trimmed.to_string())
                } else if let Some((id, attr)) = trimmed.split_once('.') {
                    if id.is_empty() || attr.is_empty() || attr.contains('.') {
                        return Err(TemplateError {
                            offset: start,
                            message: format!("`${{{inner}}}` is not a reference: write `${{resource-id.attribute}}`"),
                        });
                    }
                    Part::Ref {
                        id: id.to_string(),
                        attr: attr.to_string(),
                    }
                } else {
                    return Err(TemplateError {
                        offset: start,
                        message: format!(
                            "undefined reference `${{{inner}}}`: valid parameters are {}, or `${{resource-id.attribute}}`",
                            PARAMS.join(", ")
                        ),
                    });
                };
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(part);
            } else {
                lit.push(chars[i]);
                i += 1;
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts })
    }

    pub fn literal(s: impl Into<String>) -> Template {
        Template {
            parts: vec![Part::Lit(s.into())],
        }
    }

    /// The resources this template refers to, with the offset-free attribute name.
    pub fn refs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Ref { id, attr } => Some((id.as_str(), attr.as_str())),
            _ => None,
        })
    }

    /// Renders the template. A reference that `lookup` cannot answer yet (its resource does not
    /// exist yet) is rendered as a placeholder and reported in the second value.
    pub fn render(
        &self,
        params: &BTreeMap<String, String>,
        lookup: &dyn Fn(&str, &str) -> Option<String>,
        json_escape: bool,
    ) -> (String, bool) {
        let mut out = String::new();
        let mut unknown = false;
        for p in &self.parts {
            let v = match p {
                Part::Lit(s) => {
                    out.push_str(s);
                    continue;
                }
                Part::Param(name) => params.get(name).cloned().unwrap_or_default(),
                Part::Ref { id, attr } => match lookup(id, attr) {
                    Some(v) => v,
                    None => {
                        unknown = true;
                        format!("(known after apply: {id}.{attr})")
                    }
                },
            };
            if json_escape {
                let quoted = serde_json::to_string(&v).unwrap_or_default();
                out.push_str(&quoted[1..quoted.len() - 1]);
            } else {
                out.push_str(&v);
            }
        }
        (out, unknown)
    }
}

/// Finds every `${...}` in a text file (a policy template), with line and column of each problem.
pub fn parse_text(text: &str) -> Result<Template, (usize, usize, String)> {
    Template::parse(text).map_err(|e| {
        let before: String = text.chars().take(e.offset).collect();
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col, e.message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> BTreeMap<String, String> {
        [("prefix", "demo"), ("region", "eu-west-1")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn policy_variables_pass_through() {
        let t =
            Template::parse("client/${iot:ClientId}/${cognito-identity.amazonaws.com:sub}/${*}")
                .unwrap();
        let (s, unknown) = t.render(&params(), &|_, _| None, false);
        assert_eq!(
            s,
            "client/${iot:ClientId}/${cognito-identity.amazonaws.com:sub}/${*}"
        );
        assert!(!unknown);
    }

    #[test]
    fn params_and_refs() {
        let t = Template::parse("${prefix}-x ${topic.arn}").unwrap();
        assert_eq!(t.refs().collect::<Vec<_>>(), vec![("topic", "arn")]);
        let (s, unknown) = t.render(&params(), &|id, a| Some(format!("<{id}:{a}>")), false);
        assert_eq!(s, "demo-x <topic:arn>");
        assert!(!unknown);
        let (s, unknown) = t.render(&params(), &|_, _| None, false);
        assert!(unknown);
        assert!(s.contains("known after apply"));
    }

    #[test]
    fn undefined_reference_is_an_error_with_position() {
        let err = parse_text("{\n  \"a\": \"${nope}\"\n}").unwrap_err();
        assert_eq!((err.0, err.1), (2, 9));
        assert!(err.2.contains("undefined reference `${nope}`"));
        let err = Template::parse("x ${prefix").unwrap_err();
        assert_eq!(err.offset, 2);
    }

    #[test]
    fn json_escape_quotes_values() {
        let t = Template::parse("\"${prefix}\"").unwrap();
        let mut p = params();
        p.insert("prefix".into(), "a\"b".into());
        let (s, _) = t.render(&p, &|_, _| None, true);
        assert_eq!(s, "\"a\\\"b\"");
    }
}
