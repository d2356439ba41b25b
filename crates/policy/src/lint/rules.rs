//! The lint rules, each a function of the parsed document that adds its findings.

use super::parse::{covers, covers_every_iot_action, Policy};
use super::{
    Finding, Severity, RULE_ATTACH_POLICY, RULE_CLIENT_ID_VARIABLE, RULE_MQTT_WILDCARD,
    RULE_RESOURCE_TYPE, RULE_SUBSCRIBE_WITHOUT_RECEIVE, RULE_VERSION, RULE_WILDCARD_ACTION,
    RULE_WILDCARD_RESOURCE,
};
use crate::document::{Entry, List, Statement};
use crate::{
    action_matches, has_wildcards, pattern_covers_prefix, policy_variables, Effect, IotAction,
    KEY_IOT_CLIENT_ID, POLICY_VERSION,
};

// ---------------------------------------------------------------------------
// Resource patterns

/// `(service, resource part)` of an ARN pattern.
fn arn_parts(value: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, service, _, _, resource] => Some((service, resource)),
        _ => None,
    }
}

/// The resource type (`client`, `topic`, `topicfilter`, `thing`, ...) of an
/// AWS IoT ARN pattern, when it is fixed (no wildcard in the type).
fn resource_type(value: &str) -> Option<&str> {
    let (service, resource) = arn_parts(value)?;
    if service != "iot" {
        return None;
    }
    let (kind, _) = resource.split_once('/')?;
    if has_wildcards(kind) || kind.contains('$') {
        None
    } else {
        Some(kind)
    }
}

fn all_stars(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c == '*')
}

/// Whether a resource pattern covers every AWS IoT resource (of an account
/// or of all accounts): `*`, `arn:PARTITION:iot:*`, `arn:PARTITION:iot:*:*:*`,
/// `arn:PARTITION:iot:REGION:ACCOUNT:*`, ...
fn is_everything(value: &str) -> bool {
    let value = value.trim();
    if all_stars(value) {
        return true;
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    if parts.first() != Some(&"arn") || parts.len() < 2 {
        return false;
    }
    if let Some(service) = parts.get(2) {
        if !action_matches(service, "iot") {
            return false;
        }
    }
    parts.last().is_some_and(|last| all_stars(last))
}

/// Replaces the resource type of an ARN pattern.
fn with_type(value: &str, from: &str, to: &str) -> String {
    value.replacen(&format!(":{from}/"), &format!(":{to}/"), 1)
}

fn action_resource_type(action: &str) -> Option<&'static str> {
    if has_wildcards(action) {
        return None;
    }
    if let Some(a) = IotAction::parse(action) {
        return Some(a.resource_type());
    }
    match action.to_ascii_lowercase().as_str() {
        "iot:retainpublish" | "iot:getretainedmessage" => Some("topic"),
        "iot:getthingshadow"
        | "iot:updatethingshadow"
        | "iot:deletethingshadow"
        | "iot:listnamedshadowsforthing" => Some("thing"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Rules

pub(super) fn check_version(policy: &Policy, findings: &mut Vec<Finding>) {
    if !policy.uses_variables || policy.version == Some(POLICY_VERSION) {
        return;
    }
    let found = match &policy.version {
        Some(v) => format!("Version is {v:?}"),
        None => "Version is missing".to_string(),
    };
    findings.push(Finding {
        rule: RULE_VERSION,
        severity: Severity::Error,
        message: format!("the policy uses ${{...}} policy variables but {found}, so AWS matches them as literal text; add \"Version\": \"{POLICY_VERSION}\""),
        statement: None,
        pointer: "/Version".to_string(),
    });
}

const EXPLICIT_ACTIONS: &str =
    "[\"iot:Connect\", \"iot:Publish\", \"iot:Receive\", \"iot:Subscribe\"]";

pub(super) fn check_wildcard_action(policy: &Policy, findings: &mut Vec<Finding>) {
    for stmt in policy.statements.iter().filter(|s| s.allows()) {
        if stmt.action.negated {
            findings.push(Finding {
                rule: RULE_WILDCARD_ACTION,
                severity: Severity::Warning,
                message: format!("Allow with NotAction grants every action that is not listed, including AWS IoT control-plane actions; list the actions needed in Action instead, e.g. \"Action\": {EXPLICIT_ACTIONS}"),
                statement: Some(stmt.index),
                pointer: stmt.action.pointer.clone(),
            });
            continue;
        }
        let everywhere =
            !stmt.resource.negated && stmt.resource.entries.iter().any(|r| is_everything(r.value));
        for action in &stmt.action.entries {
            if !pattern_covers_prefix(action.value, "iot:", true) {
                continue;
            }
            let (severity, scope) = if everywhere {
                (Severity::Error, " on every resource")
            } else {
                (Severity::Warning, "")
            };
            findings.push(Finding {
                rule: RULE_WILDCARD_ACTION,
                severity,
                message: format!("Action {:?} grants every AWS IoT action{scope}, including control-plane actions such as iot:AttachPolicy and iot:DeleteThing; list only the actions needed, e.g. \"Action\": {EXPLICIT_ACTIONS}", action.value),
                statement: Some(stmt.index),
                pointer: action.pointer.clone(),
            });
        }
    }
}

fn resource_suggestions(stmt: &Statement) -> String {
    let mut out: Vec<&str> = Vec::new();
    for action in IotAction::ALL {
        if covers(stmt, action.as_str()).is_none() {
            continue;
        }
        let example = match action {
            IotAction::Connect => {
                "arn:PARTITION:iot:REGION:ACCOUNT:client/${iot:Connection.Thing.ThingName}"
            }
            IotAction::Publish | IotAction::Receive => {
                "arn:PARTITION:iot:REGION:ACCOUNT:topic/PREFIX/*"
            }
            IotAction::Subscribe => "arn:PARTITION:iot:REGION:ACCOUNT:topicfilter/PREFIX/*",
        };
        if !out.contains(&example) {
            out.push(example);
        }
    }
    if out.is_empty() {
        "the ARNs of the resources the statement needs".to_string()
    } else {
        out.join(", ")
    }
}

pub(super) fn check_wildcard_resource(policy: &Policy, findings: &mut Vec<Finding>) {
    for stmt in policy.statements.iter().filter(|s| s.allows()) {
        // The rule is about the client ids, topics and topic filters of the data plane: `*` is
        // the only resource some control-plane actions accept (iot:DescribeEndpoint), and says
        // nothing about AWS IoT in a statement for another service.
        if !IotAction::ALL
            .iter()
            .any(|a| covers(stmt, a.as_str()).is_some())
        {
            continue;
        }
        if stmt.resource.negated {
            findings.push(Finding {
                rule: RULE_WILDCARD_RESOURCE,
                severity: Severity::Warning,
                message: format!("Allow with NotResource applies to every resource that is not listed; list the resources in Resource instead, e.g. {}", resource_suggestions(stmt)),
                statement: Some(stmt.index),
                pointer: stmt.resource.pointer.clone(),
            });
            continue;
        }
        let severity = if covers_every_iot_action(stmt) {
            Severity::Error
        } else {
            Severity::Warning
        };
        for resource in stmt
            .resource
            .entries
            .iter()
            .filter(|r| is_everything(r.value))
        {
            findings.push(Finding {
                rule: RULE_WILDCARD_RESOURCE,
                severity,
                message: format!("Resource {:?} applies to every client id, topic and topic filter; scope it to what the statement needs, e.g. {}", resource.value, resource_suggestions(stmt)),
                statement: Some(stmt.index),
                pointer: resource.pointer.clone(),
            });
        }
    }
}

const ATTACH_ACTIONS: [&str; 2] = ["iot:AttachPolicy", "iot:AttachPrincipalPolicy"];

/// What an `identity-attach-policy` grant allows; follows the grant in the finding's message.
const ATTACH_RISK: &str =
    ": any identity can attach any policy to any target, e.g. an iot:* policy to its own identity id";

/// The stack opts in to identities attaching AWS IoT policies themselves
/// (`settings.allow_identity_self_attach: true`): an `identity-attach-policy`
/// finding becomes a warning that says so and what the risk is. Other
/// findings are returned unchanged.
pub fn self_attach_opted_in(mut f: Finding) -> Finding {
    if f.rule != RULE_ATTACH_POLICY {
        return f;
    }
    let grant = f
        .message
        .split_once(ATTACH_RISK)
        .map_or(f.message.as_str(), |(grant, _)| grant);
    f.message = format!("{grant}, and the stack opts in to this (`settings.allow_identity_self_attach: true`): any signed-in identity can attach any AWS IoT policy to any target, e.g. an iot:* policy to its own identity id, and so gain every IoT permission; remove the setting and the grant once a trusted backend attaches the policies");
    f.severity = Severity::Warning;
    f
}

pub(super) fn check_attach_policy(policy: &Policy, findings: &mut Vec<Finding>) {
    let denied = |action: &str| {
        policy.statements.iter().any(|s| {
            s.effect == Ok(Effect::Deny)
                && s.condition.is_none()
                && !s.resource.negated
                && s.resource.entries.iter().any(|r| is_everything(r.value))
                && covers(s, action).is_some()
        })
    };
    for stmt in policy.statements.iter().filter(|s| s.allows()) {
        let Some((action, pointer)) = ATTACH_ACTIONS
            .iter()
            .filter(|a| !denied(a))
            .find_map(|a| covers(stmt, a).map(|p| (*a, p.to_string())))
        else {
            continue;
        };
        let how = if stmt.action.negated {
            "NotAction does not exclude it".to_string()
        } else {
            let entry = stmt
                .action
                .entries
                .iter()
                .find(|a| a.pointer == pointer)
                .map_or(action, |a| a.value);
            format!("Action {entry:?} covers it")
        };
        findings.push(Finding {
            rule: RULE_ATTACH_POLICY,
            severity: Severity::Error,
            message: format!("the identity pool role is granted {action} ({how}){ATTACH_RISK}; remove it and list only the data-plane actions, e.g. \"Action\": {EXPLICIT_ACTIONS}, then attach AWS IoT policies to identities from a trusted backend"),
            statement: Some(stmt.index),
            pointer,
        });
    }
}

fn is_specific_client(value: &str) -> bool {
    let Some((_, resource)) = arn_parts(value) else {
        return false;
    };
    let Some(client) = resource.strip_prefix("client/") else {
        return false;
    };
    !client.is_empty()
        && !has_wildcards(client)
        && !policy_variables(client)
            .iter()
            .any(|v| v.eq_ignore_ascii_case(KEY_IOT_CLIENT_ID))
}

pub(super) fn check_client_id_variable(policy: &Policy, findings: &mut Vec<Finding>) {
    let connects: Vec<&Statement> = policy
        .statements
        .iter()
        .filter(|s| s.allows() && covers(s, IotAction::Connect.as_str()).is_some())
        .collect();
    let restricted = !connects.is_empty()
        && connects.iter().all(|s| {
            !s.resource.negated
                && !s.resource.entries.is_empty()
                && s.resource
                    .entries
                    .iter()
                    .all(|r| is_specific_client(r.value))
        });
    if restricted {
        return;
    }
    for stmt in policy.statements.iter().filter(|s| s.allows()) {
        for resource in &stmt.resource.entries {
            if !matches!(resource_type(resource.value), Some("topic" | "topicfilter")) {
                continue;
            }
            let uses_client_id = policy_variables(resource.value)
                .iter()
                .any(|v| v.eq_ignore_ascii_case(KEY_IOT_CLIENT_ID));
            if !uses_client_id {
                continue;
            }
            findings.push(Finding {
                rule: RULE_CLIENT_ID_VARIABLE,
                severity: Severity::Warning,
                message: format!("{:?} uses ${{iot:ClientId}}, but no iot:Connect statement restricts the client id, so a client can connect with any client id (another device's, or + and # to widen a topic filter) and the variable scopes nothing; allow iot:Connect only on specific client ids such as client/${{iot:Connection.Thing.ThingName}} (devices) or client/${{cognito-identity.amazonaws.com:sub}} (Cognito identities), or use that variable in the topic instead", resource.value),
                statement: Some(stmt.index),
                pointer: resource.pointer.clone(),
            });
        }
    }
}

pub(super) fn check_mqtt_wildcards(policy: &Policy, findings: &mut Vec<Finding>) {
    for stmt in &policy.statements {
        for resource in &stmt.resource.entries {
            let part = arn_parts(resource.value).map_or(resource.value, |(_, r)| r);
            let found: Vec<&str> = [("+", '+'), ("#", '#')]
                .iter()
                .filter(|(_, c)| part.contains(*c))
                .map(|(s, _)| *s)
                .collect();
            if found.is_empty() {
                continue;
            }
            let suggested = resource.value.replace(['+', '#'], "*");
            findings.push(Finding {
                rule: RULE_MQTT_WILDCARD,
                severity: Severity::Warning,
                message: format!("{:?} contains the MQTT wildcard {}, which is a literal character in policies: topic/a/+ matches only the topic literally named a/+ (and topicfilter/a/# only the filter a/# itself); use * to match any topic levels: {suggested:?}", resource.value, found.join(" and ")),
                statement: Some(stmt.index),
                pointer: resource.pointer.clone(),
            });
        }
    }
}

fn type_hint(kind: &str) -> &'static str {
    match kind {
        "client" => "iot:Connect is authorized against client/<client id>",
        "topic" => "iot:Publish and iot:Receive are authorized against topic/<topic>",
        "topicfilter" => "iot:Subscribe is authorized against topicfilter/<topic filter>",
        _ => "thing shadow actions are authorized against thing/<thing name>",
    }
}

/// Each entry of `list` with the resource type `type_of` finds in it.
fn typed<'a>(
    list: &'a List<'a>,
    type_of: fn(&'a str) -> Option<&'a str>,
) -> Vec<(&'a Entry<'a>, Option<&'a str>)> {
    list.entries.iter().map(|e| (e, type_of(e.value))).collect()
}

pub(super) fn check_resource_types(policy: &Policy, findings: &mut Vec<Finding>) {
    for stmt in &policy.statements {
        if stmt.action.negated || stmt.resource.negated || stmt.action.entries.is_empty() {
            continue;
        }
        let actions = typed(&stmt.action, action_resource_type);
        let resources = typed(&stmt.resource, resource_type);
        let any_action = actions.iter().any(|(_, t)| t.is_none());
        let action_types: Vec<&str> = actions.iter().filter_map(|(_, t)| *t).collect();
        let live = |t: Option<&str>| match t {
            None => true,
            Some(t) => any_action || action_types.contains(&t),
        };

        for (resource, kind) in &resources {
            let Some(kind) = kind else { continue };
            if live(Some(kind)) {
                continue;
            }
            let wanted = action_types.first().copied().unwrap_or("topic");
            let names: Vec<&str> = actions.iter().map(|(a, _)| a.value).collect();
            findings.push(Finding {
                rule: RULE_RESOURCE_TYPE,
                severity: Severity::Error,
                message: format!(
                    "{:?} is a {kind}/ resource, which {} never matches ({}); write {:?}",
                    resource.value,
                    names.join(", "),
                    type_hint(wanted),
                    with_type(resource.value, kind, wanted)
                ),
                statement: Some(stmt.index),
                pointer: resource.pointer.clone(),
            });
        }

        let live_resources: Vec<(&Entry, Option<&str>)> = resources
            .iter()
            .copied()
            .filter(|(_, t)| live(*t))
            .collect();
        if live_resources.is_empty() || live_resources.iter().any(|(_, t)| t.is_none()) {
            continue;
        }
        for (action, kind) in &actions {
            let Some(kind) = kind else { continue };
            if resources.iter().any(|(_, t)| *t == Some(kind)) {
                continue;
            }
            let (example, from) = live_resources[0];
            let suggested = from.map_or_else(
                || format!("arn:PARTITION:iot:REGION:ACCOUNT:{kind}/..."),
                |from| with_type(example.value, from, kind),
            );
            findings.push(Finding {
                rule: RULE_RESOURCE_TYPE,
                severity: Severity::Error,
                message: format!("{:?} never matches in this statement: {}, and the statement lists no {kind}/ resource; add {suggested:?} or move the action to its own statement", action.value, type_hint(kind)),
                statement: Some(stmt.index),
                pointer: action.pointer.clone(),
            });
        }
    }
}

pub(super) fn check_subscribe_without_receive(policy: &Policy, findings: &mut Vec<Finding>) {
    let receive = IotAction::Receive.as_str();
    if policy
        .statements
        .iter()
        .any(|s| s.allows() && covers(s, receive).is_some())
    {
        return;
    }
    let subscribe = IotAction::Subscribe.as_str();
    let mut first: Option<(usize, String)> = None;
    let mut topics: Vec<String> = Vec::new();
    for stmt in policy.statements.iter().filter(|s| s.allows()) {
        let Some(pointer) = covers(stmt, subscribe) else {
            continue;
        };
        let filters: Vec<&Entry> = stmt
            .resource
            .entries
            .iter()
            .filter(|r| matches!(resource_type(r.value), Some("topicfilter") | None))
            .collect();
        if !stmt.resource.negated && filters.is_empty() {
            continue;
        }
        first.get_or_insert((stmt.index, pointer.to_string()));
        for filter in filters {
            let topic = if resource_type(filter.value) == Some("topicfilter") {
                with_type(filter.value, "topicfilter", "topic")
            } else {
                "arn:PARTITION:iot:REGION:ACCOUNT:topic/PREFIX/*".to_string()
            };
            if !topics.contains(&topic) {
                topics.push(topic);
            }
        }
    }
    let Some((index, pointer)) = first else {
        return;
    };
    if topics.is_empty() {
        topics.push("arn:PARTITION:iot:REGION:ACCOUNT:topic/PREFIX/*".to_string());
    }
    findings.push(Finding {
        rule: RULE_SUBSCRIBE_WITHOUT_RECEIVE,
        severity: Severity::Error,
        message: format!("subscribers will not receive messages: iot:Subscribe is granted but no statement grants iot:Receive, which AWS IoT checks for every message it delivers; add iot:Receive on {}", topics.join(", ")),
        statement: Some(index),
        pointer,
    });
}
