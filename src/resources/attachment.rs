//! Attachments: a link between two IoT resources that is there or not, named by its two ends
//! (both force a replacement) and owned by the stack that owns its ends. One implementation,
//! [`Attachment`], serves every [`Link`]: `iot_policy_attachment` attaches an IoT policy to a
//! target (a certificate ARN or a Cognito identity id), `iot_thing_principal` a certificate to a
//! thing.

use async_trait::async_trait;
use serde_json::Value;

use super::{
    iot_policy, iot_thing, Ctx, Desired, KindSpec, Manage, Observed, Ownership, PropSpec, PropType,
    Read,
};
use crate::aws::Missing;
use crate::error::{AwsError, ResourceError};

/// What an attachment links and the calls that list, make and remove its links. The kind's two
/// properties (and attributes) are its ends: the resource attached to, then what is attached.
#[async_trait]
pub trait Link: Sync + Send {
    fn spec(&self) -> &'static KindSpec;
    /// Everything attached to `to`.
    async fn attached(&self, ctx: &Ctx, to: &str) -> Result<Vec<String>, AwsError>;
    async fn attach(&self, ctx: &Ctx, to: &str, what: &str) -> Result<(), AwsError>;
    /// Removes the link; one already gone is done.
    async fn detach(&self, ctx: &Ctx, to: String, what: String) -> Result<usize, AwsError>;
}

/// The attachment kind of a [`Link`].
pub struct Attachment<L>(pub L);

impl<L: Link> Attachment<L> {
    /// The names of the two ends' properties.
    fn ends(&self) -> (&'static str, &'static str) {
        let props = self.0.spec().props;
        (props[0].name, props[1].name)
    }
}

#[async_trait]
impl<L: Link> Read for Attachment<L> {
    fn spec(&self) -> &'static KindSpec {
        self.0.spec()
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let (to_prop, what_prop) = self.ends();
        let (to, what) = (want.str(to_prop), want.str(what_prop));
        let Some(list) = self
            .0
            .spec()
            .missing
            .found(self.0.attached(ctx, to).await)?
        else {
            return Ok(None);
        };
        if !list.iter().any(|a| a == what) {
            return Ok(None);
        }
        let mut o = Observed::default();
        for (k, v) in [(to_prop, to), (what_prop, what)] {
            o.props.insert(k.into(), Value::String(v.to_string()));
            o.attrs.insert(k.into(), v.to_string());
        }
        Ok(Some(o))
    }
}

#[async_trait]
impl<L: Link> Manage for Attachment<L> {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        let (to, what) = self.ends();
        self.0.attach(ctx, want.str(to), want.str(what)).await?;
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let (to, what) = self.ends();
        let (to, what) = (have.attr(to).to_string(), have.attr(what).to_string());
        self.0.detach(ctx, to, what).await?;
        Ok(Vec::new())
    }
}

/// The spec of an attachment kind whose ends are `props`.
const fn spec(type_name: &'static str, props: &'static [PropSpec]) -> KindSpec {
    KindSpec {
        type_name,
        props,
        attrs: &[],
        name_rule: None,
        ownership: Ownership::Parent,
        missing: Missing::IOT,
        facts: &[],
    }
}

/// An IoT policy attached to a target: a certificate ARN or a Cognito identity id.
pub struct PolicyTarget;

pub static POLICY_ATTACHMENT: KindSpec = spec(
    "iot_policy_attachment",
    &[
        PropSpec::required(
            "policy",
            PropType::Str,
            "the IoT policy name, e.g. `${device-policy.name}`",
        )
        .force_new(),
        PropSpec::required(
            "target",
            PropType::Str,
            "a certificate ARN or a Cognito identity id, e.g. `${device-cert.arn}`",
        )
        .force_new(),
    ],
);

#[async_trait]
impl Link for PolicyTarget {
    fn spec(&self) -> &'static KindSpec {
        &POLICY_ATTACHMENT
    }

    async fn attached(&self, ctx: &Ctx, policy: &str) -> Result<Vec<String>, AwsError> {
        iot_policy::targets(ctx, policy).await
    }

    async fn attach(&self, ctx: &Ctx, policy: &str, target: &str) -> Result<(), AwsError> {
        iot_policy::attach(ctx, policy, target).await
    }

    async fn detach(&self, ctx: &Ctx, policy: String, target: String) -> Result<usize, AwsError> {
        iot_policy::detach(ctx, [(policy, target)]).await
    }
}

/// A certificate (principal) attached to a thing.
pub struct ThingPrincipal;

pub static THING_PRINCIPAL: KindSpec = spec(
    "iot_thing_principal",
    &[
        PropSpec::required(
            "thing",
            PropType::Str,
            "the thing name, e.g. `${device-thing.name}`",
        )
        .force_new(),
        PropSpec::required(
            "principal",
            PropType::Str,
            "the certificate ARN, e.g. `${device-cert.arn}`",
        )
        .force_new(),
    ],
);

#[async_trait]
impl Link for ThingPrincipal {
    fn spec(&self) -> &'static KindSpec {
        &THING_PRINCIPAL
    }

    async fn attached(&self, ctx: &Ctx, thing: &str) -> Result<Vec<String>, AwsError> {
        iot_thing::principals(ctx, thing).await
    }

    async fn attach(&self, ctx: &Ctx, thing: &str, principal: &str) -> Result<(), AwsError> {
        iot_thing::attach(ctx, thing, principal).await
    }

    async fn detach(&self, ctx: &Ctx, thing: String, principal: String) -> Result<usize, AwsError> {
        iot_thing::detach(ctx, [(thing, principal)]).await
    }
}
