//! AWS IoT policy. A changed document becomes a new default version; when five versions exist the
//! oldest non-default one is pruned first. Delete detaches every target and prunes versions.

use aws_sdk_iot::operation::create_policy::CreatePolicyOutput;
use aws_sdk_iot::operation::get_policy::GetPolicyOutput;
use aws_sdk_iot::types::{PolicyVersion, Tag};
use serde_json::json;

use super::prelude::*;
use super::support::{
    delete_after_detach, iot_arn_ahead, iot_tag, iot_tags, iot_tags_after, iot_tags_beside,
    iot_wanted_tags, normalized_policy, remove_each,
};
use crate::error::AwsError;

pub struct IotPolicy;

pub static SPEC: KindSpec = KindSpec::tagged(
    "iot_policy",
    &[
        PropSpec::required(
            "name",
            PropType::Str,
            "the policy name, e.g. `${prefix}-device-policy`",
        )
        .force_new(),
        PropSpec::required(
            "document",
            PropType::Policy,
            "the policy template, e.g. `../policies/device-policy.json`",
        ),
    ],
    NameRule::ascii(128, "+=,.@-_", "an IoT policy name"),
    Missing::IOT,
);

/// Every target the policy is attached to (certificates, Cognito identities, thing groups).
pub async fn targets(ctx: &Ctx, policy: &str) -> Result<Vec<String>, AwsError> {
    let list = ctx.clients.iot.list_targets_for_policy();
    let pages = list.policy_name(policy).page_size(250).into_paginator();
    pages
        .items()
        .send()
        .try_collect()
        .await
        .op("ListTargetsForPolicy")
}

/// Attaches the policy to a target (a certificate ARN, a Cognito identity id).
pub async fn attach(ctx: &Ctx, policy: &str, target: &str) -> Result<(), AwsError> {
    let call = ctx.clients.iot.attach_policy().policy_name(policy);
    call.target(target).send().await.op("AttachPolicy")?;
    Ok(())
}

/// Detaches each `(policy, target)` link; a link already gone is done.
pub async fn detach(
    ctx: &Ctx,
    links: impl IntoIterator<Item = (String, String)>,
) -> Result<usize, AwsError> {
    let iot = &ctx.clients.iot;
    remove_each(links, "DetachPolicy", SPEC.missing, |(p, t)| {
        iot.detach_policy().policy_name(p).target(t).send()
    })
    .await
}

/// What a policy's create tells of it: its name, and the ARN CreatePolicy answered.
fn created(made: &CreatePolicyOutput, want: &Desired) -> Created {
    let arn = made.policy_arn().unwrap_or_default();
    super::created([("name", want.str("name")), ("arn", arn)])
}

/// What AWS answers about a policy: the policy, and its tags.
pub struct Fetched {
    pub policy: GetPolicyOutput,
    pub tags: Vec<Tag>,
}

#[async_trait]
impl Fetch for IotPolicy {
    module_spec!(Fetched);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let call = ctx.clients.iot.get_policy().policy_name(want.str("name"));
        // The tags are asked for beside it, by the ARN known ahead: one round trip.
        let ahead = iot_arn_ahead(ctx, want, "policy/");
        let recorded = Some(ahead.as_str());
        let early = iot_tags_beside(ctx, recorded);
        let (policy, early) = futures::join!(call.send(), early);
        let Some(policy) = SPEC.missing.found(policy.op("GetPolicy"))? else {
            return Ok(None);
        };
        let arn = policy.policy_arn().unwrap_or_default();
        let tags = iot_tags_after(ctx, early, recorded, arn).await?;
        Ok(Some(Fetched { policy, tags }))
    }

    fn observe(&self, f: Fetched, want: &Desired) -> Option<Observed> {
        let (p, name) = (&f.policy, want.str("name"));
        let document = normalized_policy(Some(p.policy_document().unwrap_or("{}")));
        let tags = iot_wanted_tags(want, &f.tags);
        Some(Observed::new(
            json!({ "name": name, "document": document, "tags": tags }),
            json!({
                "name": name,
                "arn": p.policy_arn().unwrap_or_default(),
                "default_version": p.default_version_id(),
            }),
        ))
    }
}

#[async_trait]
impl Manage for IotPolicy {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let call = ctx
            .clients
            .iot
            .create_policy()
            .policy_name(want.str("name"));
        let call = call.policy_document(want.document("document").to_string());
        let call = call.set_tags(Some(iot_tags(want)));
        let made = call.send().await.op("CreatePolicy")?;
        Ok(created(&made, want))
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (ctx, want, have, changes) = (u.ctx, u.want, u.have, u.changes);
        let name = want.str("name");
        if changes.has("document") {
            prune_oldest_version(ctx, name).await?;
            let call = ctx.clients.iot.create_policy_version().policy_name(name);
            let call = call.policy_document(want.document("document").to_string());
            let call = call.set_as_default(true);
            call.send().await.op("CreatePolicyVersion")?;
        }
        if changes.has("tags") {
            iot_tag(ctx, have.attr("arn"), want).await?;
        }
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let name = have.attr("name");
        // "A policy cannot be deleted if it has non-default versions or it is attached to any
        // certificate" (AWS IoT API reference, DeletePolicy), which then answers
        // DeleteConflictException. The usual destroy has nothing left of either: the stack's
        // attachments went first, and a policy the stack made has one version unless an update
        // made more. So the policy is deleted at once, and only when AWS refuses are its
        // targets and versions listed and removed (the two lists, then the detaches and the
        // version deletes, independent: one round trip each), and the delete retried while AWS
        // catches up ("it can take up to five minutes after a policy is detached before it's
        // ready to be deleted").
        let first = ctx
            .clients
            .iot
            .delete_policy()
            .policy_name(name)
            .send()
            .await;
        match first.op("DeletePolicy") {
            Err(e) if e.code.as_deref() == Some("DeleteConflictException") => {}
            other => {
                SPEC.missing.gone(other)?;
                return Ok(Vec::new());
            }
        }
        let (links, versions) = futures::join!(targets(ctx, name), versions(ctx, name));
        let links = links?.into_iter();
        let versions = SPEC.missing.found(versions)?;
        let old = versions
            .into_iter()
            .flatten()
            .filter(|v| !v.is_default_version());
        let old: Vec<String> = old.filter_map(|v| v.version_id).collect();
        let (detached, deleted) = futures::join!(
            detach(ctx, links.map(|t| (name.to_string(), t))),
            delete_versions(ctx, name, old)
        );
        let detached = detached?;
        deleted?;
        let conflicts = ["DeleteConflictException"];
        delete_after_detach("DeletePolicy", &conflicts, SPEC.missing, || {
            ctx.clients.iot.delete_policy().policy_name(name).send()
        })
        .await?;
        let detached = (detached > 0).then(|| format!("detached from {detached} target(s)"));
        Ok(detached.into_iter().collect())
    }
}

async fn versions(ctx: &Ctx, name: &str) -> Result<Vec<PolicyVersion>, AwsError> {
    let call = ctx.clients.iot.list_policy_versions().policy_name(name);
    let out = call.send().await.op("ListPolicyVersions")?;
    Ok(out.policy_versions.unwrap_or_default())
}

/// At five versions AWS refuses a new one: the oldest non-default version goes first.
async fn prune_oldest_version(ctx: &Ctx, name: &str) -> Result<(), AwsError> {
    let versions = versions(ctx, name).await?;
    if versions.len() < 5 {
        return Ok(());
    }
    let oldest = versions
        .into_iter()
        .filter(|v| !v.is_default_version())
        .min_by_key(|v| v.create_date().map(|d| d.as_nanos()).unwrap_or(0))
        .and_then(|v| v.version_id);
    delete_versions(ctx, name, oldest.into_iter().collect()).await
}

async fn delete_versions(ctx: &Ctx, name: &str, ids: Vec<String>) -> Result<(), AwsError> {
    let iot = &ctx.clients.iot;
    remove_each(ids, "DeletePolicyVersion", SPEC.missing, |id| {
        let call = iot.delete_policy_version().policy_name(name);
        call.policy_version_id(id).send()
    })
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Desired;

    #[test]
    fn the_document_is_normalised_and_only_the_stack_tags_compared() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"iot:Connect","Resource":"*"},
            {"Effect":"Allow","Action":["iot:Publish"],"Resource":["*"]}]}"#;
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
        let fetched = Fetched {
            policy: GetPolicyOutput::builder()
                .policy_name("p-device-policy")
                .policy_arn("arn:aws:iot:eu-west-1:123456789012:policy/p-device-policy")
                .policy_document(doc)
                .default_version_id("3")
                .build(),
            tags: vec![tag("iotstack:stack", "p"), tag("team", "ops")],
        };
        let want = Desired::from_json(
            "device-policy",
            json!({"name": "p-device-policy", "tags": {"iotstack:stack": "p"}}),
        );
        let o = IotPolicy.observe(fetched, &want).unwrap();
        assert_eq!(
            o.props["document"],
            json!({"Statement": [
                {"Action": ["iot:Connect"], "Effect": "Allow", "Resource": ["*"]},
                {"Action": ["iot:Publish"], "Effect": "Allow", "Resource": ["*"]}],
                "Version": "2012-10-17"})
        );
        assert_eq!(o.props["tags"], json!({"iotstack:stack": "p"}));
        assert_eq!(o.attr("default_version"), "3");
        assert_eq!(
            o.attr("arn"),
            "arn:aws:iot:eu-west-1:123456789012:policy/p-device-policy"
        );
    }

    #[test]
    fn a_create_tells_what_the_read_observes() {
        let arn = "arn:aws:iot:eu-west-1:123456789012:policy/p-device-policy";
        let made = CreatePolicyOutput::builder()
            .policy_name("p-device-policy")
            .policy_arn(arn)
            .policy_version_id("1")
            .build();
        let fetched = Fetched {
            policy: GetPolicyOutput::builder()
                .policy_name("p-device-policy")
                .policy_arn(arn)
                .default_version_id("1")
                .build(),
            tags: Vec::new(),
        };
        let want = Desired::from_json("device-policy", json!({"name": "p-device-policy"}));
        let o = IotPolicy.observe(fetched, &want).unwrap();
        crate::resources::assert_created_as_observed(&SPEC, &created(&made, &want), &o);
    }

    #[test]
    fn a_policy_without_a_default_version_has_no_such_attribute() {
        let fetched = Fetched {
            policy: GetPolicyOutput::builder().build(),
            tags: Vec::new(),
        };
        let want = Desired::from_json("p", json!({"name": "n"}));
        let o = IotPolicy.observe(fetched, &want).unwrap();
        assert!(!o.attrs.contains_key("default_version"));
        assert_eq!(o.props["document"], json!({}));
        assert_eq!(o.props["tags"], json!({}));
    }
}
