//! The document as lint reads it: the parsed document of [`crate::document`], and a
//! `policy-structure` finding (or `unknown-condition-operator`) for whatever in it does not fit
//! the grammar or the kind of policy.

use serde_json::Value;

use super::{Finding, Flavor, Severity, RULE_CONDITION_OPERATOR, RULE_STRUCTURE};
use crate::document::{
    escape, mentions_variables, Condition, Cover, Document, List, ListProblem, NotAnObject,
    Statement, StatementsProblem, Version,
};
use crate::{action_matches, is_known_condition_operator, pattern_covers_prefix, POLICY_VERSION};

/// What the rules read: the statements that are JSON objects.
pub(super) struct Policy<'a> {
    /// `Version`, when it is a valid one.
    pub(super) version: Option<&'a str>,
    /// Whether a `Resource` entry or a `Condition` uses a `${...}` policy variable.
    pub(super) uses_variables: bool,
    pub(super) statements: Vec<Statement<'a>>,
}

/// Pointer to the element through which the statement covers `action` (the matching `Action`
/// entry, or `NotAction` when it does not list it), if it does. An empty `NotAction` covers
/// nothing here: it is reported as a structure error.
pub(super) fn covers<'s>(stmt: &'s Statement, action: &str) -> Option<&'s str> {
    let list = &stmt.action;
    if list.negated && list.entries.is_empty() {
        return None;
    }
    match list.covers(|p| action_matches(p, action))? {
        Cover::Entry(entry) => Some(&entry.pointer),
        Cover::Negated => Some(&list.pointer),
    }
}

/// Whether the statement covers every AWS IoT action (`iot:*`, `*`, `NotAction`, ...).
pub(super) fn covers_every_iot_action(stmt: &Statement) -> bool {
    stmt.action.negated
        || stmt
            .action
            .entries
            .iter()
            .any(|a| pattern_covers_prefix(a.value, "iot:", true))
}

pub(super) fn structure(statement: Option<usize>, pointer: String, message: String) -> Finding {
    Finding {
        rule: RULE_STRUCTURE,
        severity: Severity::Error,
        message,
        statement,
        pointer,
    }
}

pub(super) fn parse<'a>(
    value: &'a Value,
    flavor: Flavor,
    findings: &mut Vec<Finding>,
) -> Option<Policy<'a>> {
    let Some(doc) = Document::parse(value) else {
        findings.push(structure(
            None,
            String::new(),
            "the policy document must be a JSON object with \"Version\": \"2012-10-17\" and a \"Statement\" array".to_string(),
        ));
        return None;
    };
    for key in &doc.unknown {
        findings.push(structure(
            None,
            format!("/{}", escape(key)),
            format!("unknown top-level element {key:?}: a policy has only Version, Id and Statement (names are case-sensitive)"),
        ));
    }
    let version = match doc.version {
        Version::Missing => None,
        Version::Valid(v) => Some(v),
        Version::Invalid(other) => {
            findings.push(structure(
                None,
                "/Version".to_string(),
                format!("Version {other} is not valid: write \"Version\": \"{POLICY_VERSION}\""),
            ));
            None
        }
    };
    let items = match doc.statements {
        Ok(items) => items,
        Err(problem) => {
            let message = match problem {
                StatementsProblem::Missing => "the policy has no Statement: add \"Statement\": [{\"Effect\": \"Allow\", \"Action\": [...], \"Resource\": [...]}]",
                StatementsProblem::NotAList => "Statement must be an array of statement objects",
            };
            findings.push(structure(
                None,
                "/Statement".to_string(),
                message.to_string(),
            ));
            return None;
        }
    };
    if items.is_empty() {
        findings.push(Finding {
            rule: RULE_STRUCTURE,
            severity: Severity::Warning,
            message: "Statement is empty, so the policy allows nothing; add statements or delete the policy".to_string(),
            statement: None,
            pointer: "/Statement".to_string(),
        });
    }
    let mut uses_variables = false;
    let mut statements = Vec::with_capacity(items.len());
    for item in items {
        let mut stmt = match item {
            Ok(stmt) => stmt,
            Err(NotAnObject { index, pointer }) => {
                findings.push(structure(
                    Some(index),
                    pointer,
                    "a statement must be a JSON object with Effect, Action and Resource"
                        .to_string(),
                ));
                continue;
            }
        };
        check_statement(&stmt, flavor, findings);
        if flavor == Flavor::Trust {
            // The role is the resource: whatever the statement says is reported above.
            stmt.resource = stmt.resource.absent(stmt.at("Resource"));
        }
        uses_variables |= stmt.resource.entries.iter().any(|r| r.value.contains("${"));
        uses_variables |= stmt
            .condition
            .as_ref()
            .is_some_and(|c| mentions_variables(c.value));
        statements.push(stmt);
    }
    Some(Policy {
        version,
        uses_variables,
        statements,
    })
}

/// The structure findings of one statement, in the order of its elements.
fn check_statement(stmt: &Statement, flavor: Flavor, findings: &mut Vec<Finding>) {
    let index = Some(stmt.index);
    for key in stmt.unknown_elements() {
        findings.push(structure(
            index,
            stmt.at(key),
            format!("unknown statement element {key:?}: use Sid, Effect, Action or NotAction, Resource or NotResource, and Condition (names are case-sensitive)"),
        ));
    }
    if flavor.has_principal() && !stmt.has("Principal") && !stmt.has("NotPrincipal") {
        let example = if flavor == Flavor::Trust {
            "{\"Service\": \"lambda.amazonaws.com\"} or {\"Federated\": \"cognito-identity.amazonaws.com\"}"
        } else {
            "{\"AWS\": \"arn:PARTITION:iam::ACCOUNT:root\"} or \"*\""
        };
        findings.push(structure(
            index,
            stmt.at("Principal"),
            format!("Principal is missing: name who the statement applies to, e.g. \"Principal\": {example}"),
        ));
    }
    for key in ["Principal", "NotPrincipal"] {
        if stmt.has(key) && !flavor.has_principal() {
            findings.push(structure(
                index,
                stmt.at(key),
                format!("{key} is not allowed in AWS IoT policies or in policies attached to a role; remove it (the policy applies to whatever it is attached to)"),
            ));
        }
    }
    match stmt.effect {
        Ok(_) => {}
        Err(Some(other)) => findings.push(structure(
            index,
            stmt.at("Effect"),
            format!("Effect {other} is not valid: write \"Allow\" or \"Deny\" (case-sensitive)"),
        )),
        Err(None) => findings.push(structure(
            index,
            stmt.at("Effect"),
            "Effect is missing: add \"Effect\": \"Allow\" or \"Effect\": \"Deny\"".to_string(),
        )),
    }
    check_list(stmt, &stmt.action, findings);
    if flavor == Flavor::Trust {
        for key in ["Resource", "NotResource"] {
            if stmt.has(key) {
                findings.push(structure(
                    index,
                    stmt.at(key),
                    format!("a trust policy has no {key} (the role is the resource, and IAM rejects the policy): remove it"),
                ));
            }
        }
    } else {
        check_list(stmt, &stmt.resource, findings);
    }
    if let Some(condition) = &stmt.condition {
        check_condition(stmt.index, condition, findings);
    }
}

fn check_list(stmt: &Statement, list: &List, findings: &mut Vec<Finding>) {
    let example = if list.positive == "Action" {
        "\"Action\": [\"iot:Connect\"]"
    } else {
        "\"Resource\": [\"arn:PARTITION:iot:REGION:ACCOUNT:client/...\"]"
    };
    let (positive, negative, name) = (list.positive, list.negative, list.name());
    for problem in &list.problems {
        let (pointer, message) = match problem {
            ListProblem::Both => (
                stmt.at(negative),
                format!("a statement cannot have both {positive} and {negative}: keep one"),
            ),
            ListProblem::Missing => (
                list.pointer.clone(),
                format!("{positive} is missing: add {example}"),
            ),
            ListProblem::Empty => (
                list.pointer.clone(),
                format!("{name} is empty, so the statement never applies: add {example}"),
            ),
            ListProblem::NotAString { pointer, value } => (
                pointer.clone(),
                format!("{name} entries must be strings, not {value}"),
            ),
            ListProblem::WrongType(value) => (
                list.pointer.clone(),
                format!(
                    "{name} must be a string or an array of strings, not {value}: write {example}"
                ),
            ),
        };
        findings.push(structure(Some(stmt.index), pointer, message));
    }
}

fn check_condition(index: usize, condition: &Condition, findings: &mut Vec<Finding>) {
    let Some(blocks) = &condition.blocks else {
        findings.push(structure(
            Some(index),
            condition.pointer.clone(),
            "Condition must be an object such as {\"StringEquals\": {\"iot:ClientId\": \"...\"}}"
                .to_string(),
        ));
        return;
    };
    for block in blocks {
        let operator = block.operator;
        if !is_known_condition_operator(operator) {
            findings.push(Finding {
                rule: RULE_CONDITION_OPERATOR,
                severity: Severity::Error,
                message: format!("unknown condition operator {operator:?}: the statement never applies; use an IAM operator such as StringEquals, StringLike, ForAnyValue:StringLike, IpAddress or Bool (names are case-sensitive)"),
                statement: Some(index),
                pointer: block.pointer.clone(),
            });
        }
        if block.keys.is_none() {
            findings.push(structure(
                Some(index),
                block.pointer.clone(),
                format!("{operator} must map condition keys to values, e.g. {{\"{operator}\": {{\"aws:SourceIp\": \"203.0.113.0/24\"}}}}"),
            ));
        }
    }
}
