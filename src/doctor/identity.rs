//! Cognito identities: the identity pool and its authenticated role (set, trusted for this pool,
//! granting the IoT actions), the username/sub/identity-id distinction, then the IoT policy for
//! identities ([`super::identity_policy`]) and whether Connect, Publish, Subscribe and Receive
//! pass **both** layers ([`super::access`]).

use serde_json::Value;

use super::access::{layer_refuses, refused, Requests};
use super::facts::{looks_like_identity_id, Resource, User};
use super::{identity_policy, Check, Facts};
use crate::resources::Observed;
use iotstack_policy::Layer;

pub fn checks(f: &Facts) -> Vec<Check> {
    let Some(pool) = f.of_type("cognito_identity_pool") else {
        return Vec::new();
    };
    let name = pool.desired.str("name");
    let c = Check::new("identity-pool", "The identity pool exists");
    let Some(pool_id) = f.identity_pool_id() else {
        return vec![c.fail(
            format!("no identity pool named {name} tagged for this stack"),
            "run `iotstack apply`",
        )];
    };
    let requests = Requests::of_subject(f, pool_id);
    let mut out = vec![c.pass(format!("{name} ({pool_id})"))];
    out.extend(identity_id(f, pool_id));
    out.extend(username(f, pool_id));
    out.push(auth_role_set(f, pool_id));
    let role_docs = match f.auth_role() {
        Some(
            role @ Resource {
                observed: Some(o), ..
            },
        ) => {
            let docs = f.role_policies(role);
            out.push(auth_role_trust(&role.desired.id, o, pool_id));
            out.push(auth_role_iot(&role.desired.id, o, &requests, &docs));
            Some(docs)
        }
        _ => {
            out.push(
                Check::new("auth-role-trust", "The authenticated role exists").fail(
                    format!("the role {} does not exist", f.auth_role_arn()),
                    "run `iotstack apply`",
                ),
            );
            None
        }
    };
    out.extend(identity_policy::checks(f, &requests, role_docs.as_deref()));
    out
}

/// `--identity-id` has the shape of an identity id and is not the pool's id.
fn identity_id(f: &Facts, pool_id: &str) -> Option<Check> {
    let id = f.subject.identity_id.as_ref()?;
    let c = Check::new("identity-id", "The identity id is a Cognito identity id");
    if !looks_like_identity_id(id) {
        Some(c.fail(
            format!(
                "`{id}` is not an identity id: those look like `{}:<uuid>`",
                f.region
            ),
            "pass the IdentityId returned by GetId (cognito-identity), not a username or user sub",
        ))
    } else if id == pool_id {
        Some(c.fail(
            format!("`{id}` is the identity pool id, not an identity id"),
            "pass the IdentityId returned by GetId for the signed-in user",
        ))
    } else {
        None
    }
}

/// The `--username` user can sign in; the username, its sub and the identity id are three
/// different things.
fn username(f: &Facts, pool_id: &str) -> Option<Check> {
    let u = f.subject.username.as_ref()?;
    let c = Check::new("username", format!("User `{u}` exists and can sign in"));
    let (Some(user_pool), Some(user)) = (f.live_attr("cognito_user_pool", "id"), &f.user) else {
        return Some(c.skip("the user pool does not exist"));
    };
    let User::Found {
        sub,
        enabled,
        status,
    } = user
    else {
        return Some(c.fail(
            format!("no user `{u}` in user pool {user_pool}"),
            "check the username (sign-in name) and the pool",
        ));
    };
    let c = if !enabled {
        c.fail(
            format!("the user is disabled (status {status})"),
            format!("aws cognito-idp admin-enable-user --user-pool-id {user_pool} --username {u}"),
        )
    } else if status != "CONFIRMED" {
        c.fail(format!("the user's status is {status}: it cannot sign in with USER_PASSWORD_AUTH yet"), "confirm the user or set a permanent password (aws cognito-idp admin-set-user-password --permanent)")
    } else {
        c.pass("status CONFIRMED, enabled")
    };
    Some(c.note(format!(
        "username `{u}` is the sign-in name; its user pool `sub` is {sub}; its identity id is neither: GetId on identity pool {pool_id} with the user's ID token returns `{}:<uuid>`, and IoT policies must be attached to that identity id",
        f.region
    )))
}

/// The identity pool's authenticated role is the stack's.
fn auth_role_set(f: &Facts, pool_id: &str) -> Check {
    let wanted = f.auth_role_arn();
    let roles = f.of_type("cognito_identity_pool_roles");
    let roles_id = roles.map(|r| r.desired.id.as_str()).unwrap_or_default();
    let c = Check::new(
        "auth-role-set",
        "The identity pool has an authenticated role",
    );
    let set = format!("aws cognito-identity set-identity-pool-roles --identity-pool-id {pool_id} --roles authenticated={wanted}");
    let live = match roles.and_then(|r| r.observed.as_ref()) {
        None => {
            return c
                .fail(
                    format!(
                    "identity pool {pool_id} has no roles: signed-in identities get no credentials"
                ),
                    set,
                )
                .restore(roles_id)
        }
        Some(o) => o
            .props
            .get("authenticated_role_arn")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    };
    if live.is_empty() {
        c.fail(
            format!("identity pool {pool_id} has no authenticated role"),
            set,
        )
        .restore(roles_id)
    } else if live != wanted {
        c.fail(
            format!("the authenticated role is {live}; the stack's is {wanted}"),
            "run `iotstack doctor --fix` or `iotstack apply`",
        )
        .restore(roles_id)
    } else {
        c.pass(format!("authenticated role {live}"))
    }
}

/// The authenticated role (live) trusts this pool's signed-in identities.
fn auth_role_trust(role_id: &str, o: &Observed, pool_id: &str) -> Check {
    let trust = o
        .props
        .get("assume_role_policy")
        .cloned()
        .unwrap_or(Value::Null);
    let problems = trust_problems(&trust, pool_id);
    let c = Check::new(
        "auth-role-trust",
        "The authenticated role trusts this identity pool's signed-in identities",
    );
    if problems.is_empty() {
        return c.pass(format!(
            "{}: aud = {pool_id}, amr = authenticated",
            o.attr("name")
        ));
    }
    c.fail_all(problems, format!("set the trust policy's aud to {pool_id} and amr to authenticated (`iotstack doctor --fix` restores the stack's)"))
        .restore(role_id)
}

/// The authenticated role (live) allows what the client asks IoT for.
fn auth_role_iot(
    role_id: &str,
    o: &Observed,
    requests: &Requests,
    docs: &[(String, Value)],
) -> Check {
    let name = o.attr("name");
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
    let all = requests.all();
    let refusals = refused(all.iter().map(|(_, r)| r), |r| {
        layer_refuses(Layer::IdentityRole, docs, r)
    });
    if refusals.is_empty() {
        return c.pass(format!("{name} allows iot:Connect, iot:Publish, iot:Subscribe and iot:Receive for the identity"));
    }
    c.fail_all(refusals, format!("grant the refused actions in {name}'s policy, scoped to ${{cognito-identity.amazonaws.com:sub}} (`iotstack doctor --fix` restores the stack's grants)"))
        .restore(role_id)
}

/// What is wrong with a role's trust policy for the signed-in identities of `pool`.
pub fn trust_problems(trust: &Value, pool: &str) -> Vec<String> {
    let stmts: Vec<&Value> = match &trust["Statement"] {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let web = stmts.iter().find(|s| {
        s["Effect"] == "Allow"
            && strings(&s["Action"])
                .iter()
                .any(|a| a == "sts:AssumeRoleWithWebIdentity")
            && strings(&s["Principal"]["Federated"])
                .iter()
                .any(|p| p == "cognito-identity.amazonaws.com")
    });
    let Some(s) = web else {
        return vec![
            "no statement lets cognito-identity.amazonaws.com call sts:AssumeRoleWithWebIdentity"
                .into(),
        ];
    };
    let cond = |key: &str| -> Vec<String> {
        let ops = s["Condition"].as_object().into_iter().flatten();
        ops.filter_map(|(_, keys)| keys.as_object())
            .flatten()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .flat_map(|(_, v)| strings(v))
            .collect()
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

/// A policy field that is one string or a list of them.
fn strings(v: &Value) -> Vec<String> {
    let items = match v {
        Value::Array(a) => a.as_slice(),
        one => std::slice::from_ref(one),
    };
    items
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::doctor::fixture::*;
    use crate::doctor::Status;

    #[test]
    fn a_missing_identity_pool_is_the_only_identity_check() {
        let mut f = healthy();
        remove(&mut f, "identity-pool");
        let c = super::checks(&f);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].id, "identity-pool");
        assert_eq!(c[0].status, Status::Fail);
        assert!(c[0].evidence[0].contains("acme-edge-identity-pool"));
    }

    #[test]
    fn an_identity_id_of_another_shape_is_named() {
        let mut f = healthy();
        f.subject.identity_id = Some(USERNAME.into());
        failing(&f, "identity-id", "is not an identity id");
        f.subject.identity_id = Some(POOL_ID.into());
        failing(&f, "identity-id", "is the identity pool id");
    }

    #[test]
    fn a_username_is_explained_beside_its_sub_and_identity_id() {
        let c = check(&healthy(), "username");
        assert_eq!(c.status, Status::Pass);
        let text = c.evidence.join("\n");
        assert!(text.contains("sign-in name") && text.contains(USER_SUB) && text.contains(POOL_ID));
    }

    #[test]
    fn a_user_who_cannot_sign_in_is_named() {
        let mut f = healthy();
        f.user = Some(User::Missing);
        failing(&f, "username", "no user `acme-app-user`");
        let user = |enabled, status: &str| User::Found {
            sub: USER_SUB.into(),
            enabled,
            status: status.into(),
        };
        f.user = Some(user(false, "CONFIRMED"));
        let c = failing(&f, "username", "disabled");
        assert!(c.fix.unwrap().contains("admin-enable-user"));
        f.user = Some(user(true, "FORCE_CHANGE_PASSWORD"));
        failing(&f, "username", "FORCE_CHANGE_PASSWORD");
        remove(&mut f, "user-pool");
        f.user = None;
        assert_eq!(check(&f, "username").status, Status::Skip);
    }

    #[test]
    fn an_identity_pool_without_its_authenticated_role_is_restored() {
        let mut f = healthy();
        remove(&mut f, "identity-pool-roles");
        let c = failing(&f, "auth-role-set", "has no roles");
        assert!(c.fix.as_ref().unwrap().contains("set-identity-pool-roles"));
        restores(&c, "identity-pool-roles");

        let mut f = healthy();
        live_mut(&mut f, "identity-pool-roles").props.clear();
        restored(
            &f,
            "auth-role-set",
            "has no authenticated role",
            "identity-pool-roles",
        );

        let mut f = healthy();
        let other = "arn:aws:iam::123456789012:role/other";
        set_live(
            &mut f,
            "identity-pool-roles",
            "authenticated_role_arn",
            json!(other),
        );
        restores(&failing(&f, "auth-role-set", other), "identity-pool-roles");
    }

    #[test]
    fn a_missing_authenticated_role_is_named() {
        let mut f = healthy();
        remove(&mut f, "auth-role");
        let c = failing(&f, "auth-role-trust", AUTH_ROLE_ARN);
        assert_eq!(c.title, "The authenticated role exists");
        assert!(all_checks(&f).iter().all(|c| c.id != "auth-role-iot"));
        assert!(
            all_checks(&f).iter().all(|c| !c.id.starts_with("access-")),
            "both layers need the role"
        );
    }

    /// The authenticated role's trust policy, with these `aud` and `amr`.
    fn trust(aud: &str, amr: &str) -> serde_json::Value {
        json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": aud},
                          "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr}}}]})
    }

    #[test]
    fn trust_on_another_pool_or_for_guests_is_restored() {
        let other = "us-east-1:11111111-2222-3333-4444-555555555555";
        let mut f = healthy();
        set_live(
            &mut f,
            "auth-role",
            "assume_role_policy",
            trust(other, "authenticated"),
        );
        let c = failing(&f, "auth-role-trust", other);
        assert!(c.evidence[0].contains(POOL_ID));
        restores(&c, "auth-role");

        let guests = trust(POOL_ID, "unauthenticated");
        set_live(&mut f, "auth-role", "assume_role_policy", guests);
        restored(
            &f,
            "auth-role-trust",
            "instead of `authenticated`",
            "auth-role",
        );
    }

    #[test]
    fn trust_problems_are_listed_one_by_one() {
        let p = trust_problems(&trust("us-east-1:p", "authenticated"), "us-east-1:p");
        assert!(p.is_empty());
        let p = trust_problems(&trust("us-east-1:other", "guest"), "us-east-1:p");
        assert_eq!(p.len(), 2);
        assert!(p[0].contains("us-east-1:other") && p[0].contains("us-east-1:p"));
        assert!(p[1].contains("guest instead of `authenticated`"));
        let unrestricted = json!({"Statement": {"Effect": "Allow", "Action": ["sts:AssumeRoleWithWebIdentity"],
            "Principal": {"Federated": ["cognito-identity.amazonaws.com"]}}});
        let p = trust_problems(&unrestricted, "us-east-1:p");
        assert!(p[0].contains("does not restrict") && p[1].contains("not restricted"));
        let p = trust_problems(&json!({"Statement": []}), "x");
        assert!(p[0].contains("no statement lets cognito-identity.amazonaws.com"));
    }

    #[test]
    fn a_role_lacking_the_iot_actions_is_restored() {
        let mut f = healthy();
        let secret_only = json!({"Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]});
        let inline = json!({"iot-and-secret": secret_only});
        set_live(&mut f, "auth-role", "inline_policies", inline);
        let c = failing(&f, "auth-role-iot", "iot:Connect: ");
        assert_eq!(c.evidence.len(), 4, "one line per refused action: {c:#?}");
        restores(&c, "auth-role");
        let c = failing(&f, "access-publish", "identity pool role policies");
        assert!(c.fix.unwrap().contains("auth-role-iot"));
    }

    #[test]
    fn a_managed_policy_of_the_role_counts() {
        let mut f = healthy();
        let managed = "arn:aws:iam::123456789012:policy/acme-iot";
        let role = live_mut(&mut f, "auth-role");
        let inline = role.props.insert("inline_policies".into(), json!({}));
        role.props
            .insert("managed_policy_arns".into(), json!([managed]));
        let doc = inline.unwrap()["iot-and-secret"].clone();
        assert_eq!(check(&f, "auth-role-iot").status, Status::Fail);
        f.managed_policies.insert(managed.into(), doc);
        assert_eq!(check(&f, "auth-role-iot").status, Status::Pass);
    }

    #[test]
    fn without_an_identity_id_a_sample_identity_is_evaluated() {
        let mut f = healthy();
        f.subject.identity_id = None;
        f.attached = None;
        let c = check(&f, "auth-role-iot");
        assert_eq!(c.status, Status::Pass);
        assert!(c.evidence.iter().any(|e| e.contains("sample identity")));
        assert!(all_checks(&f).iter().all(|c| c.id != "identity-id"));
    }
}
