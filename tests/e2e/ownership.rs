//! Resources under the stack's names made by another owner (the seed's CloudFormation stack):
//! plan shows them as not owned, apply leaves them as they are, destroy leaves them in place with
//! their attachments, and `--adopt` takes one over after showing what changes.

use crate::harness::World;

const OTHER_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}"#;

#[tokio::test(flavor = "multi_thread")]
async fn foreign_resources_are_left_alone_until_adopted() {
    let w = World::new();
    let aws = w.live().await;
    let policy = format!("{}-cognito-iot-policy", w.prefix);
    let thing = format!("{}-thing", w.prefix);
    aws.iot
        .create_policy()
        .policy_name(&policy)
        .policy_document(OTHER_POLICY)
        .send()
        .await
        .expect("CreatePolicy");
    aws.iot
        .create_thing()
        .thing_name(&thing)
        .send()
        .await
        .expect("CreateThing");
    // Another owner's certificate, attached to the policy.
    let cert_arn = aws
        .iot
        .create_keys_and_certificate()
        .set_as_active(true)
        .send()
        .await
        .expect("CreateKeysAndCertificate")
        .certificate_arn()
        .unwrap_or_default()
        .to_string();
    aws.iot
        .attach_policy()
        .policy_name(&policy)
        .target(&cert_arn)
        .send()
        .await
        .expect("AttachPolicy");
    let before = aws.iot_policy(&policy).await;

    let plan = w.iotstack("plan", &[]);
    assert!(
        plan.stdout.contains("not owned by this stack"),
        "{}",
        plan.all()
    );
    let json = w.iotstack("plan", &["--output", "json"]).json();
    let action = |id: &str| {
        json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["action"].clone())
    };
    assert_eq!(action("identity-iot-policy"), Some("foreign".into()));
    assert_eq!(action("device-thing"), Some("foreign".into()));

    let run = w.iotstack("apply", &["--yes"]).code(1);
    assert!(
        run.stderr.contains("--adopt identity-iot-policy")
            || run.stderr.contains("--adopt device-thing"),
        "{}",
        run.all()
    );
    assert_eq!(aws.iot_policy(&policy).await, before, "document unchanged");
    assert!(
        aws.iot_policy_tags(&policy).await.is_empty(),
        "no tag added"
    );
    assert_eq!(aws.policy_targets(&policy).await, vec![cert_arn.clone()]);

    w.iotstack("destroy", &["--yes"]).ok();
    assert_eq!(aws.iot_policy(&policy).await, before, "still in place");
    assert_eq!(aws.policy_targets(&policy).await, vec![cert_arn.clone()]);
    assert!(aws.thing_exists(&thing).await, "the thing is left");

    // Adopted: the plan shows the mark added, then apply proceeds.
    let adopt = w.iotstack(
        "apply",
        &["--yes", "--adopt", "identity-iot-policy,device-thing"],
    );
    assert!(adopt.stdout.contains("iotstack:stack"), "{}", adopt.all());
    adopt.ok();
    assert_eq!(
        aws.iot_policy_tags(&policy)
            .await
            .get("iotstack:stack")
            .map(String::as_str),
        Some(w.prefix.as_str())
    );
    w.plan_is_clean();
}
