//! The record of what the stack made, kept in AWS beside the stack, so that any machine (CI, a
//! colleague's laptop) finds the resources taken out of the stack file, or renamed, and deletes
//! them instead of leaving them orphaned in the account. The local `applied.json` is a cache of
//! it (and what an older iotstack wrote): it is read only when the account holds no record.
//!
//! The record is a Secrets Manager secret named `<prefix>-iotstack-record` whose value is a JSON
//! document `{"format_version":1,"prefix":P,"resources":[{"id","type","props"}]}`: each
//! resource's kind and the resolved properties that find it again (sensitive ones left out).
//! Why a secret, of the places an account offers:
//!
//! - An IoT thing without a thing type (the stack's lock is one) holds three attributes of at most
//!   800 characters from a narrow alphabet: 2,400 characters, fewer once escaped. The default
//!   stack's identities alone (attachments name certificate ARNs, the secret names the pool id)
//!   come close to that, and a bigger stack does not fit. A thing type raises it to 50 attributes,
//!   but a thing type cannot be deleted until five minutes after it is deprecated, so destroy
//!   could not remove it.
//! - A secret holds 64 KB (SecretString), is encrypted at rest, carries tags, and is read with one
//!   call; Secrets Manager is already a service the stack uses (its app secret), so no new client
//!   or permission family. It costs what any secret costs (USD 0.40 a month).
//! - Systems Manager parameters or S3 would bring a new service (and, for S3, a bucket) for one
//!   small document.
//!
//! The record belongs to the stack: it carries the `iotstack:stack = P` tag, and the tag
//! `iotstack:record = 1` that tells it from the stack's own resources (a sweep of the stack's
//! secrets by mark must skip it, as it skips the lock). A secret of that name without the stack's
//! mark is never read, written or deleted. Apply writes the record when the set of resources (or
//! how they are found) changes: once the stack's resources exist, still listing the ones removed
//! from the stack, then without them once they are deleted. Destroy deletes it (without a
//! recovery window, so a new apply can write it again at once) when the stack is gone.

use aws_sdk_secretsmanager::types::Tag;
use serde::{Deserialize, Serialize};

use crate::aws::{Missing, OpExt};
use crate::error::{AwsError, Error, Result};
use crate::resources::{Ctx, STACK_TAG};
use crate::state::AppliedResource;

/// The tag that marks the record among the stack's secrets.
pub const RECORD_TAG: &str = "iotstack:record";

/// The name of the stack's record secret. Reserved, like the lock's name.
///
/// It is named after the prefix in lower case. IAM names "are not distinguished by case. For
/// example, you cannot create resources named both "MyResource" and "myresource"" (IAM API
/// reference, CreateRole `RoleName`), so stacks `Demo` and `demo` would share their roles. With
/// one record name for both, the second finds the first's record (tagged with the first's
/// prefix) before it writes anything, and is refused: see [`Found::Collides`].
pub fn secret_name(prefix: &str) -> String {
    format!("{}-iotstack-record", prefix.to_ascii_lowercase())
}

#[derive(Debug, Serialize, Deserialize)]
struct Document {
    format_version: u32,
    prefix: String,
    resources: Vec<AppliedResource>,
}

/// What this run knows of the record's secret, from its last answer about it: `load` learns it,
/// and `save` and `remove` write or delete without asking again. The run holds the stack's lock,
/// so no other run of this stack changes the record meanwhile; a stack whose prefix differs only
/// in case (another lock) that writes it first makes this run's create fail as taken, and that
/// answer is judged as before.
#[derive(Default)]
pub struct Known(std::sync::Mutex<Option<Found>>);

impl Known {
    fn take(&self) -> Option<Found> {
        self.0.lock().map(|mut k| k.take()).unwrap_or(None)
    }
    fn set(&self, found: Found) {
        if let Ok(mut k) = self.0.lock() {
            *k = Some(found);
        }
    }
}

/// What the account holds under the record's name.
#[derive(Clone)]
enum Found {
    /// The stack's record: its ARN.
    Ours(String),
    /// The stack's record, deleted by a destroy: "Secrets Manager performs the actual deletion with an
    /// asynchronous background process, so there might be a short delay before the secret is
    /// permanently deleted" (DeleteSecret, API reference, ForceDeleteWithoutRecovery), and until
    /// then the name cannot be created again. Its ARN.
    Deleted(String),
    /// The record of a stack whose prefix differs from this one only in case: its prefix.
    Collides(String),
    /// A secret of that name without the stack's mark.
    Other,
    Missing,
}

/// What the account holds under the record's name: what this run last learnt of it, else
/// DescribeSecret's answer.
async fn find(ctx: &Ctx) -> std::result::Result<Found, AwsError> {
    if let Some(found) = ctx.record.take() {
        return Ok(found);
    }
    let name = secret_name(&ctx.prefix);
    let d = Missing::SECRETS.found(
        ctx.clients
            .secrets
            .describe_secret()
            .secret_id(&name)
            .send()
            .await
            .op("DescribeSecret"),
    )?;
    Ok(judge(ctx, &name, d.as_ref()))
}

/// What DescribeSecret's answer about the record's name says.
fn judge(
    ctx: &Ctx,
    name: &str,
    d: Option<&aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput>,
) -> Found {
    let Some(d) = d else {
        return Found::Missing;
    };
    let tag = |k: &str| {
        d.tags()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    let owner = tag(STACK_TAG).filter(|_| tag(RECORD_TAG).is_some());
    let ours = owner.as_deref() == Some(ctx.prefix.as_str());
    let arn = d.arn().unwrap_or(name).to_string();
    match (ours, d.deleted_date().is_some()) {
        (true, false) => Found::Ours(arn),
        (true, true) => Found::Deleted(arn),
        (false, false) => match owner {
            Some(other) if other.eq_ignore_ascii_case(&ctx.prefix) => Found::Collides(other),
            _ => Found::Other,
        },
        (false, true) => Found::Other,
    }
}

/// The refusal of a prefix that differs only in case from a stack already in the account.
fn collision(ctx: &Ctx, other: &str) -> Error {
    Error::Refused(format!(
        "--prefix {p}: the stack `{other}` is already in this account and region, and IAM names ignore case, so `{p}` and `{other}` would share the same IAM roles; choose a prefix that differs from `{other}` in more than case. Nothing was changed.",
        p = ctx.prefix
    ))
}

fn failed(ctx: &Ctx, action: &'static str, e: AwsError) -> Error {
    Error::Resource {
        action,
        resource: format!("the stack's record `{}`", secret_name(&ctx.prefix)),
        source: e.into(),
    }
}

/// The stack's record: from AWS, else (no record in the account yet) the local cache an older
/// iotstack or this machine's last apply left; empty when neither exists.
pub async fn load(ctx: &Ctx) -> Result<Vec<AppliedResource>> {
    let err = |e| failed(ctx, "reading", e);
    let name = secret_name(&ctx.prefix);
    // The value is asked for beside the description (one round trip, not two), and used only
    // once the description's tags show the secret is the stack's record.
    let secrets = &ctx.clients.secrets;
    let (described, value) = futures::join!(
        secrets.describe_secret().secret_id(&name).send(),
        secrets.get_secret_value().secret_id(&name).send(),
    );
    let described = Missing::SECRETS
        .found(described.op("DescribeSecret"))
        .map_err(err)?;
    let found = judge(ctx, &name, described.as_ref());
    ctx.record.set(found.clone());
    match found {
        Found::Ours(_) => {}
        Found::Other => return Ok(Vec::new()),
        Found::Collides(other) => return Err(collision(ctx, &other)),
        Found::Missing | Found::Deleted(_) => {
            return Ok(crate::state::load_applied(&ctx.state_dir))
        }
    };
    let v = Missing::SECRETS
        .found(value.op("GetSecretValue"))
        .map_err(err)?;
    let text = v
        .as_ref()
        .and_then(|v| v.secret_string())
        .unwrap_or_default();
    let doc: Document = serde_json::from_str(text).map_err(|e| {
        Error::Other(format!(
            "the stack's record `{}` is not a record iotstack can read ({e}); delete it to start again",
            secret_name(&ctx.prefix)
        ))
    })?;
    Ok(doc.resources)
}

/// Writes `resources` as the stack's record (and the local cache), when it differs from
/// `before` or the account holds no record yet. Returns a note when it could not be written because another owner's secret holds
/// the name.
pub async fn save(
    ctx: &Ctx,
    before: &[AppliedResource],
    resources: &[AppliedResource],
) -> Result<Option<String>> {
    crate::state::save_applied(&ctx.state_dir, resources);
    let write = |e| failed(ctx, "writing", e);
    let found = find(ctx).await.map_err(write)?;
    // A record found only in the local cache (written by an older iotstack) is written to AWS
    // even when it did not change.
    if before == resources && matches!(found, Found::Ours(_)) {
        ctx.record.set(found);
        return Ok(None);
    }
    let doc = Document {
        format_version: 1,
        prefix: ctx.prefix.clone(),
        resources: resources.to_vec(),
    };
    let text = serde_json::to_string(&doc).map_err(|e| Error::Other(e.to_string()))?;
    let put = |arn: String| {
        ctx.clients
            .secrets
            .put_secret_value()
            .secret_id(arn)
            .secret_string(text.clone())
            .send()
    };
    let put = |arn| async move { put(arn).await.op("PutSecretValue").map(|_| ()) };
    let arn = match found {
        Found::Ours(arn) => {
            put(arn.clone()).await.map_err(write)?;
            arn
        }
        // An apply right after a destroy: the record is still being deleted. Restoring it
        // ("cancels the scheduled deletion of a secret", RestoreSecret) gives the name back.
        Found::Deleted(arn) => {
            let restored = ctx
                .clients
                .secrets
                .restore_secret()
                .secret_id(&arn)
                .send()
                .await
                .op("RestoreSecret");
            restored.map_err(write)?;
            put(arn.clone()).await.map_err(write)?;
            arn
        }
        Found::Collides(other) => return Err(collision(ctx, &other)),
        Found::Other => {
            ctx.record.set(Found::Other);
            return Ok(Some(format!(
                "the stack's record could not be kept in AWS: a secret named `{}` that is not this stack's holds the name; only this machine's local cache knows what the stack made",
                secret_name(&ctx.prefix)
            )));
        }
        Found::Missing => {
            let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
            let created = ctx
                .clients
                .secrets
                .create_secret()
                .name(secret_name(&ctx.prefix))
                .description(format!(
                    "What the iotstack stack `{}` made (iotstack reads and writes it; do not edit)",
                    ctx.prefix
                ))
                .secret_string(text.clone())
                .tags(tag(STACK_TAG, &ctx.prefix))
                .tags(tag(RECORD_TAG, "1"))
                .send()
                .await
                .op("CreateSecret");
            match created {
                // The SDK's retry of a create whose answer was lost: the first one made it.
                Err(e) if e.code.as_deref() == Some("ResourceExistsException") => {
                    let Found::Ours(arn) = find(ctx).await.map_err(write)? else {
                        return Err(write(e));
                    };
                    put(arn.clone()).await.map_err(write)?;
                    arn
                }
                Err(e) => return Err(write(e)),
                Ok(out) => out
                    .arn()
                    .map_or_else(|| secret_name(&ctx.prefix), str::to_string),
            }
        }
    };
    ctx.record.set(Found::Ours(arn));
    Ok(None)
}

/// Deletes the stack's record (and the local cache) once destroy has removed the stack.
pub async fn remove(ctx: &Ctx) -> Result<()> {
    crate::state::clear_applied(&ctx.state_dir);
    let delete = |e| failed(ctx, "deleting", e);
    if let Found::Ours(arn) = find(ctx).await.map_err(delete)? {
        let r = ctx
            .clients
            .secrets
            .delete_secret()
            .secret_id(arn)
            .force_delete_without_recovery(true)
            .send()
            .await
            .op("DeleteSecret");
        Missing::SECRETS.gone(r).map_err(delete)?;
    }
    Ok(())
}
