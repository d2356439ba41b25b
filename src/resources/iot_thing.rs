//! AWS IoT thing. Things cannot carry tags, so the stack tag is kept as a thing attribute.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

use super::{check_chars, map_value, Ctx, Desired, Kind, Observed, PropSpec, PropType};
use crate::aws::{found, gone, retry_on, OpExt, CONFLICT_ATTEMPTS, CONFLICT_PAUSE};
use crate::error::AwsError;

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

/// Every principal (certificate ARN) attached to the thing.
pub async fn principals(ctx: &Ctx, thing: &str) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let r = ctx
            .clients
            .iot
            .list_thing_principals()
            .thing_name(thing)
            .set_next_token(token)
            .send()
            .await
            .op("ListThingPrincipals")?;
        out.extend(r.principals().iter().cloned());
        token = r.next_token().filter(|t| !t.is_empty()).map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
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
impl Kind for IotThing {
    fn type_name(&self) -> &'static str {
        "iot_thing"
    }
    fn props(&self) -> &'static [PropSpec] {
        PROPS
    }
    fn attrs(&self) -> &'static [&'static str] {
        &["name", "arn"]
    }
    fn check_name(&self, name: &str) -> Option<String> {
        check_chars(
            name,
            128,
            |c| c.is_ascii_alphanumeric() || ":_-".contains(c),
            "an IoT thing name",
        )
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, AwsError> {
        let name = want.str("name");
        let Some(t) = found(
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

    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), AwsError> {
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

    async fn update(&self, ctx: &Ctx, want: &Desired, _have: &Observed) -> Result<(), AwsError> {
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

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, AwsError> {
        let name = have.attr("name");
        for p in found(principals(ctx, name).await)?.unwrap_or_default() {
            gone(
                ctx.clients
                    .iot
                    .detach_thing_principal()
                    .thing_name(name)
                    .principal(&p)
                    .send()
                    .await
                    .op("DetachThingPrincipal")
                    .map(|_| ()),
            )?;
        }
        // Detaching principals is asynchronous: the delete may be refused for a while.
        gone(
            retry_on(
                &["InvalidRequestException", "DeleteConflictException"],
                CONFLICT_ATTEMPTS,
                CONFLICT_PAUSE,
                || async {
                    ctx.clients
                        .iot
                        .delete_thing()
                        .thing_name(name)
                        .send()
                        .await
                        .op("DeleteThing")
                        .map(|_| ())
                },
            )
            .await,
        )?;
        Ok(Vec::new())
    }
}
