//! The device half of the default stack: thing, certificate, device policy, rule role, topic
//! rule, SNS topic and email subscription.

use std::os::unix::fs::PermissionsExt;

use serde_json::{json, Value};

use crate::harness::{edited_stack, entry, World};
use crate::live::{certificate_id, list, statement_for, statement_granting, statements};

#[tokio::test(flavor = "multi_thread")]
async fn apply_creates_the_device_chain_plan_is_clean_destroy_leaves_nothing() {
    let w = World::new();
    let p = w.prefix.clone();
    let applied = w.apply();
    applied.stdout_has("Apply complete: 25 created");

    let aws = w.live().await;
    // Thing, with the stack tag kept as an attribute.
    let thing = aws.thing(&format!("{p}-thing")).await;
    assert_eq!(thing.attributes().unwrap().get("iotstack:stack"), Some(&p));

    // Device policy: scoped to the thing name, never iot:* on *.
    let policy = format!("{p}-device-policy");
    let doc = aws.iot_policy(&policy).await;
    assert_eq!(
        list(&statement_for(&doc, &["iot:Connect"])["Resource"]),
        [
            "arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"
                .to_string()
        ]
    );
    for s in &statements(&doc) {
        assert!(
            !list(&s["Action"]).iter().any(|a| a == "iot:*" || a == "*"),
            "{s}"
        );
        assert!(!list(&s["Resource"]).iter().any(|r| r == "*"), "{s}");
    }
    assert!(list(&statement_for(&doc, &["iot:Subscribe"])["Resource"]).contains(&format!("arn:aws:iot:us-east-1:123456789012:topicfilter/{p}/devices/${{iot:Connection.Thing.ThingName}}/*")));
    assert!(
        list(&statement_granting(&doc, "iot:Receive")["Resource"]).contains(&format!(
            "arn:aws:iot:us-east-1:123456789012:topic/{p}/alerts"
        ))
    );
    assert_eq!(aws.iot_policy_tags(&policy).await["iotstack:stack"], p);

    // Certificate: active, attached to the policy and the thing; key local with mode 0600.
    let principals = aws.thing_principals(&format!("{p}-thing")).await;
    assert_eq!(principals.len(), 1);
    let cert_arn = principals[0].clone();
    let cert = aws.certificate(&certificate_id(&cert_arn)).await;
    assert_eq!(cert.status().unwrap().as_str(), "ACTIVE");
    assert_eq!(aws.attached_policies(&cert_arn).await, [policy.as_str()]);
    let key = w.state_dir().join("device-cert.private.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let key_text = std::fs::read_to_string(&key).unwrap();
    assert!(key_text.contains("PRIVATE KEY"));
    let key_body: String = key_text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    applied
        .hides(&key_body[..40], "the private key")
        .hides("PRIVATE KEY", "a private key");
    // The certificate was issued for the local key.
    let kp = rcgen::KeyPair::from_pem(&key_text).unwrap();
    let (_, parsed) =
        x509_parser::pem::parse_x509_pem(cert.certificate_pem().unwrap().as_bytes()).unwrap();
    let x509 = parsed.parse_x509().unwrap();
    assert_eq!(
        &x509.public_key().subject_public_key.data[..],
        kp.public_key_raw()
    );
    // With the subject AWS IoT writes itself, not the CSR's: the certificate is known by its key.
    assert_eq!(x509.subject().to_string(), "CN=AWS IoT Certificate");

    // SNS topic with its tag, and the email subscription.
    let topic_arn = w.alert_topic_arn();
    assert_eq!(aws.topic_tags(&topic_arn).await["iotstack:stack"], p);
    let subs = aws.subscriptions(&topic_arn).await;
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].protocol(), Some("email"));
    assert_eq!(subs[0].endpoint(), Some(w.email().as_str()));

    // Rule role: trusted by IoT only, may publish to the alert topic only.
    let role_name = format!("{p}-iot-rule-sns-role");
    let role = aws.role(&role_name).await;
    assert_eq!(
        aws.trust(&role_name).await["Statement"][0]["Principal"]["Service"],
        json!("iot.amazonaws.com")
    );
    assert_eq!(aws.role_tags(&role_name).await["iotstack:stack"], p);
    let inline = aws.inline_policy(&role_name, "sns-publish").await;
    let st = &statements(&inline)[0];
    assert_eq!(list(&st["Action"]), ["sns:Publish"]);
    assert_eq!(list(&st["Resource"]), vec![topic_arn.clone()]);

    // Topic rule: P_alerts, SELECT * FROM 'P/alerts' -> SNS, raw, enabled.
    let r = aws.topic_rule(&w.alert_rule()).await;
    assert_eq!(
        r.sql(),
        Some(format!("SELECT * FROM '{p}/alerts'").as_str())
    );
    assert_eq!(r.rule_disabled(), Some(false));
    let sns = r.actions()[0].sns().unwrap();
    assert_eq!(sns.target_arn(), topic_arn);
    assert_eq!(sns.role_arn(), role.arn());
    assert_eq!(sns.message_format().unwrap().as_str(), "RAW");

    // A plan right after reports no changes.
    let plan = w.plan_is_clean();
    assert!(plan.stdout.contains("No changes"), "{}", plan.stdout);

    // A second apply changes nothing.
    let again = w.apply();
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);

    // Destroy leaves nothing of the prefix, and the local key goes with the certificate.
    let destroyed = w.destroy_leaves_nothing().await;
    destroyed.stdout_has("Destroy complete: 25 deleted");
    assert!(!key.exists());

    // Destroying again succeeds and says there is nothing to do.
    let gone = w.destroy();
    gone.stdout_has("Nothing to destroy");
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_is_shown_by_plan_and_repaired_by_apply() {
    let (w, aws) = World::applied().await;
    let p = w.prefix.clone();
    let policy = format!("{p}-device-policy");
    let rule = w.alert_rule();
    let role = format!("{p}-iot-rule-sns-role");
    let topic_arn = w.alert_topic_arn();

    // Behind iotstack's back: the policy document widened, the rule disabled, the subscription
    // removed, the role's policy deleted.
    aws.put_policy_version(
        &policy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}"#,
    )
    .await;
    aws.disable_topic_rule(&rule).await;
    // A pending subscription cannot be unsubscribed (AWS answers InvalidParameter): the
    // recipient confirms it first, then someone removes it.
    w.confirm_subscriptions(&topic_arn).await;
    let subs = aws.subscriptions(&topic_arn).await;
    aws.sns
        .unsubscribe()
        .subscription_arn(subs[0].subscription_arn().unwrap())
        .send()
        .await
        .unwrap();
    aws.delete_inline_policy(&role, "sns-publish").await;

    let plan = w.plan_has_changes();
    let out = &plan.stdout;
    assert!(out.contains("~ update   device-policy"), "{out}");
    assert!(
        out.contains("\"iot:*\""),
        "the widened document is shown: {out}"
    );
    assert!(
        out.contains("~ update   alert-rule") && out.contains("enabled: false → true"),
        "{out}"
    );
    assert!(out.contains("+ create   alert-subscription"), "{out}");
    assert!(
        out.contains("~ update   rule-role") && out.contains("inline_policies"),
        "{out}"
    );
    assert!(
        out.contains("Plan: 1 to create, 3 to update, 0 to replace"),
        "{out}"
    );

    let json = w.iotstack("plan", &["--output", "json"]).ok().json();
    assert_eq!(
        json["summary"],
        json!({"create": 1, "update": 3, "replace": 0, "delete": 0, "no_op": 23, "foreign": 0})
    );
    let rule_change = entry(&json, "changes", "alert-rule").unwrap();
    assert_eq!(
        rule_change["changes"][0],
        json!({"property": "enabled", "before": false, "after": true, "after_unknown": false, "forces_replacement": false})
    );

    w.apply();
    w.plan_is_clean();

    // Repaired, as seen through the API.
    assert!(!aws.iot_policy(&policy).await.to_string().contains("iot:*"));
    assert_eq!(
        aws.policy_versions(&policy).await.len(),
        3,
        "the fix is a new default version"
    );
    assert_eq!(aws.topic_rule(&rule).await.rule_disabled(), Some(false));
    assert_eq!(aws.subscriptions(&topic_arn).await.len(), 1);
    aws.inline_policy(&role, "sns-publish").await;

    w.destroy_leaves_nothing().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_updates_prune_the_oldest_version_at_five() {
    let (w, aws) = World::applied().await;
    let p = w.prefix.clone();
    let policy = format!("{p}-device-policy");
    // Four drifted versions: five in all, the limit.
    for i in 0..4 {
        aws.put_policy_version(&policy, format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-1:123456789012:client/x{i}"}}]}}"#))
            .await;
    }
    w.apply();
    let ids = aws.policy_versions(&policy).await;
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(
        !ids.iter().any(|id| id == "1"),
        "the oldest non-default version was pruned: {ids:?}"
    );
    w.is_clean_and_destroys_to_nothing().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_after_the_certificate_was_created_converges() {
    let (w, aws) = World::applied().await;
    let p = w.prefix.clone();
    // The state a run killed right after CreateCertificateFromCsr leaves: the certificate exists,
    // is attached to nothing, and its id was never recorded locally.
    let cert_arn = aws.thing_principals(&format!("{p}-thing")).await[0].clone();
    aws.iot
        .detach_thing_principal()
        .thing_name(format!("{p}-thing"))
        .principal(&cert_arn)
        .send()
        .await
        .unwrap();
    aws.detach_policy(&format!("{p}-device-policy"), &cert_arn)
        .await;
    std::fs::remove_file(w.state_dir().join("device-cert.cert-id")).unwrap();

    let plan = w.plan_has_changes();
    plan.stdout_has("+ create   device-cert-policy");
    assert!(
        !plan.stdout.contains("+ create   device-cert "),
        "the certificate is found again: {}",
        plan.stdout
    );
    w.apply();
    assert_eq!(
        aws.certificates().await.len(),
        1,
        "no duplicate certificate"
    );
    w.plan_is_clean();

    // And destroy finds it with no local record at all.
    std::fs::remove_dir_all(w.dir.path().join(".iotstack")).unwrap();
    let d = w.destroy_leaves_nothing().await;
    assert!(d.stdout.contains("device-cert"), "{}", d.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_at_any_point_is_completed_by_the_next() {
    // Every call takes 25 ms more, so apply and destroy last a couple of seconds and a kill lands
    // in the middle of them: after a few creates, between a create and its read-back, ...
    let w = World::with_latency(25);
    let kill_after = |verb: &str, extra: &[&str], ms: u64| {
        let args = w.stack_args(verb, extra);
        let mut child = w
            .cmd(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(ms));
        let finished = matches!(child.try_wait(), Ok(Some(_)));
        let _ = child.kill();
        let _ = child.wait();
        finished
    };
    let aws = w.live().await;
    let mut interrupted = 0;
    for ms in [400u64, 900, 1500, 2200] {
        if !kill_after("apply", &["--yes"], ms) {
            interrupted += 1;
        }
        // A run killed outright leaves the stack's lock: the next one takes it over.
        w.iotstack("apply", &["--yes", "--break-lock"]).ok();
        w.plan_is_clean();
        // The secret holds the user's password, whatever the kill interrupted: the user made
        // and its password staged, the password set or the secret's labels moved alone.
        aws.signed_in().await;
        // No duplicates: one of each, whatever the kill interrupted.
        assert_eq!(aws.certificates().await.len(), 1);
        assert_eq!(aws.subscriptions(&w.alert_topic_arn()).await.len(), 1);
        assert_eq!(aws.user_pools().await.len(), 1, "one user pool");
        assert_eq!(aws.identity_pools().await.len(), 1, "one identity pool");
        let secrets = aws.secrets().await;
        let record = format!("{}-iotstack-record", w.prefix);
        let app = secrets.iter().filter(|s| s.name() != Some(record.as_str()));
        assert_eq!(app.count(), 1, "one secret besides the stack's record");

        // A destroy killed half-way is completed by the next one.
        if !kill_after("destroy", &["--yes"], ms) {
            interrupted += 1;
        }
        w.iotstack("destroy", &["--yes", "--break-lock"]).ok();
        w.assert_nothing_left().await;
    }
    assert!(
        interrupted >= 4,
        "most runs were interrupted mid-way ({interrupted} of 8)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_without_a_terminal_or_yes_refuses_and_changes_nothing() {
    let w = World::new();
    let r = w.iotstack("apply", &[]).code(1);
    r.stderr_has("refusing to apply without confirmation");
    assert!(r.stderr.contains("--yes"));
    w.assert_nothing_left().await;
    w.apply();
    let aws = w.live().await;
    let live = aws.leftovers().await;
    assert!(live.len() >= 15, "{live:?}");
    let r = w.iotstack("destroy", &[]).code(1);
    assert!(r.stderr.contains("refusing to destroy"), "{}", r.stderr);
    assert_eq!(aws.leftovers().await, live, "nothing was destroyed");
    w.destroy();
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_of_apply_and_destroy_is_one_object_per_line() {
    let w = World::new();
    let r = w.iotstack("apply", &["--yes", "--output", "json"]).ok();
    let lines = r.json_lines();
    assert_eq!(lines[0]["type"], "plan");
    assert_eq!(lines[0]["summary"]["create"], 25);
    let done = lines.iter().filter(|l| l["type"] == "done").count();
    assert_eq!(done, 25);
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "summary");
    assert_eq!(last["created"], 25);
    assert!(last["resources"]["device-cert"]["arn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:iot:"));
    r.hides("PRIVATE KEY", "a private key");
    let d = w.iotstack("destroy", &["--yes", "--output", "json"]).ok();
    let last = d.json_lines().pop().unwrap();
    assert_eq!(last["deleted"], 25);
}

#[tokio::test(flavor = "multi_thread")]
async fn resources_removed_from_the_stack_or_renamed_are_deleted() {
    let mut w = World::new();
    let p = w.prefix.clone();
    w.apply();
    // The alert rule and its role leave the stack; the thing gets another name.
    w.stack = edited_stack(&w, |t| {
        let start = t.find("  rule-role:\n").unwrap();
        let end = t.find("  # --- Users").unwrap();
        let t = format!("{}{}", &t[..start], &t[end..]);
        t.replace("name: ${prefix}-thing", "name: ${prefix}-device")
    });
    let plan = w.plan_has_changes();
    let out = &plan.stdout;
    assert!(out.contains("- delete   alert-rule"), "{out}");
    assert!(out.contains("- delete   rule-role"), "{out}");
    assert!(
        out.contains("deleted because it is no longer in the stack file"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.contains("- delete   device-thing ")
            && l.contains("(iot_thing)")
            && l.ends_with(&format!(" {p}-thing"))),
        "{out}"
    );
    assert!(out.contains("+ create   device-thing"), "{out}");
    // The certificate's attachment to the old thing goes too: the stack's attachment now names
    // the new thing.
    assert!(out.contains("- delete   device-cert-thing"), "{out}");
    let json = w.iotstack("plan", &["--output", "json"]).ok().json();
    assert_eq!(json["summary"]["delete"], 4);

    let applied = w.apply();
    assert!(applied.stdout.contains("4 deleted"), "{}", applied.stdout);
    w.plan_is_clean();
    let aws = w.live().await;
    assert!(aws.topic_rules().await.is_empty(), "the rule is gone");
    assert!(!aws.role_exists(&format!("{p}-iot-rule-sns-role")).await);
    assert!(!aws.thing_exists(&format!("{p}-thing")).await);
    assert_eq!(
        aws.thing_principals(&format!("{p}-device")).await.len(),
        1,
        "the certificate follows the renamed thing"
    );

    w.destroy_leaves_nothing().await;
}

/// A resource the stack no longer declares is deleted only while it is still the stack's: a
/// role deleted out of band and made again under its name by someone else (no `iotstack:stack`
/// mark) is shown as left, apply and destroy leave it, and the record forgets it.
#[tokio::test(flavor = "multi_thread")]
async fn a_resource_left_from_the_stack_that_is_now_another_owners_is_not_deleted() {
    let mut w = World::new();
    let p = w.prefix.clone();
    w.apply();
    let aws = w.live().await;
    let role = format!("{p}-iot-rule-sns-role");
    // Someone deletes the stack's rule role and makes their own under the same name.
    aws.delete_inline_policy(&role, "sns-publish").await;
    aws.iam.delete_role().role_name(&role).send().await.unwrap();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    aws.iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    // The alert rule and its role leave the stack.
    w.stack = edited_stack(&w, |t| {
        let start = t.find("  rule-role:\n").unwrap();
        let end = t.find("  # --- Users").unwrap();
        format!("{}{}", &t[..start], &t[end..])
    });
    let plan = w.plan_has_changes();
    let out = &plan.stdout;
    assert!(out.contains("- delete   alert-rule"), "{out}");
    assert!(!out.contains("- delete   rule-role"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("foreign") && l.contains("rule-role")),
        "{out}"
    );
    assert!(out.contains("apply and destroy leave it as it is"), "{out}");
    let json = w.iotstack("plan", &["--output", "json"]).ok().json();
    assert_eq!(json["summary"]["delete"], 1, "{json}");
    assert_eq!(json["summary"]["foreign"], 1, "{json}");

    let applied = w.apply();
    assert!(
        applied.stdout.contains("1 deleted"),
        "{}{}",
        applied.stdout,
        applied.stderr
    );
    assert!(aws.topic_rules().await.is_empty(), "the rule is gone");
    assert!(aws.role_exists(&role).await, "the other owner's role stays");
    assert_eq!(
        aws.trust(&role).await,
        serde_json::from_str::<Value>(trust).unwrap()
    );
    // Forgotten: the next plan no longer mentions it.
    let clean = w.plan_is_clean();
    assert!(!clean.stdout.contains("rule-role"), "{}", clean.stdout);

    let d = w.iotstack("destroy", &["--yes"]).ok();
    assert!(!d.stdout.contains(&role), "{}", d.stdout);
    assert!(aws.role_exists(&role).await, "destroy leaves it too");
    aws.iam.delete_role().role_name(&role).send().await.unwrap();
    w.destroy_leaves_nothing().await;
}
