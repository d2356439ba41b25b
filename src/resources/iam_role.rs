//! IAM role: trust policy, inline policies, managed policies, description and tags.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

use super::{check_chars, wanted_tags, Ctx, Desired, Kind, Observed, PropSpec, PropType};
use crate::aws::{found, gone, retry_on, OpExt, CONFLICT_ATTEMPTS, CONFLICT_PAUSE};
use crate::error::AwsError;

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

/// IAM returns policy documents percent-encoded.
fn decode_policy(text: &str) -> Value {
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
    serde_json::from_str::<Value>(&decoded)
        .map(|v| iotstack_policy::normalize(&v))
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
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let r = ctx
            .clients
            .iam
            .list_role_policies()
            .role_name(role)
            .set_marker(marker)
            .send()
            .await
            .op("ListRolePolicies")?;
        names.extend(r.policy_names().iter().cloned());
        marker = r.marker().map(str::to_string).filter(|_| r.is_truncated());
        if marker.is_none() {
            break;
        }
    }
    Ok(names)
}

async fn managed_policies(ctx: &Ctx, role: &str) -> Result<Vec<String>, AwsError> {
    let mut arns = Vec::new();
    let mut marker = None;
    loop {
        let r = ctx
            .clients
            .iam
            .list_attached_role_policies()
            .role_name(role)
            .set_marker(marker)
            .send()
            .await
            .op("ListAttachedRolePolicies")?;
        arns.extend(
            r.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_string)),
        );
        marker = r.marker().map(str::to_string).filter(|_| r.is_truncated());
        if marker.is_none() {
            break;
        }
    }
    arns.sort();
    Ok(arns)
}

fn iam_tags(want: &Desired) -> Vec<aws_sdk_iam::types::Tag> {
    want.tags()
        .into_iter()
        .filter_map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect()
}

async fn put_inline(ctx: &Ctx, role: &str, name: &str, doc: &Value) -> Result<(), AwsError> {
    ctx.clients
        .iam
        .put_role_policy()
        .role_name(role)
        .policy_name(name)
        .policy_document(doc.to_string())
        .send()
        .await
        .op("PutRolePolicy")?;
    Ok(())
}

#[async_trait]
impl Kind for IamRole {
    fn type_name(&self) -> &'static str {
        "iam_role"
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
            64,
            |c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c),
            "an IAM role name",
        )
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, AwsError> {
        let name = want.str("name");
        let Some(r) = found(
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

    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), AwsError> {
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
        for arn in want
            .value("managed_policy_arns")
            .as_array()
            .into_iter()
            .flatten()
        {
            ctx.clients
                .iam
                .attach_role_policy()
                .role_name(name)
                .policy_arn(arn.as_str().unwrap_or_default())
                .send()
                .await
                .op("AttachRolePolicy")?;
        }
        Ok(())
    }

    async fn update(&self, ctx: &Ctx, want: &Desired, have: &Observed) -> Result<(), AwsError> {
        let name = want.str("name");
        let differs = |k: &str| have.props.get(k) != Some(want.value(k));
        if differs("assume_role_policy") {
            ctx.clients
                .iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(want.document("assume_role_policy").to_string())
                .send()
                .await
                .op("UpdateAssumeRolePolicy")?;
        }
        if want.props.contains_key("description") && differs("description") {
            ctx.clients
                .iam
                .update_role()
                .role_name(name)
                .description(want.str("description"))
                .send()
                .await
                .op("UpdateRole")?;
        }
        if differs("inline_policies") {
            let empty = serde_json::Map::new();
            let want_m = want.value("inline_policies").as_object().unwrap_or(&empty);
            let have_m = have
                .props
                .get("inline_policies")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            let authored = want.document("inline_policies");
            for (pname, doc) in want_m {
                if have_m.get(pname) != Some(doc) {
                    put_inline(ctx, name, pname, &authored[pname.as_str()]).await?;
                }
            }
            for pname in have_m.keys().filter(|k| !want_m.contains_key(*k)) {
                gone(
                    ctx.clients
                        .iam
                        .delete_role_policy()
                        .role_name(name)
                        .policy_name(pname)
                        .send()
                        .await
                        .op("DeleteRolePolicy")
                        .map(|_| ()),
                )?;
            }
        }
        if differs("managed_policy_arns") {
            let list = |v: Option<&Value>| -> Vec<String> {
                v.and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let want_l = list(want.props.get("managed_policy_arns"));
            let have_l = list(have.props.get("managed_policy_arns"));
            for arn in want_l.iter().filter(|a| !have_l.contains(a)) {
                ctx.clients
                    .iam
                    .attach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .op("AttachRolePolicy")?;
            }
            for arn in have_l.iter().filter(|a| !want_l.contains(a)) {
                gone(
                    ctx.clients
                        .iam
                        .detach_role_policy()
                        .role_name(name)
                        .policy_arn(arn)
                        .send()
                        .await
                        .op("DetachRolePolicy")
                        .map(|_| ()),
                )?;
            }
        }
        if differs("tags") {
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

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, AwsError> {
        let name = have.attr("name");
        // Names only: a role cannot be deleted while it has inline policies.
        for pname in found(inline_policy_names(ctx, name).await)?.unwrap_or_default() {
            gone(
                ctx.clients
                    .iam
                    .delete_role_policy()
                    .role_name(name)
                    .policy_name(&pname)
                    .send()
                    .await
                    .op("DeleteRolePolicy")
                    .map(|_| ()),
            )?;
        }
        for arn in found(managed_policies(ctx, name).await)?.unwrap_or_default() {
            gone(
                ctx.clients
                    .iam
                    .detach_role_policy()
                    .role_name(name)
                    .policy_arn(&arn)
                    .send()
                    .await
                    .op("DetachRolePolicy")
                    .map(|_| ()),
            )?;
        }
        gone(
            retry_on(
                &["DeleteConflict"],
                CONFLICT_ATTEMPTS,
                CONFLICT_PAUSE,
                || async {
                    ctx.clients
                        .iam
                        .delete_role()
                        .role_name(name)
                        .send()
                        .await
                        .op("DeleteRole")
                        .map(|_| ())
                },
            )
            .await,
        )?;
        Ok(Vec::new())
    }
}
