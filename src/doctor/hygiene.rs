//! Policies changed in the last minutes (AWS IoT takes up to 8 to apply a change) and overly
//! broad grants in the live policies.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::{Check, Facts};
use crate::aws::{Missing, OpExt};
use crate::error::AwsError;
use crate::policy::lint::{self, Severity};

const PROPAGATION: Duration = Duration::from_secs(8 * 60);

fn trusted_by_cognito(role: &crate::resources::Observed) -> bool {
    role.props
        .get("assume_role_policy")
        .is_some_and(|t| t.to_string().contains("cognito-identity.amazonaws.com"))
}

pub async fn checks(facts: &Facts<'_>) -> Result<Vec<Check>, AwsError> {
    let mut out = Vec::new();
    let iot = &facts.ctx.clients.iot;

    // Recent policy changes.
    let mut recent = Vec::new();
    let now = SystemTime::now();
    for p in facts.all_of_type("iot_policy") {
        let Some(o) = &p.observed else { continue };
        let Some(v) = Missing::IOT.found(
            iot.list_policy_versions()
                .policy_name(o.attr("name"))
                .send()
                .await
                .op("ListPolicyVersions"),
        )?
        else {
            continue;
        };
        let Some(date) = v
            .policy_versions()
            .iter()
            .find(|v| v.is_default_version())
            .and_then(|v| v.create_date())
        else {
            continue;
        };
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(date.secs().max(0) as u64);
        if let Ok(age) = now.duration_since(when) {
            if age < PROPAGATION {
                recent.push(format!("{} changed {}s ago", o.attr("name"), age.as_secs()));
            }
        }
    }
    let c = Check::new(
        "recent-changes",
        "No IoT policy changed in the last 8 minutes",
    );
    out.push(if recent.is_empty() {
        c.pass("no IoT policy of the stack changed in the last 8 minutes")
    } else {
        c.warn(
            format!(
                "{}: AWS IoT can take up to 8 minutes to apply a policy change everywhere",
                recent.join(", ")
            ),
            "wait a few minutes, then connect again before changing anything else",
        )
    });

    // Overly broad grants in what is live.
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut restore = Vec::new();
    for p in facts.all_of_type("iot_policy") {
        let Some(o) = &p.observed else { continue };
        let doc = o.props.get("document").cloned().unwrap_or(Value::Null);
        for f in lint::lint_iot_policy(&doc) {
            let line = format!("IoT policy {}: {f}", o.attr("name"));
            if f.severity == Severity::Error {
                errors.push(line);
                restore.push(p.desired.id.clone());
            } else {
                warnings.push(line);
            }
        }
    }
    for r in facts.all_of_type("iam_role") {
        let Some(o) = r.observed.as_ref().filter(|o| trusted_by_cognito(o)) else {
            continue;
        };
        let Some(m) = o.props.get("inline_policies").and_then(Value::as_object) else {
            continue;
        };
        for (name, doc) in m {
            for f in lint::lint_identity_policy(doc) {
                let f = if facts.stack.settings.allow_identity_self_attach {
                    lint::self_attach_opted_in(f)
                } else {
                    f
                };
                let line = format!("role {} policy {name}: {f}", o.attr("name"));
                if f.severity == Severity::Error {
                    errors.push(line);
                    restore.push(r.desired.id.clone());
                } else {
                    warnings.push(line);
                }
            }
        }
    }
    let c = Check::new(
        "broad-grants",
        "No overly broad or ineffective grants in the live policies",
    );
    out.push(if let Some(first) = errors.first() {
        let mut c = c.fail(first.clone(), "narrow the grant (`iotstack doctor --fix` restores the stack's policies, which lint clean)");
        for e in errors[1..].iter().chain(&warnings) {
            c = c.note(e.clone());
        }
        restore.dedup();
        for id in restore {
            c = c.restore(&id);
        }
        c
    } else if let Some(first) = warnings.first() {
        let mut c = c.warn(first.clone(), "review the grant");
        for w in &warnings[1..] {
            c = c.note(w.clone());
        }
        c
    } else {
        c.pass("the live IoT policies and identity role policies lint clean")
    });
    Ok(out)
}
