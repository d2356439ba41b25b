//! A certificate (principal) attached to a thing.

use async_trait::async_trait;
use serde_json::Value;

use super::{
    iot_thing, Ctx, Desired, KindSpec, Manage, Observed, Ownership, PropSpec, PropType, Read,
};
use crate::aws::Missing;
use crate::error::ResourceError;

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

pub static SPEC: KindSpec = KindSpec {
    type_name: "iot_thing_principal",
    props: PROPS,
    attrs: &[],
    name_rule: None,
    ownership: Ownership::Parent,
    missing: Missing::IOT,
    facts: &[],
};

#[async_trait]
impl Read for IotThingPrincipal {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let (thing, principal) = (want.str("thing"), want.str("principal"));
        let Some(list) = Missing::IOT.found(iot_thing::principals(ctx, thing).await)? else {
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
}

#[async_trait]
impl Manage for IotThingPrincipal {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        iot_thing::attach(ctx, want.str("thing"), want.str("principal")).await?;
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let link = (
            have.attr("thing").to_string(),
            have.attr("principal").to_string(),
        );
        iot_thing::detach(ctx, [link]).await?;
        Ok(Vec::new())
    }
}
