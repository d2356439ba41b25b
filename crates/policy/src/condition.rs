//! `Condition` blocks: the IAM condition operators and their evaluation against the request
//! context.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use crate::document::Condition;
use crate::pattern::{compile, glob_match, tokens_to_string, Tok};
use crate::request::Context;

/// Whether `name` is a condition operator of the IAM policy language
/// (including `ForAnyValue:` / `ForAllValues:` and `...IfExists` forms).
pub fn is_known_condition_operator(name: &str) -> bool {
    !matches!(parse_operator(name), OperatorKind::Unknown)
}

/// Whether this evaluator can evaluate condition operator `name` (every
/// known operator except the `Date*` and `Binary*` families).
pub fn is_supported_condition_operator(name: &str) -> bool {
    matches!(parse_operator(name), OperatorKind::Supported(_))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    Single,
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumCmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(NumCmp),
    Bool,
    Ip,
    Arn,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Operator {
    qualifier: Qualifier,
    base: Base,
    negated: bool,
    if_exists: bool,
}

enum OperatorKind {
    Supported(Operator),
    Unsupported,
    Unknown,
}

fn parse_operator(name: &str) -> OperatorKind {
    let (qualifier, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
        (Qualifier::ForAnyValue, rest)
    } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
        (Qualifier::ForAllValues, rest)
    } else {
        (Qualifier::Single, name)
    };
    let (rest, if_exists) = match rest.strip_suffix("IfExists") {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    let (base, negated) = match rest {
        "StringEquals" => (Base::StringEquals, false),
        "StringNotEquals" => (Base::StringEquals, true),
        "StringEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, true),
        "StringLike" => (Base::StringLike, false),
        "StringNotLike" => (Base::StringLike, true),
        "NumericEquals" => (Base::Numeric(NumCmp::Eq), false),
        "NumericNotEquals" => (Base::Numeric(NumCmp::Eq), true),
        "NumericLessThan" => (Base::Numeric(NumCmp::Lt), false),
        "NumericLessThanEquals" => (Base::Numeric(NumCmp::Le), false),
        "NumericGreaterThan" => (Base::Numeric(NumCmp::Gt), false),
        "NumericGreaterThanEquals" => (Base::Numeric(NumCmp::Ge), false),
        "Bool" => (Base::Bool, false),
        "IpAddress" => (Base::Ip, false),
        "NotIpAddress" => (Base::Ip, true),
        "ArnEquals" | "ArnLike" => (Base::Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (Base::Arn, true),
        "Null" if qualifier == Qualifier::Single && !if_exists => (Base::Null, false),
        "DateEquals"
        | "DateNotEquals"
        | "DateLessThan"
        | "DateLessThanEquals"
        | "DateGreaterThan"
        | "DateGreaterThanEquals"
        | "BinaryEquals" => return OperatorKind::Unsupported,
        _ => return OperatorKind::Unknown,
    };
    OperatorKind::Supported(Operator {
        qualifier,
        base,
        negated,
        if_exists,
    })
}

pub(crate) enum CondOutcome {
    Met,
    NotMet(String),
    Invalid(String),
}

fn condition_values(raw: &Value) -> Option<Vec<String>> {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    match raw {
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => scalar(other).map(|s| vec![s]),
    }
}

pub(crate) fn evaluate_condition(
    condition: &Condition,
    context: &Context,
    vars: bool,
) -> CondOutcome {
    let Some(blocks) = &condition.blocks else {
        return CondOutcome::Invalid("Condition must be a JSON object".to_string());
    };
    let mut parsed = Vec::with_capacity(blocks.len());
    for block in blocks {
        let name = block.operator;
        let op = match parse_operator(name) {
            OperatorKind::Supported(op) => op,
            OperatorKind::Unsupported => {
                return CondOutcome::Invalid(format!(
                    "condition operator {name} cannot be evaluated offline"
                ))
            }
            OperatorKind::Unknown => {
                return CondOutcome::Invalid(format!("unknown condition operator {name:?}"))
            }
        };
        let Some(keys) = block.keys else {
            return CondOutcome::Invalid(format!("{name} must map condition keys to values"));
        };
        parsed.push((name, op, keys));
    }
    for (name, op, keys) in parsed {
        for (key, raw) in keys {
            let Some(values) = condition_values(raw) else {
                return CondOutcome::Invalid(format!(
                    "{name} {key}: values must be strings, numbers or booleans"
                ));
            };
            let mut unresolved = Vec::new();
            if !eval_key(op, key, &values, context, vars, &mut unresolved) {
                let have = match context.get(key) {
                    Some(v) if !v.is_empty() => format!("request has {key} = {v:?}"),
                    _ => format!("{key} is not in the request context"),
                };
                let mut reason = format!("{name} {{{key:?}: {values:?}}} is false ({have})");
                for u in unresolved {
                    reason.push_str("; ");
                    reason.push_str(&u);
                }
                return CondOutcome::NotMet(reason);
            }
        }
    }
    CondOutcome::Met
}

enum Matcher {
    Exact(String),
    IgnoreCase(String),
    Glob(Vec<Tok>),
    Numeric(NumCmp, f64),
    Net(IpNet),
}

impl Matcher {
    fn new(base: Base, value: &str, context: &Context, vars: bool) -> Result<Matcher, String> {
        let literal = |value: &str| -> Result<String, String> {
            compile(value, context, vars, false)
                .map(|tokens| tokens_to_string(&tokens))
                .map_err(|err| err.describe(value))
        };
        match base {
            Base::StringEquals => literal(value).map(Matcher::Exact),
            Base::StringEqualsIgnoreCase | Base::Bool => {
                literal(value).map(|s| Matcher::IgnoreCase(s.to_lowercase()))
            }
            Base::StringLike | Base::Arn => compile(value, context, vars, true)
                .map(Matcher::Glob)
                .map_err(|err| err.describe(value)),
            Base::Numeric(cmp) => value
                .trim()
                .parse::<f64>()
                .map(|n| Matcher::Numeric(cmp, n))
                .map_err(|_| format!("condition value {value:?} is not a number")),
            Base::Ip => parse_net(value).map(Matcher::Net).ok_or_else(|| {
                format!("condition value {value:?} is not an IP address or CIDR block")
            }),
            Base::Null => Err("Null takes true or false".to_string()),
        }
    }

    fn matches(&self, candidate: &str) -> bool {
        match self {
            Matcher::Exact(s) => candidate == s,
            Matcher::IgnoreCase(s) => candidate.to_lowercase() == *s,
            Matcher::Glob(tokens) => {
                let text: Vec<char> = candidate.chars().collect();
                glob_match(tokens, &text)
            }
            Matcher::Numeric(cmp, n) => match candidate.trim().parse::<f64>() {
                Ok(c) => match cmp {
                    NumCmp::Eq => c == *n,
                    NumCmp::Lt => c < *n,
                    NumCmp::Le => c <= *n,
                    NumCmp::Gt => c > *n,
                    NumCmp::Ge => c >= *n,
                },
                Err(_) => false,
            },
            Matcher::Net(net) => candidate
                .trim()
                .parse::<IpAddr>()
                .is_ok_and(|ip| net.contains(&ip)),
        }
    }
}

fn parse_net(value: &str) -> Option<IpNet> {
    let value = value.trim();
    value
        .parse::<IpNet>()
        .ok()
        .or_else(|| value.parse::<IpAddr>().ok().map(IpNet::from))
}

fn eval_key(
    op: Operator,
    key: &str,
    policy_values: &[String],
    context: &Context,
    vars: bool,
    unresolved: &mut Vec<String>,
) -> bool {
    let present = context.get(key).filter(|v| !v.is_empty());
    if op.base == Base::Null {
        // "true": the key must be absent; "false": it must be present.
        return policy_values
            .iter()
            .any(|v| v.trim().eq_ignore_ascii_case("true") == present.is_none());
    }
    let Some(request_values) = present else {
        if op.if_exists {
            return true;
        }
        return match op.qualifier {
            Qualifier::Single => op.negated,
            Qualifier::ForAnyValue => false,
            Qualifier::ForAllValues => true,
        };
    };
    let mut matchers = Vec::with_capacity(policy_values.len());
    for value in policy_values {
        match Matcher::new(op.base, value, context, vars) {
            Ok(m) => matchers.push(m),
            Err(e) => unresolved.push(e),
        }
    }
    let satisfies =
        |candidate: &String| matchers.iter().any(|m| m.matches(candidate)) != op.negated;
    match op.qualifier {
        Qualifier::Single if op.negated => request_values.iter().all(satisfies),
        Qualifier::Single | Qualifier::ForAnyValue => request_values.iter().any(satisfies),
        Qualifier::ForAllValues => request_values.iter().all(satisfies),
    }
}
