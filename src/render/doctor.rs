//! doctor's report as text or JSON.

use serde_json::{json, Value};

use super::Style;
use crate::doctor::{Report, Status};

pub fn json(r: &Report) -> Value {
    json!({
        "format_version": super::json::FORMAT_VERSION,
        "prefix": r.prefix,
        "subject": r.subject,
        "checks": r.checks,
        "repaired": r.repaired,
        "summary": r.summary(),
        "ok": !r.failed(),
    })
}

pub fn human(r: &Report, st: &Style, verbose: bool) -> String {
    let mut out = format!(
        "{} for stack prefix {}\n\n",
        st.bold("iotstack doctor"),
        st.bold(&r.prefix)
    );
    // Titles start in one column: each id (with its " (fixed)") is padded to the widest.
    const FIXED: &str = " (fixed)";
    let label = |c: &crate::doctor::Check| c.id.len() + if c.fixed { FIXED.len() } else { 0 };
    let width = r.checks.iter().map(label).max().unwrap_or(0);
    for c in &r.checks {
        let tag = match c.status {
            Status::Pass => st.green("PASS"),
            Status::Warn => st.yellow("WARN"),
            Status::Fail => st.red("FAIL"),
            Status::Skip => st.dim("SKIP"),
        };
        let fixed = if c.fixed {
            st.green(FIXED)
        } else {
            String::new()
        };
        let pad = " ".repeat(width - label(c));
        out.push_str(&format!(
            "  {tag} {}{fixed}{pad}  {}\n",
            st.bold(c.id),
            c.title
        ));
        let show = verbose || c.status != Status::Pass;
        for (i, e) in c.evidence.iter().enumerate() {
            if i == 0 || show {
                out.push_str(&format!("       {}\n", st.dim(e)));
            }
        }
        if let Some(f) = c
            .fix
            .as_ref()
            .filter(|_| matches!(c.status, Status::Fail | Status::Warn))
        {
            out.push_str(&format!("       fix: {f}\n"));
        }
    }
    if !r.repaired.is_empty() {
        out.push_str(&format!("\n{}\n", st.bold("Repaired:")));
        for x in &r.repaired {
            out.push_str(&format!("  - {x}\n"));
        }
    }
    let s = r.summary();
    out.push_str(&format!(
        "\ndoctor: {} check(s) ok, {} warning(s), {} failing, {} skipped.\n",
        s.pass, s.warn, s.fail, s.skip
    ));
    if r.failed()
        && r.checks
            .iter()
            .any(|c| c.status == Status::Fail && !c.repairs.is_empty())
    {
        out.push_str("Run `iotstack doctor --fix` to apply the safe repairs.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::{Check, Repair, Subject};

    const PLAIN: Style = Style { color: false };
    const IDENTITY: &str = "eu-west-1:11111111-2222-3333-4444-555555555555";
    const POLICY: &str = "demo-cognito-iot-policy";

    fn subject() -> Subject {
        Subject {
            identity_id: Some(IDENTITY.into()),
            client_id: Some(IDENTITY.into()),
            topic: Some(format!("demo/{IDENTITY}/test")),
            ..Default::default()
        }
    }

    fn identity_pool() -> Check {
        Check::new("identity-pool", "The identity pool exists")
            .pass("demo-edge-identity-pool (eu-west-1:00000000-0000-0000-0000-0000000000aa)")
            .note("authenticated role arn:aws:iam::123456789012:role/demo-IdentityPoolAuthRole")
    }

    fn certificate() -> Check {
        Check::new("device-certificate", "The device certificate is active").fail(
            "certificate 0123456789abcdef is INACTIVE: AWS IoT refuses the TLS connection",
            "if it was not deactivated on purpose: aws iot update-certificate --certificate-id 0123456789abcdef --new-status ACTIVE (or `iotstack apply`)",
        )
    }

    fn subscription() -> Check {
        Check::new(
            "alert-subscription",
            "The alert email subscription is confirmed",
        )
        .warn(
            "the subscription of ops@example.com is pending confirmation: no alert email is delivered until then",
            "open the email AWS sent to ops@example.com and follow its confirmation link",
        )
    }

    fn secret() -> Check {
        Check::new(
            "secret-address",
            "The app secret is readable only from --ip",
        )
        .skip("pass --ip (or set IOTSTACK_IP) to check the secret's address restriction")
    }

    /// `doctor` without `--fix`: a failing check that `--fix` can repair.
    fn diagnosed() -> Report {
        let attached = Check::new("identity-attached", format!("{POLICY} is attached to the identity"))
            .fail(
                format!("no IoT policy named {POLICY} is attached to identity {IDENTITY} (attached: none)"),
                format!("aws iot attach-policy --policy-name {POLICY} --target {IDENTITY} (or have the client call the attach function's URL)"),
            )
            .repair(Repair::Attach {
                policy: POLICY.into(),
                target: IDENTITY.into(),
            });
        let rule = Check::new("topic-rule", "Topic rule demo_alerts is enabled")
            .fail(
                "topic rule demo_alerts is disabled: messages on its topic go nowhere",
                "aws iot enable-topic-rule --rule-name demo_alerts",
            )
            .restore("alert-rule");
        report(attached, rule, Vec::new())
    }

    /// `doctor --fix`: the checks run again after the repairs.
    fn repaired() -> Report {
        let mut attached = Check::new(
            "identity-attached",
            format!("{POLICY} is attached to the identity"),
        )
        .pass(format!("{IDENTITY} has {POLICY}"));
        attached.fixed = true;
        let mut rule = Check::new("topic-rule", "Topic rule demo_alerts is enabled")
            .pass("demo_alerts: SELECT * FROM 'demo/alerts'");
        rule.fixed = true;
        let repaired = vec![
            Repair::Restore {
                resource: "alert-rule".into(),
            }
            .describe(),
            Repair::Attach {
                policy: POLICY.into(),
                target: IDENTITY.into(),
            }
            .describe(),
        ];
        report(attached, rule, repaired)
    }

    /// The report of the demo stack whose identity attachment and topic rule are as given.
    fn report(attached: Check, rule: Check, repaired: Vec<String>) -> Report {
        Report {
            prefix: "demo".into(),
            subject: subject(),
            checks: vec![
                identity_pool(),
                attached,
                certificate(),
                rule,
                subscription(),
                secret(),
            ],
            repaired,
        }
    }

    #[test]
    fn human_report() {
        insta::assert_snapshot!("human", human(&diagnosed(), &PLAIN, false));
    }

    #[test]
    fn human_report_verbose() {
        insta::assert_snapshot!("human_verbose", human(&diagnosed(), &PLAIN, true));
    }

    #[test]
    fn human_report_after_fix() {
        insta::assert_snapshot!("human_fixed", human(&repaired(), &PLAIN, false));
    }

    #[test]
    fn json_report() {
        insta::assert_json_snapshot!("json", json(&diagnosed()));
    }

    #[test]
    fn json_report_after_fix() {
        insta::assert_json_snapshot!("json_fixed", json(&repaired()));
    }
}
