//! Plans, outcomes and errors as the commands make them, for the renderers' tests.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::apply::Outcome;
use crate::error::{AwsError, Diagnostic, Error, Origin};
use crate::plan::{Action, Plan, PropChange, ResourceChange};
use crate::resources::Observed;

pub(crate) fn change(property: &str, before: Option<Value>, after: Option<Value>) -> PropChange {
    PropChange {
        property: property.into(),
        before,
        after,
        after_unknown: false,
        forces_replacement: false,
    }
}

pub(crate) fn resource(
    id: &str,
    type_name: &str,
    name: &str,
    action: Action,
    changes: Vec<PropChange>,
) -> ResourceChange {
    ResourceChange {
        id: id.into(),
        type_name: type_name.into(),
        name: name.into(),
        action,
        changes,
        reason: None,
        notes: Vec::new(),
        data_loss: None,
        if_adopted: None,
    }
}

/// A plan with one resource of each action, as `plan::plan` would build it.
pub(crate) fn sample_plan() -> Plan {
    let loss = "the user pool has 3 user(s); deleting it deletes them";
    let thing = resource(
        "device-thing",
        "iot_thing",
        "demo-thing",
        Action::Create,
        vec![
            change("attributes", None, Some(json!({"model": "sensor-v2"}))),
            change("name", None, Some(json!("demo-thing"))),
            change("tags", None, Some(json!({"iotstack:stack": "demo"}))),
        ],
    );
    let thing_cert = resource(
        "device-cert-thing",
        "iot_thing_principal",
        "device-cert-thing",
        Action::Create,
        vec![
            PropChange {
                after_unknown: true,
                ..change(
                    "principal",
                    None,
                    Some(json!("(known after apply: device-cert.arn)")),
                )
            },
            change("thing", None, Some(json!("demo-thing"))),
        ],
    );
    let rule = resource(
        "alert-rule",
        "iot_topic_rule",
        "demo_alerts",
        Action::Update,
        vec![change("enabled", Some(json!(false)), Some(json!(true)))],
    );
    let statement = |actions: Value| {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": actions,
                "Resource": "arn:aws:iot:eu-west-1:123456789012:topic/demo/*"
            }]
        })
    };
    let policy = resource(
        "identity-iot-policy",
        "iot_policy",
        "demo-cognito-iot-policy",
        Action::Update,
        vec![change(
            "document",
            Some(statement(json!("iot:Publish"))),
            Some(statement(json!(["iot:Publish", "iot:Receive"]))),
        )],
    );
    let mut pool = resource(
        "user-pool",
        "cognito_user_pool",
        "demo-user-pool",
        Action::Replace,
        vec![
            PropChange {
                forces_replacement: true,
                ..change(
                    "case_sensitive_usernames",
                    Some(json!(true)),
                    Some(json!(false)),
                )
            },
            change("password_min_length", Some(json!(6)), Some(json!(8))),
        ],
    );
    pool.reason = Some("case_sensitive_usernames cannot change in place".into());
    pool.notes = vec![format!("replacing it loses data: {loss}")];
    pool.data_loss = Some(loss.into());
    let identity_pool = resource(
        "identity-pool",
        "cognito_identity_pool",
        "demo-edge-identity-pool",
        Action::Update,
        vec![PropChange {
            after_unknown: true,
            ..change(
                "provider_name",
                Some(json!(
                    "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_EXAMPLE01"
                )),
                Some(json!("(known after apply: user-pool.provider_name)")),
            )
        }],
    );
    let topic = resource(
        "alert-topic",
        "sns_topic",
        "demo-iot-notification",
        Action::NoOp,
        Vec::new(),
    );
    // Live, made by an earlier apply, no longer in the stack file.
    let mut orphan = resource(
        "old-rule",
        "iot_topic_rule",
        "demo_old_alerts",
        Action::Delete,
        Vec::new(),
    );
    orphan.reason = Some("it is no longer in the stack file".into());
    Plan {
        prefix: "demo".into(),
        destroy: false,
        resources: vec![
            orphan,
            thing,
            thing_cert,
            topic,
            rule,
            pool,
            identity_pool,
            policy,
        ],
    }
}

pub(crate) fn destroy_plan() -> Plan {
    let loss = "the user pool has 3 user(s); deleting it deletes them";
    let mut pool = resource(
        "user-pool",
        "cognito_user_pool",
        "demo-user-pool",
        Action::Delete,
        Vec::new(),
    );
    pool.notes = vec![loss.into()];
    pool.data_loss = Some(loss.into());
    let mut cert = resource(
        "device-cert",
        "iot_certificate",
        "device-cert",
        Action::Delete,
        Vec::new(),
    );
    cert.notes = vec![
        "the private key of this certificate is not on this machine (expected at out/demo/device-cert.key)".into(),
    ];
    Plan {
        prefix: "demo".into(),
        destroy: true,
        resources: vec![
            resource(
                "identity-attachments",
                "iot_identity_attachments",
                "identity-attachments",
                Action::NoOp,
                Vec::new(),
            ),
            pool,
            resource(
                "alert-rule",
                "iot_topic_rule",
                "demo_alerts",
                Action::Delete,
                Vec::new(),
            ),
            cert,
        ],
    }
}

/// Map properties changed in place: one tag changed, one added, one removed.
pub(crate) fn map_plan() -> Plan {
    let tags = |endpoint: &str| {
        json!({
            "ClientId": "1example23",
            "EmailAddress": "ops@example.com",
            "IoTEndpoint": endpoint,
            "IoTPolicy": "demo-cognito-iot-policy",
            "iotstack:stack": "demo"
        })
    };
    let mut after = tags("b1example-ats.iot.eu-west-1.amazonaws.com");
    after["Team"] = json!("iot");
    let mut before = tags("a1example-ats.iot.eu-west-1.amazonaws.com");
    before["Owner"] = json!("ops");
    let secret = resource(
        "app-secret",
        "secretsmanager_secret",
        "eu-west-1_EXAMPLE01_demo-app-user",
        Action::Update,
        vec![change("tags", Some(before), Some(after))],
    );
    let function = resource(
        "attach-function",
        "lambda_function",
        "demo-attach-iot-policy",
        Action::Update,
        vec![PropChange {
            after_unknown: true,
            ..change(
                "environment",
                Some(
                    json!({"IDENTITY_POOL_ID": "eu-west-1:old", "IOT_POLICY_NAME": "demo-cognito-iot-policy"}),
                ),
                Some(
                    json!({"IDENTITY_POOL_ID": "(known after apply: identity-pool.id)", "IOT_POLICY_NAME": "demo-cognito-iot-policy"}),
                ),
            )
        }],
    );
    Plan {
        prefix: "demo".into(),
        destroy: false,
        resources: vec![secret, function],
    }
}

/// Everything live already matches the stack.
pub(crate) fn unchanged_plan(destroy: bool) -> Plan {
    Plan {
        prefix: "demo".into(),
        destroy,
        resources: vec![
            resource(
                "alert-topic",
                "sns_topic",
                "demo-iot-notification",
                Action::NoOp,
                Vec::new(),
            ),
            resource(
                "alert-rule",
                "iot_topic_rule",
                "demo_alerts",
                Action::NoOp,
                Vec::new(),
            ),
        ],
    }
}

pub(crate) fn live(id: &str, name: &str, arn: &str) -> Option<Observed> {
    let mut o = Observed::default();
    o.attrs.insert("id".into(), id.into());
    o.attrs.insert("name".into(), name.into());
    o.attrs.insert("arn".into(), arn.into());
    // Not part of the summary.
    o.attrs.insert("users".into(), "3".into());
    Some(o)
}

pub(crate) fn apply_outcome() -> Outcome {
    let mut live_state = BTreeMap::new();
    live_state.insert(
        "alert-rule".to_string(),
        live(
            "demo_alerts",
            "demo_alerts",
            "arn:aws:iot:eu-west-1:123456789012:rule/demo_alerts",
        ),
    );
    live_state.insert(
        "device-thing".to_string(),
        live(
            "demo-thing",
            "demo-thing",
            "arn:aws:iot:eu-west-1:123456789012:thing/demo-thing",
        ),
    );
    live_state.insert(
        "user-pool".to_string(),
        live(
            "eu-west-1_EXAMPLE02",
            "demo-user-pool",
            "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_EXAMPLE02",
        ),
    );
    let mut done = BTreeMap::new();
    done.insert("device-thing".to_string(), Action::Create);
    done.insert("alert-rule".to_string(), Action::Update);
    done.insert("identity-iot-policy".to_string(), Action::Update);
    done.insert("user-pool".to_string(), Action::Replace);
    Outcome {
        live: live_state,
        done,
        notes: vec![
            (
                "identity-iot-policy".into(),
                "detached from 2 target(s)".into(),
            ),
            (
                "alert-subscription".into(),
                "the subscription of ops@example.com is pending confirmation".into(),
            ),
        ],
        ..Default::default()
    }
}

pub(crate) fn destroy_outcome() -> Outcome {
    let mut live_state = BTreeMap::new();
    live_state.insert("alert-rule".to_string(), None);
    live_state.insert("user-pool".to_string(), None);
    let mut done = BTreeMap::new();
    done.insert("alert-rule".to_string(), Action::Delete);
    done.insert("user-pool".to_string(), Action::Delete);
    done.insert("device-cert".to_string(), Action::Delete);
    Outcome {
        live: live_state,
        done,
        notes: vec![(
            "alert-subscription".into(),
            "the subscription of ops@example.com is pending confirmation and AWS lists it without an ARN, so it cannot be removed".into(),
        )],
        ..Default::default()
    }
}

pub(crate) fn invalid_error() -> Error {
    Error::Invalid(vec![
        Diagnostic::error(
            Origin::File {
                path: "stacks/default.yaml".into(),
                line: 84,
                col: 7,
            },
            "unknown key `enable` in resource `alert-rule` properties",
        )
        .hint("valid keys: name, sql, enabled, sns_target_arn, role_arn"),
        Diagnostic::error(
            Origin::Flag("--email".into()),
            "`ops@` is not a valid email address (no domain); use name@example.com",
        ),
    ])
}

pub(crate) fn resource_error() -> Error {
    Error::Resource {
        action: "creating",
        resource: "iot_policy `identity-iot-policy`".into(),
        source: AwsError {
            operation: "CreatePolicy",
            code: Some("MalformedPolicyException".into()),
            message: "Policy document is malformed".into(),
        }
        .into(),
    }
}
