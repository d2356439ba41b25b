//! Resources under the stack's names made by another owner (the seed's CloudFormation stack):
//! plan shows them as not owned, apply leaves them as they are, destroy leaves them in place with
//! their attachments, and `--adopt` takes one over after showing what changes.

use crate::harness::{entry, World};

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
    let action = |id: &str| entry(&json, "changes", id).map(|r| r["action"].clone());
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

const OTHER_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#;

/// The seed's CloudFormation stack under the same prefix: its authenticated role (with an inline
/// policy) and its alert topic (with a subscription). Plan names both as not owned; apply changes
/// neither; destroy leaves both, with the role's policy and the topic's subscription.
#[tokio::test(flavor = "multi_thread")]
async fn another_stacks_role_and_topic_are_neither_changed_nor_deleted() {
    let w = World::new();
    let aws = w.live().await;
    let role = format!("{}-IdentityPoolAuthRole", w.prefix);
    let topic = format!("{}-iot-notification", w.prefix);
    let tag = aws_sdk_iam::types::Tag::builder()
        .key("owner")
        .value("cloudformation")
        .build()
        .unwrap();
    aws.iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(OTHER_TRUST)
        .tags(tag)
        .send()
        .await
        .expect("CreateRole");
    aws.iam
        .put_role_policy()
        .role_name(&role)
        .policy_name("theirs")
        .policy_document(OTHER_POLICY)
        .send()
        .await
        .expect("PutRolePolicy");
    let topic_arn = aws
        .sns
        .create_topic()
        .name(&topic)
        .send()
        .await
        .expect("CreateTopic")
        .topic_arn()
        .unwrap()
        .to_string();
    aws.sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("email")
        .endpoint("someone-else@example.com")
        .send()
        .await
        .expect("Subscribe");
    let role_state = || async {
        let r = aws.iam.get_role().role_name(&role).send().await.unwrap();
        let r = r.role().unwrap().clone();
        let inline = aws
            .iam
            .list_role_policies()
            .role_name(&role)
            .send()
            .await
            .unwrap();
        let tags = aws
            .iam
            .list_role_tags()
            .role_name(&role)
            .send()
            .await
            .unwrap();
        format!(
            "{:?} {:?} {:?}",
            r.assume_role_policy_document(),
            inline.policy_names(),
            tags.tags()
        )
    };
    let topic_state = || async {
        let subs = aws
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(&topic_arn)
            .send()
            .await
            .unwrap();
        let tags = aws
            .sns
            .list_tags_for_resource()
            .resource_arn(&topic_arn)
            .send()
            .await
            .unwrap();
        let mut endpoints: Vec<String> = subs
            .subscriptions()
            .iter()
            .filter_map(|s| s.endpoint().map(str::to_string))
            .collect();
        endpoints.sort();
        format!("{endpoints:?} {:?}", tags.tags())
    };
    let (role_before, topic_before) = (role_state().await, topic_state().await);

    let json = w.iotstack("plan", &["--output", "json"]).json();
    let action = |id: &str| entry(&json, "changes", id).map(|r| r["action"].clone());
    assert_eq!(action("auth-role"), Some("foreign".into()), "{json}");
    assert_eq!(action("alert-topic"), Some("foreign".into()), "{json}");

    w.iotstack("apply", &["--yes"]).code(1);
    assert_eq!(
        role_state().await,
        role_before,
        "the role is unchanged by apply"
    );
    assert_eq!(
        topic_state().await,
        topic_before,
        "the topic is unchanged by apply"
    );

    w.iotstack("destroy", &["--yes"]).ok();
    assert_eq!(
        role_state().await,
        role_before,
        "the role is left by destroy"
    );
    assert_eq!(
        topic_state().await,
        topic_before,
        "the topic is left by destroy"
    );
}
