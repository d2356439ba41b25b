//! Cognito identity pool with a user pool as its provider. Names are not unique, so the pool is
//! found through its `iotstack:stack` tag.

use async_trait::async_trait;
use aws_sdk_cognitoidentity::operation::describe_identity_pool::DescribeIdentityPoolOutput;
use aws_sdk_cognitoidentity::types::CognitoIdentityProvider;
use serde_json::Value;

use super::support::{first_owned, tag_map};
use super::{
    wanted_tags, Changes, Ctx, Desired, KindSpec, Manage, NameRule, Observed, Ownership, PropSpec,
    PropType, Read,
};
use crate::aws::{Missing, OpExt};
use crate::error::{AwsError, ResourceError};

pub struct CognitoIdentityPool;

static PROPS: &[PropSpec] = &[
    PropSpec::required(
        "name",
        PropType::Str,
        "the pool name, e.g. `${prefix}-edge-identity-pool`",
    ),
    PropSpec::optional(
        "allow_unauthenticated",
        PropType::Bool,
        "allow guest identities (default false)",
    ),
    PropSpec::required(
        "provider_name",
        PropType::Str,
        "the user pool provider, e.g. `${user-pool.provider_name}`",
    ),
    PropSpec::required(
        "client_id",
        PropType::Str,
        "the app client, e.g. `${app-client.id}`",
    ),
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "cognito_identity_pool",
    props: PROPS,
    attrs: &["id", "name", "arn"],
    name_rule: Some(NameRule::ascii(128, "+=,.@-_", "a Cognito identity pool name").any_script()),
    ownership: Ownership::FoundByTag,
    missing: Missing::COGNITO,
    facts: &[],
};

fn provider(want: &Desired) -> CognitoIdentityProvider {
    CognitoIdentityProvider::builder()
        .provider_name(want.str("provider_name"))
        .client_id(want.str("client_id"))
        .server_side_token_check(false)
        .build()
}

/// The pool of this stack with the wanted name: listed by name, owned through the stack tag.
async fn find(ctx: &Ctx, name: &str) -> Result<Option<DescribeIdentityPoolOutput>, AwsError> {
    let ci = &ctx.clients.cognito_identity;
    let pages = ci.list_identity_pools().max_results(60).into_paginator();
    let pools = pages
        .items()
        .send()
        .try_collect()
        .await
        .op("ListIdentityPools")?;
    let named = pools
        .into_iter()
        .filter(|p| p.identity_pool_name() == Some(name));
    let ids = named.filter_map(|p| p.identity_pool_id).collect();
    let describe = |id: String| async move {
        let r = ci
            .describe_identity_pool()
            .identity_pool_id(id)
            .send()
            .await;
        Missing::COGNITO.found(r.op("DescribeIdentityPool"))
    };
    first_owned(ids, &ctx.prefix, describe, |d| d.identity_pool_tags()).await
}

#[async_trait]
impl Read for CognitoIdentityPool {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let name = want.str("name");
        let Some(d) = find(ctx, name).await? else {
            return Ok(None);
        };
        let id = d.identity_pool_id();
        let prov = d.cognito_identity_providers().first();
        let s = |v: &str| Value::String(v.to_string());
        let mut o = Observed::default();
        o.props.insert("name".into(), s(name));
        o.props.insert(
            "allow_unauthenticated".into(),
            Value::Bool(d.allow_unauthenticated_identities()),
        );
        o.props.insert(
            "provider_name".into(),
            s(prov.and_then(|p| p.provider_name()).unwrap_or_default()),
        );
        o.props.insert(
            "client_id".into(),
            s(prov.and_then(|p| p.client_id()).unwrap_or_default()),
        );
        o.props.insert(
            "tags".into(),
            wanted_tags(
                want,
                d.identity_pool_tags()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            ),
        );
        o.attrs.insert("id".into(), id.to_string());
        o.attrs.insert("name".into(), name.to_string());
        o.attrs.insert(
            "arn".into(),
            ctx.arn("cognito-identity", &format!("identitypool/{id}")),
        );
        Ok(Some(o))
    }
}

#[async_trait]
impl Manage for CognitoIdentityPool {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        let req = ctx
            .clients
            .cognito_identity
            .create_identity_pool()
            .identity_pool_name(want.str("name"))
            .allow_unauthenticated_identities(want.bool("allow_unauthenticated", false))
            .cognito_identity_providers(provider(want))
            .set_identity_pool_tags(Some(tag_map(want)));
        let send = || {
            let over = aws_sdk_cognitoidentity::config::Builder::default()
                .retry_config(super::once::no_retry());
            req.clone().customize().config_override(over).send()
        };
        let find = || super::Read::read(self, ctx, want);
        super::once::create("CreateIdentityPool", find, send).await?;
        Ok(())
    }

    async fn update(
        &self,
        ctx: &Ctx,
        want: &Desired,
        have: &Observed,
        _changes: Changes<'_>,
    ) -> Result<(), ResourceError> {
        ctx.clients
            .cognito_identity
            .update_identity_pool()
            .identity_pool_id(have.attr("id"))
            .identity_pool_name(want.str("name"))
            .allow_unauthenticated_identities(want.bool("allow_unauthenticated", false))
            .cognito_identity_providers(provider(want))
            .set_identity_pool_tags(Some(tag_map(want)))
            .send()
            .await
            .op("UpdateIdentityPool")?;
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let call = ctx.clients.cognito_identity.delete_identity_pool();
        let r = call.identity_pool_id(have.attr("id")).send().await;
        Missing::COGNITO.gone(r.op("DeleteIdentityPool"))?;
        Ok(Vec::new())
    }
}
