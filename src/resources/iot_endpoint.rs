//! The account's IoT data endpoint: a data source, only read.

use async_trait::async_trait;
use serde_json::Value;

use super::{Ctx, Desired, KindSpec, Observed, Ownership, PropSpec, PropType, Read};
use crate::aws::{Missing, OpExt};
use crate::error::ResourceError;

pub struct IotEndpoint;

static PROPS: &[PropSpec] = &[PropSpec::optional(
    "endpoint_type",
    PropType::Str,
    "iot:Data-ATS (default), iot:CredentialProvider or iot:Jobs",
)];

pub static SPEC: KindSpec = KindSpec {
    type_name: "iot_endpoint",
    props: PROPS,
    attrs: &["address"],
    name_rule: None,
    ownership: Ownership::None,
    missing: Missing::IOT,
    facts: &[],
};

#[async_trait]
impl Read for IotEndpoint {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let t = want.opt_str("endpoint_type").unwrap_or("iot:Data-ATS");
        let r = ctx
            .clients
            .iot
            .describe_endpoint()
            .endpoint_type(t)
            .send()
            .await
            .op("DescribeEndpoint")?;
        let mut o = Observed::default();
        for (k, v) in &want.props {
            o.props.insert(k.clone(), v.clone());
        }
        o.props
            .insert("endpoint_type".into(), Value::String(t.to_string()));
        o.attrs.insert(
            "address".into(),
            r.endpoint_address().unwrap_or_default().to_string(),
        );
        Ok(Some(o))
    }
}
