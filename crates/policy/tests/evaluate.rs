//! The evaluator, through the crate's API: decisions, evidence, notes and the two layers.

use iotstack_policy::*;
use serde_json::{json, Value};

mod common;
use common::*;

fn cognito() -> Context {
    Context::cognito_identity(SUB, POOL, true)
}

fn identity(req: Request) -> Request {
    req.with_context(&cognito())
}

fn connect(client: &str) -> Request {
    Request::connect(REGION, ACCOUNT, client)
}

fn publish(topic: &str) -> Request {
    Request::publish(REGION, ACCOUNT, topic)
}

fn own(suffix: &str) -> String {
    format!("{POOL}/{SUB}/{suffix}")
}

#[test]
fn arn_helpers() {
    assert_eq!(
        client_arn("eu-west-1", ACCOUNT, "c1"),
        "arn:aws:iot:eu-west-1:123456789012:client/c1"
    );
    assert_eq!(
        topic_arn(REGION, ACCOUNT, "a/b"),
        "arn:aws:iot:us-east-1:123456789012:topic/a/b"
    );
    assert_eq!(
        topic_filter_arn(REGION, ACCOUNT, "a/#"),
        "arn:aws:iot:us-east-1:123456789012:topicfilter/a/#"
    );
    assert_eq!(
        client_arn("cn-north-1", ACCOUNT, "c"),
        "arn:aws-cn:iot:cn-north-1:123456789012:client/c"
    );
    assert_eq!(
        IotAction::Subscribe.arn("us-gov-west-1", ACCOUNT, "f"),
        "arn:aws-us-gov:iot:us-gov-west-1:123456789012:topicfilter/f"
    );
    assert_eq!(IotAction::parse("IOT:receive"), Some(IotAction::Receive));
    assert_eq!(IotAction::parse("iot:AttachPolicy"), None);
    let req = connect("c9");
    assert_eq!(
        req.context.get("IOT:CLIENTID"),
        Some(&["c9".to_string()][..])
    );
}

#[test]
fn evidence_names_statement_and_sid() {
    let policy = doc(json!([
        {"Sid": "ConnectSelf", "Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client/c1")},
        {"Sid": "Pub", "Effect": "Allow", "Action": "iot:Pub*", "Resource": arn("topic/*")},
        {"Sid": "NoSecret", "Effect": "Deny", "Action": "iot:Publish", "Resource": arn("topic/secret")}
    ]));
    let req = publish("t");
    let eval = evaluate(&policy, &req);
    assert_eq!(eval.decision, Decision::Allow);
    assert_eq!(eval.matched.len(), 1);
    let m = &eval.matched[0];
    assert_eq!(
        (m.index, m.sid.as_deref(), m.effect),
        (1, Some("Pub"), Effect::Allow)
    );
    assert_eq!(
        m.describe(&req),
        format!(
            "statement 1 (Sid Pub) allows iot:Publish on {} (Action \"iot:Pub*\", Resource \"{}\")",
            arn("topic/t"),
            arn("topic/*")
        )
    );

    let req = publish("secret");
    let eval = evaluate(&policy, &req);
    assert_eq!(eval.decision, Decision::ExplicitDeny);
    assert_eq!(eval.matched.len(), 2);
    assert!(eval
        .explain(&req)
        .starts_with("statement 2 (Sid NoSecret) explicitly denies"));
}

#[test]
fn notes_explain_what_did_not_apply() {
    // Each request against its policy, and what one of the notes says (every part).
    let cases: [(Value, Request, &[&str]); 6] = [
        (
            identity_policy(),
            publish(&own("x")),
            &[
                "${cognito-identity.amazonaws.com:sub}",
                "no value in the request context",
            ],
        ),
        (
            allow_if(
                "iot:Connect",
                json!({"StringEqualz": {"iot:ClientId": "c1"}}),
            ),
            connect("c1"),
            &["unknown condition operator \"StringEqualz\""],
        ),
        (
            allow_if(
                "iot:Connect",
                json!({"StringEquals": {KEY_COGNITO_AUD: POOL}}),
            ),
            connect("c1"),
            &["Condition is not met"],
        ),
        (
            json!({"Statement": [allow(json!("iot:Publish"), "topic/${iot:ClientId}")]}),
            publish("c1"),
            &["literal text"],
        ),
        (
            doc(json!([{"Effect": "Allow", "Action": "iot:Connect"}])),
            connect("c1"),
            &["neither Resource nor NotResource"],
        ),
        (
            doc(
                json!([{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}]),
            ),
            connect("c1"),
            &["cannot be evaluated offline"],
        ),
    ];
    for (policy, req, parts) in cases {
        let eval = evaluate(&policy, &req);
        assert!(
            eval.notes
                .iter()
                .any(|n| parts.iter().all(|p| n.contains(p))),
            "{parts:?} in {:?}",
            eval.notes
        );
    }
}

#[test]
fn policy_given_as_json_text() {
    let text = Value::String(identity_policy().to_string());
    assert!(evaluate(&text, &identity(connect(SUB))).is_allowed());
    let broken = Value::String("{not json".to_string());
    let eval = evaluate(&broken, &connect("c1"));
    assert_eq!(eval.decision, Decision::ImplicitDeny);
    assert!(eval.notes[0].contains("not valid JSON"));
    let eval = evaluate(&json!({"Version": "2012-10-17"}), &connect("c1"));
    assert!(eval.notes[0].contains("no Statement"));
}

fn role_policy() -> Value {
    doc(json!([{
        "Effect": "Allow",
        "Action": ["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"],
        "Resource": "*"
    }]))
}

#[test]
fn layers_authenticated_needs_role_and_iot_policy() {
    let role = role_policy();
    let iot = identity_policy();
    let req = identity(publish(&own("t")));
    let result = evaluate_layers(
        &[("AuthRole", &role)],
        &[("IdentityPolicy", &iot)],
        &req,
        true,
    );
    assert!(result.is_allowed(), "{:?}", result.refusals);
    assert!(result.refusals.is_empty());

    // IoT: an authenticated Cognito identity also needs an IoT policy allowing the request
    let req = identity(publish(&format!("{POOL}/{OTHER_SUB}/t")));
    let result = evaluate_layers(
        &[("AuthRole", &role)],
        &[("IdentityPolicy", &iot)],
        &req,
        true,
    );
    assert_eq!(result.decision, Decision::ImplicitDeny);
    assert_eq!(result.refused_by(), Some(Layer::IotPolicy));
    assert!(result.refusals[0].reason.contains("\"IdentityPolicy\""));

    // IoT: with no IoT policy attached, authenticated identities are refused
    let req = identity(publish(&own("t")));
    let result = evaluate_layers(&[("AuthRole", &role)], &[], &req, true);
    assert_eq!(result.refused_by(), Some(Layer::IotPolicy));
    assert!(result.refusals[0].reason.contains("iot:AttachPolicy"));

    // IAM: the role must allow too
    let narrow = doc(json!([allow(json!("iot:Connect"), "client/*")]));
    let result = evaluate_layers(
        &[("AuthRole", &narrow)],
        &[("IdentityPolicy", &iot)],
        &req,
        true,
    );
    assert_eq!(result.refused_by(), Some(Layer::IdentityRole));
    assert_eq!(result.refusals.len(), 1);

    // IAM: explicit deny in either layer overrides allow
    let deny = doc(json!([{"Effect": "Deny", "Action": "iot:Publish", "Resource": "*"}]));
    let result = evaluate_layers(
        &[("AuthRole", &role)],
        &[("IdentityPolicy", &iot), ("Deny", &deny)],
        &req,
        true,
    );
    assert_eq!(result.decision, Decision::ExplicitDeny);
    assert_eq!(result.refused_by(), Some(Layer::IotPolicy));
    assert!(result.refusals[0].reason.contains("explicitly denies"));
}

#[test]
fn layers_unauthenticated_role_alone_decides() {
    let role = role_policy();
    let deny_all = doc(json!([{"Effect": "Deny", "Action": "*", "Resource": "*"}]));
    let req = publish("anything").with_context(&Context::cognito_identity(SUB, POOL, false));
    let result = evaluate_layers(
        &[("UnauthRole", &role)],
        &[("Ignored", &deny_all)],
        &req,
        false,
    );
    assert!(result.is_allowed());
    assert!(result.iot.is_none());
    assert_eq!(result.notes.len(), 1);

    let result = evaluate_layers(&[], &[], &req, false);
    assert_eq!(result.refused_by(), Some(Layer::IdentityRole));
    assert!(result.refusals[0].reason.contains("no policy is attached"));
}

#[test]
fn pattern_helpers() {
    assert!(pattern_covers_prefix("iot:*", "iot:", true));
    assert!(pattern_covers_prefix("*", "iot:", true));
    assert!(pattern_covers_prefix("IO?:*", "iot:", true));
    assert!(pattern_covers_prefix("*:*", "iot:", true));
    assert!(!pattern_covers_prefix("iot:Attach*", "iot:", true));
    assert!(!pattern_covers_prefix("iot:?", "iot:", true));
    assert!(has_wildcards("client/*"));
    assert!(!has_wildcards("client/${iot:Connection.Thing.ThingName}"));
    assert!(!has_wildcards("client/${*}"));
    assert_eq!(
        policy_variables("topic/${iot:ClientId}/${*}/${aws:username, 'x'}"),
        vec!["iot:ClientId".to_string(), "aws:username".to_string()]
    );
    assert!(action_matches("iot:Attach*", "iot:AttachPolicy"));
    assert_eq!(
        resource_matches(
            "topic/${iot:ClientId}",
            "topic/c1",
            &Context::new().with(KEY_IOT_CLIENT_ID, "c1")
        ),
        Some(true)
    );
    assert_eq!(
        resource_matches("topic/${iot:ClientId}", "topic/c1", &Context::new()),
        None
    );
    assert!(is_known_condition_operator(
        "ForAnyValue:StringLikeIfExists"
    ));
    assert!(is_known_condition_operator("DateLessThan"));
    assert!(!is_supported_condition_operator("DateLessThan"));
    assert!(!is_known_condition_operator("NullIfExists"));
    assert!(!is_known_condition_operator("StringEqualz"));
}
