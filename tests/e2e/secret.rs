//! The app secret as the seed's clients read it, its resource policy (reads of the value and
//! changes from outside `--ip` denied, the deployer never locked out), and doctor's verdict on a
//! policy that restricts nothing.

use serde_json::{json, Value};

use crate::harness::{entry, World, IP};
use crate::live::{list, statements};

/// The statement of the live policy whose actions include `action`.
fn statement_with(doc: &Value, action: &str) -> Value {
    statements(doc)
        .into_iter()
        .find(|s| list(&s["Action"]).iter().any(|a| a == action))
        .unwrap_or_else(|| panic!("no statement with {action} in {doc:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secret_holds_what_the_seeds_clients_read_and_an_older_value_is_rewritten() {
    let (w, aws) = World::applied().await;
    let p = w.prefix.clone();
    let pool = aws.pool().await;
    let name = format!("{}_{p}-app-user", pool.id);

    // SecretString is {"<prefix>-app-user": "<password>"}.
    let value = aws.secret_value(&name).await;
    let user = format!("{p}-app-user");
    let fields = value.as_object().expect("a JSON object");
    assert_eq!(fields.keys().collect::<Vec<_>>(), [&user], "{fields:?}");
    assert_eq!(value[&user].as_str().unwrap().len(), 99);

    // The seed's tag keys, and none of the earlier ones.
    let tags = aws.secret_tags(&name).await;
    for key in [
        "ClientId",
        "IdentityPoolId",
        "IoTEndpoint",
        "EmailAddress",
        "UserPoolId",
        "IoTPolicy",
    ] {
        assert!(
            tags.get(key).is_some_and(|v| !v.is_empty()),
            "{key}: {tags:?}"
        );
    }
    assert_eq!(tags["EmailAddress"], w.email());
    assert_eq!(tags["IoTPolicy"], format!("{p}-cognito-iot-policy"));
    assert_eq!(tags["UserPoolId"], pool.id);
    for old in ["IotEndpoint", "Email", "IotPolicyName"] {
        assert!(!tags.contains_key(old), "{old}: {tags:?}");
    }
    aws.sign_in(&pool).await;

    // A value in the earlier form (the bare password) is not known to be iotstack's: the next
    // apply sets a new password on both, in the seed's form.
    let bare = value[&user].as_str().unwrap().to_string();
    aws.secrets
        .put_secret_value()
        .secret_id(&name)
        .secret_string(&bare)
        .send()
        .await
        .unwrap();
    let plan = w.plan_has_changes();
    assert!(
        plan.stdout.contains("~ update   app-user"),
        "{}",
        plan.stdout
    );
    plan.hides(&bare, "the password");
    w.apply().hides(&bare, "the password");
    w.plan_is_clean();
    let rewritten = aws.secret_value(&name).await;
    assert_ne!(rewritten[&user].as_str(), Some(bare.as_str()));
    aws.sign_in(&pool).await;
    w.destroy_leaves_nothing().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secret_policy_denies_changes_from_outside_to_everyone_but_the_deployer() {
    let (w, aws) = World::applied().await;
    let pool = aws.pool().await;
    let name = format!("{}_{}-app-user", pool.id, w.prefix);
    let doc = aws.secret_policy(&name).await.expect("a resource policy");

    let read = statement_with(&doc, "secretsmanager:GetSecretValue");
    assert_eq!(list(&read["Action"]), ["secretsmanager:GetSecretValue"]);
    assert_eq!(
        read["Condition"]["NotIpAddress"]["aws:SourceIp"],
        json!(format!("{IP}/32"))
    );

    let change = statement_with(&doc, "secretsmanager:PutResourcePolicy");
    assert_eq!(change["Effect"], json!("Deny"));
    for action in [
        "secretsmanager:DeleteResourcePolicy",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecret",
        "secretsmanager:TagResource",
    ] {
        assert!(
            list(&change["Action"]).iter().any(|a| a == action),
            "{action}"
        );
    }
    assert_eq!(
        change["Condition"]["NotIpAddress"]["aws:SourceIp"],
        json!(format!("{IP}/32"))
    );
    // The deployer is every session of the caller's principal.
    let me = aws.sts.get_caller_identity().send().await.unwrap();
    let user_id = me.user_id().unwrap();
    let pattern = change["Condition"]["StringNotLike"]["aws:userid"]
        .as_str()
        .expect("the deployer's aws:userid");
    let role = user_id.split_once(':').map(|(r, _)| r);
    match role.filter(|r| r.starts_with("AROA")) {
        Some(role) => assert_eq!(pattern, format!("{role}:*")),
        None => assert_eq!(pattern, user_id),
    }

    // Nothing iotstack reads is denied anywhere: a run from another address sees the secret.
    for s in statements(&doc) {
        for action in [
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetResourcePolicy",
            "secretsmanager:ListSecretVersionIds",
        ] {
            assert!(!list(&s["Action"]).iter().any(|a| a == action), "{s:#}");
        }
    }
    w.destroy_leaves_nothing().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_fails_a_secret_policy_that_restricts_nothing() {
    let (w, aws) = World::applied().await;
    let pool = aws.pool().await;
    let name = format!("{}_{}-app-user", pool.id, w.prefix);
    let open = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
        "Action": "secretsmanager:GetSecretValue", "Resource": "*",
        "Condition": {"NotIpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}]});
    aws.put_secret_policy(&name, &open).await;

    // With --ip and without it: the policy restricts nothing whatever --ip is.
    let with_ip = w.iotstack("doctor", &["--output", "json"]).code(2).json();
    let stack = w.stack.display().to_string();
    let args = [
        "doctor", "--stack", &stack, "--prefix", &w.prefix, "--output", "json",
    ];
    let without_ip = w.run(&args).code(2).json();
    for report in [&with_ip, &without_ip] {
        let c = entry(report, "checks", "secret-address").unwrap_or_else(|| panic!("{report:#}"));
        assert_eq!(c["status"], "fail", "{c:#}");
        assert!(
            c["evidence"]
                .to_string()
                .contains("0.0.0.0/0 admits every address"),
            "{c:#}"
        );
    }

    // --fix restores the stack's policy.
    w.iotstack("doctor", &["--fix"]).ok();
    let doc = aws.secret_policy(&name).await.expect("restored");
    assert_eq!(
        statement_with(&doc, "secretsmanager:GetSecretValue")["Condition"]["NotIpAddress"]
            ["aws:SourceIp"],
        json!(format!("{IP}/32"))
    );
    w.destroy_leaves_nothing().await;
}

/// A run killed half way through a password change of a confirmed user (the new value written to
/// the secret as pending and already set on the user, the secret's current value not moved) is
/// healed by the next apply: the plan shows it, and afterwards the current value signs the user
/// in.
#[tokio::test(flavor = "multi_thread")]
async fn a_password_change_cut_short_is_healed_for_a_confirmed_user() {
    let (mut w, aws) = World::applied().await;
    let p = w.prefix.clone();
    let pool = aws.pool().await;
    let name = format!("{}_{p}-app-user", pool.id);
    let user = format!("{p}-app-user");
    let (before, _) = aws.sign_in(&pool).await;

    // What the killed run left: its value pending in the secret, and on the user.
    let cut_short = "Zz9!".repeat(20);
    aws.secrets
        .put_secret_value()
        .secret_id(&name)
        .client_request_token("iotstack-json-00000000000000000000000000000001")
        .secret_string(json!({ &user: &cut_short }).to_string())
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap();
    aws.cognito_idp
        .admin_set_user_password()
        .user_pool_id(&pool.id)
        .username(&user)
        .password(&cut_short)
        .permanent(true)
        .send()
        .await
        .unwrap();
    assert_eq!(aws.secret_value(&name).await[&user], json!(before));

    let plan = w.plan_has_changes();
    assert!(
        plan.stdout.contains("password_in_secret: false → true"),
        "{}",
        plan.stdout
    );
    // A user that has a password gets the new one before the secret calls it current.
    w.behind_proxy(50);
    w.apply();
    let apply = w.proxy_calls();
    let (_, set) = apply.first("cognito-idp:AdminSetUserPassword");
    let labels = apply.of("secretsmanager:UpdateSecretVersionStage");
    assert_eq!(labels.len(), 2, "{:?}", apply.requests);
    for (_, labelled, _) in labels {
        assert!(*labelled >= set, "{:?}", apply.requests);
    }
    w.plan_is_clean();
    let (after, _) = aws.sign_in(&pool).await;
    assert_ne!(after, before);
    assert_ne!(after, cut_short);
    w.is_clean_and_destroys_to_nothing().await;
}

/// A user the apply creates has never had a password, so the secret's labels move beside its
/// AdminSetUserPassword. When that call is refused, the secret already calls current a
/// password the user never got, but the user is left waiting for one (`FORCE_CHANGE_PASSWORD`):
/// the plan shows it unconfirmed, and the next apply sets a new pair that signs it in.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_users_password_refused_beside_its_labels_is_set_again() {
    use aws_sdk_cognitoidentityprovider::types::UserStatusType;
    let mut w = World::new();
    w.refusing(&["cognito-idp:AdminSetUserPassword"]);
    let out = w.iotstack("apply", &["--yes"]).code(1);
    out.stderr_has("AdminSetUserPassword: AccessDenied");
    w.direct();
    let aws = w.live().await;
    let pool = aws.pool().await;
    let user = format!("{}-app-user", w.prefix);
    let got = aws
        .cognito_idp
        .admin_get_user()
        .user_pool_id(&pool.id)
        .username(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.user_status(),
        Some(&UserStatusType::ForceChangePassword)
    );
    // The labels moved: the value of this run is current, and no longer pending.
    let name = format!("{}_{user}", pool.id);
    let listed = aws
        .secrets
        .list_secret_version_ids()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    let labelled = |stage: &str| -> Vec<String> {
        let with = listed.versions().iter();
        let with = with.filter(|v| v.version_stages().iter().any(|s| s == stage));
        with.filter_map(|v| v.version_id().map(str::to_string))
            .collect()
    };
    let current = labelled("AWSCURRENT");
    assert!(
        current.len() == 1 && current[0].starts_with("iotstack-json-"),
        "{:?}",
        listed.versions()
    );
    assert!(labelled("AWSPENDING").is_empty(), "{:?}", listed.versions());

    let plan = w.plan_has_changes();
    assert!(
        plan.stdout.contains("confirmed: false → true"),
        "{}",
        plan.stdout
    );
    w.apply();
    w.plan_is_clean();
    aws.signed_in().await;
}

/// A run killed after staging a secret's first value (PutSecretValue makes a secret's first
/// version current whatever labels it asks for) leaves that value current and pending, and the
/// user may never have got it: the labels are all there is to go by, so the next apply sets a
/// new pair, and afterwards the current value signs the user in.
#[tokio::test(flavor = "multi_thread")]
async fn a_first_value_staged_by_a_killed_run_is_not_taken_for_the_password() {
    let (w, aws) = World::applied().await;
    let p = w.prefix.clone();
    let pool = aws.pool().await;
    let name = format!("{}_{p}-app-user", pool.id);
    let user = format!("{p}-app-user");
    let (before, _) = aws.sign_in(&pool).await;

    // The state such a run leaves: a value of ours, current and pending at once, never set on
    // the (confirmed) user.
    let never_set = "Yy8!".repeat(20);
    aws.secrets
        .put_secret_value()
        .secret_id(&name)
        .client_request_token("iotstack-json-00000000000000000000000000000002")
        .secret_string(json!({ &user: &never_set }).to_string())
        .version_stages("AWSCURRENT")
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap();
    assert_eq!(aws.secret_value(&name).await[&user], json!(never_set));

    let plan = w.plan_has_changes();
    assert!(
        plan.stdout.contains("password_in_secret: false → true"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains(&never_set) && !plan.stdout.contains(&before));
    w.apply();
    w.plan_is_clean();
    let (after, _) = aws.sign_in(&pool).await;
    assert_ne!(after, before);
    assert_ne!(after, never_set);
    w.is_clean_and_destroys_to_nothing().await;
}
