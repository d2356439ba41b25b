//! Cognito identities: the identity pool and its authenticated role (set, trusted for this pool,
//! granting the IoT actions), the IoT policy for identities (exists, grants them, attached to the
//! identity and to nothing by mistake), the username/sub/identity-id distinction, and whether
//! Connect, Publish, Subscribe and Receive pass **both** layers.

use serde_json::Value;

use super::{Check, Facts, Repair};
use crate::aws::{Missing, OpExt};
use crate::discover::Live;
use crate::error::AwsError;
use crate::policy::eval::{self, Context, IotAction, Request, KEY_IOT_CLIENT_ID};

/// `region:uuid`, the shape of a Cognito identity id (and, alas, of an identity pool id).
pub fn looks_like_identity_id(s: &str) -> bool {
    let Some((region, uuid)) = s.split_once(':') else {
        return false;
    };
    let region_ok = region.split('-').count() >= 3
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let groups: Vec<&str> = uuid.split('-').collect();
    let uuid_ok = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    region_ok && uuid_ok
}

/// The named policy documents of a role: its inline policies (as read) and its managed ones.
pub async fn role_policies(
    facts: &Facts<'_>,
    role: &Live,
) -> Result<Vec<(String, Value)>, AwsError> {
    let Some(o) = &role.observed else {
        return Ok(Vec::new());
    };
    let mut out: Vec<(String, Value)> = o
        .props
        .get("inline_policies")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (format!("{} (inline)", k), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let iam = &facts.ctx.clients.iam;
    for arn in o
        .props
        .get("managed_policy_arns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
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
            let text = percent_encoding::percent_decode_str(doc)
                .decode_utf8_lossy()
                .to_string();
            if let Ok(d) = serde_json::from_str::<Value>(&text) {
                out.push((arn.to_string(), d));
            }
        }
    }
    Ok(out)
}

fn refs(p: &[(String, Value)]) -> Vec<(&str, &Value)> {
    p.iter().map(|(n, v)| (n.as_str(), v)).collect()
}

/// The four requests a client makes, for an identity, client id and topic.
pub struct Requests {
    pub identity: String,
    pub client_id: String,
    pub topic: String,
    pub sample: bool,
}

impl Requests {
    pub fn all(&self, region: &str, account: &str, pool: &str) -> Vec<(IotAction, Request)> {
        let ctx = Context::cognito_identity(&self.identity, pool, true)
            .with(KEY_IOT_CLIENT_ID, self.client_id.as_str());
        let wildcard = self.topic.contains('+') || self.topic.contains('#');
        let mut v = vec![(
            IotAction::Connect,
            Request::connect(region, account, &self.client_id).with_context(&ctx),
        )];
        if !wildcard {
            v.push((
                IotAction::Publish,
                Request::publish(region, account, &self.topic).with_context(&ctx),
            ));
        }
        v.push((
            IotAction::Subscribe,
            Request::subscribe(region, account, &self.topic).with_context(&ctx),
        ));
        if !wildcard {
            v.push((
                IotAction::Receive,
                Request::receive(region, account, &self.topic).with_context(&ctx),
            ));
        }
        v
    }
}

fn trust_problems(trust: &Value, pool: &str) -> Vec<String> {
    let stmts: Vec<&Value> = match &trust["Statement"] {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let list = |v: &Value| -> Vec<String> {
        match v {
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            Value::String(s) => vec![s.clone()],
            _ => vec![],
        }
    };
    let web: Vec<&&Value> = stmts
        .iter()
        .filter(|s| {
            s["Effect"] == "Allow"
                && list(&s["Action"])
                    .iter()
                    .any(|a| a == "sts:AssumeRoleWithWebIdentity")
                && list(&s["Principal"]["Federated"])
                    .iter()
                    .any(|p| p == "cognito-identity.amazonaws.com")
        })
        .collect();
    let Some(s) = web.first() else {
        return vec![
            "no statement lets cognito-identity.amazonaws.com call sts:AssumeRoleWithWebIdentity"
                .into(),
        ];
    };
    let cond = |key: &str| -> Vec<String> {
        let mut out = Vec::new();
        if let Some(ops) = s["Condition"].as_object() {
            for (_, keys) in ops {
                if let Some(m) = keys.as_object() {
                    for (k, v) in m {
                        if k.eq_ignore_ascii_case(key) {
                            out.extend(list(v));
                        }
                    }
                }
            }
        }
        out
    };
    let mut problems = Vec::new();
    let aud = cond("cognito-identity.amazonaws.com:aud");
    if aud.is_empty() {
        problems.push("the trust policy does not restrict `cognito-identity.amazonaws.com:aud`: any identity pool could use the role".into());
    } else if !aud.iter().any(|a| a == pool) {
        problems.push(format!(
            "the trust policy's `cognito-identity.amazonaws.com:aud` is {} but the identity pool is {pool}: AWS refuses AssumeRoleWithWebIdentity",
            aud.join(", ")
        ));
    }
    let amr = cond("cognito-identity.amazonaws.com:amr");
    if !amr.iter().any(|a| a == "authenticated") {
        problems.push(format!(
            "the trust policy's `cognito-identity.amazonaws.com:amr` is {} instead of `authenticated`",
            if amr.is_empty() { "not restricted".to_string() } else { amr.join(", ") }
        ));
    }
    problems
}

pub async fn checks(facts: &Facts<'_>) -> Result<Vec<Check>, AwsError> {
    let mut out = Vec::new();
    let ctx = facts.ctx;
    let (region, account) = (ctx.region.as_str(), ctx.account.as_str());
    let Some(pool) = facts.of_type("cognito_identity_pool") else {
        return Ok(out);
    };
    let c = Check::new("identity-pool", "The identity pool exists");
    let Some(pool_o) = &pool.observed else {
        out.push(c.fail(
            format!(
                "no identity pool named {} tagged for this stack",
                pool.desired.str("name")
            ),
            "run `iotstack apply`",
        ));
        return Ok(out);
    };
    let pool_id = pool_o.attr("id").to_string();
    out.push(c.pass(format!("{} ({pool_id})", pool.desired.str("name"))));

    // The identity the questions are about.
    let (identity, sample) = match &facts.subject.identity_id {
        Some(i) => (i.clone(), false),
        None => (
            format!("{region}:00000000-0000-0000-0000-000000000000"),
            true,
        ),
    };
    let requests = Requests {
        client_id: facts
            .subject
            .client_id
            .clone()
            .unwrap_or_else(|| identity.clone()),
        topic: facts
            .subject
            .topic
            .clone()
            .unwrap_or_else(|| format!("{pool_id}/{identity}/test")),
        identity: identity.clone(),
        sample,
    };
    if let Some(id) = &facts.subject.identity_id {
        if !looks_like_identity_id(id) {
            out.push(Check::new("identity-id", "The identity id is a Cognito identity id").fail(
                format!("`{id}` is not an identity id: those look like `{region}:<uuid>`"),
                "pass the IdentityId returned by GetId (cognito-identity), not a username or user sub",
            ));
        } else if id == &pool_id {
            out.push(
                Check::new("identity-id", "The identity id is a Cognito identity id").fail(
                    format!("`{id}` is the identity pool id, not an identity id"),
                    "pass the IdentityId returned by GetId for the signed-in user",
                ),
            );
        }
    }

    // The username, its sub and the identity id are three different things.
    let mut user_sub = None;
    if let Some(u) = &facts.subject.username {
        let c = Check::new("username", format!("User `{u}` exists and can sign in"));
        match facts
            .of_type("cognito_user_pool")
            .and_then(|p| p.observed.as_ref())
        {
            None => out.push(c.skip("the user pool does not exist")),
            Some(up) => {
                let r = ctx
                    .clients
                    .cognito_idp
                    .admin_get_user()
                    .user_pool_id(up.attr("id"))
                    .username(u)
                    .send()
                    .await
                    .op("AdminGetUser");
                match r {
                    Err(e) if e.code.as_deref() == Some("UserNotFoundException") => {
                        out.push(c.fail(
                            format!("no user `{u}` in user pool {}", up.attr("id")),
                            "check the username (sign-in name) and the pool",
                        ))
                    }
                    Err(e) => return Err(e),
                    Ok(user) => {
                        let sub = user
                            .user_attributes()
                            .iter()
                            .find(|a| a.name() == "sub")
                            .and_then(|a| a.value())
                            .unwrap_or_default()
                            .to_string();
                        let status = user
                            .user_status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default();
                        let explain = format!(
                            "username `{u}` is the sign-in name; its user pool `sub` is {sub}; its identity id is neither: GetId on identity pool {pool_id} with the user's ID token returns `{region}:<uuid>`, and IoT policies must be attached to that identity id"
                        );
                        user_sub = Some(sub);
                        let c = if !user.enabled() {
                            c.fail(format!("the user is disabled (status {status})"), format!("aws cognito-idp admin-enable-user --user-pool-id {} --username {u}", up.attr("id")))
                        } else if status != "CONFIRMED" {
                            c.fail(format!("the user's status is {status}: it cannot sign in with USER_PASSWORD_AUTH yet"), "confirm the user or set a permanent password (aws cognito-idp admin-set-user-password --permanent)")
                        } else {
                            c.pass("status CONFIRMED, enabled")
                        };
                        out.push(c.note(explain));
                    }
                }
            }
        }
    }

    // The identity pool's authenticated role.
    let roles = facts.of_type("cognito_identity_pool_roles");
    let auth_arn_wanted = roles
        .map(|r| r.desired.str("authenticated_role_arn").to_string())
        .unwrap_or_default();
    let auth_role = facts.find("iam_role", "arn", &auth_arn_wanted);
    let roles_id = roles.map(|r| r.desired.id.clone()).unwrap_or_default();
    let c = Check::new(
        "auth-role-set",
        "The identity pool has an authenticated role",
    );
    match roles.and_then(|r| r.observed.as_ref()) {
        None => out.push(
            c.fail(
                format!("identity pool {pool_id} has no roles: signed-in identities get no credentials"),
                format!("aws cognito-identity set-identity-pool-roles --identity-pool-id {pool_id} --roles authenticated={auth_arn_wanted}"),
            )
            .restore(&roles_id),
        ),
        Some(o) => {
            let live_arn = o.props.get("authenticated_role_arn").and_then(Value::as_str).unwrap_or_default();
            if live_arn.is_empty() {
                out.push(c.fail(format!("identity pool {pool_id} has no authenticated role"), format!("aws cognito-identity set-identity-pool-roles --identity-pool-id {pool_id} --roles authenticated={auth_arn_wanted}")).restore(&roles_id));
            } else if live_arn != auth_arn_wanted {
                out.push(c.fail(format!("the authenticated role is {live_arn}; the stack's is {auth_arn_wanted}"), "run `iotstack doctor --fix` or `iotstack apply`").restore(&roles_id));
            } else {
                out.push(c.pass(format!("authenticated role {live_arn}")));
            }
        }
    }

    // Its trust policy and its IoT grants.
    let mut role_docs = Vec::new();
    match auth_role {
        Some(
            role @ Live {
                observed: Some(o), ..
            },
        ) => {
            let role_id = role.desired.id.clone();
            let trust = o
                .props
                .get("assume_role_policy")
                .cloned()
                .unwrap_or(Value::Null);
            let problems = trust_problems(&trust, &pool_id);
            let c = Check::new(
                "auth-role-trust",
                "The authenticated role trusts this identity pool's signed-in identities",
            );
            out.push(if problems.is_empty() {
                c.pass(format!("{}: aud = {pool_id}, amr = authenticated", o.attr("name")))
            } else {
                let mut c = c.fail(problems[0].clone(), format!("set the trust policy's aud to {pool_id} and amr to authenticated (`iotstack doctor --fix` restores the stack's)")).restore(&role_id);
                for p in &problems[1..] {
                    c = c.note(p.clone());
                }
                c
            });
            role_docs = role_policies(facts, role).await?;
            let mut c = Check::new(
                "auth-role-iot",
                "The authenticated role allows the IoT actions the client needs",
            );
            if requests.sample {
                c = c.note(format!(
                    "no --identity-id given: evaluated for a sample identity {}",
                    requests.identity
                ));
            }
            let refused: Vec<String> = requests
                .all(region, account, &pool_id)
                .into_iter()
                .filter_map(|(a, req)| {
                    let e =
                        eval::evaluate_policies(eval::Layer::IdentityRole, &refs(&role_docs), &req);
                    (!e.is_allowed()).then(|| format!("{}: {}", a.as_str(), e.explain(&req)))
                })
                .collect();
            out.push(if refused.is_empty() {
                c.pass(format!("{} allows iot:Connect, iot:Publish, iot:Subscribe and iot:Receive for the identity", o.attr("name")))
            } else {
                let mut c = c.fail(refused[0].clone(), format!("grant the refused actions in {}'s policy, scoped to ${{cognito-identity.amazonaws.com:sub}} (`iotstack doctor --fix` restores the stack's grants)", o.attr("name"))).restore(&role_id);
                for r in &refused[1..] {
                    c = c.note(r.clone());
                }
                c
            });
        }
        _ => out.push(
            Check::new("auth-role-trust", "The authenticated role exists").fail(
                format!("the role {auth_arn_wanted} does not exist"),
                "run `iotstack apply`",
            ),
        ),
    }

    // The IoT policy for identities.
    let attachments = facts.of_type("iot_identity_attachments");
    let policy_name = attachments
        .map(|a| a.desired.str("policy").to_string())
        .unwrap_or_default();
    let Some(policy) = facts.find("iot_policy", "name", &policy_name) else {
        return Ok(out);
    };
    let policy_id = policy.desired.id.clone();
    let c = Check::new(
        "iot-policy",
        format!("The IoT policy {policy_name} allows the identity"),
    );
    let Some(po) = &policy.observed else {
        out.push(
            c.fail(
                format!("IoT policy {policy_name} does not exist"),
                "run `iotstack apply`",
            )
            .restore(&policy_id),
        );
        return Ok(out);
    };
    let doc = po.props.get("document").cloned().unwrap_or(Value::Null);
    let refused: Vec<String> = requests
        .all(region, account, &pool_id)
        .into_iter()
        .filter_map(|(a, req)| {
            let e = eval::evaluate(&doc, &req);
            (!e.is_allowed()).then(|| format!("{}: {}", a.as_str(), e.explain(&req)))
        })
        .collect();
    let lint: Vec<String> = crate::policy::lint::lint_iot_policy(&doc)
        .into_iter()
        .filter(|f| {
            f.rule == crate::policy::lint::RULE_RESOURCE_TYPE
                || f.rule == crate::policy::lint::RULE_SUBSCRIBE_WITHOUT_RECEIVE
        })
        .map(|f| f.to_string())
        .collect();
    out.push(if refused.is_empty() {
        c.pass(format!("{policy_name} allows iot:Connect, iot:Publish, iot:Subscribe and iot:Receive for the identity"))
    } else {
        let mut c = c.fail(refused[0].clone(), format!("fix {policy_name}: Publish/Receive on topic/..., Subscribe on topicfilter/..., Connect on client/${{cognito-identity.amazonaws.com:sub}} (`iotstack doctor --fix` restores the stack's document)")).restore(&policy_id);
        for r in refused[1..].iter().chain(&lint) {
            c = c.note(r.clone());
        }
        c
    });

    // What the policy is attached to.
    let targets = crate::resources::iot_policy::targets(ctx, &policy_name).await?;
    let user_pool_id = facts
        .of_type("cognito_user_pool")
        .and_then(|p| p.observed.as_ref())
        .map(|o| o.attr("id").to_string());
    let mut mistakes = Vec::new();
    for t in &targets {
        let why = if t == &pool_id {
            Some("is the identity pool id, not an identity id".to_string())
        } else if Some(t) == user_pool_id.as_ref() {
            Some("is the user pool id".to_string())
        } else if Some(t) == facts.subject.username.as_ref() {
            Some("is the username, not an identity id".to_string())
        } else if Some(t) == user_sub.as_ref() {
            Some("is the user's user-pool `sub`, not an identity id".to_string())
        } else if !t.starts_with("arn:") && !looks_like_identity_id(t) {
            Some("is not an identity id (region:uuid)".to_string())
        } else {
            None
        };
        if let Some(w) = why {
            mistakes.push((t.clone(), w));
        }
    }
    let c = Check::new(
        "iot-policy-targets",
        format!("{policy_name} is attached to identities, not to ids of something else"),
    );
    out.push(if mistakes.is_empty() {
        c.pass(format!("{} target(s), none mistaken", targets.len()))
    } else {
        let mut c = c.fail(
            format!("{policy_name} is attached to `{}`, which {}: it grants nothing", mistakes[0].0, mistakes[0].1),
            format!("aws iot detach-policy --policy-name {policy_name} --target {}, and attach the policy to the identity id (`iotstack doctor --fix --identity-id ID`)", mistakes[0].0),
        );
        for (t, w) in &mistakes {
            if t != &mistakes[0].0 {
                c = c.note(format!("`{t}` {w}"));
            }
            c = c.repair(Repair::Detach { policy: policy_name.clone(), target: t.clone() });
        }
        c
    });

    // Attached to this identity?
    let c = Check::new(
        "identity-attached",
        format!("{policy_name} is attached to the identity"),
    );
    let attached_docs: Vec<(String, Value)> = if let Some(id) = facts
        .subject
        .identity_id
        .as_ref()
        .filter(|i| looks_like_identity_id(i) && **i != pool_id)
    {
        let r = ctx
            .clients
            .iot
            .list_attached_policies()
            .target(id)
            .send()
            .await
            .op("ListAttachedPolicies")?;
        let names: Vec<String> = r
            .policies()
            .iter()
            .filter_map(|p| p.policy_name().map(str::to_string))
            .collect();
        if names.contains(&policy_name) {
            out.push(c.pass(format!("{id} has {}", names.join(", "))));
        } else {
            out.push(
                c.fail(
                    format!("no IoT policy named {policy_name} is attached to identity {id} (attached: {})", if names.is_empty() { "none".into() } else { names.join(", ") }),
                    format!("aws iot attach-policy --policy-name {policy_name} --target {id} (or have the client call the attach function's URL)"),
                )
                .repair(Repair::Attach { policy: policy_name.clone(), target: id.clone() }),
            );
        }
        let mut docs = Vec::new();
        for n in names {
            if let Some(p) = Missing::IOT.found(
                ctx.clients
                    .iot
                    .get_policy()
                    .policy_name(&n)
                    .send()
                    .await
                    .op("GetPolicy"),
            )? {
                if let Ok(d) = serde_json::from_str::<Value>(p.policy_document().unwrap_or("{}")) {
                    docs.push((n, d));
                }
            }
        }
        docs
    } else {
        out.push(c.skip("pass --identity-id (the IdentityId from GetId) to check the attachment"));
        vec![(policy_name.clone(), doc.clone())]
    };

    // Both layers, action by action.
    if auth_role.and_then(|r| r.observed.as_ref()).is_some() {
        for (a, req) in requests.all(region, account, &pool_id) {
            let r = eval::evaluate_layers(&refs(&role_docs), &refs(&attached_docs), &req, true);
            let name = a.as_str().trim_start_matches("iot:").to_lowercase();
            // `client/...`, `topic/...`: the ARN without its partition, region and account.
            let short = req.resource.splitn(6, ':').nth(5).unwrap_or(&req.resource);
            let title = format!(
                "{} on {short} passes both the role and the IoT policy",
                a.as_str()
            );
            let c = Check::new(access_id(a), title);
            let c = if r.is_allowed() {
                let mut c = c.pass(r.role.explain(&req));
                if let Some(i) = &r.iot {
                    c = c.note(i.explain(&req));
                }
                c
            } else {
                let mut c = c.fail(
                    r.refusals.iter().map(|x| x.reason.clone()).collect::<Vec<_>>().join("; "),
                    match r.refused_by() {
                        Some(eval::Layer::IotPolicy) => format!("attach {policy_name} to the identity and let it allow {name} on this resource"),
                        _ => "let the authenticated role allow it (see auth-role-iot)".to_string(),
                    },
                );
                if requests.sample {
                    c = c.note(format!(
                        "evaluated for the sample identity {}",
                        requests.identity
                    ));
                }
                c
            };
            out.push(c);
        }
    }
    Ok(out)
}

fn access_id(a: IotAction) -> &'static str {
    match a {
        IotAction::Connect => "access-connect",
        IotAction::Publish => "access-publish",
        IotAction::Subscribe => "access-subscribe",
        IotAction::Receive => "access-receive",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_id_shape() {
        assert!(looks_like_identity_id(
            "us-east-1:0b3c1f4e-8a51-4f5e-9d0c-2a1b3c4d5e6f"
        ));
        assert!(!looks_like_identity_id(
            "0b3c1f4e-8a51-4f5e-9d0c-2a1b3c4d5e6f"
        ));
        assert!(!looks_like_identity_id("alice"));
        assert!(!looks_like_identity_id("us-east-1_AbCdEf"));
    }

    #[test]
    fn trust_must_name_the_pool_and_authenticated() {
        let trust = |aud: &str, amr: &str| {
            json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": aud},
                              "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr}}}]})
        };
        assert!(trust_problems(&trust("us-east-1:p", "authenticated"), "us-east-1:p").is_empty());
        let p = trust_problems(&trust("us-east-1:other", "authenticated"), "us-east-1:p");
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("us-east-1:other") && p[0].contains("us-east-1:p"));
        let p = trust_problems(&trust("us-east-1:p", "unauthenticated"), "us-east-1:p");
        assert!(p[0].contains("instead of `authenticated`"));
        assert!(!trust_problems(&json!({"Statement": []}), "x").is_empty());
    }
}
