//! The shipped stacks besides the default one, `stacks/notifications.yaml` and
//! `stacks/chatroom.yaml`: each validates, applies, lets a signed-in user get credentials and its
//! IoT policy, plans clean and destroys to nothing, checked through the AWS API. Who may do what
//! in them is proven offline by the evaluator tables in `tests/stack_tables.rs`.

use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
use serde_json::Value;

use crate::harness::{repo, World};
use crate::live::{decode, list, statements, Pool};

const PASSWORD: &str = "Chat-room-1-password!";

/// The `Sid`s of a policy, sorted.
fn sids(doc: &Value) -> Vec<String> {
    let mut s: Vec<String> = statements(doc)
        .iter()
        .filter_map(|s| s["Sid"].as_str().map(str::to_string))
        .collect();
    s.sort();
    s
}

fn template(name: &str) -> Value {
    let text = std::fs::read_to_string(repo().join("policies").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Creates a confirmed user (as an administrator would) and signs it in; returns its identity id.
pub async fn signed_in_identity(w: &World, pool: &Pool, username: &str) -> String {
    let c = w.live().await;
    c.cognito_idp
        .admin_create_user()
        .user_pool_id(&pool.id)
        .username(username)
        .user_attributes(
            AttributeType::builder()
                .name("email")
                .value(format!("{username}@example.com"))
                .build()
                .unwrap(),
        )
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    c.cognito_idp
        .admin_set_user_password()
        .user_pool_id(&pool.id)
        .username(username)
        .password(PASSWORD)
        .permanent(true)
        .send()
        .await
        .unwrap();
    c.sign_in_as(pool, username, PASSWORD).await
}

/// What every stack of this kind shares: the identity pool for signed-in users only, its role,
/// the IoT policy from `policy_template` in both layers, the attach function behind an AWS_IAM
/// URL, a user whose identity gets the IoT policy from the next apply, a clean plan, and the
/// `aws-exports.json` a client reads.
async fn identity_half(w: &World, policy_template: &str, role_policy: &str) -> (Pool, String) {
    let p = &w.prefix;
    let c = w.live().await;
    let pool = c.pool().await;

    let ip = c.identity_pool(&pool.identity_pool_id).await;
    assert!(!ip.allow_unauthenticated_identities(), "no guests");
    let roles = c.identity_pool_roles(&pool.identity_pool_id).await;
    let auth_role = c.role(&format!("{p}-IdentityPoolAuthRole")).await;
    assert_eq!(
        roles.get("authenticated"),
        Some(&auth_role.arn().to_string())
    );
    assert_eq!(roles.get("unauthenticated"), None);
    let trust = decode(auth_role.assume_role_policy_document().unwrap());
    let cond = &statements(&trust)[0]["Condition"];
    assert_eq!(
        cond["StringEquals"]["cognito-identity.amazonaws.com:aud"],
        pool.identity_pool_id.as_str()
    );

    // The same grants in both layers: the IoT policy and the role's inline policy.
    let want = template(policy_template);
    let iot = c.iot_policy(&format!("{p}-cognito-iot-policy")).await;
    assert_eq!(sids(&iot), sids(&want));
    let text = iot.to_string();
    assert!(
        text.contains("${cognito-identity.amazonaws.com:sub}")
            && !text.contains("${identity-pool.id}"),
        "policy variables pass through, references are resolved: {text}"
    );
    let mut names: Vec<String> = c
        .iam
        .list_role_policies()
        .role_name(format!("{p}-IdentityPoolAuthRole"))
        .send()
        .await
        .unwrap()
        .policy_names()
        .to_vec();
    names.sort();
    assert_eq!(
        names,
        ["attach-myself".to_string(), role_policy.to_string()]
    );
    let in_role = c
        .inline_policy(&format!("{p}-IdentityPoolAuthRole"), role_policy)
        .await;
    assert_eq!(in_role, iot);

    let url = c.function_url(&format!("{p}-attach-iot-policy")).await;
    assert_eq!(url.auth_type().as_str(), "AWS_IAM");

    // A user signs in; the next apply attaches the IoT policy to its identity, then nothing.
    let identity = signed_in_identity(w, &pool, "alice").await;
    w.iotstack("apply", &["--yes"]).ok();
    assert_eq!(
        c.attached_policies(&identity).await,
        [format!("{p}-cognito-iot-policy")]
    );
    let plan = w.iotstack("plan", &["--detailed-exitcode"]).code(0);
    assert!(plan.stdout.contains("No changes"), "{}", plan.stdout);

    // The client's configuration: every key it reads, with the live values.
    let exports = w.iotstack("output", &["--aws-exports"]).ok().json();
    let endpoint = c.data_endpoint().await;
    for (key, want) in [
        ("aws_project_region", "us-east-1".to_string()),
        ("aws_cognito_region", "us-east-1".to_string()),
        ("aws_pubsub_region", "us-east-1".to_string()),
        ("aws_user_pools_id", pool.id.clone()),
        ("aws_user_pools_web_client_id", pool.client_id.clone()),
        (
            "aws_cognito_identity_pool_id",
            pool.identity_pool_id.clone(),
        ),
        ("aws_iot_policy_name", format!("{p}-cognito-iot-policy")),
        ("aws_iot_attach_policy_url", url.function_url().to_string()),
    ] {
        assert_eq!(exports[key], want.as_str(), "{key}: {exports}");
    }
    // The emulator invents a new data endpoint host on every call: compare the shape.
    let host = exports["aws_iot_endpoint"].as_str().unwrap();
    assert!(
        host.ends_with("-ats.iot.us-east-1.amazonaws.com")
            && endpoint.ends_with("-ats.iot.us-east-1.amazonaws.com"),
        "{exports}"
    );
    assert_eq!(exports["aws_pubsub_endpoint"], format!("wss://{host}/mqtt"));
    (pool, identity)
}

fn world_for(stack: &str) -> World {
    let mut w = World::new();
    w.stack = repo().join("stacks").join(stack);
    let v = w.iotstack("validate", &["--strict"]);
    assert_eq!(v.code, 0, "{}", v.all());
    w
}

#[tokio::test(flavor = "multi_thread")]
async fn notifications_stack_applies_plans_clean_and_destroys_to_nothing() {
    let w = world_for("notifications.yaml");
    let p = w.prefix.clone();
    w.apply().stdout_has("Apply complete: 11 created");
    identity_half(&w, "notifications-identity.json", "own-notifications").await;

    // The backend role: assumed by Lambda, publishes to private/<identity-id> and nothing else.
    let c = w.live().await;
    let role = format!("{p}-notifications-backend-role");
    assert_eq!(
        statements(&c.trust(&role).await)[0]["Principal"]["Service"],
        "lambda.amazonaws.com"
    );
    let doc = c.inline_policy(&role, "publish-notifications").await;
    let st = statements(&doc);
    assert_eq!(st.len(), 1);
    assert_eq!(list(&st[0]["Action"]), ["iot:Publish"]);
    assert_eq!(
        list(&st[0]["Resource"]),
        ["arn:aws:iot:us-east-1:123456789012:topic/private/*"]
    );

    w.destroy().stdout_has("Destroy complete: 11 deleted");
    w.assert_nothing_left().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn chatroom_stack_applies_plans_clean_and_destroys_to_nothing() {
    let w = world_for("chatroom.yaml");
    w.apply().stdout_has("Apply complete: 10 created");
    let (pool, identity) = identity_half(&w, "chatroom-identity.json", "chat-rooms").await;

    // doctor agrees for a chat message: both layers allow the user to connect, publish as
    // itself in a room, subscribe to it and receive from it.
    let topic = format!("{}/lobby/{identity}", pool.identity_pool_id);
    let args = [
        "--identity-id",
        &identity,
        "--topic",
        &topic,
        "--output",
        "json",
    ];
    let report = w.iotstack("doctor", &args).code(0).json();
    for id in [
        "identity-attached",
        "access-connect",
        "access-publish",
        "access-subscribe",
        "access-receive",
    ] {
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no check {id}: {report}"));
        assert_eq!(check["status"], "pass", "{check}");
    }

    w.destroy().stdout_has("Destroy complete: 10 deleted");
    w.assert_nothing_left().await;
}
