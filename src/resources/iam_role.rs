//! IAM role: trust policy, inline policies, managed policies, description and tags.

use std::collections::BTreeMap;

use aws_sdk_iam::types::{Role, Tag};
use serde_json::{json, Map, Value};

use super::prelude::*;
use super::support::{delete_after_detach, normalized_policy, remove_each, tag_list};
use super::wanted_tags;
use crate::error::AwsError;

pub struct IamRole;

pub static SPEC: KindSpec = KindSpec::tagged(
    "iam_role",
    &[
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
        // Identity-based policies: "AWS checks JSON policy syntax and grammar. It also verifies
        // that your ARNs are formatted properly and action names and condition keys are
        // correct" (IAM User Guide, "IAM policy validation"); not that the resources exist.
        PropSpec::optional(
            "inline_policies",
            PropType::PolicyMap,
            "inline policies: name -> policy template",
        )
        .by_value(),
        PropSpec::optional(
            "managed_policy_arns",
            PropType::StrList,
            "ARNs of managed policies to attach",
        ),
    ],
    NameRule::ascii(64, "+=,.@-_", "an IAM role name"),
    Missing::IAM,
);

/// IAM returns policy documents percent-encoded.
fn decode_policy(text: &str) -> Value {
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
    normalized_policy(Some(&decoded))
}

/// Each inline policy with its document, as IAM returns it.
async fn inline_policies(ctx: &Ctx, role: &str) -> Result<Vec<(String, String)>, AwsError> {
    let names = inline_policy_names(ctx, role).await?;
    futures::future::try_join_all(names.into_iter().map(|n| async move {
        let call = ctx.clients.iam.get_role_policy().role_name(role);
        let p = call.policy_name(&n).send().await.op("GetRolePolicy")?;
        Ok::<_, AwsError>((n, p.policy_document))
    }))
    .await
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
    Ok(attached.into_iter().filter_map(|p| p.policy_arn).collect())
}

fn iam_tags(want: &Desired) -> Vec<Tag> {
    tag_list(want, |k, v| Tag::builder().key(k).value(v).build().ok())
}

async fn put_inline(ctx: &Ctx, role: &str, name: &str, doc: &Value) -> Result<(), AwsError> {
    let call = ctx.clients.iam.put_role_policy().role_name(role);
    let call = call.policy_name(name).policy_document(doc.to_string());
    call.send().await.op("PutRolePolicy")?;
    Ok(())
}

async fn delete_inline(ctx: &Ctx, role: &str, names: Vec<String>) -> Result<usize, AwsError> {
    let iam = &ctx.clients.iam;
    remove_each(names, "DeleteRolePolicy", SPEC.missing, |n| {
        iam.delete_role_policy()
            .role_name(role)
            .policy_name(n)
            .send()
    })
    .await
}

async fn attach_managed(ctx: &Ctx, role: &str, arns: Vec<String>) -> Result<(), AwsError> {
    for arn in arns {
        let call = ctx.clients.iam.attach_role_policy().role_name(role);
        call.policy_arn(arn).send().await.op("AttachRolePolicy")?;
    }
    Ok(())
}

async fn detach_managed(ctx: &Ctx, role: &str, arns: Vec<String>) -> Result<usize, AwsError> {
    let iam = &ctx.clients.iam;
    remove_each(arns, "DetachRolePolicy", SPEC.missing, |a| {
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

/// Puts the inline policies that are new or differ, and deletes those the stack no longer has.
async fn sync_inline(ctx: &Ctx, want: &Desired, have: &Observed) -> Result<(), AwsError> {
    let (name, empty) = (want.str("name"), Map::new());
    let want_m = want.value("inline_policies").as_object().unwrap_or(&empty);
    let have_m = have.props.get("inline_policies").and_then(Value::as_object);
    let have_m = have_m.unwrap_or(&empty);
    let authored = want.document("inline_policies");
    for (pname, doc) in want_m {
        if have_m.get(pname) != Some(doc) {
            put_inline(ctx, name, pname, &authored[pname.as_str()]).await?;
        }
    }
    let removed = have_m.keys().filter(|k| !want_m.contains_key(*k));
    delete_inline(ctx, name, removed.cloned().collect()).await?;
    Ok(())
}

/// Attaches the managed policies the stack adds and detaches those it no longer has.
async fn sync_managed(ctx: &Ctx, want: &Desired, have: &Observed) -> Result<(), AwsError> {
    let name = want.str("name");
    let want_l = arn_list(want.props.get("managed_policy_arns"));
    let have_l = arn_list(have.props.get("managed_policy_arns"));
    let missing = |from: &[String], of: &[String]| -> Vec<String> {
        from.iter().filter(|a| !of.contains(a)).cloned().collect()
    };
    attach_managed(ctx, name, missing(&want_l, &have_l)).await?;
    detach_managed(ctx, name, missing(&have_l, &want_l)).await?;
    Ok(())
}

/// What a role's create tells of it: its name and the ARN of the role IAM answered (CreateRole
/// and GetRole answer the same `Role`).
fn created(role: &Role, want: &Desired) -> Created {
    super::created([("name", want.str("name")), ("arn", role.arn())])
}

/// What IAM answers about a role: the role, its inline policies (name and document as IAM
/// returns it) and the ARNs of its managed policies.
pub struct Fetched {
    pub role: Role,
    pub inline: Vec<(String, String)>,
    pub managed: Vec<String>,
}

#[async_trait]
impl Fetch for IamRole {
    module_spec!(Fetched);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let name = want.str("name");
        let get_role = || async {
            let r = ctx.clients.iam.get_role().role_name(name).send().await;
            Ok::<_, AwsError>(SPEC.missing.found(r.op("GetRole"))?.and_then(|r| r.role))
        };
        let missing = |r: Result<_, AwsError>| SPEC.missing.found(r);
        if want.depth == Depth::Delete {
            // For destroy: the role alone (its tags say whose it is). Its delete removes the
            // inline and managed policies the stack declares, by name and by ARN, without a
            // list; one added out of band makes IAM refuse the DeleteRole (DeleteConflict), and
            // only then is the role listed and emptied (see `delete`).
            let Some(role) = get_role().await? else {
                return Ok(None);
            };
            let declared = want.value("inline_policies").as_object();
            let inline = declared.into_iter().flatten();
            let inline = inline.map(|(n, _)| (n.clone(), String::new())).collect();
            let managed = arn_list(Some(want.value("managed_policy_arns")));
            return Ok(Some(Fetched {
                role,
                inline,
                managed,
            }));
        }
        if want.recorded.is_empty() {
            // Not in the stack's record (a stack not applied yet): the role alone first, so
            // that a role that does not exist costs one call.
            let Some(role) = get_role().await? else {
                return Ok(None);
            };
            // Inline and managed policies are independent reads: one round trip.
            let (inline, managed) =
                futures::try_join!(inline_policies(ctx, name), managed_policies(ctx, name))?;
            return Ok(Some(Fetched {
                role,
                inline,
                managed,
            }));
        }
        // A role the record lists is expected to exist: the role, its policy names, its
        // managed policies and the inline policies the stack declares are asked for at once
        // (one round trip); only an inline policy the stack does not declare (drift) is read
        // after, once its name is known.
        let declared: Vec<String> = want
            .value("inline_policies")
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let get = |n: String| async move {
            let call = ctx.clients.iam.get_role_policy().role_name(name);
            let r = call.policy_name(&n).send().await.op("GetRolePolicy");
            Ok::<_, AwsError>((n, SPEC.missing.found(r)?.map(|p| p.policy_document)))
        };
        let (role, names, managed, guessed) = futures::join!(
            get_role(),
            inline_policy_names(ctx, name),
            managed_policies(ctx, name),
            futures::future::try_join_all(declared.into_iter().map(get)),
        );
        let Some(role) = role? else {
            return Ok(None);
        };
        let (Some(names), Some(managed)) = (missing(names)?, missing(managed)?) else {
            return Ok(None);
        };
        let mut guessed: BTreeMap<String, String> = guessed?
            .into_iter()
            .filter_map(|(n, d)| Some((n, d?)))
            .collect();
        let extra = names.iter().filter(|n| !guessed.contains_key(*n)).cloned();
        let extra = futures::future::try_join_all(extra.map(get)).await?;
        guessed.extend(extra.into_iter().filter_map(|(n, d)| Some((n, d?))));
        let inline = names
            .into_iter()
            .filter_map(|n| guessed.remove(&n).map(|d| (n, d)))
            .collect();
        Ok(Some(Fetched {
            role,
            inline,
            managed,
        }))
    }

    fn observe(&self, f: Fetched, want: &Desired) -> Option<Observed> {
        let role = &f.role;
        let trust = role.assume_role_policy_document().unwrap_or("{}");
        let inline: BTreeMap<&String, Value> = f
            .inline
            .iter()
            .map(|(n, d)| (n, decode_policy(d)))
            .collect();
        let mut managed = f.managed.clone();
        managed.sort();
        let tags = role.tags().iter().map(|t| (t.key(), t.value()));
        let mut o = Observed::new(
            json!({
                "name": want.str("name"),
                "assume_role_policy": decode_policy(trust),
                "inline_policies": inline,
                "managed_policy_arns": managed,
                "tags": wanted_tags(want, tags),
            }),
            json!({ "name": want.str("name"), "arn": role.arn() }),
        );
        if want.props.contains_key("description") {
            let description = role.description().unwrap_or_default();
            o.props.insert("description".into(), json!(description));
        }
        Some(o)
    }
}

#[async_trait]
impl Manage for IamRole {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let made = self.make(ctx, want).await?;
        self.complete(ctx, want, &made).await?;
        Ok(made)
    }

    /// The role itself, with its trust policy: what a function, a topic rule or an identity
    /// pool needs of it when it is given the role (they check that their service may assume it).
    async fn make(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let name = want.str("name");
        let call = ctx.clients.iam.create_role().role_name(name);
        let trust = want.document("assume_role_policy").to_string();
        let call = call.assume_role_policy_document(trust);
        let call = call.set_description(want.opt_str("description").map(str::to_string));
        let call = call.set_tags(Some(iam_tags(want)));
        let made = call.send().await.op("CreateRole")?;
        Ok(made.role().map(|r| created(r, want)).unwrap_or_default())
    }

    /// Its permissions, which only matter when the role is used, not when it is given.
    async fn complete(&self, ctx: &Ctx, want: &Desired, _: &Created) -> Result<(), ResourceError> {
        let name = want.str("name");
        for (pname, doc) in want
            .document("inline_policies")
            .as_object()
            .into_iter()
            .flatten()
        {
            put_inline(ctx, name, pname, doc).await?;
        }
        attach_managed(ctx, name, arn_list(want.props.get("managed_policy_arns"))).await?;
        Ok(())
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (ctx, want, have, changes) = (u.ctx, u.want, u.have, u.changes);
        let (iam, name) = (&ctx.clients.iam, want.str("name"));
        if changes.has("assume_role_policy") {
            let call = iam.update_assume_role_policy().role_name(name);
            let call = call.policy_document(want.document("assume_role_policy").to_string());
            call.send().await.op("UpdateAssumeRolePolicy")?;
        }
        if changes.has("description") {
            let call = iam.update_role().role_name(name);
            let call = call.description(want.str("description"));
            call.send().await.op("UpdateRole")?;
        }
        if changes.has("inline_policies") {
            sync_inline(ctx, want, have).await?;
        }
        if changes.has("managed_policy_arns") {
            sync_managed(ctx, want, have).await?;
        }
        if changes.has("tags") {
            let call = iam
                .tag_role()
                .role_name(name)
                .set_tags(Some(iam_tags(want)));
            call.send().await.op("TagRole")?;
        }
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let name = have.attr("name");
        // "You must delete [...] inline policies (DeleteRolePolicy) [and] detach managed policies
        // (DetachRolePolicy)" before DeleteRole (IAM API reference, DeleteRole). The two lists
        // are reads and go together; the changes to the role stay one after another, since IAM
        // rejects "multiple requests to change this object [...] submitted simultaneously"
        // (ConcurrentModificationException, IAM API reference, common to its write actions).
        //
        // What the read found goes first, without listing again, and the role with it: the
        // usual destroy is two calls one after the other. (Destroy's read does not list: it
        // gives the policies the stack declares; see `fetch`.) Only when IAM still refuses
        // (DeleteConflict: a policy added out of band or since the read, or a removal IAM does
        // not show yet) is the role listed and emptied, and its delete retried while IAM
        // catches up.
        let known = |k: &str| have.props.get(k);
        let inline: Vec<String> = known("inline_policies")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        delete_inline(ctx, name, inline).await?;
        detach_managed(ctx, name, arn_list(known("managed_policy_arns"))).await?;
        let first = ctx.clients.iam.delete_role().role_name(name).send().await;
        match first.op("DeleteRole") {
            Err(e) if e.code.as_deref() == Some("DeleteConflict") => {}
            other => {
                SPEC.missing.gone(other)?;
                return Ok(Vec::new());
            }
        }
        let (inline, managed) =
            futures::join!(inline_policy_names(ctx, name), managed_policies(ctx, name));
        let inline = SPEC.missing.found(inline)?.unwrap_or_default();
        let managed = SPEC.missing.found(managed)?.unwrap_or_default();
        delete_inline(ctx, name, inline).await?;
        detach_managed(ctx, name, managed).await?;
        delete_after_detach("DeleteRole", &["DeleteConflict"], SPEC.missing, || {
            ctx.clients.iam.delete_role().role_name(name).send()
        })
        .await?;
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role() -> Role {
        let trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
        Role::builder()
            .path("/")
            .role_name("p-iot-rule-sns-role")
            .role_id("AROA0000000000EXAMPLE")
            .arn("arn:aws:iam::123456789012:role/p-iot-rule-sns-role")
            .create_date(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .assume_role_policy_document(
                percent_encoding::utf8_percent_encode(trust, percent_encoding::NON_ALPHANUMERIC)
                    .to_string(),
            )
            .tags(
                Tag::builder()
                    .key("iotstack:stack")
                    .value("p")
                    .build()
                    .unwrap(),
            )
            .tags(
                Tag::builder()
                    .key("cost-centre")
                    .value("42")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn policies_are_decoded_and_normalised_and_managed_arns_sorted() {
        let publish = r#"{"Statement":[{"Effect":"Allow","Action":"sns:Publish","Resource":"*"}]}"#;
        let fetched = Fetched {
            role: role(),
            inline: vec![("publish".into(), publish.replace('"', "%22"))],
            managed: vec![
                "arn:aws:iam::aws:policy/B".into(),
                "arn:aws:iam::aws:policy/A".into(),
            ],
        };
        let want = Desired::from_json(
            "rule-role",
            json!({"name": "p-iot-rule-sns-role", "tags": {"iotstack:stack": "p"}}),
        );
        let o = IamRole.observe(fetched, &want).unwrap();
        assert_eq!(
            o.props["assume_role_policy"]["Statement"][0]["Principal"],
            json!({"Service": ["iot.amazonaws.com"]})
        );
        assert_eq!(
            o.props["inline_policies"]["publish"]["Statement"][0]["Action"],
            json!(["sns:Publish"])
        );
        assert_eq!(
            o.props["managed_policy_arns"],
            json!(["arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/B"])
        );
        assert_eq!(o.props["tags"], json!({"iotstack:stack": "p"}));
        assert!(
            !o.props.contains_key("description"),
            "not compared unless wanted"
        );
        assert_eq!(
            o.attr("arn"),
            "arn:aws:iam::123456789012:role/p-iot-rule-sns-role"
        );
    }

    #[test]
    fn a_create_tells_what_the_read_observes() {
        let want = Desired::from_json("rule-role", json!({"name": "p-iot-rule-sns-role"}));
        let made = created(&role(), &want);
        let fetched = Fetched {
            role: role(),
            inline: Vec::new(),
            managed: Vec::new(),
        };
        let o = IamRole.observe(fetched, &want).unwrap();
        crate::resources::assert_created_as_observed(&SPEC, &made, &o);
    }

    #[test]
    fn a_wanted_description_is_compared_even_when_aws_has_none() {
        let fetched = Fetched {
            role: role(),
            inline: Vec::new(),
            managed: Vec::new(),
        };
        let want = Desired::from_json("r", json!({"name": "n", "description": "d"}));
        let o = IamRole.observe(fetched, &want).unwrap();
        assert_eq!(o.props["description"], json!(""));
        assert_eq!(o.props["inline_policies"], json!({}));
    }
}
