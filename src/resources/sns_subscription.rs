//! SNS email subscription. AWS keeps it pending until the recipient confirms; a pending
//! subscription is listed without an ARN, so the ARN `Subscribe` returned is kept locally to
//! remove it on destroy where AWS allows that.

use async_trait::async_trait;
use serde_json::Value;

use super::{Ctx, Desired, KindSpec, Manage, Observed, Ownership, PropSpec, PropType, Read};
use crate::aws::{Missing, OpExt};
use crate::error::ResourceError;
use crate::state;

pub struct SnsEmailSubscription;

pub const PENDING: &str = "PendingConfirmation";

static PROPS: &[PropSpec] = &[
    PropSpec::required(
        "topic_arn",
        PropType::Str,
        "the topic, e.g. `${alert-topic.arn}`",
    )
    .force_new(),
    PropSpec::required("email", PropType::Str, "the address, e.g. `${email}`").force_new(),
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "sns_email_subscription",
    props: PROPS,
    attrs: &["arn"],
    name_rule: None,
    ownership: Ownership::Parent,
    missing: Missing::SNS,
    facts: &[],
};

#[async_trait]
impl Read for SnsEmailSubscription {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let topic = want.str("topic_arn");
        let email = want.is_known("email").then(|| want.str("email"));
        let list = ctx
            .clients
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(topic);
        let pages = list.into_paginator().items().send().try_collect().await;
        let Some(all) = Missing::SNS.found(pages.op("ListSubscriptionsByTopic"))? else {
            return Ok(None);
        };
        let subs: Vec<_> = all
            .into_iter()
            .filter(|s| s.protocol() == Some("email"))
            .collect();
        // Ours is the one for the wanted address; failing that, the topic's email subscription
        // (its address changed: a replacement).
        let sub = subs
            .iter()
            .find(|s| {
                email.is_some_and(|e| s.endpoint().unwrap_or_default().eq_ignore_ascii_case(e))
            })
            .or_else(|| subs.first());
        let Some(sub) = sub else { return Ok(None) };
        let arn = sub.subscription_arn().unwrap_or_default().to_string();
        let mut o = Observed::default();
        o.props
            .insert("topic_arn".into(), Value::String(topic.to_string()));
        o.props.insert(
            "email".into(),
            Value::String(sub.endpoint().unwrap_or_default().to_string()),
        );
        if arn == PENDING {
            o.notes
                .push("the subscription is pending: the recipient must confirm the email".into());
        }
        o.attrs.insert("arn".into(), arn);
        o.attrs.insert("topic_arn".into(), topic.to_string());
        o.attrs.insert(
            "email".into(),
            sub.endpoint().unwrap_or_default().to_string(),
        );
        o.attrs.insert("resource_id".into(), want.id.clone());
        Ok(Some(o))
    }
}

#[async_trait]
impl Manage for SnsEmailSubscription {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        let r = ctx
            .clients
            .sns
            .subscribe()
            .topic_arn(want.str("topic_arn"))
            .protocol("email")
            .endpoint(want.str("email"))
            .return_subscription_arn(true)
            .send()
            .await
            .op("Subscribe")?;
        if let Some(arn) = r.subscription_arn() {
            state::write_small(
                &ctx.state_dir,
                &format!("{}.subscription-arn", want.id),
                arn,
            );
        }
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let mut notes = Vec::new();
        let key = format!("{}.subscription-arn", have.attr("resource_id"));
        let mut arn = have.attr("arn").to_string();
        if arn == PENDING || arn.is_empty() {
            match state::read_small(&ctx.state_dir, &key) {
                Some(saved) => arn = saved,
                None => {
                    notes.push(format!(
                        "the subscription of {} is pending confirmation and AWS lists it without an ARN, so it cannot be removed; AWS deletes unconfirmed subscriptions after 3 days, and deleting the topic removes it",
                        have.attr("email")
                    ));
                    return Ok(notes);
                }
            }
        }
        let r = ctx
            .clients
            .sns
            .unsubscribe()
            .subscription_arn(&arn)
            .send()
            .await
            .op("Unsubscribe")
            .map(|_| ());
        match r {
            Err(e) if e.code.as_deref() == Some("InvalidParameter") => notes.push(format!(
                "AWS did not allow removing the pending subscription of {} ({}); it expires after 3 days unconfirmed, and deleting the topic removes it",
                have.attr("email"),
                e.message
            )),
            other => Missing::SNS.gone(other)?,
        }
        state::remove(&ctx.state_dir, &key);
        Ok(notes)
    }
}
