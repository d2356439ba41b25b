//! Resource kinds: one file per kind, each implementing [`Kind`], and one registry.
//!
//! A kind knows its properties (for offline validation), which attributes other resources may
//! refer to, and how to read, create, update and delete itself with the not-found rules of the
//! design: reading a missing resource gives `None`, deleting a missing one is success.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use async_trait::async_trait;
use serde_json::Value;

use crate::aws::Clients;
use crate::error::AwsError;

pub mod cognito_identity_pool;
pub mod cognito_identity_pool_roles;
pub mod cognito_user;
pub mod cognito_user_pool;
pub mod cognito_user_pool_client;
pub mod iam_role;
pub mod iot_certificate;
pub mod iot_endpoint;
pub mod iot_identity_attachments;
pub mod iot_policy;
pub mod iot_policy_attachment;
pub mod iot_thing;
pub mod iot_thing_principal;
pub mod iot_topic_rule;
pub mod lambda_function;
pub mod lambda_function_url;
pub mod lambda_permission;
pub mod secretsmanager_secret;
pub mod sns_subscription;
pub mod sns_topic;

/// Every kind a stack may use.
pub static REGISTRY: &[&dyn Kind] = &[
    &iam_role::IamRole,
    &iot_policy::IotPolicy,
    &iot_thing::IotThing,
    &iot_certificate::IotCertificate,
    &iot_policy_attachment::IotPolicyAttachment,
    &iot_thing_principal::IotThingPrincipal,
    &iot_topic_rule::IotTopicRule,
    &sns_topic::SnsTopic,
    &sns_subscription::SnsEmailSubscription,
    &lambda_function::LambdaFunction,
    &cognito_user_pool::CognitoUserPool,
    &cognito_user_pool_client::CognitoUserPoolClient,
    &cognito_identity_pool::CognitoIdentityPool,
    &cognito_identity_pool_roles::CognitoIdentityPoolRoles,
    &cognito_user::CognitoUser,
    &lambda_permission::LambdaPermission,
    &lambda_function_url::LambdaFunctionUrl,
    &secretsmanager_secret::SecretsManagerSecret,
    &iot_endpoint::IotEndpoint,
    &iot_identity_attachments::IotIdentityAttachments,
];

pub fn kind(type_name: &str) -> Option<&'static dyn Kind> {
    REGISTRY
        .iter()
        .copied()
        .find(|k| k.type_name() == type_name)
}

/// Extra tags a taggable resource may be given in the stack file; the stack tag is added to them.
pub static TAGS: PropSpec =
    PropSpec::optional("tags", PropType::StrMap, "extra tags: key -> value");

/// The tag every taggable resource carries; its value is the prefix.
pub const STACK_TAG: &str = "iotstack:stack";

/// The shape of one property's value in the stack file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropType {
    /// A string; `${...}` allowed.
    Str,
    Bool,
    /// A policy document: the path of a JSON template (relative to the stack file).
    Policy,
    /// A mapping of names to policy document paths.
    PolicyMap,
    /// A list of strings.
    StrList,
    /// A mapping of strings to strings.
    StrMap,
    /// A whole number.
    Int,
    /// Function source: `builtin:<name>` (shipped inside iotstack) or a path relative to the
    /// stack file. Compared by the SHA-256 of the deterministic zip iotstack builds from it.
    Code,
}

#[derive(Debug, Clone, Copy)]
pub struct PropSpec {
    pub name: &'static str,
    pub ty: PropType,
    pub required: bool,
    /// A change to this property cannot be made in place: the resource is replaced.
    pub force_new: bool,
    /// The value is never shown.
    pub sensitive: bool,
    pub doc: &'static str,
    /// The smallest and largest value AWS accepts, for an `Int` property; checked offline, so a
    /// value always fits the `i32` the SDK takes.
    pub range: Option<(i64, i64)>,
}

impl PropSpec {
    pub const fn required(name: &'static str, ty: PropType, doc: &'static str) -> Self {
        PropSpec {
            name,
            ty,
            required: true,
            force_new: false,
            sensitive: false,
            doc,
            range: None,
        }
    }
    pub const fn optional(name: &'static str, ty: PropType, doc: &'static str) -> Self {
        PropSpec {
            name,
            ty,
            required: false,
            force_new: false,
            sensitive: false,
            doc,
            range: None,
        }
    }
    pub const fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    /// The values AWS accepts for an `Int` property, `min..=max`.
    pub const fn range(mut self, min: i64, max: i64) -> Self {
        self.range = Some((min, max));
        self
    }
}

/// What the stack wants one resource to be, with every reference resolved that can be.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    pub id: String,
    pub props: BTreeMap<String, Value>,
    /// Properties that refer to something that does not exist yet.
    pub unknown: BTreeSet<String>,
    /// Policy documents as authored (the `props` hold their normalised form, for comparison):
    /// this is what is sent to AWS, so the console shows what the user wrote.
    pub authored: BTreeMap<String, Value>,
}

impl Desired {
    pub fn str(&self, k: &str) -> &str {
        self.props.get(k).and_then(Value::as_str).unwrap_or("")
    }
    pub fn opt_str(&self, k: &str) -> Option<&str> {
        self.props.get(k).and_then(Value::as_str)
    }
    pub fn bool(&self, k: &str, default: bool) -> bool {
        self.props
            .get(k)
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }
    pub fn value(&self, k: &str) -> &Value {
        self.props.get(k).unwrap_or(&Value::Null)
    }
    pub fn str_map(&self, k: &str) -> BTreeMap<String, String> {
        str_map(self.value(k))
    }
    /// A policy document (or a map of them) as authored, to send to AWS.
    pub fn document(&self, k: &str) -> &Value {
        self.authored.get(k).unwrap_or_else(|| self.value(k))
    }
    pub fn is_known(&self, k: &str) -> bool {
        !self.unknown.contains(k)
    }
    /// The stack tags (`iotstack:stack`), when the kind is taggable.
    pub fn tags(&self) -> BTreeMap<String, String> {
        self.str_map("tags")
    }
}

/// The live tags worth comparing: those the stack sets (other tags are left alone).
pub fn wanted_tags<'a>(
    want: &Desired,
    live: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Value {
    let keys = want.tags();
    let m: BTreeMap<String, String> = live
        .into_iter()
        .filter(|(k, _)| keys.contains_key(*k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    map_value(&m)
}

pub fn str_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

pub fn map_value(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// What is live for one resource.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// Properties in the same form as [`Desired::props`], for comparison.
    pub props: BTreeMap<String, Value>,
    /// Attributes other resources may refer to, and what delete needs (arn, name, id...).
    pub attrs: BTreeMap<String, String>,
    /// Facts worth telling the user (a subscription pending confirmation, a key not on this machine).
    pub notes: Vec<String>,
}

impl Observed {
    pub fn attr(&self, k: &str) -> &str {
        self.attrs.get(k).map(String::as_str).unwrap_or("")
    }
}

/// Everything a kind needs to talk to AWS for one stack.
pub struct Ctx {
    pub clients: Clients,
    /// Counts the AWS operations made through `clients`.
    pub calls: crate::aws::CallLog,
    pub prefix: String,
    pub region: String,
    pub account: String,
    /// Local files of this stack (device keys, certificate ids): `<output_dir>/<prefix>`.
    pub state_dir: PathBuf,
}

#[async_trait]
pub trait Kind: Sync + Send {
    /// The name used as `type:` in the stack file.
    fn type_name(&self) -> &'static str;
    fn props(&self) -> &'static [PropSpec];
    /// Attributes other resources may refer to as `${id.attr}`.
    fn attrs(&self) -> &'static [&'static str];
    /// Whether the kind carries the `iotstack:stack` tag (as the `tags` property).
    fn taggable(&self) -> bool {
        true
    }
    /// The AWS naming rule for the `name` property, checked offline: `Some(problem)` if broken.
    fn check_name(&self, _name: &str) -> Option<String> {
        None
    }
    /// Properties the kind always wants, whatever the stack says (a user's password stored in its
    /// secret, say): compared like any other property.
    fn fixed_props(&self) -> Vec<(&'static str, Value)> {
        Vec::new()
    }
    /// A data source is only read (an endpoint address, say): never created, changed or deleted.
    fn is_data_source(&self) -> bool {
        false
    }
    /// What deleting this live resource would destroy beyond configuration (users, say), if
    /// anything: a replacement that loses data needs the user's explicit consent.
    fn data_loss(&self, _have: &Observed) -> Option<String> {
        None
    }
    /// The live resource, or `None` when it does not exist.
    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, AwsError>;
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), AwsError>;
    /// Brings an existing resource to `want`; only what differs is changed.
    async fn update(&self, ctx: &Ctx, want: &Desired, have: &Observed) -> Result<(), AwsError>;
    /// Deletes the resource (and what only it holds); a missing resource is success. Returns
    /// notes for the user (what AWS did not allow, say).
    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, AwsError>;
}

/// A name rule shared by several kinds: allowed characters and length.
pub fn check_chars(
    name: &str,
    max: usize,
    allowed: fn(char) -> bool,
    what: &str,
) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".into());
    }
    if name.chars().count() > max {
        return Some(format!(
            "`{name}` is {} characters long; {what} allows at most {max}",
            name.chars().count()
        ));
    }
    if let Some(c) = name.chars().find(|c| !allowed(*c)) {
        return Some(format!(
            "`{name}` contains `{c}`, which {what} does not allow"
        ));
    }
    None
}
