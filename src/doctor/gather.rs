//! Every question doctor asks AWS beyond reading the stack's resources, in one place: the answers
//! become [`Facts`], which the checks judge without calling AWS. Each question is asked only when
//! a check will look at its answer.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::facts::{managed_arns, Attached, Facts, Resource, User};
use super::Subject;
use crate::aws::{found, OpExt};
use crate::discover::Live;
use crate::error::AwsError;
use crate::resources::sns_subscription::PENDING;
use crate::resources::{iot_policy, Ctx, Observed};
use crate::stack::Stack;

/// The facts about a stack: its resources with what is live (`live`, as read), and AWS's answers.
pub async fn gather(
    ctx: &Ctx,
    stack: &Stack,
    live: &[Live],
    subject: &Subject,
) -> Result<Facts, AwsError> {
    let resources = stack
        .resources
        .iter()
        .filter_map(|r| {
            let l = live.iter().find(|l| l.desired.id == r.id)?;
            Some(Resource {
                type_name: r.kind.type_name(),
                desired: l.desired.clone(),
                observed: l.observed.clone(),
            })
        })
        .collect();
    let mut f = Facts::new(
        &ctx.prefix,
        &ctx.region,
        &ctx.account,
        subject.clone(),
        resources,
    );
    f.allow_identity_self_attach = stack.settings.allow_identity_self_attach;
    identities(ctx, &mut f).await?;
    alerts(ctx, &mut f).await?;
    policy_ages(ctx, &mut f).await?;
    Ok(f)
}

/// The `--username` user, the authenticated role's managed policies, the identity IoT policy's
/// targets and the IoT policies of the `--identity-id` identity.
async fn identities(ctx: &Ctx, f: &mut Facts) -> Result<(), AwsError> {
    if f.identity_pool_id().is_none() {
        return Ok(());
    }
    let user_pool = f.live_attr("cognito_user_pool", "id").map(str::to_string);
    if let (Some(u), Some(pool)) = (f.subject.username.clone(), user_pool) {
        f.user = Some(user(ctx, &pool, &u).await?);
    }
    if let Some(role) = f.auth_role().and_then(|r| r.observed.clone()) {
        managed_policies(ctx, &role, &mut f.managed_policies).await?;
    }
    if f.identity_policy()
        .and_then(|p| p.observed.as_ref())
        .is_none()
    {
        return Ok(());
    }
    let name = f.identity_policy_name().to_string();
    let targets = iot_policy::targets(ctx, &name).await?;
    f.policy_targets.insert(name, targets);
    if let Some(id) = f.identity_to_look_up().map(str::to_string) {
        f.attached = Some(attached(ctx, &id).await?);
    }
    Ok(())
}

/// The rule role's managed policies and whether each subscription is still pending.
async fn alerts(ctx: &Ctx, f: &mut Facts) -> Result<(), AwsError> {
    if f.of_type("iot_topic_rule").is_none() {
        return Ok(());
    }
    if let Some(role) = f.rule_role().and_then(|r| r.observed.clone()) {
        managed_policies(ctx, &role, &mut f.managed_policies).await?;
    }
    let arns: Vec<String> = f
        .all_of_type("sns_email_subscription")
        .filter_map(|s| s.observed.as_ref())
        .map(|o| o.attr("arn").to_string())
        .filter(|arn| arn != PENDING && !arn.is_empty())
        .collect();
    for arn in arns {
        let a = found(
            ctx.clients
                .sns
                .get_subscription_attributes()
                .subscription_arn(&arn)
                .send()
                .await
                .op("GetSubscriptionAttributes"),
        )?;
        let pending = a
            .and_then(|a| {
                a.attributes()
                    .and_then(|m| m.get("PendingConfirmation").cloned())
            })
            .is_some_and(|v| v == "true");
        f.subscription_pending.insert(arn, pending);
    }
    Ok(())
}

/// When the default version of each live IoT policy of the stack was made.
async fn policy_ages(ctx: &Ctx, f: &mut Facts) -> Result<(), AwsError> {
    let names: Vec<String> = f
        .all_of_type("iot_policy")
        .filter_map(|p| p.observed.as_ref())
        .map(|o| o.attr("name").to_string())
        .collect();
    for name in names {
        let Some(v) = found(
            ctx.clients
                .iot
                .list_policy_versions()
                .policy_name(&name)
                .send()
                .await
                .op("ListPolicyVersions"),
        )?
        else {
            continue;
        };
        let Some(date) = v
            .policy_versions()
            .iter()
            .find(|v| v.is_default_version())
            .and_then(|v| v.create_date())
        else {
            continue;
        };
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(date.secs().max(0) as u64);
        f.policy_changed.insert(name, when);
    }
    Ok(())
}

async fn user(ctx: &Ctx, user_pool: &str, username: &str) -> Result<User, AwsError> {
    let r = ctx
        .clients
        .cognito_idp
        .admin_get_user()
        .user_pool_id(user_pool)
        .username(username)
        .send()
        .await
        .op("AdminGetUser");
    let user = match r {
        Err(e) if e.code.as_deref() == Some("UserNotFoundException") => return Ok(User::Missing),
        r => r?,
    };
    let sub = user
        .user_attributes()
        .iter()
        .find(|a| a.name() == "sub")
        .and_then(|a| a.value())
        .unwrap_or_default();
    Ok(User::Found {
        sub: sub.to_string(),
        enabled: user.enabled(),
        status: user
            .user_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
    })
}

/// The documents of a role's managed policies (those that exist), by ARN.
async fn managed_policies(
    ctx: &Ctx,
    role: &Observed,
    into: &mut BTreeMap<String, Value>,
) -> Result<(), AwsError> {
    let iam = &ctx.clients.iam;
    for arn in managed_arns(role) {
        let Some(p) = found(
            iam.get_policy()
                .policy_arn(arn)
                .send()
                .await
                .op("GetPolicy"),
        )?
        else {
            continue;
        };
        let Some(v) = p.policy().and_then(|p| p.default_version_id()) else {
            continue;
        };
        let pv = iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(v)
            .send()
            .await
            .op("GetPolicyVersion")?;
        if let Some(doc) = pv.policy_version().and_then(|v| v.document()) {
            let text = percent_encoding::percent_decode_str(doc).decode_utf8_lossy();
            if let Ok(d) = serde_json::from_str::<Value>(&text) {
                into.insert(arn.to_string(), d);
            }
        }
    }
    Ok(())
}

/// The IoT policies attached to an identity, with the documents of those that exist.
async fn attached(ctx: &Ctx, identity: &str) -> Result<Attached, AwsError> {
    let iot = &ctx.clients.iot;
    let r = iot
        .list_attached_policies()
        .target(identity)
        .send()
        .await
        .op("ListAttachedPolicies")?;
    let names: Vec<String> = r
        .policies()
        .iter()
        .filter_map(|p| p.policy_name().map(str::to_string))
        .collect();
    let mut documents = Vec::new();
    for n in &names {
        let p = found(iot.get_policy().policy_name(n).send().await.op("GetPolicy"))?;
        if let Some(p) = p {
            if let Ok(d) = serde_json::from_str::<Value>(p.policy_document().unwrap_or("{}")) {
                documents.push((n.clone(), d));
            }
        }
    }
    Ok(Attached { names, documents })
}
