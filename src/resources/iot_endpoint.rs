//! The account's IoT data endpoint: a data source, only read.

use aws_sdk_iot::operation::describe_endpoint::DescribeEndpointOutput;
use serde_json::{json, Value};

use super::prelude::*;

pub struct IotEndpoint;

pub static SPEC: KindSpec = KindSpec {
    type_name: "iot_endpoint",
    props: &[PropSpec::optional(
        "endpoint_type",
        PropType::Str,
        "iot:Data-ATS (default), iot:CredentialProvider or iot:Jobs",
    )],
    attrs: &["address"],
    name_rule: None,
    ownership: Ownership::None,
    missing: Missing::IOT,
    facts: &[],
    deleted_with: &[],
};

fn endpoint_type(want: &Desired) -> &str {
    want.opt_str("endpoint_type").unwrap_or("iot:Data-ATS")
}

#[async_trait]
impl Fetch for IotEndpoint {
    module_spec!(DescribeEndpointOutput);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let call = ctx.clients.iot.describe_endpoint();
        let call = call.endpoint_type(endpoint_type(want));
        Ok(Some(call.send().await.op("DescribeEndpoint")?))
    }

    /// A data source is what the stack says it is, with the address AWS gives.
    fn observe(&self, r: DescribeEndpointOutput, want: &Desired) -> Option<Observed> {
        let mut props: serde_json::Map<String, Value> = want.props.clone().into_iter().collect();
        props.insert("endpoint_type".into(), json!(endpoint_type(want)));
        Some(Observed::new(
            Value::Object(props),
            json!({ "address": r.endpoint_address().unwrap_or_default() }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_an_attribute_and_the_type_defaults_to_data_ats() {
        let r = DescribeEndpointOutput::builder()
            .endpoint_address("abc123-ats.iot.eu-west-1.amazonaws.com")
            .build();
        let o = IotEndpoint.observe(r, &Desired::from_json("endpoint", json!({})));
        let o = o.unwrap();
        assert_eq!(o.attr("address"), "abc123-ats.iot.eu-west-1.amazonaws.com");
        assert_eq!(o.props["endpoint_type"], json!("iot:Data-ATS"));
    }
}
