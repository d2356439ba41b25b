//! Cognito user pool app client (no secret, for browsers and devices).

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, TimeUnitsType, TokenValidityUnitsType, UserPoolClientType,
};
use serde_json::Value;

use super::{
    Changes, Ctx, Desired, KindSpec, Manage, Observed, Ownership, PropSpec, PropType, Read,
};
use crate::aws::{Missing, OpExt};
use crate::error::{AwsError, ResourceError};

pub struct CognitoUserPoolClient;

static PROPS: &[PropSpec] = &[
    PropSpec::required(
        "name",
        PropType::Str,
        "the client name, e.g. `${prefix}-app-client`",
    ),
    PropSpec::required(
        "user_pool_id",
        PropType::Str,
        "the pool, e.g. `${user-pool.id}`",
    )
    .force_new(),
    PropSpec::optional(
        "explicit_auth_flows",
        PropType::StrList,
        "e.g. [ALLOW_USER_PASSWORD_AUTH, ALLOW_REFRESH_TOKEN_AUTH]",
    ),
    PropSpec::optional(
        "refresh_token_validity_days",
        PropType::Int,
        "days a refresh token is valid (default 30)",
    )
    // RefreshTokenValidity in days: 60 minutes to 10 years; 0 stands for the default.
    .range(1, 3650),
    PropSpec::optional(
        "generate_secret",
        PropType::Bool,
        "give the client a secret (default false)",
    )
    .force_new(),
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "cognito_user_pool_client",
    props: PROPS,
    attrs: &["id", "name"],
    name_rule: None,
    ownership: Ownership::Parent,
    missing: Missing::COGNITO,
    facts: &[],
};

fn flows(want: &Desired) -> Vec<ExplicitAuthFlowsType> {
    want.value("explicit_auth_flows")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(ExplicitAuthFlowsType::from))
        .collect()
}

fn refresh_days(want: &Desired) -> i32 {
    want.value("refresh_token_validity_days")
        .as_i64()
        .unwrap_or(30) as i32
}

fn units() -> TokenValidityUnitsType {
    TokenValidityUnitsType::builder()
        .refresh_token(TimeUnitsType::Days)
        .build()
}

async fn find(ctx: &Ctx, pool: &str, name: &str) -> Result<Option<UserPoolClientType>, AwsError> {
    let idp = &ctx.clients.cognito_idp;
    let list = idp
        .list_user_pool_clients()
        .user_pool_id(pool)
        .max_results(60);
    let clients = list.into_paginator().items().send().try_collect().await;
    let Some(clients) = Missing::COGNITO.found(clients.op("ListUserPoolClients"))? else {
        return Ok(None);
    };
    let Some(id) = clients.into_iter().find(|c| c.client_name() == Some(name)) else {
        return Ok(None);
    };
    let call = idp.describe_user_pool_client().user_pool_id(pool);
    let r = call.set_client_id(id.client_id).send().await;
    let d = Missing::COGNITO.found(r.op("DescribeUserPoolClient"))?;
    Ok(d.and_then(|d| d.user_pool_client))
}

#[async_trait]
impl Read for CognitoUserPoolClient {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let (pool, name) = (want.str("user_pool_id"), want.str("name"));
        let Some(c) = find(ctx, pool, name).await? else {
            return Ok(None);
        };
        let mut fl: Vec<String> = c
            .explicit_auth_flows()
            .iter()
            .map(|f| f.as_str().to_string())
            .collect();
        fl.sort();
        // AWS reports the validity in the unit it was set in; iotstack sets days.
        let days = match c.token_validity_units().and_then(|u| u.refresh_token()) {
            Some(TimeUnitsType::Hours) => c.refresh_token_validity() / 24,
            Some(TimeUnitsType::Minutes) => c.refresh_token_validity() / 1440,
            Some(TimeUnitsType::Seconds) => c.refresh_token_validity() / 86400,
            _ => c.refresh_token_validity(),
        };
        let mut o = Observed::default();
        o.props
            .insert("name".into(), Value::String(name.to_string()));
        o.props
            .insert("user_pool_id".into(), Value::String(pool.to_string()));
        o.props.insert(
            "explicit_auth_flows".into(),
            Value::Array(fl.into_iter().map(Value::String).collect()),
        );
        o.props
            .insert("refresh_token_validity_days".into(), Value::from(days));
        o.props.insert(
            "generate_secret".into(),
            Value::Bool(c.client_secret().is_some_and(|s| !s.is_empty())),
        );
        o.attrs
            .insert("id".into(), c.client_id().unwrap_or_default().to_string());
        o.attrs.insert("name".into(), name.to_string());
        o.attrs.insert("user_pool_id".into(), pool.to_string());
        Ok(Some(o))
    }
}

#[async_trait]
impl Manage for CognitoUserPoolClient {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        let req = ctx
            .clients
            .cognito_idp
            .create_user_pool_client()
            .user_pool_id(want.str("user_pool_id"))
            .client_name(want.str("name"))
            .generate_secret(want.bool("generate_secret", false))
            .set_explicit_auth_flows(Some(flows(want)))
            .refresh_token_validity(refresh_days(want))
            .token_validity_units(units());
        let send = || {
            let over = aws_sdk_cognitoidentityprovider::config::Builder::default()
                .retry_config(super::once::no_retry());
            req.clone().customize().config_override(over).send()
        };
        let find = || super::Read::read(self, ctx, want);
        super::once::create("CreateUserPoolClient", find, send).await?;
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
            .cognito_idp
            .update_user_pool_client()
            .user_pool_id(have.attr("user_pool_id"))
            .client_id(have.attr("id"))
            .client_name(want.str("name"))
            .set_explicit_auth_flows(Some(flows(want)))
            .refresh_token_validity(refresh_days(want))
            .token_validity_units(units())
            .send()
            .await
            .op("UpdateUserPoolClient")?;
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let call = ctx.clients.cognito_idp.delete_user_pool_client();
        let call = call
            .user_pool_id(have.attr("user_pool_id"))
            .client_id(have.attr("id"));
        Missing::COGNITO.gone(call.send().await.op("DeleteUserPoolClient"))?;
        Ok(Vec::new())
    }
}
