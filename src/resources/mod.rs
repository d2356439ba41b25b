//! Resource kinds: one file per kind, each described by a [`KindSpec`] and implementing
//! [`Read`] (and [`Manage`] unless it is a data source), and one registry of [`Kind`]s.
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

/// A kind's `spec` (for [`Fetch`], [`Read`]): the `SPEC` its module declares; given a type, also
/// the [`Fetch::Fetched`] its fetch answers.
macro_rules! module_spec {
    () => {
        fn spec(&self) -> &'static $crate::resources::KindSpec {
            &SPEC
        }
    };
    ($fetched:ty) => {
        type Fetched = $fetched;

        module_spec!();
    };
}

/// What [`Fetch::fetch`] returns: AWS's answer, `None` when AWS says it is not there.
pub type FetchResult<T> = Result<Option<T>, ResourceError>;

/// The new resource's attributes as its create answered them, or as they are computable without
/// a call (an ARN from the name, the account and the region): its ids, ARNs and names, keyed like
/// [`KindSpec::attrs`], each with the value the kind's read gives it. Empty for a kind without
/// attributes; an attribute a kind cannot know without a read is left out.
pub type Created = BTreeMap<String, String>;

/// A [`Created`] from attribute names and values; empty values (an answer without the field) are
/// left out.
pub fn created<'a>(attrs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Created {
    attrs
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What every kind's file uses: the traits a kind implements, what they take and return, and
/// the parts of its [`KindSpec`].
pub mod prelude {
    pub use super::{
        Changes, Created, Ctx, Depth, Desired, Fetch, FetchResult, KindSpec, Manage, NameRule,
        Observed, Ownership, PropSpec, PropType, Update,
    };
    pub use crate::aws::{Missing, OpExt};
    pub use crate::error::ResourceError;
    pub use async_trait::async_trait;
}

pub mod attachment;
pub mod caller_identity;
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
pub mod iot_thing;
pub mod iot_thing_group;
pub mod iot_topic_rule;
pub mod lambda_function;
pub mod lambda_function_url;
pub mod lambda_permission;
pub mod once;
pub mod secretsmanager_secret;
pub mod sns_subscription;
pub mod sns_topic;
mod spec;
pub mod support;

pub use spec::{KindSpec, NameRule, Ownership, PropSpec, PropType, STACK_TAG, TAGS};

/// Every kind a stack may use.
pub static REGISTRY: &[Kind] = &[
    Kind::Managed(&iam_role::IamRole),
    Kind::Managed(&iot_policy::IotPolicy),
    Kind::Managed(&iot_thing::IotThing),
    Kind::Managed(&iot_certificate::IotCertificate),
    Kind::Managed(&attachment::Attachment(attachment::PolicyTarget)),
    Kind::Managed(&attachment::Attachment(attachment::ThingPrincipal)),
    Kind::Managed(&iot_thing_group::IotThingGroup),
    Kind::Managed(&attachment::Attachment(attachment::ThingGroupMember)),
    Kind::Managed(&iot_topic_rule::IotTopicRule),
    Kind::Managed(&sns_topic::SnsTopic),
    Kind::Managed(&sns_subscription::SnsEmailSubscription),
    Kind::Managed(&lambda_function::LambdaFunction),
    Kind::Managed(&cognito_user_pool::CognitoUserPool),
    Kind::Managed(&cognito_user_pool_client::CognitoUserPoolClient),
    Kind::Managed(&cognito_identity_pool::CognitoIdentityPool),
    Kind::Managed(&cognito_identity_pool_roles::CognitoIdentityPoolRoles),
    Kind::Managed(&cognito_user::CognitoUser),
    Kind::Managed(&lambda_permission::LambdaPermission),
    Kind::Managed(&lambda_function_url::LambdaFunctionUrl),
    Kind::Managed(&secretsmanager_secret::SecretsManagerSecret),
    Kind::Data(&iot_endpoint::IotEndpoint),
    Kind::Data(&caller_identity::CallerIdentity),
    Kind::Managed(&iot_identity_attachments::IotIdentityAttachments),
];

pub fn kind(type_name: &str) -> Option<Kind> {
    REGISTRY
        .iter()
        .copied()
        .find(|k| k.type_name() == type_name)
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
    /// What the stack's record says AWS gave this resource (its id, its ARN...): where a kind
    /// whose name is not unique (a pool) or not kept by AWS (a certificate) reads it directly,
    /// instead of listing the account. Empty for a stack with no record.
    pub recorded: BTreeMap<String, String>,
    /// What the read is for, and so how much it asks (see [`Depth`]).
    pub depth: Depth,
}

/// How much a read asks of AWS: what the command needs of the live resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Depth {
    /// Everything the stack declares, to compare it with what is live (plan, apply).
    #[default]
    Compare,
    /// As [`Depth::Compare`], and beyond the recorded id: the account listed under the
    /// resource's name too, to find the duplicates only a listing shows (doctor's survey).
    Survey,
    /// What ownership and the resource's delete need, not the contents a plan compares (a
    /// role's inline policy documents; a pool's users, which go with it): destroy.
    Delete,
}

impl Desired {
    /// The recorded attribute `k` (see [`Desired::recorded`]), unless the read must survey.
    pub fn recorded_attr(&self, k: &str) -> Option<&str> {
        let v = self.recorded.get(k).map(String::as_str);
        v.filter(|v| !v.is_empty() && self.depth != Depth::Survey)
    }

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

#[cfg(test)]
impl Desired {
    /// What a stack wants, from a JSON object of properties (every value known).
    pub fn from_json(id: &str, props: Value) -> Desired {
        let Value::Object(props) = props else {
            panic!("properties are a JSON object");
        };
        Desired {
            id: id.into(),
            props: props.into_iter().collect(),
            ..Default::default()
        }
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
    /// An observation from its properties and its attributes, each given as a JSON object.
    /// Attribute values that are not strings are written out (a number of users, say); a `null`
    /// one is left out.
    pub fn new(props: Value, attrs: Value) -> Observed {
        let entries = |v: Value| match v {
            Value::Object(m) => m.into_iter().collect(),
            _ => Vec::new(),
        };
        let text = |(k, v): (String, Value)| match v {
            Value::String(s) => Some((k, s)),
            Value::Null => None,
            other => Some((k, other.to_string())),
        };
        let attrs: Vec<(String, Value)> = entries(attrs);
        Observed {
            props: entries(props).into_iter().collect(),
            attrs: attrs.into_iter().filter_map(text).collect(),
            notes: Vec::new(),
        }
    }

    /// The same observation with a note for the user, when there is one.
    pub fn note(mut self, note: Option<String>) -> Observed {
        self.notes.extend(note);
        self
    }

    pub fn attr(&self, k: &str) -> &str {
        self.attrs.get(k).map(String::as_str).unwrap_or("")
    }

    /// The attributes of this live resource that `spec` lists ([`KindSpec::attrs`]): what its
    /// create would have told, for a resource found made rather than made now.
    pub fn created(&self, spec: &KindSpec) -> Created {
        created(
            spec.attrs
                .iter()
                .map(|k| (*k, self.attr(k)))
                .collect::<Vec<_>>(),
        )
    }
}

/// Checks a kind's [`Created`] against what its read observes of the same resource: the same
/// value for each attribute, and every attribute of the kind's spec there.
#[cfg(test)]
pub fn assert_created_as_observed(spec: &KindSpec, created: &Created, observed: &Observed) {
    assert_eq!(created, &observed.created(spec), "{}", spec.type_name);
    let keys: Vec<&str> = created.keys().map(String::as_str).collect();
    let mut listed = spec.attrs.to_vec();
    listed.sort();
    assert_eq!(keys, listed, "{}: every attribute", spec.type_name);
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
    /// What this run knows of the stack's record in AWS (see [`crate::record::Known`]).
    pub record: crate::record::Known,
    /// What this run listed of identity pools and policy targets, and attached since (see
    /// [`iot_identity_attachments::Lists`]).
    pub identity_lists: iot_identity_attachments::Lists,
    /// Passwords a user's create staged in its secret, for the rest of that create (see
    /// [`cognito_user::Staging`]).
    pub staged: cognito_user::Staging,
    /// User pools this run created, as their create answered (see
    /// [`cognito_user_pool::Answers`]).
    pub pools: cognito_user_pool::Answers,
}

impl Ctx {
    /// The ARN of a resource of this account and region, for services whose answers do not
    /// carry one: `arn:<partition>:<service>:<region>:<account>:<resource>`, the partition
    /// (`aws`, `aws-cn`, `aws-us-gov`) following the region.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        let partition = iotstack_policy::partition_for_region(&self.region);
        format!(
            "arn:{partition}:{service}:{}:{}:{resource}",
            self.region, self.account
        )
    }
}

#[cfg(test)]
impl Ctx {
    /// A context for kinds' tests: prefix `p`, account 123456789012 in `region`; its clients
    /// reach nothing.
    pub fn for_tests(region: &str) -> Ctx {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .build();
        Ctx {
            clients: Clients::from_config(config),
            calls: Default::default(),
            prefix: "p".into(),
            region: region.into(),
            account: "123456789012".into(),
            state_dir: PathBuf::new(),
            record: Default::default(),
            identity_lists: Default::default(),
            staged: Default::default(),
            pools: Default::default(),
        }
    }
}

#[cfg(test)]
mod ctx_tests {
    use super::*;

    fn ctx(region: &str) -> Ctx {
        Ctx::for_tests(region)
    }

    #[test]
    fn arns_follow_the_region_partition() {
        let arn = |region| ctx(region).arn("sns", "p-topic");
        assert_eq!(
            arn("eu-west-1"),
            "arn:aws:sns:eu-west-1:123456789012:p-topic"
        );
        assert_eq!(
            arn("cn-north-1"),
            "arn:aws-cn:sns:cn-north-1:123456789012:p-topic"
        );
        assert_eq!(
            arn("us-gov-west-1"),
            "arn:aws-us-gov:sns:us-gov-west-1:123456789012:p-topic"
        );
    }
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

/// What `update` changes: the live resource `have`, brought to `want` in the properties that
/// differ.
#[derive(Clone, Copy)]
pub struct Update<'a> {
    pub ctx: &'a Ctx,
    pub want: &'a Desired,
    pub have: &'a Observed,
    pub changes: Changes<'a>,
}

/// What every kind has: its description, and a read of what is live.
#[async_trait]
pub trait Read: Sync + Send {
    fn spec(&self) -> &'static KindSpec;
    /// The live resource, or `None` when it does not exist.
    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError>;
}

/// A kind's read in two halves: `fetch` asks AWS and returns what it answered, as the SDK's
/// types; `observe` turns that answer into [`Observed`] without any I/O, so it is unit-tested
/// with recorded answers. Every kind implements it; [`Read`] comes with it.
#[async_trait]
pub trait Fetch: Sync + Send {
    /// What AWS answered about one resource.
    type Fetched: Send;
    fn spec(&self) -> &'static KindSpec;
    /// AWS's answer about the resource `want` names; `None` when AWS says it is not there.
    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched>;
    /// What is live, in the form of `want`; `None` when the answer shows it is not there.
    fn observe(&self, fetched: Self::Fetched, want: &Desired) -> Option<Observed>;
}

#[async_trait]
impl<T: Fetch> Read for T {
    fn spec(&self) -> &'static KindSpec {
        Fetch::spec(self)
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let fetched = self.fetch(ctx, want).await?;
        Ok(fetched.and_then(|f| self.observe(f, want)))
    }
}

/// A resource iotstack creates, changes and deletes.
#[async_trait]
pub trait Manage: Read {
    /// What deleting this live resource would destroy beyond configuration (users, say), if
    /// anything: a replacement that loses data needs the user's explicit consent.
    fn data_loss(&self, _have: &Observed) -> Option<String> {
        None
    }
    /// What deleting this live resource destroys when the stack no longer declares it (removed
    /// from the stack file, or renamed): at least [`Manage::data_loss`]; a kind whose contents a
    /// replacement writes again (a secret's value) but whose removal loses them says so here.
    fn removal_loss(&self, have: &Observed) -> Option<String> {
        self.data_loss(have)
    }
    /// Creates the resource `want` describes; returns what AWS answered about it (see
    /// [`Created`]), so that dependents need not wait for a read.
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError>;
    /// [`Manage::create`] in two parts, for apply: `make` makes the resource and tells what its
    /// create answered; [`Manage::complete`] then makes the calls that nothing referring to the
    /// resource needs first (a role's inline policies, a secret's resource policy), beside the
    /// resource's dependents and before its read-back. A kind that splits its create keeps
    /// `create` as the two in turn, for every other caller.
    async fn make(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        self.create(ctx, want).await
    }
    /// What a create must leave out while `held` (properties written right after it, once what
    /// they name is made: [`PropSpec::later`]) are unset, so that nothing the resource allows
    /// goes around them meanwhile; the same update that writes them then writes this back. The
    /// default leaves the rest as the stack wants it.
    fn hold_back(&self, _want: &mut Desired, _held: &[&str]) {}
    /// The rest of a create after [`Manage::make`]: see there.
    async fn complete(
        &self,
        _ctx: &Ctx,
        _want: &Desired,
        _made: &Created,
    ) -> Result<(), ResourceError> {
        Ok(())
    }
    /// Brings an existing resource to `want`: `changes` are the properties that differ. Kinds
    /// whose every property forces a replacement keep this default, which changes nothing.
    async fn update(&self, _to: Update<'_>) -> Result<(), ResourceError> {
        Ok(())
    }
    /// Deletes the resource (and what only it holds); a missing resource is success. Returns
    /// notes for the user (what AWS did not allow, say).
    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError>;
    /// The part of a delete AWS allows while what depends on the resource is still there (a
    /// certificate's deactivation: DeleteCertificate needs it INACTIVE, and an attached
    /// certificate can be made so). destroy runs it beside the dependents' deletes and gives
    /// [`Manage::delete`] the resource as it left it; `None`: nothing to do (the default), and
    /// `delete` does it all. Only called when [`Manage::deletes_ahead`] says so.
    async fn before_delete(
        &self,
        _ctx: &Ctx,
        _have: &Observed,
    ) -> Result<Option<Observed>, ResourceError> {
        Ok(None)
    }
    /// Whether [`Manage::before_delete`] has anything to do for `have` (no call is made to
    /// tell): destroy starts it only then, so that the many resources with nothing to do ahead
    /// do not wait for a turn behind those that have.
    fn deletes_ahead(&self, _have: &Observed) -> bool {
        false
    }
}

/// A kind of the registry: a resource iotstack manages, or a data source it only reads (an
/// endpoint address, say), which is never created, changed or deleted.
#[derive(Clone, Copy)]
pub enum Kind {
    Managed(&'static dyn Manage),
    Data(&'static dyn Read),
}

impl Kind {
    pub fn spec(self) -> &'static KindSpec {
        match self {
            Kind::Managed(k) => k.spec(),
            Kind::Data(d) => d.spec(),
        }
    }

    pub fn type_name(self) -> &'static str {
        self.spec().type_name
    }

    /// The kind's create, update and delete; `None` for a data source.
    pub fn managed(self) -> Option<&'static dyn Manage> {
        match self {
            Kind::Managed(k) => Some(k),
            Kind::Data(_) => None,
        }
    }

    pub async fn read(self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        match self {
            Kind::Managed(k) => k.read(ctx, want).await,
            Kind::Data(d) => d.read(ctx, want).await,
        }
    }

    pub fn data_loss(self, have: &Observed) -> Option<String> {
        self.managed()?.data_loss(have)
    }

    pub fn removal_loss(self, have: &Observed) -> Option<String> {
        self.managed()?.removal_loss(have)
    }
}
