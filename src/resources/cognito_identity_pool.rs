//! Cognito identity pool with a user pool as its provider. Names are not unique, so the pool is
//! found through its `iotstack:stack` tag.

use async_trait::async_trait;
use aws_sdk_cognitoidentity::types::CognitoIdentityProvider;
use serde_json::Value;

use super::{
    check_chars, wanted_tags, Ctx, Desired, Kind, Observed, PropSpec, PropType, STACK_TAG,
};
use crate::aws::{found, gone, OpExt};
use crate::error::AwsError;

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

fn provider(want: &Desired) -> Result<CognitoIdentityProvider, AwsError> {
    Ok(CognitoIdentityProvider::builder()
        .provider_name(want.str("provider_name"))
        .client_id(want.str("client_id"))
        .server_side_token_check(false)
        .build())
}

#[async_trait]
impl Kind for CognitoIdentityPool {
    fn type_name(&self) -> &'static str {
        "cognito_identity_pool"
    }
    fn props(&self) -> &'static [PropSpec] {
        PROPS
    }
    fn attrs(&self) -> &'static [&'static str] {
        &["id", "name", "arn"]
    }
    fn check_name(&self, name: &str) -> Option<String> {
        check_chars(
            name,
            128,
            |c| c.is_alphanumeric() || c.is_whitespace() || "+=,.@-_".contains(c),
            "a Cognito identity pool name",
        )
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, AwsError> {
        let name = want.str("name");
        let ci = &ctx.clients.cognito_identity;
        let mut token = None;
        loop {
            let r = ci
                .list_identity_pools()
                .max_results(60)
                .set_next_token(token)
                .send()
                .await
                .op("ListIdentityPools")?;
            for p in r.identity_pools() {
                if p.identity_pool_name() != Some(name) {
                    continue;
                }
                let Some(id) = p.identity_pool_id() else {
                    continue;
                };
                let Some(d) = found(
                    ci.describe_identity_pool()
                        .identity_pool_id(id)
                        .send()
                        .await
                        .op("DescribeIdentityPool"),
                )?
                else {
                    continue;
                };
                let ours = d
                    .identity_pool_tags()
                    .and_then(|t| t.get(STACK_TAG))
                    .is_some_and(|v| v == &ctx.prefix);
                if !ours {
                    continue;
                }
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
                    format!(
                        "arn:aws:cognito-identity:{}:{}:identitypool/{id}",
                        ctx.region, ctx.account
                    ),
                );
                return Ok(Some(o));
            }
            token = r.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                return Ok(None);
            }
        }
    }

    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), AwsError> {
        ctx.clients
            .cognito_identity
            .create_identity_pool()
            .identity_pool_name(want.str("name"))
            .allow_unauthenticated_identities(want.bool("allow_unauthenticated", false))
            .cognito_identity_providers(provider(want)?)
            .set_identity_pool_tags(Some(want.tags().into_iter().collect()))
            .send()
            .await
            .op("CreateIdentityPool")?;
        Ok(())
    }

    async fn update(&self, ctx: &Ctx, want: &Desired, have: &Observed) -> Result<(), AwsError> {
        ctx.clients
            .cognito_identity
            .update_identity_pool()
            .identity_pool_id(have.attr("id"))
            .identity_pool_name(want.str("name"))
            .allow_unauthenticated_identities(want.bool("allow_unauthenticated", false))
            .cognito_identity_providers(provider(want)?)
            .set_identity_pool_tags(Some(want.tags().into_iter().collect()))
            .send()
            .await
            .op("UpdateIdentityPool")?;
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, AwsError> {
        gone(
            ctx.clients
                .cognito_identity
                .delete_identity_pool()
                .identity_pool_id(have.attr("id"))
                .send()
                .await
                .op("DeleteIdentityPool")
                .map(|_| ()),
        )?;
        Ok(Vec::new())
    }
}
