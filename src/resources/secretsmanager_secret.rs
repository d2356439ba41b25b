//! Secrets Manager secret: description, tags and resource policy. Its value is written by the
//! resource that owns it (the app user writes its generated password), never read back: the
//! resource policy may deny reading it from where iotstack runs.
//!
//! The secret is read by name with DescribeSecret, never found through ListSecrets. The Secrets
//! Manager API reference (ListSecrets) says: "All Secrets Manager operations are eventually
//! consistent. ListSecrets might not reflect changes from the last five minutes. You can get more
//! recent information for a specific secret by calling DescribeSecret."
//! (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html). A
//! listing would miss the secret right after its create and still show it right after a delete.
//!
//! The default stack's resource policy (`policies/app-secret-policy.json`) has two denies. The
//! first denies `GetSecretValue` from outside `--ip` to everyone. The second denies changing the
//! secret (its policy, value, version stages, rotation, tags) when the request comes from outside
//! `--ip` *and* its `aws:userid` is not the deployer's (the `caller_identity` data source: a
//! role's id with any session name, a user's id). Both conditions must hold for the deny to apply
//! ("If your policy statement has multiple condition operators, the condition operators are
//! evaluated using a logical AND", IAM User Guide, "Conditions with multiple context keys or
//! values"), and an explicit deny in any policy overrides every allow (IAM User Guide, "Policy
//! evaluation logic"). So nobody outside `--ip` can loosen the policy or swap the value, while
//! the principal that applied can still repair the secret from any address: a later apply from
//! elsewhere rewrites a drifted policy instead of being locked out of its own secret. Nothing
//! iotstack reads (`DescribeSecret`, `GetResourcePolicy`, `ListSecretVersionIds`) is denied, so
//! plan sees the secret from anywhere. `DeleteSecret` is not denied: deleting gives nothing away
//! (the value goes with the secret), and `destroy` keeps working from any address.
//!
//! Destroy deletes it without a recovery window; a name still scheduled for deletion
//! (DescribeSecret answers it with a `DeletedDate`) is restored and reused by the next apply.

use async_trait::async_trait;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::types::Tag;
use serde_json::json;

use super::support::{normalized_policy, tag_list};
use super::{
    wanted_tags, Created, Ctx, Depth, Desired, Fetch, KindSpec, Manage, NameRule, Observed,
    Ownership, PropSpec, PropType, Update, STACK_TAG,
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
    deleted_with: &[],
};

fn sm_tags(want: &Desired) -> Vec<Tag> {
    tag_list(want, |k, v| Some(Tag::builder().key(k).value(v).build()))
}

/// What DescribeSecret answers for `name`, a secret scheduled for deletion included; `None` when
/// there is no secret of that name.
async fn describe(ctx: &Ctx, name: &str) -> Result<Option<DescribeSecretOutput>, AwsError> {
    let call = ctx.clients.secrets.describe_secret().secret_id(name);
    SPEC.missing.found(call.send().await.op("DescribeSecret"))
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

/// Whether a described secret is scheduled for deletion and carries the stack's mark.
fn scheduled_and_ours(s: &DescribeSecretOutput, prefix: &str) -> bool {
    let mark = s.tags().iter().find(|t| t.key() == Some(STACK_TAG));
    s.deleted_date().is_some() && mark.and_then(|t| t.value()) == Some(prefix)
}

/// Puts the resource policy `want` gives on the secret `arn`.
async fn put_policy(ctx: &Ctx, arn: &str, want: &Desired) -> Result<(), AwsError> {
    let put = ctx.clients.secrets.put_resource_policy().secret_id(arn);
    let put = put.resource_policy(want.document("resource_policy").to_string());
    put.send().await.op("PutResourcePolicy")?;
    Ok(())
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

/// What Secrets Manager answers about a secret: DescribeSecret's answer and, when the stack sets
/// one, the text of its resource policy (`None` when it has none).
pub struct Fetched {
    pub secret: DescribeSecretOutput,
    pub policy: Option<String>,
}

#[async_trait]
impl Fetch for SecretsManagerSecret {
    type Fetched = Fetched;

    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Fetched>, ResourceError> {
        let get_policy = |arn: String| async move {
            let call = ctx.clients.secrets.get_resource_policy().secret_id(arn);
            let p = call.send().await.op("GetResourcePolicy");
            Ok::<_, AwsError>(SPEC.missing.found(p)?.and_then(|p| p.resource_policy))
        };
        // Destroy needs the description alone (its tags say whose the secret is).
        let wants_policy =
            want.props.contains_key("resource_policy") && want.depth != Depth::Delete;
        // With the ARN the stack's record gives it, the policy is asked for beside the
        // description (one round trip); it counts only if the secret is there and not deleted.
        if let Some(arn) = want.recorded_attr("arn").filter(|_| wants_policy) {
            let (secret, policy) =
                futures::join!(describe(ctx, want.str("name")), get_policy(arn.to_string()));
            let Some(secret) = secret? else {
                return Ok(None);
            };
            let policy = match (secret.deleted_date().is_some(), secret.arn()) {
                (true, _) => None,
                (false, Some(a)) if a == arn => policy?,
                // Made again since the record was written: its own policy.
                (false, other) => get_policy(other.unwrap_or_default().to_string()).await?,
            };
            return Ok(Some(Fetched { secret, policy }));
        }
        let Some(secret) = describe(ctx, want.str("name")).await? else {
            return Ok(None);
        };
        let mut policy = None;
        if wants_policy && secret.deleted_date().is_none() {
            policy = get_policy(secret.arn().unwrap_or_default().to_string()).await?;
        }
        Ok(Some(Fetched { secret, policy }))
    }

    fn observe(&self, f: Fetched, want: &Desired) -> Option<Observed> {
        let s = &f.secret;
        if s.deleted_date().is_some() {
            // Gone for our purposes; create restores it.
            return None;
        }
        let tags = s.tags().iter();
        let tags = tags.map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()));
        let mut o = Observed::new(
            json!({
                "name": want.str("name"),
                "description": s.description().unwrap_or_default(),
                "tags": wanted_tags(want, tags),
            }),
            json!({
                "name": want.str("name"),
                "arn": s.arn().unwrap_or_default(),
                "has_value": has_current_version(s),
            }),
        );
        if want.props.contains_key("resource_policy") {
            let doc = normalized_policy(f.policy.as_deref());
            o.props.insert("resource_policy".into(), doc);
        }
        Some(o)
    }
}

/// What a secret's create tells of it: its name, and the ARN CreateSecret (or RestoreSecret, for
/// a secret that was scheduled for deletion) answered; DescribeSecret reports the same ARN.
fn created(want: &Desired, arn: &str) -> Created {
    super::created([("name", want.str("name")), ("arn", arn)])
}

/// Whether a version of the secret carries the `AWSCURRENT` stage: the secret has a value.
fn has_current_version(s: &DescribeSecretOutput) -> bool {
    let stages = s
        .version_ids_to_stages()
        .into_iter()
        .flat_map(|m| m.values());
    stages.flatten().any(|stage| stage == "AWSCURRENT")
}

#[async_trait]
impl Manage for SecretsManagerSecret {
    fn removal_loss(&self, _have: &Observed) -> Option<String> {
        Some("the secret's value is deleted with it, without a recovery window".into())
    }

    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let made = self.make(ctx, want).await?;
        self.complete(ctx, want, &made).await?;
        Ok(made)
    }

    /// The secret, with its description and tags. A name still held by a secret scheduled for
    /// deletion makes CreateSecret fail with InvalidRequestException ("A parameter value is not
    /// valid for the current state of the resource. Possible causes: The secret is scheduled for
    /// deletion", Secrets Manager API reference); that secret, if it is the stack's, is then
    /// restored. (No look-up first: a name is new far more often than it is scheduled for
    /// deletion.)
    async fn make(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let name = want.str("name");
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
        let arn = match r {
            Ok(out) => out.arn().unwrap_or_default().to_string(),
            // Restored only when it is the stack's own (its tag names the prefix): another
            // owner's secret, even one scheduled for deletion, is left alone and the error stands.
            Err(e) if scheduled_for_deletion(&e) => {
                let held = describe(ctx, name).await?;
                if !held.is_some_and(|s| scheduled_and_ours(&s, &ctx.prefix)) {
                    return Err(e.into());
                }
                restore(ctx, want).await?
            }
            Err(e) => return Err(e.into()),
        };
        Ok(created(want, &arn))
    }

    /// Its resource policy: who may read and change it, which matters once it holds a value.
    /// (Whoever writes the value, the app user's create, writes it as the deployer, whom the
    /// policy never denies.)
    async fn complete(
        &self,
        ctx: &Ctx,
        want: &Desired,
        made: &Created,
    ) -> Result<(), ResourceError> {
        let arn = made
            .get("arn")
            .map(String::as_str)
            .unwrap_or(want.str("name"));
        if want.props.contains_key("resource_policy") {
            put_policy(ctx, arn, want).await?;
        }
        Ok(())
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (ctx, want, have, changes) = (u.ctx, u.want, u.have, u.changes);
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
            put_policy(ctx, arn, want).await?;
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
        SPEC.missing.gone(r.op("DeleteSecret"))?;
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_secretsmanager::operation::describe_secret::builders::DescribeSecretOutputBuilder;
    use aws_smithy_types::DateTime;
    use serde_json::Value;

    use super::*;

    const ARN: &str =
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:eu-west-1_AbC_p-app-user-Xy12Ab";

    /// DescribeSecret's answer for the app secret, as AWS gives it after apply.
    fn described() -> DescribeSecretOutputBuilder {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
        DescribeSecretOutput::builder()
            .arn(ARN)
            .name("eu-west-1_AbC_p-app-user")
            .description("Password of p-app-user")
            .tags(tag("iotstack:stack", "p"))
            .tags(tag("ClientId", "abc"))
            .tags(tag("owner", "ops"))
            .set_version_ids_to_stages(Some(HashMap::from([
                ("v1".to_string(), vec!["AWSPREVIOUS".to_string()]),
                ("v2".to_string(), vec!["AWSCURRENT".to_string()]),
            ])))
    }

    fn want() -> Desired {
        Desired::from_json(
            "app-secret",
            json!({
                "name": "eu-west-1_AbC_p-app-user",
                "description": "Password of p-app-user",
                "resource_policy": {},
                "tags": {"iotstack:stack": "p", "ClientId": "abc"},
            }),
        )
    }

    #[test]
    fn a_described_secret_is_observed_with_its_policy_and_the_stacks_tags_only() {
        let policy = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}}"#;
        let f = Fetched {
            secret: described().build(),
            policy: Some(policy.into()),
        };
        let o = SecretsManagerSecret.observe(f, &want()).expect("live");
        assert_eq!(o.props["description"], json!("Password of p-app-user"));
        assert_eq!(
            o.props["tags"],
            json!({"iotstack:stack": "p", "ClientId": "abc"})
        );
        assert_eq!(
            o.props["resource_policy"]["Statement"][0]["Action"],
            json!(["secretsmanager:GetSecretValue"])
        );
        assert_eq!(o.attr("arn"), ARN);
        assert_eq!(o.attr("has_value"), "true");
        crate::resources::assert_created_as_observed(&SPEC, &created(&want(), ARN), &o);
    }

    #[test]
    fn a_secret_without_policy_or_value_says_so() {
        let f = Fetched {
            secret: described().set_version_ids_to_stages(None).build(),
            policy: None,
        };
        let o = SecretsManagerSecret.observe(f, &want()).expect("live");
        assert_eq!(o.props["resource_policy"], Value::Null);
        assert_eq!(o.attr("has_value"), "false");
        // A stack without a policy does not compare one.
        let mut plain = want();
        plain.props.remove("resource_policy");
        let f = Fetched {
            secret: described().build(),
            policy: None,
        };
        let o = SecretsManagerSecret.observe(f, &plain).expect("live");
        assert!(!o.props.contains_key("resource_policy"));
    }

    #[test]
    fn a_secret_scheduled_for_deletion_is_not_live() {
        let f = Fetched {
            secret: described()
                .deleted_date(DateTime::from_secs(1_700_000_000))
                .build(),
            policy: None,
        };
        assert!(SecretsManagerSecret.observe(f, &want()).is_none());
    }
}
