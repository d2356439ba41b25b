//! Cognito user pool. Names are not unique, so the pool is found through its `iotstack:stack`
//! tag. Updates send the whole configuration (UpdateUserPool resets what it is not sent).
//! Schema attributes and username case sensitivity cannot change in place: a replacement, which
//! apply refuses while the pool has users unless the user consents.

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, AttributeDataType, LambdaConfigType, PasswordPolicyType,
    SchemaAttributeType, UserPoolMfaType, UserPoolPolicyType, UserPoolType,
    UsernameConfigurationType, VerifiedAttributeType,
};
use serde_json::Value;

use super::support::{first_owned, tag_map};
use super::{
    wanted_tags, Changes, Ctx, Desired, KindSpec, Manage, NameRule, Observed, Ownership, PropSpec,
    PropType, Read,
};
use crate::aws::{Missing, OpExt};
use crate::error::{AwsError, ResourceError};

pub struct CognitoUserPool;

static PROPS: &[PropSpec] = &[
    PropSpec::required(
        "name",
        PropType::Str,
        "the pool name, e.g. `${prefix}-user-pool`",
    )
    .force_new(),
    PropSpec::optional(
        "password_min_length",
        PropType::Int,
        "minimum password length (default 8)",
    )
    // PasswordPolicyType.MinimumLength.
    .range(6, 99),
    PropSpec::optional(
        "require_uppercase",
        PropType::Bool,
        "passwords need an upper-case letter (default true)",
    ),
    PropSpec::optional(
        "require_lowercase",
        PropType::Bool,
        "passwords need a lower-case letter (default true)",
    ),
    PropSpec::optional(
        "require_numbers",
        PropType::Bool,
        "passwords need a digit (default true)",
    ),
    PropSpec::optional(
        "require_symbols",
        PropType::Bool,
        "passwords need a symbol (default true)",
    ),
    PropSpec::optional(
        "temporary_password_validity_days",
        PropType::Int,
        "days a temporary password is valid (default 7)",
    )
    // PasswordPolicyType.TemporaryPasswordValidityDays: 0 to 365, where 0 stands for the default.
    .range(1, 365),
    PropSpec::optional(
        "email_required",
        PropType::Bool,
        "the `email` schema attribute is required (default true)",
    )
    .force_new(),
    PropSpec::optional(
        "auto_verify_email",
        PropType::Bool,
        "email addresses are verified automatically (default true)",
    ),
    PropSpec::optional("mfa", PropType::Str, "OFF, ON or OPTIONAL (default OFF)"),
    PropSpec::optional(
        "self_sign_up",
        PropType::Bool,
        "users may sign themselves up (default true)",
    ),
    PropSpec::optional(
        "case_sensitive_usernames",
        PropType::Bool,
        "usernames are case sensitive (default false)",
    )
    .force_new(),
    PropSpec::optional(
        "pre_sign_up_lambda_arn",
        PropType::Str,
        "the pre-sign-up trigger, e.g. `${presignup-function.arn}`",
    ),
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "cognito_user_pool",
    props: PROPS,
    attrs: &["id", "arn", "name", "provider_name"],
    name_rule: Some(NameRule::ascii(128, "+=,.@-_", "a Cognito user pool name").any_script()),
    ownership: Ownership::FoundByTag,
    missing: Missing::COGNITO,
    facts: &[],
};

fn password_policy(want: &Desired) -> PasswordPolicyType {
    PasswordPolicyType::builder()
        .minimum_length(want.value("password_min_length").as_i64().unwrap_or(8) as i32)
        .require_uppercase(want.bool("require_uppercase", true))
        .require_lowercase(want.bool("require_lowercase", true))
        .require_numbers(want.bool("require_numbers", true))
        .require_symbols(want.bool("require_symbols", true))
        .temporary_password_validity_days(
            want.value("temporary_password_validity_days")
                .as_i64()
                .unwrap_or(7) as i32,
        )
        .build()
}

fn lambda_config(want: &Desired) -> LambdaConfigType {
    LambdaConfigType::builder()
        .set_pre_sign_up(
            want.opt_str("pre_sign_up_lambda_arn")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        )
        .build()
}

fn verified(want: &Desired) -> Vec<VerifiedAttributeType> {
    if want.bool("auto_verify_email", true) {
        vec![VerifiedAttributeType::Email]
    } else {
        vec![]
    }
}

fn mfa(want: &Desired) -> UserPoolMfaType {
    UserPoolMfaType::from(want.opt_str("mfa").unwrap_or("OFF"))
}

fn admin_config(want: &Desired) -> AdminCreateUserConfigType {
    AdminCreateUserConfigType::builder()
        .allow_admin_create_user_only(!want.bool("self_sign_up", true))
        .build()
}

/// The pool of this stack with the wanted name: listed by name, owned through the stack tag.
pub async fn find(ctx: &Ctx, name: &str) -> Result<Option<UserPoolType>, AwsError> {
    let idp = &ctx.clients.cognito_idp;
    let pages = idp.list_user_pools().max_results(60).into_paginator();
    let pools = pages
        .items()
        .send()
        .try_collect()
        .await
        .op("ListUserPools")?;
    let named = pools.into_iter().filter(|p| p.name() == Some(name));
    let ids = named.filter_map(|p| p.id).collect();
    let describe = |id: String| async move {
        let r = idp.describe_user_pool().user_pool_id(id).send().await;
        let d = Missing::COGNITO.found(r.op("DescribeUserPool"))?;
        Ok(d.and_then(|d| d.user_pool))
    };
    first_owned(ids, &ctx.prefix, describe, |p| p.user_pool_tags()).await
}

#[async_trait]
impl Read for CognitoUserPool {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let name = want.str("name");
        let Some(pool) = find(ctx, name).await? else {
            return Ok(None);
        };
        let pw = pool.policies().and_then(|p| p.password_policy());
        let id = pool.id().unwrap_or_default().to_string();
        let b = Value::Bool;
        let mut o = Observed::default();
        o.props
            .insert("name".into(), Value::String(name.to_string()));
        o.props.insert(
            "password_min_length".into(),
            Value::from(pw.and_then(|p| p.minimum_length()).unwrap_or(0)),
        );
        o.props.insert(
            "require_uppercase".into(),
            b(pw.is_some_and(|p| p.require_uppercase())),
        );
        o.props.insert(
            "require_lowercase".into(),
            b(pw.is_some_and(|p| p.require_lowercase())),
        );
        o.props.insert(
            "require_numbers".into(),
            b(pw.is_some_and(|p| p.require_numbers())),
        );
        o.props.insert(
            "require_symbols".into(),
            b(pw.is_some_and(|p| p.require_symbols())),
        );
        o.props.insert(
            "temporary_password_validity_days".into(),
            Value::from(
                pw.map(|p| p.temporary_password_validity_days())
                    .unwrap_or(0),
            ),
        );
        o.props.insert(
            "email_required".into(),
            b(pool
                .schema_attributes()
                .iter()
                .any(|a| a.name() == Some("email") && a.required() == Some(true))),
        );
        o.props.insert(
            "auto_verify_email".into(),
            b(pool
                .auto_verified_attributes()
                .contains(&VerifiedAttributeType::Email)),
        );
        o.props.insert(
            "mfa".into(),
            Value::String(
                pool.mfa_configuration()
                    .map(|m| m.as_str())
                    .unwrap_or("OFF")
                    .to_string(),
            ),
        );
        o.props.insert(
            "self_sign_up".into(),
            b(!pool
                .admin_create_user_config()
                .map(|c| c.allow_admin_create_user_only())
                .unwrap_or(false)),
        );
        o.props.insert(
            "case_sensitive_usernames".into(),
            b(pool
                .username_configuration()
                .map(|c| c.case_sensitive())
                .unwrap_or(true)),
        );
        o.props.insert(
            "pre_sign_up_lambda_arn".into(),
            Value::String(
                pool.lambda_config()
                    .and_then(|l| l.pre_sign_up())
                    .unwrap_or_default()
                    .to_string(),
            ),
        );
        o.props.insert(
            "tags".into(),
            wanted_tags(
                want,
                pool.user_pool_tags()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            ),
        );
        o.attrs.insert("id".into(), id.clone());
        o.attrs.insert("name".into(), name.to_string());
        o.attrs.insert(
            "arn".into(),
            pool.arn()
                .map(str::to_string)
                .unwrap_or_else(|| ctx.arn("cognito-idp", &format!("userpool/{id}"))),
        );
        o.attrs.insert(
            "provider_name".into(),
            format!("cognito-idp.{}.amazonaws.com/{id}", ctx.region),
        );
        o.attrs
            .insert("users".into(), pool.estimated_number_of_users().to_string());
        Ok(Some(o))
    }
}

#[async_trait]
impl Manage for CognitoUserPool {
    fn data_loss(&self, have: &Observed) -> Option<String> {
        let users = have
            .attrs
            .get("users")
            .and_then(|u| u.parse::<i64>().ok())
            .unwrap_or(0);
        (users > 0).then(|| format!("the user pool has {users} user(s); deleting it deletes them"))
    }

    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        let mut req = ctx
            .clients
            .cognito_idp
            .create_user_pool()
            .pool_name(want.str("name"))
            .policies(
                UserPoolPolicyType::builder()
                    .password_policy(password_policy(want))
                    .build(),
            )
            .set_auto_verified_attributes(Some(verified(want)))
            .mfa_configuration(mfa(want))
            .admin_create_user_config(admin_config(want))
            .username_configuration(
                UsernameConfigurationType::builder()
                    .case_sensitive(want.bool("case_sensitive_usernames", false))
                    .build()
                    .map_err(|e| ResourceError::local("CreateUserPool", e))?,
            )
            .lambda_config(lambda_config(want))
            .set_user_pool_tags(Some(tag_map(want)));
        if want.bool("email_required", true) {
            req = req.schema(
                SchemaAttributeType::builder()
                    .name("email")
                    .attribute_data_type(AttributeDataType::String)
                    .required(true)
                    .mutable(true)
                    .build(),
            );
        }
        let send = || {
            let over = aws_sdk_cognitoidentityprovider::config::Builder::default()
                .retry_config(super::once::no_retry());
            req.clone().customize().config_override(over).send()
        };
        super::once::create(
            "CreateUserPool",
            || super::Read::read(self, ctx, want),
            send,
        )
        .await?;
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
            .update_user_pool()
            .user_pool_id(have.attr("id"))
            .policies(
                UserPoolPolicyType::builder()
                    .password_policy(password_policy(want))
                    .build(),
            )
            .set_auto_verified_attributes(Some(verified(want)))
            .mfa_configuration(mfa(want))
            .admin_create_user_config(admin_config(want))
            .lambda_config(lambda_config(want))
            .set_user_pool_tags(Some(tag_map(want)))
            .send()
            .await
            .op("UpdateUserPool")?;
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let mut notes = Vec::new();
        if let Some(loss) = self.data_loss(have) {
            notes.push(loss);
        }
        let call = ctx.clients.cognito_idp.delete_user_pool();
        let r = call.user_pool_id(have.attr("id")).send().await;
        Missing::COGNITO.gone(r.op("DeleteUserPool"))?;
        Ok(notes)
    }
}
