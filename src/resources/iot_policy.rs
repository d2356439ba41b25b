//! AWS IoT policy. A changed document becomes a new default version; when five versions exist the
//! oldest non-default one is pruned first. Delete detaches every target and prunes versions.

use async_trait::async_trait;
use aws_sdk_iot::types::PolicyVersion;
use serde_json::Value;

use super::support::{delete_after_detach, remove_each, tag_list};
use super::{
    wanted_tags, Changes, Ctx, Desired, KindSpec, Manage, NameRule, Observed, Ownership, PropSpec,
    PropType, Read,
};
use crate::aws::{Missing, OpExt};
use crate::error::{AwsError, ResourceError};
use crate::policy;

pub struct IotPolicy;

static PROPS: &[PropSpec] = &[
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
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "iot_policy",
    props: PROPS,
    attrs: &["name", "arn"],
    name_rule: Some(NameRule::ascii(128, "+=,.@-_", "an IoT policy name")),
    ownership: Ownership::Tag,
    missing: Missing::IOT,
    facts: &[],
};

/// Every target the policy is attached to (certificates, Cognito identities, thing groups).
pub async fn targets(ctx: &Ctx, policy: &str) -> Result<Vec<String>, AwsError> {
    let list = ctx
        .clients
        .iot
        .list_targets_for_policy()
        .policy_name(policy);
    let pages = list.page_size(250).into_paginator().items().send();
    pages.try_collect().await.op("ListTargetsForPolicy")
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
    remove_each(links, "DetachPolicy", Missing::IOT, |(p, t)| {
        iot.detach_policy().policy_name(p).target(t).send()
    })
    .await
}

pub async fn tags_of(ctx: &Ctx, arn: &str, want: &Desired) -> Result<Value, AwsError> {
    let r = ctx
        .clients
        .iot
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .op("ListTagsForResource")?;
    Ok(wanted_tags(
        want,
        r.tags()
            .iter()
            .map(|t| (t.key(), t.value().unwrap_or_default())),
    ))
}

pub async fn tag(ctx: &Ctx, arn: &str, want: &Desired) -> Result<(), AwsError> {
    let call = ctx.clients.iot.tag_resource().resource_arn(arn);
    call.set_tags(Some(iot_tags(want)))
        .send()
        .await
        .op("TagResource")?;
    Ok(())
}

fn iot_tags(want: &Desired) -> Vec<aws_sdk_iot::types::Tag> {
    tag_list(want, |k, v| {
        aws_sdk_iot::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .ok()
    })
}

#[async_trait]
impl Read for IotPolicy {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let name = want.str("name");
        let Some(p) = Missing::IOT.found(
            ctx.clients
                .iot
                .get_policy()
                .policy_name(name)
                .send()
                .await
                .op("GetPolicy"),
        )?
        else {
            return Ok(None);
        };
        let arn = p.policy_arn().unwrap_or_default().to_string();
        let doc: Value =
            serde_json::from_str(p.policy_document().unwrap_or("{}")).unwrap_or(Value::Null);
        let mut o = Observed::default();
        o.props
            .insert("name".into(), Value::String(name.to_string()));
        o.props.insert("document".into(), policy::normalize(&doc));
        o.props
            .insert("tags".into(), tags_of(ctx, &arn, want).await?);
        o.attrs.insert("name".into(), name.to_string());
        o.attrs.insert("arn".into(), arn);
        if let Some(v) = p.default_version_id() {
            o.attrs.insert("default_version".into(), v.to_string());
        }
        Ok(Some(o))
    }
}

#[async_trait]
impl Manage for IotPolicy {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        ctx.clients
            .iot
            .create_policy()
            .policy_name(want.str("name"))
            .policy_document(want.document("document").to_string())
            .set_tags(Some(iot_tags(want)))
            .send()
            .await
            .op("CreatePolicy")?;
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
        if changes.has("document") {
            prune_oldest_version(ctx, name).await?;
            let call = ctx.clients.iot.create_policy_version().policy_name(name);
            let call = call.policy_document(want.document("document").to_string());
            call.set_as_default(true)
                .send()
                .await
                .op("CreatePolicyVersion")?;
        }
        if changes.has("tags") {
            tag(ctx, have.attr("arn"), want).await?;
        }
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let name = have.attr("name");
        let iot = &ctx.clients.iot;
        let mut notes = Vec::new();
        let links = targets(ctx, name).await?.into_iter();
        let detached = detach(ctx, links.map(|t| (name.to_string(), t))).await?;
        if detached > 0 {
            notes.push(format!("detached from {detached} target(s)"));
        }
        let versions = Missing::IOT
            .found(versions(ctx, name).await)?
            .unwrap_or_default();
        let old = versions.into_iter().filter(|v| !v.is_default_version());
        delete_versions(ctx, name, old.filter_map(|v| v.version_id).collect()).await?;
        delete_after_detach(
            "DeletePolicy",
            &["DeleteConflictException"],
            Missing::IOT,
            || iot.delete_policy().policy_name(name).send(),
        )
        .await?;
        Ok(notes)
    }
}

async fn versions(ctx: &Ctx, name: &str) -> Result<Vec<PolicyVersion>, AwsError> {
    let call = ctx.clients.iot.list_policy_versions().policy_name(name);
    let out = call.send().await.op("ListPolicyVersions")?;
    Ok(out.policy_versions().to_vec())
}

/// At five versions AWS refuses a new one: the oldest non-default version goes first.
async fn prune_oldest_version(ctx: &Ctx, name: &str) -> Result<(), AwsError> {
    let versions = versions(ctx, name).await?;
    if versions.len() < 5 {
        return Ok(());
    }
    let oldest = versions
        .iter()
        .filter(|v| !v.is_default_version())
        .min_by_key(|v| v.create_date().map(|d| d.as_nanos()).unwrap_or(0))
        .and_then(|v| v.version_id.clone());
    delete_versions(ctx, name, oldest.into_iter().collect()).await
}

async fn delete_versions(ctx: &Ctx, name: &str, ids: Vec<String>) -> Result<(), AwsError> {
    let iot = &ctx.clients.iot;
    remove_each(ids, "DeletePolicyVersion", Missing::IOT, |id| {
        iot.delete_policy_version()
            .policy_name(name)
            .policy_version_id(id)
            .send()
    })
    .await?;
    Ok(())
}
