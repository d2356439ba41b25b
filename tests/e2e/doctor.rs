//! doctor names each breakage with its evidence and fix (exit 2), and `--fix` repairs what is
//! safe so that the next run exits 0.

use serde_json::{json, Value};

use crate::harness::{Run, World};
use crate::live::certificate_id;

fn doctor(w: &World, extra: &[&str]) -> Run {
    w.iotstack("doctor", extra)
}

/// The JSON report of a doctor run for `identity` that finds something broken (exit 2).
fn failing_report(w: &World, identity: &str) -> Value {
    doctor(w, &["--identity-id", identity, "--output", "json"])
        .code(2)
        .json()
}

/// The check with `id` in a JSON report.
fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

/// The evidence of the check `id` in a JSON report mentions `text`.
#[track_caller]
fn assert_evidence(report: &Value, id: &str, text: &str) {
    let c = check(report, id);
    assert!(
        c["evidence"].to_string().contains(text),
        "{id} evidence should mention {text:?}: {c:#}"
    );
}

/// Breaks something, then: doctor fails naming `id` (with `evidence` in its evidence), `--fix`
/// repairs it, and doctor passes again.
#[track_caller]
fn named_and_fixed(w: &World, identity: &str, id: &str, evidence: &str) {
    let report = failing_report(w, identity);
    let c = check(&report, id);
    assert_eq!(c["status"], "fail", "{id}: {c:#}");
    assert_evidence(&report, id, evidence);
    assert!(
        c["fix"].as_str().is_some_and(|f| !f.is_empty()),
        "{id} has a fix: {c:#}"
    );
    assert!(
        !c["repairs"].as_array().map(Vec::is_empty).unwrap_or(true),
        "{id} is repairable: {c:#}"
    );
    let human = doctor(w, &["--identity-id", identity]).code(2);
    human.stdout_has(&format!("FAIL {id}"));
    assert!(human.stdout.contains("fix: "), "{}", human.stdout);

    let fixed = doctor(w, &["--identity-id", identity, "--fix", "--output", "json"]).code(0);
    let report = fixed.json();
    assert_eq!(check(&report, id)["status"], "pass");
    assert_eq!(check(&report, id)["fixed"], true);
    assert!(!report["repaired"].as_array().unwrap().is_empty());
    doctor(w, &["--identity-id", identity]).code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_breakages_are_named_and_fixed() {
    let (w, aws) = World::applied().await;
    let p = w.prefix.clone();
    let (pool, identity) = aws.signed_in().await;
    let policy = format!("{p}-cognito-iot-policy");

    // Not attached yet: named, and --fix attaches the policy to this identity.
    let report = failing_report(&w, &identity);
    assert_eq!(check(&report, "identity-attached")["status"], "fail");
    assert_eq!(
        check(&report, "access-connect")["status"],
        "fail",
        "Connect needs the IoT policy layer too"
    );
    assert_evidence(&report, "access-connect", "AWS IoT policies");
    named_and_fixed(&w, &identity, "identity-attached", "no IoT policy named");
    assert_eq!(aws.policy_targets(&policy).await, [identity.as_str()]);

    // The authenticated role's IoT grant removed.
    let role = format!("{p}-IdentityPoolAuthRole");
    aws.put_inline_policy(
        &role,
        "iot-and-secret",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#,
    )
    .await;
    named_and_fixed(&w, &identity, "auth-role-iot", "no statement");

    // The trust's aud pointing at another pool.
    let other = "us-east-1:11111111-2222-3333-4444-555555555555";
    let trust = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":other},"ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"authenticated"}}}]});
    aws.put_trust(&role, &trust).await;
    named_and_fixed(&w, &identity, "auth-role-trust", other);

    // The identity pool id attached instead of the identity id.
    aws.detach_policy(&policy, &identity).await;
    aws.iot
        .attach_policy()
        .policy_name(&policy)
        .target(&pool.identity_pool_id)
        .send()
        .await
        .unwrap();
    let report = failing_report(&w, &identity);
    assert_eq!(check(&report, "identity-attached")["status"], "fail");
    named_and_fixed(
        &w,
        &identity,
        "iot-policy-targets",
        "is the identity pool id, not an identity id",
    );
    assert_eq!(
        aws.policy_targets(&policy).await,
        [identity.as_str()],
        "the pool id detached, the identity attached"
    );

    // The IoT policy lacking Receive.
    let arn = |kind: &str| {
        format!("arn:aws:iot:us-east-1:123456789012:{kind}/{}/${{cognito-identity.amazonaws.com:sub}}/*", pool.identity_pool_id)
    };
    let no_receive = json!({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-1:123456789012:client/${cognito-identity.amazonaws.com:sub}"},
        {"Effect":"Allow","Action":"iot:Publish","Resource":arn("topic")},
        {"Effect":"Allow","Action":"iot:Subscribe","Resource":arn("topicfilter")}]});
    aws.put_policy_version(&policy, &no_receive).await;
    named_and_fixed(&w, &identity, "iot-policy", "iot:Receive");

    // Subscribe granted on topic/ instead of topicfilter/.
    let wrong_kind = json!({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-1:123456789012:client/${cognito-identity.amazonaws.com:sub}"},
        {"Effect":"Allow","Action":["iot:Publish","iot:Receive","iot:Subscribe"],"Resource":arn("topic")}]});
    aws.put_policy_version(&policy, &wrong_kind).await;
    let report = failing_report(&w, &identity);
    assert_evidence(&report, "iot-policy", "resource-type-mismatch");
    assert_eq!(check(&report, "access-subscribe")["status"], "fail");
    named_and_fixed(&w, &identity, "iot-policy", "iot:Subscribe");

    w.destroy();
}

#[tokio::test(flavor = "multi_thread")]
async fn device_alert_and_secret_breakages_are_named_and_fixed_where_safe() {
    let (w, aws, pool, identity) = World::signed_in().await;
    let p = w.prefix.clone();
    doctor(&w, &["--identity-id", &identity]).code(0);

    // The topic rule disabled.
    aws.disable_topic_rule(&w.alert_rule()).await;
    named_and_fixed(&w, &identity, "topic-rule", "disabled");

    // The secret's address restriction not matching --ip.
    let secret = format!("{}_{p}-app-user", pool.id);
    let loose = json!({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"198.51.100.0/24"}}}]});
    aws.put_secret_policy(&secret, &loose).await;
    named_and_fixed(&w, &identity, "secret-address", "203.0.113.7");

    // The device certificate inactive: named with the exact command, not reactivated by --fix
    // (a certificate is often deactivated on purpose).
    let cert_id = certificate_id(&aws.thing_principals(&format!("{p}-thing")).await[0]);
    aws.iot
        .update_certificate()
        .certificate_id(&cert_id)
        .new_status("INACTIVE".into())
        .send()
        .await
        .unwrap();
    let r = doctor(
        &w,
        &["--identity-id", &identity, "--fix", "--output", "json"],
    )
    .code(2)
    .json();
    let cert = check(&r, "device-certificate");
    assert_eq!(cert["status"], "fail");
    assert!(cert["fix"].as_str().unwrap().contains(&format!(
        "aws iot update-certificate --certificate-id {cert_id} --new-status ACTIVE"
    )));
    assert_eq!(aws.certificate_status(&cert_id).await, "INACTIVE");
    w.apply();
    doctor(&w, &["--identity-id", &identity]).code(0);

    w.destroy();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_username_is_explained_and_mistaken_targets_are_named() {
    let w = World::new();
    let p = w.prefix.clone();
    w.apply();
    let user = format!("{p}-app-user");
    let r = doctor(&w, &["--username", &user, "--output", "json"])
        .code(0)
        .json();
    let u = check(&r, "username");
    assert_eq!(u["status"], "pass");
    let text = u["evidence"].to_string();
    assert!(
        text.contains("sign-in name") && text.contains("identity id"),
        "{text}"
    );
    assert_eq!(check(&r, "identity-attached")["status"], "skip");
    assert_eq!(r["format_version"], 1);
    assert!(r["summary"]["pass"].as_u64().unwrap() > 10);

    // A username passed where an identity id belongs.
    let r = doctor(&w, &["--identity-id", &user]).code(2);
    assert!(r.stdout.contains("FAIL identity-id"), "{}", r.stdout);
    assert!(r.stdout.contains("not an identity id"), "{}", r.stdout);

    // An unknown user.
    let r = doctor(&w, &["--username", "nobody", "--output", "json"])
        .code(2)
        .json();
    assert_eq!(check(&r, "username")["status"], "fail");
    w.destroy();
}
