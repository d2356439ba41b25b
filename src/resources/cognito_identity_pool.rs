//! Cognito identity pool with a user pool as its provider. Names are not unique: the pool is read
//! by the id the stack's record gives it, else (no record yet, or doctor's survey) found among
//! the pools listed under its name through its `iotstack:stack` tag. UpdateIdentityPool resets what it is not sent, so an
//! update describes the pool and sends its whole configuration back with only the changed
//! properties replaced.

use std::collections::HashMap;

use aws_sdk_cognitoidentity::operation::create_identity_pool::CreateIdentityPoolOutput;
use aws_sdk_cognitoidentity::operation::describe_identity_pool::DescribeIdentityPoolOutput;
use aws_sdk_cognitoidentity::operation::update_identity_pool::builders::UpdateIdentityPoolInputBuilder;
use aws_sdk_cognitoidentity::operation::update_identity_pool::UpdateIdentityPoolInput;
use aws_sdk_cognitoidentity::types::CognitoIdentityProvider;
use serde_json::json;

use super::prelude::*;
use super::support::{
    all_owned, carries_stack_tag, kept_tags, resolve_duplicates, tag_map, Duplicates, Located,
};
use super::wanted_tags;
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
    PropSpec::optional(
        "allow_classic_flow",
        PropType::Bool,
        "allow the basic (classic) flow, GetOpenIdToken then STS AssumeRoleWithWebIdentity \
         (default false); guests of the enhanced flow get a session policy without Secrets Manager",
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
    // No second identity pool under the stack's name carries its mark (see `keep`).
    facts: &["unique"],
    deleted_with: &[],
};

fn provider(want: &Desired) -> CognitoIdentityProvider {
    CognitoIdentityProvider::builder()
        .provider_name(want.str("provider_name"))
        .client_id(want.str("client_id"))
        .server_side_token_check(false)
        .build()
}

/// The pool of this stack with the wanted name: listed by name, owned through the stack tag; and
/// the other pools of that name that carry the stack's mark (duplicates).
async fn find(
    ctx: &Ctx,
    name: &str,
) -> Result<Option<(DescribeIdentityPoolOutput, Duplicates)>, AwsError> {
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
    let owned = all_owned(ids, &ctx.prefix, describe, |d| d.identity_pool_tags()).await?;
    if owned.len() < 2 {
        return Ok(owned.into_iter().next().map(|p| (p, Duplicates::default())));
    }
    // Duplicates (rare): each pool's identities are counted, and its roles looked up, to choose
    // the one to keep.
    let mut counted = Vec::new();
    for pool in owned {
        let id = pool.identity_pool_id().to_string();
        let n = identities(ctx, id.clone()).await?.unwrap_or(0);
        let call = ci.get_identity_pool_roles().identity_pool_id(id);
        let roles = Missing::COGNITO.found(call.send().await.op("GetIdentityPoolRoles"))?;
        let has_roles = roles.is_some_and(|r| !r.roles().unwrap_or(&HashMap::new()).is_empty());
        counted.push((pool, n, has_roles));
    }
    Ok(keep(counted))
}

/// Of the pools marked for the stack, with their identities counted and whether roles are set
/// on them, the one it keeps: the one with the most identities, then one with roles (the stack
/// sets them right after it makes its pool; a pool made twice by a create retried after its
/// answer was lost has none), then the lowest id. The others are duplicates.
fn keep(
    mut pools: Vec<(DescribeIdentityPoolOutput, i64, bool)>,
) -> Option<(DescribeIdentityPoolOutput, Duplicates)> {
    pools.sort_by(|(a, na, ra), (b, nb, rb)| {
        nb.cmp(na)
            .then(rb.cmp(ra))
            .then(a.identity_pool_id().cmp(b.identity_pool_id()))
    });
    let mut rest = pools.into_iter();
    let (kept, _, _) = rest.next()?;
    let others = rest.map(|(p, n, _)| (p.identity_pool_id().to_string(), n));
    Some((kept, Duplicates(others.collect())))
}

/// How many identities the pool `id` has (up to 60, one page); `None` when the pool is gone.
async fn identities(ctx: &Ctx, id: String) -> Result<Option<i64>, AwsError> {
    let call = ctx
        .clients
        .cognito_identity
        .list_identities()
        .identity_pool_id(id);
    let listed = Missing::COGNITO.found(call.max_results(60).send().await.op("ListIdentities"))?;
    Ok(listed.map(|l| l.identities().len() as i64))
}

async fn delete_pool(ctx: &Ctx, id: String) -> Result<(), AwsError> {
    let call = ctx.clients.cognito_identity.delete_identity_pool();
    let r = call.identity_pool_id(id).send().await;
    Missing::COGNITO.gone(r.op("DeleteIdentityPool"))
}

/// The UpdateIdentityPool request that brings `pool` (as DescribeIdentityPool answered) to
/// `want`, changing only the properties in `changes`.
///
/// The API reference of UpdateIdentityPool warns: "If you don't provide a value for a parameter,
/// Amazon Cognito sets it to its default value." So every setting of the pool is sent back as it
/// is (the developer provider name, supported login providers, OpenID Connect and SAML
/// providers, other user pool providers, the classic flow, tags iotstack does not own), and
/// only the changed ones are replaced. The stack's user pool provider is the first one.
pub fn update_request(
    pool: &DescribeIdentityPoolOutput,
    want: &Desired,
    changes: Changes<'_>,
) -> UpdateIdentityPoolInputBuilder {
    let p = pool.clone();
    let name = match changes.has("name") {
        true => want.str("name").to_string(),
        false => p.identity_pool_name,
    };
    let guests = match changes.has("allow_unauthenticated") {
        true => want.bool("allow_unauthenticated", false),
        false => p.allow_unauthenticated_identities,
    };
    let classic = match changes.has("allow_classic_flow") {
        true => Some(want.bool("allow_classic_flow", false)),
        false => p.allow_classic_flow,
    };
    let mut providers = p.cognito_identity_providers.unwrap_or_default();
    if changes.any(&["provider_name", "client_id"]) {
        let mut ours = provider(want);
        if let Some(old) = providers.first() {
            ours.server_side_token_check = old.server_side_token_check;
            providers.remove(0);
        }
        providers.insert(0, ours);
    }
    UpdateIdentityPoolInput::builder()
        .identity_pool_id(p.identity_pool_id)
        .identity_pool_name(name)
        .allow_unauthenticated_identities(guests)
        .set_allow_classic_flow(classic)
        .set_supported_login_providers(p.supported_login_providers)
        .set_developer_provider_name(p.developer_provider_name)
        .set_open_id_connect_provider_arns(p.open_id_connect_provider_arns)
        .set_cognito_identity_providers(Some(providers))
        .set_saml_provider_arns(p.saml_provider_arns)
        .set_identity_pool_tags(Some(kept_tags(p.identity_pool_tags.as_ref(), want)))
}

/// The pool DescribeIdentityPool answered, with its ARN (Cognito's answers carry none).
fn located(ctx: &Ctx, pool: DescribeIdentityPoolOutput) -> Located<DescribeIdentityPoolOutput> {
    let resource = format!("identitypool/{}", pool.identity_pool_id());
    Located::at(ctx, pool, "cognito-identity", &resource)
}

/// What a pool's create tells of it: the id CreateIdentityPool answered, its name, and its ARN
/// built as the read builds it (see [`located`]).
fn created(ctx: &Ctx, made: &CreateIdentityPoolOutput, want: &Desired) -> Created {
    let id = made.identity_pool_id();
    let arn = ctx.arn("cognito-identity", &format!("identitypool/{id}"));
    super::created([("id", id), ("name", want.str("name")), ("arn", &arn)])
}

#[async_trait]
impl Fetch for CognitoIdentityPool {
    type Fetched = Located<DescribeIdentityPoolOutput>;

    module_spec!();

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let name = want.str("name");
        // By the id the record gives it: one call, whatever else the account holds. Only a
        // stack with no record (or a record AWS no longer answers to), and doctor's survey,
        // list the account's identity pools.
        if let Some(id) = want.recorded_attr("id") {
            let ci = &ctx.clients.cognito_identity;
            let r = ci
                .describe_identity_pool()
                .identity_pool_id(id)
                .send()
                .await;
            let pool = Missing::COGNITO.found(r.op("DescribeIdentityPool"))?;
            let ours = |p: &DescribeIdentityPoolOutput| {
                p.identity_pool_name() == name
                    && carries_stack_tag(p.identity_pool_tags(), &ctx.prefix)
            };
            if let Some(pool) = pool.filter(ours) {
                return Ok(Some(located(ctx, pool)));
            }
        }
        let found = find(ctx, name).await?;
        Ok(found.map(|(pool, duplicates)| located(ctx, pool).with_duplicates(duplicates)))
    }

    fn observe(&self, f: Located<DescribeIdentityPoolOutput>, want: &Desired) -> Option<Observed> {
        let (d, name) = (&f.answer, want.str("name"));
        let id = d.identity_pool_id();
        let prov = d.cognito_identity_providers().first();
        let tags = d.identity_pool_tags().into_iter().flatten();
        Some(
            Observed::new(
                json!({
                    "name": name,
                    "allow_unauthenticated": d.allow_unauthenticated_identities(),
                    "allow_classic_flow": d.allow_classic_flow().unwrap_or(false),
                    "provider_name": prov.and_then(|p| p.provider_name()).unwrap_or_default(),
                    "client_id": prov.and_then(|p| p.client_id()).unwrap_or_default(),
                    "tags": wanted_tags(want, tags.map(|(k, v)| (k.as_str(), v.as_str()))),
                    "unique": f.duplicates.0.is_empty(),
                }),
                json!({ "id": id, "name": name, "arn": f.arn, "duplicates": f.duplicates.attr() }),
            )
            .note(f.duplicates.note("identity pool", name, id, "identities")),
        )
    }
}

#[async_trait]
impl Manage for CognitoIdentityPool {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let req = ctx
            .clients
            .cognito_identity
            .create_identity_pool()
            .identity_pool_name(want.str("name"))
            .allow_unauthenticated_identities(want.bool("allow_unauthenticated", false))
            .allow_classic_flow(want.bool("allow_classic_flow", false))
            .cognito_identity_providers(provider(want))
            .set_identity_pool_tags(Some(tag_map(want)));
        let send = || super::once::send_unretried!(aws_sdk_cognitoidentity, req);
        let find = || super::Read::read(self, ctx, want);
        let made = super::once::create("CreateIdentityPool", find, send).await?;
        Ok(made.created(&SPEC, |out| created(ctx, &out, want)))
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (count, delete) = (|id| identities(u.ctx, id), |id| delete_pool(u.ctx, id));
        if !resolve_duplicates(&u, "identity pool", "identities", count, delete).await? {
            return Ok(());
        }
        let (ctx, want, have, changes) = (u.ctx, u.want, u.have, u.changes);
        let ci = &ctx.clients.cognito_identity;
        // Describe, merge, then update: see `update_request`.
        let call = ci
            .describe_identity_pool()
            .identity_pool_id(have.attr("id"));
        let pool = call.send().await.op("DescribeIdentityPool")?;
        let request = update_request(&pool, want, changes);
        request.send_with(ci).await.op("UpdateIdentityPool")?;
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let call = ctx.clients.cognito_identity.delete_identity_pool();
        let r = call.identity_pool_id(have.attr("id")).send().await;
        Missing::COGNITO.gone(r.op("DeleteIdentityPool"))?;
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::support::changed;

    fn want() -> Desired {
        Desired::from_json(
            "identity-pool",
            json!({
                "name": "p-edge-identity-pool", "allow_unauthenticated": true,
                "allow_classic_flow": true,
                "provider_name": "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf",
                "client_id": "5example0client0id",
                "tags": {"iotstack:stack": "p"},
            }),
        )
    }

    /// DescribeIdentityPool's answer, with settings the stack does not model.
    fn described() -> DescribeIdentityPoolOutput {
        let ours = CognitoIdentityProvider::builder()
            .provider_name("cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf")
            .client_id("5example0client0id")
            .server_side_token_check(true)
            .build();
        let other = CognitoIdentityProvider::builder()
            .provider_name("cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other")
            .client_id("other0client")
            .build();
        DescribeIdentityPoolOutput::builder()
            .identity_pool_id("eu-west-1:11111111-2222-3333-4444-555555555555")
            .identity_pool_name("p-edge-identity-pool")
            .allow_unauthenticated_identities(false)
            .allow_classic_flow(true)
            .developer_provider_name("login.example")
            .supported_login_providers("accounts.google.com", "123.apps.googleusercontent.com")
            .open_id_connect_provider_arns("arn:aws:iam::123456789012:oidc-provider/id.example")
            .saml_provider_arns("arn:aws:iam::123456789012:saml-provider/corp")
            .cognito_identity_providers(ours)
            .cognito_identity_providers(other)
            .identity_pool_tags("iotstack:stack", "p")
            .identity_pool_tags("team", "edge")
            .build()
            .unwrap()
    }

    #[test]
    fn the_first_user_pool_provider_is_the_stack_one() {
        let fetched = Located {
            duplicates: Duplicates::default(),
            answer: described(),
            region: "eu-west-1".into(),
            arn: "arn:aws:cognito-identity:eu-west-1:123456789012:identitypool/eu-west-1:11111111-2222-3333-4444-555555555555".into(),
        };
        let o = CognitoIdentityPool.observe(fetched, &want()).unwrap();
        assert_eq!(o.props["allow_unauthenticated"], json!(false));
        assert_eq!(o.props["allow_classic_flow"], json!(true));
        assert_eq!(o.props["client_id"], json!("5example0client0id"));
        assert_eq!(o.props["tags"], json!({"iotstack:stack": "p"}));
        assert_eq!(
            o.attr("arn"),
            "arn:aws:cognito-identity:eu-west-1:123456789012:identitypool/eu-west-1:11111111-2222-3333-4444-555555555555"
        );
    }

    #[test]
    fn a_create_tells_what_the_read_observes() {
        let ctx = Ctx::for_tests("eu-west-1");
        let made = CreateIdentityPoolOutput::builder()
            .identity_pool_id("eu-west-1:11111111-2222-3333-4444-555555555555")
            .identity_pool_name("p-edge-identity-pool")
            .allow_unauthenticated_identities(true)
            .build()
            .unwrap();
        let o = CognitoIdentityPool.observe(located(&ctx, described()), &want());
        let made = created(&ctx, &made, &want());
        crate::resources::assert_created_as_observed(&SPEC, &made, &o.unwrap());
    }

    #[test]
    fn an_update_sends_back_what_the_stack_does_not_model() {
        let changes = changed(&["allow_unauthenticated"]);
        let input = update_request(&described(), &want(), Changes(&changes))
            .build()
            .unwrap();
        assert_eq!(
            input.allow_unauthenticated_identities(),
            Some(true),
            "the change"
        );
        assert_eq!(input.allow_classic_flow(), Some(true));
        assert_eq!(input.identity_pool_name(), Some("p-edge-identity-pool"));
        assert_eq!(input.developer_provider_name(), Some("login.example"));
        assert_eq!(
            input.supported_login_providers().unwrap()["accounts.google.com"],
            "123.apps.googleusercontent.com"
        );
        assert_eq!(input.open_id_connect_provider_arns().len(), 1);
        assert_eq!(input.saml_provider_arns().len(), 1);
        assert_eq!(
            input.cognito_identity_providers(),
            described().cognito_identity_providers()
        );
        let tags = input.identity_pool_tags().unwrap();
        assert_eq!(tags["team"], "edge");
        assert_eq!(tags["iotstack:stack"], "p");
    }

    #[test]
    fn of_duplicate_identity_pools_the_one_in_use_is_kept() {
        let pool = |id: &str| {
            DescribeIdentityPoolOutput::builder()
                .identity_pool_id(id)
                .identity_pool_name("p-edge-identity-pool")
                .allow_unauthenticated_identities(false)
                .build()
                .unwrap()
        };
        let (kept, others) = keep(vec![
            (pool("eu-west-1:a"), 0, false),
            (pool("eu-west-1:b"), 0, true),
            (pool("eu-west-1:c"), 2, false),
        ])
        .unwrap();
        assert_eq!(kept.identity_pool_id(), "eu-west-1:c", "identities first");
        assert_eq!(
            others,
            Duplicates(vec![("eu-west-1:b".into(), 0), ("eu-west-1:a".into(), 0)])
        );
        let (kept, _) = keep(vec![
            (pool("eu-west-1:a"), 0, false),
            (pool("eu-west-1:b"), 0, true),
        ])
        .unwrap();
        assert_eq!(
            kept.identity_pool_id(),
            "eu-west-1:b",
            "then the one with roles"
        );
    }

    #[test]
    fn a_changed_client_replaces_only_the_stack_provider() {
        let mut want = want();
        want.props.insert("client_id".into(), json!("new0client"));
        want.props.insert("allow_classic_flow".into(), json!(false));
        let changes = changed(&["client_id", "allow_classic_flow"]);
        let input = update_request(&described(), &want, Changes(&changes))
            .build()
            .unwrap();
        let providers = input.cognito_identity_providers();
        assert_eq!(providers.len(), 2);
        assert_eq!(providers[0].client_id(), Some("new0client"));
        assert_eq!(providers[0].server_side_token_check(), Some(true));
        assert_eq!(providers[1].client_id(), Some("other0client"));
        assert_eq!(input.allow_classic_flow(), Some(false));
        assert_eq!(
            input.allow_unauthenticated_identities(),
            Some(false),
            "unchanged"
        );
    }
}
