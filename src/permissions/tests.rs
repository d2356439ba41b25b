use std::path::Path;

use serde_json::Value;

use super::*;
use crate::resources::REGISTRY;

fn default_stack() -> Stack {
    Stack::open(None).expect("the built-in stack loads")
}

/// The policy of the built-in stack for `prefix` in `region` and `account`.
fn default_policy(prefix: &str, region: Option<&str>, account: Option<&str>) -> Value {
    policy(&default_stack(), &target(prefix, region, account)).unwrap()
}

fn target(prefix: &str, region: Option<&str>, account: Option<&str>) -> Target {
    Target {
        prefix: prefix.into(),
        region: region.map(String::from),
        account: account.map(String::from),
    }
}

fn statements(p: &Value) -> &Vec<Value> {
    p["Statement"].as_array().expect("statements")
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn every_kind_has_its_permissions_and_every_entry_a_kind() {
    for k in REGISTRY {
        assert!(
            of_kind(k.type_name()).is_some(),
            "`{}` has no entry in permissions::TABLE",
            k.type_name()
        );
    }
    for kp in TABLE {
        assert!(
            REGISTRY.iter().any(|k| k.type_name() == kp.type_name),
            "TABLE names `{}`, which is no kind",
            kp.type_name
        );
        let own = kp.grants.iter().any(|g| matches!(g.on, On::Own));
        assert!(
            !own || kp.arn.is_some(),
            "{}: `Own` needs an ARN format",
            kp.type_name
        );
    }
}

#[test]
fn actions_are_service_action_pairs_without_wildcards() {
    let services = [
        "iam",
        "iot",
        "sns",
        "sts",
        "lambda",
        "cognito-idp",
        "cognito-identity",
        "secretsmanager",
    ];
    let all = TABLE.iter().flat_map(|k| k.grants).chain(ALWAYS);
    for g in all {
        for a in g.actions {
            let (service, action) = a.split_once(':').expect("service:Action");
            assert!(services.contains(&service), "{a}: unknown service");
            assert!(
                action.starts_with(|c: char| c.is_ascii_uppercase())
                    && action.chars().all(|c| c.is_ascii_alphanumeric()),
                "{a}: not an action name"
            );
        }
    }
}

#[test]
fn only_the_allow_listed_actions_are_granted_on_any_resource() {
    let listed: BTreeSet<&str> = ANY_RESOURCE.iter().map(|(a, _)| *a).collect();
    let all = TABLE.iter().flat_map(|k| k.grants).chain(ALWAYS);
    let mut used = BTreeSet::new();
    for g in all {
        if matches!(g.on, On::Any) {
            for a in g.actions {
                assert!(
                    listed.contains(a),
                    "{a} is granted on `*` but not in ANY_RESOURCE"
                );
                used.insert(*a);
            }
        }
    }
    assert_eq!(used, listed, "ANY_RESOURCE lists actions no grant uses");

    for (region, account) in [(None, None), (Some("eu-west-1"), Some("123456789012"))] {
        let p = default_policy("acme-dev", region, account);
        for s in statements(&p) {
            for a in strings(&s["Action"]) {
                assert!(!a.contains('*'), "a wildcard action: {a}");
            }
            if s["Resource"] == "*" {
                for a in strings(&s["Action"]) {
                    assert!(listed.contains(a), "{a} on `*`");
                }
            } else {
                for r in strings(&s["Resource"]) {
                    assert_ne!(r, "*");
                }
            }
        }
    }
}

#[test]
fn the_default_stack_is_scoped_to_its_prefix() {
    let p = default_policy("acme-dev", None, None);
    let role = "arn:aws:iam::123456789012:role/acme-dev-IdentityPoolAuthRole";
    let secret =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:us-east-1_AbC_acme-dev-app-user-x1Y2z3";
    // (action, resource, whether the policy allows it)
    for (action, resource, allowed) in [
        ("iam:CreateRole", role, true),
        (
            "iam:CreateRole",
            "arn:aws:iam::123456789012:role/admin",
            false,
        ),
        (
            "lambda:UpdateFunctionCode",
            "arn:aws:lambda:us-east-1:123456789012:function:acme-dev-attach-iot-policy",
            true,
        ),
        (
            "lambda:UpdateFunctionCode",
            "arn:aws:lambda:us-east-1:123456789012:function:other",
            false,
        ),
        ("secretsmanager:PutSecretValue", secret, true),
        ("secretsmanager:CreateSecret", secret, true),
        (
            "secretsmanager:PutSecretValue",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod-db-x1Y2z3",
            false,
        ),
        (
            "iot:DeleteTopicRule",
            "arn:aws:iot:us-east-1:123456789012:rule/acme_dev_alerts",
            true,
        ),
        (
            "sns:Subscribe",
            "arn:aws:sns:us-east-1:123456789012:acme-dev-iot-notification",
            true,
        ),
        (
            "iot:UpdateThing",
            "arn:aws:iot:us-east-1:123456789012:thing/acme-dev-iotstack-lock",
            true,
        ),
        (
            "iot:DeleteThing",
            "arn:aws:iot:us-east-1:123456789012:thing/other-thing",
            false,
        ),
        ("cognito-idp:CreateUserPool", "*", true),
        ("cognito-idp:DeleteUserPool", "*", false),
    ] {
        assert_eq!(
            allows(&p, action, resource),
            allowed,
            "{action} on {resource}"
        );
    }
}

#[test]
fn roles_are_passed_only_to_their_services() {
    let p = default_policy("acme-dev", Some("us-east-1"), Some("123456789012"));
    let passes: Vec<&Value> = statements(&p)
        .iter()
        .filter(|s| strings(&s["Action"]).contains(&"iam:PassRole"))
        .collect();
    let to = |service: &str| -> Vec<&str> {
        passes
            .iter()
            .filter(|s| s["Condition"]["StringEquals"]["iam:PassedToService"] == service)
            .flat_map(|s| strings(&s["Resource"]))
            .collect()
    };
    let role = |n: &str| format!("arn:aws:iam::123456789012:role/acme-dev-{n}");
    assert_eq!(
        to("lambda.amazonaws.com"),
        [
            role("LambdaCognitoPresignupExecutionRole"),
            role("attach-iot-policy-role")
        ]
    );
    assert_eq!(to("iot.amazonaws.com"), [role("iot-rule-sns-role")]);
    assert_eq!(
        to("cognito-identity.amazonaws.com"),
        [role("IdentityPoolAuthRole"), role("IdentityPoolUnAuthRole")]
    );
    assert_eq!(
        passes.len(),
        3,
        "every PassRole has its service: {passes:?}"
    );
    for s in passes {
        assert_eq!(strings(&s["Action"]), ["iam:PassRole"]);
    }
}

#[test]
fn account_and_region_are_concrete_when_given() {
    let p = default_policy("acme-dev", Some("eu-west-1"), Some("123456789012"));
    let text = p.to_string();
    assert!(
        text.contains("arn:aws:iot:eu-west-1:123456789012:thing/acme-dev-*"),
        "{text}"
    );
    assert!(
        text.contains("arn:aws:iam::123456789012:role/acme-dev-*"),
        "{text}"
    );
    let any = default_policy("acme-dev", None, None).to_string();
    assert!(any.contains("arn:aws:iot:*:*:thing/acme-dev-*"), "{any}");
    let china = default_policy("acme", Some("cn-north-1"), None).to_string();
    assert!(
        china.contains("arn:aws-cn:iot:cn-north-1:*:policy/acme-*"),
        "{china}"
    );
}

#[test]
fn names_without_the_prefix_stay_exact() {
    let text = "version: 1\nresources:\n  t:\n    type: sns_topic\n    properties:\n      name: shared-alerts\n";
    let stack = Stack::parse(Path::new("s.yaml"), text).unwrap();
    let p = policy(&stack, &target("acme", None, None)).unwrap();
    assert!(allows(
        &p,
        "sns:DeleteTopic",
        "arn:aws:sns:us-east-1:1:shared-alerts"
    ));
    assert!(!allows(
        &p,
        "sns:DeleteTopic",
        "arn:aws:sns:us-east-1:1:shared-alerts-2"
    ));
    assert!(
        !allows(&p, "iam:CreateRole", "arn:aws:iam::1:role/acme-x"),
        "no role in this stack"
    );
}

#[test]
fn statements_are_unique_and_ordered_scoped_first() {
    let p = default_policy("acme-dev", None, None);
    let sids: Vec<&str> = statements(&p)
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    let unique: BTreeSet<&&str> = sids.iter().collect();
    assert_eq!(unique.len(), sids.len(), "{sids:?}");
    assert_eq!(sids.last(), Some(&"AnyResource"));
    assert_eq!(p["Version"], "2012-10-17");
}

/// A topic rule GetTopicRule refuses with UnauthorizedException is absent only when
/// ListTopicRules (no resource type) agrees; the certificate is looked for on its thing.
#[test]
fn the_topic_rule_list_and_the_certificate_thing_are_readable() {
    let p = policy(&default_stack(), &target("acme-dev", None, None)).unwrap();
    assert!(allows(&p, "iot:ListTopicRules", "*"));
    assert!(allows(
        &p,
        "iot:ListThingPrincipals",
        "arn:aws:iot:us-east-1:123456789012:thing/acme-dev-thing"
    ));
}
