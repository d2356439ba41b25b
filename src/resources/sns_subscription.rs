//! SNS email subscription. AWS keeps it pending until the recipient confirms; a pending
//! subscription is listed without an ARN, so the ARN `Subscribe` returned is kept locally to
//! remove it on destroy where AWS allows that.

use aws_sdk_sns::types::Subscription;
use serde_json::json;

use super::prelude::*;
use crate::state;

pub struct SnsEmailSubscription;

pub const PENDING: &str = "PendingConfirmation";

pub static SPEC: KindSpec = KindSpec {
    type_name: "sns_email_subscription",
    props: &[
        PropSpec::required(
            "topic_arn",
            PropType::Str,
            "the topic, e.g. `${alert-topic.arn}`",
        )
        .force_new(),
        PropSpec::required("email", PropType::Str, "the address, e.g. `${email}`").force_new(),
    ],
    attrs: &["arn"],
    name_rule: None,
    ownership: Ownership::Parent,
    missing: Missing::SNS,
    facts: &[],
    // "Deletes a topic and all its subscriptions" (SNS API reference, DeleteTopic).
    deleted_with: &["sns_topic"],
};

/// What a subscription's create tells of it: nothing. Its `arn` is what the read lists, and that
/// depends on the recipient: a new email subscription is pending until confirmed ("the string
/// \"pending confirmation\" if the subscription requires confirmation", SNS API reference,
/// Subscribe, `SubscriptionArn`), and ListSubscriptionsByTopic lists a pending one with the
/// SubscriptionArn `PendingConfirmation`, a confirmed one with its ARN. Only the read can tell
/// which; nothing refers to a subscription, so apply waits for its read-back at no cost. (The
/// ARN Subscribe answers with `ReturnSubscriptionArn`, "always the subscription ARN, even if the
/// subscription requires confirmation", is kept locally for destroy.)
fn created() -> Created {
    Created::new()
}

#[async_trait]
impl Fetch for SnsEmailSubscription {
    // The topic's email subscriptions.
    module_spec!(Vec<Subscription>);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let list = ctx.clients.sns.list_subscriptions_by_topic();
        let list = list.topic_arn(want.str("topic_arn")).into_paginator();
        let all = list.items().send().try_collect().await;
        let all = SPEC.missing.found(all.op("ListSubscriptionsByTopic"))?;
        let email = |s: &Subscription| s.protocol() == Some("email");
        Ok(all.map(|all| all.into_iter().filter(email).collect()))
    }

    /// Ours is the one for the wanted address; failing that, the topic's email subscription (its
    /// address changed: a replacement).
    fn observe(&self, subs: Vec<Subscription>, want: &Desired) -> Option<Observed> {
        let email = want.is_known("email").then(|| want.str("email"));
        let endpoint = |s: &Subscription| s.endpoint().unwrap_or_default().to_string();
        let ours = |s: &&Subscription| email.is_some_and(|e| endpoint(s).eq_ignore_ascii_case(e));
        let sub = subs.iter().find(ours).or_else(|| subs.first())?;
        let arn = sub.subscription_arn().unwrap_or_default();
        let topic = want.str("topic_arn");
        let o = Observed::new(
            json!({ "topic_arn": topic, "email": endpoint(sub) }),
            json!({
                "arn": arn,
                "topic_arn": topic,
                "email": endpoint(sub),
                "resource_id": want.id,
            }),
        );
        let pending = "the subscription is pending: the recipient must confirm the email";
        Some(o.note((arn == PENDING).then(|| pending.to_string())))
    }
}

#[async_trait]
impl Manage for SnsEmailSubscription {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let call = ctx.clients.sns.subscribe().topic_arn(want.str("topic_arn"));
        let call = call.protocol("email").endpoint(want.str("email"));
        let r = call
            .return_subscription_arn(true)
            .send()
            .await
            .op("Subscribe")?;
        if let Some(arn) = r.subscription_arn() {
            let file = format!("{}.subscription-arn", want.id);
            state::write_small(&ctx.state_dir, &file, arn);
        }
        Ok(created())
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
        let call = ctx.clients.sns.unsubscribe().subscription_arn(&arn);
        let r = call.send().await.op("Unsubscribe");
        match r {
            Err(e) if e.code.as_deref() == Some("InvalidParameter") => notes.push(format!(
                "AWS did not allow removing the pending subscription of {} ({}); it expires after 3 days unconfirmed, and deleting the topic removes it",
                have.attr("email"),
                e.message
            )),
            other => SPEC.missing.gone(other)?,
        }
        state::remove(&ctx.state_dir, &key);
        Ok(notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:p-iot-notification";

    fn email(arn: &str, address: &str) -> Subscription {
        Subscription::builder()
            .subscription_arn(arn)
            .protocol("email")
            .endpoint(address)
            .topic_arn(TOPIC)
            .build()
    }

    #[test]
    fn the_wanted_address_is_ours_and_pending_is_a_note() {
        let subs = vec![
            email(&format!("{TOPIC}:1111"), "old@example.com"),
            email(PENDING, "Ops@Example.com"),
        ];
        let want = Desired::from_json(
            "alert-email",
            json!({"topic_arn": TOPIC, "email": "ops@example.com"}),
        );
        let o = SnsEmailSubscription.observe(subs, &want).unwrap();
        assert_eq!(o.props["email"], json!("Ops@Example.com"));
        assert_eq!(o.attr("arn"), PENDING);
        // The read tells pending from confirmed; the create cannot.
        assert!(created().is_empty());
        assert_eq!(o.attr("resource_id"), "alert-email");
        assert_eq!(
            o.notes,
            ["the subscription is pending: the recipient must confirm the email"]
        );
    }

    #[test]
    fn another_address_is_the_one_to_replace_and_none_is_missing() {
        let want = Desired::from_json(
            "alert-email",
            json!({"topic_arn": TOPIC, "email": "new@example.com"}),
        );
        let subs = vec![email(&format!("{TOPIC}:1111"), "old@example.com")];
        let o = SnsEmailSubscription.observe(subs, &want).unwrap();
        assert_eq!(o.props["email"], json!("old@example.com"));
        assert!(o.notes.is_empty());
        assert_eq!(SnsEmailSubscription.observe(Vec::new(), &want), None);
    }
}
