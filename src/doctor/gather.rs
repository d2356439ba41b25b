//! Every question doctor asks AWS beyond reading the stack's resources, in one place: the answers
//! become [`Facts`], which the checks judge without calling AWS. Each question is asked only when
//! a check will look at its answer.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::crosscheck::{self, action_type};
use super::device;
use super::facts::{managed_arns, Answer, Attached, Evaluator, Facts, Question, Resource, User};
use super::Subject;
use crate::aws::{aws_err, retry_config, Missing, OpExt};
use crate::discover::Live;
use crate::error::AwsError;
use crate::resources::sns_subscription::PENDING;
use crate::resources::{iot_policy, Ctx, Observed};
use crate::stack::Stack;
use aws_sdk_iot::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use iotstack_policy::{Decision, Request};

/// The facts about a stack: its resources with what is live (`live`, as read), and AWS's answers;
/// with `ask_aws`, also AWS's own evaluation of the access checks' requests ([`ask_aws`]).
pub async fn gather(
    ctx: &Ctx,
    stack: &Stack,
    live: &[Live],
    subject: &Subject,
    ask_aws: bool,
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
    if ask_aws {
        self::ask_aws(ctx, &mut f).await;
    }
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
        let a = Missing::SNS.found(
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
        let Some(v) = Missing::IOT.found(
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
        let Some(p) = Missing::IAM.found(
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
        let p = Missing::IOT.found(iot.get_policy().policy_name(n).send().await.op("GetPolicy"))?;
        if let Some(p) = p {
            if let Ok(d) = serde_json::from_str::<Value>(p.policy_document().unwrap_or("{}")) {
                documents.push((n.clone(), d));
            }
        }
    }
    Ok(Attached { names, documents })
}

/// AWS's own evaluation of the requests the access checks judge offline (see [`crosscheck`]):
/// TestAuthorization for the identity's IoT policies and for the device certificate's, and
/// SimulatePrincipalPolicy for the authenticated role. Never fails: an evaluator the caller may
/// not use, or the endpoint does not answer, is recorded as unavailable for every question put to
/// it, and asked no more in this run.
pub async fn ask_aws(ctx: &Ctx, f: &mut Facts) {
    let mut answers = BTreeMap::new();
    let mut iot_down = None;
    if let Some(asks) = crosscheck::identity_asks(f) {
        let rq = &asks.requests;
        let requests: Vec<Request> = rq.all().into_iter().map(|(_, r)| r).collect();
        if let Some(identity) = &asks.identity {
            let r = test_authorization(ctx, identity, Some(&rq.pool_id), &rq.client_id, &requests)
                .await;
            iot_down = down(
                &r,
                &["InvalidRequestException", "ResourceNotFoundException"],
            );
            record(
                &mut answers,
                Evaluator::TestAuthorization,
                identity,
                &requests,
                r,
            );
        }
        let r = simulate(ctx, &asks.role_arn, &requests).await;
        record(
            &mut answers,
            Evaluator::SimulatePrincipalPolicy,
            &asks.role_arn,
            &requests,
            r,
        );
    }
    if let Some((cert_arn, thing)) = device::device(f) {
        let requests = device::requests(f, &thing);
        let r = match iot_down {
            Some(a) => Err(a),
            None => test_authorization(ctx, &cert_arn, None, &thing, &requests).await,
        };
        record(
            &mut answers,
            Evaluator::TestAuthorization,
            &cert_arn,
            &requests,
            r,
        );
    }
    f.aws_answers = Some(answers);
}

/// The answer for every question of an evaluator AWS could not be asked, unless its error is
/// about this question only (one of `own`).
fn down(r: &Result<Vec<Answer>, Answer>, own: &[&str]) -> Option<Answer> {
    match r {
        Err(a @ Answer::Unavailable { code, .. })
            if !code.as_deref().is_some_and(|c| own.contains(&c)) =>
        {
            Some(a.clone())
        }
        _ => None,
    }
}

/// Files the answers to `requests` (or the one answer for all of them) under their questions.
fn record(
    into: &mut BTreeMap<Question, Answer>,
    evaluator: Evaluator,
    principal: &str,
    requests: &[Request],
    answers: Result<Vec<Answer>, Answer>,
) {
    for (i, req) in requests.iter().enumerate() {
        let a = match &answers {
            Ok(all) => all.get(i).cloned().unwrap_or_else(|| Answer::Unavailable {
                code: None,
                message: format!("{} gave no answer for this request", evaluator.as_str()),
            }),
            Err(a) => a.clone(),
        };
        let q = Question {
            evaluator,
            principal: principal.to_string(),
            action: req.action.clone(),
            resource: req.resource.clone(),
        };
        into.insert(q, a);
    }
}

/// Attempts for the cross-check calls: they only confirm what doctor already judged, so
/// throttling or a failing endpoint is retried briefly, not for a minute.
const ASK_ATTEMPTS: u32 = 3;

fn brief_retries() -> aws_config::retry::RetryConfig {
    retry_config().with_max_attempts(ASK_ATTEMPTS)
}

/// Why an evaluator could not be asked: AWS's error code and message; for an answer without an
/// AWS error (an endpoint that does not implement the call), its HTTP status.
fn unavailable<E>(operation: &'static str, e: SdkError<E, HttpResponse>) -> Answer
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    match (e.code(), status) {
        (None, Some(status)) => Answer::Unavailable {
            code: None,
            message: format!(
                "HTTP {status} without an AWS error: the endpoint may not implement {operation}"
            ),
        },
        _ => {
            let e = aws_err(operation, e);
            Answer::Unavailable {
                code: e.code,
                message: e.message,
            }
        }
    }
}

/// IoT TestAuthorization for `principal` (a Cognito identity id with its pool, or a certificate
/// ARN), one `authInfo` per request, in the requests' order (AWS IoT API reference,
/// "TestAuthorization": at most 10 `authInfos`; "AuthResult": `authDecision` ALLOWED,
/// EXPLICIT_DENY or IMPLICIT_DENY, the IoT policies that allowed or denied it, and the context
/// values it missed).
async fn test_authorization(
    ctx: &Ctx,
    principal: &str,
    pool_id: Option<&str>,
    client_id: &str,
    requests: &[Request],
) -> Result<Vec<Answer>, Answer> {
    use aws_sdk_iot::types::{ActionType, AuthDecision, AuthInfo, Policy};
    let infos = requests
        .iter()
        .map(|r| {
            AuthInfo::builder()
                .action_type(ActionType::from(action_type(&r.action).unwrap_or_default()))
                .resources(&r.resource)
                .build()
                .map_err(|e| Answer::Unavailable {
                    code: None,
                    message: e.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let out = ctx
        .clients
        .iot
        .test_authorization()
        .principal(principal)
        .set_cognito_identity_pool_id(pool_id.map(str::to_string))
        .client_id(client_id)
        .set_auth_infos(Some(infos))
        .customize()
        .config_override(aws_sdk_iot::config::Builder::default().retry_config(brief_retries()))
        .send()
        .await
        .map_err(|e| unavailable("TestAuthorization", e))?;
    let names = |p: &[Policy]| -> Vec<String> {
        p.iter()
            .filter_map(|p| p.policy_name().map(str::to_string))
            .collect()
    };
    let results = out.auth_results();
    let answers = requests
        .iter()
        .enumerate()
        .map(|(i, req)| {
            // The result whose echoed authInfo is this request's, else the one in its place.
            let echoes = |r: &&aws_sdk_iot::types::AuthResult| {
                r.auth_info().is_some_and(|a| {
                    a.action_type().map(|t| t.as_str()) == action_type(&req.action)
                        && a.resources().iter().any(|x| x == &req.resource)
                })
            };
            let Some(r) = results.iter().find(echoes).or(results.get(i)) else {
                return Answer::Unavailable {
                    code: None,
                    message: "TestAuthorization gave no result for this request".into(),
                };
            };
            let denied = r.denied();
            let (decision, policies) = match r.auth_decision() {
                Some(AuthDecision::Allowed) => (Decision::Allow, r.allowed().map(|a| a.policies())),
                Some(AuthDecision::ExplicitDeny) => (
                    Decision::ExplicitDeny,
                    denied.and_then(|d| d.explicit_deny()).map(|d| d.policies()),
                ),
                Some(AuthDecision::ImplicitDeny) => (
                    Decision::ImplicitDeny,
                    denied.and_then(|d| d.implicit_deny()).map(|d| d.policies()),
                ),
                other => {
                    return Answer::Unavailable {
                        code: None,
                        message: format!(
                            "TestAuthorization answered no known decision ({})",
                            other.map(|d| d.as_str()).unwrap_or("none")
                        ),
                    }
                }
            };
            Answer::Decided {
                decision,
                said: r
                    .auth_decision()
                    .map(|d| d.as_str())
                    .unwrap_or_default()
                    .to_string(),
                by: names(policies.unwrap_or_default()),
                missing: r.missing_context_values().to_vec(),
            }
        })
        .collect();
    Ok(answers)
}

/// IAM SimulatePrincipalPolicy for the role: one call per resource, with the actions asked on
/// it and the requests' context as `ContextEntries` (the values of the policy variables). The
/// simulator returns one result per action, aggregated over the resources given, with the
/// per-resource decisions in `ResourceSpecificResults` (IAM API reference,
/// "SimulatePrincipalPolicy", "EvaluationResult"): one resource per call keeps each answer
/// about one request.
async fn simulate(ctx: &Ctx, role_arn: &str, requests: &[Request]) -> Result<Vec<Answer>, Answer> {
    use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum};
    let mut resources: Vec<&str> = Vec::new();
    for r in requests {
        if !resources.contains(&r.resource.as_str()) {
            resources.push(&r.resource);
        }
    }
    let mut by_request: BTreeMap<(String, String), Answer> = BTreeMap::new();
    for resource in resources {
        let asked: Vec<&Request> = requests.iter().filter(|r| r.resource == resource).collect();
        let mut actions: Vec<String> = asked.iter().map(|r| r.action.clone()).collect();
        actions.dedup();
        let entries: Vec<ContextEntry> = asked[0]
            .context
            .iter()
            .map(|(k, v)| {
                let kind = if v.len() > 1 {
                    ContextKeyTypeEnum::StringList
                } else {
                    ContextKeyTypeEnum::String
                };
                ContextEntry::builder()
                    .context_key_name(k)
                    .set_context_key_values(Some(v.to_vec()))
                    .context_key_type(kind)
                    .build()
            })
            .collect();
        let mut marker = None;
        loop {
            let out = ctx
                .clients
                .iam
                .simulate_principal_policy()
                .policy_source_arn(role_arn)
                .set_action_names(Some(actions.clone()))
                .resource_arns(resource)
                .set_context_entries(Some(entries.clone()))
                .set_marker(marker.take())
                .customize()
                .config_override(
                    aws_sdk_iam::config::Builder::default().retry_config(brief_retries()),
                )
                .send()
                .await
                .map_err(|e| unavailable("SimulatePrincipalPolicy", e))?;
            for e in out.evaluation_results() {
                // This resource's own result when AWS gives one; else the action's, which is
                // about this resource alone.
                let own = e
                    .resource_specific_results()
                    .iter()
                    .find(|r| r.eval_resource_name() == resource);
                let (decision, statements, missing) = match own {
                    Some(r) => (
                        r.eval_resource_decision(),
                        r.matched_statements(),
                        r.missing_context_values(),
                    ),
                    None => (
                        e.eval_decision(),
                        e.matched_statements(),
                        e.missing_context_values(),
                    ),
                };
                let d = match decision.as_str() {
                    "allowed" => Decision::Allow,
                    "explicitDeny" => Decision::ExplicitDeny,
                    _ => Decision::ImplicitDeny,
                };
                let mut by: Vec<String> = statements
                    .iter()
                    .filter_map(|s| s.source_policy_id().map(str::to_string))
                    .collect();
                by.dedup();
                let a = Answer::Decided {
                    decision: d,
                    said: decision.as_str().to_string(),
                    by,
                    missing: missing.to_vec(),
                };
                by_request.insert((e.eval_action_name().to_string(), resource.to_string()), a);
            }
            marker = out.marker().map(str::to_string);
            if !out.is_truncated() || marker.is_none() {
                break;
            }
        }
    }
    Ok(requests
        .iter()
        .map(|r| {
            by_request
                .get(&(r.action.clone(), r.resource.clone()))
                .cloned()
                .unwrap_or_else(|| Answer::Unavailable {
                    code: None,
                    message: "SimulatePrincipalPolicy gave no result for this request".into(),
                })
        })
        .collect())
}

#[cfg(test)]
mod tests;
