//! Lint rules for AWS IoT policies and for the IAM policies of Cognito
//! identity pool roles.
//!
//! Every [`Finding`] carries a stable rule id, a severity, a message that
//! says what is wrong and what to write instead, the zero-based statement
//! index and a JSON pointer (RFC 6901) into the document, such as
//! `/Statement/0/Resource/1`. A pointer to a missing element (e.g.
//! `/Statement/0/Effect`) names where it should be added.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use super::eval::{self, Effect, IotAction, POLICY_VERSION};

/// The document is not a valid policy (no `Statement`, bad `Effect`,
/// missing `Action` or `Resource`, unknown element, wrong JSON type).
pub const RULE_STRUCTURE: &str = "policy-structure";
/// Policy variables are used but `Version` is not `2012-10-17`.
pub const RULE_VERSION: &str = "policy-version";
/// A `Condition` uses an operator that does not exist.
pub const RULE_CONDITION_OPERATOR: &str = "unknown-condition-operator";
/// `iot:*`, `*` (or another pattern covering every IoT action), or
/// `NotAction`, in an `Allow` statement.
pub const RULE_WILDCARD_ACTION: &str = "iot-wildcard-action";
/// `*` (or `arn:PARTITION:iot:*:*:*` and the like), or `NotResource`, in an
/// `Allow` statement.
pub const RULE_WILDCARD_RESOURCE: &str = "iot-wildcard-resource";
/// An identity policy grants `iot:AttachPolicy` (directly or by wildcard).
pub const RULE_ATTACH_POLICY: &str = "identity-attach-policy";
/// `${iot:ClientId}` scopes a topic while `iot:Connect` does not restrict
/// the client id.
pub const RULE_CLIENT_ID_VARIABLE: &str = "unscoped-client-id-variable";
/// MQTT `+` or `#` in a resource, where they are literal characters.
pub const RULE_MQTT_WILDCARD: &str = "mqtt-wildcard-in-resource";
/// A resource type that none of the statement's actions is authorized
/// against (`topic/` for `iot:Subscribe`, `topicfilter/` for
/// `iot:Publish` / `iot:Receive`, ...), or an action with no resource of
/// its type.
pub const RULE_RESOURCE_TYPE: &str = "resource-type-mismatch";
/// `iot:Subscribe` is granted but `iot:Receive` is not.
pub const RULE_SUBSCRIBE_WITHOUT_RECEIVE: &str = "subscribe-without-receive";

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Severity {
    /// Probably unintended or too broad; the policy still works.
    Warning,
    /// The policy is invalid, never matches as intended, or is unsafe.
    Error,
}

impl Severity {
    /// `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule id, one of the `RULE_*` constants.
    pub rule: &'static str,
    /// Severity.
    pub severity: Severity,
    /// What is wrong and what to write instead.
    pub message: String,
    /// Zero-based index of the statement concerned, if any.
    pub statement: Option<usize>,
    /// JSON pointer into the document.
    pub pointer: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(document)"
        } else {
            &self.pointer
        };
        write!(
            f,
            "{}[{}] {}: {}",
            self.severity, self.rule, pointer, self.message
        )
    }
}

/// Whether any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// Lints an AWS IoT policy (attached to certificates, thing groups or
/// Cognito identities): every rule of [`lint_common`].
pub fn lint_iot_policy(doc: &Value) -> Vec<Finding> {
    lint_common(doc)
}

/// Lints an IAM policy attached to a Cognito identity pool role: every rule
/// of [`lint_common`], plus `identity-attach-policy`.
pub fn lint_identity_policy(doc: &Value) -> Vec<Finding> {
    lint_with(doc, Flavor::Identity)
}

/// Lints a role's trust policy: the rules of [`lint_common`], except that
/// each statement names a `Principal` (who may assume the role) and has no
/// `Resource` (the role is the resource).
pub fn lint_trust_policy(doc: &Value) -> Vec<Finding> {
    lint_with(doc, Flavor::Trust)
}

/// Lints a resource-based policy (a secret's resource policy, say): the
/// rules of [`lint_common`], except that each statement names a `Principal`.
pub fn lint_resource_policy(doc: &Value) -> Vec<Finding> {
    lint_with(doc, Flavor::Resource)
}

/// What a policy is attached to, which decides the elements its statements
/// need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// An AWS IoT policy, or an IAM policy attached to a role or user.
    Iot,
    /// An IAM policy attached to a Cognito identity pool role.
    Identity,
    /// A role's trust policy: Principal, no Resource.
    Trust,
    /// A resource-based policy: Principal and Resource.
    Resource,
}

impl Flavor {
    fn has_principal(self) -> bool {
        matches!(self, Flavor::Trust | Flavor::Resource)
    }
}

/// The rules shared by IoT and identity policies: `policy-structure`,
/// `policy-version`, `unknown-condition-operator`, `iot-wildcard-action`,
/// `iot-wildcard-resource`, `unscoped-client-id-variable`,
/// `mqtt-wildcard-in-resource`, `resource-type-mismatch` and
/// `subscribe-without-receive`.
///
/// `doc` is the parsed document or a JSON string holding it.
pub fn lint_common(doc: &Value) -> Vec<Finding> {
    lint_with(doc, Flavor::Iot)
}

fn lint_with(doc: &Value, flavor: Flavor) -> Vec<Finding> {
    let mut findings = Vec::new();
    let parsed_text;
    let doc = match doc {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(value) => {
                parsed_text = value;
                &parsed_text
            }
            Err(err) => {
                findings.push(structure(
                    None,
                    String::new(),
                    format!("the policy document is not valid JSON ({err}); write a JSON object with \"Version\": \"2012-10-17\" and a \"Statement\" array"),
                ));
                return findings;
            }
        },
        other => other,
    };
    if let Some(policy) = parse(doc, flavor, &mut findings) {
        check_version(&policy, &mut findings);
        check_wildcard_action(&policy, &mut findings);
        check_wildcard_resource(&policy, &mut findings);
        if flavor == Flavor::Identity {
            check_attach_policy(&policy, &mut findings);
        }
        check_client_id_variable(&policy, &mut findings);
        check_mqtt_wildcards(&policy, &mut findings);
        check_resource_types(&policy, &mut findings);
        check_subscribe_without_receive(&policy, &mut findings);
    }
    findings.sort_by_key(|f| f.statement.map_or(0, |i| i + 1));
    findings
}

// ---------------------------------------------------------------------------
// Parsing

struct Entry {
    value: String,
    pointer: String,
}

struct Stmt {
    index: usize,
    effect: Option<Effect>,
    has_condition: bool,
    actions: Vec<Entry>,
    not_action: bool,
    action_pointer: String,
    resources: Vec<Entry>,
    not_resource: bool,
    resource_pointer: String,
}

impl Stmt {
    fn allows(&self) -> bool {
        self.effect == Some(Effect::Allow)
    }

    /// Pointer to the element through which the statement covers `action`
    /// (the matching `Action` entry, or `NotAction` when it does not list
    /// it), if it does.
    fn covers(&self, action: &str) -> Option<&str> {
        if self.not_action {
            if self.actions.is_empty()
                || self
                    .actions
                    .iter()
                    .any(|a| eval::action_matches(&a.value, action))
            {
                return None;
            }
            return Some(&self.action_pointer);
        }
        self.actions
            .iter()
            .find(|a| eval::action_matches(&a.value, action))
            .map(|a| a.pointer.as_str())
    }

    fn covers_every_iot_action(&self) -> bool {
        self.not_action
            || self
                .actions
                .iter()
                .any(|a| eval::pattern_covers_prefix(&a.value, "iot:", true))
    }
}

struct Policy {
    version: Option<String>,
    uses_variables: bool,
    statements: Vec<Stmt>,
}

const STATEMENT_ELEMENTS: [&str; 9] = [
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

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn structure(statement: Option<usize>, pointer: String, message: String) -> Finding {
    Finding {
        rule: RULE_STRUCTURE,
        severity: Severity::Error,
        message,
        statement,
        pointer,
    }
}

fn parse(doc: &Value, flavor: Flavor, findings: &mut Vec<Finding>) -> Option<Policy> {
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

fn parse_statement(
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
            "{\"AWS\": \"arn:PARTITION:iam::ACCOUNT:root\"} or \"*\""
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

fn parse_list(
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
        "\"Resource\": [\"arn:PARTITION:iot:REGION:ACCOUNT:client/...\"]"
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

fn check_condition(index: usize, condition: &Value, pointer: &str, findings: &mut Vec<Finding>) {
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
        if !eval::is_known_condition_operator(operator) {
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

// ---------------------------------------------------------------------------
// Resource helpers

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
    if eval::has_wildcards(kind) || kind.contains('$') {
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
        if !eval::action_matches(service, "iot") {
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
    if eval::has_wildcards(action) {
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

fn check_version(policy: &Policy, findings: &mut Vec<Finding>) {
    if !policy.uses_variables || policy.version.as_deref() == Some(POLICY_VERSION) {
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

fn check_wildcard_action(policy: &Policy, findings: &mut Vec<Finding>) {
    for stmt in policy.statements.iter().filter(|s| s.allows()) {
        if stmt.not_action {
            findings.push(Finding {
                rule: RULE_WILDCARD_ACTION,
                severity: Severity::Warning,
                message: format!("Allow with NotAction grants every action that is not listed, including AWS IoT control-plane actions; list the actions needed in Action instead, e.g. \"Action\": {EXPLICIT_ACTIONS}"),
                statement: Some(stmt.index),
                pointer: stmt.action_pointer.clone(),
            });
            continue;
        }
        let everywhere =
            !stmt.not_resource && stmt.resources.iter().any(|r| is_everything(&r.value));
        for action in &stmt.actions {
            if !eval::pattern_covers_prefix(&action.value, "iot:", true) {
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

fn resource_suggestions(stmt: &Stmt) -> String {
    let mut out: Vec<&str> = Vec::new();
    for action in IotAction::ALL {
        if stmt.covers(action.as_str()).is_none() {
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

fn check_wildcard_resource(policy: &Policy, findings: &mut Vec<Finding>) {
    for stmt in policy.statements.iter().filter(|s| s.allows()) {
        // The rule is about the client ids, topics and topic filters of the data plane: `*` is
        // the only resource some control-plane actions accept (iot:DescribeEndpoint), and says
        // nothing about AWS IoT in a statement for another service.
        if !IotAction::ALL
            .iter()
            .any(|a| stmt.covers(a.as_str()).is_some())
        {
            continue;
        }
        if stmt.not_resource {
            findings.push(Finding {
                rule: RULE_WILDCARD_RESOURCE,
                severity: Severity::Warning,
                message: format!("Allow with NotResource applies to every resource that is not listed; list the resources in Resource instead, e.g. {}", resource_suggestions(stmt)),
                statement: Some(stmt.index),
                pointer: stmt.resource_pointer.clone(),
            });
            continue;
        }
        let severity = if stmt.covers_every_iot_action() {
            Severity::Error
        } else {
            Severity::Warning
        };
        for resource in stmt.resources.iter().filter(|r| is_everything(&r.value)) {
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

fn check_attach_policy(policy: &Policy, findings: &mut Vec<Finding>) {
    let denied = |action: &str| {
        policy.statements.iter().any(|s| {
            s.effect == Some(Effect::Deny)
                && !s.has_condition
                && !s.not_resource
                && s.resources.iter().any(|r| is_everything(&r.value))
                && s.covers(action).is_some()
        })
    };
    for stmt in policy.statements.iter().filter(|s| s.allows()) {
        let Some((action, pointer)) = ATTACH_ACTIONS
            .iter()
            .filter(|a| !denied(a))
            .find_map(|a| stmt.covers(a).map(|p| (*a, p.to_string())))
        else {
            continue;
        };
        let how = if stmt.not_action {
            "NotAction does not exclude it".to_string()
        } else {
            let entry = stmt
                .actions
                .iter()
                .find(|a| a.pointer == pointer)
                .map_or(action, |a| a.value.as_str());
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
        && !eval::has_wildcards(client)
        && !eval::policy_variables(client)
            .iter()
            .any(|v| v.eq_ignore_ascii_case(eval::KEY_IOT_CLIENT_ID))
}

fn check_client_id_variable(policy: &Policy, findings: &mut Vec<Finding>) {
    let connects: Vec<&Stmt> = policy
        .statements
        .iter()
        .filter(|s| s.allows() && s.covers(IotAction::Connect.as_str()).is_some())
        .collect();
    let restricted = !connects.is_empty()
        && connects.iter().all(|s| {
            !s.not_resource
                && !s.resources.is_empty()
                && s.resources.iter().all(|r| is_specific_client(&r.value))
        });
    if restricted {
        return;
    }
    for stmt in policy.statements.iter().filter(|s| s.allows()) {
        for resource in &stmt.resources {
            if !matches!(
                resource_type(&resource.value),
                Some("topic" | "topicfilter")
            ) {
                continue;
            }
            let uses_client_id = eval::policy_variables(&resource.value)
                .iter()
                .any(|v| v.eq_ignore_ascii_case(eval::KEY_IOT_CLIENT_ID));
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

fn check_mqtt_wildcards(policy: &Policy, findings: &mut Vec<Finding>) {
    for stmt in &policy.statements {
        for resource in &stmt.resources {
            let part = arn_parts(&resource.value).map_or(resource.value.as_str(), |(_, r)| r);
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

fn check_resource_types(policy: &Policy, findings: &mut Vec<Finding>) {
    for stmt in &policy.statements {
        if stmt.not_action || stmt.not_resource || stmt.actions.is_empty() {
            continue;
        }
        let actions: Vec<(&Entry, Option<&str>)> = stmt
            .actions
            .iter()
            .map(|a| (a, action_resource_type(&a.value)))
            .collect();
        let resources: Vec<(&Entry, Option<&str>)> = stmt
            .resources
            .iter()
            .map(|r| (r, resource_type(&r.value)))
            .collect();
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
            let names: Vec<&str> = actions.iter().map(|(a, _)| a.value.as_str()).collect();
            findings.push(Finding {
                rule: RULE_RESOURCE_TYPE,
                severity: Severity::Error,
                message: format!(
                    "{:?} is a {kind}/ resource, which {} never matches ({}); write {:?}",
                    resource.value,
                    names.join(", "),
                    type_hint(wanted),
                    with_type(&resource.value, kind, wanted)
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
                |from| with_type(&example.value, from, kind),
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

fn check_subscribe_without_receive(policy: &Policy, findings: &mut Vec<Finding>) {
    let receive = IotAction::Receive.as_str();
    if policy
        .statements
        .iter()
        .any(|s| s.allows() && s.covers(receive).is_some())
    {
        return;
    }
    let subscribe = IotAction::Subscribe.as_str();
    let mut first: Option<(usize, String)> = None;
    let mut topics: Vec<String> = Vec::new();
    for stmt in policy.statements.iter().filter(|s| s.allows()) {
        let Some(pointer) = stmt.covers(subscribe) else {
            continue;
        };
        let filters: Vec<&Entry> = stmt
            .resources
            .iter()
            .filter(|r| matches!(resource_type(&r.value), Some("topicfilter") | None))
            .collect();
        if !stmt.not_resource && filters.is_empty() {
            continue;
        }
        first.get_or_insert((stmt.index, pointer.to_string()));
        for filter in filters {
            let topic = if resource_type(&filter.value) == Some("topicfilter") {
                with_type(&filter.value, "topicfilter", "topic")
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const POOL: &str = "us-east-1:6a1b8c2d-0000-4000-8000-000000000001";

    fn arn(resource: &str) -> String {
        format!("arn:aws:iot:us-east-1:123456789012:{resource}")
    }

    fn doc(statements: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    fn rules(findings: &[Finding]) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = findings.iter().map(|f| f.rule).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    fn find<'a>(findings: &'a [Finding], rule: &str) -> &'a Finding {
        match findings.iter().find(|f| f.rule == rule) {
            Some(f) => f,
            None => panic!("no {rule} finding in {findings:#?}"),
        }
    }

    fn identity_iot_policy() -> Value {
        doc(json!([
            {"Effect": "Allow", "Action": "iot:Connect",
             "Resource": arn("client/${cognito-identity.amazonaws.com:sub}")},
            {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
             "Resource": arn(&format!("topic/{POOL}/${{cognito-identity.amazonaws.com:sub}}/*"))},
            {"Effect": "Allow", "Action": "iot:Subscribe",
             "Resource": arn(&format!("topicfilter/{POOL}/${{cognito-identity.amazonaws.com:sub}}/*"))}
        ]))
    }

    fn device_policy() -> Value {
        doc(json!([
            {"Effect": "Allow", "Action": "iot:Connect",
             "Resource": arn("client/${iot:Connection.Thing.ThingName}")},
            {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
             "Resource": [arn("topic/P/devices/${iot:Connection.Thing.ThingName}/*"), arn("topic/P/alerts")]},
            {"Effect": "Allow", "Action": "iot:Subscribe",
             "Resource": arn("topicfilter/P/devices/${iot:Connection.Thing.ThingName}/*")}
        ]))
    }

    #[test]
    fn seed_device_policy_allow_everything() {
        let seed = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]});
        let findings = lint_iot_policy(&seed);
        assert_eq!(
            rules(&findings),
            vec![RULE_WILDCARD_ACTION, RULE_WILDCARD_RESOURCE],
            "{findings:#?}"
        );
        let action = find(&findings, RULE_WILDCARD_ACTION);
        assert_eq!(
            (action.severity, action.statement, action.pointer.as_str()),
            (Severity::Error, Some(0), "/Statement/0/Action")
        );
        assert!(action.message.contains("iot:Connect"));
        let resource = find(&findings, RULE_WILDCARD_RESOURCE);
        assert_eq!(
            (resource.severity, resource.pointer.as_str()),
            (Severity::Error, "/Statement/0/Resource")
        );
        assert!(has_errors(&findings));
    }

    #[test]
    fn seed_authenticated_role_policy() {
        let seed = doc(json!([{
            "Effect": "Allow",
            "Action": ["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:AttachPolicy"],
            "Resource": "*"
        }]));
        let findings = lint_identity_policy(&seed);
        assert_eq!(
            rules(&findings),
            vec![
                RULE_ATTACH_POLICY,
                RULE_WILDCARD_RESOURCE,
                RULE_SUBSCRIBE_WITHOUT_RECEIVE
            ],
            "{findings:#?}"
        );
        let attach = find(&findings, RULE_ATTACH_POLICY);
        assert_eq!(
            (attach.severity, attach.pointer.as_str()),
            (Severity::Error, "/Statement/0/Action/3")
        );
        assert!(attach
            .message
            .contains("any identity can attach any policy to any target"));
        let receive = find(&findings, RULE_SUBSCRIBE_WITHOUT_RECEIVE);
        assert_eq!(
            (receive.severity, receive.pointer.as_str()),
            (Severity::Error, "/Statement/0/Action/2")
        );
        assert!(receive.message.contains("add iot:Receive on"));
        assert_eq!(
            find(&findings, RULE_WILDCARD_RESOURCE).severity,
            Severity::Warning
        );

        // The same grants written as one statement per action.
        let split = doc(json!([
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"},
            {"Effect": "Allow", "Action": "iot:Publish", "Resource": "*"},
            {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "*"},
            {"Effect": "Allow", "Action": "iot:AttachPolicy", "Resource": "*"}
        ]));
        let findings = lint_identity_policy(&split);
        assert_eq!(
            rules(&findings),
            vec![
                RULE_ATTACH_POLICY,
                RULE_WILDCARD_RESOURCE,
                RULE_SUBSCRIBE_WITHOUT_RECEIVE
            ]
        );
        assert_eq!(
            find(&findings, RULE_ATTACH_POLICY).pointer,
            "/Statement/3/Action"
        );
        assert_eq!(
            find(&findings, RULE_SUBSCRIBE_WITHOUT_RECEIVE).statement,
            Some(2)
        );
    }

    #[test]
    fn default_stack_policies_lint_clean() {
        assert_eq!(lint_iot_policy(&identity_iot_policy()), vec![]);
        assert_eq!(lint_identity_policy(&identity_iot_policy()), vec![]);
        assert_eq!(lint_iot_policy(&device_policy()), vec![]);
        let as_text = Value::String(device_policy().to_string());
        assert_eq!(lint_iot_policy(&as_text), vec![]);
    }

    #[test]
    fn structure_errors_point_at_the_problem() {
        let cases = [
            (json!({"Version": "2012-10-17"}), "/Statement"),
            (json!([]), ""),
            (
                json!({"Version": "2012-10-17", "Statement": "x"}),
                "/Statement",
            ),
            (
                doc(json!([{"Action": "iot:Connect", "Resource": "*"}])),
                "/Statement/0/Effect",
            ),
            (
                doc(json!([{"Effect": "allow", "Action": "iot:Connect", "Resource": "*"}])),
                "/Statement/0/Effect",
            ),
            (
                doc(json!([{"Effect": "Allow", "Resource": "*"}])),
                "/Statement/0/Action",
            ),
            (
                doc(json!([{"Effect": "Allow", "Action": "iot:Connect"}])),
                "/Statement/0/Resource",
            ),
            (
                doc(
                    json!([{"Effect": "Allow", "Action": "iot:Connect", "NotAction": "iot:Publish", "Resource": "*"}]),
                ),
                "/Statement/0/NotAction",
            ),
            (
                doc(json!([{"Effect": "Allow", "Action": ["iot:Connect", 7], "Resource": "*"}])),
                "/Statement/0/Action/1",
            ),
            (
                doc(json!([{"Effect": "Allow", "Action": [], "Resource": "*"}])),
                "/Statement/0/Action",
            ),
            (
                doc(json!([{"Effect": "Allow", "Action": "iot:Connect", "Resources": "*"}])),
                "/Statement/0/Resources",
            ),
            (
                doc(
                    json!([{"Effect": "Allow", "Principal": "*", "Action": "iot:Connect", "Resource": arn("client/c1")}]),
                ),
                "/Statement/0/Principal",
            ),
            (doc(json!(["not a statement"])), "/Statement/0"),
            (
                json!({"Version": "2012-10-18", "Statement": []}),
                "/Version",
            ),
            (Value::String("{oops".to_string()), ""),
        ];
        for (policy, pointer) in cases {
            let findings = lint_common(&policy);
            let hit = findings
                .iter()
                .find(|f| f.rule == RULE_STRUCTURE && f.pointer == pointer);
            assert!(
                hit.is_some_and(|f| f.severity == Severity::Error),
                "{policy}: {findings:#?}"
            );
        }
        let findings = lint_common(&doc(json!([{"Effect": "Allow", "Resource": "*"}])));
        assert_eq!(find(&findings, RULE_STRUCTURE).statement, Some(0));
        assert!(find(&findings, RULE_STRUCTURE)
            .message
            .contains("Action is missing"));
    }

    #[test]
    fn variables_need_version_2012() {
        let policy = json!({"Statement": [{"Effect": "Allow", "Action": "iot:Connect",
            "Resource": arn("client/${iot:Connection.Thing.ThingName}")}]});
        let findings = lint_iot_policy(&policy);
        assert_eq!(rules(&findings), vec![RULE_VERSION]);
        assert_eq!(find(&findings, RULE_VERSION).pointer, "/Version");
    }

    #[test]
    fn unknown_condition_operator() {
        let policy = doc(
            json!([{"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client/c1"),
            "Condition": {"StringEqualz": {"iot:ClientId": "c1"}, "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}}}]),
        );
        let findings = lint_iot_policy(&policy);
        assert_eq!(rules(&findings), vec![RULE_CONDITION_OPERATOR]);
        assert_eq!(
            find(&findings, RULE_CONDITION_OPERATOR).pointer,
            "/Statement/0/Condition/StringEqualz"
        );
    }

    #[test]
    fn wildcard_actions() {
        // Scoped resource: a warning, not an error.
        let policy = doc(
            json!([{"Effect": "Allow", "Action": ["iot:Connect", "io?:*"], "Resource": arn("client/c1")}]),
        );
        let findings = lint_iot_policy(&policy);
        let f = find(&findings, RULE_WILDCARD_ACTION);
        assert_eq!(
            (f.severity, f.pointer.as_str()),
            (Severity::Warning, "/Statement/0/Action/1")
        );

        let policy =
            doc(json!([{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:iot:*:*:*"}]));
        let findings = lint_iot_policy(&policy);
        assert_eq!(
            find(&findings, RULE_WILDCARD_ACTION).severity,
            Severity::Error
        );
        assert_eq!(
            find(&findings, RULE_WILDCARD_RESOURCE).severity,
            Severity::Error
        );

        // A partial wildcard and a Deny are fine.
        let policy = doc(json!([
            {"Effect": "Allow", "Action": "iot:Pub*", "Resource": arn("topic/a")},
            {"Effect": "Deny", "Action": "iot:*", "Resource": "*"}
        ]));
        assert_eq!(lint_iot_policy(&policy), vec![]);

        let policy = doc(
            json!([{"Effect": "Allow", "NotAction": "iot:Publish", "Resource": arn("topic/a")}]),
        );
        let findings = lint_iot_policy(&policy);
        assert_eq!(
            find(&findings, RULE_WILDCARD_ACTION).pointer,
            "/Statement/0/NotAction"
        );
    }

    #[test]
    fn wildcard_resources() {
        for resource in [
            "*",
            "arn:aws:iot:*",
            "arn:aws:iot:*:*:*",
            "arn:aws:iot:us-east-1:123456789012:*",
        ] {
            let policy =
                doc(json!([{"Effect": "Allow", "Action": "iot:Connect", "Resource": resource}]));
            let findings = lint_iot_policy(&policy);
            let f = find(&findings, RULE_WILDCARD_RESOURCE);
            assert_eq!(f.severity, Severity::Warning, "{resource}");
            assert!(
                f.message
                    .contains("client/${iot:Connection.Thing.ThingName}"),
                "{}",
                f.message
            );
        }
        let policy = doc(
            json!([{"Effect": "Allow", "Action": "iot:Publish", "Resource": [arn("topic/a/*"), "arn:aws:s3:::*"]}]),
        );
        assert!(lint_iot_policy(&policy)
            .iter()
            .all(|f| f.rule != RULE_WILDCARD_RESOURCE));
    }

    #[test]
    fn wildcard_resource_only_concerns_the_data_plane() {
        // Control-plane actions and other services: `*` is not an IoT data-plane grant.
        let policy = doc(json!([
            {"Effect": "Allow", "Action": "iot:AttachPolicy", "Resource": "*"},
            {"Effect": "Allow", "Action": "iot:DescribeEndpoint", "Resource": "*"},
            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "NotResource": "arn:aws:logs:*:*:log-group:x"}
        ]));
        assert_eq!(lint_common(&policy), vec![]);
        // Data-plane actions, directly or by wildcard, still count.
        for action in [
            json!("iot:Subscribe"),
            json!("iot:Re*"),
            json!(["iot:AttachPolicy", "iot:Connect"]),
        ] {
            let policy = doc(json!([{"Effect": "Allow", "Action": action, "Resource": "*"}]));
            assert_eq!(
                find(&lint_common(&policy), RULE_WILDCARD_RESOURCE).pointer,
                "/Statement/0/Resource"
            );
        }
        // The identity rule still reports the attach grant itself.
        let policy =
            doc(json!([{"Effect": "Allow", "Action": "iot:AttachPolicy", "Resource": "*"}]));
        assert_eq!(
            rules(&lint_identity_policy(&policy)),
            vec![RULE_ATTACH_POLICY]
        );
    }

    #[test]
    fn trust_and_resource_policies_name_a_principal() {
        let trust = doc(json!([{
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": POOL}}
        }]));
        assert_eq!(lint_trust_policy(&trust), vec![]);
        // As an identity policy, the same document is malformed.
        assert_eq!(
            find(&lint_common(&trust), RULE_STRUCTURE).pointer,
            "/Statement/0/Principal"
        );
        let bad = doc(json!([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]));
        let findings = lint_trust_policy(&bad);
        let pointers: Vec<&str> = findings.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            vec!["/Statement/0/Principal", "/Statement/0/Resource"],
            "{findings:#?}"
        );
        assert!(findings.iter().all(|f| f.severity == Severity::Error));

        let secret = doc(json!([{
            "Effect": "Deny", "Principal": "*",
            "Action": ["secretsmanager:GetSecretValue"], "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.7/32"}}
        }]));
        assert_eq!(lint_resource_policy(&secret), vec![]);
        let mut no_principal = secret.clone();
        if let Some(o) = no_principal["Statement"][0].as_object_mut() {
            o.remove("Principal");
        }
        assert_eq!(
            find(&lint_resource_policy(&no_principal), RULE_STRUCTURE).pointer,
            "/Statement/0/Principal"
        );
        let mut no_resource = secret;
        if let Some(o) = no_resource["Statement"][0].as_object_mut() {
            o.remove("Resource");
        }
        assert_eq!(
            find(&lint_resource_policy(&no_resource), RULE_STRUCTURE).pointer,
            "/Statement/0/Resource"
        );
    }

    #[test]
    fn attach_policy_in_identity_policies() {
        for (action, pointer) in [
            (json!("iot:Attach*"), "/Statement/0/Action"),
            (json!(["iot:Connect", "iot:*"]), "/Statement/0/Action/1"),
            (json!("*"), "/Statement/0/Action"),
        ] {
            let policy =
                doc(json!([{"Effect": "Allow", "Action": action, "Resource": arn("cert/*")}]));
            let findings = lint_identity_policy(&policy);
            let f = find(&findings, RULE_ATTACH_POLICY);
            assert_eq!((f.severity, f.pointer.as_str()), (Severity::Error, pointer));
            // IoT policies are not checked for this rule.
            assert!(lint_iot_policy(&policy)
                .iter()
                .all(|f| f.rule != RULE_ATTACH_POLICY));
        }
        // The stack's opt-in turns the error into a warning that says so; other rules stay.
        let policy =
            doc(json!([{"Effect": "Allow", "Action": "iot:AttachPolicy", "Resource": "*"}]));
        let findings = lint_identity_policy(&policy);
        let opted: Vec<Finding> = findings.iter().cloned().map(self_attach_opted_in).collect();
        let f = find(&opted, RULE_ATTACH_POLICY);
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.message.starts_with("the identity pool role is granted iot:AttachPolicy (Action \"iot:AttachPolicy\" covers it), and the stack opts in"), "{}", f.message);
        assert!(
            f.message
                .contains("any signed-in identity can attach any AWS IoT policy to any target"),
            "{}",
            f.message
        );
        for (before, after) in findings.iter().zip(&opted) {
            if before.rule != RULE_ATTACH_POLICY {
                assert_eq!(before, after);
            }
        }
        let policy = doc(json!([{"Effect": "Allow", "NotAction": "iot:Publish", "Resource": "*"}]));
        assert_eq!(
            find(&lint_identity_policy(&policy), RULE_ATTACH_POLICY).pointer,
            "/Statement/0/NotAction"
        );

        // An unconditional Deny on every resource removes the grant.
        let policy = doc(json!([
            {"Effect": "Allow", "Action": "iot:*", "Resource": arn("topic/a")},
            {"Effect": "Deny", "Action": ["iot:AttachPolicy", "iot:AttachPrincipalPolicy"], "Resource": "*"}
        ]));
        assert!(lint_identity_policy(&policy)
            .iter()
            .all(|f| f.rule != RULE_ATTACH_POLICY));
    }

    #[test]
    fn client_id_variable_needs_a_restricted_connect() {
        let topic = arn("topic/clients/${iot:ClientId}/*");
        let unrestricted = doc(json!([
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client/*")},
            {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": ["*", topic]}
        ]));
        let findings = lint_iot_policy(&unrestricted);
        let f = find(&findings, RULE_CLIENT_ID_VARIABLE);
        assert_eq!(
            (f.severity, f.pointer.as_str()),
            (Severity::Warning, "/Statement/1/Resource/1")
        );

        let no_connect = doc(
            json!([{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": arn("topicfilter/c/${iot:ClientId}")},
            {"Effect": "Allow", "Action": "iot:Receive", "Resource": arn("topic/c/*")}]),
        );
        assert_eq!(
            rules(&lint_iot_policy(&no_connect)),
            vec![RULE_CLIENT_ID_VARIABLE]
        );

        let self_reference = doc(json!([
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client/${iot:ClientId}")},
            {"Effect": "Allow", "Action": "iot:Publish", "Resource": topic}
        ]));
        assert_eq!(
            rules(&lint_iot_policy(&self_reference)),
            vec![RULE_CLIENT_ID_VARIABLE]
        );

        let restricted = doc(json!([
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": [arn("client/${iot:Connection.Thing.ThingName}"), arn("client/gateway-1")]},
            {"Effect": "Allow", "Action": "iot:Publish", "Resource": topic}
        ]));
        assert_eq!(lint_iot_policy(&restricted), vec![]);
    }

    #[test]
    fn mqtt_wildcards_are_literal() {
        let policy = doc(json!([
            {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": [arn("topic/a/b"), arn("topic/a/+")]},
            {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": arn("topicfilter/a/#")}
        ]));
        let findings = lint_iot_policy(&policy);
        assert_eq!(rules(&findings), vec![RULE_MQTT_WILDCARD]);
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].pointer, "/Statement/0/Resource/1");
        assert!(
            findings[0].message.contains(&arn("topic/a/*")),
            "{}",
            findings[0].message
        );
        assert_eq!(findings[1].pointer, "/Statement/1/Resource");
        assert!(findings[1].message.contains(&arn("topicfilter/a/*")));
        assert_eq!(findings[1].severity, Severity::Warning);
    }

    #[test]
    fn resource_types_that_never_match() {
        let receive =
            json!({"Effect": "Allow", "Action": "iot:Receive", "Resource": arn("topic/x/*")});
        // Subscribe against topic/: never matches.
        let policy = doc(
            json!([{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": arn("topic/x/*")}, receive]),
        );
        let findings = lint_iot_policy(&policy);
        assert_eq!(rules(&findings), vec![RULE_RESOURCE_TYPE]);
        let f = find(&findings, RULE_RESOURCE_TYPE);
        assert_eq!(
            (f.severity, f.pointer.as_str()),
            (Severity::Error, "/Statement/0/Resource")
        );
        assert!(f.message.contains(&arn("topicfilter/x/*")), "{}", f.message);

        // Publish/Receive against topicfilter/: never matches.
        let policy = doc(
            json!([{"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": [arn("topic/a"), arn("topicfilter/b")]}]),
        );
        let f = find(&lint_iot_policy(&policy), RULE_RESOURCE_TYPE).clone();
        assert_eq!(f.pointer, "/Statement/0/Resource/1");
        assert!(f.message.contains(&arn("topic/b")));

        // Connect against topic/.
        let policy =
            doc(json!([{"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("topic/c1")}]));
        assert_eq!(
            find(&lint_iot_policy(&policy), RULE_RESOURCE_TYPE).pointer,
            "/Statement/0/Resource"
        );

        // Mixed actions: Subscribe has no topicfilter/ resource.
        let policy = doc(
            json!([{"Effect": "Allow", "Action": ["iot:Publish", "iot:Subscribe", "iot:Receive"], "Resource": arn("topic/x/*")}]),
        );
        let findings = lint_iot_policy(&policy);
        assert_eq!(rules(&findings), vec![RULE_RESOURCE_TYPE]);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].pointer, "/Statement/0/Action/1");
        assert!(findings[0].message.contains(&arn("topicfilter/x/*")));

        // Mixed actions with a resource of each type, or a wildcard action: fine.
        let policy = doc(json!([
            {"Effect": "Allow", "Action": ["iot:Publish", "iot:Subscribe", "iot:Receive"], "Resource": [arn("topic/x/*"), arn("topicfilter/x/*")]},
            {"Effect": "Allow", "Action": ["iot:Get*"], "Resource": arn("thing/t1")}
        ]));
        assert_eq!(lint_iot_policy(&policy), vec![]);
    }

    #[test]
    fn subscribe_requires_receive() {
        let policy = doc(json!([
            {"Effect": "Allow", "Action": "iot:Publish", "Resource": arn("topic/a/*")},
            {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": [arn("topicfilter/a/*"), arn("topicfilter/b")]}
        ]));
        let findings = lint_iot_policy(&policy);
        assert_eq!(rules(&findings), vec![RULE_SUBSCRIBE_WITHOUT_RECEIVE]);
        let f = &findings[0];
        assert_eq!(
            (f.statement, f.pointer.as_str()),
            (Some(1), "/Statement/1/Action")
        );
        assert!(f
            .message
            .starts_with("subscribers will not receive messages"));
        assert!(
            f.message
                .contains(&format!("{}, {}", arn("topic/a/*"), arn("topic/b"))),
            "{}",
            f.message
        );

        // A Deny for Receive does not count as a grant; an Allow does.
        let mut with_receive = policy.clone();
        if let Some(statements) = with_receive["Statement"].as_array_mut() {
            statements.push(
                json!({"Effect": "Allow", "Action": "iot:Receive", "Resource": arn("topic/a/*")}),
            );
        }
        assert_eq!(lint_iot_policy(&with_receive), vec![]);
    }

    #[test]
    fn finding_display() {
        let f = Finding {
            rule: RULE_MQTT_WILDCARD,
            severity: Severity::Warning,
            message: "m".to_string(),
            statement: Some(0),
            pointer: "/Statement/0/Resource".to_string(),
        };
        assert_eq!(
            f.to_string(),
            "warning[mqtt-wildcard-in-resource] /Statement/0/Resource: m"
        );
        assert!(Severity::Error > Severity::Warning);
    }
}
