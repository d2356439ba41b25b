//! The device half of the default stack: thing, certificate, device policy, rule role, topic
//! rule, SNS topic and email subscription.

use std::os::unix::fs::PermissionsExt;

use serde_json::{json, Value};

use crate::harness::{decode, edited_stack, leftovers, list as as_list, statements, World};

#[tokio::test(flavor = "multi_thread")]
async fn apply_creates_the_device_chain_plan_is_clean_destroy_leaves_nothing() {
    let w = World::new();
    let p = w.prefix.clone();
    let applied = w.iotstack("apply", &["--yes"]).ok();
    assert!(
        applied.stdout.contains("Apply complete: 25 created"),
        "{}",
        applied.stdout
    );

    let c = w.clients().await;
    // Thing, with the stack tag kept as an attribute.
    let thing = c
        .iot
        .describe_thing()
        .thing_name(format!("{p}-thing"))
        .send()
        .await
        .unwrap();
    assert_eq!(thing.attributes().unwrap().get("iotstack:stack"), Some(&p));

    // Device policy: scoped to the thing name, never iot:* on *.
    let pol = c
        .iot
        .get_policy()
        .policy_name(format!("{p}-device-policy"))
        .send()
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(pol.policy_document().unwrap()).unwrap();
    let stmts = statements(&doc);
    let connect = stmts
        .iter()
        .find(|s| as_list(&s["Action"]) == ["iot:Connect"])
        .expect("a Connect statement");
    assert_eq!(
        as_list(&connect["Resource"]),
        [
            "arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"
                .to_string()
        ]
    );
    for s in &stmts {
        assert!(
            !as_list(&s["Action"])
                .iter()
                .any(|a| a == "iot:*" || a == "*"),
            "{s}"
        );
        assert!(!as_list(&s["Resource"]).iter().any(|r| r == "*"), "{s}");
    }
    let sub = stmts
        .iter()
        .find(|s| as_list(&s["Action"]) == ["iot:Subscribe"])
        .expect("a Subscribe statement");
    assert!(as_list(&sub["Resource"]).contains(&format!("arn:aws:iot:us-east-1:123456789012:topicfilter/{p}/devices/${{iot:Connection.Thing.ThingName}}/*")));
    let pubr = stmts
        .iter()
        .find(|s| as_list(&s["Action"]).contains(&"iot:Receive".to_string()))
        .expect("Publish/Receive");
    assert!(as_list(&pubr["Resource"]).contains(&format!(
        "arn:aws:iot:us-east-1:123456789012:topic/{p}/alerts"
    )));
    let tags = c
        .iot
        .list_tags_for_resource()
        .resource_arn(pol.policy_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert!(tags
        .tags()
        .iter()
        .any(|t| t.key() == "iotstack:stack" && t.value() == Some(p.as_str())));

    // Certificate: active, attached to the policy and the thing; key local with mode 0600.
    let principals = c
        .iot
        .list_thing_principals()
        .thing_name(format!("{p}-thing"))
        .send()
        .await
        .unwrap();
    assert_eq!(principals.principals().len(), 1);
    let cert_arn = principals.principals()[0].clone();
    let cert_id = cert_arn.rsplit('/').next().unwrap().to_string();
    let cert = c
        .iot
        .describe_certificate()
        .certificate_id(&cert_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cert.certificate_description()
            .unwrap()
            .status()
            .unwrap()
            .as_str(),
        "ACTIVE"
    );
    let attached = c
        .iot
        .list_attached_policies()
        .target(&cert_arn)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = attached
        .policies()
        .iter()
        .filter_map(|x| x.policy_name())
        .collect();
    assert_eq!(names, [format!("{p}-device-policy")]);
    let key = w.state_dir().join("device-cert.private.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let key_text = std::fs::read_to_string(&key).unwrap();
    assert!(key_text.contains("PRIVATE KEY"));
    let key_body: String = key_text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(
        !applied.all().contains(&key_body[..40]),
        "the private key must never be printed"
    );
    assert!(!applied.all().contains("PRIVATE KEY"));
    // The certificate was issued for the local key.
    let kp = rcgen::KeyPair::from_pem(&key_text).unwrap();
    let pem = cert
        .certificate_description()
        .unwrap()
        .certificate_pem()
        .unwrap();
    let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
    let x509 = parsed.parse_x509().unwrap();
    assert_eq!(
        &x509.public_key().subject_public_key.data[..],
        kp.public_key_raw()
    );

    // SNS topic with its tag, and the email subscription.
    let topic_arn = format!("arn:aws:sns:us-east-1:123456789012:{p}-iot-notification");
    let ttags = c
        .sns
        .list_tags_for_resource()
        .resource_arn(&topic_arn)
        .send()
        .await
        .unwrap();
    assert!(ttags
        .tags()
        .iter()
        .any(|t| t.key() == "iotstack:stack" && t.value() == p));
    let subs = c
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(subs.subscriptions().len(), 1);
    assert_eq!(subs.subscriptions()[0].protocol(), Some("email"));
    assert_eq!(subs.subscriptions()[0].endpoint(), Some(w.email().as_str()));

    // Rule role: trusted by IoT only, may publish to the alert topic only.
    let role = c
        .iam
        .get_role()
        .role_name(format!("{p}-iot-rule-sns-role"))
        .send()
        .await
        .unwrap();
    let role = role.role().unwrap();
    let trust = decode(role.assume_role_policy_document().unwrap());
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        json!("iot.amazonaws.com")
    );
    assert!(role
        .tags()
        .iter()
        .any(|t| t.key() == "iotstack:stack" && t.value() == p));
    let inline = c
        .iam
        .get_role_policy()
        .role_name(role.role_name())
        .policy_name("sns-publish")
        .send()
        .await
        .unwrap();
    let inline = decode(inline.policy_document());
    let st = &statements(&inline)[0];
    assert_eq!(as_list(&st["Action"]), ["sns:Publish"]);
    assert_eq!(as_list(&st["Resource"]), vec![topic_arn.clone()]);

    // Topic rule: P_alerts, SELECT * FROM 'P/alerts' -> SNS, raw, enabled.
    let rule = c
        .iot
        .get_topic_rule()
        .rule_name(format!("{}_alerts", p.replace('-', "_")))
        .send()
        .await
        .unwrap();
    let r = rule.rule().unwrap();
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
    let plan = w.iotstack("plan", &["--detailed-exitcode"]).code(0);
    assert!(plan.stdout.contains("No changes"), "{}", plan.stdout);

    // A second apply changes nothing.
    let again = w.iotstack("apply", &["--yes"]).ok();
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);

    // Destroy leaves nothing of the prefix, and the local key goes with the certificate.
    let destroyed = w.iotstack("destroy", &["--yes"]).ok();
    assert!(
        destroyed.stdout.contains("Destroy complete: 25 deleted"),
        "{}",
        destroyed.stdout
    );
    assert_eq!(leftovers(&w).await, Vec::<String>::new());
    assert!(!key.exists());

    // Destroying again succeeds and says there is nothing to do.
    let gone = w.iotstack("destroy", &["--yes"]).ok();
    assert!(
        gone.stdout.contains("Nothing to destroy"),
        "{}",
        gone.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_is_shown_by_plan_and_repaired_by_apply() {
    let w = World::new();
    let p = w.prefix.clone();
    w.iotstack("apply", &["--yes"]).ok();
    let c = w.clients().await;
    let policy = format!("{p}-device-policy");
    let rule = format!("{}_alerts", p.replace('-', "_"));
    let role = format!("{p}-iot-rule-sns-role");
    let topic_arn = format!("arn:aws:sns:us-east-1:123456789012:{p}-iot-notification");

    // Behind iotstack's back: the policy document widened, the rule disabled, the subscription
    // removed, the role's policy deleted.
    c.iot
        .create_policy_version()
        .policy_name(&policy)
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}"#)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    c.iot
        .disable_topic_rule()
        .rule_name(&rule)
        .send()
        .await
        .unwrap();
    let subs = c
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic_arn)
        .send()
        .await
        .unwrap();
    c.sns
        .unsubscribe()
        .subscription_arn(subs.subscriptions()[0].subscription_arn().unwrap())
        .send()
        .await
        .unwrap();
    c.iam
        .delete_role_policy()
        .role_name(&role)
        .policy_name("sns-publish")
        .send()
        .await
        .unwrap();

    let plan = w.iotstack("plan", &["--detailed-exitcode"]).code(2);
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
        json!({"create": 1, "update": 3, "replace": 0, "delete": 0, "no_op": 22})
    );
    let rule_change = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "alert-rule")
        .unwrap();
    assert_eq!(
        rule_change["changes"][0],
        json!({"property": "enabled", "before": false, "after": true, "after_unknown": false, "forces_replacement": false})
    );

    w.iotstack("apply", &["--yes"]).ok();
    w.iotstack("plan", &["--detailed-exitcode"]).code(0);

    // Repaired, as seen through the API.
    let pol = c
        .iot
        .get_policy()
        .policy_name(&policy)
        .send()
        .await
        .unwrap();
    assert!(!pol.policy_document().unwrap().contains("iot:*"));
    let versions = c
        .iot
        .list_policy_versions()
        .policy_name(&policy)
        .send()
        .await
        .unwrap();
    assert_eq!(
        versions.policy_versions().len(),
        3,
        "the fix is a new default version"
    );
    let r = c
        .iot
        .get_topic_rule()
        .rule_name(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(r.rule().unwrap().rule_disabled(), Some(false));
    let subs = c
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(subs.subscriptions().len(), 1);
    c.iam
        .get_role_policy()
        .role_name(&role)
        .policy_name("sns-publish")
        .send()
        .await
        .unwrap();

    w.iotstack("destroy", &["--yes"]).ok();
    assert_eq!(leftovers(&w).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_updates_prune_the_oldest_version_at_five() {
    let w = World::new();
    let p = w.prefix.clone();
    w.iotstack("apply", &["--yes"]).ok();
    let c = w.clients().await;
    let policy = format!("{p}-device-policy");
    // Four drifted versions: five in all, the limit.
    for i in 0..4 {
        c.iot
            .create_policy_version()
            .policy_name(&policy)
            .policy_document(format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-1:123456789012:client/x{i}"}}]}}"#))
            .set_as_default(true)
            .send()
            .await
            .unwrap();
    }
    w.iotstack("apply", &["--yes"]).ok();
    let versions = c
        .iot
        .list_policy_versions()
        .policy_name(&policy)
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = versions
        .policy_versions()
        .iter()
        .filter_map(|v| v.version_id())
        .collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(
        !ids.contains(&"1"),
        "the oldest non-default version was pruned: {ids:?}"
    );
    w.iotstack("plan", &["--detailed-exitcode"]).code(0);
    w.iotstack("destroy", &["--yes"]).ok();
    assert_eq!(leftovers(&w).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_after_the_certificate_was_created_converges() {
    let w = World::new();
    let p = w.prefix.clone();
    w.iotstack("apply", &["--yes"]).ok();
    let c = w.clients().await;
    // The state a run killed right after CreateCertificateFromCsr leaves: the certificate exists,
    // is attached to nothing, and its id was never recorded locally.
    let principals = c
        .iot
        .list_thing_principals()
        .thing_name(format!("{p}-thing"))
        .send()
        .await
        .unwrap();
    let cert_arn = principals.principals()[0].clone();
    c.iot
        .detach_thing_principal()
        .thing_name(format!("{p}-thing"))
        .principal(&cert_arn)
        .send()
        .await
        .unwrap();
    c.iot
        .detach_policy()
        .policy_name(format!("{p}-device-policy"))
        .target(&cert_arn)
        .send()
        .await
        .unwrap();
    std::fs::remove_file(w.state_dir().join("device-cert.cert-id")).unwrap();

    let plan = w.iotstack("plan", &["--detailed-exitcode"]).code(2);
    assert!(
        plan.stdout.contains("+ create   device-cert-policy"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("+ create   device-cert "),
        "the certificate is found again: {}",
        plan.stdout
    );
    w.iotstack("apply", &["--yes"]).ok();
    let certs = c.iot.list_certificates().send().await.unwrap();
    assert_eq!(certs.certificates().len(), 1, "no duplicate certificate");
    w.iotstack("plan", &["--detailed-exitcode"]).code(0);

    // And destroy finds it with no local record at all.
    std::fs::remove_dir_all(w.dir.path().join(".iotstack")).unwrap();
    let d = w.iotstack("destroy", &["--yes"]).ok();
    assert!(d.stdout.contains("device-cert"), "{}", d.stdout);
    assert_eq!(leftovers(&w).await, Vec::<String>::new());
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
    let mut interrupted = 0;
    for ms in [400u64, 900, 1500, 2200] {
        if !kill_after("apply", &["--yes"], ms) {
            interrupted += 1;
        }
        w.iotstack("apply", &["--yes"]).ok();
        w.iotstack("plan", &["--detailed-exitcode"]).code(0);
        let c = w.clients().await;
        // No duplicates: one of each, whatever the kill interrupted.
        assert_eq!(
            c.iot
                .list_certificates()
                .send()
                .await
                .unwrap()
                .certificates()
                .len(),
            1
        );
        let topic_arn = format!(
            "arn:aws:sns:us-east-1:123456789012:{}-iot-notification",
            w.prefix
        );
        let subs = c
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(&topic_arn)
            .send()
            .await
            .unwrap();
        assert_eq!(subs.subscriptions().len(), 1);
        let pools = c
            .cognito_idp
            .list_user_pools()
            .max_results(60)
            .send()
            .await
            .unwrap();
        assert_eq!(pools.user_pools().len(), 1, "one user pool");
        let ipools = c
            .cognito_identity
            .list_identity_pools()
            .max_results(60)
            .send()
            .await
            .unwrap();
        assert_eq!(ipools.identity_pools().len(), 1, "one identity pool");
        let secrets = c
            .secrets
            .list_secrets()
            .include_planned_deletion(true)
            .send()
            .await
            .unwrap();
        assert_eq!(secrets.secret_list().len(), 1, "one secret");

        // A destroy killed half-way is completed by the next one.
        if !kill_after("destroy", &["--yes"], ms) {
            interrupted += 1;
        }
        w.iotstack("destroy", &["--yes"]).ok();
        assert_eq!(leftovers(&w).await, Vec::<String>::new());
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
    assert!(
        r.stderr.contains("refusing to apply without confirmation"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--yes"));
    assert_eq!(leftovers(&w).await, Vec::<String>::new());
    w.iotstack("apply", &["--yes"]).ok();
    let live = leftovers(&w).await;
    assert!(live.len() >= 15, "{live:?}");
    let r = w.iotstack("destroy", &[]).code(1);
    assert!(r.stderr.contains("refusing to destroy"), "{}", r.stderr);
    assert_eq!(leftovers(&w).await, live, "nothing was destroyed");
    w.iotstack("destroy", &["--yes"]).ok();
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
    assert!(!r.stdout.contains("PRIVATE KEY"));
    let d = w.iotstack("destroy", &["--yes", "--output", "json"]).ok();
    let last = d.json_lines().pop().unwrap();
    assert_eq!(last["deleted"], 25);
}

#[tokio::test(flavor = "multi_thread")]
async fn resources_removed_from_the_stack_or_renamed_are_deleted() {
    let mut w = World::new();
    let p = w.prefix.clone();
    w.iotstack("apply", &["--yes"]).ok();
    // The alert rule and its role leave the stack; the thing gets another name.
    w.stack = edited_stack(&w, |t| {
        let start = t.find("  rule-role:\n").unwrap();
        let end = t.find("  # --- Users").unwrap();
        let t = format!("{}{}", &t[..start], &t[end..]);
        t.replace("name: ${prefix}-thing", "name: ${prefix}-device")
    });
    let plan = w.iotstack("plan", &["--detailed-exitcode"]).code(2);
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
    let json = w.iotstack("plan", &["--output", "json"]).ok().json();
    assert_eq!(json["summary"]["delete"], 3);

    let applied = w.iotstack("apply", &["--yes"]).ok();
    assert!(applied.stdout.contains("3 deleted"), "{}", applied.stdout);
    w.iotstack("plan", &["--detailed-exitcode"]).code(0);
    let c = w.clients().await;
    let rules = c.iot.list_topic_rules().send().await.unwrap();
    assert!(rules.rules().is_empty(), "the rule is gone");
    assert!(c
        .iam
        .get_role()
        .role_name(format!("{p}-iot-rule-sns-role"))
        .send()
        .await
        .is_err());
    assert!(c
        .iot
        .describe_thing()
        .thing_name(format!("{p}-thing"))
        .send()
        .await
        .is_err());
    let principals = c
        .iot
        .list_thing_principals()
        .thing_name(format!("{p}-device"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        principals.principals().len(),
        1,
        "the certificate follows the renamed thing"
    );

    w.iotstack("destroy", &["--yes"]).ok();
    assert_eq!(leftovers(&w).await, Vec::<String>::new());
}
