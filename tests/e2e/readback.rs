//! A create tells what AWS answered about the new resource (its id, its ARN), and apply reads it
//! back by that, as the stack's record would give it: a cold apply lists the account's pools no
//! more than discovery must (to find a same-named pool of the stack when there is no record).

use crate::harness::World;

/// The calls that list the account (or a pool) to find a pool or a client by its name.
const LISTINGS: [&str; 3] = [
    "cognito-idp:ListUserPools",
    "cognito-identity:ListIdentityPools",
    "cognito-idp:ListUserPoolClients",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_cold_apply_reads_back_by_the_ids_its_creates_answered() {
    let mut w = World::new();
    w.behind_proxy(20);
    w.proxy_calls();
    w.plan_has_changes();
    let plan = w.proxy_calls();
    w.apply();
    let apply = w.proxy_calls();
    let count = |calls: &crate::harness::ProxyCalls, op: &str| {
        calls.operations.get(op).copied().unwrap_or(0)
    };
    for op in LISTINGS {
        let (planned, applied) = (count(&plan, op), count(&apply, op));
        assert!(
            applied <= planned,
            "{op}: {applied} in apply, {planned} in plan on the same empty account\nplan: {:?}\napply: {:?}",
            plan.operations,
            apply.operations
        );
    }
    // The creates were answered: the read-backs described what they made.
    for described in [
        "cognito-idp:DescribeUserPool",
        "cognito-identity:DescribeIdentityPool",
        "cognito-idp:DescribeUserPoolClient",
    ] {
        assert!(
            count(&apply, described) > 0,
            "{described} was not called: {:?}",
            apply.operations
        );
    }
    w.plan_is_clean();
}

/// A create does not wait for what only its tags name: the app secret (named after the pool's
/// id) is made before the identity pool its `IdentityPoolId` tag names, with the tags known
/// then, and tagged in full once the identity pool exists, before its read-back; the app user,
/// which needs the secret, goes on meanwhile. What is live is the whole stack as declared.
#[tokio::test(flavor = "multi_thread")]
async fn a_create_goes_before_what_only_its_tags_name() {
    let mut w = World::new();
    w.behind_proxy(20);
    w.apply();
    let apply = w.proxy_calls();
    let (secret_made, _) = apply.first("secretsmanager:CreateSecret");
    let (_, identity_pool_made) = apply.first("cognito-identity:CreateIdentityPool");
    let (tagged, _) = apply.first("secretsmanager:TagResource");
    assert!(
        secret_made < identity_pool_made,
        "CreateSecret at {secret_made} waited for the identity pool ({identity_pool_made})"
    );
    assert!(
        tagged >= identity_pool_made,
        "tagged at {tagged}, the identity pool made at {identity_pool_made}: {:?}",
        apply.requests
    );
    w.plan_is_clean();
    let aws = w.live().await;
    let pool = aws.pool().await;
    let name = format!("{}_{}-app-user", pool.id, w.prefix);
    let tags = aws.secret_tags(&name).await;
    assert_eq!(tags["IdentityPoolId"], pool.identity_pool_id);
    assert_eq!(tags["ClientId"], pool.client_id);
    assert_eq!(tags["UserPoolId"], pool.id);
    assert_eq!(tags["iotstack:stack"], w.prefix);
}

/// Reads that could only wait for nothing do not wait: in a cold apply the alert rule is read
/// beside its topic (the topic's ARN is known from its name once connected), and in a destroy
/// the app secret, named after the user pool's id, is read beside the roles (the record keeps
/// the pool's id), while the IoT endpoint, which no resource is found by, is not read at all.
#[tokio::test(flavor = "multi_thread")]
async fn reads_that_would_wait_for_nothing_start_together() {
    let mut w = World::new();
    w.behind_proxy(20);
    w.apply();
    let apply = w.proxy_calls();
    let (rule_read, _) = apply.first("iot:GetTopicRule");
    let (_, topic_read) = apply.first("sns:GetTopicAttributes");
    assert!(
        rule_read < topic_read,
        "the rule's read ({rule_read}) waited for the topic's ({topic_read})"
    );
    w.iotstack("destroy", &["--yes"]).ok();
    let destroy = w.proxy_calls();
    let (_, role_read) = destroy.first("iam:GetRole");
    let secret_reads = destroy.of("secretsmanager:DescribeSecret");
    let last = secret_reads.iter().map(|r| r.1).fold(0.0, f64::max);
    assert!(
        secret_reads.len() >= 2 && last < role_read,
        "a secret's read ({last}) waited for the roles' ({role_read}): {secret_reads:?}"
    );
    assert!(
        destroy.of("iot:DescribeEndpoint").is_empty(),
        "{:?}",
        destroy.operations
    );
}

/// destroy deactivates the device certificate beside the removal of its attachments, and
/// deletes the certificate and the thing at once: nothing of theirs is listed, and what is left
/// in the emulator afterwards is nothing.
#[tokio::test(flavor = "multi_thread")]
async fn destroy_deactivates_a_certificate_beside_its_detaches_and_lists_nothing() {
    let mut w = World::new();
    w.behind_proxy(20);
    w.apply();
    w.proxy_calls();
    w.iotstack("destroy", &["--yes"]).ok();
    let destroy = w.proxy_calls();
    let one = |op: &str| {
        let r = destroy.of(op);
        assert_eq!(r.len(), 1, "{op}: {:?}", destroy.operations);
        (r[0].1, r[0].2)
    };
    let (deactivated, _) = one("iot:UpdateCertificate");
    let (_, detached) = one("iot:DetachThingPrincipal");
    assert!(
        deactivated < detached,
        "the deactivation ({deactivated}) waited for the thing's detach ({detached})"
    );
    let (deleted, _) = one("iot:DeleteCertificate");
    assert!(deleted >= detached, "deleted before its detach ended");
    for op in ["iot:ListPrincipalThings", "iot:ListAttachedPolicies"] {
        assert!(destroy.of(op).is_empty(), "{op}: {:?}", destroy.operations);
    }
    let thing_deletes = destroy.of("iot:DeleteThing");
    // The device's thing, and the lock's.
    assert_eq!(thing_deletes.len(), 2, "{:?}", destroy.operations);
    let aws = w.live_direct().await;
    assert_eq!(aws.leftovers().await, Vec::<String>::new());
}

/// What needs no answer of the call beside it goes beside it: the app user's password is staged
/// in its secret (PutSecretValue, pending) beside AdminCreateUser, and the identities' IoT policy
/// is attached (their listing) beside the identity pool's roles, not after them. The password
/// set that way is the one the secret holds: the user signs in with it.
#[tokio::test(flavor = "multi_thread")]
async fn a_cold_apply_stages_the_password_beside_the_user_and_attaches_beside_the_roles() {
    let mut w = World::new();
    // A round trip long beside the emulator's own time to answer: a call made beside another
    // starts a whole latency before that other's dependents end.
    w.behind_proxy(100);
    w.apply();
    let apply = w.proxy_calls();
    let (user_made, user_answered) = apply.first("cognito-idp:AdminCreateUser");
    let (staged, _) = apply.first("secretsmanager:PutSecretValue");
    assert!(
        staged < user_answered,
        "the password was staged at {staged}, after AdminCreateUser ({user_made} to {user_answered})"
    );
    let (_, roles_set) = apply.first("cognito-identity:SetIdentityPoolRoles");
    let (listed, _) = apply.first("cognito-identity:ListIdentities");
    assert!(
        listed < roles_set,
        "the identities were listed at {listed}, after SetIdentityPoolRoles ended ({roles_set})"
    );
    w.plan_is_clean();
    let aws = w.live().await;
    aws.signed_in().await;
}

/// A user the apply creates gets its password beside the secret's labels, not before them:
/// AdminCreateUser answered it waiting for a password, and until it has one the next apply sets
/// a new pair whatever the labels say (`secret::a_new_users_password_refused_beside_its_labels_is_set_again`).
/// The password it got is the one the secret holds: the user signs in with it.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_users_password_is_set_beside_the_secrets_labels() {
    let mut w = World::new();
    w.behind_proxy(100);
    w.apply();
    let apply = w.proxy_calls();
    let (set, set_answered) = apply.first("cognito-idp:AdminSetUserPassword");
    let (labelled, _) = apply.first("secretsmanager:UpdateSecretVersionStage");
    assert!(
        labelled < set_answered,
        "the labels moved at {labelled}, after AdminSetUserPassword ({set} to {set_answered}): {:?}",
        apply.requests
    );
    w.plan_is_clean();
    let aws = w.live().await;
    aws.signed_in().await;
}

/// The user pool does not wait for its pre-sign-up trigger's role and function: it is created
/// at once, without the trigger and with self sign-up off, and UpdateUserPool sets both once
/// the function exists, from what CreateUserPool answered (no DescribeUserPool first: the
/// pool's read-back comes after, and reads the trigger set). The app user, whose
/// AdminCreateUser runs the trigger, waits for it.
#[tokio::test(flavor = "multi_thread")]
async fn a_pool_goes_before_its_trigger_and_its_user_after_it() {
    let mut w = World::new();
    w.behind_proxy(50);
    w.apply();
    let apply = w.proxy_calls();
    let (pool_made, _) = apply.first("cognito-idp:CreateUserPool");
    let (_, function_made) = apply.first("lambda:CreateFunction");
    assert!(
        pool_made < function_made,
        "CreateUserPool at {pool_made} waited for CreateFunction ({function_made}): {:?}",
        apply.requests
    );
    let updates = apply.of("cognito-idp:UpdateUserPool");
    assert_eq!(updates.len(), 1, "{:?}", apply.requests);
    let (updated, set) = (updates[0].1, updates[0].2);
    assert!(updated >= function_made, "{:?}", apply.requests);
    for (_, described, _) in apply.of("cognito-idp:DescribeUserPool") {
        assert!(
            *described >= set,
            "DescribeUserPool at {described}: {:?}",
            apply.requests
        );
    }
    let (user_made, _) = apply.first("cognito-idp:AdminCreateUser");
    assert!(user_made >= set, "{:?}", apply.requests);

    w.plan_is_clean();
    let aws = w.live().await;
    let pool = aws.user_pool(&aws.pool().await.id).await;
    let trigger = pool.lambda_config().and_then(|l| l.pre_sign_up());
    let function = format!(":function:{}-cognito-presignup-lambda", w.prefix);
    assert!(
        trigger.is_some_and(|t| t.ends_with(&function)),
        "{trigger:?}"
    );
    let admin_only = pool
        .admin_create_user_config()
        .unwrap()
        .allow_admin_create_user_only();
    assert!(!admin_only, "self sign-up is on");
    aws.signed_in().await;
}

/// When the trigger cannot be set, the pool is left with no self sign-up (nothing signs up
/// without the trigger the stack declares), its user is not created, and the run says why; the
/// next apply sets it and makes the user.
#[tokio::test(flavor = "multi_thread")]
async fn a_pool_whose_trigger_is_refused_takes_no_sign_up_and_no_user() {
    let mut w = World::new();
    w.refusing(&["cognito-idp:UpdateUserPool"]);
    let out = w.iotstack("apply", &["--yes"]).code(1);
    out.stderr_has("`app-user` was not created: it needs `user-pool`")
        .stderr_has("UpdateUserPool: AccessDenied");
    let aws = w.live_direct().await;
    let id = aws.pool().await.id;
    let pool = aws.user_pool(&id).await;
    assert!(
        pool.lambda_config().and_then(|l| l.pre_sign_up()).is_none(),
        "{:?}",
        pool.lambda_config()
    );
    let admin_only = pool
        .admin_create_user_config()
        .unwrap()
        .allow_admin_create_user_only();
    assert!(
        admin_only,
        "self sign-up is off while the trigger is not set"
    );
    let users = aws
        .cognito_idp
        .list_users()
        .user_pool_id(&id)
        .send()
        .await
        .unwrap();
    assert!(users.users().is_empty(), "{:?}", users.users());

    w.direct();
    w.apply();
    w.plan_is_clean();
    aws.signed_in().await;
}
