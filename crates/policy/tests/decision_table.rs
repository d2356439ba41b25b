//! The evaluator's table of cases, `decision_table.json`: each case a policy, a request and the
//! decision the documented IAM and AWS IoT rules give (its `about` says how a case is written).

use iotstack_policy::{evaluate, Context, Decision, IotAction, Request};
use serde_json::{Map, Value};

mod common;
use common::*;

struct Case {
    name: String,
    policy: Value,
    request: Request,
    expect: Decision,
}

fn cases() -> Vec<Case> {
    let text = include_str!("decision_table.json")
        .replace("<pool>", POOL)
        .replace("<other-sub>", OTHER_SUB)
        .replace("<sub>", SUB);
    let table: Value = serde_json::from_str(&text).expect("decision_table.json is not JSON");
    let policies = table["policies"].as_object().expect("no policies");
    table["cases"]
        .as_array()
        .expect("no cases")
        .iter()
        .map(|c| case(c, policies))
        .collect()
}

fn case(c: &Value, policies: &Map<String, Value>) -> Case {
    let name = c["name"]
        .as_str()
        .expect("a case without a name")
        .to_string();
    let policy = match (c.get("policy"), c.get("statements")) {
        (Some(Value::String(named)), None) => policies
            .get(named)
            .unwrap_or_else(|| panic!("{name}: no policy {named:?}"))
            .clone(),
        (Some(policy), None) => policy.clone(),
        (None, Some(statements)) => doc(statements.clone()),
        _ => panic!("{name}: give either policy or statements"),
    };
    let expect = [
        Decision::Allow,
        Decision::ExplicitDeny,
        Decision::ImplicitDeny,
    ]
    .into_iter()
    .find(|d| c["expect"].as_str() == Some(d.as_str()))
    .unwrap_or_else(|| panic!("{name}: expect is not a decision"));
    Case {
        request: request(&name, &c["request"]),
        name,
        policy,
        expect,
    }
}

fn request(name: &str, spec: &Value) -> Request {
    let text = |key: &str| spec.get(key).and_then(Value::as_str);
    let data_plane = [
        ("connect", IotAction::Connect),
        ("publish", IotAction::Publish),
        ("receive", IotAction::Receive),
        ("subscribe", IotAction::Subscribe),
    ];
    let mut request = data_plane
        .into_iter()
        .find_map(|(key, action)| text(key).map(|n| Request::iot(action, REGION, ACCOUNT, n)))
        .or_else(|| Some(Request::new(text("action")?, text("resource")?)))
        .unwrap_or_else(|| panic!("{name}: the request names no action"));
    if spec.get("identity") == Some(&Value::Bool(true)) {
        request = request.with_context(&Context::cognito_identity(SUB, POOL, true));
    }
    let context = spec.get("context").and_then(Value::as_object);
    for (key, value) in context.into_iter().flatten() {
        let values: Vec<&str> = match value {
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            other => other.as_str().into_iter().collect(),
        };
        request = request.with_values(key, values);
    }
    request
}

#[test]
fn decision_table() {
    let cases = cases();
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
