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

fn device(req: Request, thing: &str) -> Request {
    req.with(KEY_THING_NAME, thing)
}

fn connect(client: &str) -> Request {
    Request::connect(REGION, ACCOUNT, client)
}

fn publish(topic: &str) -> Request {
    Request::publish(REGION, ACCOUNT, topic)
}

fn receive(topic: &str) -> Request {
    Request::receive(REGION, ACCOUNT, topic)
}

fn subscribe(filter: &str) -> Request {
    Request::subscribe(REGION, ACCOUNT, filter)
}

fn own(suffix: &str) -> String {
    format!("{POOL}/{SUB}/{suffix}")
}

struct Case {
    name: &'static str,
    policy: Value,
    request: Request,
    expect: Decision,
}

fn case(name: &'static str, policy: Value, request: Request, expect: Decision) -> Case {
    Case {
        name,
        policy,
        request,
        expect,
    }
}

use Decision::{Allow as A, ExplicitDeny as D, ImplicitDeny as I};

#[test]
fn decision_table() {
    let everything_but_secret = doc(json!([
        allow(json!("iot:*"), "*"),
        {"Effect": "Deny", "Action": "iot:Publish", "Resource": arn("topic/secret/*")}
    ]));
    let deny_outside_allowed = doc(json!([
        allow(json!("iot:Publish"), "*"),
        {"Effect": "Deny", "Action": "iot:Publish", "NotResource": arn("topic/allowed/*")}
    ]));
    let cases = vec![
        // IoT + Cognito: ${cognito-identity.amazonaws.com:sub} is replaced by the caller's identity id
        case(
            "identity connects with its own id",
            identity_policy(),
            identity(connect(SUB)),
            A,
        ),
        // IAM: a request that no statement allows is implicitly denied
        case(
            "identity connects with another id",
            identity_policy(),
            identity(connect(OTHER_SUB)),
            I,
        ),
        // IoT: topic/ resource for Publish; policy variable scopes the topic per identity
        case(
            "identity publishes under its prefix",
            identity_policy(),
            identity(publish(&own("telemetry"))),
            A,
        ),
        // IoT + Cognito: the variable resolves to the caller only, not to other identities
        case(
            "identity publishes under another prefix",
            identity_policy(),
            identity(publish(&format!("{POOL}/{OTHER_SUB}/telemetry"))),
            I,
        ),
        // IoT policy: * matches any combination of characters, including /
        case(
            "identity receives on a nested topic",
            identity_policy(),
            identity(receive(&own("a/b/c"))),
            A,
        ),
        // IoT: topicfilter/ resource for Subscribe; * also matches the literal # of a filter
        case(
            "identity subscribes to own/#",
            identity_policy(),
            identity(subscribe(&own("#"))),
            A,
        ),
        // IoT: Subscribe is authorized against topicfilter/, never against topic/
        case(
            "subscribe checked against a topic/ ARN",
            identity_policy(),
            identity(Request::new(
                "iot:Subscribe",
                arn(&format!("topic/{}", own("x"))),
            )),
            I,
        ),
        // IAM: a variable that cannot be resolved makes the resource not match
        case(
            "no identity id in the context",
            identity_policy(),
            publish(&own("telemetry")),
            I,
        ),
        // IoT: thing policy variable ${iot:Connection.Thing.ThingName} resolves to the attached thing
        case(
            "device connects as its thing",
            device_policy(),
            device(connect("sensor-1"), "sensor-1"),
            A,
        ),
        // IoT: the Connect resource is client/<client id>
        case(
            "device connects with another client id",
            device_policy(),
            device(connect("sensor-2"), "sensor-1"),
            I,
        ),
        // IoT: thing variables are not set when no thing is attached, so they match nothing
        case(
            "device without an attached thing",
            device_policy(),
            connect("sensor-1"),
            I,
        ),
        // IoT: topic/ resource for Publish and Receive
        case(
            "device publishes on its topic",
            device_policy(),
            device(publish("P/devices/sensor-1/temp"), "sensor-1"),
            A,
        ),
        // IoT: policy variables scope topics per thing
        case(
            "device publishes on another device's topic",
            device_policy(),
            device(publish("P/devices/sensor-2/temp"), "sensor-1"),
            I,
        ),
        // IAM: any entry of a Resource array may match
        case(
            "device receives alerts",
            device_policy(),
            device(receive("P/alerts"), "sensor-1"),
            A,
        ),
        // IoT: topicfilter/ resource for Subscribe
        case(
            "device subscribes to its filter",
            device_policy(),
            device(subscribe("P/devices/sensor-1/+"), "sensor-1"),
            A,
        ),
        // IoT: Subscribe on a filter outside the topicfilter/ resources is refused
        case(
            "device subscribes to alerts filter",
            device_policy(),
            device(subscribe("P/alerts"), "sensor-1"),
            I,
        ),
        // IoT policy: MQTT wildcard characters + and # are treated as literal strings
        case(
            "topic/a/+ does not match a/b",
            doc(json!([allow(json!("iot:Publish"), "topic/a/+")])),
            publish("a/b"),
            I,
        ),
        // IoT policy: MQTT wildcard characters + and # are treated as literal strings
        case(
            "topic/a/+ matches the literal topic a/+",
            doc(json!([allow(json!("iot:Publish"), "topic/a/+")])),
            publish("a/+"),
            A,
        ),
        // IoT policy: MQTT wildcard characters + and # are treated as literal strings
        case(
            "topic/a/# does not match a/b/c",
            doc(json!([allow(json!("iot:Receive"), "topic/a/#")])),
            receive("a/b/c"),
            I,
        ),
        // IoT policy: + and # are literal, so topicfilter/a/# allows exactly the filter a/#
        case(
            "topicfilter/a/# allows subscribing to a/#",
            doc(json!([allow(json!("iot:Subscribe"), "topicfilter/a/#")])),
            subscribe("a/#"),
            A,
        ),
        // IoT policy: + and # are literal, so topicfilter/a/# does not allow a/b
        case(
            "topicfilter/a/# does not allow a/b",
            doc(json!([allow(json!("iot:Subscribe"), "topicfilter/a/#")])),
            subscribe("a/b"),
            I,
        ),
        // IoT policy: * matches any combination of characters, including /
        case(
            "topic/a/* matches a/b/c",
            doc(json!([allow(json!("iot:Publish"), "topic/a/*")])),
            publish("a/b/c"),
            A,
        ),
        // IAM: ? matches exactly one character
        case(
            "topic/a/? matches a/b",
            doc(json!([allow(json!("iot:Publish"), "topic/a/?")])),
            publish("a/b"),
            A,
        ),
        // IAM: ? matches exactly one character
        case(
            "topic/a/? does not match a/bc",
            doc(json!([allow(json!("iot:Publish"), "topic/a/?")])),
            publish("a/bc"),
            I,
        ),
        // IAM: ? matches exactly one character, never zero
        case(
            "topic/a/? does not match a/",
            doc(json!([allow(json!("iot:Publish"), "topic/a/?")])),
            publish("a/"),
            I,
        ),
        // IAM: resource ARNs are matched case-sensitively
        case(
            "resource case differs",
            doc(json!([allow(json!("iot:Publish"), "topic/A/b")])),
            publish("a/b"),
            I,
        ),
        // IAM: action names are case-insensitive
        case(
            "action case differs",
            doc(json!([allow(json!("IOT:publish"), "topic/a")])),
            publish("a"),
            A,
        ),
        // IAM: iot:* matches every AWS IoT action
        case(
            "iot:* allows Subscribe",
            doc(json!([allow(json!("iot:*"), "*")])),
            subscribe("x/#"),
            A,
        ),
        // IAM: * as the action matches every action of every service
        case(
            "* allows Connect",
            doc(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}])),
            connect("c1"),
            A,
        ),
        // IAM: * inside an action name matches any run of characters
        case(
            "iot:Pub* allows Publish",
            doc(json!([allow(json!("iot:Pub*"), "topic/*")])),
            publish("t"),
            A,
        ),
        // IAM: iot:Pub* covers only actions starting with Pub
        case(
            "iot:Pub* does not allow Receive",
            doc(json!([allow(json!("iot:Pub*"), "topic/*")])),
            receive("t"),
            I,
        ),
        // IAM: ? inside an action name matches one character
        case(
            "iot:?eceive allows Receive",
            doc(json!([allow(json!("iot:?eceive"), "topic/*")])),
            receive("t"),
            A,
        ),
        // IAM: Action may be an array; any entry may match
        case(
            "action array",
            doc(json!([allow(
                json!(["iot:Connect", "iot:Publish"]),
                "topic/*"
            )])),
            publish("t"),
            A,
        ),
        // IAM: explicit deny overrides allow
        case(
            "deny overrides iot:* allow",
            everything_but_secret.clone(),
            publish("secret/x"),
            D,
        ),
        // IAM: a Deny that does not match leaves the Allow in force
        case(
            "deny elsewhere",
            everything_but_secret,
            publish("public/x"),
            A,
        ),
        // IAM: NotAction matches every action except those listed
        case(
            "NotAction allows other actions",
            doc(json!([{"Effect": "Allow", "NotAction": "iot:Publish", "Resource": "*"}])),
            subscribe("a"),
            A,
        ),
        // IAM: NotAction excludes the listed actions
        case(
            "NotAction excludes Publish",
            doc(json!([{"Effect": "Allow", "NotAction": "iot:Publish", "Resource": "*"}])),
            publish("a"),
            I,
        ),
        // IAM: NotResource matches every resource except those listed (explicit deny overrides allow)
        case(
            "NotResource deny outside the allowed prefix",
            deny_outside_allowed.clone(),
            publish("other/x"),
            D,
        ),
        // IAM: NotResource excludes the listed resources
        case(
            "NotResource deny spares the allowed prefix",
            deny_outside_allowed,
            publish("allowed/x"),
            A,
        ),
        // IAM: ${*} is the escape for a literal *
        case(
            "${*} is a literal star",
            doc(json!([allow(json!("iot:Publish"), "topic/a/${*}")])),
            publish("a/*"),
            A,
        ),
        // IAM: ${*} is the escape for a literal *, not a wildcard
        case(
            "${*} is not a wildcard",
            doc(json!([allow(json!("iot:Publish"), "topic/a/${*}")])),
            publish("a/b"),
            I,
        ),
        // IAM: ${?} is the escape for a literal ?
        case(
            "${?} is a literal question mark",
            doc(json!([allow(json!("iot:Publish"), "topic/a${?}")])),
            publish("ab"),
            I,
        ),
        // IAM: ${$} is the escape for a literal $ (reserved $aws topics)
        case(
            "${$} is a literal dollar",
            doc(json!([allow(
                json!("iot:Publish"),
                "topic/${$}aws/things/t1/shadow/update"
            )])),
            publish("$aws/things/t1/shadow/update"),
            A,
        ),
        // IAM: without "Version": "2012-10-17" policy variables are literal text
        case(
            "no Version: variable is literal",
            json!({"Statement": [allow(json!("iot:Publish"), "topic/${iot:ClientId}")]}),
            publish("c1").with(KEY_IOT_CLIENT_ID, "c1"),
            I,
        ),
        // IAM: policy variable default value ${key, 'default'} applies when the key is absent
        case(
            "variable default value",
            doc(json!([allow(
                json!("iot:Publish"),
                "topic/${aws:username, 'nobody'}/x"
            )])),
            publish("nobody/x"),
            A,
        ),
        // IAM: multivalued keys cannot be used as policy variables
        case(
            "multi-valued key as a variable",
            doc(json!([allow(
                json!("iot:Publish"),
                "topic/${cognito-identity.amazonaws.com:amr}"
            )])),
            publish("authenticated").with_values(KEY_COGNITO_AMR, ["authenticated", "cognito-idp"]),
            I,
        ),
        // IoT: ${iot:ClientId} is replaced by the client id used to connect
        case(
            "iot:ClientId variable",
            doc(json!([allow(
                json!("iot:Publish"),
                "topic/clients/${iot:ClientId}/*"
            )])),
            publish("clients/c1/t").with(KEY_IOT_CLIENT_ID, "c1"),
            A,
        ),
        // IAM condition: StringEquals compares case-sensitively
        case(
            "StringEquals on aud matches",
            allow_if(
                "iot:Connect",
                json!({"StringEquals": {KEY_COGNITO_AUD: POOL}}),
            ),
            identity(connect(SUB)),
            A,
        ),
        // IAM condition: StringEquals with another value is false
        case(
            "StringEquals on aud differs",
            allow_if(
                "iot:Connect",
                json!({"StringEquals": {KEY_COGNITO_AUD: "us-east-1:other"}}),
            ),
            identity(connect(SUB)),
            I,
        ),
        // IAM condition: a key absent from the request context makes the condition false
        case(
            "StringEquals with the key absent",
            allow_if(
                "iot:Connect",
                json!({"StringEquals": {KEY_COGNITO_AUD: POOL}}),
            ),
            connect(SUB),
            I,
        ),
        // IAM condition: negated operators (StringNotEquals) are true when the key is absent
        case(
            "StringNotEquals with the key absent",
            allow_if(
                "iot:Connect",
                json!({"StringNotEquals": {KEY_COGNITO_AUD: POOL}}),
            ),
            connect(SUB),
            A,
        ),
        // IAM condition: ...IfExists is true when the key is absent
        case(
            "StringEqualsIfExists with the key absent",
            allow_if(
                "iot:Connect",
                json!({"StringEqualsIfExists": {KEY_COGNITO_AUD: POOL}}),
            ),
            connect(SUB),
            A,
        ),
        // IAM condition: ...IfExists still compares when the key is present
        case(
            "StringEqualsIfExists with another value",
            allow_if(
                "iot:Connect",
                json!({"StringEqualsIfExists": {KEY_COGNITO_AUD: "other"}}),
            ),
            identity(connect(SUB)),
            I,
        ),
        // IAM condition: StringLike supports * and ?
        case(
            "StringLike on the client id",
            allow_if(
                "iot:Connect",
                json!({"StringLike": {"iot:ClientId": "sensor-*"}}),
            ),
            connect("sensor-42"),
            A,
        ),
        // IAM condition: StringNotLike is false when the value matches
        case(
            "StringNotLike on the client id",
            allow_if(
                "iot:Connect",
                json!({"StringNotLike": {"iot:ClientId": "sensor-*"}}),
            ),
            connect("sensor-42"),
            I,
        ),
        // IAM condition: StringEqualsIgnoreCase ignores case
        case(
            "StringEqualsIgnoreCase",
            allow_if(
                "iot:Connect",
                json!({"StringEqualsIgnoreCase": {"iot:ClientId": "SENSOR-1"}}),
            ),
            connect("sensor-1"),
            A,
        ),
        // IAM condition: condition key names are case-insensitive
        case(
            "condition key case differs",
            allow_if(
                "iot:Connect",
                json!({"StringEquals": {"IOT:clientid": "c1"}}),
            ),
            connect("c1"),
            A,
        ),
        // IAM condition: IpAddress matches a CIDR block
        case(
            "IpAddress in CIDR",
            allow_if(
                "iot:Connect",
                json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
            ),
            connect("c1").with(KEY_SOURCE_IP, "10.1.2.3"),
            A,
        ),
        // IAM condition: IpAddress outside the CIDR block is false
        case(
            "IpAddress outside CIDR",
            allow_if(
                "iot:Connect",
                json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "172.16.0.0/12"]}}),
            ),
            connect("c1").with(KEY_SOURCE_IP, "192.0.2.1"),
            I,
        ),
        // IAM condition: IpAddress accepts a single address
        case(
            "IpAddress single address",
            allow_if(
                "iot:Connect",
                json!({"IpAddress": {"aws:SourceIp": "203.0.113.5"}}),
            ),
            connect("c1").with(KEY_SOURCE_IP, "203.0.113.5"),
            A,
        ),
        // IAM condition: NotIpAddress in a Deny blocks other addresses (explicit deny overrides allow)
        case(
            "NotIpAddress deny",
            doc(json!([
                allow(json!("iot:Connect"), "client/*"),
                {"Effect": "Deny", "Action": "iot:*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}
            ])),
            connect("c1").with(KEY_SOURCE_IP, "198.51.100.7"),
            D,
        ),
        // IAM condition: Bool compares true/false
        case(
            "Bool on a thing attachment",
            allow_if(
                "iot:Connect",
                json!({"Bool": {"iot:Connection.Thing.IsAttached": "true"}}),
            ),
            connect("c1").with("iot:Connection.Thing.IsAttached", "true"),
            A,
        ),
        // IAM condition: Bool with the key absent is false
        case(
            "Bool with the key absent",
            allow_if(
                "iot:Connect",
                json!({"Bool": {"iot:Connection.Thing.IsAttached": true}}),
            ),
            connect("c1"),
            I,
        ),
        // Cognito: amr is multivalued; ForAnyValue:StringLike is true if any value matches
        case(
            "ForAnyValue:StringLike amr authenticated",
            allow_if(
                "iot:Connect",
                json!({"ForAnyValue:StringLike": {KEY_COGNITO_AMR: "authenticated"}}),
            ),
            connect(SUB).with_values(
                KEY_COGNITO_AMR,
                [
                    "authenticated",
                    "cognito-idp.us-east-1.amazonaws.com/us-east-1_abc",
                ],
            ),
            A,
        ),
        // Cognito: ForAnyValue:StringLike is false when no value matches
        case(
            "ForAnyValue:StringLike amr unauthenticated",
            allow_if(
                "iot:Connect",
                json!({"ForAnyValue:StringLike": {KEY_COGNITO_AMR: "authenticated"}}),
            ),
            connect(SUB).with_values(KEY_COGNITO_AMR, ["unauthenticated"]),
            I,
        ),
        // IAM condition: ForAnyValue with the key absent is false
        case(
            "ForAnyValue with the key absent",
            allow_if(
                "iot:Connect",
                json!({"ForAnyValue:StringEquals": {KEY_COGNITO_AMR: "authenticated"}}),
            ),
            connect(SUB),
            I,
        ),
        // IAM condition: ForAllValues is true only if every request value matches
        case(
            "ForAllValues with a stray value",
            allow_if(
                "iot:Connect",
                json!({"ForAllValues:StringEquals": {KEY_COGNITO_AMR: "authenticated"}}),
            ),
            connect(SUB).with_values(KEY_COGNITO_AMR, ["authenticated", "x"]),
            I,
        ),
        // IAM condition: values in conditions may contain policy variables
        case(
            "condition value with a variable",
            allow_if(
                "iot:Connect",
                json!({"StringEquals": {"iot:ClientId": "${iot:Connection.Thing.ThingName}"}}),
            ),
            device(connect("sensor-1"), "sensor-1"),
            A,
        ),
        // IAM condition: a variable value that cannot be resolved does not match
        case(
            "condition variable unresolved",
            allow_if(
                "iot:Connect",
                json!({"StringEquals": {"iot:ClientId": "${iot:Connection.Thing.ThingName}"}}),
            ),
            connect("sensor-1"),
            I,
        ),
        // IAM condition: all operators and keys of a Condition must be true
        case(
            "condition blocks are ANDed",
            allow_if(
                "iot:Connect",
                json!({"StringLike": {"iot:ClientId": "sensor-*"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
            ),
            connect("sensor-1").with(KEY_SOURCE_IP, "192.0.2.1"),
            I,
        ),
        // IAM condition: Null "true" requires the key to be absent
        case(
            "Null true with the key absent",
            allow_if(
                "iot:Connect",
                json!({"Null": {"iot:Connection.Thing.ThingName": "true"}}),
            ),
            connect("c1"),
            A,
        ),
        // IAM condition: NumericLessThan compares numbers
        case(
            "NumericLessThan",
            allow_if(
                "iot:Connect",
                json!({"NumericLessThan": {"custom:level": 5}}),
            ),
            connect("c1").with("custom:level", "3"),
            A,
        ),
        // IAM: an unknown condition operator makes the statement not apply
        case(
            "unknown operator in an Allow",
            allow_if(
                "iot:Connect",
                json!({"StringEqualz": {"iot:ClientId": "c1"}}),
            ),
            connect("c1"),
            I,
        ),
        // IAM: a Deny whose condition operator is unknown does not apply either
        case(
            "unknown operator in a Deny",
            doc(json!([
                allow(json!("iot:Connect"), "client/*"),
                {"Effect": "Deny", "Action": "iot:Connect", "Resource": "*", "Condition": {"Foo": {"iot:ClientId": "c1"}}}
            ])),
            connect("c1"),
            A,
        ),
        // IAM: Statement may be a single object instead of an array
        case(
            "single statement object",
            json!({"Version": "2012-10-17", "Statement": allow(json!("iot:Connect"), "client/c1")}),
            connect("c1"),
            A,
        ),
        // IAM: Effect must be exactly Allow or Deny
        case(
            "lower-case effect is ignored",
            doc(json!([{"Effect": "allow", "Action": "iot:Connect", "Resource": "*"}])),
            connect("c1"),
            I,
        ),
        // IAM: an empty policy allows nothing
        case("no statements", doc(json!([])), connect("c1"), I),
    ];
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let got = evaluate(&c.policy, &c.request);
        if got.decision != c.expect {
            failures.push(format!(
                "{}: expected {:?}, got {:?} (notes: {:?})",
                c.name, c.expect, got.decision, got.notes
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
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
    let eval = evaluate(&identity_policy(), &publish(&own("x")));
    assert!(
        eval.notes
            .iter()
            .any(|n| n.contains("${cognito-identity.amazonaws.com:sub}")
                && n.contains("no value in the request context")),
        "{:?}",
        eval.notes
    );

    let policy = allow_if(
        "iot:Connect",
        json!({"StringEqualz": {"iot:ClientId": "c1"}}),
    );
    let eval = evaluate(&policy, &connect("c1"));
    assert!(
        eval.notes
            .iter()
            .any(|n| n.contains("unknown condition operator \"StringEqualz\"")),
        "{:?}",
        eval.notes
    );

    let policy = allow_if(
        "iot:Connect",
        json!({"StringEquals": {KEY_COGNITO_AUD: POOL}}),
    );
    let eval = evaluate(&policy, &connect("c1"));
    assert!(
        eval.notes
            .iter()
            .any(|n| n.contains("Condition is not met")),
        "{:?}",
        eval.notes
    );

    let policy = json!({"Statement": [allow(json!("iot:Publish"), "topic/${iot:ClientId}")]});
    let eval = evaluate(&policy, &publish("c1"));
    assert!(
        eval.notes.iter().any(|n| n.contains("literal text")),
        "{:?}",
        eval.notes
    );

    let policy = doc(json!([{"Effect": "Allow", "Action": "iot:Connect"}]));
    let eval = evaluate(&policy, &connect("c1"));
    assert!(
        eval.notes
            .iter()
            .any(|n| n.contains("neither Resource nor NotResource")),
        "{:?}",
        eval.notes
    );

    let policy = doc(
        json!([{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}]),
    );
    let eval = evaluate(&policy, &connect("c1"));
    assert!(
        eval.notes
            .iter()
            .any(|n| n.contains("cannot be evaluated offline")),
        "{:?}",
        eval.notes
    );
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
