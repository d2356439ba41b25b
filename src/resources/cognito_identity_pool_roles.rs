//! The roles an identity pool gives its authenticated and unauthenticated identities.

use std::collections::HashMap;

use aws_sdk_cognitoidentity::operation::get_identity_pool_roles::GetIdentityPoolRolesOutput;
use serde_json::json;

use super::prelude::*;

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
    // The roles are a setting of the identity pool (SetIdentityPoolRoles on its id), gone with
    // it: "Deletes an identity pool. Once a pool is deleted, users will not be able to
    // authenticate with the pool" (Cognito Identity API reference, DeleteIdentityPool).
    deleted_with: &["cognito_identity_pool"],
};

/// The roles to set: the pool's current ones with the stack's two over them (an empty
/// unauthenticated role is none).
fn roles(current: Option<&HashMap<String, String>>, want: &Desired) -> HashMap<String, String> {
    let mut roles = current.cloned().unwrap_or_default();
    roles.insert(
        "authenticated".into(),
        want.str("authenticated_role_arn").into(),
    );
    match want
        .opt_str("unauthenticated_role_arn")
        .filter(|s| !s.is_empty())
    {
        Some(u) => roles.insert("unauthenticated".into(), u.into()),
        None => roles.remove("unauthenticated"),
    };
    roles
}

#[async_trait]
impl Fetch for CognitoIdentityPoolRoles {
    module_spec!(GetIdentityPoolRolesOutput);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let call = ctx.clients.cognito_identity.get_identity_pool_roles();
        let r = call
            .identity_pool_id(want.str("identity_pool_id"))
            .send()
            .await;
        Ok(SPEC.missing.found(r.op("GetIdentityPoolRoles"))?)
    }

    fn observe(&self, r: GetIdentityPoolRolesOutput, want: &Desired) -> Option<Observed> {
        let pool = want.str("identity_pool_id");
        let roles = r.roles().filter(|r| !r.is_empty())?;
        let get = |k: &str| roles.get(k).cloned().unwrap_or_default();
        Some(Observed::new(
            json!({
                "identity_pool_id": pool,
                "authenticated_role_arn": get("authenticated"),
                "unauthenticated_role_arn": get("unauthenticated"),
            }),
            json!({ "identity_pool_id": pool }),
        ))
    }
}

#[async_trait]
impl Manage for CognitoIdentityPoolRoles {
    /// The pool's roles have no attributes of their own.
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let call = ctx.clients.cognito_identity.set_identity_pool_roles();
        let call = call.identity_pool_id(want.str("identity_pool_id"));
        let call = call.set_roles(Some(roles(None, want)));
        call.send().await.op("SetIdentityPoolRoles")?;
        Ok(Created::new())
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (ctx, want) = (u.ctx, u.want);
        // SetIdentityPoolRoles replaces the pool's roles and role mappings: the ones the stack
        // does not model are read and sent back.
        let ci = &ctx.clients.cognito_identity;
        let pool = want.str("identity_pool_id");
        let current = ci.get_identity_pool_roles().identity_pool_id(pool).send();
        let current = current.await.op("GetIdentityPoolRoles")?;
        let call = ci.set_identity_pool_roles().identity_pool_id(pool);
        let call = call.set_roles(Some(roles(current.roles.as_ref(), want)));
        let call = call.set_role_mappings(current.role_mappings);
        call.send().await.op("SetIdentityPoolRoles")?;
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let call = ctx.clients.cognito_identity.set_identity_pool_roles();
        let call = call.identity_pool_id(have.attr("identity_pool_id"));
        let r = call.set_roles(Some(Default::default())).send().await;
        Missing::COGNITO.gone(r.op("SetIdentityPoolRoles"))?;
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(unauth: &str) -> Desired {
        Desired::from_json(
            "identity-pool-roles",
            json!({
                "identity_pool_id": "eu-west-1:11111111-2222-3333-4444-555555555555",
                "authenticated_role_arn": "arn:aws:iam::123456789012:role/p-IdentityPoolAuthRole",
                "unauthenticated_role_arn": unauth,
            }),
        )
    }

    #[test]
    fn a_pool_without_roles_has_none_and_a_missing_guest_role_reads_empty() {
        let none = GetIdentityPoolRolesOutput::builder().build();
        assert!(CognitoIdentityPoolRoles.observe(none, &want("")).is_none());
        let auth_only = GetIdentityPoolRolesOutput::builder()
            .roles("authenticated", "arn:aws:iam::123456789012:role/a")
            .build();
        let o = CognitoIdentityPoolRoles
            .observe(auth_only, &want(""))
            .unwrap();
        assert_eq!(
            o.props["authenticated_role_arn"],
            json!("arn:aws:iam::123456789012:role/a")
        );
        assert_eq!(o.props["unauthenticated_role_arn"], json!(""));
    }

    #[test]
    fn roles_the_stack_does_not_set_are_kept() {
        let live = HashMap::from([
            ("authenticated".to_string(), "old".to_string()),
            ("unauthenticated".to_string(), "old-guest".to_string()),
        ]);
        let guest = "arn:aws:iam::123456789012:role/p-IdentityPoolUnauthRole";
        let r = roles(Some(&live), &want(guest));
        assert_eq!(
            r["authenticated"],
            "arn:aws:iam::123456789012:role/p-IdentityPoolAuthRole"
        );
        assert_eq!(r["unauthenticated"], guest);
        assert!(!roles(Some(&live), &want("")).contains_key("unauthenticated"));
    }
}
