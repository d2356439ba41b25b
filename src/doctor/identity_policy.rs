//! The IoT policy for identities: it exists and allows what the client asks for, it is attached
//! to identities and to nothing by mistake (a pool id, a username, a user's sub), and to the
//! identity being diagnosed.

use serde_json::Value;

use super::access::{both_layers, document_refuses, refused, Requests};
use super::facts::{looks_like_identity_id, Attached, User};
use super::{Check, Facts, Repair};
use iotstack_policy::lint::{self, RULE_RESOURCE_TYPE, RULE_SUBSCRIBE_WITHOUT_RECEIVE};

/// The policy's checks, then both layers action by action when the role's documents are known.
pub fn checks(f: &Facts, requests: &Requests, role_docs: Option<&[(String, Value)]>) -> Vec<Check> {
    let name = f.identity_policy_name();
    let Some(policy) = f.identity_policy() else {
        return Vec::new();
    };
    let Some(po) = &policy.observed else {
        return vec![allows_title(name).missing(
            format!("IoT policy {name} does not exist"),
            &policy.desired.id,
        )];
    };
    let doc = po.props.get("document").cloned().unwrap_or(Value::Null);
    let (attached, iot_docs) = attached(f, name, &doc);
    let mut out = vec![
        allows(name, &policy.desired.id, &doc, requests),
        targets(f, name),
        attached,
    ];
    if let Some(role_docs) = role_docs {
        out.extend(both_layers(f, requests, role_docs, &iot_docs, name));
    }
    out
}

fn allows_title(name: &str) -> Check {
    Check::new(
        "iot-policy",
        format!("The IoT policy {name} allows the identity"),
    )
}

/// The live document allows every request of the client.
fn allows(name: &str, id: &str, doc: &Value, requests: &Requests) -> Check {
    let all = requests.all();
    let refusals = refused(all.iter().map(|(_, r)| r), |r| document_refuses(doc, r));
    if refusals.is_empty() {
        return allows_title(name).pass(format!(
            "{name} allows iot:Connect, iot:Publish, iot:Subscribe and iot:Receive for the identity"
        ));
    }
    let lint = lint::lint_iot_policy(doc)
        .into_iter()
        .filter(|f| f.rule == RULE_RESOURCE_TYPE || f.rule == RULE_SUBSCRIBE_WITHOUT_RECEIVE)
        .map(|f| f.to_string());
    allows_title(name)
        .fail_all(
            refusals.into_iter().chain(lint),
            format!("fix {name}: Publish/Receive on topic/..., Subscribe on topicfilter/..., Connect on client/${{cognito-identity.amazonaws.com:sub}} (`iotstack doctor --fix` restores the stack's document)"),
        )
        .restore(id)
}

/// Why a target of the policy is not an identity, if it is not.
fn mistaken(f: &Facts, target: &str) -> Option<&'static str> {
    let user_sub = match &f.user {
        Some(User::Found { sub, .. }) => Some(sub.as_str()),
        _ => None,
    };
    if Some(target) == f.identity_pool_id() {
        Some("is the identity pool id, not an identity id")
    } else if Some(target) == f.live_attr("cognito_user_pool", "id") {
        Some("is the user pool id")
    } else if Some(target) == f.subject.username.as_deref() {
        Some("is the username, not an identity id")
    } else if Some(target) == user_sub {
        Some("is the user's user-pool `sub`, not an identity id")
    } else if !target.starts_with("arn:") && !looks_like_identity_id(target) {
        Some("is not an identity id (region:uuid)")
    } else {
        None
    }
}

/// The policy is attached to nothing by mistake.
fn targets(f: &Facts, name: &str) -> Check {
    let targets = f
        .policy_targets
        .get(name)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mistakes: Vec<(&str, &str)> = targets
        .iter()
        .filter_map(|t| Some((t.as_str(), mistaken(f, t)?)))
        .collect();
    let c = Check::new(
        "iot-policy-targets",
        format!("{name} is attached to identities, not to ids of something else"),
    );
    let Some((first, why)) = mistakes.first() else {
        return c.pass(format!("{} target(s), none mistaken", targets.len()));
    };
    let mut c = c.fail(
        format!("{name} is attached to `{first}`, which {why}: it grants nothing"),
        format!("aws iot detach-policy --policy-name {name} --target {first}, and attach the policy to the identity id (`iotstack doctor --fix --identity-id ID`)"),
    );
    for (t, w) in &mistakes {
        if t != first {
            c = c.note(format!("`{t}` {w}"));
        }
        c = c.repair(Repair::Detach {
            policy: name.to_string(),
            target: t.to_string(),
        });
    }
    c
}

/// The policy is attached to the `--identity-id` identity. Also returns the IoT policies the
/// identity has (without an identity to look up: the policy alone, as if attached).
fn attached(f: &Facts, name: &str, doc: &Value) -> (Check, Vec<(String, Value)>) {
    let c = Check::new(
        "identity-attached",
        format!("{name} is attached to the identity"),
    );
    let Some(id) = f.identity_to_look_up() else {
        let c = c.skip("pass --identity-id (the IdentityId from GetId) to check the attachment");
        return (c, vec![(name.to_string(), doc.clone())]);
    };
    let Attached { names, documents } = f.attached.clone().unwrap_or_default();
    let c = if names.iter().any(|n| n == name) {
        c.pass(format!("{id} has {}", names.join(", ")))
    } else {
        let has = if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        };
        c.fail(
            format!("no IoT policy named {name} is attached to identity {id} (attached: {has})"),
            format!("aws iot attach-policy --policy-name {name} --target {id} (or have the client call the attach function's URL)"),
        )
        .repair(Repair::Attach {
            policy: name.to_string(),
            target: id.to_string(),
        })
    };
    (c, documents)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::doctor::fixture::*;
    use crate::doctor::Status;

    /// The identity IoT policy with these statements (the `topic/...` and `topicfilter/...`
    /// resources of the identity's own topics).
    fn policy(statements: serde_json::Value) -> Facts {
        let mut f = healthy();
        let doc = json!({"Version": "2012-10-17", "Statement": statements});
        set_live(&mut f, "identity-iot-policy", "document", doc.clone());
        f.attached = Some(Attached {
            names: vec![IDENTITY_POLICY.into()],
            documents: vec![(IDENTITY_POLICY.into(), doc)],
        });
        f
    }
    fn arn(kind: &str) -> String {
        format!("arn:aws:iot:us-east-1:123456789012:{kind}/{POOL_ID}/${{cognito-identity.amazonaws.com:sub}}/*")
    }
    const CONNECT: &str =
        "arn:aws:iot:us-east-1:123456789012:client/${cognito-identity.amazonaws.com:sub}";

    #[test]
    fn a_missing_iot_policy_is_restored_and_nothing_after_it_is_judged() {
        let mut f = healthy();
        remove(&mut f, "identity-iot-policy");
        let c = failing(&f, "iot-policy", "does not exist");
        restores(&c, "identity-iot-policy");
        let ids: Vec<&str> = all_checks(&f).iter().map(|c| c.id).collect();
        assert!(!ids.contains(&"identity-attached") && !ids.contains(&"access-connect"));
    }

    #[test]
    fn a_policy_lacking_receive_is_restored() {
        let f = policy(json!([
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": CONNECT},
            {"Effect": "Allow", "Action": "iot:Publish", "Resource": arn("topic")},
            {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": arn("topicfilter")}]));
        let c = failing(&f, "iot-policy", "iot:Receive");
        restores(&c, "identity-iot-policy");
        assert!(
            c.evidence
                .iter()
                .any(|e| e.contains("subscribe-without-receive")),
            "{c:#?}"
        );
        failing(&f, "access-receive", "AWS IoT policies");
        assert_eq!(check(&f, "access-subscribe").status, Status::Pass);
    }

    #[test]
    fn subscribe_on_topic_instead_of_topicfilter_is_named() {
        let f = policy(json!([
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": CONNECT},
            {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive", "iot:Subscribe"], "Resource": arn("topic")}]));
        let c = failing(&f, "iot-policy", "iot:Subscribe");
        assert!(
            c.evidence
                .iter()
                .any(|e| e.contains("resource-type-mismatch")),
            "{c:#?}"
        );
        restores(&c, "identity-iot-policy");
        let c = failing(&f, "access-subscribe", "AWS IoT policies");
        assert!(c
            .fix
            .unwrap()
            .starts_with(&format!("attach {IDENTITY_POLICY}")));
        assert_eq!(check(&f, "access-publish").status, Status::Pass);
    }

    #[test]
    fn an_identity_without_the_policy_gets_it_attached() {
        let mut f = healthy();
        f.attached = Some(Attached::default());
        let c = failing(&f, "identity-attached", "no IoT policy named");
        assert!(c.evidence[0].contains("(attached: none)"));
        assert_eq!(
            c.repairs,
            vec![Repair::Attach {
                policy: IDENTITY_POLICY.into(),
                target: IDENTITY.into()
            }]
        );
        let connect = failing(&f, "access-connect", "AWS IoT policies");
        assert!(connect.fix.unwrap().contains(IDENTITY_POLICY));
    }

    #[test]
    fn without_an_identity_id_the_attachment_is_not_checked() {
        let mut f = healthy();
        f.subject.identity_id = None;
        f.attached = None;
        assert_eq!(check(&f, "identity-attached").status, Status::Skip);
        let c = check(&f, "access-connect");
        assert_eq!(c.status, Status::Pass, "evaluated as if attached: {c:#?}");
    }

    #[test]
    fn ids_of_something_else_attached_by_mistake_are_detached() {
        let mut f = healthy();
        let targets = [
            IDENTITY,
            POOL_ID,
            USERNAME,
            USER_SUB,
            USER_POOL_ID,
            "device",
        ];
        f.policy_targets.insert(
            IDENTITY_POLICY.into(),
            targets.iter().map(|t| t.to_string()).collect(),
        );
        let c = failing(
            &f,
            "iot-policy-targets",
            "is the identity pool id, not an identity id",
        );
        assert!(c
            .fix
            .as_ref()
            .unwrap()
            .contains(&format!("--target {POOL_ID}")));
        for why in [
            "`acme-app-user` is the username",
            "is the user's user-pool `sub`",
            "`us-east-1_AbCdEf` is the user pool id",
            "`device` is not an identity id",
        ] {
            assert!(c.evidence.iter().any(|e| e.contains(why)), "{why}: {c:#?}");
        }
        let detached: Vec<&str> = c
            .repairs
            .iter()
            .map(|r| match r {
                Repair::Detach { target, .. } => target.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            detached,
            &targets[1..],
            "the identity itself stays attached"
        );
    }

    #[test]
    fn certificates_and_identities_are_proper_targets() {
        let mut f = healthy();
        f.policy_targets.insert(
            IDENTITY_POLICY.into(),
            vec![IDENTITY.into(), CERT_ARN.into()],
        );
        let c = check(&f, "iot-policy-targets");
        assert_eq!(c.status, Status::Pass);
        assert_eq!(c.evidence, ["2 target(s), none mistaken"]);
    }

    #[test]
    fn a_topic_filter_is_only_subscribed_to() {
        let mut f = healthy();
        f.subject.topic = Some(format!("{POOL_ID}/{IDENTITY}/#"));
        let ids: Vec<&str> = all_checks(&f)
            .iter()
            .map(|c| c.id)
            .filter(|i| i.starts_with("access-"))
            .collect();
        assert_eq!(ids, ["access-connect", "access-subscribe"]);
    }

    #[test]
    fn another_client_id_or_topic_is_refused_by_both_layers() {
        let mut f = healthy();
        f.subject.client_id = Some("someone-else".into());
        f.subject.topic = Some("other/topic".into());
        let c = failing(&f, "access-connect", "someone-else");
        assert_eq!(
            c.title,
            "iot:Connect on client/someone-else passes both the role and the IoT policy"
        );
        failing(&f, "access-publish", "other/topic");
    }
}
