//! Alerts: the topic rule is enabled, its role may publish to the topic, and the email
//! subscription is confirmed.

use serde_json::Value;

use super::{identity::role_policies, Check, Facts};
use crate::aws::{Missing, OpExt};
use crate::error::AwsError;
use crate::policy::eval::{self, Request};
use crate::resources::sns_subscription::PENDING;

pub async fn checks(facts: &Facts<'_>) -> Result<Vec<Check>, AwsError> {
    let mut out = Vec::new();
    let Some(rule) = facts.of_type("iot_topic_rule") else {
        return Ok(out);
    };
    let name = rule.desired.str("name").to_string();
    let c = Check::new("topic-rule", format!("Topic rule {name} is enabled"));
    match &rule.observed {
        None => out.push(
            c.fail(
                format!("topic rule {name} does not exist"),
                "run `iotstack apply`",
            )
            .restore(&rule.desired.id),
        ),
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
    if let Some(role) = facts.find("iam_role", "arn", &role_arn) {
        let c = Check::new(
            "rule-role",
            format!("The rule's role may publish to {topic}"),
        );
        match &role.observed {
            None => out.push(
                c.fail(
                    format!("role {role_arn} does not exist"),
                    "run `iotstack apply`",
                )
                .restore(&role.desired.id),
            ),
            Some(o) => {
                let docs = role_policies(facts, role).await?;
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
        let pending = if arn == PENDING || arn.is_empty() {
            true
        } else {
            let a = Missing::SNS.found(
                facts
                    .ctx
                    .clients
                    .sns
                    .get_subscription_attributes()
                    .subscription_arn(arn)
                    .send()
                    .await
                    .op("GetSubscriptionAttributes"),
            )?;
            a.and_then(|a| {
                a.attributes()
                    .and_then(|m| m.get("PendingConfirmation").cloned())
            })
            .is_some_and(|v| v == "true")
        };
        out.push(if pending {
            c.warn(
                format!("the subscription of {} is pending confirmation: no alert email is delivered until then", o.attr("email")),
                format!("open the email AWS sent to {} and follow its confirmation link", o.attr("email")),
            )
        } else {
            c.pass(format!("{} is confirmed ({arn})", if email.is_empty() { o.attr("email") } else { &email }))
        });
    }
    Ok(out)
}
