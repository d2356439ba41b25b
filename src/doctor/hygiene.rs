//! Policies changed in the last minutes (AWS IoT takes up to 8 to apply a change) and overly
//! broad grants in the live policies.

use std::time::Duration;

use serde_json::Value;

use super::{Check, Facts};
use iotstack_policy::lint::{self, Finding, Severity};

const PROPAGATION: Duration = Duration::from_secs(8 * 60);

fn trusted_by_cognito(role: &crate::resources::Observed) -> bool {
    role.props
        .get("assume_role_policy")
        .is_some_and(|t| t.to_string().contains("cognito-identity.amazonaws.com"))
}

pub fn checks(facts: &Facts) -> Vec<Check> {
    vec![
        recent_changes(facts),
        broad_grants(facts),
        duplicate_pools(facts),
    ]
}

/// No IoT policy of the stack changed within the propagation delay.
fn recent_changes(facts: &Facts) -> Check {
    let mut recent = Vec::new();
    for p in facts.all_of_type("iot_policy") {
        let Some(o) = &p.observed else { continue };
        let Some(when) = facts.policy_changed.get(o.attr("name")) else {
            continue;
        };
        if let Ok(age) = facts.now.duration_since(*when) {
            if age < PROPAGATION {
                recent.push(format!("{} changed {}s ago", o.attr("name"), age.as_secs()));
            }
        }
    }
    let c = Check::new(
        "recent-changes",
        "No IoT policy changed in the last 8 minutes",
    );
    if recent.is_empty() {
        c.pass("no IoT policy of the stack changed in the last 8 minutes")
    } else {
        c.warn(
            format!(
                "{}: AWS IoT can take up to 8 minutes to apply a policy change everywhere",
                recent.join(", ")
            ),
            "wait a few minutes, then connect again before changing anything else",
        )
    }
}

/// No second user pool or identity pool under the stack's names carries its mark (a create
/// retried after its answer was lost, two runs at once before the lock): users would sign in to
/// one pool and the app read another.
fn duplicate_pools(facts: &Facts) -> Check {
    let c = Check::new(
        "duplicate-pools",
        "Only one user pool and one identity pool carry the stack's mark",
    );
    let mut found = Vec::new();
    let mut ids = Vec::new();
    for t in ["cognito_user_pool", "cognito_identity_pool"] {
        for r in facts.all_of_type(t) {
            let Some(o) = &r.observed else { continue };
            if o.props.get("unique") == Some(&Value::Bool(false)) {
                found.extend(o.notes.iter().cloned());
                ids.push(r.desired.id.as_str());
            }
        }
    }
    if ids.is_empty() {
        return c.pass("no other pool under the stack's names carries its mark");
    }
    let fix = "`iotstack apply` (or `doctor --fix`) deletes the duplicates that hold no users or identities; move what the others hold, then delete them";
    ids.into_iter()
        .fold(c.fail_all(found, fix), |c, id| c.restore(id))
}

/// No overly broad or ineffective grant in the live IoT policies and identity role policies.
fn broad_grants(facts: &Facts) -> Check {
    // What lint finds, with where (the resource, the policy).
    let mut found: Vec<(&str, String, Finding)> = Vec::new();
    for p in facts.all_of_type("iot_policy") {
        let Some(o) = &p.observed else { continue };
        let doc = o.props.get("document").cloned().unwrap_or(Value::Null);
        let at = format!("IoT policy {}", o.attr("name"));
        found.extend(
            lint::lint_iot_policy(&doc)
                .into_iter()
                .map(|f| (p.desired.id.as_str(), at.clone(), f)),
        );
    }
    for r in facts.all_of_type("iam_role") {
        let Some(o) = r.observed.as_ref().filter(|o| trusted_by_cognito(o)) else {
            continue;
        };
        let inline = o.props.get("inline_policies").and_then(Value::as_object);
        for (name, doc) in inline.into_iter().flatten() {
            let at = format!("role {} policy {name}", o.attr("name"));
            found.extend(lint::lint_identity_policy(doc).into_iter().map(|f| {
                let f = if facts.allow_identity_self_attach {
                    lint::self_attach_opted_in(f)
                } else {
                    f
                };
                (r.desired.id.as_str(), at.clone(), f)
            }));
        }
    }
    let (errors, warnings): (Vec<_>, Vec<_>) = found
        .into_iter()
        .partition(|(_, _, f)| f.severity == Severity::Error);
    let line = |(_, at, f): &(&str, String, Finding)| format!("{at}: {f}");
    let c = Check::new(
        "broad-grants",
        "No overly broad or ineffective grants in the live policies",
    );
    if !errors.is_empty() {
        let lines = errors.iter().chain(&warnings).map(line);
        let c = c.fail_all(lines, "narrow the grant (`iotstack doctor --fix` restores the stack's policies, which lint clean)");
        errors.iter().fold(c, |c, (id, _, _)| c.restore(id))
    } else if !warnings.is_empty() {
        c.warn_all(warnings.iter().map(line), "review the grant")
    } else {
        c.pass("the live IoT policies and identity role policies lint clean")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use crate::doctor::fixture::*;
    use crate::doctor::Status;

    #[test]
    fn a_policy_changed_minutes_ago_is_a_warning() {
        let mut f = healthy();
        let two_minutes_ago = f.now - Duration::from_secs(120);
        f.policy_changed
            .insert(IDENTITY_POLICY.into(), two_minutes_ago);
        let c = check(&f, "recent-changes");
        assert_eq!(c.status, Status::Warn);
        assert!(c.evidence[0].starts_with(&format!("{IDENTITY_POLICY} changed 120s ago")));
        assert!(c.repairs.is_empty());
    }

    #[test]
    fn a_second_pool_with_the_stacks_mark_fails_and_is_repaired_through_the_pool() {
        let mut f = healthy();
        let note = "1 other user pool(s) named `acme-user-pool` carry this stack's mark: us-east-1_Dup (0 users); the stack keeps us-east-1_AbCdEf";
        set_live(&mut f, "user-pool", "unique", json!(false));
        live_mut(&mut f, "user-pool").notes.push(note.into());
        let c = failing(&f, "duplicate-pools", "us-east-1_Dup (0 users)");
        restores(&c, "user-pool");
        // One pool of each kind, or a live answer that does not say: nothing to report.
        set_live(&mut f, "user-pool", "unique", json!(true));
        assert_eq!(check(&f, "duplicate-pools").status, Status::Pass);
    }

    #[test]
    fn a_broad_grant_is_narrowed_by_restoring_the_stack_policy() {
        let mut f = healthy();
        let broad = json!({"Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]});
        set_live(&mut f, "device-policy", "document", broad);
        let c = failing(&f, "broad-grants", "IoT policy acme-device-policy: ");
        restores(&c, "device-policy");
    }

    #[test]
    fn self_attach_is_an_error_unless_the_stack_opts_in() {
        let mut f = healthy();
        let attach = json!({"Statement": [{"Effect": "Allow", "Action": "iot:AttachPolicy", "Resource": "*"}]});
        set_live(
            &mut f,
            "auth-role",
            "inline_policies",
            json!({"attach": attach}),
        );
        let c = failing(
            &f,
            "broad-grants",
            "role acme-IdentityPoolAuthRole policy attach: ",
        );
        restores(&c, "auth-role");
        f.allow_identity_self_attach = true;
        let c = check(&f, "broad-grants");
        assert_eq!(c.status, Status::Warn, "{c:#?}");
        assert!(c.repairs.is_empty());
    }
}
