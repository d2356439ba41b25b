//! The certificate device: the certificate is active and attached to its thing and its policy,
//! and the device policy lets the thing connect and use its topics.

use serde_json::Value;

use super::access::{document_refuses, refused};
use super::crosscheck::{self, Asking};
use super::{Check, Facts};
use iotstack_policy::{self as eval, Context, Request, KEY_IOT_CLIENT_ID, KEY_THING_NAME};

pub fn checks(facts: &Facts) -> Vec<Check> {
    let mut out = Vec::new();
    let Some(cert) = facts.of_type("iot_certificate") else {
        return out;
    };
    let c = Check::new("device-certificate", "The device certificate is active");
    let Some(co) = &cert.observed else {
        out.push(c.missing("the device certificate does not exist", &cert.desired.id));
        return out;
    };
    let (cert_id, cert_arn) = (co.attr("id").to_string(), co.attr("arn").to_string());
    out.push(if co.props.get("active") == Some(&Value::Bool(true)) {
        c.pass(format!("certificate {cert_id} is ACTIVE"))
    } else {
        // Not repaired automatically: a certificate is often deactivated on purpose.
        c.fail(
            format!("certificate {cert_id} is INACTIVE: AWS IoT refuses the TLS connection"),
            format!("if it was not deactivated on purpose: aws iot update-certificate --certificate-id {cert_id} --new-status ACTIVE (or `iotstack apply`)"),
        )
    });

    // Attached to its thing and its policy.
    let mut thing = None;
    for l in facts.all_of_type("iot_thing_principal") {
        if l.desired.str("principal") != cert_arn && l.observed.is_some() {
            continue;
        }
        thing = Some(l.desired.str("thing").to_string());
        let c = Check::new(
            "device-thing",
            format!(
                "The certificate is attached to thing {}",
                l.desired.str("thing")
            ),
        );
        out.push(match &l.observed {
            Some(_) => c.pass(format!(
                "{} has principal {cert_arn}",
                l.desired.str("thing")
            )),
            None => c
                .fail(
                    format!(
                        "thing {} has no principal {cert_arn}",
                        l.desired.str("thing")
                    ),
                    format!(
                        "aws iot attach-thing-principal --thing-name {} --principal {cert_arn}",
                        l.desired.str("thing")
                    ),
                )
                .restore(&l.desired.id),
        });
    }
    let mut device_policy = None;
    for l in facts.all_of_type("iot_policy_attachment") {
        if l.desired.str("target") != cert_arn && l.observed.is_some() {
            continue;
        }
        let policy = l.desired.str("policy").to_string();
        let c = Check::new(
            "device-policy-attached",
            format!("The certificate has policy {policy}"),
        );
        out.push(match &l.observed {
            Some(_) => c.pass(format!("{policy} is attached to {cert_arn}")),
            None => c
                .fail(
                    format!(
                        "{policy} is not attached to the certificate: every MQTT action is denied"
                    ),
                    format!("aws iot attach-policy --policy-name {policy} --target {cert_arn}"),
                )
                .restore(&l.desired.id),
        });
        device_policy = Some(policy);
    }

    // The device policy lets the thing do its job.
    let (Some(thing), Some(policy)) = (thing, device_policy) else {
        return out;
    };
    let Some(pl) = facts.find("iot_policy", "name", &policy) else {
        return out;
    };
    let c = Check::new(
        "device-policy-access",
        format!("{policy} lets thing {thing} connect and use its topics"),
    );
    let Some(po) = &pl.observed else {
        out.push(c.missing(
            format!("IoT policy {policy} does not exist"),
            &pl.desired.id,
        ));
        return out;
    };
    let doc = po.props.get("document").cloned().unwrap_or(Value::Null);
    let prefix = &facts.prefix;
    let requests = requests(facts, &thing);
    let refused = refused(&requests, |r| document_refuses(&doc, r));
    let c = if refused.is_empty() {
        c.pass(format!("{policy} allows Connect as {thing}, its own topics {prefix}/devices/{thing}/* and {prefix}/alerts"))
    } else {
        c.fail_all(
            refused,
            format!("restore {policy} (`iotstack doctor --fix` or `iotstack apply`)"),
        )
        .restore(&pl.desired.id)
    };
    let asking = Asking::certificate(&cert_arn, &thing);
    let said = requests
        .iter()
        .filter_map(|r| {
            let offline = eval::evaluate(&doc, r);
            let why = format!("{policy}: {}", offline.explain(r));
            crosscheck::compare(facts, &asking, r, offline.is_allowed(), &why)
        })
        .collect();
    out.push(crosscheck::add(c, said));
    out
}

/// The device of the `device-policy-access` check, when that check is reached: its live
/// certificate's ARN and the name of its thing.
pub fn device(facts: &Facts) -> Option<(String, String)> {
    let cert = facts.of_type("iot_certificate")?.observed.as_ref()?;
    let cert_arn = cert.attr("arn");
    let attached_to_cert = |type_name: &'static str, prop: &'static str| {
        facts
            .all_of_type(type_name)
            .filter(move |l| l.desired.str(prop) == cert_arn || l.observed.is_none())
            .last()
            .map(|l| l.desired.clone())
    };
    let thing = attached_to_cert("iot_thing_principal", "principal")?;
    let policy = attached_to_cert("iot_policy_attachment", "target")?;
    facts
        .find("iot_policy", "name", policy.str("policy"))?
        .observed
        .as_ref()?;
    Some((cert_arn.to_string(), thing.str("thing").to_string()))
}

/// What the device asks AWS IoT for: Connect as its thing, Publish, Subscribe and Receive on its
/// own telemetry topic, and Publish on the alerts topic.
pub fn requests(facts: &Facts, thing: &str) -> Vec<Request> {
    let (region, account) = (facts.region.as_str(), facts.account.as_str());
    let ctx = Context::new()
        .with(KEY_THING_NAME, thing)
        .with(KEY_IOT_CLIENT_ID, thing);
    let prefix = &facts.prefix;
    let own = format!("{prefix}/devices/{thing}/telemetry");
    [
        Request::connect(region, account, thing),
        Request::publish(region, account, &own),
        Request::subscribe(region, account, &own),
        Request::receive(region, account, &own),
        Request::publish(region, account, &format!("{prefix}/alerts")),
    ]
    .map(|r| r.with_context(&ctx))
    .into()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::doctor::fixture::*;
    use crate::doctor::Status;

    #[test]
    fn a_missing_certificate_is_restored_and_ends_the_device_checks() {
        let mut f = healthy();
        remove(&mut f, "device-cert");
        restored(&f, "device-certificate", "does not exist", "device-cert");
        assert!(all_checks(&f)
            .iter()
            .all(|c| !c.id.starts_with("device-") || c.id == "device-certificate"));
    }

    #[test]
    fn an_inactive_certificate_is_named_but_not_reactivated() {
        let mut f = healthy();
        set_live(&mut f, "device-cert", "active", json!(false));
        let c = failing(&f, "device-certificate", "INACTIVE");
        assert!(c.fix.unwrap().contains(&format!(
            "aws iot update-certificate --certificate-id {CERT_ID} --new-status ACTIVE"
        )));
        assert!(c.repairs.is_empty(), "often deactivated on purpose");
    }

    #[test]
    fn a_certificate_detached_from_its_thing_is_reattached() {
        let mut f = healthy();
        remove(&mut f, "device-cert-thing");
        let c = failing(&f, "device-thing", "has no principal");
        assert!(c.fix.as_ref().unwrap().contains("attach-thing-principal"));
        restores(&c, "device-cert-thing");
    }

    #[test]
    fn a_certificate_without_its_policy_gets_it_again() {
        let mut f = healthy();
        remove(&mut f, "device-cert-policy");
        let c = failing(&f, "device-policy-attached", "every MQTT action is denied");
        restores(&c, "device-cert-policy");
    }

    #[test]
    fn a_device_policy_that_refuses_the_thing_is_restored() {
        let mut f = healthy();
        let connect_only = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Connect",
            "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"}]});
        set_live(&mut f, "device-policy", "document", connect_only);
        let c = failing(&f, "device-policy-access", "iot:Publish: ");
        assert_eq!(
            c.evidence.len(),
            4,
            "publish, subscribe, receive, alerts: {c:#?}"
        );
        restores(&c, "device-policy");

        remove(&mut f, "device-policy");
        restored(
            &f,
            "device-policy-access",
            "does not exist",
            "device-policy",
        );
    }

    #[test]
    fn the_device_policy_is_evaluated_for_the_thing() {
        let c = check(&healthy(), "device-policy-access");
        assert_eq!(c.status, Status::Pass);
        assert!(
            c.evidence[0].contains("acme/devices/acme-thing/*"),
            "{c:#?}"
        );
    }
}
