//! An IoT policy attached to a target: a certificate ARN or a Cognito identity id.

use async_trait::async_trait;
use serde_json::Value;

use super::{iot_policy, Ctx, Desired, Kind, Observed, PropSpec, PropType};
use crate::aws::{found, gone, OpExt};
use crate::error::AwsError;

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

#[async_trait]
impl Kind for IotPolicyAttachment {
    fn type_name(&self) -> &'static str {
        "iot_policy_attachment"
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
        let (policy, target) = (want.str("policy"), want.str("target"));
        let Some(targets) = found(iot_policy::targets(ctx, policy).await)? else {
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

    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), AwsError> {
        ctx.clients
            .iot
            .attach_policy()
            .policy_name(want.str("policy"))
            .target(want.str("target"))
            .send()
            .await
            .op("AttachPolicy")?;
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
                .detach_policy()
                .policy_name(have.attr("policy"))
                .target(have.attr("target"))
                .send()
                .await
                .op("DetachPolicy")
                .map(|_| ()),
        )?;
        Ok(Vec::new())
    }
}
