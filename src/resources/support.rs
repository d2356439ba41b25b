//! What kinds share: the stack's tags in each service's form, finding a resource whose name is
//! not unique through the stack tag, undoing links before a delete AWS refuses while anything is
//! still attached, and policy documents in the form plans compare.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_iot::types::Tag as IotTag;
use futures::FutureExt;
use serde_json::Value;

use super::{wanted_tags, Ctx, Desired, Update, STACK_TAG};
use crate::aws::{retry_on, Missing, OpExt, CONFLICT_ATTEMPTS, CONFLICT_PAUSE};
use crate::error::{AwsError, ResourceError};

/// A policy document as AWS returns it, in the normalised form plans compare: `null` when there
/// is none or it is not JSON.
pub fn normalized_policy(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str::<Value>(t).ok())
        .map(|v| iotstack_policy::normalize(&v))
        .unwrap_or(Value::Null)
}

/// The stack's tags (the stack tag and the stack file's `tags:`) in a service's own tag type,
/// which `tag` builds from a key and a value.
pub fn tag_list<T>(want: &Desired, tag: impl Fn(String, String) -> Option<T>) -> Vec<T> {
    want.tags()
        .into_iter()
        .filter_map(|(k, v)| tag(k, v))
        .collect()
}

/// The stack's tags as a map, for the services that take one (Cognito, Lambda).
pub fn tag_map(want: &Desired) -> HashMap<String, String> {
    want.tags().into_iter().collect()
}

/// The stack's tags in IoT's tag type.
pub fn iot_tags(want: &Desired) -> Vec<IotTag> {
    tag_list(want, |k, v| IotTag::builder().key(k).value(v).build().ok())
}

/// The tags of an IoT resource (a policy, a topic rule).
pub async fn iot_tags_of(ctx: &Ctx, arn: &str) -> Result<Vec<IotTag>, AwsError> {
    let list = ctx.clients.iot.list_tags_for_resource().resource_arn(arn);
    let pages = list.into_paginator().items().send();
    pages.try_collect().await.op("ListTagsForResource")
}

/// The ARN of the IoT resource `want` names (`policy/`, `rule/`, `thinggroup/` + its name): as
/// the stack's record gives it, else as AWS forms it from the name, the account and the region
/// (`arn:${Partition}:iot:${Region}:${Account}:policy/${PolicyName}`, and `rule/${RuleName}`,
/// `thinggroup/${ThingGroupName}`: Service Authorization Reference, "Actions, resources, and
/// condition keys for AWS IoT", resource types). Its tags are asked for by it beside the call
/// that finds the resource: one round trip, whether the record is in yet or not. Where nothing
/// is there, the tags' answer (not found) goes unused.
pub fn iot_arn_ahead(ctx: &Ctx, want: &Desired, form: &str) -> String {
    match want.recorded_attr("arn") {
        Some(arn) => arn.to_string(),
        None => ctx.arn("iot", &format!("{form}{}", want.str("name"))),
    }
}

/// The tags of an IoT resource asked for beside the call that finds it (one round trip), by the
/// ARN known before it is found (`recorded`, see [`iot_arn_ahead`]); `None` without one.
pub async fn iot_tags_beside(
    ctx: &Ctx,
    recorded: Option<&str>,
) -> Option<Result<Vec<IotTag>, AwsError>> {
    match recorded {
        Some(arn) => Some(iot_tags_of(ctx, arn).await),
        None => None,
    }
}

/// The tags of the IoT resource `arn`: those asked for beside it ([`iot_tags_beside`]) if they
/// were asked of that ARN, else asked now.
pub async fn iot_tags_after(
    ctx: &Ctx,
    beside: Option<Result<Vec<IotTag>, AwsError>>,
    recorded: Option<&str>,
    arn: &str,
) -> Result<Vec<IotTag>, AwsError> {
    match beside.filter(|_| recorded == Some(arn)) {
        Some(tags) => tags,
        None => iot_tags_of(ctx, arn).await,
    }
}

/// The IoT tags the stack sets, as the `tags` property (other tags are left alone).
pub fn iot_wanted_tags(want: &Desired, tags: &[IotTag]) -> Value {
    wanted_tags(
        want,
        tags.iter()
            .map(|t| (t.key(), t.value().unwrap_or_default())),
    )
}

/// Sets the stack's tags on an IoT resource.
pub async fn iot_tag(ctx: &Ctx, arn: &str, want: &Desired) -> Result<(), AwsError> {
    let call = ctx.clients.iot.tag_resource().resource_arn(arn);
    let call = call.set_tags(Some(iot_tags(want)));
    call.send().await.op("TagResource")?;
    Ok(())
}

/// Whether a resource's tags mark it as this stack's.
pub fn carries_stack_tag(tags: Option<&HashMap<String, String>>, prefix: &str) -> bool {
    tags.and_then(|t| t.get(STACK_TAG))
        .is_some_and(|v| v == prefix)
}

/// The stack's resources among those listed under its name (user and identity pool names are not
/// unique): every one of `ids` that `describe` finds and whose `tags` carry the stack tag, in the
/// order listed. More than one is a duplicate (a create retried after its answer was lost, two
/// runs at once before the lock existed): see [`Duplicates`].
pub async fn all_owned<T, F, Fut>(
    ids: Vec<String>,
    prefix: &str,
    mut describe: F,
    tags: impl Fn(&T) -> Option<&HashMap<String, String>>,
) -> Result<Vec<T>, AwsError>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<Option<T>, AwsError>>,
{
    let mut owned = Vec::new();
    for id in ids {
        if let Some(d) = describe(id).await? {
            if carries_stack_tag(tags(&d), prefix) {
                owned.push(d);
            }
        }
    }
    Ok(owned)
}

/// Other pools under the stack's name that carry its mark, beside the one the stack keeps: each
/// with what deleting it would lose (its users, its identities; 0 when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Duplicates(pub Vec<(String, i64)>);

impl Duplicates {
    /// The attribute that carries the duplicates' ids to `update`: `null` when there are none.
    pub fn attr(&self) -> Value {
        match self.0.is_empty() {
            true => Value::Null,
            false => self.ids().join(",").into(),
        }
    }

    pub fn ids(&self) -> Vec<String> {
        self.0.iter().map(|(id, _)| id.clone()).collect()
    }

    /// What plan and doctor say about them: `None` when there are none.
    pub fn note(&self, what: &str, name: &str, kept: &str, holds: &str) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let each: Vec<String> = self
            .0
            .iter()
            .map(|(id, n)| format!("{id} ({n} {holds})"))
            .collect();
        Some(format!(
            "{} other {what}(s) named `{name}` carry this stack's mark: {}; the stack keeps {kept}. apply deletes those that hold no {holds} and refuses to delete the others",
            self.0.len(),
            each.join(", ")
        ))
    }
}

/// A pool's update, first part: when the plan changes `unique`, deletes the duplicates (the
/// `duplicates` attribute) that hold nothing (`count` asks AWS again, just before) and fails
/// naming those that do: iotstack never deletes a pool's users or identities to resolve a
/// duplicate. Returns whether the caller still has to write the plan's other changes.
pub async fn resolve_duplicates<H, HF, D, DF>(
    u: &Update<'_>,
    what: &str,
    holds: &str,
    mut count: H,
    mut delete: D,
) -> Result<bool, ResourceError>
where
    H: FnMut(String) -> HF,
    HF: Future<Output = Result<Option<i64>, AwsError>>,
    D: FnMut(String) -> DF,
    DF: Future<Output = Result<(), AwsError>>,
{
    if !u.changes.has("unique") {
        return Ok(true);
    }
    let others = u.changes.0.iter().any(|c| c.property != "unique");
    let mut kept = Vec::new();
    for id in u
        .have
        .attr("duplicates")
        .split(',')
        .filter(|id| !id.is_empty())
    {
        match count(id.to_string()).await? {
            None => {}
            Some(0) => delete(id.to_string()).await?,
            Some(n) => kept.push(format!("{id} ({n} {holds})")),
        }
    }
    if kept.is_empty() {
        return Ok(others);
    }
    Err(ResourceError::Other {
        operation: "resolving duplicates",
        message: format!(
            "the duplicate {what}(s) {} carry this stack's mark but hold {holds}; iotstack does not delete them: move or remove what they hold, delete them yourself, then run apply again",
            kept.join(", ")
        ),
    })
}

/// Removes each of `items` with `send` (a detach, a version delete: one call each, one after
/// another); an item already gone is done. Returns how many there were.
pub async fn remove_each<I, T, F, Fut>(
    items: I,
    operation: &'static str,
    missing: Missing,
    mut send: F,
) -> Result<usize, AwsError>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
    Fut::Output: OpExt<T>,
{
    let mut n = 0;
    for item in items {
        missing.gone(send(item).await.op(operation))?;
        n += 1;
    }
    Ok(n)
}

/// Deletes a resource AWS lets go only once nothing is attached to it. Detaching is
/// asynchronous in AWS, so the delete is retried while AWS answers one of `conflicts`; a
/// resource already gone is done.
pub async fn delete_after_detach<T, F, Fut>(
    operation: &'static str,
    conflicts: &[&str],
    missing: Missing,
    mut send: F,
) -> Result<(), AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future,
    Fut::Output: OpExt<T>,
{
    let attempt = || send().map(|r| r.op(operation));
    missing.gone(retry_on(conflicts, CONFLICT_ATTEMPTS, CONFLICT_PAUSE, attempt).await)
}

/// AWS's answer about a resource with the region it was asked in and the ARN the stack's
/// context gives it, for the names and ARNs the answer lacks.
pub struct Located<T> {
    pub answer: T,
    pub region: String,
    pub arn: String,
    /// Other resources under the same name with the stack's mark (pools only).
    pub duplicates: Duplicates,
}

impl<T> Located<T> {
    /// `answer`, asked in `ctx`'s region, about `resource` of `service` (for its ARN).
    pub fn at(ctx: &Ctx, answer: T, service: &str, resource: &str) -> Located<T> {
        Located {
            answer,
            region: ctx.region.clone(),
            arn: ctx.arn(service, resource),
            duplicates: Duplicates::default(),
        }
    }

    pub fn with_duplicates(mut self, duplicates: Duplicates) -> Located<T> {
        self.duplicates = duplicates;
        self
    }
}

/// The tags to send back to a service whose update replaces every tag (Cognito's pools): the
/// live ones, with the stack's set over them, so tags iotstack does not own survive.
pub fn kept_tags(
    live: Option<&HashMap<String, String>>,
    want: &Desired,
) -> HashMap<String, String> {
    let mut tags = live.cloned().unwrap_or_default();
    tags.extend(want.tags());
    tags
}

/// The plan's changes to the named properties, as `update` receives them (for kinds' tests).
#[cfg(test)]
pub fn changed(props: &[&str]) -> Vec<crate::plan::PropChange> {
    let change = |p: &&str| crate::plan::PropChange {
        property: p.to_string(),
        before: None,
        after: None,
        after_unknown: false,
        forces_replacement: false,
    };
    props.iter().map(change).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_tag_must_name_this_prefix() {
        let tags = |v: &str| HashMap::from([(STACK_TAG.to_string(), v.to_string())]);
        assert!(carries_stack_tag(Some(&tags("p")), "p"));
        assert!(!carries_stack_tag(Some(&tags("other")), "p"));
        assert!(!carries_stack_tag(Some(&HashMap::new()), "p"));
        assert!(!carries_stack_tag(None, "p"));
    }
}
