//! A certificate (principal) attached to a thing.

use async_trait::async_trait;
use serde_json::Value;

use super::{iot_thing, Ctx, Desired, Kind, Observed, PropSpec, PropType};
use crate::aws::{found, gone, OpExt};
use crate::error::AwsError;

pub struct IotThingPrincipal;

static PROPS: &[PropSpec] = &[
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
];

#[async_trait]
impl Kind for IotThingPrincipal {
    fn type_name(&self) -> &'static str {
        "iot_thing_principal"
    }
    fn props(&self) -> &'static [PropSpec] {
        PROPS
    }
    fn attrs(&self) -> &'static [&'static str] {
        &[]
    }
    fn taggable(&self) -> bool {
        false
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, AwsError> {
        let (thing, principal) = (want.str("thing"), want.str("principal"));
        let Some(list) = found(iot_thing::principals(ctx, thing).await)? else {
            return Ok(None);
        };
        if !list.iter().any(|p| p == principal) {
            return Ok(None);
        }
        let mut o = Observed::default();
        for (k, v) in [("thing", thing), ("principal", principal)] {
            o.props.insert(k.into(), Value::String(v.to_string()));
            o.attrs.insert(k.into(), v.to_string());
        }
        Ok(Some(o))
    }

    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), AwsError> {
        ctx.clients
            .iot
            .attach_thing_principal()
            .thing_name(want.str("thing"))
            .principal(want.str("principal"))
            .send()
            .await
            .op("AttachThingPrincipal")?;
        Ok(())
    }

    async fn update(&self, _ctx: &Ctx, _want: &Desired, _have: &Observed) -> Result<(), AwsError> {
        // Both properties force a replacement: there is nothing to change in place.
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, AwsError> {
        gone(
            ctx.clients
                .iot
                .detach_thing_principal()
                .thing_name(have.attr("thing"))
                .principal(have.attr("principal"))
                .send()
                .await
                .op("DetachThingPrincipal")
                .map(|_| ()),
        )?;
        Ok(Vec::new())
    }
}
