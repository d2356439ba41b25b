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
use crate::error::ResourceError;
use crate::plan::PropChange;

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
mod spec;
pub mod support;

pub use spec::{KindSpec, NameRule, Ownership, PropSpec, PropType, STACK_TAG, TAGS};

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
        .find(|k| k.spec().type_name == type_name)
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

/// The properties the plan found different, which `update` brings to what the stack wants.
#[derive(Debug, Clone, Copy)]
pub struct Changes<'a>(pub &'a [PropChange]);

impl Changes<'_> {
    pub fn has(&self, prop: &str) -> bool {
        self.0.iter().any(|c| c.property == prop)
    }
    pub fn any(&self, props: &[&str]) -> bool {
        props.iter().any(|p| self.has(p))
    }
}

#[async_trait]
pub trait Kind: Sync + Send {
    fn spec(&self) -> &'static KindSpec;
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
    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError>;
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError>;
    /// Brings an existing resource to `want`: `changes` are the properties that differ. Kinds
    /// whose every property forces a replacement keep this default, which changes nothing.
    async fn update(
        &self,
        _ctx: &Ctx,
        _want: &Desired,
        _have: &Observed,
        _changes: Changes<'_>,
    ) -> Result<(), ResourceError> {
        Ok(())
    }
    /// Deletes the resource (and what only it holds); a missing resource is success. Returns
    /// notes for the user (what AWS did not allow, say).
    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError>;
}

impl dyn Kind + '_ {
    pub fn type_name(&self) -> &'static str {
        self.spec().type_name
    }
}
