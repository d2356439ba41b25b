//! Cognito user pool app client (no secret, for browsers and devices). UpdateUserPoolClient resets
//! what it is not sent, so an update describes the client and sends its whole configuration back
//! with only the changed properties replaced.

use aws_sdk_cognitoidentityprovider::operation::update_user_pool_client::builders::UpdateUserPoolClientInputBuilder;
use aws_sdk_cognitoidentityprovider::operation::update_user_pool_client::UpdateUserPoolClientInput;
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, TimeUnitsType, TokenValidityUnitsType, UserPoolClientType,
};
use serde_json::json;

use super::prelude::*;
use crate::error::AwsError;

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
    // A pool's app clients and users exist only in it: "After you delete a user pool, users can
    // no longer sign in to any associated applications" and Cognito deletes "all resources from
    // deleted user pools" (Cognito API reference, DeleteUserPool).
    deleted_with: &["cognito_user_pool"],
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

/// The client named `name` in the pool, as DescribeUserPoolClient answers it; `None` when the
/// pool or the client is not there.
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

/// The UpdateUserPoolClient request that brings `client` (as DescribeUserPoolClient answered)
/// to `want`, changing only the properties in `changes`.
///
/// The API reference of UpdateUserPoolClient warns: "If you don't provide a value for an
/// attribute, Amazon Cognito sets it to its default value." So every setting of the client is
/// sent back as it is (callback and logout URLs, OAuth flows and scopes, supported identity
/// providers, access and ID token validities, read and write attributes, analytics, token
/// revocation...), and only the changed ones are replaced.
pub fn update_request(
    client: &UserPoolClientType,
    want: &Desired,
    changes: Changes<'_>,
) -> UpdateUserPoolClientInputBuilder {
    let c = client.clone();
    let name = match changes.has("name") {
        true => Some(want.str("name").to_string()),
        false => c.client_name,
    };
    let flows = match changes.has("explicit_auth_flows") {
        true => Some(flows(want)),
        false => c.explicit_auth_flows,
    };
    // A validity of 0 is one Cognito never set: sending it back would be refused.
    let mut refresh = Some(c.refresh_token_validity).filter(|v| *v != 0);
    let mut units = c.token_validity_units;
    if changes.has("refresh_token_validity_days") {
        refresh = Some(refresh_days(want));
        let mut u = units.unwrap_or(TokenValidityUnitsType::builder().build());
        u.refresh_token = Some(TimeUnitsType::Days);
        units = Some(u);
    }
    UpdateUserPoolClientInput::builder()
        .set_user_pool_id(c.user_pool_id)
        .set_client_id(c.client_id)
        .set_client_name(name)
        .set_refresh_token_validity(refresh)
        .set_access_token_validity(c.access_token_validity)
        .set_id_token_validity(c.id_token_validity)
        .set_token_validity_units(units)
        .set_read_attributes(c.read_attributes)
        .set_write_attributes(c.write_attributes)
        .set_explicit_auth_flows(flows)
        .set_supported_identity_providers(c.supported_identity_providers)
        .set_callback_urls(c.callback_urls)
        .set_logout_urls(c.logout_urls)
        .set_default_redirect_uri(c.default_redirect_uri)
        .set_allowed_o_auth_flows(c.allowed_o_auth_flows)
        .set_allowed_o_auth_scopes(c.allowed_o_auth_scopes)
        .set_allowed_o_auth_flows_user_pool_client(c.allowed_o_auth_flows_user_pool_client)
        .set_analytics_configuration(c.analytics_configuration)
        .set_prevent_user_existence_errors(c.prevent_user_existence_errors)
        .set_enable_token_revocation(c.enable_token_revocation)
        .set_enable_propagate_additional_user_context_data(
            c.enable_propagate_additional_user_context_data,
        )
        .set_auth_session_validity(c.auth_session_validity)
        .set_refresh_token_rotation(c.refresh_token_rotation)
}

/// What a client's create tells of it: CreateUserPoolClient answers the new client as a
/// `UserPoolClientType`, the type DescribeUserPoolClient answers, so its id and name are those
/// the read observes of it.
fn created(client: UserPoolClientType, want: &Desired) -> Created {
    let o = CognitoUserPoolClient.observe(client, want);
    o.map(|o| o.created(&SPEC)).unwrap_or_default()
}

#[async_trait]
impl Fetch for CognitoUserPoolClient {
    module_spec!(UserPoolClientType);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let (pool, name) = (want.str("user_pool_id"), want.str("name"));
        // By the id the stack's record gives it: one call instead of a listing, then a call.
        if let Some(id) = want.recorded_attr("id") {
            let call = ctx.clients.cognito_idp.describe_user_pool_client();
            let r = call.user_pool_id(pool).client_id(id).send().await;
            let d = Missing::COGNITO.found(r.op("DescribeUserPoolClient"))?;
            let client = d.and_then(|d| d.user_pool_client);
            if let Some(c) = client.filter(|c| c.client_name() == Some(name)) {
                return Ok(Some(c));
            }
        }
        Ok(find(ctx, pool, name).await?)
    }

    fn observe(&self, c: UserPoolClientType, want: &Desired) -> Option<Observed> {
        let (pool, name) = (want.str("user_pool_id"), want.str("name"));
        let mut flows: Vec<&str> = c.explicit_auth_flows().iter().map(|f| f.as_str()).collect();
        flows.sort();
        // AWS reports the validity in the unit it was set in; iotstack sets days.
        let validity = c.refresh_token_validity();
        let days = match c.token_validity_units().and_then(|u| u.refresh_token()) {
            Some(TimeUnitsType::Hours) => validity / 24,
            Some(TimeUnitsType::Minutes) => validity / 1440,
            Some(TimeUnitsType::Seconds) => validity / 86400,
            _ => validity,
        };
        Some(Observed::new(
            json!({
                "name": name,
                "user_pool_id": pool,
                "explicit_auth_flows": flows,
                "refresh_token_validity_days": days,
                "generate_secret": c.client_secret().is_some_and(|s| !s.is_empty()),
            }),
            json!({
                "id": c.client_id().unwrap_or_default(),
                "name": name,
                "user_pool_id": pool,
            }),
        ))
    }
}

#[async_trait]
impl Manage for CognitoUserPoolClient {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
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
        let send = || super::once::send_unretried!(aws_sdk_cognitoidentityprovider, req);
        let find = || super::Read::read(self, ctx, want);
        let made = super::once::create("CreateUserPoolClient", find, send).await?;
        Ok(made.created(&SPEC, |out| match out.user_pool_client {
            Some(client) => created(client, want),
            None => Created::new(),
        }))
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (ctx, want, have, changes) = (u.ctx, u.want, u.have, u.changes);
        let idp = &ctx.clients.cognito_idp;
        // Describe, merge, then update: see `update_request`.
        let call = idp.describe_user_pool_client();
        let call = call.user_pool_id(have.attr("user_pool_id"));
        let described = call.client_id(have.attr("id")).send().await;
        let Some(client) = described.op("DescribeUserPoolClient")?.user_pool_client else {
            return Err(ResourceError::Other {
                operation: "DescribeUserPoolClient",
                message: "Cognito answered without the app client".into(),
            });
        };
        let request = update_request(&client, want, changes);
        request.send_with(idp).await.op("UpdateUserPoolClient")?;
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

#[cfg(test)]
mod tests {
    use aws_sdk_cognitoidentityprovider::types::OAuthFlowType;

    use super::*;
    use crate::resources::support::changed;

    fn want() -> Desired {
        Desired::from_json(
            "app-client",
            json!({
                "name": "p-app-client", "user_pool_id": "eu-west-1_AbCdEf",
                "explicit_auth_flows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                "refresh_token_validity_days": 200,
            }),
        )
    }

    /// DescribeUserPoolClient's answer, with settings the stack does not model.
    fn described() -> UserPoolClientType {
        UserPoolClientType::builder()
            .user_pool_id("eu-west-1_AbCdEf")
            .client_name("p-app-client")
            .client_id("5example0client0id")
            .refresh_token_validity(30)
            .access_token_validity(5)
            .token_validity_units(
                TokenValidityUnitsType::builder()
                    .refresh_token(TimeUnitsType::Days)
                    .access_token(TimeUnitsType::Minutes)
                    .build(),
            )
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .callback_urls("https://app.example.com/callback")
            .logout_urls("https://app.example.com/bye")
            .supported_identity_providers("COGNITO")
            .allowed_o_auth_flows(OAuthFlowType::Code)
            .allowed_o_auth_scopes("openid")
            .allowed_o_auth_flows_user_pool_client(true)
            .enable_token_revocation(true)
            .build()
    }

    #[test]
    fn flows_are_sorted_and_the_validity_read_in_days() {
        let mut c = described();
        c.refresh_token_validity = 48;
        c.token_validity_units = Some(
            TokenValidityUnitsType::builder()
                .refresh_token(TimeUnitsType::Hours)
                .build(),
        );
        let o = CognitoUserPoolClient.observe(c, &want()).unwrap();
        assert_eq!(
            o.props["explicit_auth_flows"],
            json!(["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"])
        );
        assert_eq!(o.props["refresh_token_validity_days"], json!(2));
        assert_eq!(o.props["generate_secret"], json!(false));
        assert_eq!(o.attr("id"), "5example0client0id");
        assert_eq!(o.attr("user_pool_id"), "eu-west-1_AbCdEf");
    }

    #[test]
    fn a_create_tells_what_the_read_observes() {
        let made = UserPoolClientType::builder()
            .user_pool_id("eu-west-1_AbCdEf")
            .client_name("p-app-client")
            .client_id("5example0client0id")
            .build();
        let o = CognitoUserPoolClient.observe(described(), &want()).unwrap();
        crate::resources::assert_created_as_observed(&SPEC, &created(made, &want()), &o);
    }

    #[test]
    fn an_update_sends_back_what_the_stack_does_not_model() {
        let changes = changed(&["refresh_token_validity_days"]);
        let input = update_request(&described(), &want(), Changes(&changes))
            .build()
            .unwrap();
        assert_eq!(input.refresh_token_validity(), Some(200), "the change");
        let units = input.token_validity_units().unwrap();
        assert_eq!(units.refresh_token(), Some(&TimeUnitsType::Days));
        assert_eq!(units.access_token(), Some(&TimeUnitsType::Minutes));
        assert_eq!(input.access_token_validity(), Some(5));
        assert_eq!(input.client_id(), Some("5example0client0id"));
        assert_eq!(input.client_name(), Some("p-app-client"));
        assert_eq!(input.callback_urls(), ["https://app.example.com/callback"]);
        assert_eq!(input.logout_urls(), ["https://app.example.com/bye"]);
        assert_eq!(input.supported_identity_providers(), ["COGNITO"]);
        assert_eq!(input.allowed_o_auth_flows(), [OAuthFlowType::Code]);
        assert_eq!(input.allowed_o_auth_scopes(), ["openid"]);
        assert_eq!(input.allowed_o_auth_flows_user_pool_client(), Some(true));
        assert_eq!(input.enable_token_revocation(), Some(true));
        assert_eq!(input.explicit_auth_flows().len(), 2);
    }

    #[test]
    fn changed_flows_replace_the_live_ones_and_nothing_else() {
        let mut want = want();
        want.props
            .insert("explicit_auth_flows".into(), json!(["ALLOW_USER_SRP_AUTH"]));
        let input = update_request(
            &described(),
            &want,
            Changes(&changed(&["explicit_auth_flows"])),
        )
        .build()
        .unwrap();
        assert_eq!(
            input.explicit_auth_flows(),
            [ExplicitAuthFlowsType::AllowUserSrpAuth]
        );
        assert_eq!(
            input.refresh_token_validity(),
            Some(30),
            "unchanged: as AWS has it"
        );
        assert_eq!(input.callback_urls(), ["https://app.example.com/callback"]);
    }
}
