//! Alerts: the topic rule is enabled, its role may publish to the topic, and the email
//! subscription is confirmed.

use serde_json::Value;

use super::{Check, Facts};
use crate::resources::sns_subscription::PENDING;
use iotstack_policy::{self as eval, Request};

pub fn checks(facts: &Facts) -> Vec<Check> {
    let mut out = Vec::new();
    let Some(rule) = facts.of_type("iot_topic_rule") else {
        return out;
    };
    let name = rule.desired.str("name").to_string();
    let c = Check::new("topic-rule", format!("Topic rule {name} is enabled"));
    match &rule.observed {
        None => out.push(c.missing(
            format!("topic rule {name} does not exist"),
            &rule.desired.id,
        )),
        Some(o) if o.props.get("enabled") == Some(&Value::Bool(false)) => out.push(
            c.fail(
                format!("topic rule {name} is disabled: messages on its topic go nowhere"),
                format!("aws iot enable-topic-rule --rule-name {name}"),
            )
            .restore(&rule.desired.id),
        ),
        Some(o) => out.push(c.pass(format!(
            "{name}: {}",
            o.props.get("sql").and_then(Value::as_str).unwrap_or_default()
        ))),
    }

    // The rule's role may publish to the topic.
    let topic = rule.desired.str("sns_target_arn").to_string();
    let role_arn = rule.desired.str("role_arn").to_string();
    if let Some(role) = facts.rule_role() {
        let c = Check::new(
            "rule-role",
            format!("The rule's role may publish to {topic}"),
        );
        match &role.observed {
            None => {
                out.push(c.missing(format!("role {role_arn} does not exist"), &role.desired.id))
            }
            Some(o) => {
                let docs = facts.role_policies(role);
                let req = Request::new("sns:Publish", topic.as_str());
                let evals: Vec<(String, eval::Evaluation)> = docs
                    .iter()
                    .map(|(n, d)| (n.clone(), eval::evaluate(d, &req)))
                    .collect();
                let denied = evals
                    .iter()
                    .find(|(_, e)| e.decision == eval::Decision::ExplicitDeny);
                let allowed = evals.iter().find(|(_, e)| e.is_allowed());
                let verdict = match (denied, allowed) {
                    (Some((n, e)), _) => Err(format!("policy {n}: {}", e.explain(&req))),
                    (None, Some((n, e))) => Ok(format!("policy {n}: {}", e.explain(&req))),
                    (None, None) => Err(format!(
                        "no policy of {} allows sns:Publish on {topic}",
                        o.attr("name")
                    )),
                };
                let trust = o
                    .props
                    .get("assume_role_policy")
                    .map(Value::to_string)
                    .unwrap_or_default();
                out.push(if let Err(why) = &verdict {
                    c.fail(why.clone(), format!("grant sns:Publish on {topic} to {} (`iotstack doctor --fix` restores the stack's grant)", o.attr("name")))
                        .restore(&role.desired.id)
                } else if !trust.contains("iot.amazonaws.com") {
                    c.fail(format!("{} does not trust iot.amazonaws.com: the rule cannot assume it", o.attr("name")), "restore the role's trust policy (`iotstack doctor --fix`)")
                        .restore(&role.desired.id)
                } else {
                    c.pass(verdict.unwrap_or_default())
                });
            }
        }
    }

    // The email subscription.
    for sub in facts.all_of_type("sns_email_subscription") {
        let email = sub.desired.str("email").to_string();
        let c = Check::new(
            "email-subscription",
            "The alert email subscription is confirmed",
        );
        let Some(o) = &sub.observed else {
            out.push(
                c.fail(
                    format!("no email subscription on {topic}"),
                    "run `iotstack apply` (AWS then emails a confirmation link)",
                )
                .restore(&sub.desired.id),
            );
            continue;
        };
        let arn = o.attr("arn");
        let pending =
            arn == PENDING || arn.is_empty() || facts.subscription_pending.get(arn) == Some(&true);
        out.push(if pending {
            c.warn(
                format!("the subscription of {} is pending confirmation: no alert email is delivered until then", o.attr("email")),
                format!("open the email AWS sent to {} and follow its confirmation link", o.attr("email")),
            )
        } else {
            c.pass(format!("{} is confirmed ({arn})", if email.is_empty() { o.attr("email") } else { &email }))
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::doctor::fixture::*;
    use crate::doctor::Status;
    use crate::resources::sns_subscription::PENDING;

    #[test]
    fn a_disabled_or_missing_rule_is_restored() {
        let mut f = healthy();
        set_live(&mut f, "alert-rule", "enabled", json!(false));
        let c = failing(&f, "topic-rule", "disabled");
        assert!(c.fix.as_ref().unwrap().contains("enable-topic-rule"));
        restores(&c, "alert-rule");
        remove(&mut f, "alert-rule");
        restored(&f, "topic-rule", "does not exist", "alert-rule");
    }

    #[test]
    fn a_rule_role_that_cannot_publish_is_restored() {
        let mut f = healthy();
        let elsewhere = json!({"sns-publish": {"Statement": [{"Effect": "Allow", "Action": "sns:Publish",
            "Resource": "arn:aws:sns:us-east-1:123456789012:other"}]}});
        set_live(&mut f, "rule-role", "inline_policies", elsewhere);
        let c = failing(
            &f,
            "rule-role",
            "no policy of acme-iot-rule-sns-role allows sns:Publish",
        );
        restores(&c, "rule-role");
    }

    #[test]
    fn an_explicit_deny_in_the_rule_role_wins() {
        let mut f = healthy();
        let deny = json!({"Statement": [{"Effect": "Deny", "Action": "sns:*", "Resource": "*"}]});
        let role = live_mut(&mut f, "rule-role");
        let mut inline = role.props["inline_policies"].clone();
        inline["deny"] = deny;
        role.props.insert("inline_policies".into(), inline);
        restored(&f, "rule-role", "policy deny (inline)", "rule-role");
    }

    #[test]
    fn a_rule_role_the_rule_cannot_assume_is_restored() {
        let mut f = healthy();
        let lambda = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        set_live(&mut f, "rule-role", "assume_role_policy", lambda);
        restored(
            &f,
            "rule-role",
            "does not trust iot.amazonaws.com",
            "rule-role",
        );
    }

    #[test]
    fn a_missing_rule_role_is_restored() {
        let mut f = healthy();
        remove(&mut f, "rule-role");
        assert!(
            all_checks(&f).iter().all(|c| c.id != "rule-role"),
            "not found by its ARN"
        );
        let role = f.resources.iter_mut().find(|r| r.desired.id == "rule-role");
        let desired = &mut role.unwrap().desired;
        desired.props.insert("arn".into(), json!(RULE_ROLE_ARN));
        restored(&f, "rule-role", "does not exist", "rule-role");
    }

    #[test]
    fn a_pending_subscription_is_a_warning() {
        let mut f = healthy();
        f.subscription_pending.insert(SUBSCRIPTION_ARN.into(), true);
        let c = check(&f, "email-subscription");
        assert_eq!(c.status, Status::Warn);
        assert!(c.evidence[0].contains("pending confirmation"));
        assert!(c.fix.unwrap().contains("ops@example.com"));
        assert!(c.repairs.is_empty(), "only the recipient can confirm");

        let mut f = healthy();
        live_mut(&mut f, "alert-subscription")
            .attrs
            .insert("arn".into(), PENDING.into());
        assert_eq!(check(&f, "email-subscription").status, Status::Warn);
    }

    #[test]
    fn a_missing_subscription_is_restored() {
        let mut f = healthy();
        remove(&mut f, "alert-subscription");
        restored(
            &f,
            "email-subscription",
            "no email subscription",
            "alert-subscription",
        );
    }
}
