//! Device certificate made from a key and CSR generated locally (CreateCertificateFromCsr).
//!
//! The private key is written (mode 0600) before AWS is called and never leaves the machine.
//! The certificate's subject carries a marker (`OU=iotstack:<prefix>/<id>`), so a certificate
//! whose id was never recorded (a run killed right after CreateCertificateFromCsr) is found
//! again by listing certificates: by the marker, or by the public key of the local key.

use async_trait::async_trait;
use serde_json::Value;

use super::support::delete_after_detach;
use super::{
    iot_policy, iot_thing, Changes, Ctx, Desired, KindSpec, Manage, Observed, Ownership, PropSpec,
    PropType, Read,
};
use crate::aws::{Missing, OpExt};
use crate::error::{AwsError, ResourceError};
use crate::state;

pub struct IotCertificate;

static PROPS: &[PropSpec] = &[
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
];

pub static SPEC: KindSpec = KindSpec {
    type_name: "iot_certificate",
    props: PROPS,
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

async fn describe(
    ctx: &Ctx,
    cert_id: &str,
) -> Result<Option<aws_sdk_iot::types::CertificateDescription>, AwsError> {
    Ok(Missing::IOT
        .found(
            ctx.clients
                .iot
                .describe_certificate()
                .certificate_id(cert_id)
                .send()
                .await
                .op("DescribeCertificate"),
        )?
        .and_then(|d| d.certificate_description().cloned()))
}

/// Finds the stack's certificate among all certificates of the account and region.
async fn scan(
    ctx: &Ctx,
    id: &str,
) -> Result<Option<aws_sdk_iot::types::CertificateDescription>, AwsError> {
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

fn status_active(d: &aws_sdk_iot::types::CertificateDescription) -> bool {
    d.status().map(|s| s.as_str()) == Some("ACTIVE")
}

#[async_trait]
impl Read for IotCertificate {
    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn read(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Observed>, ResourceError> {
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
                state::write_small(
                    &ctx.state_dir,
                    &id_file,
                    d.certificate_id().unwrap_or_default(),
                );
                if let Some(pem) = d.certificate_pem() {
                    state::write_small(&ctx.state_dir, &format!("{id}.cert.pem"), pem);
                }
            }
        }
        let Some(d) = desc else { return Ok(None) };
        let cn = d
            .certificate_pem()
            .and_then(parse_pem)
            .map(|p| p.cn)
            .unwrap_or_default();
        let mut o = Observed::default();
        o.props.insert("common_name".into(), Value::String(cn));
        o.props
            .insert("active".into(), Value::Bool(status_active(&d)));
        o.attrs.insert(
            "id".into(),
            d.certificate_id().unwrap_or_default().to_string(),
        );
        o.attrs.insert(
            "arn".into(),
            d.certificate_arn().unwrap_or_default().to_string(),
        );
        o.attrs.insert("resource_id".into(), id.clone());
        let key = ctx.state_dir.join(key_file(id));
        if key.exists() {
            o.attrs
                .insert("private_key".into(), key.display().to_string());
        } else {
            o.notes.push(format!(
                "the private key of this certificate is not on this machine (expected at {})",
                key.display()
            ));
        }
        Ok(Some(o))
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
        let r = ctx
            .clients
            .iot
            .create_certificate_from_csr()
            .certificate_signing_request(&csr)
            .set_as_active(want.bool("active", true))
            .send()
            .await
            .op("CreateCertificateFromCsr")?;
        state::write_small(
            &ctx.state_dir,
            &format!("{id}.cert-id"),
            r.certificate_id().unwrap_or_default(),
        );
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
            let status = if want.bool("active", true) {
                "ACTIVE"
            } else {
                "INACTIVE"
            };
            ctx.clients
                .iot
                .update_certificate()
                .certificate_id(have.attr("id"))
                .new_status(status.into())
                .send()
                .await
                .op("UpdateCertificate")?;
        }
        Ok(())
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let (cid, arn) = (have.attr("id"), have.attr("arn"));
        let iot = &ctx.clients.iot;
        let things = iot.list_principal_things().principal(arn).into_paginator();
        let things = things.items().send().try_collect().await;
        let things = Missing::IOT.found(things.op("ListPrincipalThings"))?;
        let links = things.into_iter().flatten().map(|t| (t, arn.to_string()));
        iot_thing::detach(ctx, links).await?;
        let policies = iot.list_attached_policies().target(arn).into_paginator();
        let policies = policies.items().send().try_collect().await;
        let policies = Missing::IOT.found(policies.op("ListAttachedPolicies"))?;
        let names = policies.into_iter().flatten().filter_map(|p| p.policy_name);
        iot_policy::detach(ctx, names.map(|p| (p, arn.to_string()))).await?;
        let deactivate = iot.update_certificate().certificate_id(cid);
        let deactivate = deactivate.new_status("INACTIVE".into()).send().await;
        Missing::IOT.gone(deactivate.op("UpdateCertificate"))?;
        // Detaching is asynchronous in AWS IoT: the delete may see a conflict for a while.
        let conflicts = ["DeleteConflictException", "CertificateStateException"];
        delete_after_detach("DeleteCertificate", &conflicts, Missing::IOT, || {
            iot.delete_certificate().certificate_id(cid).send()
        })
        .await?;
        for f in files(have.attr("resource_id")) {
            state::remove(&ctx.state_dir, &f);
        }
        Ok(Vec::new())
    }
}
