//! The record of what the stack made, kept in AWS beside the stack, so that any machine (CI, a
//! colleague's laptop) finds the resources taken out of the stack file, or renamed, and deletes
//! them instead of leaving them orphaned in the account. The local `applied.json` is a cache of
//! it (and what an older iotstack wrote): it is read only when the account holds no record.
//!
//! The record is a Secrets Manager secret named `<prefix>-iotstack-record` whose value is a JSON
//! document `{"format_version":1,"prefix":P,"resources":[{"id","type","props"}]}`: each
//! resource's kind and the resolved properties that find it again (sensitive ones left out).
//! A record too large for a secret as it is (a fleet of hundreds of devices) is written as
//! format 2, `{"format_version":2,"prefix":P,"deflated":"<base64>"}`: the same resources'
//! JSON, deflated (see [`encode`]).
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

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
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
    /// Format 1: the resources as they are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resources: Vec<AppliedResource>,
    /// Format 2: the resources' JSON, deflated and in base64, for a record too large as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deflated: Option<String>,
}

/// The most a secret's value holds: SecretString is "Length Constraints: Minimum length of 1.
/// Maximum length of 65536" (Secrets Manager API reference, PutSecretValue / SecretValueEntry).
pub const MAX_BYTES: usize = 65_536;

/// The record's text: format 1 while it fits in a secret, else format 2. A fleet's copies
/// differ by little more than their number and certificate id, so deflate shrinks them about
/// 7.5 times: 500 devices (2,003 resources, 437 KB as they are) take 58 KB, and about 560
/// devices are the most one record holds (a certificate id is 64 hex digits nothing predicts).
fn encode(prefix: &str, resources: &[AppliedResource]) -> Result<String> {
    let plain = Document {
        format_version: 1,
        prefix: prefix.to_string(),
        resources: resources.to_vec(),
        deflated: None,
    };
    let text = serde_json::to_string(&plain).map_err(|e| Error::Other(e.to_string()))?;
    if text.len() <= MAX_BYTES {
        return Ok(text);
    }
    use base64::Engine as _;
    use std::io::Write as _;
    // Each copy's resources side by side (device 7's thing, certificate, attachments): what
    // they repeat of each other (a certificate's ARN) is then within deflate's 32 KB window.
    let mut ordered = resources.to_vec();
    ordered.sort_by_key(|r| copy_number(&r.id));
    let json = serde_json::to_vec(&ordered).map_err(|e| Error::Other(e.to_string()))?;
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let bytes = z.write_all(&json).and_then(|_| z.finish());
    let bytes = bytes.map_err(|e| Error::Other(e.to_string()))?;
    let compact = Document {
        format_version: 2,
        prefix: prefix.to_string(),
        resources: Vec::new(),
        deflated: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
    };
    let text = serde_json::to_string(&compact).map_err(|e| Error::Other(e.to_string()))?;
    if text.len() > MAX_BYTES {
        return Err(Error::Other(format!(
            "the stack's record of {} resources takes {} bytes even deflated, more than the {MAX_BYTES} a secret holds; split the stack (fewer devices per stack)",
            resources.len(),
            text.len()
        )));
    }
    Ok(text)
}

/// The number of a counted resource's copy (`device-thing-007`: 7), 0 for any other resource.
fn copy_number(id: &str) -> usize {
    id.rsplit_once('-')
        .filter(|(_, n)| n.len() >= 3 && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

/// Whether two records name the same resources, whatever their order (a deflated record keeps
/// each copy's resources together).
fn same(a: &[AppliedResource], b: &[AppliedResource]) -> bool {
    fn sorted(r: &[AppliedResource]) -> Vec<&AppliedResource> {
        let mut v: Vec<&AppliedResource> = r.iter().collect();
        v.sort_by(|x, y| x.id.cmp(&y.id));
        v
    }
    a.len() == b.len() && sorted(a) == sorted(b)
}

/// The resources of a record's text, of either format.
fn decode(text: &str) -> std::result::Result<Vec<AppliedResource>, String> {
    let doc: Document = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Some(deflated) = doc.deflated else {
        return Ok(doc.resources);
    };
    use base64::Engine as _;
    use std::io::Read as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(deflated)
        .map_err(|e| e.to_string())?;
    let mut json = Vec::new();
    flate2::read::DeflateDecoder::new(&bytes[..])
        .read_to_end(&mut json)
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&json).map_err(|e| e.to_string())
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
fn judge(ctx: &Ctx, name: &str, d: Option<&DescribeSecretOutput>) -> Found {
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
    loaded(ctx, fetch(&ctx.clients.secrets, &ctx.prefix).await)
}

/// The record's two reads, as AWS answered them: what [`loaded`] judges. They need no account
/// id (the secret is found by its name), so a command makes them beside the call that finds
/// the account ([`crate::commands::connect`]).
pub struct Fetched {
    described: std::result::Result<Option<DescribeSecretOutput>, AwsError>,
    value: std::result::Result<Option<GetSecretValueOutput>, AwsError>,
}

/// Reads the record of stack `prefix`: its description and, beside it (one round trip, not
/// two), its value, used only once the description's tags show the secret is the stack's
/// record.
pub async fn fetch(secrets: &aws_sdk_secretsmanager::Client, prefix: &str) -> Fetched {
    let name = secret_name(prefix);
    let (described, value) = futures::join!(
        secrets.describe_secret().secret_id(&name).send(),
        secrets.get_secret_value().secret_id(&name).send(),
    );
    Fetched {
        described: Missing::SECRETS.found(described.op("DescribeSecret")),
        value: Missing::SECRETS.found(value.op("GetSecretValue")),
    }
}

/// The stack's record from what [`fetch`] read (see [`load`]).
pub fn loaded(ctx: &Ctx, fetched: Fetched) -> Result<Vec<AppliedResource>> {
    let err = |e| failed(ctx, "reading", e);
    let name = secret_name(&ctx.prefix);
    let described = fetched.described.map_err(err)?;
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
    let v = fetched.value.map_err(err)?;
    let text = v
        .as_ref()
        .and_then(|v| v.secret_string())
        .unwrap_or_default();
    decode(text).map_err(|e| {
        Error::Other(format!(
            "the stack's record `{}` is not a record iotstack can read ({e}); delete it to start again",
            secret_name(&ctx.prefix)
        ))
    })
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
    if same(before, resources) && matches!(found, Found::Ours(_)) {
        ctx.record.set(found);
        return Ok(None);
    }
    let text = encode(&ctx.prefix, resources)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The record of a fleet of `n` devices as `stacks/fleet.yaml` makes it.
    fn fleet(n: usize) -> Vec<AppliedResource> {
        let entry = |id: String, ty: &str, props: serde_json::Value, attrs: serde_json::Value| {
            AppliedResource {
                id,
                type_name: ty.into(),
                props: serde_json::from_value(props).unwrap(),
                attrs: serde_json::from_value(attrs).unwrap(),
            }
        };
        let mut out = Vec::new();
        let mut things = Vec::new();
        let mut certs = Vec::new();
        let mut links = Vec::new();
        let mut members = Vec::new();
        for i in 1..=n {
            let name = format!("fa-device-{i:03}");
            // A certificate id is 64 hex digits that nothing else predicts.
            let digest = <sha2::Sha256 as sha2::Digest>::digest(name.as_bytes());
            let cert: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            let cert_arn = format!("arn:aws:iot:us-east-1:123456789012:cert/{cert}");
            things.push(entry(
                format!("device-thing-{i:03}"),
                "iot_thing",
                json!({"attributes": {}, "name": name, "tags": {"iotstack:stack": "fa"}}),
                json!({"arn": format!("arn:aws:iot:us-east-1:123456789012:thing/{name}"), "name": name}),
            ));
            certs.push(entry(
                format!("device-cert-{i:03}"),
                "iot_certificate",
                json!({"active": true, "common_name": name, "thing": name}),
                json!({"arn": cert_arn, "id": cert}),
            ));
            links.push(entry(
                format!("device-cert-thing-{i:03}"),
                "iot_thing_principal",
                json!({"principal": cert_arn, "thing": name}),
                json!({}),
            ));
            members.push(entry(
                format!("device-member-{i:03}"),
                "iot_thing_group_member",
                json!({"thing": name, "thing_group": "fa-fleet"}),
                json!({}),
            ));
        }
        // In the stack's order: every thing, then every certificate, ...
        for kind in [things, certs, links, members] {
            out.extend(kind);
        }
        out
    }

    #[test]
    fn a_small_record_is_kept_as_it_is() {
        let r = fleet(5);
        let text = encode("fa", &r).unwrap();
        assert!(text.starts_with(r#"{"format_version":1,"#), "{text}");
        assert_eq!(decode(&text).unwrap(), r);
    }

    #[test]
    fn a_500_device_fleet_is_deflated_into_a_secret_and_read_back() {
        let r = fleet(500);
        let plain = serde_json::to_string(&r).unwrap().len();
        assert!(plain > MAX_BYTES, "{plain} bytes as they are");
        let text = encode("fa", &r).unwrap();
        assert!(text.len() <= MAX_BYTES, "{} bytes", text.len());
        assert!(text.starts_with(r#"{"format_version":2,"#));
        assert!(same(&decode(&text).unwrap(), &r));
        assert!(!same(&decode(&text).unwrap(), &r[1..]));
    }

    #[test]
    fn a_record_too_large_even_deflated_is_refused_before_it_is_written() {
        let e = encode("fa", &fleet(2_000)).unwrap_err().to_string();
        assert!(e.contains("more than the 65536 a secret holds"), "{e}");
    }
}
