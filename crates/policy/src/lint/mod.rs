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
use serde_json::Value;

mod parse;
mod rules;

use crate::document;

use parse::{parse, structure};
pub use rules::self_attach_opted_in;
use rules::{
    check_attach_policy, check_client_id_variable, check_mqtt_wildcards, check_resource_types,
    check_subscribe_without_receive, check_version, check_wildcard_action, check_wildcard_resource,
};

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

display_as!(Severity, as_str);

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
    let doc = match document::json(doc) {
        Ok(doc) => doc,
        Err(err) => {
            findings.push(structure(
                None,
                String::new(),
                format!("the policy document is not valid JSON ({err}); write a JSON object with \"Version\": \"2012-10-17\" and a \"Statement\" array"),
            ));
            return findings;
        }
    };
    if let Some(policy) = parse(&doc, flavor, &mut findings) {
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
