//! Facts of a healthy default stack (prefix `acme`), built by hand from the shipped policy
//! templates: every check passes on them. Each test breaks one thing and judges again.

use std::time::Duration;

use serde_json::{json, Value};

use super::facts::{Attached, Facts, Resource, User};
use super::{judge, Check, Status, Subject};
use crate::resources::{Desired, Observed};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
pub const POOL_ID: &str = "us-east-1:aaaaaaaa-1111-2222-3333-444444444444";
pub const IDENTITY: &str = "us-east-1:0b3c1f4e-8a51-4f5e-9d0c-2a1b3c4d5e6f";
pub const USER_POOL_ID: &str = "us-east-1_AbCdEf";
pub const USERNAME: &str = "acme-app-user";
pub const USER_SUB: &str = "5f1c2d3e-0000-4000-8000-111122223333";
pub const IDENTITY_POLICY: &str = "acme-cognito-iot-policy";
pub const DEVICE_POLICY: &str = "acme-device-policy";
pub const AUTH_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/acme-IdentityPoolAuthRole";
pub const RULE_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/acme-iot-rule-sns-role";
pub const TOPIC_ARN: &str = "arn:aws:sns:us-east-1:123456789012:acme-iot-notification";
pub const SUBSCRIPTION_ARN: &str =
    "arn:aws:sns:us-east-1:123456789012:acme-iot-notification:0c4e1f2a";
pub const CERT_ID: &str = "4f2a9c";
pub const CERT_ARN: &str = "arn:aws:iot:us-east-1:123456789012:cert/4f2a9c";
pub const SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:us-east-1_AbCdEf_acme-app-user-Xy12Ab";
pub const IP: &str = "203.0.113.7/32";
/// The `aws:userid` pattern of the principal that applied the stack (a role's sessions).
pub const DEPLOYER: &str = "AROAEXAMPLEDEPLOYER:*";

/// A shipped policy template with the stack's values filled in.
pub fn template(text: &str) -> Value {
    let text = [
        ("${region}", REGION),
        ("${account}", ACCOUNT),
        ("${partition}", "aws"),
        ("${prefix}", "acme"),
        ("${ip}", IP),
        ("${identity-pool.id}", POOL_ID),
        ("${alert-topic.arn}", TOPIC_ARN),
        ("${app-secret.arn}", SECRET_ARN),
        ("${deployer.user_id_pattern}", DEPLOYER),
        (
            "${attach-function.arn}",
            "arn:aws:lambda:us-east-1:123456789012:function:acme-attach-iot-policy",
        ),
    ]
    .iter()
    .fold(text.to_string(), |t, (k, v)| t.replace(k, v));
    serde_json::from_str(&text).expect("a policy template")
}

pub fn identity_policy_doc() -> Value {
    template(include_str!("../../policies/cognito-iot-policy.json"))
}

fn map(v: Value) -> std::collections::BTreeMap<String, Value> {
    v.as_object()
        .expect("an object")
        .clone()
        .into_iter()
        .collect()
}

fn resource(type_name: &'static str, id: &str, desired: Value, live: Option<Observed>) -> Resource {
    Resource {
        type_name,
        desired: Desired {
            id: id.into(),
            props: map(desired),
            ..Default::default()
        },
        observed: live,
    }
}

/// What is live: properties and attributes.
pub fn live(props: Value, attrs: &[(&str, &str)]) -> Observed {
    Observed {
        props: map(props),
        attrs: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        notes: Vec::new(),
    }
}

fn role(id: &str, name: &str, arn: &str, trust: &str, inline: (&str, &str)) -> Resource {
    let props = json!({
        "name": name,
        "assume_role_policy": template(trust),
        "inline_policies": {inline.0: template(inline.1)},
        "managed_policy_arns": [],
    });
    let observed = live(props.clone(), &[("name", name), ("arn", arn)]);
    resource("iam_role", id, props, Some(observed))
}

fn iot_policy(id: &str, name: &str, doc: Value) -> Resource {
    let props = json!({"name": name, "document": doc});
    let observed = live(props.clone(), &[("name", name)]);
    resource("iot_policy", id, props, Some(observed))
}

/// Every resource doctor looks at, live as the stack declares it.
fn resources() -> Vec<Resource> {
    let linked = |type_name, id, props: Value| {
        let observed = live(props.clone(), &[]);
        resource(type_name, id, props, Some(observed))
    };
    vec![
        iot_policy(
            "device-policy",
            DEVICE_POLICY,
            template(include_str!("../../policies/device-policy.json")),
        ),
        resource(
            "iot_certificate",
            "device-cert",
            json!({"active": true}),
            Some(live(
                json!({"active": true}),
                &[("id", CERT_ID), ("arn", CERT_ARN)],
            )),
        ),
        linked(
            "iot_policy_attachment",
            "device-cert-policy",
            json!({"policy": DEVICE_POLICY, "target": CERT_ARN}),
        ),
        linked(
            "iot_thing_principal",
            "device-cert-thing",
            json!({"thing": "acme-thing", "principal": CERT_ARN}),
        ),
        resource(
            "sns_email_subscription",
            "alert-subscription",
            json!({"topic_arn": TOPIC_ARN, "email": "ops@example.com"}),
            Some(live(
                json!({"topic_arn": TOPIC_ARN, "email": "ops@example.com"}),
                &[("arn", SUBSCRIPTION_ARN), ("email", "ops@example.com")],
            )),
        ),
        role(
            "rule-role",
            "acme-iot-rule-sns-role",
            RULE_ROLE_ARN,
            include_str!("../../policies/iot-rule-trust.json"),
            (
                "sns-publish",
                include_str!("../../policies/iot-rule-sns-publish.json"),
            ),
        ),
        resource(
            "iot_topic_rule",
            "alert-rule",
            json!({"name": "acme_alerts", "sns_target_arn": TOPIC_ARN, "role_arn": RULE_ROLE_ARN, "enabled": true}),
            Some(live(
                json!({"enabled": true, "sql": "SELECT * FROM 'acme/alerts'"}),
                &[("name", "acme_alerts")],
            )),
        ),
        resource(
            "cognito_user_pool",
            "user-pool",
            json!({"name": "acme-user-pool"}),
            Some(live(json!({}), &[("id", USER_POOL_ID)])),
        ),
        resource(
            "cognito_identity_pool",
            "identity-pool",
            json!({"name": "acme-edge-identity-pool"}),
            Some(live(json!({}), &[("id", POOL_ID)])),
        ),
        iot_policy(
            "identity-iot-policy",
            IDENTITY_POLICY,
            identity_policy_doc(),
        ),
        resource(
            "secretsmanager_secret",
            "app-secret",
            json!({"name": "us-east-1_AbCdEf_acme-app-user"}),
            Some(live(
                json!({"resource_policy": template(include_str!("../../policies/app-secret-policy.json"))}),
                &[
                    ("name", "us-east-1_AbCdEf_acme-app-user"),
                    ("arn", SECRET_ARN),
                ],
            )),
        ),
        role(
            "auth-role",
            "acme-IdentityPoolAuthRole",
            AUTH_ROLE_ARN,
            include_str!("../../policies/identity-trust-authenticated.json"),
            (
                "iot-and-secret",
                include_str!("../../policies/identity-auth-role.json"),
            ),
        ),
        linked(
            "cognito_identity_pool_roles",
            "identity-pool-roles",
            json!({"identity_pool_id": POOL_ID, "authenticated_role_arn": AUTH_ROLE_ARN}),
        ),
        linked(
            "iot_identity_attachments",
            "identity-attachments",
            json!({"policy": IDENTITY_POLICY, "identity_pool_id": POOL_ID}),
        ),
    ]
}

/// The facts of the healthy stack, for `--identity-id IDENTITY --username USERNAME --ip IP`.
pub fn healthy() -> Facts {
    let subject = Subject {
        identity_id: Some(IDENTITY.into()),
        username: Some(USERNAME.into()),
        client_id: None,
        topic: None,
        ip: Some(IP.into()),
    };
    let mut f = Facts::new("acme", REGION, ACCOUNT, subject, resources());
    f.user = Some(User::Found {
        sub: USER_SUB.into(),
        enabled: true,
        status: "CONFIRMED".into(),
    });
    f.policy_targets
        .insert(IDENTITY_POLICY.into(), vec![IDENTITY.into()]);
    f.attached = Some(Attached {
        names: vec![IDENTITY_POLICY.into()],
        documents: vec![(IDENTITY_POLICY.into(), identity_policy_doc())],
    });
    f.subscription_pending
        .insert(SUBSCRIPTION_ARN.into(), false);
    let a_day_ago = f.now - Duration::from_secs(24 * 3600);
    for p in [IDENTITY_POLICY, DEVICE_POLICY] {
        f.policy_changed.insert(p.into(), a_day_ago);
    }
    f
}

/// What is live for the resource `id`, to break it.
pub fn live_mut<'f>(f: &'f mut Facts, id: &str) -> &'f mut Observed {
    f.resources
        .iter_mut()
        .find(|r| r.desired.id == id)
        .and_then(|r| r.observed.as_mut())
        .unwrap_or_else(|| panic!("{id} is not live"))
}

/// Sets the live property `prop` of the resource `id`.
pub fn set_live(f: &mut Facts, id: &str, prop: &str, value: Value) {
    live_mut(f, id).props.insert(prop.into(), value);
}

/// Makes the resource `id` missing.
pub fn remove(f: &mut Facts, id: &str) {
    f.resources
        .iter_mut()
        .find(|r| r.desired.id == id)
        .unwrap_or_else(|| panic!("no resource {id}"))
        .observed = None;
}

/// Every check of the facts.
pub fn all_checks(f: &Facts) -> Vec<Check> {
    judge(f).checks
}

/// The one check `id` of the facts.
#[track_caller]
pub fn check(f: &Facts, id: &str) -> Check {
    let all = all_checks(f);
    let mut found = all.iter().filter(|c| c.id == id);
    let c = found
        .next()
        .unwrap_or_else(|| panic!("no check {id} in {all:#?}"))
        .clone();
    assert!(found.next().is_none(), "more than one check {id}");
    c
}

/// The check `id` fails, with `evidence` in its evidence, and a fix.
#[track_caller]
pub fn failing(f: &Facts, id: &str, evidence: &str) -> Check {
    let c = check(f, id);
    assert_eq!(c.status, Status::Fail, "{c:#?}");
    assert!(
        c.evidence.iter().any(|e| e.contains(evidence)),
        "{id} evidence should mention {evidence:?}: {c:#?}"
    );
    assert!(c.fix.as_deref().is_some_and(|f| !f.is_empty()), "{c:#?}");
    c
}

/// The check `id` fails with `evidence`, and `--fix` restores `resource`.
#[track_caller]
pub fn restored(f: &Facts, id: &str, evidence: &str, resource: &str) -> Check {
    let c = failing(f, id, evidence);
    restores(&c, resource);
    c
}

/// The check restores the resource `id` (and does nothing else).
#[track_caller]
pub fn restores(c: &Check, id: &str) {
    assert_eq!(
        c.repairs,
        vec![super::Repair::Restore {
            resource: id.into()
        }],
        "{c:#?}"
    );
}

#[test]
fn every_check_passes_on_a_healthy_stack() {
    let all = all_checks(&healthy());
    let ids: Vec<&str> = all.iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        [
            "identity-pool",
            "username",
            "auth-role-set",
            "auth-role-trust",
            "auth-role-iot",
            "iot-policy",
            "iot-policy-targets",
            "identity-attached",
            "access-connect",
            "access-publish",
            "access-subscribe",
            "access-receive",
            "device-certificate",
            "device-thing",
            "device-policy-attached",
            "device-policy-access",
            "topic-rule",
            "rule-role",
            "email-subscription",
            "secret-address",
            "recent-changes",
            "broad-grants",
            "duplicate-pools",
        ]
    );
    for c in &all {
        assert_eq!(c.status, Status::Pass, "{c:#?}");
        assert!(c.repairs.is_empty() && c.fix.is_none(), "{c:#?}");
    }
}
