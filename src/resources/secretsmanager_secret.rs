//! Secrets Manager secret: description, tags and resource policy. Its value is written by the
//! resource that owns it (the app user writes its generated password), never read back: the
//! resource policy may deny reading it from where iotstack runs, so the secret is observed
//! through ListSecrets and GetResourcePolicy only. Destroy deletes it without a recovery window;
//! a name still scheduled for deletion is restored and reused by the next apply.

use async_trait::async_trait;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};
use serde_json::Value;

use super::support::tag_list;
use super::{
    wanted_tags, Changes, Ctx, Desired, KindSpec, Manage, NameRule, Observed, Ownership, PropSpec,
    PropType, Read,
};
use crate::aws::{Missing, OpExt};
use crate::error::{AwsError, ResourceError};

pub struct SecretsManagerSecret;

static PROPS: &[PropSpec] = &[
    PropSpec::required(
        "name",
        PropType::Str,
        "the secret name, e.g. `${user-pool.id}_${prefix}-app-user`",
    )
    .force_new(),
    PropSpec::optional("description", PropType::Str, "a description"),
    PropSpec::optional(
        "resource_policy",
        PropType::Policy,
        "a resource policy template",
    ),
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "secretsmanager_secret",
    props: PROPS,
    attrs: &["name", "arn"],
    name_rule: Some(NameRule::ascii(512, "/_+=.@-", "a secret name")),
    ownership: Ownership::Tag,
    missing: Missing::SECRETS,
    facts: &[],
};

fn sm_tags(want: &Desired) -> Vec<Tag> {
    tag_list(want, |k, v| Some(Tag::builder().key(k).value(v).build()))
}

/// The secret's list entry, including one scheduled for deletion.
async fn entry(
    ctx: &Ctx,
    name: &str,
) -> Result<Option<aws_sdk_secretsmanager::types::SecretListEntry>, AwsError> {
    let by_name = Filter::builder()
        .key(FilterNameStringType::Name)
        .values(name);
    let list = ctx
        .clients
        .secrets
        .list_secrets()
        .include_planned_deletion(true);
    let mut pages = list.filters(by_name.build()).into_paginator().send();
    while let Some(page) = pages.try_next().await.op("ListSecrets")? {
        let mut entries = page.secret_list.into_iter().flatten();
        if let Some(e) = entries.find(|e| e.name() == Some(name)) {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

/// AWS refuses to create a secret whose name is scheduled for deletion.
pub fn scheduled_for_deletion(e: &AwsError) -> bool {
    matches!(
        e.code.as_deref(),
        Some("InvalidRequestException") | Some("ResourceExistsException")
    ) && e
        .message
        .to_ascii_lowercase()
        .contains("scheduled for deletion")
}

/// Restores a secret scheduled for deletion and brings its description and tags up to date.
async fn restore(ctx: &Ctx, want: &Desired) -> Result<String, AwsError> {
    let out = ctx
        .clients
        .secrets
        .restore_secret()
        .secret_id(want.str("name"))
        .send()
        .await
        .op("RestoreSecret")?;
    let arn = out.arn().unwrap_or_default().to_string();
    ctx.clients
        .secrets
        .update_secret()
        .secret_id(&arn)
        .description(want.str("description"))
        .send()
        .await
        .op("UpdateSecret")?;
    ctx.clients
        .secrets
        .tag_resource()
        .secret_id(&arn)
        .set_tags(Some(sm_tags(want)))
        .send()
        .await
        .op("TagResource")?;
    Ok(arn)
}

#[async_trait]
impl Read for SecretsManagerSecret {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
        let name = want.str("name");
        let Some(e) = entry(ctx, name).await? else {
            return Ok(None);
        };
        if e.deleted_date().is_some() {
            // Gone for our purposes; create restores it.
            return Ok(None);
        }
        let arn = e.arn().unwrap_or_default().to_string();
        let mut o = Observed::default();
        o.props
            .insert("name".into(), Value::String(name.to_string()));
        o.props.insert(
            "description".into(),
            Value::String(e.description().unwrap_or_default().to_string()),
        );
        o.props.insert(
            "tags".into(),
            wanted_tags(
                want,
                e.tags()
                    .iter()
                    .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
            ),
        );
        if want.props.contains_key("resource_policy") {
            let p = Missing::SECRETS.found(
                ctx.clients
                    .secrets
                    .get_resource_policy()
                    .secret_id(&arn)
                    .send()
                    .await
                    .op("GetResourcePolicy"),
            )?;
            let doc = p
                .and_then(|p| p.resource_policy().map(str::to_string))
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .map(|v| iotstack_policy::normalize(&v))
                .unwrap_or(Value::Null);
            o.props.insert("resource_policy".into(), doc);
        }
        let has_value = e.secret_versions_to_stages().is_some_and(|m| {
            m.values()
                .any(|stages| stages.iter().any(|s| s == "AWSCURRENT"))
        });
        o.attrs.insert("name".into(), name.to_string());
        o.attrs.insert("arn".into(), arn);
        o.attrs.insert("has_value".into(), has_value.to_string());
        Ok(Some(o))
    }
}

#[async_trait]
impl Manage for SecretsManagerSecret {
    fn removal_loss(&self, _have: &Observed) -> Option<String> {
        Some("the secret's value is deleted with it, without a recovery window".into())
    }

    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        let name = want.str("name");
        let scheduled = entry(ctx, name)
            .await?
            .is_some_and(|e| e.deleted_date().is_some());
        let arn = if scheduled {
            restore(ctx, want).await?
        } else {
            let r = ctx
                .clients
                .secrets
                .create_secret()
                .name(name)
                .set_description(want.opt_str("description").map(str::to_string))
                .set_tags(Some(sm_tags(want)))
                .send()
                .await
                .op("CreateSecret");
            match r {
                Ok(out) => out.arn().unwrap_or_default().to_string(),
                // Scheduled for deletion between the look-up and the create.
                Err(e) if scheduled_for_deletion(&e) => restore(ctx, want).await?,
                Err(e) => return Err(e.into()),
            }
        };
        if want.props.contains_key("resource_policy") {
            ctx.clients
                .secrets
                .put_resource_policy()
                .secret_id(&arn)
                .resource_policy(want.document("resource_policy").to_string())
                .send()
                .await
                .op("PutResourcePolicy")?;
        }
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
        if changes.has("description") {
            ctx.clients
                .secrets
                .update_secret()
                .secret_id(arn)
                .description(want.str("description"))
                .send()
                .await
                .op("UpdateSecret")?;
        }
        if changes.has("tags") {
            ctx.clients
                .secrets
                .tag_resource()
                .secret_id(arn)
                .set_tags(Some(sm_tags(want)))
                .send()
                .await
                .op("TagResource")?;
        }
        if changes.has("resource_policy") {
            ctx.clients
                .secrets
                .put_resource_policy()
                .secret_id(arn)
                .resource_policy(want.document("resource_policy").to_string())
                .send()
                .await
                .op("PutResourcePolicy")?;
        }
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let call = ctx
            .clients
            .secrets
            .delete_secret()
            .secret_id(have.attr("arn"));
        let r = call.force_delete_without_recovery(true).send().await;
        Missing::SECRETS.gone(r.op("DeleteSecret"))?;
        Ok(Vec::new())
    }
}
