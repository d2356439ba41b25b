//! AWS IoT thing group, tagged with the stack mark. A fleet's device policy is attached to the
//! group once (AttachPolicy's target "is the identity to which the policy is attached. For
//! example, a thing group or a certificate", API_AttachPolicy) instead of once per certificate:
//! AWS IoT Core evaluates a thing group's policies for a device through the thing its
//! certificate is attached to (AttachThingPrincipal), the same thing `${iot:Connection.Thing.ThingName}`
//! resolves to ("AWS IoT Core uses the certificate the device presents when it authenticates to
//! determine which thing to use", thing-policy-variables.html; the MQTT client id must equal the
//! thing name). Members are `iot_thing_group_member` attachments.

use aws_sdk_iot::operation::create_thing_group::CreateThingGroupOutput;
use aws_sdk_iot::operation::describe_thing_group::DescribeThingGroupOutput;
use aws_sdk_iot::types::{Tag, ThingGroupProperties};
use serde_json::json;

use super::prelude::*;
use super::support::{
    iot_arn_ahead, iot_tag, iot_tags, iot_tags_after, iot_tags_beside, iot_wanted_tags,
};
use crate::error::AwsError;

pub struct IotThingGroup;

pub static SPEC: KindSpec = KindSpec::tagged(
    "iot_thing_group",
    &[
        PropSpec::required(
            "name",
            PropType::Str,
            "the thing group name, e.g. `${prefix}-fleet`",
        )
        .force_new(),
        PropSpec::optional("description", PropType::Str, "what the group is for"),
    ],
    NameRule::ascii(128, ":_-", "an IoT thing group name"),
    Missing::IOT,
);

/// The groups a thing belongs to (their names): one call per thing, whatever the group's size.
pub async fn groups_of(ctx: &Ctx, thing: &str) -> Result<Vec<String>, AwsError> {
    let list = ctx
        .clients
        .iot
        .list_thing_groups_for_thing()
        .thing_name(thing);
    let groups: Vec<_> = list
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .op("ListThingGroupsForThing")?;
    Ok(groups.into_iter().filter_map(|g| g.group_name).collect())
}

/// Adds the thing to the group.
pub async fn add(ctx: &Ctx, thing: &str, group: &str) -> Result<(), AwsError> {
    let call = ctx.clients.iot.add_thing_to_thing_group();
    let call = call.thing_name(thing).thing_group_name(group);
    call.send().await.op("AddThingToThingGroup")?;
    Ok(())
}

/// Removes the thing from the group; a thing or group already gone is done.
pub async fn remove(ctx: &Ctx, thing: String, group: String) -> Result<usize, AwsError> {
    let iot = &ctx.clients.iot;
    super::support::remove_each(
        [(thing, group)],
        "RemoveThingFromThingGroup",
        SPEC.missing,
        |(t, g)| {
            iot.remove_thing_from_thing_group()
                .thing_name(t)
                .thing_group_name(g)
                .send()
        },
    )
    .await
}

/// What a thing group's create tells of it: its name, and the ARN CreateThingGroup answered.
fn created(made: &CreateThingGroupOutput, want: &Desired) -> Created {
    let arn = made.thing_group_arn().unwrap_or_default();
    super::created([("name", want.str("name")), ("arn", arn)])
}

/// What AWS answers about a thing group: the group, and its tags.
pub struct Fetched {
    pub group: DescribeThingGroupOutput,
    pub tags: Vec<Tag>,
}

#[async_trait]
impl Fetch for IotThingGroup {
    module_spec!(Fetched);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let call = ctx.clients.iot.describe_thing_group();
        let call = call.thing_group_name(want.str("name"));
        // The tags are asked for beside it, by the ARN known ahead: one round trip.
        let ahead = iot_arn_ahead(ctx, want, "thinggroup/");
        let recorded = Some(ahead.as_str());
        let early = iot_tags_beside(ctx, recorded);
        let (group, early) = futures::join!(call.send(), early);
        let Some(group) = SPEC.missing.found(group.op("DescribeThingGroup"))? else {
            return Ok(None);
        };
        let arn = group.thing_group_arn().unwrap_or_default();
        let tags = iot_tags_after(ctx, early, recorded, arn).await?;
        Ok(Some(Fetched { group, tags }))
    }

    fn observe(&self, f: Fetched, want: &Desired) -> Option<Observed> {
        let g = &f.group;
        let description = g
            .thing_group_properties()
            .and_then(|p| p.thing_group_description())
            .unwrap_or_default();
        let mut props = json!({
            "name": want.str("name"),
            "tags": iot_wanted_tags(want, &f.tags),
        });
        if !description.is_empty() || want.opt_str("description").is_some() {
            props["description"] = json!(description);
        }
        Some(Observed::new(
            props,
            json!({
                "name": want.str("name"),
                "arn": g.thing_group_arn().unwrap_or_default(),
            }),
        ))
    }
}

fn properties(want: &Desired) -> ThingGroupProperties {
    let description = want.opt_str("description").unwrap_or_default();
    ThingGroupProperties::builder()
        .thing_group_description(description)
        .build()
}

#[async_trait]
impl Manage for IotThingGroup {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let call = ctx.clients.iot.create_thing_group();
        let call = call.thing_group_name(want.str("name"));
        let call = call.thing_group_properties(properties(want));
        let call = call.set_tags(Some(iot_tags(want)));
        let made = call.send().await.op("CreateThingGroup")?;
        Ok(created(&made, want))
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (ctx, want, have, changes) = (u.ctx, u.want, u.have, u.changes);
        if changes.has("description") {
            let call = ctx.clients.iot.update_thing_group();
            let call = call.thing_group_name(want.str("name"));
            let call = call.thing_group_properties(properties(want));
            call.send().await.op("UpdateThingGroup")?;
        }
        if changes.has("tags") {
            iot_tag(ctx, have.attr("arn"), want).await?;
        }
        Ok(())
    }

    /// DeleteThingGroup deletes the group, not its member things; the stack's memberships and
    /// the group's policy attachment are dependents, so they are gone first.
    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let call = ctx.clients.iot.delete_thing_group();
        let call = call.thing_group_name(have.attr("name"));
        SPEC.missing
            .found(call.send().await.op("DeleteThingGroup"))?;
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iot::types::ThingGroupProperties;

    fn tag(k: &str, v: &str) -> Tag {
        Tag::builder().key(k).value(v).build().unwrap()
    }

    #[test]
    fn a_group_reads_its_description_tags_and_arn() {
        let arn = "arn:aws:iot:eu-west-1:123456789012:thinggroup/p-fleet";
        let group = DescribeThingGroupOutput::builder()
            .thing_group_name("p-fleet")
            .thing_group_arn(arn)
            .thing_group_properties(
                ThingGroupProperties::builder()
                    .thing_group_description("the fleet")
                    .build(),
            )
            .build();
        let want = Desired::from_json(
            "fleet",
            json!({"name": "p-fleet", "description": "the fleet", "tags": {"iotstack:stack": "p"}}),
        );
        let tags = vec![tag("iotstack:stack", "p")];
        let o = IotThingGroup
            .observe(Fetched { group, tags }, &want)
            .unwrap();
        assert_eq!(o.props["description"], json!("the fleet"));
        assert_eq!(o.props["tags"], json!({"iotstack:stack": "p"}));
        assert_eq!(o.attr("arn"), arn);
        assert_eq!(o.attr("name"), "p-fleet");
    }

    #[test]
    fn a_create_tells_what_the_read_observes() {
        let arn = "arn:aws:iot:eu-west-1:123456789012:thinggroup/p-fleet";
        let made = CreateThingGroupOutput::builder()
            .thing_group_name("p-fleet")
            .thing_group_arn(arn)
            .thing_group_id("0a1b2c3d")
            .build();
        let group = DescribeThingGroupOutput::builder()
            .thing_group_name("p-fleet")
            .thing_group_arn(arn)
            .build();
        let want = Desired::from_json("fleet", json!({"name": "p-fleet"}));
        let o = IotThingGroup
            .observe(
                Fetched {
                    group,
                    tags: vec![],
                },
                &want,
            )
            .unwrap();
        crate::resources::assert_created_as_observed(&SPEC, &created(&made, &want), &o);
    }

    #[test]
    fn a_group_without_a_description_has_none() {
        let want = Desired::from_json("fleet", json!({"name": "p-fleet"}));
        let group = DescribeThingGroupOutput::builder().build();
        let o = IotThingGroup.observe(
            Fetched {
                group,
                tags: vec![],
            },
            &want,
        );
        assert!(o
            .unwrap()
            .props
            .get("description")
            .is_none_or(|d| d.is_null()));
    }
}
