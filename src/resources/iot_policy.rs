//! AWS IoT policy. A changed document becomes a new default version; when five versions exist the
//! oldest non-default one is pruned first. Delete detaches every target and prunes versions.

use async_trait::async_trait;
use serde_json::Value;

use super::{check_chars, wanted_tags, Ctx, Desired, Kind, Observed, PropSpec, PropType};
use crate::aws::{found, gone, retry_on, OpExt, CONFLICT_ATTEMPTS, CONFLICT_PAUSE};
use crate::error::AwsError;

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

/// Every target the policy is attached to (certificates, Cognito identities, thing groups).
pub async fn targets(ctx: &Ctx, policy: &str) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let r = ctx
            .clients
            .iot
            .list_targets_for_policy()
            .policy_name(policy)
            .set_marker(marker)
            .page_size(250)
            .send()
            .await
            .op("ListTargetsForPolicy")?;
        out.extend(r.targets().iter().cloned());
        marker = r
            .next_marker()
            .filter(|m| !m.is_empty())
            .map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    Ok(out)
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
    ctx.clients
        .iot
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(iot_tags(want)))
        .send()
        .await
        .op("TagResource")?;
    Ok(())
}

fn iot_tags(want: &Desired) -> Vec<aws_sdk_iot::types::Tag> {
    want.tags()
        .into_iter()
        .filter_map(|(k, v)| {
            aws_sdk_iot::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect()
}

#[async_trait]
impl Kind for IotPolicy {
    fn type_name(&self) -> &'static str {
        "iot_policy"
    }
    fn props(&self) -> &'static [PropSpec] {
        PROPS
    }
    fn attrs(&self) -> &'static [&'static str] {
        &["name", "arn"]
    }
    fn check_name(&self, name: &str) -> Option<String> {
        check_chars(
            name,
            128,
            |c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c),
            "an IoT policy name",
        )
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, AwsError> {
        let name = want.str("name");
        let Some(p) = found(
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
        o.props
            .insert("document".into(), iotstack_policy::normalize(&doc));
        o.props
            .insert("tags".into(), tags_of(ctx, &arn, want).await?);
        o.attrs.insert("name".into(), name.to_string());
        o.attrs.insert("arn".into(), arn);
        if let Some(v) = p.default_version_id() {
            o.attrs.insert("default_version".into(), v.to_string());
        }
        Ok(Some(o))
    }

    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), AwsError> {
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

    async fn update(&self, ctx: &Ctx, want: &Desired, have: &Observed) -> Result<(), AwsError> {
        let name = want.str("name");
        if have.props.get("document") != Some(want.value("document")) {
            let versions = ctx
                .clients
                .iot
                .list_policy_versions()
                .policy_name(name)
                .send()
                .await
                .op("ListPolicyVersions")?;
            let mut old: Vec<_> = versions
                .policy_versions()
                .iter()
                .filter(|v| !v.is_default_version())
                .collect();
            if versions.policy_versions().len() >= 5 {
                old.sort_by_key(|v| v.create_date().map(|d| d.as_nanos()).unwrap_or(0));
                if let Some(oldest) = old.first().and_then(|v| v.version_id()) {
                    gone(
                        ctx.clients
                            .iot
                            .delete_policy_version()
                            .policy_name(name)
                            .policy_version_id(oldest)
                            .send()
                            .await
                            .op("DeletePolicyVersion")
                            .map(|_| ()),
                    )?;
                }
            }
            ctx.clients
                .iot
                .create_policy_version()
                .policy_name(name)
                .policy_document(want.document("document").to_string())
                .set_as_default(true)
                .send()
                .await
                .op("CreatePolicyVersion")?;
        }
        if have.props.get("tags") != Some(want.value("tags")) {
            tag(ctx, have.attr("arn"), want).await?;
        }
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, AwsError> {
        let name = have.attr("name");
        let mut notes = Vec::new();
        let targets = targets(ctx, name).await?;
        for t in &targets {
            gone(
                ctx.clients
                    .iot
                    .detach_policy()
                    .policy_name(name)
                    .target(t)
                    .send()
                    .await
                    .op("DetachPolicy")
                    .map(|_| ()),
            )?;
        }
        if !targets.is_empty() {
            notes.push(format!("detached from {} target(s)", targets.len()));
        }
        let versions = found(
            ctx.clients
                .iot
                .list_policy_versions()
                .policy_name(name)
                .send()
                .await
                .op("ListPolicyVersions"),
        )?;
        for v in versions.iter().flat_map(|v| v.policy_versions()) {
            if v.is_default_version() {
                continue;
            }
            if let Some(id) = v.version_id() {
                gone(
                    ctx.clients
                        .iot
                        .delete_policy_version()
                        .policy_name(name)
                        .policy_version_id(id)
                        .send()
                        .await
                        .op("DeletePolicyVersion")
                        .map(|_| ()),
                )?;
            }
        }
        // Detaching is asynchronous in AWS IoT: the delete may see a conflict for a while.
        gone(
            retry_on(
                &["DeleteConflictException"],
                CONFLICT_ATTEMPTS,
                CONFLICT_PAUSE,
                || async {
                    ctx.clients
                        .iot
                        .delete_policy()
                        .policy_name(name)
                        .send()
                        .await
                        .op("DeletePolicy")
                        .map(|_| ())
                },
            )
            .await,
        )?;
        Ok(notes)
    }
}
