//! A Lambda function URL (with AWS_IAM auth, the caller's identity reaches the function in the
//! request's trusted context; no API Gateway needed).

use aws_sdk_lambda::operation::create_function_url_config::CreateFunctionUrlConfigOutput;
use aws_sdk_lambda::operation::get_function_url_config::GetFunctionUrlConfigOutput;
use aws_sdk_lambda::types::FunctionUrlAuthType;
use serde_json::json;

use super::lambda_function::once_ready;
use super::prelude::*;

pub struct LambdaFunctionUrl;

pub static SPEC: KindSpec = KindSpec {
    type_name: "lambda_function_url",
    props: &[
        PropSpec::required(
            "function_name",
            PropType::Str,
            "the function, e.g. `${attach-function.name}`",
        )
        .force_new(),
        PropSpec::optional("auth_type", PropType::Str, "AWS_IAM (default) or NONE"),
    ],
    attrs: &["url"],
    name_rule: None,
    ownership: Ownership::Parent,
    missing: Missing::LAMBDA,
    facts: &[],
    deleted_with: &[],
};

/// The regions where Lambda has no function URLs (Lambda developer guide, "Creating and managing
/// Lambda function URLs": "Function URLs are not supported in the following AWS Regions").
pub const REGIONS_WITHOUT: [&str; 11] = [
    "ap-east-2",      // Asia Pacific (Taipei)
    "ap-south-2",     // Asia Pacific (Hyderabad)
    "ap-southeast-4", // Asia Pacific (Melbourne)
    "ap-southeast-5", // Asia Pacific (Malaysia)
    "ap-southeast-6", // Asia Pacific (New Zealand)
    "ap-southeast-7", // Asia Pacific (Thailand)
    "ca-west-1",      // Canada West (Calgary)
    "eu-central-2",   // Europe (Zurich)
    "eu-south-2",     // Europe (Spain)
    "il-central-1",   // Israel (Tel Aviv)
    "me-central-1",   // Middle East (UAE)
];

/// Why a function URL cannot be made in `region`, if it cannot: known offline, before any call.
pub fn region_problem(region: &str) -> Option<String> {
    REGIONS_WITHOUT.contains(&region).then(|| {
        format!(
            "Lambda function URLs are not available in {region} (AWS does not offer them there)"
        )
    })
}

fn auth(want: &Desired) -> FunctionUrlAuthType {
    FunctionUrlAuthType::from(want.opt_str("auth_type").unwrap_or("AWS_IAM"))
}

/// What a function URL's create tells of it: the URL CreateFunctionUrlConfig answered.
fn created(made: &CreateFunctionUrlConfigOutput) -> Created {
    super::created([("url", made.function_url())])
}

#[async_trait]
impl Fetch for LambdaFunctionUrl {
    module_spec!(GetFunctionUrlConfigOutput);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let call = ctx.clients.lambda.get_function_url_config();
        let call = call.function_name(want.str("function_name"));
        Ok(SPEC
            .missing
            .found(call.send().await.op("GetFunctionUrlConfig"))?)
    }

    fn observe(&self, c: GetFunctionUrlConfigOutput, want: &Desired) -> Option<Observed> {
        let function = want.str("function_name");
        Some(Observed::new(
            json!({ "function_name": function, "auth_type": c.auth_type().as_str() }),
            json!({ "url": c.function_url(), "function_name": function }),
        ))
    }
}

#[async_trait]
impl Manage for LambdaFunctionUrl {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let made = once_ready(|| async {
            let call = ctx.clients.lambda.create_function_url_config();
            let call = call
                .function_name(want.str("function_name"))
                .auth_type(auth(want));
            call.send().await.op("CreateFunctionUrlConfig")
        })
        .await?;
        Ok(created(&made))
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (ctx, want) = (u.ctx, u.want);
        once_ready(|| async {
            let call = ctx.clients.lambda.update_function_url_config();
            let call = call
                .function_name(want.str("function_name"))
                .auth_type(auth(want));
            call.send().await.op("UpdateFunctionUrlConfig")
        })
        .await?;
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let call = ctx.clients.lambda.delete_function_url_config();
        let call = call.function_name(have.attr("function_name"));
        SPEC.missing
            .gone(call.send().await.op("DeleteFunctionUrlConfig"))?;
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_urls_are_missing_from_eleven_regions() {
        assert_eq!(REGIONS_WITHOUT.len(), 11);
        let problem = region_problem("eu-central-2").unwrap();
        assert!(
            problem.contains("not available in eu-central-2"),
            "{problem}"
        );
        for region in [
            "us-east-1",
            "eu-west-1",
            "eu-central-1",
            "ap-south-1",
            "cn-north-1",
        ] {
            assert_eq!(region_problem(region), None, "{region}");
        }
    }

    #[test]
    fn the_url_is_an_attribute_and_the_auth_type_a_property() {
        let c = GetFunctionUrlConfigOutput::builder()
            .function_url("https://abc.lambda-url.eu-west-1.on.aws/")
            .function_arn("arn:aws:lambda:eu-west-1:123456789012:function:p-attach-iot-policy")
            .auth_type(FunctionUrlAuthType::AwsIam)
            .creation_time("2026-01-01T00:00:00Z")
            .last_modified_time("2026-01-01T00:00:00Z")
            .build()
            .unwrap();
        let want = Desired::from_json(
            "attach-url",
            json!({"function_name": "p-attach-iot-policy"}),
        );
        let o = LambdaFunctionUrl.observe(c, &want).unwrap();
        let made = CreateFunctionUrlConfigOutput::builder()
            .function_url("https://abc.lambda-url.eu-west-1.on.aws/")
            .function_arn("arn:aws:lambda:eu-west-1:123456789012:function:p-attach-iot-policy")
            .auth_type(FunctionUrlAuthType::AwsIam)
            .creation_time("2026-01-01T00:00:00Z")
            .build()
            .unwrap();
        crate::resources::assert_created_as_observed(&SPEC, &created(&made), &o);
        assert_eq!(o.props["auth_type"], json!("AWS_IAM"));
        assert_eq!(o.attr("url"), "https://abc.lambda-url.eu-west-1.on.aws/");
        assert_eq!(o.attr("function_name"), "p-attach-iot-policy");
    }
}
