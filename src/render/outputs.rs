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
    /// Where `--device-bundle` wrote the device's files (absent without the flag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_bundle: Option<crate::bundle::Bundle>,
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
        device_bundle: None,
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
    if let Some(b) = &o.device_bundle {
        out.push_str(&bundle_human(b, st));
    }
    out
}

/// Where the device bundle is and what it holds (the key by name only).
fn bundle_human(b: &crate::bundle::Bundle, st: &Style) -> String {
    let file = |role: &str| b.files.get(role).copied().unwrap_or_default();
    let mut out = format!(
        "\n{} {}\n",
        st.bold("Device bundle written to"),
        b.path.display()
    );
    for (label, value) in [
        (
            "certificate",
            format!("{} ({})", file("certificate"), b.certificate_id),
        ),
        (
            "private key",
            format!("{} (mode 0600)", file("private_key")),
        ),
        ("root CA", format!("{} (Amazon Root CA 1)", file("root_ca"))),
        (
            "endpoint",
            format!("{}:{} ({})", b.endpoint, b.port, file("endpoint")),
        ),
        (
            "client id",
            format!("{} ({})", b.client_id, file("client_id")),
        ),
        ("connect", format!("see {}", file("readme"))),
    ] {
        out.push_str(&format!("    {label:<12} {value}\n"));
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;

    fn with_bundle() -> Outputs {
        let mut resources = serde_json::Map::new();
        resources.insert(
            "device-cert".into(),
            serde_json::json!({"id": "abc123", "private_key": ".iotstack/demo/device-cert.private.key"}),
        );
        Outputs {
            prefix: "demo".into(),
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            resources,
            missing: Vec::new(),
            device_bundle: Some(crate::bundle::Bundle {
                path: PathBuf::from("/home/ops/demo-device"),
                client_id: "demo-thing".into(),
                endpoint: "a1example-ats.iot.eu-west-1.amazonaws.com".into(),
                port: crate::bundle::MQTT_PORT,
                certificate_id: "abc123".into(),
                files: BTreeMap::from([
                    ("certificate", crate::bundle::CERTIFICATE),
                    ("private_key", crate::bundle::PRIVATE_KEY),
                    ("root_ca", crate::bundle::ROOT_CA),
                    ("endpoint", crate::bundle::ENDPOINT),
                    ("client_id", crate::bundle::CLIENT_ID),
                    ("readme", crate::bundle::README),
                ]),
            }),
        }
    }

    #[test]
    fn output_names_where_the_device_bundle_is() {
        let o = with_bundle();
        insta::assert_snapshot!("bundle_human", human(&o, &Style { color: false }));
        insta::assert_json_snapshot!("bundle_json", json(&o)["device_bundle"]);
        let mut without = with_bundle();
        without.device_bundle = None;
        assert!(json(&without).get("device_bundle").is_none());
    }
}
