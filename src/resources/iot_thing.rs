//! AWS IoT thing. Things cannot carry tags, so the stack tag is kept as a thing attribute.

use std::collections::BTreeMap;

use aws_sdk_iot::operation::create_thing::CreateThingOutput;
use aws_sdk_iot::operation::describe_thing::DescribeThingOutput;
use aws_sdk_iot::types::AttributePayload;
use serde_json::json;

use super::map_value;
use super::prelude::*;
use super::support::{delete_after_detach, remove_each};
use crate::error::AwsError;

pub struct IotThing;

pub static SPEC: KindSpec = KindSpec {
    type_name: "iot_thing",
    props: &[
        PropSpec::required(
            "name",
            PropType::Str,
            "the thing name, e.g. `${prefix}-thing`",
        )
        .force_new(),
        PropSpec::optional(
            "attributes",
            PropType::StrMap,
            "thing attributes: name -> value",
        ),
    ],
    attrs: &["name", "arn"],
    name_rule: Some(NameRule::ascii(128, ":_-", "an IoT thing name")),
    ownership: Ownership::Attribute,
    missing: Missing::IOT,
    facts: &[],
    deleted_with: &[],
};

/// Every principal (certificate ARN) attached to the thing.
pub async fn principals(ctx: &Ctx, thing: &str) -> Result<Vec<String>, AwsError> {
    let list = ctx.clients.iot.list_thing_principals().thing_name(thing);
    let pages = list.into_paginator().items().send();
    pages.try_collect().await.op("ListThingPrincipals")
}

/// Attaches a principal (a certificate ARN) to the thing.
pub async fn attach(ctx: &Ctx, thing: &str, principal: &str) -> Result<(), AwsError> {
    let call = ctx.clients.iot.attach_thing_principal().thing_name(thing);
    let call = call.principal(principal);
    call.send().await.op("AttachThingPrincipal")?;
    Ok(())
}

/// Detaches each `(thing, principal)` link; a link already gone is done.
pub async fn detach(
    ctx: &Ctx,
    links: impl IntoIterator<Item = (String, String)>,
) -> Result<usize, AwsError> {
    let iot = &ctx.clients.iot;
    remove_each(links, "DetachThingPrincipal", SPEC.missing, |(t, p)| {
        iot.detach_thing_principal()
            .thing_name(t)
            .principal(p)
            .send()
    })
    .await
}

/// The thing's attributes: those of the stack file and the stack tag, replacing all others.
fn payload(want: &Desired) -> AttributePayload {
    let mut attrs = want.str_map("attributes");
    attrs.extend(want.tags());
    let attrs = attrs.into_iter().collect();
    AttributePayload::builder()
        .set_attributes(Some(attrs))
        .merge(false)
        .build()
}

/// What a thing's create tells of it: its name, and the ARN CreateThing answered.
fn created(made: &CreateThingOutput, want: &Desired) -> Created {
    let arn = made.thing_arn().unwrap_or_default();
    super::created([("name", want.str("name")), ("arn", arn)])
}

#[async_trait]
impl Fetch for IotThing {
    module_spec!(DescribeThingOutput);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let call = ctx
            .clients
            .iot
            .describe_thing()
            .thing_name(want.str("name"));
        Ok(SPEC.missing.found(call.send().await.op("DescribeThing"))?)
    }

    /// The stack tag lives among the thing's attributes: it is told apart by its key.
    fn observe(&self, t: DescribeThingOutput, want: &Desired) -> Option<Observed> {
        let want_tags = want.tags();
        let all = t.attributes.clone().unwrap_or_default();
        let (tags, attrs): (BTreeMap<_, _>, BTreeMap<_, _>) = all
            .into_iter()
            .partition(|(k, _)| want_tags.contains_key(k));
        Some(Observed::new(
            json!({
                "name": want.str("name"),
                "attributes": map_value(&attrs),
                "tags": map_value(&tags),
            }),
            json!({ "name": want.str("name"), "arn": t.thing_arn().unwrap_or_default() }),
        ))
    }
}

#[async_trait]
impl Manage for IotThing {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let call = ctx.clients.iot.create_thing().thing_name(want.str("name"));
        let call = call.attribute_payload(payload(want));
        let made = call.send().await.op("CreateThing")?;
        Ok(created(&made, want))
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (ctx, want) = (u.ctx, u.want);
        let call = ctx.clients.iot.update_thing().thing_name(want.str("name"));
        let call = call.attribute_payload(payload(want));
        call.send().await.op("UpdateThing")?;
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let name = have.attr("name");
        // A thing with principals attached is not deleted: AWS answers InvalidRequestException
        // ("Cannot delete thing which has attached principals"). The stack's own attachments
        // went first, so the delete is made at once; only when AWS refuses are the thing's
        // principals listed and detached, and the delete retried while the detaches propagate
        // ("This call is asynchronous. It might take several seconds for the detachment to
        // propagate", DetachThingPrincipal).
        let conflicts = ["InvalidRequestException", "DeleteConflictException"];
        let first = ctx.clients.iot.delete_thing().thing_name(name).send().await;
        match first.op("DeleteThing") {
            Err(e) if conflicts.contains(&e.code.as_deref().unwrap_or_default()) => {}
            other => {
                SPEC.missing.gone(other)?;
                return Ok(Vec::new());
            }
        }
        let attached = SPEC.missing.found(principals(ctx, name).await)?;
        let links = attached.into_iter().flatten();
        detach(ctx, links.map(|p| (name.to_string(), p))).await?;
        delete_after_detach("DeleteThing", &conflicts, SPEC.missing, || {
            ctx.clients.iot.delete_thing().thing_name(name).send()
        })
        .await?;
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_tag_is_told_apart_from_the_attributes() {
        let thing = DescribeThingOutput::builder()
            .thing_name("p-thing")
            .thing_arn("arn:aws:iot:eu-west-1:123456789012:thing/p-thing")
            .attributes("iotstack:stack", "p")
            .attributes("model", "m1")
            .build();
        let want = Desired::from_json(
            "device-thing",
            json!({"name": "p-thing", "tags": {"iotstack:stack": "p"}}),
        );
        let o = IotThing.observe(thing, &want).unwrap();
        assert_eq!(o.props["attributes"], json!({"model": "m1"}));
        assert_eq!(o.props["tags"], json!({"iotstack:stack": "p"}));
        assert_eq!(
            o.attr("arn"),
            "arn:aws:iot:eu-west-1:123456789012:thing/p-thing"
        );
    }

    #[test]
    fn a_create_tells_what_the_read_observes() {
        let arn = "arn:aws:iot:eu-west-1:123456789012:thing/p-thing";
        let made = CreateThingOutput::builder()
            .thing_name("p-thing")
            .thing_arn(arn)
            .thing_id("0a1b2c3d")
            .build();
        let described = DescribeThingOutput::builder()
            .thing_name("p-thing")
            .thing_arn(arn)
            .build();
        let want = Desired::from_json("device-thing", json!({"name": "p-thing"}));
        let o = IotThing.observe(described, &want).unwrap();
        crate::resources::assert_created_as_observed(&SPEC, &created(&made, &want), &o);
    }

    #[test]
    fn a_thing_without_attributes_has_empty_maps() {
        let want = Desired::from_json("t", json!({"name": "p-thing"}));
        let o = IotThing.observe(DescribeThingOutput::builder().build(), &want);
        let o = o.unwrap();
        assert_eq!(o.props["attributes"], json!({}));
        assert_eq!(o.props["tags"], json!({}));
        assert_eq!(o.attr("arn"), "");
    }
}
