//! AWS IoT topic rule with one SNS action.

use std::time::Duration;

use aws_sdk_iot::operation::get_topic_rule::GetTopicRuleOutput;
use aws_sdk_iot::types::{Action, MessageFormat, SnsAction, Tag, TopicRulePayload};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::json;

use super::prelude::*;
use super::support::{iot_arn_ahead, iot_tag, iot_tags_after, iot_tags_beside, iot_wanted_tags};
use crate::aws::retry_while;
use crate::error::AwsError;

pub struct IotTopicRule;

pub static SPEC: KindSpec = KindSpec::tagged(
    "iot_topic_rule",
    &[
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
    ],
    NameRule::ascii(128, "_", "a topic rule name ([A-Za-z0-9_]+)"),
    // GetTopicRule answers UnauthorizedException for a rule that does not exist, as it does for
    // a caller denied it: that answer is told apart by `fetch`, not taken for absence here.
    Missing::IOT,
);

/// GetTopicRule's answer both for a rule that does not exist and for a caller denied reading it.
const DENIED: &str = "UnauthorizedException";

/// The properties sent as the rule's payload: a change to any of them replaces the payload.
const BODY: [&str; 5] = [
    "sql",
    "description",
    "sns_target_arn",
    "role_arn",
    "message_format",
];

fn payload(want: &Desired) -> Result<TopicRulePayload, ResourceError> {
    let err = |e| ResourceError::local("CreateTopicRule", e);
    let format = MessageFormat::from(want.opt_str("message_format").unwrap_or("RAW"));
    let sns = SnsAction::builder()
        .target_arn(want.str("sns_target_arn"))
        .role_arn(want.str("role_arn"))
        .message_format(format)
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

/// CreateTopicRule takes its tags as a URL query string.
fn tag_query(want: &Desired) -> String {
    let pair = |(k, v): (String, String)| {
        let (k, v) = (k.as_str(), v.as_str());
        let enc = |s| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        format!("{}={}", enc(k), enc(v))
    };
    let pairs: Vec<String> = want.tags().into_iter().map(pair).collect();
    pairs.join("&")
}

/// A role created (or whose trust changed) a moment ago may not be assumable by IoT yet (IAM is
/// eventually consistent).
fn role_not_ready(e: &AwsError) -> bool {
    e.code.as_deref() == Some("InvalidRequestException")
        && e.message.to_ascii_lowercase().contains("assume")
}

/// Sends a CreateTopicRule or ReplaceTopicRule, again while IoT cannot assume the rule's role yet.
async fn while_role_propagates<F, Fut>(send: F) -> Result<(), AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), AwsError>>,
{
    retry_while(role_not_ready, 11, Duration::from_secs(2), send).await
}

/// What GetTopicRule's UnauthorizedException meant, from the rules ListTopicRules gave (or its
/// own error): the rule is not there (`Ok`) only when the list was read and does not name it;
/// otherwise the caller was denied the rule, and that denial is the answer.
fn absent_or_denied(
    name: &str,
    listed: Result<Vec<String>, AwsError>,
    denial: AwsError,
) -> Result<(), AwsError> {
    match listed {
        Ok(names) if !names.iter().any(|n| n == name) => Ok(()),
        _ => Err(denial),
    }
}

/// The names of every topic rule of the account and region.
async fn rule_names(ctx: &Ctx) -> Result<Vec<String>, AwsError> {
    let list = ctx.clients.iot.list_topic_rules().into_paginator();
    let rules: Vec<_> = list
        .items()
        .send()
        .try_collect()
        .await
        .op("ListTopicRules")?;
    Ok(rules.into_iter().filter_map(|r| r.rule_name).collect())
}

/// What a rule's create tells of it: CreateTopicRule answers nothing, and the rule's ARN is
/// computable: "All resource ARNs follow the following format:
/// arn:partition:iot:region:AWS-account-ID:Resource-type/Resource-name" (AWS IoT developer guide,
/// AWS IoT Core action resources), the resource type of a rule being `rule`
/// (`arn:aws:iot:us-east-2:123456789012:rule/rule_name`).
fn created(ctx: &Ctx, want: &Desired) -> Created {
    let name = want.str("name");
    let arn = ctx.arn("iot", &format!("rule/{name}"));
    super::created([("name", name), ("arn", &arn)])
}

/// What AWS answers about a rule: the rule, and its tags.
pub struct Fetched {
    pub rule: GetTopicRuleOutput,
    pub tags: Vec<Tag>,
}

#[async_trait]
impl Fetch for IotTopicRule {
    module_spec!(Fetched);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let name = want.str("name");
        let call = ctx.clients.iot.get_topic_rule().rule_name(name);
        // The tags are asked for beside it, by the ARN known ahead: one round trip.
        let ahead = iot_arn_ahead(ctx, want, "rule/");
        let recorded = Some(ahead.as_str());
        let early = iot_tags_beside(ctx, recorded);
        let (answer, early) = futures::join!(call.send(), early);
        let rule = match answer.op("GetTopicRule") {
            Err(e) if e.code.as_deref() == Some(DENIED) => {
                absent_or_denied(name, rule_names(ctx).await, e)?;
                None
            }
            answer => SPEC.missing.found(answer)?,
        };
        let Some(rule) = rule.filter(|r| r.rule().is_some()) else {
            return Ok(None);
        };
        let arn = rule.rule_arn().unwrap_or_default();
        let tags = iot_tags_after(ctx, early, recorded, arn).await?;
        Ok(Some(Fetched { rule, tags }))
    }

    fn observe(&self, f: Fetched, want: &Desired) -> Option<Observed> {
        let rule = f.rule.rule()?;
        let sns = rule.actions().iter().find_map(|a| a.sns());
        let format = sns.and_then(|a| a.message_format()).map(|f| f.as_str());
        Some(Observed::new(
            json!({
                "name": want.str("name"),
                "sql": rule.sql().unwrap_or_default(),
                "description": rule.description().unwrap_or_default(),
                "enabled": !rule.rule_disabled().unwrap_or(false),
                "sns_target_arn": sns.map(|a| a.target_arn()).unwrap_or_default(),
                "role_arn": sns.map(|a| a.role_arn()).unwrap_or_default(),
                "message_format": format.unwrap_or("RAW"),
                "tags": iot_wanted_tags(want, &f.tags),
            }),
            json!({ "name": want.str("name"), "arn": f.rule.rule_arn().unwrap_or_default() }),
        ))
    }
}

#[async_trait]
impl Manage for IotTopicRule {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let (tags, payload) = (&tag_query(want), &payload(want)?);
        while_role_propagates(|| async move {
            let call = ctx
                .clients
                .iot
                .create_topic_rule()
                .rule_name(want.str("name"));
            let call = call.topic_rule_payload(payload.clone()).tags(tags);
            call.send().await.op("CreateTopicRule").map(|_| ())
        })
        .await?;
        Ok(created(ctx, want))
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (ctx, want, have, changes) = (u.ctx, u.want, u.have, u.changes);
        let (iot, name) = (&ctx.clients.iot, want.str("name"));
        if changes.any(&BODY) {
            let payload = &payload(want)?;
            while_role_propagates(|| async move {
                let call = iot.replace_topic_rule().rule_name(name);
                let call = call.topic_rule_payload(payload.clone());
                call.send().await.op("ReplaceTopicRule").map(|_| ())
            })
            .await?;
        } else if changes.has("enabled") && want.bool("enabled", true) {
            let call = iot.enable_topic_rule().rule_name(name);
            call.send().await.op("EnableTopicRule")?;
        } else if changes.has("enabled") {
            let call = iot.disable_topic_rule().rule_name(name);
            call.send().await.op("DisableTopicRule")?;
        }
        if changes.has("tags") {
            iot_tag(ctx, have.attr("arn"), want).await?;
        }
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let call = ctx.clients.iot.delete_topic_rule();
        let call = call.rule_name(have.attr("name"));
        SPEC.missing.gone(call.send().await.op("DeleteTopicRule"))?;
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iot::types::TopicRule;

    fn want() -> Desired {
        Desired::from_json(
            "alert-rule",
            json!({"name": "p_alerts", "tags": {"iotstack:stack": "p"}}),
        )
    }

    #[test]
    fn the_sns_action_and_the_enabled_state_are_read_from_the_rule() {
        let sns = SnsAction::builder()
            .target_arn("arn:aws:sns:eu-west-1:123456789012:p-iot-notification")
            .role_arn("arn:aws:iam::123456789012:role/p-iot-rule-sns-role")
            .build()
            .unwrap();
        let rule = TopicRule::builder()
            .sql("SELECT * FROM 'p/alerts'")
            .rule_disabled(true)
            .actions(Action::builder().sns(sns).build())
            .build();
        let fetched = Fetched {
            rule: GetTopicRuleOutput::builder()
                .rule_arn("arn:aws:iot:eu-west-1:123456789012:rule/p_alerts")
                .rule(rule)
                .build(),
            tags: vec![Tag::builder()
                .key("iotstack:stack")
                .value("p")
                .build()
                .unwrap()],
        };
        let o = IotTopicRule.observe(fetched, &want()).unwrap();
        assert_eq!(o.props["enabled"], json!(false));
        assert_eq!(o.props["description"], json!(""));
        assert_eq!(o.props["message_format"], json!("RAW"), "RAW when unset");
        assert_eq!(
            o.props["role_arn"],
            json!("arn:aws:iam::123456789012:role/p-iot-rule-sns-role")
        );
        assert_eq!(o.props["tags"], json!({"iotstack:stack": "p"}));
        assert_eq!(
            o.attr("arn"),
            "arn:aws:iot:eu-west-1:123456789012:rule/p_alerts"
        );
    }

    #[test]
    fn a_create_tells_what_the_read_observes() {
        let fetched = Fetched {
            rule: GetTopicRuleOutput::builder()
                .rule_arn("arn:aws:iot:eu-west-1:123456789012:rule/p_alerts")
                .rule(TopicRule::builder().sql("SELECT * FROM 'p/alerts'").build())
                .build(),
            tags: Vec::new(),
        };
        let o = IotTopicRule.observe(fetched, &want()).unwrap();
        let made = created(&Ctx::for_tests("eu-west-1"), &want());
        crate::resources::assert_created_as_observed(&SPEC, &made, &o);
    }

    #[test]
    fn an_answer_without_a_rule_is_no_rule() {
        let fetched = Fetched {
            rule: GetTopicRuleOutput::builder().build(),
            tags: Vec::new(),
        };
        assert_eq!(IotTopicRule.observe(fetched, &want()), None);
    }

    fn denial() -> AwsError {
        AwsError {
            operation: "GetTopicRule",
            code: Some(DENIED.into()),
            message: "Access to topic rule 'p_alerts' was denied".into(),
        }
    }

    /// The operation and code of the error reported, if any.
    fn reported(r: Result<(), AwsError>) -> Option<(&'static str, String)> {
        r.err().map(|e| (e.operation, e.code.unwrap_or_default()))
    }

    #[test]
    fn an_unauthorized_rule_is_absent_only_when_the_list_does_not_name_it() {
        let listed = |names: &[&str]| Ok(names.iter().map(|n| n.to_string()).collect());
        let denied = Some(("GetTopicRule", DENIED.to_string()));
        let absent = absent_or_denied("p_alerts", listed(&["other"]), denial());
        assert_eq!(reported(absent), None);
        let there = absent_or_denied("p_alerts", listed(&["other", "p_alerts"]), denial());
        assert_eq!(reported(there), denied, "the caller was denied the rule");
        let list_denied = AwsError {
            operation: "ListTopicRules",
            code: Some("AccessDeniedException".into()),
            message: "not authorized".into(),
        };
        let unknown = absent_or_denied("p_alerts", Err(list_denied), denial());
        assert_eq!(reported(unknown), denied, "absence not confirmed");
    }

    #[test]
    fn tags_go_to_create_as_a_query_string() {
        let want = Desired::from_json(
            "r",
            json!({"tags": {"iotstack:stack": "p", "owner": "a b&c"}}),
        );
        assert_eq!(tag_query(&want), "iotstack%3Astack=p&owner=a%20b%26c");
    }
}
