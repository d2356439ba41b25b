//! Attachments: a link between two IoT resources that is there or not, named by its two ends
//! (both force a replacement) and owned by the stack that owns its ends. One implementation,
//! [`Attachment`], serves every [`Link`]: `iot_policy_attachment` attaches an IoT policy to a
//! target (a certificate ARN, a thing group ARN or a Cognito identity id), `iot_thing_principal`
//! a certificate to a thing, `iot_thing_group_member` a thing to a thing group.

use async_trait::async_trait;
use serde_json::json;

use super::{
    iot_policy, iot_thing, iot_thing_group, Created, Ctx, Desired, Fetch, KindSpec, Manage,
    Observed, Ownership, PropSpec, PropType,
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
impl<L: Link> Fetch for Attachment<L> {
    /// Everything attached to the resource the attachment is made to.
    type Fetched = Vec<String>;

    fn spec(&self) -> &'static KindSpec {
        self.0.spec()
    }

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Vec<String>>, ResourceError> {
        let to = want.str(self.ends().0);
        let found = self
            .0
            .spec()
            .missing
            .found(self.0.attached(ctx, to).await)?;
        Ok(found)
    }

    fn observe(&self, attached: Vec<String>, want: &Desired) -> Option<Observed> {
        let (to_prop, what_prop) = self.ends();
        let (to, what) = (want.str(to_prop), want.str(what_prop));
        if !attached.iter().any(|a| a == what) {
            return None;
        }
        let ends = json!({ to_prop: to, what_prop: what });
        Some(Observed::new(ends.clone(), ends))
    }
}

#[async_trait]
impl<L: Link> Manage for Attachment<L> {
    /// A link has no attributes of its own.
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let (to, what) = self.ends();
        self.0.attach(ctx, want.str(to), want.str(what)).await?;
        Ok(Created::new())
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
        deleted_with: &[],
    }
}

/// An IoT policy attached to a target: a certificate ARN, a thing group ARN (the policy then
/// applies to every member's certificates) or a Cognito identity id. ListTargetsForPolicy lists
/// all three.
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
            "a certificate ARN, a thing group ARN or a Cognito identity id, e.g. `${device-cert.arn}` or `${fleet.arn}`",
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

/// A thing in a thing group. Read from the thing's side (ListThingGroupsForThing): one call per
/// member, however large the group.
pub struct ThingGroupMember;

pub static THING_GROUP_MEMBER: KindSpec = spec(
    "iot_thing_group_member",
    &[
        PropSpec::required(
            "thing",
            PropType::Str,
            "the thing name, e.g. `${device-thing.name}`",
        )
        .force_new(),
        PropSpec::required(
            "thing_group",
            PropType::Str,
            "the thing group name, e.g. `${fleet.name}`",
        )
        .force_new(),
    ],
);

#[async_trait]
impl Link for ThingGroupMember {
    fn spec(&self) -> &'static KindSpec {
        &THING_GROUP_MEMBER
    }

    async fn attached(&self, ctx: &Ctx, thing: &str) -> Result<Vec<String>, AwsError> {
        iot_thing_group::groups_of(ctx, thing).await
    }

    async fn attach(&self, ctx: &Ctx, thing: &str, group: &str) -> Result<(), AwsError> {
        iot_thing_group::add(ctx, thing, group).await
    }

    async fn detach(&self, ctx: &Ctx, thing: String, group: String) -> Result<usize, AwsError> {
        iot_thing_group::remove(ctx, thing, group).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attachment_is_live_when_its_target_lists_it() {
        let cert = "arn:aws:iot:eu-west-1:123456789012:cert/abc";
        let want = Desired::from_json(
            "device-policy-attachment",
            json!({"policy": "p-device-policy", "target": cert}),
        );
        let kind = Attachment(PolicyTarget);
        let listed = vec!["eu-west-1:identity".to_string(), cert.to_string()];
        let o = kind.observe(listed, &want).expect("attached");
        assert_eq!(o.props["target"], json!(cert));
        assert_eq!(o.attr("policy"), "p-device-policy");
        // The policy exists but is attached elsewhere only.
        let elsewhere = vec!["eu-west-1:identity".to_string()];
        assert!(kind.observe(elsewhere, &want).is_none());
    }

    #[test]
    fn a_thing_principal_reads_its_two_ends() {
        let cert = "arn:aws:iot:eu-west-1:123456789012:cert/abc";
        let want = Desired::from_json(
            "device-thing-principal",
            json!({"thing": "p-thing", "principal": cert}),
        );
        let o = Attachment(ThingPrincipal)
            .observe(vec![cert.to_string()], &want)
            .expect("attached");
        assert_eq!(o.attr("thing"), "p-thing");
        assert_eq!(o.attr("principal"), cert);
    }

    #[test]
    fn a_thing_is_a_member_when_its_groups_list_the_group() {
        let want = Desired::from_json(
            "device-member",
            json!({"thing": "p-device-001", "thing_group": "p-fleet"}),
        );
        let kind = Attachment(ThingGroupMember);
        let o = kind.observe(vec!["p-fleet".into()], &want).expect("member");
        assert_eq!(o.attr("thing_group"), "p-fleet");
        assert!(kind.observe(vec!["other".into()], &want).is_none());
    }
}
