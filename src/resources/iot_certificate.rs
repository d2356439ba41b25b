//! Device certificate made from a key and CSR generated locally (CreateCertificateFromCsr).
//!
//! The private key is written (mode 0600) before AWS is called and never leaves the machine.
//!
//! AWS IoT keeps nothing of the CSR but its public key: the certificate it issues carries its own
//! subject (`CN=AWS IoT Certificate`) and issuer. So the stack's certificate is known by what AWS
//! keeps, never by its subject, and never by going through every certificate of the account:
//! 1. the id recorded on this machine when it was issued, else the id in the stack's record;
//! 2. else, among the principals of the stack's thing (`thing`), the certificate issued for the
//!    local key (its SubjectPublicKeyInfo is the local key's), or the only one when the key is
//!    not on this machine;
//! 3. else, when a create was cut short after AWS issued the certificate and before its id was
//!    recorded (the CSR is on disk, no id is), the certificate issued for the local key among
//!    those created since that CSR was written, newest first.
//!
//! `common_name` is only the CN written into the CSR. AWS does not keep it, so it is never
//! compared with the live certificate, and changing it changes nothing live.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use aws_sdk_iot::operation::create_certificate_from_csr::CreateCertificateFromCsrOutput;
use aws_sdk_iot::primitives::DateTime;
use aws_sdk_iot::types::{CertificateDescription, CertificateStatus};
use rcgen::PublicKeyData;
use serde_json::{json, Map, Value};

use super::once::Made;
use super::prelude::*;
use super::support::delete_after_detach;
use super::{iot_policy, iot_thing};
use crate::error::AwsError;
use crate::state;

pub struct IotCertificate;

pub static SPEC: KindSpec = KindSpec {
    type_name: "iot_certificate",
    props: &[
        PropSpec::required(
            "common_name",
            PropType::Str,
            "the CN written into the CSR, e.g. `${prefix}-thing` (AWS IoT issues the \
             certificate with its own subject, so this is never compared with it)",
        ),
        PropSpec::optional(
            "active",
            PropType::Bool,
            "whether the certificate is ACTIVE (default true)",
        ),
        PropSpec::optional(
            "thing",
            PropType::Str,
            "the thing the certificate is attached to, e.g. `${device-thing.name}`: its \
             principals are where the certificate is found when its id is not recorded here",
        ),
    ],
    attrs: &["id", "arn"],
    name_rule: None,
    ownership: Ownership::LocalKey,
    missing: Missing::IOT,
    facts: &[],
    deleted_with: &[],
};

/// How far the local clock may be from AWS's: requests signed further off are refused
/// (SigV4 allows 5 minutes), so a certificate issued after the CSR was written is not older
/// than the CSR by more than this on AWS's clock.
const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

fn local_err(message: String) -> ResourceError {
    ResourceError::local("local files", message)
}

pub fn key_file(id: &str) -> String {
    format!("{id}.private.key")
}

fn csr_file(id: &str) -> String {
    format!("{id}.csr.pem")
}

fn id_file(id: &str) -> String {
    format!("{id}.cert-id")
}

fn pem_file(id: &str) -> String {
    format!("{id}.cert.pem")
}

fn files(id: &str) -> [String; 4] {
    [key_file(id), csr_file(id), pem_file(id), id_file(id)]
}

/// The SubjectPublicKeyInfo (DER) of a certificate in PEM form.
fn pem_spki(pem: &str) -> Option<Vec<u8>> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let cert = p.parse_x509().ok()?;
    Some(cert.public_key().raw.to_vec())
}

/// The SubjectPublicKeyInfo (DER) of the local private key, when it is on this machine.
fn local_spki(ctx: &Ctx, id: &str) -> Option<Vec<u8>> {
    let pem = std::fs::read_to_string(ctx.state_dir.join(key_file(id))).ok()?;
    let kp = rcgen::KeyPair::from_pem(&pem).ok()?;
    Some(kp.subject_public_key_info())
}

/// Whether AWS issued this certificate for the key whose SubjectPublicKeyInfo is `spki`.
fn issued_for(d: &CertificateDescription, spki: &[u8]) -> bool {
    d.certificate_pem()
        .and_then(pem_spki)
        .is_some_and(|p| p == spki)
}

/// The stack's certificate among the certificates attached to its thing: the one issued for
/// the local key; without the key on this machine, the thing's only certificate.
fn choose(
    attached: Vec<CertificateDescription>,
    spki: Option<&[u8]>,
) -> Option<CertificateDescription> {
    match spki {
        Some(spki) => attached.into_iter().find(|d| issued_for(d, spki)),
        None if attached.len() == 1 => attached.into_iter().next(),
        None => None,
    }
}

/// Whether a certificate created at `created` (AWS's clock) may have been issued for a CSR
/// written at `csr_written` (this machine's clock).
fn created_since(created: Option<&DateTime>, csr_written: SystemTime) -> bool {
    let since = DateTime::from(csr_written.checked_sub(CLOCK_SKEW).unwrap_or(csr_written));
    created.is_some_and(|c| c.secs() >= since.secs())
}

async fn describe(ctx: &Ctx, cert_id: &str) -> Result<Option<CertificateDescription>, AwsError> {
    let call = ctx
        .clients
        .iot
        .describe_certificate()
        .certificate_id(cert_id);
    let d = SPEC
        .missing
        .found(call.send().await.op("DescribeCertificate"))?;
    Ok(d.and_then(|d| d.certificate_description))
}

/// The certificates attached to the thing (its principals that are certificates).
async fn on_thing(ctx: &Ctx, thing: &str) -> Result<Vec<CertificateDescription>, AwsError> {
    let Some(principals) = SPEC
        .missing
        .found(iot_thing::principals(ctx, thing).await)?
    else {
        return Ok(Vec::new());
    };
    // The thing's certificates are described at once: one round trip.
    let ids = principals.iter().filter_map(|arn| arn.split_once(":cert/"));
    let described = futures::future::try_join_all(ids.map(|(_, cid)| describe(ctx, cid))).await?;
    Ok(described.into_iter().flatten().collect())
}

/// The certificate issued for the local key among those AWS created since `csr_written`, read
/// newest first and no further back than that.
async fn issued_since(
    ctx: &Ctx,
    csr_written: SystemTime,
    spki: &[u8],
) -> Result<Option<CertificateDescription>, AwsError> {
    let list = ctx.clients.iot.list_certificates().ascending_order(false);
    let mut certs = list.page_size(25).into_paginator().items().send();
    while let Some(c) = certs.try_next().await.op("ListCertificates")? {
        if !created_since(c.creation_date(), csr_written) {
            break;
        }
        let Some(cid) = c.certificate_id() else {
            continue;
        };
        if let Some(d) = describe(ctx, cid).await?.filter(|d| issued_for(d, spki)) {
            return Ok(Some(d));
        }
    }
    Ok(None)
}

/// When the CSR on this machine was written (just before CreateCertificateFromCsr was called).
fn csr_written(ctx: &Ctx, id: &str) -> Option<SystemTime> {
    let csr = std::fs::metadata(ctx.state_dir.join(csr_file(id))).ok()?;
    csr.modified().ok()
}

/// The thing named by `want`, when it is known (it may not exist yet).
fn thing(want: &Desired) -> Option<&str> {
    want.opt_str("thing")
        .filter(|t| !t.is_empty() && want.is_known("thing"))
}

/// Records the certificate's id and PEM, so the next run finds it at once.
fn record(ctx: &Ctx, id: &str, d: &CertificateDescription) {
    state::write_small(
        &ctx.state_dir,
        &id_file(id),
        d.certificate_id().unwrap_or_default(),
    );
    if let Some(pem) = d.certificate_pem() {
        state::write_small(&ctx.state_dir, &pem_file(id), pem);
    }
}

/// What a certificate's create tells of it: the id and ARN CreateCertificateFromCsr answered.
fn created(made: &CreateCertificateFromCsrOutput) -> Created {
    let (id, arn) = (made.certificate_id(), made.certificate_arn());
    super::created([
        ("id", id.unwrap_or_default()),
        ("arn", arn.unwrap_or_default()),
    ])
}

/// What is known of the stack's certificate: AWS's description, and where its private key is
/// expected on this machine and whether it is there.
pub struct Fetched {
    pub description: CertificateDescription,
    pub key: PathBuf,
    pub key_present: bool,
}

#[async_trait]
impl Fetch for IotCertificate {
    module_spec!(Fetched);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let id = &want.id;
        let recorded = state::read_small(&ctx.state_dir, &id_file(id));
        let mut desc = None;
        if let Some(cid) = &recorded {
            desc = describe(ctx, cid).await?;
        }
        // The id the stack's record keeps (any machine, CI): as direct as the local one.
        let in_record = want
            .recorded_attr("id")
            .filter(|r| Some(*r) != recorded.as_deref());
        if let (None, Some(cid)) = (&desc, in_record) {
            desc = describe(ctx, cid).await?;
        }
        let spki = local_spki(ctx, id);
        if desc.is_none() {
            if let Some(thing) = thing(want) {
                desc = choose(on_thing(ctx, thing).await?, spki.as_deref());
            }
        }
        // A create cut short after AWS issued the certificate and before its id was recorded
        // leaves the CSR on disk and no id.
        if desc.is_none() && recorded.is_none() {
            if let (Some(since), Some(spki)) = (csr_written(ctx, id), &spki) {
                desc = issued_since(ctx, since, spki).await?;
            }
        }
        if let Some(d) = &desc {
            if recorded.as_deref() != d.certificate_id() {
                // Record what a killed run, or another machine, could not.
                record(ctx, id, d);
            }
        }
        let key = ctx.state_dir.join(key_file(id));
        Ok(desc.map(|description| Fetched {
            description,
            key_present: key.exists(),
            key,
        }))
    }

    /// The certificate's subject is AWS's own: `common_name` (the CSR's) and `thing` (where it
    /// is looked for) are what the stack says; only the status is read from AWS.
    fn observe(&self, f: Fetched, want: &Desired) -> Option<Observed> {
        let d = &f.description;
        let mut props = Map::new();
        props.insert("common_name".into(), json!(want.str("common_name")));
        props.insert(
            "active".into(),
            json!(d.status() == Some(&CertificateStatus::Active)),
        );
        if let Some(thing) = thing(want) {
            props.insert("thing".into(), json!(thing));
        }
        let key = f.key.display().to_string();
        let o = Observed::new(
            Value::Object(props),
            json!({
                "id": d.certificate_id().unwrap_or_default(),
                "arn": d.certificate_arn().unwrap_or_default(),
                "resource_id": want.id,
                "private_key": f.key_present.then_some(&key),
            }),
        );
        let missing = format!(
            "the private key of this certificate is not on this machine (expected at {key})"
        );
        Some(o.note((!f.key_present).then_some(missing)))
    }
}

#[async_trait]
impl Manage for IotCertificate {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let id = &want.id;
        let key_path = ctx.state_dir.join(key_file(id));
        // Reuse a key a killed run left behind; otherwise make one and keep it before calling AWS.
        let key = match std::fs::read_to_string(&key_path) {
            Ok(pem) => rcgen::KeyPair::from_pem(&pem)
                .map_err(|e| local_err(format!("cannot read {}: {e}", key_path.display())))?,
            Err(_) => {
                let kp = rcgen::KeyPair::generate()
                    .map_err(|e| local_err(format!("cannot generate a key: {e}")))?;
                state::write_secret(&ctx.state_dir, &key_file(id), kp.serialize_pem().as_bytes())
                    .map_err(|e| local_err(format!("cannot write {}: {e}", key_path.display())))?;
                kp
            }
        };
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
            .map_err(|e| local_err(e.to_string()))?;
        // AWS IoT keeps only the CSR's public key; the CN is for whoever reads the CSR file.
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CommonName, want.str("common_name"));
        params.distinguished_name = dn;
        let csr = params
            .serialize_request(&key)
            .and_then(|c| c.pem())
            .map_err(|e| local_err(format!("cannot make a CSR: {e}")))?;
        // From here until the new id is recorded, a run cut short leaves the CSR and no id.
        state::remove(&ctx.state_dir, &id_file(id));
        state::write_small(&ctx.state_dir, &csr_file(id), &csr);
        let call = ctx.clients.iot.create_certificate_from_csr();
        let call = call.certificate_signing_request(&csr);
        let call = call.set_as_active(want.bool("active", true));
        let send = || super::once::send_unretried!(aws_sdk_iot, call);
        let find = || super::Read::read(self, ctx, want);
        let r = match super::once::create("CreateCertificateFromCsr", find, send).await? {
            Made::Answered(r) => r,
            // Found made by an attempt whose answer was lost: the read recorded it.
            found => return Ok(found.created(&SPEC, |r| created(&r))),
        };
        let cid = r.certificate_id().unwrap_or_default();
        state::write_small(&ctx.state_dir, &id_file(id), cid);
        if let Some(pem) = r.certificate_pem() {
            state::write_small(&ctx.state_dir, &pem_file(id), pem);
        }
        Ok(created(&r))
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (ctx, want, have, changes) = (u.ctx, u.want, u.have, u.changes);
        if changes.has("active") {
            let status = match want.bool("active", true) {
                true => CertificateStatus::Active,
                false => CertificateStatus::Inactive,
            };
            let call = ctx.clients.iot.update_certificate();
            let call = call.certificate_id(have.attr("id")).new_status(status);
            call.send().await.op("UpdateCertificate")?;
        }
        Ok(())
    }

    /// DeleteCertificate needs the certificate INACTIVE ("Before you can delete a
    /// certificate, you must first deactivate it", AWS IoT API reference, DeleteCertificate),
    /// which UpdateCertificate makes it whatever is still attached to it: destroy deactivates
    /// it beside the removal of its attachments.
    async fn before_delete(
        &self,
        ctx: &Ctx,
        have: &Observed,
    ) -> Result<Option<Observed>, ResourceError> {
        if !self.deletes_ahead(have) {
            return Ok(None);
        }
        deactivate(ctx, have.attr("id")).await?;
        let mut left = have.clone();
        left.props.insert("active".into(), Value::Bool(false));
        Ok(Some(left))
    }

    /// An active certificate is deactivated ahead.
    fn deletes_ahead(&self, have: &Observed) -> bool {
        have.props.get("active") == Some(&Value::Bool(true))
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let (cid, arn) = (have.attr("id"), have.attr("arn"));
        let iot = &ctx.clients.iot;
        // DeleteCertificate also needs the certificate detached from its things and policies
        // (DeleteCertificate: "DeleteConflictException" otherwise). The stack's own attachments
        // went first, so the delete is made at once; only when AWS refuses are the
        // certificate's things and policies listed and detached (both lists, then both kinds
        // of detach, at once), and the delete retried while the detaches propagate ("This call
        // is asynchronous. It might take several seconds for the detachment to propagate",
        // DetachThingPrincipal).
        if have.props.get("active") != Some(&Value::Bool(false)) {
            deactivate(ctx, cid).await?;
        }
        let first = iot.delete_certificate().certificate_id(cid).send().await;
        let conflicts = ["DeleteConflictException", "CertificateStateException"];
        match first.op("DeleteCertificate") {
            Err(e) if conflicts.contains(&e.code.as_deref().unwrap_or_default()) => {
                let (detached, deactivated) =
                    futures::join!(detach_all(ctx, arn), deactivate(ctx, cid));
                detached?;
                deactivated?;
                delete_after_detach("DeleteCertificate", &conflicts, SPEC.missing, || {
                    iot.delete_certificate().certificate_id(cid).send()
                })
                .await?;
            }
            other => SPEC.missing.gone(other)?,
        }
        for f in files(have.attr("resource_id")) {
            state::remove(&ctx.state_dir, &f);
        }
        Ok(Vec::new())
    }
}

/// UpdateCertificate to INACTIVE; a certificate already gone is done.
async fn deactivate(ctx: &Ctx, cid: &str) -> Result<(), AwsError> {
    let call = ctx.clients.iot.update_certificate().certificate_id(cid);
    let r = call.new_status(CertificateStatus::Inactive).send().await;
    SPEC.missing.gone(r.op("UpdateCertificate"))
}

/// Detaches the certificate `arn` from every thing and policy AWS lists for it.
async fn detach_all(ctx: &Ctx, arn: &str) -> Result<(), AwsError> {
    let iot = &ctx.clients.iot;
    let things = iot.list_principal_things().principal(arn).into_paginator();
    let policies = iot.list_attached_policies().target(arn).into_paginator();
    let (things, policies) = futures::join!(
        things.items().send().try_collect(),
        policies.items().send().try_collect()
    );
    let things = SPEC.missing.found(things.op("ListPrincipalThings"))?;
    let policies = SPEC.missing.found(policies.op("ListAttachedPolicies"))?;
    let links = things.into_iter().flatten().map(|t| (t, arn.to_string()));
    let names = policies.into_iter().flatten().filter_map(|p| p.policy_name);
    let (from_things, from_policies) = futures::join!(
        iot_thing::detach(ctx, links),
        iot_policy::detach(ctx, names.map(|p| (p, arn.to_string())))
    );
    from_things?;
    from_policies.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate for `key` as AWS IoT issues it: AWS's own subject, whatever the CSR said.
    fn issued(key: &rcgen::KeyPair) -> String {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "AWS IoT Certificate");
        params.self_signed(key).unwrap().pem()
    }

    fn description(id: &str, key: &rcgen::KeyPair) -> CertificateDescription {
        CertificateDescription::builder()
            .certificate_id(id)
            .certificate_arn(format!("arn:aws:iot:eu-west-1:123456789012:cert/{id}"))
            .status(CertificateStatus::Inactive)
            .certificate_pem(issued(key))
            .build()
    }

    fn fetched(key_present: bool) -> Fetched {
        Fetched {
            description: description("c0ffee", &rcgen::KeyPair::generate().unwrap()),
            key: PathBuf::from("/keys/device-cert.private.key"),
            key_present,
        }
    }

    fn want(props: Value) -> Desired {
        Desired::from_json("device-cert", props)
    }

    #[test]
    fn the_common_name_is_the_stacks_whatever_subject_aws_wrote() {
        let want = want(json!({"common_name": "p-thing", "thing": "p-thing"}));
        let o = IotCertificate.observe(fetched(true), &want).unwrap();
        assert_eq!(o.props["common_name"], json!("p-thing"));
        assert_eq!(o.props["thing"], json!("p-thing"));
        assert_eq!(o.props["active"], json!(false));
        assert_eq!(o.attr("id"), "c0ffee");
        assert_eq!(o.attr("resource_id"), "device-cert");
        assert_eq!(o.attr("private_key"), "/keys/device-cert.private.key");
        assert!(o.notes.is_empty(), "{:?}", o.notes);
    }

    #[test]
    fn a_create_tells_what_the_read_observes() {
        let key = rcgen::KeyPair::generate().unwrap();
        let made = CreateCertificateFromCsrOutput::builder()
            .certificate_id("c0ffee")
            .certificate_arn("arn:aws:iot:eu-west-1:123456789012:cert/c0ffee")
            .certificate_pem(issued(&key))
            .build();
        let f = Fetched {
            description: description("c0ffee", &key),
            key: PathBuf::from("/keys/device-cert.private.key"),
            key_present: true,
        };
        let o = IotCertificate.observe(f, &want(json!({}))).unwrap();
        crate::resources::assert_created_as_observed(&SPEC, &created(&made), &o);
    }

    #[test]
    fn a_thing_not_made_yet_is_not_observed() {
        let mut want = want(json!({"common_name": "p-thing", "thing": ""}));
        want.unknown.insert("thing".into());
        let o = IotCertificate.observe(fetched(true), &want).unwrap();
        assert!(!o.props.contains_key("thing"), "{:?}", o.props);
    }

    #[test]
    fn a_key_not_on_this_machine_is_a_note() {
        let o = IotCertificate.observe(fetched(false), &want(json!({})));
        let o = o.unwrap();
        assert!(!o.attrs.contains_key("private_key"));
        assert_eq!(
            o.notes,
            [
                "the private key of this certificate is not on this machine \
              (expected at /keys/device-cert.private.key)"
            ]
        );
    }

    #[test]
    fn the_thing_s_certificate_is_the_one_issued_for_the_local_key() {
        let (mine, other) = (
            rcgen::KeyPair::generate().unwrap(),
            rcgen::KeyPair::generate().unwrap(),
        );
        let spki = mine.subject_public_key_info();
        let attached = || vec![description("other", &other), description("mine", &mine)];
        let found = choose(attached(), Some(&spki)).unwrap();
        assert_eq!(found.certificate_id(), Some("mine"));
        assert!(issued_for(&found, &spki));
        // A certificate issued for another key is not the stack's, even on its thing.
        assert_eq!(
            choose(vec![description("other", &other)], Some(&spki)),
            None
        );
        // Without the key on this machine, the thing's only certificate is the stack's...
        let only = choose(vec![description("other", &other)], None).unwrap();
        assert_eq!(only.certificate_id(), Some("other"));
        // ...and of several, none can be told apart.
        assert_eq!(choose(attached(), None), None);
    }

    #[test]
    fn a_certificate_from_before_the_csr_was_not_issued_for_it() {
        let written = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = |secs: i64| DateTime::from_secs(1_800_000_000 + secs);
        assert!(created_since(Some(&at(2)), written));
        // AWS's clock may be behind this machine's by up to the skew SigV4 allows.
        assert!(created_since(Some(&at(-299)), written));
        assert!(!created_since(Some(&at(-301)), written));
        assert!(!created_since(None, written));
    }
}
