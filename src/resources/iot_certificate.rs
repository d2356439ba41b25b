//! Device certificate made from a key and CSR generated locally (CreateCertificateFromCsr).
//!
//! The private key is written (mode 0600) before AWS is called and never leaves the machine.
//! The certificate's subject carries a marker (`OU=iotstack:<prefix>/<id>`), so a certificate
//! whose id was never recorded (a run killed right after CreateCertificateFromCsr) is found
//! again by listing certificates: by the marker, or by the public key of the local key.

use std::path::PathBuf;

use async_trait::async_trait;
use aws_sdk_iot::types::{CertificateDescription, CertificateStatus};
use serde_json::json;

use super::support::delete_after_detach;
use super::{
    iot_policy, iot_thing, Changes, Ctx, Desired, Fetch, KindSpec, Manage, Observed, Ownership,
    PropSpec, PropType,
};
use crate::aws::{Missing, OpExt};
use crate::error::{AwsError, ResourceError};
use crate::state;

pub struct IotCertificate;

pub static SPEC: KindSpec = KindSpec {
    type_name: "iot_certificate",
    props: &[
        PropSpec::required(
            "common_name",
            PropType::Str,
            "the certificate's CN, e.g. `${prefix}-thing`",
        )
        .force_new(),
        PropSpec::optional(
            "active",
            PropType::Bool,
            "whether the certificate is ACTIVE (default true)",
        ),
    ],
    attrs: &["id", "arn"],
    name_rule: None,
    ownership: Ownership::Subject,
    missing: Missing::IOT,
    facts: &[],
};

fn local_err(message: String) -> ResourceError {
    ResourceError::local("local files", message)
}

pub fn marker(prefix: &str, id: &str) -> String {
    format!("iotstack:{prefix}/{id}")
}

pub fn key_file(id: &str) -> String {
    format!("{id}.private.key")
}

fn files(id: &str) -> [String; 4] {
    [
        key_file(id),
        format!("{id}.csr.pem"),
        format!("{id}.cert.pem"),
        format!("{id}.cert-id"),
    ]
}

struct Parsed {
    ou: Vec<String>,
    cn: String,
    /// The raw public key (the subjectPublicKey bit string).
    spki: Vec<u8>,
}

fn parse_pem(pem: &str) -> Option<Parsed> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let cert = p.parse_x509().ok()?;
    let subject = cert.subject();
    let ou = subject
        .iter_organizational_unit()
        .filter_map(|a| a.as_str().ok().map(str::to_string))
        .collect();
    let cn = subject
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or_default()
        .to_string();
    Some(Parsed {
        ou,
        cn,
        spki: cert.public_key().subject_public_key.data.to_vec(),
    })
}

fn local_spki(ctx: &Ctx, id: &str) -> Option<Vec<u8>> {
    let pem = std::fs::read_to_string(ctx.state_dir.join(key_file(id))).ok()?;
    let kp = rcgen::KeyPair::from_pem(&pem).ok()?;
    Some(kp.public_key_raw().to_vec())
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

/// Finds the stack's certificate among all certificates of the account and region.
async fn scan(ctx: &Ctx, id: &str) -> Result<Option<CertificateDescription>, AwsError> {
    let want_marker = marker(&ctx.prefix, id);
    let spki = local_spki(ctx, id);
    let list = ctx.clients.iot.list_certificates().page_size(250);
    let mut certs = list.into_paginator().items().send();
    while let Some(c) = certs.try_next().await.op("ListCertificates")? {
        let Some(cid) = c.certificate_id() else {
            continue;
        };
        let Some(d) = describe(ctx, cid).await? else {
            continue;
        };
        let Some(p) = d.certificate_pem().and_then(parse_pem) else {
            continue;
        };
        if p.ou.iter().any(|o| o == &want_marker) || spki.as_deref() == Some(&p.spki[..]) {
            return Ok(Some(d));
        }
    }
    Ok(None)
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
    type Fetched = Fetched;

    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Fetched>, ResourceError> {
        let id = &want.id;
        let id_file = format!("{id}.cert-id");
        let mut desc = None;
        if let Some(cid) = state::read_small(&ctx.state_dir, &id_file) {
            desc = describe(ctx, &cid).await?;
        }
        if desc.is_none() {
            desc = scan(ctx, id).await?;
            if let Some(d) = &desc {
                // Record what a killed run could not.
                let cid = d.certificate_id().unwrap_or_default();
                state::write_small(&ctx.state_dir, &id_file, cid);
                if let Some(pem) = d.certificate_pem() {
                    state::write_small(&ctx.state_dir, &format!("{id}.cert.pem"), pem);
                }
            }
        }
        let key = ctx.state_dir.join(key_file(id));
        Ok(desc.map(|description| Fetched {
            description,
            key_present: key.exists(),
            key,
        }))
    }

    fn observe(&self, f: Fetched, want: &Desired) -> Option<Observed> {
        let d = &f.description;
        let cn = d.certificate_pem().and_then(parse_pem).map(|p| p.cn);
        let active = d.status() == Some(&CertificateStatus::Active);
        let key = f.key.display().to_string();
        let o = Observed::new(
            json!({ "common_name": cn.unwrap_or_default(), "active": active }),
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
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
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
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CommonName, want.str("common_name"));
        dn.push(rcgen::DnType::OrganizationName, "iotstack");
        dn.push(
            rcgen::DnType::OrganizationalUnitName,
            marker(&ctx.prefix, id),
        );
        params.distinguished_name = dn;
        let csr = params
            .serialize_request(&key)
            .and_then(|c| c.pem())
            .map_err(|e| local_err(format!("cannot make a CSR: {e}")))?;
        state::write_small(&ctx.state_dir, &format!("{id}.csr.pem"), &csr);
        let call = ctx.clients.iot.create_certificate_from_csr();
        let call = call.certificate_signing_request(&csr);
        let call = call.set_as_active(want.bool("active", true));
        let send = || {
            let over =
                aws_sdk_iot::config::Builder::default().retry_config(super::once::no_retry());
            call.clone().customize().config_override(over).send()
        };
        let find = || super::Read::read(self, ctx, want);
        // Found made by an attempt whose answer was lost: the read recorded it.
        let Some(r) = super::once::create("CreateCertificateFromCsr", find, send).await? else {
            return Ok(());
        };
        let cid = r.certificate_id().unwrap_or_default();
        state::write_small(&ctx.state_dir, &format!("{id}.cert-id"), cid);
        if let Some(pem) = r.certificate_pem() {
            state::write_small(&ctx.state_dir, &format!("{id}.cert.pem"), pem);
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

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let (cid, arn) = (have.attr("id"), have.attr("arn"));
        let iot = &ctx.clients.iot;
        let things = iot.list_principal_things().principal(arn).into_paginator();
        let things = things.items().send().try_collect().await;
        let things = SPEC.missing.found(things.op("ListPrincipalThings"))?;
        let links = things.into_iter().flatten().map(|t| (t, arn.to_string()));
        iot_thing::detach(ctx, links).await?;
        let policies = iot.list_attached_policies().target(arn).into_paginator();
        let policies = policies.items().send().try_collect().await;
        let policies = SPEC.missing.found(policies.op("ListAttachedPolicies"))?;
        let names = policies.into_iter().flatten().filter_map(|p| p.policy_name);
        iot_policy::detach(ctx, names.map(|p| (p, arn.to_string()))).await?;
        let deactivate = iot.update_certificate().certificate_id(cid);
        let deactivate = deactivate
            .new_status(CertificateStatus::Inactive)
            .send()
            .await;
        SPEC.missing.gone(deactivate.op("UpdateCertificate"))?;
        // Detaching is asynchronous in AWS IoT: the delete may see a conflict for a while.
        let conflicts = ["DeleteConflictException", "CertificateStateException"];
        delete_after_detach("DeleteCertificate", &conflicts, SPEC.missing, || {
            iot.delete_certificate().certificate_id(cid).send()
        })
        .await?;
        for f in files(have.attr("resource_id")) {
            state::remove(&ctx.state_dir, &f);
        }
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(cn: &str) -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.self_signed(&key).unwrap().pem()
    }

    fn fetched(key_present: bool) -> Fetched {
        Fetched {
            description: CertificateDescription::builder()
                .certificate_id("c0ffee")
                .certificate_arn("arn:aws:iot:eu-west-1:123456789012:cert/c0ffee")
                .status(CertificateStatus::Inactive)
                .certificate_pem(certificate("p-thing"))
                .build(),
            key: PathBuf::from("/keys/device-cert.private.key"),
            key_present,
        }
    }

    #[test]
    fn the_common_name_comes_from_the_pem_and_the_key_is_named() {
        let want = Desired::from_json("device-cert", json!({"common_name": "p-thing"}));
        let o = IotCertificate.observe(fetched(true), &want).unwrap();
        assert_eq!(o.props["common_name"], json!("p-thing"));
        assert_eq!(o.props["active"], json!(false));
        assert_eq!(o.attr("id"), "c0ffee");
        assert_eq!(o.attr("resource_id"), "device-cert");
        assert_eq!(o.attr("private_key"), "/keys/device-cert.private.key");
        assert!(o.notes.is_empty(), "{:?}", o.notes);
    }

    #[test]
    fn a_key_not_on_this_machine_is_a_note() {
        let want = Desired::from_json("device-cert", json!({}));
        let o = IotCertificate.observe(fetched(false), &want).unwrap();
        assert!(!o.attrs.contains_key("private_key"));
        assert_eq!(
            o.notes,
            [
                "the private key of this certificate is not on this machine \
              (expected at /keys/device-cert.private.key)"
            ]
        );
    }
}
