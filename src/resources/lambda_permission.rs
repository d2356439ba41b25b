//! One statement of a Lambda function's resource policy (who may invoke it).

use async_trait::async_trait;
use serde_json::Value;

use super::{
    Changes, Ctx, Desired, KindSpec, Manage, Observed, Ownership, PropSpec, PropType, Read,
};
use crate::aws::{Missing, OpExt};
use crate::error::ResourceError;

pub struct LambdaPermission;

static PROPS: &[PropSpec] = &[
    PropSpec::required(
        "function_name",
        PropType::Str,
        "the function, e.g. `${presignup-function.name}`",
    )
    .force_new(),
    PropSpec::required(
        "statement_id",
        PropType::Str,
        "the statement id, e.g. `cognito-presignup`",
    )
    .force_new(),
    PropSpec::required(
        "principal",
        PropType::Str,
        "who may invoke, e.g. `cognito-idp.amazonaws.com`",
    ),
    PropSpec::optional("action", PropType::Str, "default `lambda:InvokeFunction`"),
    PropSpec::optional(
        "source_arn",
        PropType::Str,
        "only on behalf of this resource, e.g. `${user-pool.arn}`",
    ),
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "lambda_permission",
    props: PROPS,
    attrs: &[],
    name_rule: None,
    ownership: Ownership::Parent,
    missing: Missing::LAMBDA,
    facts: &[],
};

fn first_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    }
}

#[async_trait]
impl Read for LambdaPermission {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let (function, sid) = (want.str("function_name"), want.str("statement_id"));
        let Some(p) = Missing::LAMBDA.found(
            ctx.clients
                .lambda
                .get_policy()
                .function_name(function)
                .send()
                .await
                .op("GetPolicy"),
        )?
        else {
            return Ok(None);
        };
        let doc: Value = serde_json::from_str(p.policy().unwrap_or("{}")).unwrap_or(Value::Null);
        let stmts = match &doc["Statement"] {
            Value::Array(a) => a.clone(),
            Value::Object(_) => vec![doc["Statement"].clone()],
            _ => vec![],
        };
        let Some(st) = stmts.iter().find(|s| s["Sid"] == sid) else {
            return Ok(None);
        };
        let principal = match &st["Principal"] {
            Value::Object(m) => m
                .get("Service")
                .or_else(|| m.get("AWS"))
                .map(first_string)
                .unwrap_or_default(),
            other => first_string(other),
        };
        let source_arn = st["Condition"]["ArnLike"]["AWS:SourceArn"].clone();
        let s = |v: &str| Value::String(v.to_string());
        let mut o = Observed::default();
        o.props.insert("function_name".into(), s(function));
        o.props.insert("statement_id".into(), s(sid));
        o.props.insert("principal".into(), s(&principal));
        o.props
            .insert("action".into(), s(&first_string(&st["Action"])));
        o.props
            .insert("source_arn".into(), s(&first_string(&source_arn)));
        o.attrs.insert("function_name".into(), function.to_string());
        o.attrs.insert("statement_id".into(), sid.to_string());
        Ok(Some(o))
    }
}

#[async_trait]
impl Manage for LambdaPermission {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        ctx.clients
            .lambda
            .add_permission()
            .function_name(want.str("function_name"))
            .statement_id(want.str("statement_id"))
            .action(want.opt_str("action").unwrap_or("lambda:InvokeFunction"))
            .principal(want.str("principal"))
            .set_source_arn(
                want.opt_str("source_arn")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            )
            .send()
            .await
            .op("AddPermission")?;
        Ok(())
    }

    async fn update(
        &self,
        ctx: &Ctx,
        want: &Desired,
        have: &Observed,
        _changes: Changes<'_>,
    ) -> Result<(), ResourceError> {
        // A statement cannot be edited: remove it and add the new one.
        self.delete(ctx, have).await?;
        self.create(ctx, want).await
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        Missing::LAMBDA.gone(
            ctx.clients
                .lambda
                .remove_permission()
                .function_name(have.attr("function_name"))
                .statement_id(have.attr("statement_id"))
                .send()
                .await
                .op("RemovePermission"),
        )?;
        Ok(Vec::new())
    }
}
