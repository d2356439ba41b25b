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
    let roles = aws.identity_pool_roles(&pool.identity_pool_id).await;
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
    let url = aws.function_url(&attach).await;
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
    let endpoint = aws.data_endpoint().await;
    assert_eq!(tags["IoTEndpoint"], endpoint);
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
    plan.stdout_has("~ update   identity-attachments");
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
        json!(format!("wss://{endpoint}/mqtt"))
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
    let (w, aws, pool, identity) = World::signed_in().await;
    let p = w.prefix.clone();
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
    plan.stdout_has("-/+ replace  user-pool");
    plan.stdout_has("replaced because case_sensitive_usernames cannot change in place");
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
    w.is_clean_and_destroys_to_nothing().await;
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
    plan.stdout_has("+ create   app-secret");
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

/// UpdateUserPool, UpdateUserPoolClient and UpdateIdentityPool reset every setting they are not
/// sent (the strict emulator does as AWS documents): repairing a drifted property must keep what
/// the stack does not model.
#[tokio::test(flavor = "multi_thread")]
async fn a_repair_keeps_the_cognito_settings_the_stack_does_not_model() {
    use aws_sdk_cognitoidentityprovider::types::{
        DeletionProtectionType, TimeUnitsType, TokenValidityUnitsType,
    };

    let (w, aws) = World::applied().await;
    let p = w.prefix.clone();
    let pool = aws.pool().await;
    let idp = &aws.cognito_idp;
    let described_client = || async {
        let call = idp.describe_user_pool_client().user_pool_id(&pool.id);
        let out = call.client_id(&pool.client_id).send().await.unwrap();
        out.user_pool_client.expect("the app client")
    };

    // Behind iotstack's back, as a console user would (every current setting sent back, so
    // only these change): settings the stack does not model, and one modelled property drifted
    // on each resource.
    let up = aws.user_pool(&pool.id).await;
    let mut policies = up.policies().cloned().unwrap();
    policies.password_policy.as_mut().unwrap().minimum_length = Some(6);
    idp.update_user_pool()
        .user_pool_id(&pool.id)
        .policies(policies)
        .set_lambda_config(up.lambda_config().cloned())
        .set_auto_verified_attributes(up.auto_verified_attributes.clone())
        .set_admin_create_user_config(up.admin_create_user_config().cloned())
        .set_mfa_configuration(up.mfa_configuration().cloned())
        .set_user_pool_tags(up.user_pool_tags().cloned())
        .deletion_protection(DeletionProtectionType::Active)
        .email_verification_subject("Your device code")
        .email_verification_message("Your device code is {####}")
        .send()
        .await
        .expect("UpdateUserPool");
    let client = described_client().await;
    idp.update_user_pool_client()
        .user_pool_id(&pool.id)
        .client_id(&pool.client_id)
        .set_client_name(client.client_name.clone())
        .set_explicit_auth_flows(client.explicit_auth_flows.clone())
        .refresh_token_validity(30)
        .access_token_validity(5)
        .token_validity_units(
            TokenValidityUnitsType::builder()
                .refresh_token(TimeUnitsType::Days)
                .access_token(TimeUnitsType::Minutes)
                .build(),
        )
        .callback_urls("https://app.example.com/callback")
        .logout_urls("https://app.example.com/signed-out")
        .send()
        .await
        .expect("UpdateUserPoolClient");
    let ip = aws.identity_pool(&pool.identity_pool_id).await;
    aws.cognito_identity
        .update_identity_pool()
        .identity_pool_id(&pool.identity_pool_id)
        .identity_pool_name(ip.identity_pool_name())
        .allow_unauthenticated_identities(false)
        .set_allow_classic_flow(ip.allow_classic_flow())
        .set_cognito_identity_providers(ip.cognito_identity_providers.clone())
        .set_identity_pool_tags(ip.identity_pool_tags.clone())
        .developer_provider_name("login.devices.example")
        .supported_login_providers("accounts.google.com", "123.apps.googleusercontent.com")
        .send()
        .await
        .expect("UpdateIdentityPool");

    let plan = w.plan_has_changes();
    for (id, prop) in [
        ("user-pool", "password_min_length: 6 → 8"),
        ("app-client", "refresh_token_validity_days: 30 → 200"),
        ("identity-pool", "allow_unauthenticated: false → true"),
    ] {
        assert!(
            plan.stdout.contains(&format!("~ update   {id}")) && plan.stdout.contains(prop),
            "{id} drift is shown: {}",
            plan.stdout
        );
    }
    w.apply();
    w.plan_is_clean();

    // The drift is repaired...
    let up = aws.user_pool(&pool.id).await;
    let pw = up.policies().unwrap().password_policy().unwrap();
    assert_eq!(pw.minimum_length(), Some(8));
    let client = described_client().await;
    assert_eq!(client.refresh_token_validity(), 200);
    let ip = aws.identity_pool(&pool.identity_pool_id).await;
    assert!(ip.allow_unauthenticated_identities());

    // ...and what the stack does not model survived it.
    assert_eq!(
        up.deletion_protection(),
        Some(&DeletionProtectionType::Active)
    );
    assert_eq!(up.email_verification_subject(), Some("Your device code"));
    assert_eq!(
        up.email_verification_message(),
        Some("Your device code is {####}")
    );
    assert!(up
        .lambda_config()
        .and_then(|l| l.pre_sign_up())
        .is_some_and(|a| a.ends_with(&format!(":{p}-cognito-presignup-lambda"))));
    assert_eq!(client.callback_urls(), ["https://app.example.com/callback"]);
    assert_eq!(client.logout_urls(), ["https://app.example.com/signed-out"]);
    assert_eq!(client.access_token_validity(), Some(5));
    assert_eq!(
        client.token_validity_units().and_then(|u| u.access_token()),
        Some(&TimeUnitsType::Minutes)
    );
    assert_eq!(client.explicit_auth_flows().len(), 2);
    assert_eq!(ip.developer_provider_name(), Some("login.devices.example"));
    assert_eq!(
        ip.supported_login_providers()
            .and_then(|m| m.get("accounts.google.com"))
            .map(String::as_str),
        Some("123.apps.googleusercontent.com")
    );
    assert_eq!(ip.allow_classic_flow(), Some(true));
    assert_eq!(ip.cognito_identity_providers().len(), 1);
}

/// The seed's devices read the app secret as guests through the basic (classic) flow: GetId,
/// GetOpenIdToken, then STS AssumeRoleWithWebIdentity with the unauthenticated role. The
/// enhanced flow would not do: AWS scopes its guest credentials down with a session policy that
/// has no Secrets Manager action (Amazon Cognito developer guide, "IAM roles").
#[tokio::test(flavor = "multi_thread")]
async fn a_guest_reads_the_app_secret_through_the_classic_flow() {
    let (mut w, aws) = World::applied().await;
    let p = w.prefix.clone();
    let pool = aws.pool().await;
    let ci = &aws.cognito_identity;
    assert_eq!(
        aws.identity_pool(&pool.identity_pool_id)
            .await
            .allow_classic_flow(),
        Some(true)
    );
    let secret_id = format!("{}_{p}-app-user", pool.id);
    let secret = aws
        .secrets
        .get_secret_value()
        .secret_id(&secret_id)
        .send()
        .await
        .unwrap();
    let guest_role = aws.role(&format!("{p}-IdentityPoolUnAuthRole")).await;
    let guest = || async {
        let got = ci.get_id().identity_pool_id(&pool.identity_pool_id);
        let got = got.send().await.expect("GetId without logins: a guest");
        got.identity_id().unwrap().to_string()
    };
    // A secrets client signed with a guest's credentials.
    let secrets_as = |key: &str, secret: &str, token: &str| {
        let creds = aws_sdk_secretsmanager::config::Credentials::new(
            key,
            secret,
            Some(token.to_string()),
            None,
            "guest",
        );
        let conf = aws
            .secrets
            .config()
            .to_builder()
            .credentials_provider(creds);
        aws_sdk_secretsmanager::Client::from_conf(conf.build())
    };

    // Basic (classic) flow.
    let id = guest().await;
    let token = ci.get_open_id_token().identity_id(&id).send().await;
    let token = token.expect("GetOpenIdToken: the pool allows the classic flow");
    let assumed = aws
        .sts
        .assume_role_with_web_identity()
        .role_arn(guest_role.arn())
        .role_session_name("device")
        .web_identity_token(token.token().unwrap())
        .send()
        .await
        .expect("AssumeRoleWithWebIdentity with the unauthenticated role");
    let c = assumed.credentials().unwrap();
    let sm = secrets_as(c.access_key_id(), c.secret_access_key(), c.session_token());
    let read = sm.get_secret_value().secret_id(&secret_id).send().await;
    let read = read.expect("a guest of the classic flow reads the app secret");
    assert_eq!(read.secret_string(), secret.secret_string());

    // Enhanced flow: the guest session policy leaves Secrets Manager out.
    let id = guest().await;
    let creds = ci.get_credentials_for_identity().identity_id(&id).send();
    let creds = creds.await.unwrap();
    let c = creds.credentials().unwrap();
    let sm = secrets_as(
        c.access_key_id().unwrap(),
        c.secret_key().unwrap(),
        c.session_token().unwrap(),
    );
    let denied = sm.get_secret_value().secret_id(&secret_id).send().await;
    let denied = denied.expect_err("enhanced-flow guests cannot read secrets");
    assert_eq!(
        denied.as_service_error().and_then(|e| e.meta().code()),
        Some("AccessDeniedException")
    );

    // Without allow_classic_flow the pool refuses the classic flow, as AWS does.
    w.stack = edited_stack(&w, |t| {
        t.replace("allow_classic_flow: true", "allow_classic_flow: false")
    });
    let plan = w.plan_has_changes();
    assert!(
        plan.stdout.contains("allow_classic_flow: true → false"),
        "{}",
        plan.stdout
    );
    w.apply();
    let id = guest().await;
    let refused = ci.get_open_id_token().identity_id(&id).send().await;
    let refused = refused.expect_err("no classic flow");
    assert_eq!(
        refused.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidParameterException")
    );
    assert!(aws
        .identity_pool(&pool.identity_pool_id)
        .await
        .allow_unauthenticated_identities());
}
