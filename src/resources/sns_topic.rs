//! SNS topic.

use async_trait::async_trait;
use serde_json::Value;

use super::support::tag_list;
use super::{
    wanted_tags, Changes, Ctx, Desired, KindSpec, Manage, NameRule, Observed, Ownership, PropSpec,
    PropType, Read,
};
use crate::aws::{Missing, OpExt};
use crate::error::ResourceError;

pub struct SnsTopic;

static PROPS: &[PropSpec] = &[
    PropSpec::required(
        "name",
        PropType::Str,
        "the topic name, e.g. `${prefix}-iot-notification`",
    )
    .force_new(),
    PropSpec::optional(
        "display_name",
        PropType::Str,
        "the display name used as the email sender name",
    ),
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "sns_topic",
    props: PROPS,
    attrs: &["name", "arn"],
    name_rule: Some(NameRule::ascii(256, "-_", "an SNS topic name")),
    ownership: Ownership::Tag,
    missing: Missing::SNS,
    facts: &[],
};

fn topic_arn(ctx: &Ctx, name: &str) -> String {
    format!("arn:aws:sns:{}:{}:{name}", ctx.region, ctx.account)
}

fn sns_tags(want: &Desired) -> Vec<aws_sdk_sns::types::Tag> {
    tag_list(want, |k, v| {
        aws_sdk_sns::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .ok()
    })
}

#[async_trait]
impl Read for SnsTopic {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let name = want.str("name");
        let arn = topic_arn(ctx, name);
        // The ARN is known up front: attributes and tags in one round trip.
        let (a, t) = futures::join!(
            ctx.clients
                .sns
                .get_topic_attributes()
                .topic_arn(&arn)
                .send(),
            ctx.clients
                .sns
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send(),
        );
        let Some(a) = Missing::SNS.found(a.op("GetTopicAttributes"))? else {
            return Ok(None);
        };
        let attrs = a.attributes().cloned().unwrap_or_default();
        let t = t.op("ListTagsForResource")?;
        let mut o = Observed::default();
        o.props
            .insert("name".into(), Value::String(name.to_string()));
        o.props.insert(
            "display_name".into(),
            Value::String(attrs.get("DisplayName").cloned().unwrap_or_default()),
        );
        o.props.insert(
            "tags".into(),
            wanted_tags(want, t.tags().iter().map(|t| (t.key(), t.value()))),
        );
        o.attrs.insert("name".into(), name.to_string());
        o.attrs.insert("arn".into(), arn);
        Ok(Some(o))
    }
}

#[async_trait]
impl Manage for SnsTopic {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        let mut req = ctx
            .clients
            .sns
            .create_topic()
            .name(want.str("name"))
            .set_tags(Some(sns_tags(want)));
        if let Some(d) = want.opt_str("display_name") {
            req = req.attributes("DisplayName", d);
        }
        req.send().await.op("CreateTopic")?;
        Ok(())
    }

    async fn update(
        &self,
        ctx: &Ctx,
        want: &Desired,
        have: &Observed,
        changes: Changes<'_>,
    ) -> Result<(), ResourceError> {
        let arn = have.attr("arn");
        if changes.has("display_name") {
            ctx.clients
                .sns
                .set_topic_attributes()
                .topic_arn(arn)
                .attribute_name("DisplayName")
                .attribute_value(want.str("display_name"))
                .send()
                .await
                .op("SetTopicAttributes")?;
        }
        if changes.has("tags") {
            ctx.clients
                .sns
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(sns_tags(want)))
                .send()
                .await
                .op("TagResource")?;
        }
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let call = ctx.clients.sns.delete_topic().topic_arn(have.attr("arn"));
        Missing::SNS.gone(call.send().await.op("DeleteTopic"))?;
        Ok(Vec::new())
    }
}
