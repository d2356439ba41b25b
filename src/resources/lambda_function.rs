//! AWS Lambda function, its code packaged by iotstack (see `crate::package`): the SHA-256 that
//! Lambda reports compares equal to the stack's when nothing changed.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};
use serde_json::Value;

use super::{
    check_chars, map_value, wanted_tags, Ctx, Desired, Kind, Observed, PropSpec, PropType,
};
use crate::aws::{found, gone, retry_while, OpExt};
use crate::error::AwsError;
use crate::package::package;

pub struct LambdaFunction;

static PROPS: &[PropSpec] = &[
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
    PropSpec::optional("environment", PropType::StrMap, "environment variables"),
];

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

fn code(want: &Desired) -> Result<Vec<u8>, AwsError> {
    let src = want.document("code").as_str().unwrap_or_default();
    package(src).map(|(z, _)| z).map_err(|message| AwsError {
        operation: "packaging",
        code: None,
        message,
    })
}

/// Lambda refuses a role created a moment ago ("cannot be assumed by Lambda") until IAM has
/// propagated it, and a function that is still being created or updated.
fn retryable(e: &AwsError) -> bool {
    match e.code.as_deref() {
        Some("InvalidParameterValueException") => e.message.contains("assumed"),
        Some("ResourceConflictException") => e.message.contains("in progress"),
        _ => false,
    }
}

/// Retries a call Lambda refuses for one of the passing reasons above.
async fn retrying<T, F, Fut>(f: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, AwsError>>,
{
    retry_while(retryable, 16, Duration::from_secs(2), f).await
}

#[async_trait]
impl Kind for LambdaFunction {
    fn type_name(&self) -> &'static str {
        "lambda_function"
    }
    fn props(&self) -> &'static [PropSpec] {
        PROPS
    }
    fn attrs(&self) -> &'static [&'static str] {
        &["name", "arn"]
    }
    fn check_name(&self, name: &str) -> Option<String> {
        check_chars(
            name,
            64,
            |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
            "a Lambda function name",
        )
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, AwsError> {
        let name = want.str("name");
        let Some(f) = found(
            ctx.clients
                .lambda
                .get_function()
                .function_name(name)
                .send()
                .await
                .op("GetFunction"),
        )?
        else {
            return Ok(None);
        };
        let Some(c) = f.configuration() else {
            return Ok(None);
        };
        let s = |v: &str| Value::String(v.to_string());
        let mut o = Observed::default();
        o.props.insert("name".into(), s(name));
        o.props
            .insert("role_arn".into(), s(c.role().unwrap_or_default()));
        o.props
            .insert("code".into(), s(c.code_sha256().unwrap_or_default()));
        o.props
            .insert("handler".into(), s(c.handler().unwrap_or_default()));
        o.props.insert(
            "runtime".into(),
            s(c.runtime().map(|r| r.as_str()).unwrap_or_default()),
        );
        o.props
            .insert("timeout".into(), Value::from(c.timeout().unwrap_or(3)));
        o.props
            .insert("description".into(), s(c.description().unwrap_or_default()));
        let vars: BTreeMap<String, String> = c
            .environment()
            .and_then(|e| e.variables())
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        o.props.insert("environment".into(), map_value(&vars));
        o.props.insert(
            "tags".into(),
            wanted_tags(
                want,
                f.tags()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            ),
        );
        o.attrs.insert("name".into(), name.to_string());
        o.attrs.insert(
            "arn".into(),
            c.function_arn().unwrap_or_default().to_string(),
        );
        Ok(Some(o))
    }

    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), AwsError> {
        let zip = code(want)?;
        retrying(|| async {
            ctx.clients
                .lambda
                .create_function()
                .function_name(want.str("name"))
                .role(want.str("role_arn"))
                .runtime(runtime(want))
                .handler(want.str("handler"))
                .timeout(timeout(want))
                .set_description(want.opt_str("description").map(str::to_string))
                .environment(env(want))
                .code(
                    FunctionCode::builder()
                        .zip_file(Blob::new(zip.clone()))
                        .build(),
                )
                .set_tags(Some(want.tags().into_iter().collect()))
                .send()
                .await
                .op("CreateFunction")
        })
        .await?;
        Ok(())
    }

    async fn update(&self, ctx: &Ctx, want: &Desired, have: &Observed) -> Result<(), AwsError> {
        let name = want.str("name");
        let differs =
            |k: &str| want.props.contains_key(k) && have.props.get(k) != want.props.get(k);
        if differs("code") {
            let zip = code(want)?;
            retrying(|| async {
                ctx.clients
                    .lambda
                    .update_function_code()
                    .function_name(name)
                    .zip_file(Blob::new(zip.clone()))
                    .send()
                    .await
                    .op("UpdateFunctionCode")
            })
            .await?;
        }
        if [
            "role_arn",
            "handler",
            "runtime",
            "timeout",
            "description",
            "environment",
        ]
        .iter()
        .any(|k| differs(k))
        {
            retrying(|| async {
                ctx.clients
                    .lambda
                    .update_function_configuration()
                    .function_name(name)
                    .role(want.str("role_arn"))
                    .handler(want.str("handler"))
                    .runtime(runtime(want))
                    .timeout(timeout(want))
                    .description(want.str("description"))
                    .environment(env(want))
                    .send()
                    .await
                    .op("UpdateFunctionConfiguration")
            })
            .await?;
        }
        if differs("tags") {
            ctx.clients
                .lambda
                .tag_resource()
                .resource(have.attr("arn"))
                .set_tags(Some(want.tags().into_iter().collect()))
                .send()
                .await
                .op("TagResource")?;
        }
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, AwsError> {
        gone(
            ctx.clients
                .lambda
                .delete_function()
                .function_name(have.attr("name"))
                .send()
                .await
                .op("DeleteFunction")
                .map(|_| ()),
        )?;
        Ok(Vec::new())
    }
}
