//! AWS IoT thing. Things cannot carry tags, so the stack tag is kept as a thing attribute.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

use super::support::{delete_after_detach, remove_each};
use super::{
    map_value, Changes, Ctx, Desired, KindSpec, Manage, NameRule, Observed, Ownership, PropSpec,
    PropType, Read,
};
use crate::aws::{Missing, OpExt};
use crate::error::{AwsError, ResourceError};

pub struct IotThing;

static PROPS: &[PropSpec] = &[
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
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "iot_thing",
    props: PROPS,
    attrs: &["name", "arn"],
    name_rule: Some(NameRule::ascii(128, ":_-", "an IoT thing name")),
    ownership: Ownership::Attribute,
    missing: Missing::IOT,
    facts: &[],
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
    call.principal(principal)
        .send()
        .await
        .op("AttachThingPrincipal")?;
    Ok(())
}

/// Detaches each `(thing, principal)` link; a link already gone is done.
pub async fn detach(
    ctx: &Ctx,
    links: impl IntoIterator<Item = (String, String)>,
) -> Result<usize, AwsError> {
    let iot = &ctx.clients.iot;
    remove_each(links, "DetachThingPrincipal", Missing::IOT, |(t, p)| {
        iot.detach_thing_principal()
            .thing_name(t)
            .principal(p)
            .send()
    })
    .await
}

fn payload(want: &Desired) -> aws_sdk_iot::types::AttributePayload {
    let mut attrs = want.str_map("attributes");
    attrs.extend(want.tags());
    aws_sdk_iot::types::AttributePayload::builder()
        .set_attributes(Some(attrs.into_iter().collect()))
        .merge(false)
        .build()
}

#[async_trait]
impl Read for IotThing {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let name = want.str("name");
        let Some(t) = Missing::IOT.found(
            ctx.clients
                .iot
                .describe_thing()
                .thing_name(name)
                .send()
                .await
                .op("DescribeThing"),
        )?
        else {
            return Ok(None);
        };
        let want_tags = want.tags();
        let all: BTreeMap<String, String> = t
            .attributes()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let (tags, attrs): (BTreeMap<_, _>, BTreeMap<_, _>) = all
            .into_iter()
            .partition(|(k, _)| want_tags.contains_key(k));
        let mut o = Observed::default();
        o.props
            .insert("name".into(), Value::String(name.to_string()));
        o.props.insert("attributes".into(), map_value(&attrs));
        o.props.insert("tags".into(), map_value(&tags));
        o.attrs.insert("name".into(), name.to_string());
        o.attrs
            .insert("arn".into(), t.thing_arn().unwrap_or_default().to_string());
        Ok(Some(o))
    }
}

#[async_trait]
impl Manage for IotThing {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        ctx.clients
            .iot
            .create_thing()
            .thing_name(want.str("name"))
            .attribute_payload(payload(want))
            .send()
            .await
            .op("CreateThing")?;
        Ok(())
    }

    async fn update(
        &self,
        ctx: &Ctx,
        want: &Desired,
        _have: &Observed,
        _changes: Changes<'_>,
    ) -> Result<(), ResourceError> {
        ctx.clients
            .iot
            .update_thing()
            .thing_name(want.str("name"))
            .attribute_payload(payload(want))
            .send()
            .await
            .op("UpdateThing")?;
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let name = have.attr("name");
        let attached = Missing::IOT.found(principals(ctx, name).await)?;
        let links = attached
            .into_iter()
            .flatten()
            .map(|p| (name.to_string(), p));
        detach(ctx, links).await?;
        // Detaching principals is asynchronous: the delete may be refused for a while.
        let conflicts = ["InvalidRequestException", "DeleteConflictException"];
        delete_after_detach("DeleteThing", &conflicts, Missing::IOT, || {
            ctx.clients.iot.delete_thing().thing_name(name).send()
        })
        .await?;
        Ok(Vec::new())
    }
}
