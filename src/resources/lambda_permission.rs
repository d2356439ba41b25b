//! One statement of a Lambda function's resource policy (who may invoke it).

use serde_json::{json, Value};

use super::lambda_function::once_ready;
use super::prelude::*;

pub struct LambdaPermission;

pub static SPEC: KindSpec = KindSpec {
    type_name: "lambda_permission",
    props: &[
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
    ],
    attrs: &[],
    name_rule: None,
    ownership: Ownership::Parent,
    missing: Missing::LAMBDA,
    facts: &[],
    // A permission is a statement of its function's resource-based policy: "When you delete a
    // function the associated access policy is also deleted" (Lambda API reference,
    // DeleteFunction).
    deleted_with: &["lambda_function"],
};

/// A string, or the first of a list of strings.
fn first_string(v: &Value) -> &str {
    match v {
        Value::Array(a) => a.first().and_then(Value::as_str).unwrap_or_default(),
        other => other.as_str().unwrap_or_default(),
    }
}

#[async_trait]
impl Fetch for LambdaPermission {
    // The function's resource policy, as Lambda returns it.
    module_spec!(String);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let call = ctx.clients.lambda.get_policy();
        let call = call.function_name(want.str("function_name"));
        let p = SPEC.missing.found(call.send().await.op("GetPolicy"))?;
        Ok(p.map(|p| p.policy.unwrap_or_else(|| "{}".into())))
    }

    /// The statement with the wanted id, if the policy has one.
    fn observe(&self, policy: String, want: &Desired) -> Option<Observed> {
        let (function, sid) = (want.str("function_name"), want.str("statement_id"));
        let doc: Value = serde_json::from_str(&policy).unwrap_or(Value::Null);
        let stmts = match &doc["Statement"] {
            Value::Array(a) => a.clone(),
            one @ Value::Object(_) => vec![one.clone()],
            _ => vec![],
        };
        let st = stmts.iter().find(|s| s["Sid"] == sid)?;
        let principal = match &st["Principal"] {
            Value::Object(m) => m.get("Service").or_else(|| m.get("AWS")),
            other => Some(other),
        };
        let source_arn = &st["Condition"]["ArnLike"]["AWS:SourceArn"];
        Some(Observed::new(
            json!({
                "function_name": function,
                "statement_id": sid,
                "principal": principal.map(first_string).unwrap_or_default(),
                "action": first_string(&st["Action"]),
                "source_arn": first_string(source_arn),
            }),
            json!({ "function_name": function, "statement_id": sid }),
        ))
    }
}

#[async_trait]
impl Manage for LambdaPermission {
    /// A permission statement has no attributes of its own.
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let source = want.opt_str("source_arn").filter(|s| !s.is_empty());
        once_ready(|| async {
            let call = ctx.clients.lambda.add_permission();
            let call = call.function_name(want.str("function_name"));
            let call = call.statement_id(want.str("statement_id"));
            let call = call.action(want.opt_str("action").unwrap_or("lambda:InvokeFunction"));
            let call = call.principal(want.str("principal"));
            let call = call.set_source_arn(source.map(str::to_string));
            call.send().await.op("AddPermission")
        })
        .await?;
        Ok(Created::new())
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (ctx, want, have) = (u.ctx, u.want, u.have);
        // A statement cannot be edited: remove it and add the new one.
        self.delete(ctx, have).await?;
        self.create(ctx, want).await.map(drop)
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let call = ctx.clients.lambda.remove_permission();
        let call = call.function_name(have.attr("function_name"));
        let call = call.statement_id(have.attr("statement_id"));
        SPEC.missing
            .gone(call.send().await.op("RemovePermission"))?;
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(sid: &str) -> Desired {
        Desired::from_json(
            "presignup-permission",
            json!({"function_name": "p-cognito-presignup-lambda", "statement_id": sid}),
        )
    }

    #[test]
    fn the_statement_is_found_by_its_id_and_read_in_its_parts() {
        let policy = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "other", "Effect": "Allow", "Principal": "*", "Action": "lambda:GetFunction"},
            {"Sid": "cognito-presignup", "Effect": "Allow",
             "Principal": {"Service": "cognito-idp.amazonaws.com"},
             "Action": "lambda:InvokeFunction",
             "Resource": "arn:aws:lambda:eu-west-1:123456789012:function:p-cognito-presignup-lambda",
             "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc"}}}
        ]});
        let o = LambdaPermission
            .observe(policy.to_string(), &want("cognito-presignup"))
            .unwrap();
        assert_eq!(o.props["principal"], json!("cognito-idp.amazonaws.com"));
        assert_eq!(o.props["action"], json!("lambda:InvokeFunction"));
        assert_eq!(
            o.props["source_arn"],
            json!("arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc")
        );
        assert_eq!(o.attr("statement_id"), "cognito-presignup");
    }

    #[test]
    fn a_single_statement_without_a_condition_and_a_missing_one() {
        let policy = json!({"Statement": {"Sid": "url", "Principal": {"AWS": ["arn:aws:iam::1:root"]}, "Action": ["lambda:InvokeFunctionUrl"]}});
        let o = LambdaPermission
            .observe(policy.to_string(), &want("url"))
            .unwrap();
        assert_eq!(o.props["principal"], json!("arn:aws:iam::1:root"));
        assert_eq!(o.props["action"], json!("lambda:InvokeFunctionUrl"));
        assert_eq!(o.props["source_arn"], json!(""));
        assert_eq!(
            LambdaPermission.observe(policy.to_string(), &want("gone")),
            None
        );
    }
}
