//! What the checks judge, as plain data: the stack's resources with what is live for each, and
//! the few answers AWS gave beyond reading them. [`super::gather`] fills it in; the checks only
//! read it, so each can be tested with facts built by hand.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::Value;

use super::Subject;
use crate::resources::{Desired, Observed};
use iotstack_policy::Decision;

/// One resource of the stack: what the stack wants, and what is live (`None`: missing).
#[derive(Debug, Clone)]
pub struct Resource {
    pub type_name: &'static str,
    pub desired: Desired,
    pub observed: Option<Observed>,
}

/// The user named by `--username`, as the user pool knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum User {
    /// The user pool has no such user.
    Missing,
    Found {
        sub: String,
        enabled: bool,
        /// `CONFIRMED`, `FORCE_CHANGE_PASSWORD`, ...
        status: String,
    },
}

/// The IoT policies attached to the identity of `--identity-id`.
#[derive(Debug, Clone, Default)]
pub struct Attached {
    pub names: Vec<String>,
    /// The documents of those that still exist, by name.
    pub documents: Vec<(String, Value)>,
}

#[derive(Debug, Clone)]
pub struct Facts {
    pub prefix: String,
    pub region: String,
    pub account: String,
    pub subject: Subject,
    /// The stack's `settings.allow_identity_self_attach`.
    pub allow_identity_self_attach: bool,
    /// When the facts were gathered: policy ages are measured from it.
    pub now: SystemTime,
    /// The stack's resources, in its order.
    pub resources: Vec<Resource>,
    /// The `--username` user; `None` when not asked or the user pool is missing.
    pub user: Option<User>,
    /// Documents of the managed policies of the roles doctor evaluates, by ARN (those that exist).
    pub managed_policies: BTreeMap<String, Value>,
    /// What each IoT policy doctor evaluates is attached to, by policy name.
    pub policy_targets: BTreeMap<String, Vec<String>>,
    /// The IoT policies of the `--identity-id` identity, when it was looked up.
    pub attached: Option<Attached>,
    /// Whether AWS says a subscription is pending confirmation, by subscription ARN.
    pub subscription_pending: BTreeMap<String, bool>,
    /// When the default version of each IoT policy was made, by policy name.
    pub policy_changed: BTreeMap<String, SystemTime>,
    /// AWS's own evaluation of the requests the access checks judge offline; `None` when AWS was
    /// not asked (`--offline-only`). A request missing from the map was not asked about.
    pub aws_answers: Option<BTreeMap<Question, Answer>>,
}

/// Which of AWS's own evaluators answered, and so which layer it speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Evaluator {
    /// AWS IoT's TestAuthorization: the AWS IoT policies attached to a principal (a Cognito
    /// identity or a certificate), as the IoT message broker applies them. It takes IoT policy
    /// names and answers with IoT policies: the identity pool role's IAM layer is not part of it.
    TestAuthorization,
    /// IAM's SimulatePrincipalPolicy: the IAM policies of a role (here the identity pool's
    /// authenticated role), the other layer a Cognito identity's request must pass.
    SimulatePrincipalPolicy,
}

impl Evaluator {
    pub fn as_str(self) -> &'static str {
        match self {
            Evaluator::TestAuthorization => "TestAuthorization",
            Evaluator::SimulatePrincipalPolicy => "SimulatePrincipalPolicy",
        }
    }
}

/// One request put to AWS's evaluator: who asks to do what on which resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Question {
    pub evaluator: Evaluator,
    /// The Cognito identity id or certificate ARN (TestAuthorization), the role ARN
    /// (SimulatePrincipalPolicy).
    pub principal: String,
    /// `iot:Connect`, `iot:Publish`, ...
    pub action: String,
    pub resource: String,
}

/// AWS's answer to a [`Question`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Decided {
        decision: Decision,
        /// The decision as AWS spells it (`ALLOWED`, `implicitDeny`, ...).
        said: String,
        /// The policies (or statements' source policies) AWS names for its decision.
        by: Vec<String>,
        /// Context values AWS lacked to evaluate the policies.
        missing: Vec<String>,
    },
    /// AWS could not be asked: the caller may not call it, the endpoint does not implement it,
    /// throttling outlasted the retries.
    Unavailable {
        code: Option<String>,
        message: String,
    },
}

impl Facts {
    /// Facts with no answer from AWS yet.
    pub fn new(
        prefix: &str,
        region: &str,
        account: &str,
        subject: Subject,
        resources: Vec<Resource>,
    ) -> Facts {
        Facts {
            prefix: prefix.to_string(),
            region: region.to_string(),
            account: account.to_string(),
            subject,
            allow_identity_self_attach: false,
            now: SystemTime::now(),
            resources,
            user: None,
            managed_policies: BTreeMap::new(),
            policy_targets: BTreeMap::new(),
            attached: None,
            subscription_pending: BTreeMap::new(),
            policy_changed: BTreeMap::new(),
            aws_answers: None,
        }
    }

    /// The first resource of a type in the stack.
    pub fn of_type(&self, type_name: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.type_name == type_name)
    }
    pub fn all_of_type<'a>(&'a self, type_name: &'a str) -> impl Iterator<Item = &'a Resource> {
        self.resources
            .iter()
            .filter(move |r| r.type_name == type_name)
    }
    pub fn by_id(&self, id: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.desired.id == id)
    }
    /// The resource of a type whose live or desired `attr` is `value` (a role by its ARN, say).
    pub fn find(&self, type_name: &str, attr: &str, value: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| {
            r.type_name == type_name
                && (r.observed.as_ref().is_some_and(|o| o.attr(attr) == value)
                    || r.desired.opt_str(attr) == Some(value))
        })
    }
    /// The live attribute of the first resource of a type, if it is live.
    pub fn live_attr(&self, type_name: &str, attr: &str) -> Option<&str> {
        self.of_type(type_name)
            .and_then(|r| r.observed.as_ref())
            .map(|o| o.attr(attr))
    }

    /// The identity pool's id, when the pool is live.
    pub fn identity_pool_id(&self) -> Option<&str> {
        self.live_attr("cognito_identity_pool", "id")
    }
    /// What the stack wants as `prop` of the first resource of a type.
    fn wanted(&self, type_name: &str, prop: &str) -> &str {
        self.of_type(type_name)
            .map(|r| r.desired.str(prop))
            .unwrap_or_default()
    }
    /// The authenticated role the stack gives the identity pool.
    pub fn auth_role_arn(&self) -> &str {
        self.wanted("cognito_identity_pool_roles", "authenticated_role_arn")
    }
    pub fn auth_role(&self) -> Option<&Resource> {
        self.find("iam_role", "arn", self.auth_role_arn())
    }
    /// The name of the IoT policy for identities.
    pub fn identity_policy_name(&self) -> &str {
        self.wanted("iot_identity_attachments", "policy")
    }
    pub fn identity_policy(&self) -> Option<&Resource> {
        self.find("iot_policy", "name", self.identity_policy_name())
    }
    /// The role of the topic rule.
    pub fn rule_role(&self) -> Option<&Resource> {
        let rule = self.of_type("iot_topic_rule")?;
        self.find("iam_role", "arn", rule.desired.str("role_arn"))
    }
    /// The `--identity-id`, when it has the shape of an identity id and is not the pool's id.
    pub fn identity_to_look_up(&self) -> Option<&str> {
        let id = self.subject.identity_id.as_deref()?;
        (looks_like_identity_id(id) && Some(id) != self.identity_pool_id()).then_some(id)
    }

    /// AWS's answer to a question, if it was asked.
    pub fn aws_answer(
        &self,
        evaluator: Evaluator,
        principal: &str,
        action: &str,
        resource: &str,
    ) -> Option<&Answer> {
        let q = Question {
            evaluator,
            principal: principal.to_string(),
            action: action.to_string(),
            resource: resource.to_string(),
        };
        self.aws_answers.as_ref()?.get(&q)
    }

    /// The policy documents of a live role: its inline policies and its managed ones.
    pub fn role_policies(&self, role: &Resource) -> Vec<(String, Value)> {
        let Some(o) = &role.observed else {
            return Vec::new();
        };
        let inline = o
            .props
            .get("inline_policies")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (format!("{k} (inline)"), v.clone()));
        let managed = managed_arns(o)
            .filter_map(|arn| Some((arn.to_string(), self.managed_policies.get(arn)?.clone())));
        inline.chain(managed).collect()
    }
}

/// The ARNs of the managed policies of a live role.
pub fn managed_arns(role: &Observed) -> impl Iterator<Item = &str> {
    role.props
        .get("managed_policy_arns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// `region:uuid`, the shape of a Cognito identity id (and, alas, of an identity pool id).
pub fn looks_like_identity_id(s: &str) -> bool {
    let Some((region, uuid)) = s.split_once(':') else {
        return false;
    };
    let region_ok = region.split('-').count() >= 3
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let groups: Vec<&str> = uuid.split('-').collect();
    let uuid_ok = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    region_ok && uuid_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_id_shape() {
        assert!(looks_like_identity_id(
            "us-east-1:0b3c1f4e-8a51-4f5e-9d0c-2a1b3c4d5e6f"
        ));
        assert!(!looks_like_identity_id(
            "0b3c1f4e-8a51-4f5e-9d0c-2a1b3c4d5e6f"
        ));
        assert!(!looks_like_identity_id("alice"));
        assert!(!looks_like_identity_id("us-east-1_AbCdEf"));
    }
}
