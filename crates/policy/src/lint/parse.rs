//! The document as lint reads it: statements with their `Action` and `Resource` entries and the
//! JSON pointer of each, and a `policy-structure` finding for whatever does not fit the grammar.

use serde_json::{Map, Value};

use super::{Finding, Flavor, Severity, RULE_CONDITION_OPERATOR, RULE_STRUCTURE};
use crate::{
    action_matches, is_known_condition_operator, pattern_covers_prefix, Effect, POLICY_VERSION,
};

pub(super) struct Entry {
    pub(super) value: String,
    pub(super) pointer: String,
}

pub(super) struct Stmt {
    pub(super) index: usize,
    pub(super) effect: Option<Effect>,
    pub(super) has_condition: bool,
    pub(super) actions: Vec<Entry>,
    pub(super) not_action: bool,
    pub(super) action_pointer: String,
    pub(super) resources: Vec<Entry>,
    pub(super) not_resource: bool,
    pub(super) resource_pointer: String,
}

impl Stmt {
    pub(super) fn allows(&self) -> bool {
        self.effect == Some(Effect::Allow)
    }

    /// Pointer to the element through which the statement covers `action`
    /// (the matching `Action` entry, or `NotAction` when it does not list
    /// it), if it does.
    pub(super) fn covers(&self, action: &str) -> Option<&str> {
        if self.not_action {
            if self.actions.is_empty()
                || self
                    .actions
                    .iter()
                    .any(|a| action_matches(&a.value, action))
            {
                return None;
            }
            return Some(&self.action_pointer);
        }
        self.actions
            .iter()
            .find(|a| action_matches(&a.value, action))
            .map(|a| a.pointer.as_str())
    }

    pub(super) fn covers_every_iot_action(&self) -> bool {
        self.not_action
            || self
                .actions
                .iter()
                .any(|a| pattern_covers_prefix(&a.value, "iot:", true))
    }
}

pub(super) struct Policy {
    pub(super) version: Option<String>,
    pub(super) uses_variables: bool,
    pub(super) statements: Vec<Stmt>,
}

pub(super) const STATEMENT_ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

pub(super) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
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

pub(super) fn parse(doc: &Value, flavor: Flavor, findings: &mut Vec<Finding>) -> Option<Policy> {
    let Some(obj) = doc.as_object() else {
        findings.push(structure(
            None,
            String::new(),
            "the policy document must be a JSON object with \"Version\": \"2012-10-17\" and a \"Statement\" array".to_string(),
        ));
        return None;
    };
    for key in obj.keys() {
        if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
            findings.push(structure(
                None,
                format!("/{}", escape(key)),
                format!("unknown top-level element {key:?}: a policy has only Version, Id and Statement (names are case-sensitive)"),
            ));
        }
    }
    let version = match obj.get("Version") {
        None => None,
        Some(Value::String(v)) if v == POLICY_VERSION || v == "2008-10-17" => Some(v.clone()),
        Some(other) => {
            findings.push(structure(
                None,
                "/Version".to_string(),
                format!("Version {other} is not valid: write \"Version\": \"{POLICY_VERSION}\""),
            ));
            None
        }
    };
    let items: Vec<(&Value, String)> = match obj.get("Statement") {
        None => {
            findings.push(structure(
                None,
                "/Statement".to_string(),
                "the policy has no Statement: add \"Statement\": [{\"Effect\": \"Allow\", \"Action\": [...], \"Resource\": [...]}]".to_string(),
            ));
            return None;
        }
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (v, format!("/Statement/{i}")))
            .collect(),
        Some(one @ Value::Object(_)) => vec![(one, "/Statement".to_string())],
        Some(_) => {
            findings.push(structure(
                None,
                "/Statement".to_string(),
                "Statement must be an array of statement objects".to_string(),
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
    for (index, (value, pointer)) in items.into_iter().enumerate() {
        let Some(stmt) = value.as_object() else {
            findings.push(structure(
                Some(index),
                pointer,
                "a statement must be a JSON object with Effect, Action and Resource".to_string(),
            ));
            continue;
        };
        let s = parse_statement(index, stmt, &pointer, flavor, findings);
        uses_variables |= s.resources.iter().any(|r| r.value.contains("${"));
        statements.push(s);
        if let Some(condition) = stmt.get("Condition") {
            uses_variables |= condition.to_string().contains("${");
        }
    }
    Some(Policy {
        version,
        uses_variables,
        statements,
    })
}

pub(super) fn parse_statement(
    index: usize,
    obj: &Map<String, Value>,
    pointer: &str,
    flavor: Flavor,
    findings: &mut Vec<Finding>,
) -> Stmt {
    let at = |name: &str| format!("{pointer}/{}", escape(name));
    for key in obj.keys() {
        if !STATEMENT_ELEMENTS.contains(&key.as_str()) {
            findings.push(structure(
                Some(index),
                at(key),
                format!("unknown statement element {key:?}: use Sid, Effect, Action or NotAction, Resource or NotResource, and Condition (names are case-sensitive)"),
            ));
        }
    }
    if flavor.has_principal() && !obj.contains_key("Principal") && !obj.contains_key("NotPrincipal")
    {
        let example = if flavor == Flavor::Trust {
            "{\"Service\": \"lambda.amazonaws.com\"} or {\"Federated\": \"cognito-identity.amazonaws.com\"}"
        } else {
            "{\"AWS\": \"arn:aws:iam::ACCOUNT:root\"} or \"*\""
        };
        findings.push(structure(
            Some(index),
            at("Principal"),
            format!("Principal is missing: name who the statement applies to, e.g. \"Principal\": {example}"),
        ));
    }
    for key in ["Principal", "NotPrincipal"] {
        if obj.contains_key(key) && !flavor.has_principal() {
            findings.push(structure(
                Some(index),
                at(key),
                format!("{key} is not allowed in AWS IoT policies or in policies attached to a role; remove it (the policy applies to whatever it is attached to)"),
            ));
        }
    }
    let effect = match obj.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Some(Effect::Allow),
        Some(Value::String(e)) if e == "Deny" => Some(Effect::Deny),
        Some(other) => {
            findings.push(structure(
                Some(index),
                at("Effect"),
                format!(
                    "Effect {other} is not valid: write \"Allow\" or \"Deny\" (case-sensitive)"
                ),
            ));
            None
        }
        None => {
            findings.push(structure(
                Some(index),
                at("Effect"),
                "Effect is missing: add \"Effect\": \"Allow\" or \"Effect\": \"Deny\"".to_string(),
            ));
            None
        }
    };
    let (actions, not_action, action_pointer) =
        parse_list(index, obj, pointer, "Action", "NotAction", findings);
    let (resources, not_resource, resource_pointer) = if flavor == Flavor::Trust {
        for key in ["Resource", "NotResource"] {
            if obj.contains_key(key) {
                findings.push(structure(
                    Some(index),
                    at(key),
                    format!("a trust policy has no {key} (the role is the resource, and IAM rejects the policy): remove it"),
                ));
            }
        }
        (Vec::new(), false, at("Resource"))
    } else {
        parse_list(index, obj, pointer, "Resource", "NotResource", findings)
    };
    let has_condition = obj.contains_key("Condition");
    if let Some(condition) = obj.get("Condition") {
        check_condition(index, condition, &at("Condition"), findings);
    }
    Stmt {
        index,
        effect,
        has_condition,
        actions,
        not_action,
        action_pointer,
        resources,
        not_resource,
        resource_pointer,
    }
}

pub(super) fn parse_list(
    index: usize,
    obj: &Map<String, Value>,
    pointer: &str,
    positive: &str,
    negative: &str,
    findings: &mut Vec<Finding>,
) -> (Vec<Entry>, bool, String) {
    let example = if positive == "Action" {
        "\"Action\": [\"iot:Connect\"]"
    } else {
        "\"Resource\": [\"arn:aws:iot:REGION:ACCOUNT:client/...\"]"
    };
    let (negated, name, value) = match (obj.get(positive), obj.get(negative)) {
        (Some(v), Some(_)) => {
            findings.push(structure(
                Some(index),
                format!("{pointer}/{negative}"),
                format!("a statement cannot have both {positive} and {negative}: keep one"),
            ));
            (false, positive, v)
        }
        (Some(v), None) => (false, positive, v),
        (None, Some(v)) => (true, negative, v),
        (None, None) => {
            findings.push(structure(
                Some(index),
                format!("{pointer}/{positive}"),
                format!("{positive} is missing: add {example}"),
            ));
            return (Vec::new(), false, format!("{pointer}/{positive}"));
        }
    };
    let list_pointer = format!("{pointer}/{name}");
    let mut entries = Vec::new();
    match value {
        Value::String(s) => entries.push(Entry {
            value: s.clone(),
            pointer: list_pointer.clone(),
        }),
        Value::Array(items) => {
            if items.is_empty() {
                findings.push(structure(
                    Some(index),
                    list_pointer.clone(),
                    format!("{name} is empty, so the statement never applies: add {example}"),
                ));
            }
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) => entries.push(Entry {
                        value: s.clone(),
                        pointer: format!("{list_pointer}/{i}"),
                    }),
                    other => findings.push(structure(
                        Some(index),
                        format!("{list_pointer}/{i}"),
                        format!("{name} entries must be strings, not {other}"),
                    )),
                }
            }
        }
        other => findings.push(structure(
            Some(index),
            list_pointer.clone(),
            format!("{name} must be a string or an array of strings, not {other}: write {example}"),
        )),
    }
    (entries, negated, list_pointer)
}

pub(super) fn check_condition(
    index: usize,
    condition: &Value,
    pointer: &str,
    findings: &mut Vec<Finding>,
) {
    let Some(blocks) = condition.as_object() else {
        findings.push(structure(
            Some(index),
            pointer.to_string(),
            "Condition must be an object such as {\"StringEquals\": {\"iot:ClientId\": \"...\"}}"
                .to_string(),
        ));
        return;
    };
    for (operator, block) in blocks {
        let at = format!("{pointer}/{}", escape(operator));
        if !is_known_condition_operator(operator) {
            findings.push(Finding {
                rule: RULE_CONDITION_OPERATOR,
                severity: Severity::Error,
                message: format!("unknown condition operator {operator:?}: the statement never applies; use an IAM operator such as StringEquals, StringLike, ForAnyValue:StringLike, IpAddress or Bool (names are case-sensitive)"),
                statement: Some(index),
                pointer: at.clone(),
            });
        }
        if !block.is_object() {
            findings.push(structure(
                Some(index),
                at,
                format!("{operator} must map condition keys to values, e.g. {{\"{operator}\": {{\"aws:SourceIp\": \"203.0.113.0/24\"}}}}"),
            ));
        }
    }
}
