//! SNS topic.

use std::collections::HashMap;

use aws_sdk_sns::operation::create_topic::CreateTopicOutput;
use aws_sdk_sns::types::Tag;
use serde_json::json;

use super::prelude::*;
use super::support::tag_list;
use super::wanted_tags;

pub struct SnsTopic;

pub static SPEC: KindSpec = KindSpec::tagged(
    "sns_topic",
    &[
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
    ],
    NameRule::ascii(256, "-_", "an SNS topic name"),
    Missing::SNS,
);

fn sns_tags(want: &Desired) -> Vec<Tag> {
    tag_list(want, |k, v| Tag::builder().key(k).value(v).build().ok())
}

/// What a topic's create tells of it: its name, and the ARN CreateTopic answered.
fn created(made: &CreateTopicOutput, want: &Desired) -> Created {
    let arn = made.topic_arn().unwrap_or_default();
    super::created([("name", want.str("name")), ("arn", arn)])
}

/// What SNS answers about a topic: its attributes and its tags.
pub struct Fetched {
    pub arn: String,
    pub attributes: HashMap<String, String>,
    pub tags: Vec<Tag>,
}

#[async_trait]
impl Fetch for SnsTopic {
    module_spec!(Fetched);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let (sns, arn) = (&ctx.clients.sns, ctx.arn("sns", want.str("name")));
        if want.depth == Depth::Delete {
            // For destroy, the tags alone (whose it is); they answer ResourceNotFound for a topic
            // that does not exist (SNS API reference, ListTagsForResource).
            let t = sns.list_tags_for_resource().resource_arn(&arn).send().await;
            let Some(t) = SPEC.missing.found(t.op("ListTagsForResource"))? else {
                return Ok(None);
            };
            let tags = t.tags.unwrap_or_default();
            let attributes = Default::default();
            return Ok(Some(Fetched {
                arn,
                attributes,
                tags,
            }));
        }
        // The ARN is known up front: attributes and tags in one round trip.
        let (a, t) = futures::join!(
            sns.get_topic_attributes().topic_arn(&arn).send(),
            sns.list_tags_for_resource().resource_arn(&arn).send(),
        );
        let Some(a) = SPEC.missing.found(a.op("GetTopicAttributes"))? else {
            return Ok(None);
        };
        let tags = t.op("ListTagsForResource")?.tags.unwrap_or_default();
        let attributes = a.attributes.unwrap_or_default();
        Ok(Some(Fetched {
            arn,
            attributes,
            tags,
        }))
    }

    fn observe(&self, f: Fetched, want: &Desired) -> Option<Observed> {
        let display_name = f.attributes.get("DisplayName").cloned();
        let tags = f.tags.iter().map(|t| (t.key(), t.value()));
        Some(Observed::new(
            json!({
                "name": want.str("name"),
                "display_name": display_name.unwrap_or_default(),
                "tags": wanted_tags(want, tags),
            }),
            json!({ "name": want.str("name"), "arn": f.arn }),
        ))
    }
}

#[async_trait]
impl Manage for SnsTopic {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let call = ctx.clients.sns.create_topic().name(want.str("name"));
        let mut call = call.set_tags(Some(sns_tags(want)));
        if let Some(d) = want.opt_str("display_name") {
            call = call.attributes("DisplayName", d);
        }
        let made = call.send().await.op("CreateTopic")?;
        Ok(created(&made, want))
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (ctx, want, have, changes) = (u.ctx, u.want, u.have, u.changes);
        let (sns, arn) = (&ctx.clients.sns, have.attr("arn"));
        if changes.has("display_name") {
            let call = sns.set_topic_attributes().topic_arn(arn);
            let call = call.attribute_name("DisplayName");
            let call = call.attribute_value(want.str("display_name"));
            call.send().await.op("SetTopicAttributes")?;
        }
        if changes.has("tags") {
            let call = sns.tag_resource().resource_arn(arn);
            let call = call.set_tags(Some(sns_tags(want)));
            call.send().await.op("TagResource")?;
        }
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let call = ctx.clients.sns.delete_topic().topic_arn(have.attr("arn"));
        SPEC.missing.gone(call.send().await.op("DeleteTopic"))?;
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_display_name_is_an_attribute_and_foreign_tags_are_ignored() {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
        let fetched = Fetched {
            arn: "arn:aws:sns:eu-west-1:123456789012:p-iot-notification".into(),
            attributes: HashMap::from([("DisplayName".into(), "Alerts".into())]),
            tags: vec![tag("iotstack:stack", "p"), tag("owner", "ops")],
        };
        let want = Desired::from_json(
            "alert-topic",
            json!({"name": "p-iot-notification", "tags": {"iotstack:stack": "p", "team": "a"}}),
        );
        let o = SnsTopic.observe(fetched, &want).unwrap();
        let made = CreateTopicOutput::builder()
            .topic_arn("arn:aws:sns:eu-west-1:123456789012:p-iot-notification")
            .build();
        crate::resources::assert_created_as_observed(&SPEC, &created(&made, &want), &o);
        assert_eq!(o.props["display_name"], json!("Alerts"));
        assert_eq!(o.props["tags"], json!({"iotstack:stack": "p"}));
        assert_eq!(
            o.attr("arn"),
            "arn:aws:sns:eu-west-1:123456789012:p-iot-notification"
        );
    }
}
