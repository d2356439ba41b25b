//! One statement of a policy applied to one request: does its action, resource and condition
//! match?

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::condition::{evaluate_condition, CondOutcome};
use crate::decision::MatchedStatement;
use crate::pattern::{action_matches, compile, glob_match};
use crate::request::Request;

/// The policy language version that enables policy variables.
pub const POLICY_VERSION: &str = "2012-10-17";

/// The `Effect` of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

impl Effect {
    /// `Allow` or `Deny`, as written in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }

    pub(crate) fn verb(self) -> &'static str {
        match self {
            Effect::Allow => "allows",
            Effect::Deny => "explicitly denies",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) fn statement_label(index: usize, sid: Option<&str>) -> String {
    match sid {
        Some(sid) => format!("statement {index} (Sid {sid})"),
        None => format!("statement {index}"),
    }
}

pub(crate) fn any_string(value: &Value, pred: &dyn Fn(&str) -> bool) -> bool {
    match value {
        Value::String(s) => pred(s),
        Value::Array(items) => items.iter().any(|v| any_string(v, pred)),
        Value::Object(map) => map.iter().any(|(k, v)| pred(k) || any_string(v, pred)),
        _ => false,
    }
}

/// Reads `positive` or `negative` (e.g. `Action` / `NotAction`) as a list of
/// strings; `Ok((negated, entries))`.
fn string_list<'v>(
    obj: &'v Map<String, Value>,
    positive: &str,
    negative: &str,
) -> Result<(bool, Vec<&'v str>), String> {
    let (negated, value) = match (obj.get(positive), obj.get(negative)) {
        (Some(_), Some(_)) => return Err(format!("has both {positive} and {negative}")),
        (None, None) => return Err(format!("has neither {positive} nor {negative}")),
        (Some(v), None) => (false, v),
        (None, Some(v)) => (true, v),
    };
    let name = if negated { negative } else { positive };
    match value {
        Value::String(s) => Ok((negated, vec![s.as_str()])),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| format!("{name} has an entry that is not a string"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|entries| (negated, entries)),
        _ => Err(format!("{name} must be a string or an array of strings")),
    }
}

pub(crate) fn evaluate_statement(
    index: usize,
    statement: &Value,
    request: &Request,
    vars: bool,
    notes: &mut Vec<String>,
) -> Option<MatchedStatement> {
    let Some(obj) = statement.as_object() else {
        notes.push(format!(
            "{} is not a JSON object; ignored",
            statement_label(index, None)
        ));
        return None;
    };
    let sid = obj.get("Sid").and_then(Value::as_str).map(str::to_string);
    let label = statement_label(index, sid.as_deref());
    let effect = match obj.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        Some(other) => {
            notes.push(format!(
                "{label}: Effect {other:?} is neither \"Allow\" nor \"Deny\"; ignored"
            ));
            return None;
        }
        None => {
            notes.push(format!("{label}: Effect is missing; ignored"));
            return None;
        }
    };

    let action = match string_list(obj, "Action", "NotAction") {
        Err(msg) => {
            notes.push(format!("{label}: {msg}; ignored"));
            return None;
        }
        Ok((false, entries)) => entries
            .iter()
            .find(|p| action_matches(p, &request.action))
            .map(|p| (*p).to_string())?,
        Ok((true, entries)) => {
            if entries.iter().any(|p| action_matches(p, &request.action)) {
                return None;
            }
            format!("NotAction {entries:?}")
        }
    };

    let text: Vec<char> = request.resource.chars().collect();
    let resource = match string_list(obj, "Resource", "NotResource") {
        Err(msg) => {
            notes.push(format!("{label}: {msg}; ignored"));
            return None;
        }
        Ok((negated, entries)) => {
            let mut unresolved = Vec::new();
            let mut hit = None;
            for entry in &entries {
                match compile(entry, &request.context, vars, true) {
                    Ok(tokens) => {
                        if glob_match(&tokens, &text) {
                            hit = Some(*entry);
                            break;
                        }
                    }
                    Err(err) => unresolved.push(err.describe(entry)),
                }
            }
            match (negated, hit) {
                (false, Some(entry)) => entry.to_string(),
                (false, None) => {
                    for u in unresolved {
                        notes.push(format!(
                            "{label} would apply to {} but Resource {u}",
                            request.action
                        ));
                    }
                    return None;
                }
                (true, Some(_)) => return None,
                (true, None) => {
                    for u in unresolved {
                        notes.push(format!(
                            "{label}: NotResource {u}, so it does not exclude {}",
                            request.resource
                        ));
                    }
                    format!("NotResource {entries:?}")
                }
            }
        }
    };

    if let Some(condition) = obj.get("Condition") {
        match evaluate_condition(condition, &request.context, vars) {
            CondOutcome::Met => {}
            CondOutcome::NotMet(reason) => {
                notes.push(format!(
                    "{label} would {} {} on {} but its Condition is not met: {reason}",
                    match effect {
                        Effect::Allow => "allow",
                        Effect::Deny => "deny",
                    },
                    request.action,
                    request.resource
                ));
                return None;
            }
            CondOutcome::Invalid(reason) => {
                notes.push(format!("{label}: {reason}; the statement does not apply"));
                return None;
            }
        }
    }

    Some(MatchedStatement {
        index,
        sid,
        effect,
        action,
        resource,
    })
}
