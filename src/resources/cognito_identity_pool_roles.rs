//! The roles an identity pool gives its authenticated and unauthenticated identities.

use async_trait::async_trait;
use serde_json::Value;

use super::{
    Changes, Ctx, Desired, KindSpec, Manage, Observed, Ownership, PropSpec, PropType, Read,
};
use crate::aws::{Missing, OpExt};
use crate::error::ResourceError;

pub struct CognitoIdentityPoolRoles;

static PROPS: &[PropSpec] = &[
    PropSpec::required(
        "identity_pool_id",
        PropType::Str,
        "the pool, e.g. `${identity-pool.id}`",
    )
    .force_new(),
    PropSpec::required(
        "authenticated_role_arn",
        PropType::Str,
        "e.g. `${auth-role.arn}`",
    ),
    PropSpec::optional(
        "unauthenticated_role_arn",
        PropType::Str,
        "e.g. `${unauth-role.arn}`",
    ),
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "cognito_identity_pool_roles",
    props: PROPS,
    attrs: &[],
    name_rule: None,
    ownership: Ownership::Parent,
    missing: Missing::COGNITO,
    facts: &[],
};

#[async_trait]
impl Read for CognitoIdentityPoolRoles {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let pool = want.str("identity_pool_id");
        let Some(r) = Missing::COGNITO.found(
            ctx.clients
                .cognito_identity
                .get_identity_pool_roles()
                .identity_pool_id(pool)
                .send()
                .await
                .op("GetIdentityPoolRoles"),
        )?
        else {
            return Ok(None);
        };
        let roles = r.roles().cloned().unwrap_or_default();
        if roles.is_empty() {
            return Ok(None);
        }
        let get = |k: &str| Value::String(roles.get(k).cloned().unwrap_or_default());
        let mut o = Observed::default();
        o.props
            .insert("identity_pool_id".into(), Value::String(pool.to_string()));
        o.props
            .insert("authenticated_role_arn".into(), get("authenticated"));
        o.props
            .insert("unauthenticated_role_arn".into(), get("unauthenticated"));
        o.attrs.insert("identity_pool_id".into(), pool.to_string());
        Ok(Some(o))
    }
}

#[async_trait]
impl Manage for CognitoIdentityPoolRoles {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        let mut req = ctx
            .clients
            .cognito_identity
            .set_identity_pool_roles()
            .identity_pool_id(want.str("identity_pool_id"))
            .roles("authenticated", want.str("authenticated_role_arn"));
        if let Some(u) = want
            .opt_str("unauthenticated_role_arn")
            .filter(|s| !s.is_empty())
        {
            req = req.roles("unauthenticated", u);
        }
        req.send().await.op("SetIdentityPoolRoles")?;
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
        let call = ctx.clients.cognito_identity.set_identity_pool_roles();
        let call = call.identity_pool_id(have.attr("identity_pool_id"));
        let r = call.set_roles(Some(Default::default())).send().await;
        Missing::COGNITO.gone(r.op("SetIdentityPoolRoles"))?;
        Ok(Vec::new())
    }
}
