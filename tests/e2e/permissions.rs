//! `iotstack permissions` against what a full lifecycle really calls: every AWS operation that
//! apply, plan, doctor --fix and destroy make (named on stderr with `-v`) is an action the printed
//! policy allows, and each live resource's ARN is one its kind's scoped actions may act on.

use std::collections::BTreeSet;

use iotstack::permissions::{self, On};
use iotstack::stack::Stack;

use crate::harness::{Run, World};

/// The IAM service prefix of an SDK service name, as `-v` prints it (`aws: <service> <Op>`).
fn iam_prefix(service: &str) -> &'static str {
    match service {
        "IoT" => "iot",
        "IAM" => "iam",
        "SNS" => "sns",
        "STS" => "sts",
        "Lambda" => "lambda",
        "Cognito Identity" => "cognito-identity",
        "Cognito Identity Provider" => "cognito-idp",
        "Secrets Manager" => "secretsmanager",
        other => panic!("no IAM prefix known for the service `{other}`"),
    }
}

/// The `service:Action` of each operation a verbose run names.
fn called(r: &Run, into: &mut BTreeSet<String>) {
    for line in r.stderr.lines() {
        if let Some(rest) = line.strip_prefix("aws: ") {
            let (service, op) = rest.rsplit_once(' ').expect("aws: <service> <Operation>");
            into.insert(format!("{}:{op}", iam_prefix(service)));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_printed_policy_allows_every_call_of_a_full_lifecycle() {
    let w = World::new();
    let policy = w
        .iotstack(
            "permissions",
            &["--account", "123456789012", "--region", "us-east-1"],
        )
        .ok()
        .json();

    let mut calls = BTreeSet::new();
    called(&w.iotstack("apply", &["--yes", "-v"]).ok(), &mut calls);
    let aws = w.live().await;
    let (_, identity) = aws.signed_in().await;
    // The new identity gets the IoT policy attached: an update.
    called(&w.iotstack("apply", &["--yes", "-v"]).ok(), &mut calls);
    called(&w.iotstack("plan", &["-v"]).ok(), &mut calls);
    aws.disable_topic_rule(&w.alert_rule()).await;
    let username = format!("{}-app-user", w.prefix);
    for args in [
        &["--identity-id", identity.as_str(), "--fix", "-v"][..],
        &["--username", username.as_str(), "--output", "json", "-v"],
    ] {
        let doctor = w.iotstack("doctor", args);
        assert!(matches!(doctor.code, 0 | 2), "{}", doctor.all());
        called(&doctor, &mut calls);
    }
    called(&w.iotstack("output", &["-v"]).ok(), &mut calls);
    let outputs = w.iotstack("output", &["--output", "json"]).ok().json();
    called(&w.iotstack("destroy", &["--yes", "-v"]).ok(), &mut calls);
    w.assert_nothing_left().await;

    assert!(calls.len() > 40, "the runs name their calls: {calls:?}");
    let missing: Vec<&String> = calls
        .iter()
        .filter(|a| {
            !policy["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| match &s["Action"] {
                    serde_json::Value::Array(a2) => a2.iter().any(|x| x == a.as_str()),
                    x => x == a.as_str(),
                })
        })
        .collect();
    assert!(
        missing.is_empty(),
        "calls the policy does not allow: {missing:?}\n{policy:#}"
    );

    // Each live resource's own ARN matches what its kind's scoped actions are granted on.
    let stack = Stack::load(&w.stack).unwrap_or_else(|d| panic!("{d:?}"));
    let mut checked = 0;
    for (id, attrs) in outputs["resources"].as_object().unwrap() {
        let Some(arn) = attrs["arn"].as_str() else {
            continue;
        };
        let kind = stack
            .get(id)
            .expect("a resource of the stack")
            .kind
            .type_name();
        let kp = permissions::of_kind(kind).expect("every kind has permissions");
        for g in kp.grants.iter().filter(|g| matches!(g.on, On::Own)) {
            for action in g.actions {
                assert!(
                    permissions::allows(&policy, action, arn),
                    "{action} on {arn} ({kind} `{id}`) is not allowed:\n{policy:#}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 30, "ARNs checked: {checked}");
}

#[test]
fn permissions_and_schema_work_offline_and_refuse_bad_input() {
    let (w, ep) = World::offline();
    let r = w.run(&["permissions"]).code(1);
    r.stderr_has("missing parameter `prefix`");
    let r = w
        .run(&["permissions", "--prefix", "acme", "--account", "12"])
        .code(1);
    r.stderr_has("`12` is not an AWS account id");
    let p = w.run(&["permissions", "--prefix", "acme"]).ok().json();
    assert_eq!(p["Version"], "2012-10-17");
    assert!(permissions::allows(
        &p,
        "iam:DeleteRole",
        "arn:aws:iam::123456789012:role/acme-IdentityPoolAuthRole"
    ));

    let schema = w.run(&["schema"]).ok();
    let committed =
        std::fs::read_to_string(crate::harness::repo().join("schema/stack.schema.json")).unwrap();
    assert_eq!(schema.stdout, committed);
    ep.assert_no_calls("permissions and schema make no AWS call");
}
