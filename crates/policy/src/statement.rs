//! One statement of a policy applied to one request: does its action, resource and condition
//! match? A statement that does not fit the grammar is ignored, with a note saying why.

use crate::condition::{evaluate_condition, CondOutcome};
use crate::decision::MatchedStatement;
use crate::document::{Cover, Effect, List, ListProblem, Statement};
use crate::pattern::{action_matches, compile, glob_match};
use crate::request::Request;

/// `statement <index>` or `statement <index> (Sid <sid>)`.
pub(crate) fn statement_label(index: usize, sid: Option<&str>) -> String {
    match sid {
        Some(sid) => format!("statement {index} (Sid {sid})"),
        None => format!("statement {index}"),
    }
}

/// Why the evaluator cannot use `list`, if it cannot.
fn list_error(list: &List) -> Option<String> {
    let (positive, negative, name) = (list.positive, list.negative, list.name());
    Some(match list.error()? {
        ListProblem::Both => format!("has both {positive} and {negative}"),
        ListProblem::Missing => format!("has neither {positive} nor {negative}"),
        ListProblem::NotAString { .. } => format!("{name} has an entry that is not a string"),
        ListProblem::WrongType(_) => format!("{name} must be a string or an array of strings"),
        ListProblem::Empty => return None,
    })
}

/// The statement, if it applies to `request`; `vars`: whether policy variables are substituted.
pub(crate) fn evaluate_statement(
    statement: &Statement,
    request: &Request,
    vars: bool,
    notes: &mut Vec<String>,
) -> Option<MatchedStatement> {
    let label = statement_label(statement.index, statement.sid);
    let effect = match statement.effect {
        Ok(effect) => effect,
        Err(Some(serde_json::Value::String(other))) => {
            notes.push(format!(
                "{label}: Effect {other:?} is neither \"Allow\" nor \"Deny\"; ignored"
            ));
            return None;
        }
        Err(_) => {
            notes.push(format!("{label}: Effect is missing; ignored"));
            return None;
        }
    };

    if let Some(msg) = list_error(&statement.action) {
        notes.push(format!("{label}: {msg}; ignored"));
        return None;
    }
    let action = match statement
        .action
        .covers(|p| action_matches(p, &request.action))?
    {
        Cover::Entry(entry) => entry.value.to_string(),
        Cover::Negated => format!("NotAction {:?}", statement.action.values()),
    };

    let resource = match_resource(&label, &statement.resource, request, vars, notes)?;

    if let Some(condition) = &statement.condition {
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
        index: statement.index,
        sid: statement.sid.map(str::to_string),
        effect,
        action,
        resource,
    })
}

/// The `Resource` entry that matches the request's resource (or `NotResource [...]` when none of
/// a negated list does), with notes on the entries whose variables could not be resolved.
fn match_resource(
    label: &str,
    list: &List,
    request: &Request,
    vars: bool,
    notes: &mut Vec<String>,
) -> Option<String> {
    if let Some(msg) = list_error(list) {
        notes.push(format!("{label}: {msg}; ignored"));
        return None;
    }
    let text: Vec<char> = request.resource.chars().collect();
    let mut unresolved = Vec::new();
    let mut hit = None;
    for entry in &list.entries {
        match compile(entry.value, &request.context, vars, true) {
            Ok(tokens) => {
                if glob_match(&tokens, &text) {
                    hit = Some(entry.value);
                    break;
                }
            }
            Err(err) => unresolved.push(err.describe(entry.value)),
        }
    }
    match (list.negated, hit) {
        (false, Some(entry)) => Some(entry.to_string()),
        (false, None) => {
            for u in unresolved {
                notes.push(format!(
                    "{label} would apply to {} but Resource {u}",
                    request.action
                ));
            }
            None
        }
        (true, Some(_)) => None,
        (true, None) => {
            for u in unresolved {
                notes.push(format!(
                    "{label}: NotResource {u}, so it does not exclude {}",
                    request.resource
                ));
            }
            Some(format!("NotResource {:?}", list.values()))
        }
    }
}
