//! Fixtures shared by the policy crate's tests: the account the ARNs name, the Cognito ids, and
//! the default stack's policies.
#![allow(dead_code)]

use serde_json::{json, Value};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
pub const POOL: &str = "us-east-1:6a1b8c2d-0000-4000-8000-000000000001";
pub const SUB: &str = "us-east-1:9f8e7d6c-1111-4111-8111-000000000002";
pub const OTHER_SUB: &str = "us-east-1:00000000-2222-4222-8222-000000000003";

pub fn arn(resource: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:{resource}")
}

pub fn doc(statements: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

pub fn allow(action: Value, resource: &str) -> Value {
    json!({"Effect": "Allow", "Action": action, "Resource": arn(resource)})
}

pub fn allow_if(action: &str, condition: Value) -> Value {
    doc(json!([{
        "Effect": "Allow",
        "Action": action,
        "Resource": "*",
        "Condition": condition
    }]))
}

/// The default stack's policy for Cognito identities.
pub fn identity_policy() -> Value {
    doc(json!([
        {"Effect": "Allow", "Action": "iot:Connect",
         "Resource": arn("client/${cognito-identity.amazonaws.com:sub}")},
        {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
         "Resource": arn(&format!("topic/{POOL}/${{cognito-identity.amazonaws.com:sub}}/*"))},
        {"Effect": "Allow", "Action": "iot:Subscribe",
         "Resource": arn(&format!("topicfilter/{POOL}/${{cognito-identity.amazonaws.com:sub}}/*"))}
    ]))
}

/// A device policy scoped by the attached thing's name.
pub fn device_policy() -> Value {
    doc(json!([
        {"Effect": "Allow", "Action": "iot:Connect",
         "Resource": arn("client/${iot:Connection.Thing.ThingName}")},
        {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
         "Resource": [arn("topic/P/devices/${iot:Connection.Thing.ThingName}/*"), arn("topic/P/alerts")]},
        {"Effect": "Allow", "Action": "iot:Subscribe",
         "Resource": arn("topicfilter/P/devices/${iot:Connection.Thing.ThingName}/*")}
    ]))
}
