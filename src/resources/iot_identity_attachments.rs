//! The IoT policy attached to every identity already in an identity pool, page by page.
//! (New identities attach themselves through the attach function's URL; `doctor --fix` repairs
//! one.)

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde_json::Value;

use super::{
    iot_policy, Changes, Ctx, Desired, KindSpec, Manage, Observed, Ownership, PropSpec, PropType,
    Read,
};
use crate::aws::{Missing, OpExt};
use crate::error::{AwsError, ResourceError};

pub struct IotIdentityAttachments;

static PROPS: &[PropSpec] = &[
    PropSpec::required(
        "policy",
        PropType::Str,
        "the IoT policy, e.g. `${identity-iot-policy.name}`",
    )
    .force_new(),
    PropSpec::required(
        "identity_pool_id",
        PropType::Str,
        "the pool, e.g. `${identity-pool.id}`",
    )
    .force_new(),
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "iot_identity_attachments",
    props: PROPS,
    attrs: &[],
    name_rule: None,
    ownership: Ownership::Parent,
    missing: Missing::IOT,
    facts: &["all_identities_attached"],
};

/// Every identity id in the pool. (ListIdentities has no paginator in the SDK: the pages are
/// followed here.)
pub async fn identities(ctx: &Ctx, pool: &str) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let list = ctx.clients.cognito_identity.list_identities();
        let list = list
            .identity_pool_id(pool)
            .max_results(60)
            .set_next_token(token);
        let r = list.send().await.op("ListIdentities")?;
        let ids = r.identities().iter().filter_map(|i| i.identity_id());
        out.extend(ids.map(str::to_string));
        token = r.next_token().filter(|t| !t.is_empty()).map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

async fn missing(
    ctx: &Ctx,
    policy: &str,
    pool: &str,
) -> Result<Option<(Vec<String>, usize)>, AwsError> {
    let Some(targets) = Missing::IOT.found(iot_policy::targets(ctx, policy).await)? else {
        return Ok(None);
    };
    let Some(ids) = Missing::COGNITO.found(identities(ctx, pool).await)? else {
        return Ok(None);
    };
    let targets: BTreeSet<String> = targets.into_iter().collect();
    let total = ids.len();
    Ok(Some((
        ids.into_iter().filter(|i| !targets.contains(i)).collect(),
        total,
    )))
}

#[async_trait]
impl Read for IotIdentityAttachments {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let (policy, pool) = (want.str("policy"), want.str("identity_pool_id"));
        let Some((missing, total)) = missing(ctx, policy, pool).await? else {
            return Ok(None);
        };
        let mut o = Observed::default();
        o.props
            .insert("policy".into(), Value::String(policy.to_string()));
        o.props
            .insert("identity_pool_id".into(), Value::String(pool.to_string()));
        o.props.insert(
            "all_identities_attached".into(),
            Value::Bool(missing.is_empty()),
        );
        if !missing.is_empty() {
            o.notes.push(format!(
                "{} of {total} identities lack the policy: {}",
                missing.len(),
                missing.join(", ")
            ));
        }
        o.attrs.insert("policy".into(), policy.to_string());
        o.attrs.insert("identity_pool_id".into(), pool.to_string());
        Ok(Some(o))
    }
}

#[async_trait]
impl Manage for IotIdentityAttachments {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        let (policy, pool) = (want.str("policy"), want.str("identity_pool_id"));
        let Some((missing, _)) = missing(ctx, policy, pool).await? else {
            return Ok(());
        };
        for id in missing {
            iot_policy::attach(ctx, policy, &id).await?;
        }
        Ok(())
    }

    async fn update(
        &self,
        ctx: &Ctx,
        want: &Desired,
        _have: &Observed,
        _changes: Changes<'_>,
    ) -> Result<(), ResourceError> {
        self.create(ctx, want).await
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let (policy, pool) = (have.attr("policy"), have.attr("identity_pool_id"));
        let Some(targets) = Missing::IOT.found(iot_policy::targets(ctx, policy).await)? else {
            return Ok(Vec::new());
        };
        let ids = Missing::COGNITO.found(identities(ctx, pool).await)?;
        let ids: BTreeSet<String> = ids.unwrap_or_default().into_iter().collect();
        let ours = targets.into_iter().filter(|t| ids.contains(t));
        iot_policy::detach(ctx, ours.map(|t| (policy.to_string(), t))).await?;
        Ok(Vec::new())
    }
}
