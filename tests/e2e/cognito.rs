//! The Cognito half of the default stack: user pool, app client, pre-sign-up function, identity
//! pool and its roles, the identity IoT policy, the app user and its IP-restricted secret, and the
//! per-identity attachment.

use std::collections::HashMap;

use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use serde_json::{json, Value};

use crate::harness::{decode, edited_stack, leftovers, list, statements, Run, World};

fn actions(doc: &Value) -> Vec<String> {
    let mut a: Vec<String> = statements(doc)
        .iter()
        .flat_map(|s| list(&s["Action"]))
        .collect();
    a.sort();
    a
}

pub struct Pool {
    pub id: String,
    pub client_id: String,
    pub identity_pool_id: String,
}

pub async fn pool_ids(w: &World) -> Pool {
    let c = w.clients().await;
    let pools = c
        .cognito_idp
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .unwrap();
    let id = pools
        .user_pools()
        .iter()
        .find(|p| p.name() == Some(format!("{}-user-pool", w.prefix).as_str()))
        .and_then(|p| p.id())
        .expect("the user pool")
        .to_string();
    let clients = c
        .cognito_idp
        .list_user_pool_clients()
        .user_pool_id(&id)
        .send()
        .await
        .unwrap();
    let client_id = clients.user_pool_clients()[0]
        .client_id()
        .unwrap()
        .to_string();
    let ipools = c
        .cognito_identity
        .list_identity_pools()
        .max_results(60)
        .send()
        .await
        .unwrap();
    let identity_pool_id = ipools
        .identity_pools()
        .iter()
        .find(|p| {
            p.identity_pool_name() == Some(format!("{}-edge-identity-pool", w.prefix).as_str())
        })
        .and_then(|p| p.identity_pool_id())
        .expect("the identity pool")
        .to_string();
    Pool {
        id,
        client_id,
        identity_pool_id,
    }
}

/// Signs the app user in with the password from the secret; returns (password, identity id).
pub async fn sign_in(w: &World, pool: &Pool) -> (String, String) {
    let c = w.clients().await;
    let secret = c
        .secrets
        .get_secret_value()
        .secret_id(format!("{}_{}-app-user", pool.id, w.prefix))
        .send()
        .await
        .unwrap();
    let password = secret.secret_string().unwrap().to_string();
    let id = sign_in_as(w, pool, &format!("{}-app-user", w.prefix), &password).await;
    (password, id)
}

/// Signs `username` in with USER_PASSWORD_AUTH through the stack's app client, gets its
/// identity id and credentials from the identity pool; returns the identity id.
pub async fn sign_in_as(w: &World, pool: &Pool, username: &str, password: &str) -> String {
    let c = w.clients().await;
    let auth = c
        .cognito_idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&pool.client_id)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .expect("USER_PASSWORD_AUTH with the user's password");
    let token = auth
        .authentication_result()
        .unwrap()
        .id_token()
        .unwrap()
        .to_string();
    let provider = format!("cognito-idp.us-east-1.amazonaws.com/{}", pool.id);
    let id = c
        .cognito_identity
        .get_id()
        .identity_pool_id(&pool.identity_pool_id)
        .logins(&provider, &token)
        .send()
        .await
        .unwrap()
        .identity_id()
        .unwrap()
        .to_string();
    let creds = c
        .cognito_identity
        .get_credentials_for_identity()
        .identity_id(&id)
        .logins(&provider, &token)
        .send()
        .await
        .unwrap();
    assert!(creds
        .credentials()
        .and_then(|c| c.access_key_id())
        .is_some());
    id
}

fn assert_no_secret(runs: &[&Run], password: &str) {
    for r in runs {
        assert!(
            !r.all().contains(password),
            "the password must never be printed:\n{}",
            r.all()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_provisions_the_cognito_half_and_the_app_user_signs_in() {
    let w = World::new();
    let p = w.prefix.clone();
    let applied = w.iotstack("apply", &["--yes"]).ok();
    let c = w.clients().await;
    let pool = pool_ids(&w).await;

    // User pool: every setting of the spec.
    let up = c
        .cognito_idp
        .describe_user_pool()
        .user_pool_id(&pool.id)
        .send()
        .await
        .unwrap();
    let up = up.user_pool().unwrap();
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
    let presignup_arn = c
        .lambda
        .get_function()
        .function_name(format!("{p}-cognito-presignup-lambda"))
        .send()
        .await
        .unwrap()
        .configuration()
        .unwrap()
        .function_arn()
        .unwrap()
        .to_string();
    assert_eq!(
        up.lambda_config().unwrap().pre_sign_up(),
        Some(presignup_arn.as_str())
    );
    assert_eq!(up.user_pool_tags().unwrap().get("iotstack:stack"), Some(&p));

    // App client: no secret, the two auth flows, refresh tokens for 200 days.
    let client = c
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
    let f = c
        .lambda
        .get_function()
        .function_name(format!("{p}-cognito-presignup-lambda"))
        .send()
        .await
        .unwrap();
    let cfg = f.configuration().unwrap();
    assert_eq!(
        cfg.environment()
            .unwrap()
            .variables()
            .unwrap()
            .get("ALLOWED_DOMAINS")
            .map(String::as_str),
        Some("example.com")
    );
    assert!(cfg.runtime().unwrap().as_str().starts_with("python3."));
    let perm = c
        .lambda
        .get_policy()
        .function_name(format!("{p}-cognito-presignup-lambda"))
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
    let role = c
        .iam
        .get_role()
        .role_name(format!("{p}-LambdaCognitoPresignupExecutionRole"))
        .send()
        .await
        .unwrap();
    let trust = decode(role.role().unwrap().assume_role_policy_document().unwrap());
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        json!("lambda.amazonaws.com")
    );
    let logs = c
        .iam
        .get_role_policy()
        .role_name(format!("{p}-LambdaCognitoPresignupExecutionRole"))
        .policy_name("own-logs")
        .send()
        .await
        .unwrap();
    for s in statements(&decode(logs.policy_document())) {
        for r in list(&s["Resource"]) {
            assert!(
                r.contains(&format!("/aws/lambda/{p}-cognito-presignup-lambda")),
                "logs for its own group only: {r}"
            );
        }
    }

    // Identity pool: the user pool as provider, guests allowed, both roles set.
    let ip = c
        .cognito_identity
        .describe_identity_pool()
        .identity_pool_id(&pool.identity_pool_id)
        .send()
        .await
        .unwrap();
    assert!(ip.allow_unauthenticated_identities());
    let prov = &ip.cognito_identity_providers()[0];
    assert_eq!(
        prov.provider_name(),
        Some(format!("cognito-idp.us-east-1.amazonaws.com/{}", pool.id).as_str())
    );
    assert_eq!(prov.client_id(), Some(pool.client_id.as_str()));
    let roles = c
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
        let r = c
            .iam
            .get_role()
            .role_name(format!("{p}-{role}"))
            .send()
            .await
            .unwrap();
        let trust = decode(r.role().unwrap().assume_role_policy_document().unwrap());
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
    let auth = c
        .iam
        .get_role_policy()
        .role_name(format!("{p}-IdentityPoolAuthRole"))
        .policy_name("iot-and-secret")
        .send()
        .await
        .unwrap();
    let auth = decode(auth.policy_document());
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
    let connect = statements(&auth)
        .into_iter()
        .find(|s| list(&s["Action"]) == ["iot:Connect"])
        .unwrap();
    assert_eq!(
        list(&connect["Resource"]),
        [
            "arn:aws:iot:us-east-1:123456789012:client/${cognito-identity.amazonaws.com:sub}"
                .to_string()
        ]
    );
    let unauth = c
        .iam
        .get_role_policy()
        .role_name(format!("{p}-IdentityPoolUnAuthRole"))
        .policy_name("secret")
        .send()
        .await
        .unwrap();
    assert_eq!(
        actions(&decode(unauth.policy_document())),
        ["secretsmanager:GetSecretValue"]
    );

    // The IoT policy for identities.
    let pol = c
        .iot
        .get_policy()
        .policy_name(format!("{p}-cognito-iot-policy"))
        .send()
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(pol.policy_document().unwrap()).unwrap();
    let sub = statements(&doc)
        .into_iter()
        .find(|s| list(&s["Action"]) == ["iot:Subscribe"])
        .unwrap();
    assert_eq!(
        list(&sub["Resource"]),
        [format!("arn:aws:iot:us-east-1:123456789012:topicfilter/{}/${{cognito-identity.amazonaws.com:sub}}/*", pool.identity_pool_id)]
    );

    // The attach function behind an AWS_IAM function URL; only the auth role may invoke it.
    let url = c
        .lambda
        .get_function_url_config()
        .function_name(format!("{p}-attach-iot-policy"))
        .send()
        .await
        .unwrap();
    assert_eq!(url.auth_type().as_str(), "AWS_IAM");
    let af = c
        .lambda
        .get_function()
        .function_name(format!("{p}-attach-iot-policy"))
        .send()
        .await
        .unwrap();
    let vars = af
        .configuration()
        .unwrap()
        .environment()
        .unwrap()
        .variables()
        .unwrap()
        .clone();
    assert_eq!(vars.get("IDENTITY_POOL_ID"), Some(&pool.identity_pool_id));
    assert_eq!(
        vars.get("IOT_POLICY_NAME"),
        Some(&format!("{p}-cognito-iot-policy"))
    );
    let invoke = statements(&auth)
        .into_iter()
        .find(|s| list(&s["Action"]).contains(&"lambda:InvokeFunctionUrl".to_string()))
        .unwrap();
    assert_eq!(
        list(&invoke["Resource"]),
        [af.configuration()
            .unwrap()
            .function_arn()
            .unwrap()
            .to_string()]
    );

    // The secret: named after the pool, tagged, readable only from --ip.
    let secret_name = format!("{}_{p}-app-user", pool.id);
    let listed = c.secrets.list_secrets().send().await.unwrap();
    let entry = listed
        .secret_list()
        .iter()
        .find(|s| s.name() == Some(secret_name.as_str()))
        .expect("the secret");
    let tags: HashMap<&str, &str> = entry
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(tags["ClientId"], pool.client_id);
    assert_eq!(tags["IdentityPoolId"], pool.identity_pool_id);
    assert_eq!(tags["UserPoolId"], pool.id);
    assert_eq!(tags["Email"], w.email());
    assert_eq!(tags["IotPolicyName"], format!("{p}-cognito-iot-policy"));
    let endpoint = c
        .iot
        .describe_endpoint()
        .endpoint_type("iot:Data-ATS")
        .send()
        .await
        .unwrap();
    assert_eq!(tags["IotEndpoint"], endpoint.endpoint_address().unwrap());
    assert_eq!(tags["iotstack:stack"], p);
    let rp = c
        .secrets
        .get_resource_policy()
        .secret_id(entry.arn().unwrap())
        .send()
        .await
        .unwrap();
    let rp: Value = serde_json::from_str(rp.resource_policy().unwrap()).unwrap();
    let deny = &statements(&rp)[0];
    assert_eq!(deny["Effect"], json!("Deny"));
    assert_eq!(
        list(&deny["Action"]),
        [
            "secretsmanager:GetSecretValue",
            "secretsmanager:DescribeSecret"
        ]
    );
    assert_eq!(
        deny["Condition"]["NotIpAddress"]["aws:SourceIp"],
        json!("203.0.113.7/32")
    );

    // The app user signs in with the password from the secret; GetId and credentials work.
    let user = c
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
    let (password, identity) = sign_in(&w, &pool).await;
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
    let plan = w.iotstack("plan", &["--detailed-exitcode"]).code(2);
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
    let second = w.iotstack("apply", &["--yes"]).ok();
    let targets = c
        .iot
        .list_targets_for_policy()
        .policy_name(format!("{p}-cognito-iot-policy"))
        .send()
        .await
        .unwrap();
    assert_eq!(targets.targets().to_vec(), vec![identity.clone()]);
    let clean = w.iotstack("plan", &["--detailed-exitcode"]).code(0);
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
    assert_eq!(
        exports["aws_iot_policy_name"],
        json!(format!("{p}-cognito-iot-policy"))
    );
    assert_no_secret(&[&applied, &plan, &second, &clean, &output], &password);

    let destroyed = w.iotstack("destroy", &["--yes"]).ok();
    assert!(
        destroyed.stdout.contains("1 user(s)"),
        "destroy says users go with the pool: {}",
        destroyed.stdout
    );
    assert_no_secret(&[&destroyed], &password);
    assert_eq!(leftovers(&w).await, Vec::<String>::new());
    // The secret was deleted without a recovery window: its name is free at once.
    let listed = c
        .secrets
        .list_secrets()
        .include_planned_deletion(true)
        .send()
        .await
        .unwrap();
    assert!(listed.secret_list().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn cognito_drift_is_shown_and_repaired() {
    let w = World::new();
    let p = w.prefix.clone();
    w.iotstack("apply", &["--yes"]).ok();
    let c = w.clients().await;
    let pool = pool_ids(&w).await;
    let (_, identity) = sign_in(&w, &pool).await;
    w.iotstack("apply", &["--yes"]).ok();

    // Behind iotstack's back: guests disabled, Receive dropped from the auth role, the identity
    // detached from the IoT policy, the refresh token validity changed, the secret's address
    // restriction loosened.
    c.cognito_identity
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
    let auth = c
        .iam
        .get_role_policy()
        .role_name(format!("{p}-IdentityPoolAuthRole"))
        .policy_name("iot-and-secret")
        .send()
        .await
        .unwrap();
    let mut doc = decode(auth.policy_document());
    for s in doc["Statement"].as_array_mut().unwrap() {
        if list(&s["Action"]).contains(&"iot:Receive".to_string()) {
            s["Action"] = json!("iot:Publish");
        }
    }
    c.iam
        .put_role_policy()
        .role_name(format!("{p}-IdentityPoolAuthRole"))
        .policy_name("iot-and-secret")
        .policy_document(doc.to_string())
        .send()
        .await
        .unwrap();
    c.iot
        .detach_policy()
        .policy_name(format!("{p}-cognito-iot-policy"))
        .target(&identity)
        .send()
        .await
        .unwrap();
    c.cognito_idp
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
    let secret_name = format!("{}_{p}-app-user", pool.id);
    c.secrets
        .delete_resource_policy()
        .secret_id(&secret_name)
        .send()
        .await
        .unwrap();

    let plan = w.iotstack("plan", &["--detailed-exitcode"]).code(2);
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
    w.iotstack("apply", &["--yes"]).ok();
    w.iotstack("plan", &["--detailed-exitcode"]).code(0);

    let ip = c
        .cognito_identity
        .describe_identity_pool()
        .identity_pool_id(&pool.identity_pool_id)
        .send()
        .await
        .unwrap();
    assert!(ip.allow_unauthenticated_identities());
    let auth = c
        .iam
        .get_role_policy()
        .role_name(format!("{p}-IdentityPoolAuthRole"))
        .policy_name("iot-and-secret")
        .send()
        .await
        .unwrap();
    assert!(actions(&decode(auth.policy_document())).contains(&"iot:Receive".to_string()));
    let targets = c
        .iot
        .list_targets_for_policy()
        .policy_name(format!("{p}-cognito-iot-policy"))
        .send()
        .await
        .unwrap();
    assert_eq!(targets.targets(), [identity]);
    c.secrets
        .get_resource_policy()
        .secret_id(&secret_name)
        .send()
        .await
        .unwrap()
        .resource_policy()
        .expect("restored");

    w.iotstack("destroy", &["--yes"]).ok();
    assert_eq!(leftovers(&w).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn replacing_a_user_pool_that_has_users_needs_explicit_consent() {
    let mut w = World::new();
    w.iotstack("apply", &["--yes"]).ok();
    let before = pool_ids(&w).await;
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
    assert_eq!(pool_ids(&w).await.id, before.id, "nothing was changed");

    w.iotstack("apply", &["--yes", "--allow-data-loss"]).ok();
    let after = pool_ids(&w).await;
    assert_ne!(after.id, before.id);
    let c = w.clients().await;
    let up = c
        .cognito_idp
        .describe_user_pool()
        .user_pool_id(&after.id)
        .send()
        .await
        .unwrap();
    assert!(up
        .user_pool()
        .unwrap()
        .username_configuration()
        .unwrap()
        .case_sensitive());
    // Everything that hung off the old pool follows the new one, and the app user signs in.
    sign_in(&w, &after).await;
    w.iotstack("apply", &["--yes"]).ok();
    w.iotstack("plan", &["--detailed-exitcode"]).code(0);
    w.iotstack("destroy", &["--yes"]).ok();
    assert_eq!(leftovers(&w).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_name_scheduled_for_deletion_is_restored_and_reused() {
    let w = World::new();
    let p = w.prefix.clone();
    w.iotstack("apply", &["--yes"]).ok();
    let pool = pool_ids(&w).await;
    let c = w.clients().await;
    let name = format!("{}_{p}-app-user", pool.id);
    // Deleted with a recovery window, as the console does by default.
    c.secrets
        .delete_secret()
        .secret_id(&name)
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    let plan = w.iotstack("plan", &["--detailed-exitcode"]).code(2);
    assert!(
        plan.stdout.contains("+ create   app-secret"),
        "{}",
        plan.stdout
    );
    w.iotstack("apply", &["--yes"]).ok();
    let listed = c
        .secrets
        .list_secrets()
        .include_planned_deletion(true)
        .send()
        .await
        .unwrap();
    let e = listed
        .secret_list()
        .iter()
        .find(|s| s.name() == Some(name.as_str()))
        .unwrap();
    assert!(
        e.deleted_date().is_none(),
        "restored, not scheduled for deletion any more"
    );
    w.iotstack("plan", &["--detailed-exitcode"]).code(0);
    sign_in(&w, &pool).await;
    w.iotstack("destroy", &["--yes"]).ok();
    assert_eq!(leftovers(&w).await, Vec::<String>::new());
}
