//! Cognito user pool. Names are not unique: the pool is read by the id the stack's record gives
//! it, else (no record yet, or doctor's survey) found among the pools listed under its name
//! through its `iotstack:stack` tag. UpdateUserPool resets what it is not sent, so an update describes the pool and sends its
//! whole configuration back with only the changed properties replaced.
//! Schema attributes and username case sensitivity cannot change in place: a replacement, which
//! apply refuses while the pool has users unless the user consents.

use aws_sdk_cognitoidentityprovider::operation::update_user_pool::builders::UpdateUserPoolInputBuilder;
use aws_sdk_cognitoidentityprovider::operation::update_user_pool::UpdateUserPoolInput;
use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, AttributeDataType, LambdaConfigType, PasswordPolicyType,
    SchemaAttributeType, UserPoolMfaType, UserPoolPolicyType, UserPoolType,
    UsernameConfigurationType, VerifiedAttributeType,
};
use serde_json::json;

use super::prelude::*;
use super::support::{
    all_owned, carries_stack_tag, kept_tags, resolve_duplicates, tag_map, Duplicates, Located,
};
use super::wanted_tags;
use crate::error::AwsError;

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
    )
    // Set with UpdateUserPool once its function is made (see `hold_back`): the pool and what
    // waits on it (app client, identity pool...) need not wait for the function's role and
    // function, nor, on AWS, for the role to reach Lambda.
    .later(),
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "cognito_user_pool",
    props: PROPS,
    attrs: &["id", "arn", "name", "provider_name"],
    name_rule: Some(NameRule::ascii(128, "+=,.@-_", "a Cognito user pool name").any_script()),
    ownership: Ownership::FoundByTag,
    missing: Missing::COGNITO,
    // No second pool under the stack's name carries its mark (see `keep`).
    facts: &["unique"],
    deleted_with: &[],
};

fn password_policy(want: &Desired) -> PasswordPolicyType {
    PasswordPolicyType::builder()
        .minimum_length(min_length(want))
        .require_uppercase(want.bool("require_uppercase", true))
        .require_lowercase(want.bool("require_lowercase", true))
        .require_numbers(want.bool("require_numbers", true))
        .require_symbols(want.bool("require_symbols", true))
        .temporary_password_validity_days(temporary_days(want))
        .build()
}

fn min_length(want: &Desired) -> i32 {
    want.value("password_min_length").as_i64().unwrap_or(8) as i32
}

fn temporary_days(want: &Desired) -> i32 {
    let days = want.value("temporary_password_validity_days").as_i64();
    days.unwrap_or(7) as i32
}

fn pre_sign_up(want: &Desired) -> Option<String> {
    let arn = want.opt_str("pre_sign_up_lambda_arn");
    arn.filter(|s| !s.is_empty()).map(str::to_string)
}

fn lambda_config(want: &Desired) -> LambdaConfigType {
    LambdaConfigType::builder()
        .set_pre_sign_up(pre_sign_up(want))
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
    Ok(find_all(ctx, name).await?.map(|(pool, _)| pool))
}

/// The pool of this stack with the wanted name, and the other pools of that name that carry the
/// stack's mark (duplicates).
async fn find_all(ctx: &Ctx, name: &str) -> Result<Option<(UserPoolType, Duplicates)>, AwsError> {
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
    let describe = |id: String| describe(ctx, id);
    let owned = all_owned(ids, &ctx.prefix, describe, |p| p.user_pool_tags()).await?;
    Ok(keep(owned))
}

/// Of the pools marked for the stack, the one it keeps: the one with the most users, then the
/// oldest (the first one made), then the lowest id. The others are duplicates, with their users.
fn keep(mut pools: Vec<UserPoolType>) -> Option<(UserPoolType, Duplicates)> {
    pools.sort_by(|a, b| {
        let created = |p: &UserPoolType| p.creation_date().map(|d| (d.secs(), d.subsec_nanos()));
        b.estimated_number_of_users()
            .cmp(&a.estimated_number_of_users())
            .then(created(a).cmp(&created(b)))
            .then(a.id().cmp(&b.id()))
    });
    let mut rest = pools.into_iter();
    let kept = rest.next()?;
    let others = rest.map(|p| {
        let id = p.id().unwrap_or_default().to_string();
        (id, i64::from(p.estimated_number_of_users()))
    });
    Some((kept, Duplicates(others.collect())))
}

/// How many users the pool `id` has (at most one is counted: ListUsers answers at once, where
/// DescribeUserPool's count is an estimate); `None` when the pool is gone.
async fn has_users(ctx: &Ctx, id: String) -> Result<Option<i64>, AwsError> {
    let call = ctx
        .clients
        .cognito_idp
        .list_users()
        .user_pool_id(id)
        .limit(1);
    let listed = Missing::COGNITO.found(call.send().await.op("ListUsers"))?;
    Ok(listed.map(|l| l.users().len() as i64))
}

async fn delete_pool(ctx: &Ctx, id: String) -> Result<(), AwsError> {
    let r = ctx
        .clients
        .cognito_idp
        .delete_user_pool()
        .user_pool_id(id)
        .send()
        .await;
    Missing::COGNITO.gone(r.op("DeleteUserPool"))
}

/// The whole configuration of a pool, as DescribeUserPool answers it; `None` when it is gone.
async fn describe(ctx: &Ctx, id: String) -> Result<Option<UserPoolType>, AwsError> {
    let call = ctx
        .clients
        .cognito_idp
        .describe_user_pool()
        .user_pool_id(id);
    let d = Missing::COGNITO.found(call.send().await.op("DescribeUserPool"))?;
    Ok(d.and_then(|d| d.user_pool))
}

/// The UpdateUserPool request that brings `pool` (as DescribeUserPool answered) to `want`,
/// changing only the properties in `changes`.
///
/// The API reference of UpdateUserPool warns: "If you don't provide a value for an attribute,
/// Amazon Cognito sets it to its default value." So every setting of the pool is sent back as
/// it is (deletion protection, verification and invitation messages, email and SMS
/// configuration, the other Lambda triggers, account recovery, add-ons, device tracking, the
/// sign-in policy, tags iotstack does not own...), and only the changed ones are replaced.
pub fn update_request(
    pool: &UserPoolType,
    want: &Desired,
    changes: Changes<'_>,
) -> UpdateUserPoolInputBuilder {
    let mut policies = pool
        .policies
        .clone()
        .unwrap_or(UserPoolPolicyType::builder().build());
    let mut pw = policies
        .password_policy
        .take()
        .unwrap_or(password_policy(want));
    if changes.has("password_min_length") {
        pw.minimum_length = Some(min_length(want));
    }
    for (prop, field) in [
        ("require_uppercase", &mut pw.require_uppercase),
        ("require_lowercase", &mut pw.require_lowercase),
        ("require_numbers", &mut pw.require_numbers),
        ("require_symbols", &mut pw.require_symbols),
    ] {
        if changes.has(prop) {
            *field = want.bool(prop, true);
        }
    }
    if changes.has("temporary_password_validity_days") {
        pw.temporary_password_validity_days = temporary_days(want);
    }
    policies.password_policy = Some(pw);
    let mut triggers = pool.lambda_config.clone();
    if changes.has("pre_sign_up_lambda_arn") {
        let mut t = triggers.unwrap_or(LambdaConfigType::builder().build());
        t.pre_sign_up = pre_sign_up(want);
        triggers = Some(t);
    }
    let mut verified_attrs = pool.auto_verified_attributes.clone().unwrap_or_default();
    if changes.has("auto_verify_email") {
        verified_attrs.retain(|a| *a != VerifiedAttributeType::Email);
        verified_attrs.extend(verified(want));
    }
    let mfa_config = match changes.has("mfa") {
        true => Some(mfa(want)),
        false => pool.mfa_configuration.clone(),
    };
    // Rebuilt rather than cloned: the deprecated UnusedAccountValidityDays, which DescribeUserPool
    // answers as 0, is refused beside the password policy's TemporaryPasswordValidityDays.
    let admin = pool.admin_create_user_config.as_ref();
    let self_sign_up = match changes.has("self_sign_up") {
        true => want.bool("self_sign_up", true),
        false => !admin.is_some_and(|a| a.allow_admin_create_user_only),
    };
    let admin = AdminCreateUserConfigType::builder()
        .allow_admin_create_user_only(!self_sign_up)
        .set_invite_message_template(admin.and_then(|a| a.invite_message_template.clone()))
        .build();
    UpdateUserPoolInput::builder()
        .set_user_pool_id(pool.id.clone())
        .set_pool_name(pool.name.clone())
        .policies(policies)
        .set_deletion_protection(pool.deletion_protection.clone())
        .set_lambda_config(triggers)
        .set_auto_verified_attributes(Some(verified_attrs))
        .set_sms_verification_message(pool.sms_verification_message.clone())
        .set_email_verification_message(pool.email_verification_message.clone())
        .set_email_verification_subject(pool.email_verification_subject.clone())
        .set_verification_message_template(pool.verification_message_template.clone())
        .set_sms_authentication_message(pool.sms_authentication_message.clone())
        .set_user_attribute_update_settings(pool.user_attribute_update_settings.clone())
        .set_mfa_configuration(mfa_config)
        .set_device_configuration(pool.device_configuration.clone())
        .set_email_configuration(pool.email_configuration.clone())
        .set_sms_configuration(pool.sms_configuration.clone())
        .set_user_pool_tags(Some(kept_tags(pool.user_pool_tags.as_ref(), want)))
        .admin_create_user_config(admin)
        .set_user_pool_add_ons(pool.user_pool_add_ons.clone())
        .set_account_recovery_setting(pool.account_recovery_setting.clone())
        .set_user_pool_tier(pool.user_pool_tier.clone())
        .set_key_configuration(pool.key_configuration.clone())
        .set_issuer_configuration(pool.issuer_configuration.clone())
        .set_acr_configuration(pool.acr_configuration.clone())
}

/// The pools this run created, as CreateUserPool answered them (its `UserPool`: "The details of
/// the created user pool", Cognito API reference, CreateUserPool; a `UserPoolType`, the type
/// DescribeUserPool answers), for the update that follows a create in the same run (its
/// trigger, set once its function is made): it merges into that answer instead of describing
/// the pool again, one round trip less. In the run's memory, by pool id; taken once.
#[derive(Debug, Default)]
pub struct Answers(std::sync::Mutex<std::collections::HashMap<String, UserPoolType>>);

impl Answers {
    fn slot(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, UserPoolType>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn keep(&self, pool: UserPoolType) {
        if let Some(id) = pool.id.clone() {
            self.slot().insert(id, pool);
        }
    }

    fn take(&self, id: &str) -> Option<UserPoolType> {
        self.slot().remove(id)
    }
}

/// The pool `answer` (DescribeUserPool's, or CreateUserPool's) with where it is: its ARN from
/// `ctx` when the answer lacks one, its region for its provider name.
fn located(ctx: &Ctx, pool: UserPoolType) -> Located<UserPoolType> {
    let resource = format!("userpool/{}", pool.id().unwrap_or_default());
    Located::at(ctx, pool, "cognito-idp", &resource)
}

/// What a pool's create tells of it: CreateUserPool answers the new pool as a `UserPoolType`, the
/// type DescribeUserPool answers, so its id, name, ARN and provider name
/// (`cognito-idp.<region>.amazonaws.com/<pool id>`) are those the read observes of it.
fn created(pool: Located<UserPoolType>, want: &Desired) -> Created {
    let o = CognitoUserPool.observe(pool, want);
    o.map(|o| o.created(&SPEC)).unwrap_or_default()
}

#[async_trait]
impl Fetch for CognitoUserPool {
    type Fetched = Located<UserPoolType>;

    module_spec!();

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let name = want.str("name");
        // By the id the record gives it: one call, whatever else the account holds. Only a
        // stack with no record (or a record AWS no longer answers to: the pool deleted or
        // renamed out of band), and doctor's survey, list the account's pools.
        if let Some(id) = want.recorded_attr("id") {
            let pool = describe(ctx, id.to_string()).await?;
            let ours = |p: &UserPoolType| {
                p.name() == Some(name) && carries_stack_tag(p.user_pool_tags(), &ctx.prefix)
            };
            if let Some(pool) = pool.filter(ours) {
                return Ok(Some(located(ctx, pool)));
            }
        }
        let found = find_all(ctx, name).await?;
        Ok(found.map(|(pool, duplicates)| located(ctx, pool).with_duplicates(duplicates)))
    }

    fn observe(&self, f: Located<UserPoolType>, want: &Desired) -> Option<Observed> {
        let (pool, name) = (&f.answer, want.str("name"));
        let pw = pool.policies().and_then(|p| p.password_policy());
        let id = pool.id().unwrap_or_default();
        let email_required = pool
            .schema_attributes()
            .iter()
            .any(|a| a.name() == Some("email") && a.required() == Some(true));
        let admin_only = pool
            .admin_create_user_config()
            .is_some_and(|c| c.allow_admin_create_user_only());
        let case_sensitive = pool.username_configuration().map(|c| c.case_sensitive());
        let pre_sign_up = pool.lambda_config().and_then(|l| l.pre_sign_up());
        let tags = pool.user_pool_tags().into_iter().flatten();
        let arn = pool.arn().unwrap_or(&f.arn);
        Some(
            Observed::new(
                json!({
                    "name": name,
                    "password_min_length": pw.and_then(|p| p.minimum_length()).unwrap_or(0),
                    "require_uppercase": pw.is_some_and(|p| p.require_uppercase()),
                    "require_lowercase": pw.is_some_and(|p| p.require_lowercase()),
                    "require_numbers": pw.is_some_and(|p| p.require_numbers()),
                    "require_symbols": pw.is_some_and(|p| p.require_symbols()),
                    "temporary_password_validity_days":
                        pw.map(|p| p.temporary_password_validity_days()).unwrap_or(0),
                    "email_required": email_required,
                    "auto_verify_email":
                        pool.auto_verified_attributes().contains(&VerifiedAttributeType::Email),
                    "mfa": pool.mfa_configuration().map(|m| m.as_str()).unwrap_or("OFF"),
                    "self_sign_up": !admin_only,
                    "case_sensitive_usernames": case_sensitive.unwrap_or(true),
                    "pre_sign_up_lambda_arn": pre_sign_up.unwrap_or_default(),
                    "tags": wanted_tags(want, tags.map(|(k, v)| (k.as_str(), v.as_str()))),
                    "unique": f.duplicates.0.is_empty(),
                }),
                json!({
                    "id": id,
                    "name": name,
                    "arn": arn,
                    "provider_name": format!("cognito-idp.{}.amazonaws.com/{id}", f.region),
                    "users": pool.estimated_number_of_users(),
                    "duplicates": f.duplicates.attr(),
                }),
            )
            .note(f.duplicates.note("user pool", name, id, "users")),
        )
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

    /// A pool created before its trigger's function is made takes no self sign-up until the
    /// trigger is set, in the same UpdateUserPool: no sign-up passes without the trigger the
    /// stack declares. AllowAdminCreateUserOnly: "When true, only administrators can create new
    /// user profiles. When false, users can register themselves ... with the SignUp operation"
    /// (Cognito API reference, AdminCreateUserConfigType). Its users wait for the trigger too:
    /// [`PropSpec::whole`].
    fn hold_back(&self, want: &mut Desired, held: &[&str]) {
        if held.contains(&"pre_sign_up_lambda_arn") {
            want.props.insert("self_sign_up".into(), json!(false));
        }
    }

    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
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
        let send = || super::once::send_unretried!(aws_sdk_cognitoidentityprovider, req);
        let find = || super::Read::read(self, ctx, want);
        let made = super::once::create("CreateUserPool", find, send).await?;
        Ok(made.created(&SPEC, |out| match out.user_pool {
            Some(pool) => {
                ctx.pools.keep(pool.clone());
                created(located(ctx, pool), want)
            }
            None => Created::new(),
        }))
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (count, delete) = (|id| has_users(u.ctx, id), |id| delete_pool(u.ctx, id));
        if !resolve_duplicates(&u, "user pool", "users", count, delete).await? {
            return Ok(());
        }
        let (ctx, want, have, changes) = (u.ctx, u.want, u.have, u.changes);
        let idp = &ctx.clients.cognito_idp;
        // Describe, merge, then update: see `update_request`. A pool this run created is as
        // its create answered (`Answers`).
        let pool = match ctx.pools.take(have.attr("id")) {
            Some(pool) => pool,
            None => {
                let call = idp.describe_user_pool().user_pool_id(have.attr("id"));
                let described = call.send().await.op("DescribeUserPool")?;
                described.user_pool.ok_or_else(|| ResourceError::Other {
                    operation: "DescribeUserPool",
                    message: "Cognito answered without the user pool".into(),
                })?
            }
        };
        let request = update_request(&pool, want, changes);
        request.send_with(idp).await.op("UpdateUserPool")?;
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_cognitoidentityprovider::types::{
        AccountRecoverySettingType, DeletionProtectionType, MessageTemplateType,
        RecoveryOptionNameType, RecoveryOptionType, VerificationMessageTemplateType,
    };

    use super::*;
    use crate::resources::support::changed;

    fn want() -> Desired {
        Desired::from_json(
            "user-pool",
            json!({
                "name": "p-user-pool", "password_min_length": 12, "mfa": "OFF",
                "pre_sign_up_lambda_arn": "arn:aws:lambda:eu-west-1:123456789012:function:p-presignup",
                "self_sign_up": true, "auto_verify_email": true,
                "tags": {"iotstack:stack": "p"},
            }),
        )
    }

    #[test]
    fn of_duplicate_pools_the_one_with_users_then_the_oldest_is_kept() {
        let pool = |id: &str, users: i32, created: i64| {
            UserPoolType::builder()
                .id(id)
                .name("p-user-pool")
                .estimated_number_of_users(users)
                .creation_date(aws_smithy_types::DateTime::from_secs(created))
                .build()
        };
        let (kept, others) = keep(vec![
            pool("eu-west-1_New", 0, 200),
            pool("eu-west-1_Users", 3, 300),
            pool("eu-west-1_Old", 0, 100),
        ])
        .unwrap();
        assert_eq!(kept.id(), Some("eu-west-1_Users"));
        assert_eq!(
            others,
            Duplicates(vec![
                ("eu-west-1_Old".into(), 0),
                ("eu-west-1_New".into(), 0)
            ])
        );
        let (kept, others) =
            keep(vec![pool("eu-west-1_B", 1, 50), pool("eu-west-1_A", 1, 90)]).unwrap();
        assert_eq!(kept.id(), Some("eu-west-1_B"), "the oldest of equals");
        assert_eq!(others.attr(), json!("eu-west-1_A"));
        let (_, none) = keep(vec![pool("eu-west-1_B", 1, 50)]).unwrap();
        assert_eq!(none.attr(), serde_json::Value::Null);
        assert!(keep(Vec::new()).is_none());
    }

    /// DescribeUserPool's answer for the stack's pool, with settings the stack does not model.
    fn described() -> UserPoolType {
        let pw = PasswordPolicyType::builder()
            .minimum_length(10)
            .require_uppercase(true)
            .require_lowercase(true)
            .require_numbers(false)
            .require_symbols(true)
            .temporary_password_validity_days(7)
            .build();
        let recovery = RecoveryOptionType::builder()
            .priority(1)
            .name(RecoveryOptionNameType::VerifiedEmail)
            .build()
            .unwrap();
        UserPoolType::builder()
            .id("eu-west-1_AbCdEf")
            .name("p-user-pool")
            .arn("arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf")
            .policies(UserPoolPolicyType::builder().password_policy(pw).build())
            .deletion_protection(DeletionProtectionType::Active)
            .lambda_config(
                LambdaConfigType::builder()
                    .pre_sign_up("arn:aws:lambda:eu-west-1:123456789012:function:p-presignup")
                    .post_confirmation("arn:aws:lambda:eu-west-1:123456789012:function:welcome")
                    .build(),
            )
            .auto_verified_attributes(VerifiedAttributeType::Email)
            .auto_verified_attributes(VerifiedAttributeType::PhoneNumber)
            .email_verification_message("Your code is {####}")
            .email_verification_subject("Welcome")
            .verification_message_template(
                VerificationMessageTemplateType::builder()
                    .email_message("Your code is {####}")
                    .build(),
            )
            .mfa_configuration(UserPoolMfaType::Off)
            .admin_create_user_config(
                AdminCreateUserConfigType::builder()
                    .allow_admin_create_user_only(false)
                    .invite_message_template(
                        MessageTemplateType::builder()
                            .email_subject("Hello")
                            .build(),
                    )
                    .build(),
            )
            .account_recovery_setting(
                AccountRecoverySettingType::builder()
                    .recovery_mechanisms(recovery)
                    .build(),
            )
            .schema_attributes(
                SchemaAttributeType::builder()
                    .name("email")
                    .required(true)
                    .build(),
            )
            .username_configuration(
                UsernameConfigurationType::builder()
                    .case_sensitive(false)
                    .build()
                    .unwrap(),
            )
            .user_pool_tags("iotstack:stack", "p")
            .user_pool_tags("cost-centre", "42")
            .estimated_number_of_users(3)
            .build()
    }

    #[test]
    fn the_answer_is_read_in_the_stack_form() {
        let fetched = Located {
            answer: described(),
            region: "eu-west-1".into(),
            arn: "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/unused".into(),
            duplicates: Duplicates::default(),
        };
        let o = CognitoUserPool.observe(fetched, &want()).unwrap();
        assert_eq!(o.props["password_min_length"], json!(10));
        assert_eq!(o.props["require_numbers"], json!(false));
        assert_eq!(o.props["email_required"], json!(true));
        assert_eq!(o.props["auto_verify_email"], json!(true));
        assert_eq!(o.props["self_sign_up"], json!(true));
        assert_eq!(o.props["case_sensitive_usernames"], json!(false));
        assert_eq!(o.props["tags"], json!({"iotstack:stack": "p"}));
        assert_eq!(
            o.attr("provider_name"),
            "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf"
        );
        assert_eq!(o.attr("users"), "3");
        assert!(CognitoUserPool.data_loss(&o).is_some());
    }

    #[test]
    fn a_create_tells_what_the_read_observes() {
        let ctx = Ctx::for_tests("eu-west-1");
        // CreateUserPool's answer: the new pool, without users.
        let made = UserPoolType::builder()
            .id("eu-west-1_AbCdEf")
            .name("p-user-pool")
            .arn("arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf")
            .build();
        let made = created(located(&ctx, made), &want());
        let o = CognitoUserPool.observe(located(&ctx, described()), &want());
        crate::resources::assert_created_as_observed(&SPEC, &made, &o.unwrap());
        assert_eq!(
            made["provider_name"],
            "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf"
        );
    }

    #[test]
    fn an_update_sends_back_what_the_stack_does_not_model() {
        let pool = described();
        let input = update_request(&pool, &want(), Changes(&changed(&["password_min_length"])))
            .build()
            .unwrap();
        let pw = input.policies().unwrap().password_policy().unwrap();
        assert_eq!(
            pw.minimum_length(),
            Some(12),
            "the changed property changes"
        );
        assert!(
            !pw.require_numbers(),
            "an unchanged one stays as AWS has it"
        );
        assert_eq!(input.user_pool_id(), Some("eu-west-1_AbCdEf"));
        assert_eq!(
            input.deletion_protection(),
            Some(&DeletionProtectionType::Active)
        );
        assert_eq!(
            input.email_verification_message(),
            Some("Your code is {####}")
        );
        assert_eq!(input.email_verification_subject(), Some("Welcome"));
        assert_eq!(
            input.verification_message_template(),
            pool.verification_message_template()
        );
        let triggers = input.lambda_config().unwrap();
        assert_eq!(
            triggers.post_confirmation(),
            Some("arn:aws:lambda:eu-west-1:123456789012:function:welcome")
        );
        assert_eq!(
            input.account_recovery_setting(),
            pool.account_recovery_setting()
        );
        assert_eq!(
            input.auto_verified_attributes(),
            [
                VerifiedAttributeType::Email,
                VerifiedAttributeType::PhoneNumber
            ]
        );
        let admin = input.admin_create_user_config().unwrap();
        assert_eq!(
            admin
                .invite_message_template()
                .and_then(|t| t.email_subject()),
            Some("Hello")
        );
        assert_eq!(
            input.user_pool_tags(),
            Some(&HashMap::from([
                ("iotstack:stack".to_string(), "p".to_string()),
                ("cost-centre".to_string(), "42".to_string()),
            ]))
        );
    }

    #[test]
    fn only_the_changed_trigger_and_verification_change() {
        let mut want = want();
        want.props
            .insert("pre_sign_up_lambda_arn".into(), json!(""));
        want.props.insert("auto_verify_email".into(), json!(false));
        want.props.insert("self_sign_up".into(), json!(false));
        let changes = changed(&[
            "pre_sign_up_lambda_arn",
            "auto_verify_email",
            "self_sign_up",
        ]);
        let input = update_request(&described(), &want, Changes(&changes))
            .build()
            .unwrap();
        let triggers = input.lambda_config().unwrap();
        assert_eq!(triggers.pre_sign_up(), None);
        assert!(
            triggers.post_confirmation().is_some(),
            "the other trigger stays"
        );
        assert_eq!(
            input.auto_verified_attributes(),
            [VerifiedAttributeType::PhoneNumber]
        );
        let admin = input.admin_create_user_config().unwrap();
        assert!(admin.allow_admin_create_user_only());
        assert!(admin.invite_message_template().is_some());
    }
}
