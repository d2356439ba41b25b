//! An IoT policy attached to a target: a certificate ARN or a Cognito identity id.

use async_trait::async_trait;
use serde_json::Value;

use super::{
    iot_policy, Ctx, Desired, KindSpec, Manage, Observed, Ownership, PropSpec, PropType, Read,
};
use crate::aws::Missing;
use crate::error::ResourceError;

pub struct IotPolicyAttachment;

static PROPS: &[PropSpec] = &[
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
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "iot_policy_attachment",
    props: PROPS,
    attrs: &[],
    name_rule: None,
    ownership: Ownership::Parent,
    missing: Missing::IOT,
    facts: &[],
};

#[async_trait]
impl Read for IotPolicyAttachment {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let (policy, target) = (want.str("policy"), want.str("target"));
        let Some(targets) = Missing::IOT.found(iot_policy::targets(ctx, policy).await)? else {
            return Ok(None);
        };
        if !targets.iter().any(|t| t == target) {
            return Ok(None);
        }
        let mut o = Observed::default();
        for (k, v) in [("policy", policy), ("target", target)] {
            o.props.insert(k.into(), Value::String(v.to_string()));
            o.attrs.insert(k.into(), v.to_string());
        }
        Ok(Some(o))
    }
}

#[async_trait]
impl Manage for IotPolicyAttachment {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        iot_policy::attach(ctx, want.str("policy"), want.str("target")).await?;
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let link = (
            have.attr("policy").to_string(),
            have.attr("target").to_string(),
        );
        iot_policy::detach(ctx, [link]).await?;
        Ok(Vec::new())
    }
}
