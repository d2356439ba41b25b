//! The live stack's identifiers, as text or JSON.

use serde::Serialize;
use serde_json::Value;

use super::Style;
use crate::discover::Live;

#[derive(Debug, Serialize)]
pub struct Outputs {
    pub prefix: String,
    pub region: String,
    pub account: String,
    /// Per resource id: its identifiers (`arn`, `name`, `id`, local file paths).
    pub resources: serde_json::Map<String, Value>,
    /// Resources of the stack that do not exist.
    pub missing: Vec<String>,
}

/// Attributes worth showing: identifiers and local file paths, never secrets.
const SHOWN: &[&str] = &["name", "arn", "id", "private_key"];

pub fn collect(prefix: &str, region: &str, account: &str, live: &[Live]) -> Outputs {
    let mut resources = serde_json::Map::new();
    let mut missing = Vec::new();
    for l in live {
        match &l.observed {
            Some(o) => {
                let attrs: serde_json::Map<String, Value> = o
                    .attrs
                    .iter()
                    .filter(|(k, v)| SHOWN.contains(&k.as_str()) && !v.is_empty())
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                if !attrs.is_empty() {
                    resources.insert(l.desired.id.clone(), Value::Object(attrs));
                }
            }
            None => missing.push(l.desired.id.clone()),
        }
    }
    Outputs {
        prefix: prefix.to_string(),
        region: region.to_string(),
        account: account.to_string(),
        resources,
        missing,
    }
}

pub fn json(o: &Outputs) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    v["format_version"] = Value::from(super::json::FORMAT_VERSION);
    v
}

pub fn human(o: &Outputs, st: &Style) -> String {
    let mut out = format!(
        "{} {} ({}, account {})\n",
        st.bold("iotstack outputs for"),
        st.bold(&o.prefix),
        o.region,
        o.account
    );
    for (id, attrs) in &o.resources {
        out.push_str(&format!("\n  {}\n", st.bold(id)));
        if let Some(m) = attrs.as_object() {
            for (k, v) in m {
                out.push_str(&format!("    {k:<12} {}\n", v.as_str().unwrap_or_default()));
            }
        }
    }
    if !o.missing.is_empty() {
        out.push_str(&format!(
            "\n{}\n",
            st.yellow(&format!("not created yet: {}", o.missing.join(", ")))
        ));
    }
    if o.resources.is_empty() {
        out.push_str("\nNothing of this stack exists: run `iotstack apply` first.\n");
    }
    out
}

/// An `aws-exports.json` for Amplify PubSub (or an aws-iot style client): the pools, the client,
/// the IoT endpoint over WebSockets, and the attach function's URL. Values of resources that do
/// not exist are empty strings.
pub fn aws_exports(stack: &crate::stack::Stack, live: &[Live], region: &str) -> Value {
    let attr = |type_name: &str, attr: &str| -> String {
        stack
            .resources
            .iter()
            .filter(|r| r.kind.type_name() == type_name)
            .find_map(|r| {
                live.iter()
                    .find(|l| l.desired.id == r.id)
                    .and_then(|l| l.observed.as_ref())
                    .map(|o| o.attr(attr).to_string())
            })
            .unwrap_or_default()
    };
    let endpoint = attr("iot_endpoint", "address");
    let wss = if endpoint.is_empty() {
        String::new()
    } else {
        format!("wss://{endpoint}/mqtt")
    };
    let policy = stack
        .resources
        .iter()
        .filter(|r| r.kind.type_name() == "iot_identity_attachments")
        .find_map(|r| live.iter().find(|l| l.desired.id == r.id))
        .map(|l| l.desired.str("policy").to_string())
        .unwrap_or_default();
    serde_json::json!({
        "aws_project_region": region,
        "aws_cognito_region": region,
        "aws_user_pools_id": attr("cognito_user_pool", "id"),
        "aws_user_pools_web_client_id": attr("cognito_user_pool_client", "id"),
        "aws_cognito_identity_pool_id": attr("cognito_identity_pool", "id"),
        "aws_pubsub_region": region,
        "aws_pubsub_endpoint": wss,
        "aws_iot_endpoint": endpoint,
        "aws_iot_policy_name": policy,
        "aws_iot_attach_policy_url": attr("lambda_function_url", "url"),
    })
}
