//! What AWS does and moto forgave: guest identities beside signed-in ones, regions without
//! Lambda function URLs, and a stack applied, destroyed and applied again at once (every strict
//! patch on: AWS's certificate subject, ListSecrets lagging behind writes, roles not assumable at
//! first, Cognito updates resetting what they omit).

use crate::harness::World;

#[tokio::test(flavor = "multi_thread")]
async fn guest_identities_are_not_drift_and_get_no_iot_policy() {
    let w = World::new();
    w.iotstack("apply", &["--yes"]).ok();
    let c = w.live().await;
    let pool = c.pool().await;
    // An app launched without signing in: GetId without logins makes a guest (the default stack's
    // identity pool allows them).
    let guest = c
        .cognito_identity
        .get_id()
        .identity_pool_id(&pool.identity_pool_id)
        .send()
        .await
        .unwrap()
        .identity_id()
        .unwrap()
        .to_string();
    let listed = c
        .cognito_identity
        .list_identities()
        .identity_pool_id(&pool.identity_pool_id)
        .max_results(60)
        .send()
        .await
        .unwrap();
    let entry = listed
        .identities()
        .iter()
        .find(|i| i.identity_id() == Some(guest.as_str()))
        .expect("the guest is listed");
    assert!(entry.logins().is_empty(), "a guest has no logins");

    let plan = w.iotstack("plan", &["--detailed-exitcode"]).code(0);
    assert!(plan.stdout.contains("No changes"), "{}", plan.stdout);
    w.iotstack("apply", &["--yes"]).ok();
    let policy = format!("{}-cognito-iot-policy", w.prefix);
    assert!(
        !c.policy_targets(&policy).await.contains(&guest),
        "the guest got the IoT policy"
    );

    // A signed-in identity still counts: it lacks the policy until apply attaches it.
    let (_, signed_in) = c.sign_in(&pool).await;
    let plan = w.iotstack("plan", &["--detailed-exitcode"]).code(2);
    assert!(
        plan.stdout
            .contains("1 of 1 signed-in identities lack the policy"),
        "{}",
        plan.stdout
    );
    w.iotstack("apply", &["--yes"]).ok();
    let attached = c.policy_targets(&policy).await;
    assert!(attached.contains(&signed_in), "{attached:?}");
    assert!(!attached.contains(&guest), "{attached:?}");
    w.iotstack("plan", &["--detailed-exitcode"]).code(0);
    w.iotstack("destroy", &["--yes"]).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_plan_destroy_and_apply_again_back_to_back() {
    let w = World::new();
    w.apply();
    w.plan_is_clean();
    w.destroy_leaves_nothing().await;
    // At once, while ListSecrets still lists the deleted secrets: nothing of the old stack is
    // taken for the new one, and the new one reads back as written.
    w.apply();
    w.plan_is_clean();
    let c = w.live().await;
    let pool = c.pool().await;
    let (_, identity) = c.sign_in(&pool).await;
    w.apply();
    let policy = format!("{}-cognito-iot-policy", w.prefix);
    assert!(c.policy_targets(&policy).await.contains(&identity));
    w.is_clean_and_destroys_to_nothing().await;
}

#[test]
fn a_region_without_function_urls_is_refused_before_any_aws_call() {
    let (w, ep) = World::offline();
    let expect = "`attach-url` (lambda_function_url): Lambda function URLs are not available in \
                  eu-central-2";
    for (verb, extra) in [("plan", None), ("apply", Some("--yes"))] {
        let args: Vec<&str> = ["--region", "eu-central-2"]
            .into_iter()
            .chain(extra)
            .collect();
        let r = w.iotstack(verb, &args).code(1);
        assert!(r.stderr.contains(expect), "{verb}: {}", r.stderr);
        assert!(r.stderr.contains("stacks/default.yaml:"), "{}", r.stderr);
    }
    let stack = w.stack.display().to_string();
    let v = w
        .run(&["validate", "--stack", &stack, "--region", "eu-central-2"])
        .code(1);
    assert!(v.stdout.contains(expect), "{}", v.stdout);
    assert!(v.stdout.contains("region-support"), "{}", v.stdout);
    assert_eq!(ep.hits(), 0, "no AWS call");
    // Where function URLs exist, the same stack validates.
    w.run(&["validate", "--stack", &stack, "--region", "eu-west-1"])
        .ok();
}
