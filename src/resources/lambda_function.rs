//! AWS Lambda function, its code packaged by iotstack: a built-in handler shipped inside the
//! binary (`builtin:<name>`) or a Python file, zipped deterministically so the SHA-256 that
//! Lambda reports compares equal when nothing changed.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_lambda::operation::create_function::CreateFunctionOutput;
use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};
use serde_json::json;

use super::prelude::*;
use super::support::tag_map;
use super::{map_value, wanted_tags};
use crate::aws::retry_while;
use crate::error::AwsError;
use crate::package::package;

pub struct LambdaFunction;

pub static SPEC: KindSpec = KindSpec::tagged(
    "lambda_function",
    &[
        PropSpec::required(
            "name",
            PropType::Str,
            "the function name, e.g. `${prefix}-attach-iot-policy`",
        )
        .force_new(),
        PropSpec::required(
            "role_arn",
            PropType::Str,
            "the execution role, e.g. `${attach-role.arn}`",
        ),
        PropSpec::required(
            "code",
            PropType::Code,
            "`builtin:presignup`, `builtin:attach_policy`, or a Python file",
        ),
        PropSpec::required(
            "handler",
            PropType::Str,
            "module.function, e.g. `presignup.handler`",
        ),
        PropSpec::optional("runtime", PropType::Str, "the runtime (default python3.12)"),
        PropSpec::optional("timeout", PropType::Int, "seconds (default 30)").range(1, 900),
        PropSpec::optional("description", PropType::Str, "a description"),
        // Lambda keeps environment variables as text ("Environment variable key-value pairs",
        // CreateFunction): nothing they name need exist when the function is created.
        PropSpec::optional("environment", PropType::StrMap, "environment variables").by_value(),
    ],
    NameRule::ascii(64, "-_", "a Lambda function name"),
    Missing::LAMBDA,
);

fn runtime(want: &Desired) -> Runtime {
    Runtime::from(want.opt_str("runtime").unwrap_or("python3.12"))
}

fn timeout(want: &Desired) -> i32 {
    want.value("timeout").as_i64().unwrap_or(30) as i32
}

fn env(want: &Desired) -> Environment {
    Environment::builder()
        .set_variables(Some(want.str_map("environment").into_iter().collect()))
        .build()
}

fn code(want: &Desired) -> Result<Vec<u8>, ResourceError> {
    let src = want.document("code").as_str().unwrap_or_default();
    package(src)
        .map(|(z, _)| z)
        .map_err(|message| ResourceError::local("packaging", message))
}

/// The properties sent as the function's configuration.
const CONFIGURATION: [&str; 6] = [
    "role_arn",
    "handler",
    "runtime",
    "timeout",
    "description",
    "environment",
];

/// Lambda refuses a change to a function that is still being created ("The operation cannot be
/// performed at this time. The function is currently in the following state: Pending") or
/// updated ("An update is in progress for resource"): it passes once the function is Active.
pub fn function_busy(e: &AwsError) -> bool {
    e.code.as_deref() == Some("ResourceConflictException")
        && (e.message.contains("in progress") || e.message.contains("following state: Pending"))
}

/// Lambda refuses a role created a moment ago ("cannot be assumed by Lambda") until IAM has
/// propagated it, and a function that is busy.
fn retryable(e: &AwsError) -> bool {
    let role = e.code.as_deref() == Some("InvalidParameterValueException");
    role && e.message.contains("assumed") || function_busy(e)
}

const ATTEMPTS: usize = 16;
const PAUSE: Duration = Duration::from_secs(2);

/// Retries a call Lambda refuses for one of the passing reasons above.
async fn retrying<T, F, Fut>(f: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, AwsError>>,
{
    retry_while(retryable, ATTEMPTS, PAUSE, f).await
}

/// Retries a call on a function (its URL, its permissions) while the function is busy.
pub async fn once_ready<T, F, Fut>(f: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, AwsError>>,
{
    retry_while(function_busy, ATTEMPTS, PAUSE, f).await
}

/// What a function's create tells of it: its name, and the ARN CreateFunction answered (the
/// function's unqualified ARN, as GetFunction's configuration reports it).
fn created(made: &CreateFunctionOutput, want: &Desired) -> Created {
    let arn = made.function_arn().unwrap_or_default();
    super::created([("name", want.str("name")), ("arn", arn)])
}

#[async_trait]
impl Fetch for LambdaFunction {
    module_spec!(GetFunctionOutput);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let call = ctx
            .clients
            .lambda
            .get_function()
            .function_name(want.str("name"));
        Ok(SPEC.missing.found(call.send().await.op("GetFunction"))?)
    }

    /// The code is compared by the SHA-256 Lambda reports for the zip.
    fn observe(&self, f: GetFunctionOutput, want: &Desired) -> Option<Observed> {
        let c = f.configuration()?;
        let vars = c.environment().and_then(|e| e.variables()).cloned();
        let vars: BTreeMap<String, String> = vars.unwrap_or_default().into_iter().collect();
        let tags = f.tags().into_iter().flatten();
        let tags = tags.map(|(k, v)| (k.as_str(), v.as_str()));
        Some(Observed::new(
            json!({
                "name": want.str("name"),
                "role_arn": c.role().unwrap_or_default(),
                "code": c.code_sha256().unwrap_or_default(),
                "handler": c.handler().unwrap_or_default(),
                "runtime": c.runtime().map(|r| r.as_str()).unwrap_or_default(),
                "timeout": c.timeout().unwrap_or(3),
                "description": c.description().unwrap_or_default(),
                "environment": map_value(&vars),
                "tags": wanted_tags(want, tags),
            }),
            json!({ "name": want.str("name"), "arn": c.function_arn().unwrap_or_default() }),
        ))
    }
}

#[async_trait]
impl Manage for LambdaFunction {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let zip = FunctionCode::builder()
            .zip_file(Blob::new(code(want)?))
            .build();
        let made = retrying(|| async {
            let call = ctx.clients.lambda.create_function();
            let call = call
                .function_name(want.str("name"))
                .role(want.str("role_arn"));
            let call = call.runtime(runtime(want)).handler(want.str("handler"));
            let call = call.timeout(timeout(want)).environment(env(want));
            let call = call.set_description(want.opt_str("description").map(str::to_string));
            let call = call.code(zip.clone()).set_tags(Some(tag_map(want)));
            call.send().await.op("CreateFunction")
        })
        .await?;
        Ok(created(&made, want))
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (ctx, want, have, changes) = (u.ctx, u.want, u.have, u.changes);
        let (lambda, name) = (&ctx.clients.lambda, want.str("name"));
        if changes.has("code") {
            let zip = Blob::new(code(want)?);
            retrying(|| async {
                let call = lambda.update_function_code().function_name(name);
                let call = call.zip_file(zip.clone());
                call.send().await.op("UpdateFunctionCode")
            })
            .await?;
        }
        if changes.any(&CONFIGURATION) {
            retrying(|| async {
                let call = lambda.update_function_configuration().function_name(name);
                let call = call.role(want.str("role_arn")).handler(want.str("handler"));
                let call = call.runtime(runtime(want)).timeout(timeout(want));
                let call = call
                    .description(want.str("description"))
                    .environment(env(want));
                call.send().await.op("UpdateFunctionConfiguration")
            })
            .await?;
        }
        if changes.has("tags") {
            let call = lambda.tag_resource().resource(have.attr("arn"));
            let call = call.set_tags(Some(tag_map(want)));
            call.send().await.op("TagResource")?;
        }
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let call = ctx.clients.lambda.delete_function();
        let r = call.function_name(have.attr("name")).send().await;
        SPEC.missing.gone(r.op("DeleteFunction"))?;
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::types::{EnvironmentResponse, FunctionConfiguration};

    fn refused(code: &str, message: &str) -> AwsError {
        AwsError {
            operation: "UpdateFunctionConfiguration",
            code: Some(code.into()),
            message: message.into(),
        }
    }

    #[test]
    fn a_pending_or_updating_function_and_a_new_role_pass() {
        let conflict = |m| refused("ResourceConflictException", m);
        let pending = conflict(
            "The operation cannot be performed at this time. \
             The function is currently in the following state: Pending",
        );
        assert!(function_busy(&pending) && retryable(&pending));
        let updating = conflict(
            "The operation cannot be performed at this time. \
             An update is in progress for resource: arn:aws:lambda:eu-west-1:1:function:f",
        );
        assert!(function_busy(&updating));
        let role = refused(
            "InvalidParameterValueException",
            "The role defined for the function cannot be assumed by Lambda.",
        );
        assert!(retryable(&role) && !function_busy(&role));
        let taken = conflict("The statement id (url) provided already exists.");
        assert!(!retryable(&taken));
        let failed = conflict("The function is currently in the following state: Failed");
        assert!(!retryable(&failed));
    }

    #[test]
    fn the_configuration_and_its_defaults_are_read() {
        let env = EnvironmentResponse::builder()
            .variables("ALLOWED_DOMAINS", "example.com")
            .build();
        let config = FunctionConfiguration::builder()
            .function_name("p-cognito-presignup-lambda")
            .function_arn(
                "arn:aws:lambda:eu-west-1:123456789012:function:p-cognito-presignup-lambda",
            )
            .role("arn:aws:iam::123456789012:role/p-presignup")
            .code_sha256("c2hhMjU2")
            .handler("presignup.handler")
            .runtime(Runtime::Python312)
            .environment(env)
            .build();
        let f = GetFunctionOutput::builder()
            .configuration(config)
            .tags("iotstack:stack", "p")
            .tags("aws:cloudformation:stack-name", "other")
            .build();
        let want = Desired::from_json(
            "presignup-function",
            json!({"name": "p-cognito-presignup-lambda", "tags": {"iotstack:stack": "p"}}),
        );
        let o = LambdaFunction.observe(f, &want).unwrap();
        let made = CreateFunctionOutput::builder()
            .function_name("p-cognito-presignup-lambda")
            .function_arn(
                "arn:aws:lambda:eu-west-1:123456789012:function:p-cognito-presignup-lambda",
            )
            .version("$LATEST")
            .build();
        crate::resources::assert_created_as_observed(&SPEC, &created(&made, &want), &o);
        assert_eq!(o.props["code"], json!("c2hhMjU2"));
        assert_eq!(o.props["runtime"], json!("python3.12"));
        assert_eq!(o.props["timeout"], json!(3), "Lambda's default when unset");
        assert_eq!(o.props["description"], json!(""));
        assert_eq!(
            o.props["environment"],
            json!({"ALLOWED_DOMAINS": "example.com"})
        );
        assert_eq!(o.props["tags"], json!({"iotstack:stack": "p"}));
        assert_eq!(
            o.attr("arn"),
            "arn:aws:lambda:eu-west-1:123456789012:function:p-cognito-presignup-lambda"
        );
        let bare = GetFunctionOutput::builder().build();
        assert_eq!(
            LambdaFunction.observe(bare, &want),
            None,
            "no configuration"
        );
    }
}
