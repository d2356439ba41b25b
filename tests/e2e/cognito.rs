//! The Cognito half of the default stack: user pool, app client, pre-sign-up function, identity
//! pool and its roles, the identity IoT policy, the app user and its IP-restricted secret, and the
//! per-identity attachment.

use serde_json::{json, Value};

use crate::harness::{edited_stack, World};
use crate::live::{actions, list, statement_for, statement_granting, statements};

#[tokio::test(flavor = "multi_thread")]
async fn apply_provisions_the_cognito_half_and_the_app_user_signs_in() {
    let w = World::new();
    let p = w.prefix.clone();
    let applied = w.apply();
    let aws = w.live().await;
    let pool = aws.pool().await;

    // User pool: every setting of the spec.
    let up = aws.user_pool(&pool.id).await;
    let pw = up.policies().unwrap().password_policy().unwrap();
    assert_eq!(pw.minimum_length(), Some(8));
    assert!(
        pw.require_uppercase()
            && pw.require_lowercase()
            && pw.require_numbers()
            && pw.require_symbols()
    );
    assert_eq!(pw.temporary_password_validity_days(), 7);
    assert!(up
        .schema_attributes()
        .iter()
        .any(|a| a.name() == Some("email") && a.required() == Some(true)));
    assert_eq!(
        up.auto_verified_attributes()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        ["email"]
    );
    assert_eq!(up.mfa_configuration().map(|m| m.as_str()), Some("OFF"));
    assert!(!up
        .admin_create_user_config()
        .unwrap()
        .allow_admin_create_user_only());
    assert!(!up.username_configuration().unwrap().case_sensitive());
    let presignup = format!("{p}-cognito-presignup-lambda");
    let presignup_fn = aws.function(&presignup).await;
    assert_eq!(
        up.lambda_config().unwrap().pre_sign_up(),
        Some(presignup_fn.function_arn().unwrap())
    );
    assert_eq!(up.user_pool_tags().unwrap().get("iotstack:stack"), Some(&p));

    // App client: no secret, the two auth flows, refresh tokens for 200 days.
    let client = aws
        .cognito_idp
        .describe_user_pool_client()
        .user_pool_id(&pool.id)
        .client_id(&pool.client_id)
        .send()
        .await
        .unwrap();
    let client = client.user_pool_client().unwrap();
    assert_eq!(
        client.client_name(),
        Some(format!("{p}-app-client").as_str())
    );
    assert!(client.client_secret().is_none());
    let mut flows: Vec<_> = client
        .explicit_auth_flows()
        .iter()
        .map(|f| f.as_str())
        .collect();
    flows.sort();
    assert_eq!(
        flows,
        ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"]
    );
    assert_eq!(client.refresh_token_validity(), 200);

    // Pre-sign-up function: allow-list from --email's domain; invocable by Cognito for this pool only.
    assert_eq!(
        aws.function_env(&presignup)
            .await
            .get("ALLOWED_DOMAINS")
            .map(String::as_str),
        Some("example.com")
    );
    assert!(presignup_fn
        .runtime()
        .unwrap()
        .as_str()
        .starts_with("python3."));
    let perm = aws
        .lambda
        .get_policy()
        .function_name(&presignup)
        .send()
        .await
        .unwrap();
    let perm: Value = serde_json::from_str(perm.policy().unwrap()).unwrap();
    let st = &statements(&perm)[0];
    assert_eq!(
        st["Principal"]["Service"],
        json!("cognito-idp.amazonaws.com")
    );
    assert_eq!(
        st["Condition"]["ArnLike"]["AWS:SourceArn"],
        json!(up.arn().unwrap())
    );
    let presignup_role = format!("{p}-LambdaCognitoPresignupExecutionRole");
    assert_eq!(
        aws.trust(&presignup_role).await["Statement"][0]["Principal"]["Service"],
        json!("lambda.amazonaws.com")
    );
    for s in statements(&aws.inline_policy(&presignup_role, "own-logs").await) {
        for r in list(&s["Resource"]) {
            assert!(
                r.contains(&format!("/aws/lambda/{p}-cognito-presignup-lambda")),
                "logs for its own group only: {r}"
            );
        }
    }

    // Identity pool: the user pool as provider, guests allowed, both roles set.
    let ip = aws.identity_pool(&pool.identity_pool_id).await;
    assert!(ip.allow_unauthenticated_identities());
    let prov = &ip.cognito_identity_providers()[0];
    assert_eq!(
        prov.provider_name(),
        Some(format!("cognito-idp.us-east-1.amazonaws.com/{}", pool.id).as_str())
    );
    assert_eq!(prov.client_id(), Some(pool.client_id.as_str()));
    let roles = aws
        .cognito_identity
        .get_identity_pool_roles()
        .identity_pool_id(&pool.identity_pool_id)
        .send()
        .await
        .unwrap();
    let roles = roles.roles().unwrap();
    assert_eq!(
        roles["authenticated"],
        format!("arn:aws:iam::123456789012:role/{p}-IdentityPoolAuthRole")
    );
    assert_eq!(
        roles["unauthenticated"],
        format!("arn:aws:iam::123456789012:role/{p}-IdentityPoolUnAuthRole")
    );

    // Roles: trust bound to this pool and amr; IoT grants scoped to the identity, with Receive,
    // and no iot:AttachPolicy; guests may read the secret only.
    for (role, amr) in [
        ("IdentityPoolAuthRole", "authenticated"),
        ("IdentityPoolUnAuthRole", "unauthenticated"),
    ] {
        let trust = aws.trust(&format!("{p}-{role}")).await;
        let st = &trust["Statement"][0];
        assert_eq!(
            st["Principal"]["Federated"],
            json!("cognito-identity.amazonaws.com")
        );
        assert_eq!(list(&st["Action"]), ["sts:AssumeRoleWithWebIdentity"]);
        assert_eq!(
            list(&st["Condition"]["StringEquals"]["cognito-identity.amazonaws.com:aud"]),
            vec![pool.identity_pool_id.clone()]
        );
        assert_eq!(
            list(&st["Condition"]["ForAnyValue:StringLike"]["cognito-identity.amazonaws.com:amr"]),
            [amr.to_string()]
        );
    }
    let auth = aws
        .inline_policy(&format!("{p}-IdentityPoolAuthRole"), "iot-and-secret")
        .await;
    assert_eq!(
        actions(&auth),
        [
            "iot:Connect",
            "iot:Publish",
            "iot:Receive",
            "iot:Subscribe",
            "lambda:InvokeFunction",
            "lambda:InvokeFunctionUrl",
            "secretsmanager:GetSecretValue"
        ]
    );
    assert_eq!(
        list(&statement_for(&auth, &["iot:Connect"])["Resource"]),
        [
            "arn:aws:iot:us-east-1:123456789012:client/${cognito-identity.amazonaws.com:sub}"
                .to_string()
        ]
    );
    let unauth = aws
        .inline_policy(&format!("{p}-IdentityPoolUnAuthRole"), "secret")
        .await;
    assert_eq!(actions(&unauth), ["secretsmanager:GetSecretValue"]);

    // The IoT policy for identities.
    let iot_policy = format!("{p}-cognito-iot-policy");
    let doc = aws.iot_policy(&iot_policy).await;
    assert_eq!(
        list(&statement_for(&doc, &["iot:Subscribe"])["Resource"]),
        [format!("arn:aws:iot:us-east-1:123456789012:topicfilter/{}/${{cognito-identity.amazonaws.com:sub}}/*", pool.identity_pool_id)]
    );

    // The attach function behind an AWS_IAM function URL; only the auth role may invoke it.
    let attach = format!("{p}-attach-iot-policy");
    let url = aws
        .lambda
        .get_function_url_config()
        .function_name(&attach)
        .send()
        .await
        .unwrap();
    assert_eq!(url.auth_type().as_str(), "AWS_IAM");
    let vars = aws.function_env(&attach).await;
    assert_eq!(vars.get("IDENTITY_POOL_ID"), Some(&pool.identity_pool_id));
    assert_eq!(vars.get("IOT_POLICY_NAME"), Some(&iot_policy));
    // The function learns its caller from the caller's ID token (GetId), for this pool's provider.
    assert_eq!(
        vars.get("USER_POOL_PROVIDER"),
        Some(&format!("cognito-idp.us-east-1.amazonaws.com/{}", pool.id))
    );
    assert_eq!(
        list(&statement_granting(&auth, "lambda:InvokeFunctionUrl")["Resource"]),
        [aws.function(&attach)
            .await
            .function_arn()
            .unwrap()
            .to_string()]
    );

    // The secret: named after the pool, tagged, readable only from --ip.
    let secret_name = format!("{}_{p}-app-user", pool.id);
    let tags = aws.secret_tags(&secret_name).await;
    assert_eq!(tags["ClientId"], pool.client_id);
    assert_eq!(tags["IdentityPoolId"], pool.identity_pool_id);
    assert_eq!(tags["UserPoolId"], pool.id);
    assert_eq!(tags["EmailAddress"], w.email());
    assert_eq!(tags["IoTPolicy"], iot_policy);
    let endpoint = aws
        .iot
        .describe_endpoint()
        .endpoint_type("iot:Data-ATS")
        .send()
        .await
        .unwrap();
    assert_eq!(tags["IoTEndpoint"], endpoint.endpoint_address().unwrap());
    assert_eq!(tags["iotstack:stack"], p);
    let rp = aws
        .secret_policy(aws.secret(&secret_name).await.arn().unwrap())
        .await
        .expect("a resource policy");
    let deny = &statements(&rp)[0];
    assert_eq!(deny["Effect"], json!("Deny"));
    assert_eq!(list(&deny["Action"]), ["secretsmanager:GetSecretValue"]);
    assert_eq!(
        deny["Condition"]["NotIpAddress"]["aws:SourceIp"],
        json!("203.0.113.7/32")
    );

    // The app user signs in with the password from the secret; GetId and credentials work.
    let user = aws
        .cognito_idp
        .admin_get_user()
        .user_pool_id(&pool.id)
        .username(format!("{p}-app-user"))
        .send()
        .await
        .unwrap();
    assert_eq!(user.user_status().unwrap().as_str(), "CONFIRMED");
    let email = user
        .user_attributes()
        .iter()
        .find(|a| a.name() == "email")
        .and_then(|a| a.value());
    assert_eq!(email, Some(w.email().as_str()));
    let (password, identity) = aws.sign_in(&pool).await;
    assert!(password.len() >= 12);
    assert!(
        password.chars().any(|c| c.is_ascii_uppercase())
            && password.chars().any(|c| c.is_ascii_lowercase())
    );
    assert!(
        password.chars().any(|c| c.is_ascii_digit())
            && password.chars().any(|c| !c.is_ascii_alphanumeric())
    );

    // The new identity lacks the IoT policy until the next apply attaches it.
    let plan = w.plan_has_changes();
    assert!(
        plan.stdout.contains("~ update   identity-attachments"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(&identity),
        "the plan names the identity: {}",
        plan.stdout
    );
    let second = w.apply();
    assert_eq!(aws.policy_targets(&iot_policy).await, [identity.as_str()]);
    let clean = w.plan_is_clean();
    let output = w.iotstack("output", &["--output", "json"]).ok();
    let exports: Value =
        serde_json::from_str(&w.iotstack("output", &["--aws-exports"]).ok().stdout).unwrap();
    assert_eq!(exports["aws_user_pools_id"], json!(pool.id));
    assert_eq!(
        exports["aws_user_pools_web_client_id"],
        json!(pool.client_id)
    );
    assert_eq!(
        exports["aws_cognito_identity_pool_id"],
        json!(pool.identity_pool_id)
    );
    assert_eq!(
        exports["aws_pubsub_endpoint"],
        json!(format!(
            "wss://{}/mqtt",
            endpoint.endpoint_address().unwrap()
        ))
    );
    assert_eq!(
        exports["aws_iot_attach_policy_url"],
        json!(url.function_url())
    );
    assert_eq!(exports["aws_iot_policy_name"], json!(iot_policy));
    for run in [&applied, &plan, &second, &clean, &output] {
        run.hides(&password, "the password");
    }

    let destroyed = w.destroy_leaves_nothing().await;
    assert!(
        destroyed.stdout.contains("1 user(s)"),
        "destroy says users go with the pool: {}",
        destroyed.stdout
    );
    destroyed.hides(&password, "the password");
    // The secret was deleted without a recovery window: its name is free at once.
    assert!(aws.secrets().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn cognito_drift_is_shown_and_repaired() {
    let (w, aws) = World::applied().await;
    let p = w.prefix.clone();
    let (pool, identity) = aws.signed_in().await;
    w.apply();
    let auth_role = format!("{p}-IdentityPoolAuthRole");
    let iot_policy = format!("{p}-cognito-iot-policy");
    let secret_name = format!("{}_{p}-app-user", pool.id);

    // Behind iotstack's back: guests disabled, Receive dropped from the auth role, the identity
    // detached from the IoT policy, the refresh token validity changed, the secret's address
    // restriction loosened.
    aws.cognito_identity
        .update_identity_pool()
        .identity_pool_id(&pool.identity_pool_id)
        .identity_pool_name(format!("{p}-edge-identity-pool"))
        .allow_unauthenticated_identities(false)
        .cognito_identity_providers(
            aws_sdk_cognitoidentity::types::CognitoIdentityProvider::builder()
                .provider_name(format!("cognito-idp.us-east-1.amazonaws.com/{}", pool.id))
                .client_id(&pool.client_id)
                .build(),
        )
        .identity_pool_tags("iotstack:stack", &p)
        .send()
        .await
        .unwrap();
    let mut doc = aws.inline_policy(&auth_role, "iot-and-secret").await;
    for s in doc["Statement"].as_array_mut().unwrap() {
        if list(&s["Action"]).contains(&"iot:Receive".to_string()) {
            s["Action"] = json!("iot:Publish");
        }
    }
    aws.put_inline_policy(&auth_role, "iot-and-secret", &doc)
        .await;
    aws.detach_policy(&iot_policy, &identity).await;
    aws.cognito_idp
        .update_user_pool_client()
        .user_pool_id(&pool.id)
        .client_id(&pool.client_id)
        .client_name(format!("{p}-app-client"))
        .refresh_token_validity(30)
        .token_validity_units(
            aws_sdk_cognitoidentityprovider::types::TokenValidityUnitsType::builder()
                .refresh_token(aws_sdk_cognitoidentityprovider::types::TimeUnitsType::Days)
                .build(),
        )
        .explicit_auth_flows(
            aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType::AllowUserPasswordAuth,
        )
        .explicit_auth_flows(
            aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType::AllowRefreshTokenAuth,
        )
        .send()
        .await
        .unwrap();
    aws.secrets
        .delete_resource_policy()
        .secret_id(&secret_name)
        .send()
        .await
        .unwrap();

    let plan = w.plan_has_changes();
    let out = &plan.stdout;
    for (id, prop) in [
        ("identity-pool", "allow_unauthenticated: false → true"),
        ("auth-role", "inline_policies"),
        (
            "identity-attachments",
            "all_identities_attached: false → true",
        ),
        ("app-client", "refresh_token_validity_days: 30 → 200"),
        ("app-secret", "resource_policy"),
    ] {
        assert!(
            out.contains(&format!("~ update   {id}")),
            "{id} drift is shown: {out}"
        );
        assert!(out.contains(prop), "{prop} is shown: {out}");
    }
    w.apply();
    w.plan_is_clean();

    assert!(aws
        .identity_pool(&pool.identity_pool_id)
        .await
        .allow_unauthenticated_identities());
    assert!(
        actions(&aws.inline_policy(&auth_role, "iot-and-secret").await)
            .contains(&"iot:Receive".to_string())
    );
    assert_eq!(aws.policy_targets(&iot_policy).await, [identity]);
    aws.secret_policy(&secret_name).await.expect("restored");

    w.destroy_leaves_nothing().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn replacing_a_user_pool_that_has_users_needs_explicit_consent() {
    let (mut w, aws) = World::applied().await;
    let before = aws.pool().await;
    w.stack = edited_stack(&w, |t| {
        t.replace(
            "case_sensitive_usernames: false",
            "case_sensitive_usernames: true",
        )
    });

    let plan = w.iotstack("plan", &[]).ok();
    assert!(
        plan.stdout.contains("-/+ replace  user-pool"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("replaced because case_sensitive_usernames cannot change in place"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("1 user(s)"), "{}", plan.stdout);

    let refused = w.iotstack("apply", &["--yes"]).code(1);
    assert!(
        refused
            .stderr
            .contains("refusing to replace resources that hold data"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--allow-data-loss"));
    assert_eq!(aws.pool().await.id, before.id, "nothing was changed");

    w.iotstack("apply", &["--yes", "--allow-data-loss"]).ok();
    let after = aws.pool().await;
    assert_ne!(after.id, before.id);
    assert!(aws
        .user_pool(&after.id)
        .await
        .username_configuration()
        .unwrap()
        .case_sensitive());
    // Everything that hung off the old pool follows the new one, and the app user signs in.
    aws.sign_in(&after).await;
    w.apply();
    w.plan_is_clean();
    w.destroy_leaves_nothing().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_name_scheduled_for_deletion_is_restored_and_reused() {
    let (w, aws) = World::applied().await;
    let p = w.prefix.clone();
    let pool = aws.pool().await;
    let name = format!("{}_{p}-app-user", pool.id);
    // Deleted with a recovery window, as the console does by default.
    aws.secrets
        .delete_secret()
        .secret_id(&name)
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    let plan = w.plan_has_changes();
    assert!(
        plan.stdout.contains("+ create   app-secret"),
        "{}",
        plan.stdout
    );
    w.apply();
    let restored = aws
        .secrets()
        .await
        .into_iter()
        .find(|s| s.name() == Some(name.as_str()))
        .unwrap();
    assert!(
        restored.deleted_date().is_none(),
        "restored, not scheduled for deletion any more"
    );
    w.plan_is_clean();
    aws.sign_in(&pool).await;
    w.destroy_leaves_nothing().await;
}
