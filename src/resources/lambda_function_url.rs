//! A Lambda function URL (with AWS_IAM auth, the caller's identity reaches the function in the
//! request's trusted context; no API Gateway needed).

use async_trait::async_trait;
use aws_sdk_lambda::types::FunctionUrlAuthType;
use serde_json::Value;

use super::{
    Changes, Ctx, Desired, KindSpec, Manage, Observed, Ownership, PropSpec, PropType, Read,
};
use crate::aws::{Missing, OpExt};
use crate::error::ResourceError;

pub struct LambdaFunctionUrl;

static PROPS: &[PropSpec] = &[
    PropSpec::required(
        "function_name",
        PropType::Str,
        "the function, e.g. `${attach-function.name}`",
    )
    .force_new(),
    PropSpec::optional("auth_type", PropType::Str, "AWS_IAM (default) or NONE"),
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "lambda_function_url",
    props: PROPS,
    attrs: &["url"],
    name_rule: None,
    ownership: Ownership::Parent,
    missing: Missing::LAMBDA,
    facts: &[],
};

fn auth(want: &Desired) -> FunctionUrlAuthType {
    FunctionUrlAuthType::from(want.opt_str("auth_type").unwrap_or("AWS_IAM"))
}

#[async_trait]
impl Read for LambdaFunctionUrl {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let function = want.str("function_name");
        let Some(c) = Missing::LAMBDA.found(
            ctx.clients
                .lambda
                .get_function_url_config()
                .function_name(function)
                .send()
                .await
                .op("GetFunctionUrlConfig"),
        )?
        else {
            return Ok(None);
        };
        let mut o = Observed::default();
        o.props
            .insert("function_name".into(), Value::String(function.to_string()));
        o.props.insert(
            "auth_type".into(),
            Value::String(c.auth_type().as_str().to_string()),
        );
        o.attrs.insert("url".into(), c.function_url().to_string());
        o.attrs.insert("function_name".into(), function.to_string());
        Ok(Some(o))
    }
}

#[async_trait]
impl Manage for LambdaFunctionUrl {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        ctx.clients
            .lambda
            .create_function_url_config()
            .function_name(want.str("function_name"))
            .auth_type(auth(want))
            .send()
            .await
            .op("CreateFunctionUrlConfig")?;
        Ok(())
    }

    async fn update(
        &self,
        ctx: &Ctx,
        want: &Desired,
        _have: &Observed,
        _changes: Changes<'_>,
    ) -> Result<(), ResourceError> {
        ctx.clients
            .lambda
            .update_function_url_config()
            .function_name(want.str("function_name"))
            .auth_type(auth(want))
            .send()
            .await
            .op("UpdateFunctionUrlConfig")?;
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        Missing::LAMBDA.gone(
            ctx.clients
                .lambda
                .delete_function_url_config()
                .function_name(have.attr("function_name"))
                .send()
                .await
                .op("DeleteFunctionUrlConfig"),
        )?;
        Ok(Vec::new())
    }
}
