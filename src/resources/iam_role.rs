//! IAM role: trust policy, inline policies, managed policies, description and tags.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

use super::support::{delete_after_detach, remove_each, tag_list};
use super::{
    wanted_tags, Changes, Ctx, Desired, KindSpec, Manage, NameRule, Observed, Ownership, PropSpec,
    PropType, Read,
};
use crate::aws::{Missing, OpExt};
use crate::error::{AwsError, ResourceError};
use crate::policy;

pub struct IamRole;

static PROPS: &[PropSpec] = &[
    PropSpec::required(
        "name",
        PropType::Str,
        "the role name, e.g. `${prefix}-iot-rule-sns-role`",
    )
    .force_new(),
    PropSpec::required(
        "assume_role_policy",
        PropType::Policy,
        "the trust policy template",
    ),
    PropSpec::optional(
        "description",
        PropType::Str,
        "a description shown in the console",
    ),
    PropSpec::optional(
        "inline_policies",
        PropType::PolicyMap,
        "inline policies: name -> policy template",
    ),
    PropSpec::optional(
        "managed_policy_arns",
        PropType::StrList,
        "ARNs of managed policies to attach",
    ),
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "iam_role",
    props: PROPS,
    attrs: &["name", "arn"],
    name_rule: Some(NameRule::ascii(64, "+=,.@-_", "an IAM role name")),
    ownership: Ownership::Tag,
    missing: Missing::IAM,
    facts: &[],
};

/// IAM returns policy documents percent-encoded.
fn decode_policy(text: &str) -> Value {
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
    serde_json::from_str::<Value>(&decoded)
        .map(|v| policy::normalize(&v))
        .unwrap_or(Value::Null)
}

async fn inline_policies(ctx: &Ctx, role: &str) -> Result<BTreeMap<String, Value>, AwsError> {
    let names = inline_policy_names(ctx, role).await?;
    let docs = futures::future::try_join_all(names.iter().map(|n| async move {
        let p = ctx
            .clients
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(n)
            .send()
            .await
            .op("GetRolePolicy")?;
        Ok::<_, AwsError>((n.clone(), decode_policy(p.policy_document())))
    }))
    .await?;
    Ok(docs.into_iter().collect())
}

async fn inline_policy_names(ctx: &Ctx, role: &str) -> Result<Vec<String>, AwsError> {
    let list = ctx.clients.iam.list_role_policies().role_name(role);
    let pages = list.into_paginator().items().send();
    pages.try_collect().await.op("ListRolePolicies")
}

async fn managed_policies(ctx: &Ctx, role: &str) -> Result<Vec<String>, AwsError> {
    let list = ctx
        .clients
        .iam
        .list_attached_role_policies()
        .role_name(role);
    let pages = list.into_paginator().items().send();
    let attached = pages.try_collect().await.op("ListAttachedRolePolicies")?;
    let mut arns: Vec<String> = attached.into_iter().filter_map(|p| p.policy_arn).collect();
    arns.sort();
    Ok(arns)
}

fn iam_tags(want: &Desired) -> Vec<aws_sdk_iam::types::Tag> {
    tag_list(want, |k, v| {
        aws_sdk_iam::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .ok()
    })
}

async fn put_inline(ctx: &Ctx, role: &str, name: &str, doc: &Value) -> Result<(), AwsError> {
    let call = ctx
        .clients
        .iam
        .put_role_policy()
        .role_name(role)
        .policy_name(name);
    let call = call.policy_document(doc.to_string());
    call.send().await.op("PutRolePolicy")?;
    Ok(())
}

async fn delete_inline(
    ctx: &Ctx,
    role: &str,
    names: impl IntoIterator<Item = String>,
) -> Result<usize, AwsError> {
    let iam = &ctx.clients.iam;
    remove_each(names, "DeleteRolePolicy", Missing::IAM, |n| {
        iam.delete_role_policy()
            .role_name(role)
            .policy_name(n)
            .send()
    })
    .await
}

async fn attach_managed(
    ctx: &Ctx,
    role: &str,
    arns: impl IntoIterator<Item = String>,
) -> Result<(), AwsError> {
    for arn in arns {
        let call = ctx.clients.iam.attach_role_policy().role_name(role);
        call.policy_arn(arn).send().await.op("AttachRolePolicy")?;
    }
    Ok(())
}

async fn detach_managed(
    ctx: &Ctx,
    role: &str,
    arns: impl IntoIterator<Item = String>,
) -> Result<usize, AwsError> {
    let iam = &ctx.clients.iam;
    remove_each(arns, "DetachRolePolicy", Missing::IAM, |a| {
        iam.detach_role_policy()
            .role_name(role)
            .policy_arn(a)
            .send()
    })
    .await
}

/// The managed policy ARNs of a `managed_policy_arns` value.
fn arn_list(v: Option<&Value>) -> Vec<String> {
    let items = v.and_then(Value::as_array).into_iter().flatten();
    items
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

#[async_trait]
impl Read for IamRole {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let name = want.str("name");
        let Some(r) = Missing::IAM.found(
            ctx.clients
                .iam
                .get_role()
                .role_name(name)
                .send()
                .await
                .op("GetRole"),
        )?
        else {
            return Ok(None);
        };
        let Some(role) = r.role() else {
            return Ok(None);
        };
        let mut o = Observed::default();
        o.attrs.insert("name".into(), name.to_string());
        o.attrs.insert("arn".into(), role.arn().to_string());
        o.props
            .insert("name".into(), Value::String(name.to_string()));
        o.props.insert(
            "assume_role_policy".into(),
            decode_policy(role.assume_role_policy_document().unwrap_or("{}")),
        );
        if want.props.contains_key("description") {
            o.props.insert(
                "description".into(),
                Value::String(role.description().unwrap_or_default().to_string()),
            );
        }
        // Inline and managed policies are independent reads: one round trip instead of two.
        let (inline, managed) =
            futures::try_join!(inline_policies(ctx, name), managed_policies(ctx, name))?;
        o.props.insert(
            "inline_policies".into(),
            Value::Object(inline.into_iter().collect()),
        );
        o.props.insert(
            "managed_policy_arns".into(),
            Value::Array(managed.into_iter().map(Value::String).collect()),
        );
        o.props.insert(
            "tags".into(),
            wanted_tags(want, role.tags().iter().map(|t| (t.key(), t.value()))),
        );
        Ok(Some(o))
    }
}

#[async_trait]
impl Manage for IamRole {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        let name = want.str("name");
        ctx.clients
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(want.document("assume_role_policy").to_string())
            .set_description(want.opt_str("description").map(str::to_string))
            .set_tags(Some(iam_tags(want)))
            .send()
            .await
            .op("CreateRole")?;
        if let Some(m) = want.document("inline_policies").as_object() {
            for (pname, doc) in m {
                put_inline(ctx, name, pname, doc).await?;
            }
        }
        attach_managed(ctx, name, arn_list(want.props.get("managed_policy_arns"))).await?;
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
        if changes.has("assume_role_policy") {
            ctx.clients
                .iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(want.document("assume_role_policy").to_string())
                .send()
                .await
                .op("UpdateAssumeRolePolicy")?;
        }
        if changes.has("description") {
            ctx.clients
                .iam
                .update_role()
                .role_name(name)
                .description(want.str("description"))
                .send()
                .await
                .op("UpdateRole")?;
        }
        if changes.has("inline_policies") {
            let empty = serde_json::Map::new();
            let want_m = want.value("inline_policies").as_object().unwrap_or(&empty);
            let have_m = have.props.get("inline_policies").and_then(Value::as_object);
            let have_m = have_m.unwrap_or(&empty);
            let authored = want.document("inline_policies");
            for (pname, doc) in want_m {
                if have_m.get(pname) != Some(doc) {
                    put_inline(ctx, name, pname, &authored[pname.as_str()]).await?;
                }
            }
            let removed: Vec<String> = have_m
                .keys()
                .filter(|k| !want_m.contains_key(*k))
                .cloned()
                .collect();
            delete_inline(ctx, name, removed).await?;
        }
        if changes.has("managed_policy_arns") {
            let want_l = arn_list(want.props.get("managed_policy_arns"));
            let have_l = arn_list(have.props.get("managed_policy_arns"));
            let missing = |from: &[String], of: &[String]| -> Vec<String> {
                from.iter().filter(|a| !of.contains(a)).cloned().collect()
            };
            attach_managed(ctx, name, missing(&want_l, &have_l)).await?;
            detach_managed(ctx, name, missing(&have_l, &want_l)).await?;
        }
        if changes.has("tags") {
            ctx.clients
                .iam
                .tag_role()
                .role_name(name)
                .set_tags(Some(iam_tags(want)))
                .send()
                .await
                .op("TagRole")?;
        }
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let name = have.attr("name");
        // Names only: a role cannot be deleted while it has inline policies.
        let inline = Missing::IAM.found(inline_policy_names(ctx, name).await)?;
        delete_inline(ctx, name, inline.unwrap_or_default()).await?;
        let managed = Missing::IAM.found(managed_policies(ctx, name).await)?;
        detach_managed(ctx, name, managed.unwrap_or_default()).await?;
        delete_after_detach("DeleteRole", &["DeleteConflict"], Missing::IAM, || {
            ctx.clients.iam.delete_role().role_name(name).send()
        })
        .await?;
        Ok(Vec::new())
    }
}
