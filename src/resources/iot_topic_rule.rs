//! AWS IoT topic rule with one SNS action.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_iot::types::{Action, MessageFormat, SnsAction, TopicRulePayload};
use serde_json::Value;

use super::{
    iot_policy, Changes, Ctx, Desired, KindSpec, Manage, NameRule, Observed, Ownership, PropSpec,
    PropType, Read,
};
use crate::aws::{retry_while, Missing, OpExt};
use crate::error::{AwsError, ResourceError};

pub struct IotTopicRule;

static PROPS: &[PropSpec] = &[
    PropSpec::required(
        "name",
        PropType::Str,
        "the rule name (letters, digits and `_`), e.g. `${prefix_underscore}_alerts`",
    )
    .force_new(),
    PropSpec::required(
        "sql",
        PropType::Str,
        "the rule query, e.g. `SELECT * FROM '${prefix}/alerts'`",
    ),
    PropSpec::optional("description", PropType::Str, "a description of the rule"),
    PropSpec::optional(
        "enabled",
        PropType::Bool,
        "whether the rule is enabled (default true)",
    ),
    PropSpec::required(
        "sns_target_arn",
        PropType::Str,
        "the SNS topic the rule publishes to",
    ),
    PropSpec::required("role_arn", PropType::Str, "the role IoT assumes to publish"),
    PropSpec::optional("message_format", PropType::Str, "RAW or JSON (default RAW)"),
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "iot_topic_rule",
    props: PROPS,
    attrs: &["name", "arn"],
    name_rule: Some(NameRule::ascii(
        128,
        "_",
        "a topic rule name ([A-Za-z0-9_]+)",
    )),
    ownership: Ownership::Tag,
    missing: MISSING,
    facts: &[],
};

/// AWS answers UnauthorizedException for a rule that does not exist.
const MISSING: Missing = Missing(&["UnauthorizedException", "ResourceNotFoundException"]);

fn format_of(want: &Desired) -> MessageFormat {
    MessageFormat::from(want.opt_str("message_format").unwrap_or("RAW"))
}

fn payload(want: &Desired) -> Result<TopicRulePayload, ResourceError> {
    let err = |e| ResourceError::local("CreateTopicRule", e);
    let sns = SnsAction::builder()
        .target_arn(want.str("sns_target_arn"))
        .role_arn(want.str("role_arn"))
        .message_format(format_of(want))
        .build()
        .map_err(err)?;
    TopicRulePayload::builder()
        .sql(want.str("sql"))
        .set_description(want.opt_str("description").map(str::to_string))
        .aws_iot_sql_version("2016-03-23")
        .rule_disabled(!want.bool("enabled", true))
        .actions(Action::builder().sns(sns).build())
        .build()
        .map_err(err)
}

/// The properties sent as the rule's payload: a change to any of them replaces the payload.
const BODY: [&str; 5] = [
    "sql",
    "description",
    "sns_target_arn",
    "role_arn",
    "message_format",
];

/// A role created a moment ago may not be assumable by IoT yet (IAM is eventually consistent).
fn role_not_ready(e: &AwsError) -> bool {
    e.code.as_deref() == Some("InvalidRequestException")
        && e.message.to_ascii_lowercase().contains("assume")
}

#[async_trait]
impl Read for IotTopicRule {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let name = want.str("name");
        let r = ctx
            .clients
            .iot
            .get_topic_rule()
            .rule_name(name)
            .send()
            .await;
        let r = MISSING.found(r.op("GetTopicRule"))?;
        let Some(out) = r else { return Ok(None) };
        let Some(rule) = out.rule() else {
            return Ok(None);
        };
        let arn = out.rule_arn().unwrap_or_default().to_string();
        let sns = rule.actions().iter().find_map(|a| a.sns());
        let mut o = Observed::default();
        let s = |v: &str| Value::String(v.to_string());
        o.props.insert("name".into(), s(name));
        o.props
            .insert("sql".into(), s(rule.sql().unwrap_or_default()));
        o.props.insert(
            "description".into(),
            s(rule.description().unwrap_or_default()),
        );
        o.props.insert(
            "enabled".into(),
            Value::Bool(!rule.rule_disabled().unwrap_or(false)),
        );
        o.props.insert(
            "sns_target_arn".into(),
            s(sns.map(|a| a.target_arn()).unwrap_or_default()),
        );
        o.props.insert(
            "role_arn".into(),
            s(sns.map(|a| a.role_arn()).unwrap_or_default()),
        );
        o.props.insert(
            "message_format".into(),
            s(sns
                .and_then(|a| a.message_format())
                .map(|f| f.as_str())
                .unwrap_or("RAW")),
        );
        o.props
            .insert("tags".into(), iot_policy::tags_of(ctx, &arn, want).await?);
        o.attrs.insert("name".into(), name.to_string());
        o.attrs.insert("arn".into(), arn);
        Ok(Some(o))
    }
}

#[async_trait]
impl Manage for IotTopicRule {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        let tags = want
            .tags()
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC),
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        let (tags, payload) = (&tags, &payload(want)?);
        retry_while(role_not_ready, 11, Duration::from_secs(2), || async move {
            let call = ctx
                .clients
                .iot
                .create_topic_rule()
                .rule_name(want.str("name"));
            let call = call.topic_rule_payload(payload.clone()).tags(tags);
            call.send().await.op("CreateTopicRule").map(|_| ())
        })
        .await?;
        Ok(())
    }

    async fn update(
        &self,
        ctx: &Ctx,
        want: &Desired,
        have: &Observed,
        changes: Changes<'_>,
    ) -> Result<(), ResourceError> {
        let name = want.str("name");
        if changes.any(&BODY) {
            ctx.clients
                .iot
                .replace_topic_rule()
                .rule_name(name)
                .topic_rule_payload(payload(want)?)
                .send()
                .await
                .op("ReplaceTopicRule")?;
        } else if changes.has("enabled") {
            if want.bool("enabled", true) {
                ctx.clients
                    .iot
                    .enable_topic_rule()
                    .rule_name(name)
                    .send()
                    .await
                    .op("EnableTopicRule")?;
            } else {
                ctx.clients
                    .iot
                    .disable_topic_rule()
                    .rule_name(name)
                    .send()
                    .await
                    .op("DisableTopicRule")?;
            }
        }
        if changes.has("tags") {
            iot_policy::tag(ctx, have.attr("arn"), want).await?;
        }
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let call = ctx
            .clients
            .iot
            .delete_topic_rule()
            .rule_name(have.attr("name"));
        MISSING.gone(call.send().await.op("DeleteTopicRule"))?;
        Ok(Vec::new())
    }
}
