//! The lint rules, through the crate's API: which findings, where, and what they say.

use iotstack_policy::lint::*;
use serde_json::{json, Value};

mod common;
use common::*;

fn rules(findings: &[Finding]) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = findings.iter().map(|f| f.rule).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn find<'a>(findings: &'a [Finding], rule: &str) -> &'a Finding {
    match findings.iter().find(|f| f.rule == rule) {
        Some(f) => f,
        None => panic!("no {rule} finding in {findings:#?}"),
    }
}

#[test]
fn seed_device_policy_allow_everything() {
    let seed = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]});
    let findings = lint_iot_policy(&seed);
    assert_eq!(
        rules(&findings),
        vec![RULE_WILDCARD_ACTION, RULE_WILDCARD_RESOURCE],
        "{findings:#?}"
    );
    let action = find(&findings, RULE_WILDCARD_ACTION);
    assert_eq!(
        (action.severity, action.statement, action.pointer.as_str()),
        (Severity::Error, Some(0), "/Statement/0/Action")
    );
    assert!(action.message.contains("iot:Connect"));
    let resource = find(&findings, RULE_WILDCARD_RESOURCE);
    assert_eq!(
        (resource.severity, resource.pointer.as_str()),
        (Severity::Error, "/Statement/0/Resource")
    );
    assert!(has_errors(&findings));
}

#[test]
fn seed_authenticated_role_policy() {
    let seed = doc(json!([{
        "Effect": "Allow",
        "Action": ["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:AttachPolicy"],
        "Resource": "*"
    }]));
    // Found again below when the same grants are written one statement per action.
    let found = [
        RULE_ATTACH_POLICY,
        RULE_WILDCARD_RESOURCE,
        RULE_SUBSCRIBE_WITHOUT_RECEIVE,
    ];
    let findings = lint_identity_policy(&seed);
    assert_eq!(rules(&findings), found, "{findings:#?}");
    let attach = find(&findings, RULE_ATTACH_POLICY);
    assert_eq!(
        (attach.severity, attach.pointer.as_str()),
        (Severity::Error, "/Statement/0/Action/3")
    );
    assert!(attach
        .message
        .contains("any identity can attach any policy to any target"));
    let receive = find(&findings, RULE_SUBSCRIBE_WITHOUT_RECEIVE);
    assert_eq!(
        (receive.severity, receive.pointer.as_str()),
        (Severity::Error, "/Statement/0/Action/2")
    );
    assert!(receive.message.contains("add iot:Receive on"));
    assert_eq!(
        find(&findings, RULE_WILDCARD_RESOURCE).severity,
        Severity::Warning
    );

    // The same grants written as one statement per action.
    let split = doc(json!([
        {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"},
        {"Effect": "Allow", "Action": "iot:Publish", "Resource": "*"},
        {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "*"},
        {"Effect": "Allow", "Action": "iot:AttachPolicy", "Resource": "*"}
    ]));
    let findings = lint_identity_policy(&split);
    assert_eq!(rules(&findings), found);
    assert_eq!(
        find(&findings, RULE_ATTACH_POLICY).pointer,
        "/Statement/3/Action"
    );
    assert_eq!(
        find(&findings, RULE_SUBSCRIBE_WITHOUT_RECEIVE).statement,
        Some(2)
    );
}

#[test]
fn default_stack_policies_lint_clean() {
    assert_eq!(lint_iot_policy(&identity_policy()), vec![]);
    assert_eq!(lint_identity_policy(&identity_policy()), vec![]);
    assert_eq!(lint_iot_policy(&device_policy()), vec![]);
    let as_text = Value::String(device_policy().to_string());
    assert_eq!(lint_iot_policy(&as_text), vec![]);
}

#[test]
fn structure_errors_point_at_the_problem() {
    let cases = [
        (json!({"Version": "2012-10-17"}), "/Statement"),
        (json!([]), ""),
        (
            json!({"Version": "2012-10-17", "Statement": "x"}),
            "/Statement",
        ),
        (
            doc(json!([{"Action": "iot:Connect", "Resource": "*"}])),
            "/Statement/0/Effect",
        ),
        (
            doc(json!([{"Effect": "allow", "Action": "iot:Connect", "Resource": "*"}])),
            "/Statement/0/Effect",
        ),
        (
            doc(json!([{"Effect": "Allow", "Resource": "*"}])),
            "/Statement/0/Action",
        ),
        (
            doc(json!([{"Effect": "Allow", "Action": "iot:Connect"}])),
            "/Statement/0/Resource",
        ),
        (
            doc(
                json!([{"Effect": "Allow", "Action": "iot:Connect", "NotAction": "iot:Publish", "Resource": "*"}]),
            ),
            "/Statement/0/NotAction",
        ),
        (
            doc(json!([{"Effect": "Allow", "Action": ["iot:Connect", 7], "Resource": "*"}])),
            "/Statement/0/Action/1",
        ),
        (
            doc(json!([{"Effect": "Allow", "Action": [], "Resource": "*"}])),
            "/Statement/0/Action",
        ),
        (
            doc(json!([{"Effect": "Allow", "Action": "iot:Connect", "Resources": "*"}])),
            "/Statement/0/Resources",
        ),
        (
            doc(
                json!([{"Effect": "Allow", "Principal": "*", "Action": "iot:Connect", "Resource": arn("client/c1")}]),
            ),
            "/Statement/0/Principal",
        ),
        (doc(json!(["not a statement"])), "/Statement/0"),
        (
            json!({"Version": "2012-10-18", "Statement": []}),
            "/Version",
        ),
        (Value::String("{oops".to_string()), ""),
    ];
    for (policy, pointer) in cases {
        let findings = lint_common(&policy);
        let hit = findings
            .iter()
            .find(|f| f.rule == RULE_STRUCTURE && f.pointer == pointer);
        assert!(
            hit.is_some_and(|f| f.severity == Severity::Error),
            "{policy}: {findings:#?}"
        );
    }
    let findings = lint_common(&doc(json!([{"Effect": "Allow", "Resource": "*"}])));
    assert_eq!(find(&findings, RULE_STRUCTURE).statement, Some(0));
    assert!(find(&findings, RULE_STRUCTURE)
        .message
        .contains("Action is missing"));
}

#[test]
fn variables_need_version_2012() {
    let policy = json!({"Statement": [{"Effect": "Allow", "Action": "iot:Connect",
        "Resource": arn("client/${iot:Connection.Thing.ThingName}")}]});
    let findings = lint_iot_policy(&policy);
    assert_eq!(rules(&findings), vec![RULE_VERSION]);
    assert_eq!(find(&findings, RULE_VERSION).pointer, "/Version");
}

#[test]
fn unknown_condition_operator() {
    let policy = doc(
        json!([{"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client/c1"),
        "Condition": {"StringEqualz": {"iot:ClientId": "c1"}, "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}}}]),
    );
    let findings = lint_iot_policy(&policy);
    assert_eq!(rules(&findings), vec![RULE_CONDITION_OPERATOR]);
    assert_eq!(
        find(&findings, RULE_CONDITION_OPERATOR).pointer,
        "/Statement/0/Condition/StringEqualz"
    );
}

#[test]
fn wildcard_actions() {
    // Scoped resource: a warning, not an error.
    let policy = doc(
        json!([{"Effect": "Allow", "Action": ["iot:Connect", "io?:*"], "Resource": arn("client/c1")}]),
    );
    let findings = lint_iot_policy(&policy);
    let f = find(&findings, RULE_WILDCARD_ACTION);
    assert_eq!(
        (f.severity, f.pointer.as_str()),
        (Severity::Warning, "/Statement/0/Action/1")
    );

    let policy = doc(json!([{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:iot:*:*:*"}]));
    let findings = lint_iot_policy(&policy);
    assert_eq!(
        find(&findings, RULE_WILDCARD_ACTION).severity,
        Severity::Error
    );
    assert_eq!(
        find(&findings, RULE_WILDCARD_RESOURCE).severity,
        Severity::Error
    );

    // A partial wildcard and a Deny are fine.
    let policy = doc(json!([
        {"Effect": "Allow", "Action": "iot:Pub*", "Resource": arn("topic/a")},
        {"Effect": "Deny", "Action": "iot:*", "Resource": "*"}
    ]));
    assert_eq!(lint_iot_policy(&policy), vec![]);

    let policy =
        doc(json!([{"Effect": "Allow", "NotAction": "iot:Publish", "Resource": arn("topic/a")}]));
    let findings = lint_iot_policy(&policy);
    assert_eq!(
        find(&findings, RULE_WILDCARD_ACTION).pointer,
        "/Statement/0/NotAction"
    );
}

#[test]
fn wildcard_resources() {
    for resource in [
        "*",
        "arn:aws:iot:*",
        "arn:aws:iot:*:*:*",
        "arn:aws:iot:us-east-1:123456789012:*",
    ] {
        let policy =
            doc(json!([{"Effect": "Allow", "Action": "iot:Connect", "Resource": resource}]));
        let findings = lint_iot_policy(&policy);
        let f = find(&findings, RULE_WILDCARD_RESOURCE);
        assert_eq!(f.severity, Severity::Warning, "{resource}");
        assert!(
            f.message
                .contains("client/${iot:Connection.Thing.ThingName}"),
            "{}",
            f.message
        );
    }
    let policy = doc(
        json!([{"Effect": "Allow", "Action": "iot:Publish", "Resource": [arn("topic/a/*"), "arn:aws:s3:::*"]}]),
    );
    assert!(lint_iot_policy(&policy)
        .iter()
        .all(|f| f.rule != RULE_WILDCARD_RESOURCE));
}

#[test]
fn wildcard_resource_only_concerns_the_data_plane() {
    // Control-plane actions and other services: `*` is not an IoT data-plane grant.
    let policy = doc(json!([
        {"Effect": "Allow", "Action": "iot:AttachPolicy", "Resource": "*"},
        {"Effect": "Allow", "Action": "iot:DescribeEndpoint", "Resource": "*"},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "NotResource": "arn:aws:logs:*:*:log-group:x"}
    ]));
    assert_eq!(lint_common(&policy), vec![]);
    // Data-plane actions, directly or by wildcard, still count.
    for action in [
        json!("iot:Subscribe"),
        json!("iot:Re*"),
        json!(["iot:AttachPolicy", "iot:Connect"]),
    ] {
        let policy = doc(json!([{"Effect": "Allow", "Action": action, "Resource": "*"}]));
        assert_eq!(
            find(&lint_common(&policy), RULE_WILDCARD_RESOURCE).pointer,
            "/Statement/0/Resource"
        );
    }
    // The identity rule still reports the attach grant itself.
    let policy = doc(json!([{"Effect": "Allow", "Action": "iot:AttachPolicy", "Resource": "*"}]));
    assert_eq!(
        rules(&lint_identity_policy(&policy)),
        vec![RULE_ATTACH_POLICY]
    );
}

#[test]
fn trust_and_resource_policies_name_a_principal() {
    let trust = doc(json!([{
        "Effect": "Allow",
        "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": POOL}}
    }]));
    assert_eq!(lint_trust_policy(&trust), vec![]);
    // As an identity policy, the same document is malformed.
    assert_eq!(
        find(&lint_common(&trust), RULE_STRUCTURE).pointer,
        "/Statement/0/Principal"
    );
    let bad = doc(json!([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]));
    let findings = lint_trust_policy(&bad);
    let pointers: Vec<&str> = findings.iter().map(|f| f.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        vec!["/Statement/0/Principal", "/Statement/0/Resource"],
        "{findings:#?}"
    );
    assert!(findings.iter().all(|f| f.severity == Severity::Error));

    let secret = doc(json!([{
        "Effect": "Deny", "Principal": "*",
        "Action": ["secretsmanager:GetSecretValue"], "Resource": "*",
        "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.7/32"}}
    }]));
    assert_eq!(lint_resource_policy(&secret), vec![]);
    let mut no_principal = secret.clone();
    if let Some(o) = no_principal["Statement"][0].as_object_mut() {
        o.remove("Principal");
    }
    assert_eq!(
        find(&lint_resource_policy(&no_principal), RULE_STRUCTURE).pointer,
        "/Statement/0/Principal"
    );
    let mut no_resource = secret;
    if let Some(o) = no_resource["Statement"][0].as_object_mut() {
        o.remove("Resource");
    }
    assert_eq!(
        find(&lint_resource_policy(&no_resource), RULE_STRUCTURE).pointer,
        "/Statement/0/Resource"
    );
}

#[test]
fn attach_policy_in_identity_policies() {
    for (action, pointer) in [
        (json!("iot:Attach*"), "/Statement/0/Action"),
        (json!(["iot:Connect", "iot:*"]), "/Statement/0/Action/1"),
        (json!("*"), "/Statement/0/Action"),
    ] {
        let policy = doc(json!([{"Effect": "Allow", "Action": action, "Resource": arn("cert/*")}]));
        let findings = lint_identity_policy(&policy);
        let f = find(&findings, RULE_ATTACH_POLICY);
        assert_eq!((f.severity, f.pointer.as_str()), (Severity::Error, pointer));
        // IoT policies are not checked for this rule.
        assert!(lint_iot_policy(&policy)
            .iter()
            .all(|f| f.rule != RULE_ATTACH_POLICY));
    }
    // The stack's opt-in turns the error into a warning that says so; other rules stay.
    let policy = doc(json!([{"Effect": "Allow", "Action": "iot:AttachPolicy", "Resource": "*"}]));
    let findings = lint_identity_policy(&policy);
    let opted: Vec<Finding> = findings.iter().cloned().map(self_attach_opted_in).collect();
    let f = find(&opted, RULE_ATTACH_POLICY);
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.message.starts_with("the identity pool role is granted iot:AttachPolicy (Action \"iot:AttachPolicy\" covers it), and the stack opts in"), "{}", f.message);
    assert!(
        f.message
            .contains("any signed-in identity can attach any AWS IoT policy to any target"),
        "{}",
        f.message
    );
    for (before, after) in findings.iter().zip(&opted) {
        if before.rule != RULE_ATTACH_POLICY {
            assert_eq!(before, after);
        }
    }
    let policy = doc(json!([{"Effect": "Allow", "NotAction": "iot:Publish", "Resource": "*"}]));
    assert_eq!(
        find(&lint_identity_policy(&policy), RULE_ATTACH_POLICY).pointer,
        "/Statement/0/NotAction"
    );

    // An unconditional Deny on every resource removes the grant.
    let policy = doc(json!([
        {"Effect": "Allow", "Action": "iot:*", "Resource": arn("topic/a")},
        {"Effect": "Deny", "Action": ["iot:AttachPolicy", "iot:AttachPrincipalPolicy"], "Resource": "*"}
    ]));
    assert!(lint_identity_policy(&policy)
        .iter()
        .all(|f| f.rule != RULE_ATTACH_POLICY));
}

#[test]
fn client_id_variable_needs_a_restricted_connect() {
    let topic = arn("topic/clients/${iot:ClientId}/*");
    let unrestricted = doc(json!([
        {"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client/*")},
        {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": ["*", topic]}
    ]));
    let findings = lint_iot_policy(&unrestricted);
    let f = find(&findings, RULE_CLIENT_ID_VARIABLE);
    assert_eq!(
        (f.severity, f.pointer.as_str()),
        (Severity::Warning, "/Statement/1/Resource/1")
    );

    let no_connect = doc(
        json!([{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": arn("topicfilter/c/${iot:ClientId}")},
        {"Effect": "Allow", "Action": "iot:Receive", "Resource": arn("topic/c/*")}]),
    );
    assert_eq!(
        rules(&lint_iot_policy(&no_connect)),
        vec![RULE_CLIENT_ID_VARIABLE]
    );

    let self_reference = doc(json!([
        {"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client/${iot:ClientId}")},
        {"Effect": "Allow", "Action": "iot:Publish", "Resource": topic}
    ]));
    assert_eq!(
        rules(&lint_iot_policy(&self_reference)),
        vec![RULE_CLIENT_ID_VARIABLE]
    );

    let restricted = doc(json!([
        {"Effect": "Allow", "Action": "iot:Connect", "Resource": [arn("client/${iot:Connection.Thing.ThingName}"), arn("client/gateway-1")]},
        {"Effect": "Allow", "Action": "iot:Publish", "Resource": topic}
    ]));
    assert_eq!(lint_iot_policy(&restricted), vec![]);
}

#[test]
fn mqtt_wildcards_are_literal() {
    let policy = doc(json!([
        {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": [arn("topic/a/b"), arn("topic/a/+")]},
        {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": arn("topicfilter/a/#")}
    ]));
    let findings = lint_iot_policy(&policy);
    assert_eq!(rules(&findings), vec![RULE_MQTT_WILDCARD]);
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[0].pointer, "/Statement/0/Resource/1");
    assert!(
        findings[0].message.contains(&arn("topic/a/*")),
        "{}",
        findings[0].message
    );
    assert_eq!(findings[1].pointer, "/Statement/1/Resource");
    assert!(findings[1].message.contains(&arn("topicfilter/a/*")));
    assert_eq!(findings[1].severity, Severity::Warning);
}

#[test]
fn resource_types_that_never_match() {
    let receive = json!({"Effect": "Allow", "Action": "iot:Receive", "Resource": arn("topic/x/*")});
    // Subscribe against topic/: never matches.
    let policy = doc(
        json!([{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": arn("topic/x/*")}, receive]),
    );
    let findings = lint_iot_policy(&policy);
    assert_eq!(rules(&findings), vec![RULE_RESOURCE_TYPE]);
    let f = find(&findings, RULE_RESOURCE_TYPE);
    assert_eq!(
        (f.severity, f.pointer.as_str()),
        (Severity::Error, "/Statement/0/Resource")
    );
    assert!(f.message.contains(&arn("topicfilter/x/*")), "{}", f.message);

    // Publish/Receive against topicfilter/: never matches.
    let policy = doc(
        json!([{"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": [arn("topic/a"), arn("topicfilter/b")]}]),
    );
    let f = find(&lint_iot_policy(&policy), RULE_RESOURCE_TYPE).clone();
    assert_eq!(f.pointer, "/Statement/0/Resource/1");
    assert!(f.message.contains(&arn("topic/b")));

    // Connect against topic/.
    let policy =
        doc(json!([{"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("topic/c1")}]));
    assert_eq!(
        find(&lint_iot_policy(&policy), RULE_RESOURCE_TYPE).pointer,
        "/Statement/0/Resource"
    );

    // Mixed actions: Subscribe has no topicfilter/ resource.
    let policy = doc(
        json!([{"Effect": "Allow", "Action": ["iot:Publish", "iot:Subscribe", "iot:Receive"], "Resource": arn("topic/x/*")}]),
    );
    let findings = lint_iot_policy(&policy);
    assert_eq!(rules(&findings), vec![RULE_RESOURCE_TYPE]);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].pointer, "/Statement/0/Action/1");
    assert!(findings[0].message.contains(&arn("topicfilter/x/*")));

    // Mixed actions with a resource of each type, or a wildcard action: fine.
    let policy = doc(json!([
        {"Effect": "Allow", "Action": ["iot:Publish", "iot:Subscribe", "iot:Receive"], "Resource": [arn("topic/x/*"), arn("topicfilter/x/*")]},
        {"Effect": "Allow", "Action": ["iot:Get*"], "Resource": arn("thing/t1")}
    ]));
    assert_eq!(lint_iot_policy(&policy), vec![]);
}

#[test]
fn subscribe_requires_receive() {
    let policy = doc(json!([
        {"Effect": "Allow", "Action": "iot:Publish", "Resource": arn("topic/a/*")},
        {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": [arn("topicfilter/a/*"), arn("topicfilter/b")]}
    ]));
    let findings = lint_iot_policy(&policy);
    assert_eq!(rules(&findings), vec![RULE_SUBSCRIBE_WITHOUT_RECEIVE]);
    let f = &findings[0];
    assert_eq!(
        (f.statement, f.pointer.as_str()),
        (Some(1), "/Statement/1/Action")
    );
    assert!(f
        .message
        .starts_with("subscribers will not receive messages"));
    assert!(
        f.message
            .contains(&format!("{}, {}", arn("topic/a/*"), arn("topic/b"))),
        "{}",
        f.message
    );

    // A Deny for Receive does not count as a grant; an Allow does.
    let mut with_receive = policy.clone();
    if let Some(statements) = with_receive["Statement"].as_array_mut() {
        statements.push(
            json!({"Effect": "Allow", "Action": "iot:Receive", "Resource": arn("topic/a/*")}),
        );
    }
    assert_eq!(lint_iot_policy(&with_receive), vec![]);
}

#[test]
fn finding_display() {
    let f = Finding {
        rule: RULE_MQTT_WILDCARD,
        severity: Severity::Warning,
        message: "m".to_string(),
        statement: Some(0),
        pointer: "/Statement/0/Resource".to_string(),
    };
    assert_eq!(
        f.to_string(),
        "warning[mqtt-wildcard-in-resource] /Statement/0/Resource: m"
    );
    assert!(Severity::Error > Severity::Warning);
}
