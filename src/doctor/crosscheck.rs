//! AWS's own evaluation beside doctor's offline one. For each request the access checks judge,
//! [`super::gather`] asks the evaluator AWS offers for each layer, and the checks compare:
//!
//! - the **AWS IoT policy layer**: IoT `TestAuthorization`, for the Cognito identity (principal =
//!   its identity id, with `cognitoIdentityPoolId`) or the device certificate (principal = its
//!   ARN), with one `authInfo` per request (`actionType` CONNECT, PUBLISH, SUBSCRIBE or RECEIVE and
//!   the client, topic or topic filter ARN) and the MQTT client id. It evaluates the IoT policies
//!   attached to the principal and answers with IoT policies only: it says nothing about the
//!   identity pool role (AWS IoT API reference, "TestAuthorization", "AuthInfo", "AuthResult":
//!   <https://docs.aws.amazon.com/iot/latest/apireference/API_TestAuthorization.html>).
//! - the **identity pool role layer**: IAM `SimulatePrincipalPolicy` with the authenticated role's
//!   ARN as `PolicySourceArn`, the IoT actions as `ActionNames`, the resource ARN and, as
//!   `ContextEntries`, the values the policies' variables take for this identity
//!   (`cognito-identity.amazonaws.com:sub`, `:aud`, `:amr`, `iot:ClientId`): "whenever a context
//!   key is evaluated in one of the simulated IAM permissions policies, the corresponding value is
//!   supplied" (IAM API reference, "SimulatePrincipalPolicy":
//!   <https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html>).
//!
//! Agreement is evidence; a disagreement is a finding (a passing check becomes a warning, with
//! both verdicts and what each side said); an evaluator AWS cannot be asked about (access denied
//! to the caller, not implemented by the endpoint, throttled after retries) is named in the
//! evidence and fails nothing.

use super::access::Requests;
use super::facts::{Answer, Evaluator, Facts};
use super::{Check, Status};
use iotstack_policy::{IotAction, LayeredResult, Request};

/// The identity requests AWS is asked about, and whom they are asked for.
#[derive(Debug, Clone)]
pub struct IdentityAsks {
    pub requests: Requests,
    /// The identity, for TestAuthorization: only one looked up (a sample identity has no IoT
    /// policy attached, so AWS would judge a different question than the offline evaluator).
    pub identity: Option<String>,
    /// The authenticated role's ARN, for SimulatePrincipalPolicy.
    pub role_arn: String,
}

/// What AWS is asked about the identity: `None` when the access checks are not reached (no
/// identity pool, authenticated role or IoT policy for identities live).
pub fn identity_asks(f: &Facts) -> Option<IdentityAsks> {
    let pool_id = f.identity_pool_id()?;
    let role = f.auth_role()?.observed.as_ref()?;
    f.identity_policy()?.observed.as_ref()?;
    Some(IdentityAsks {
        requests: Requests::of_subject(f, pool_id),
        identity: f.identity_to_look_up().map(str::to_string),
        role_arn: role.attr("arn").to_string(),
    })
}

/// Who is asked about, with what: enough to find AWS's answer and to reproduce the question.
#[derive(Debug, Clone)]
pub struct Asking<'a> {
    pub evaluator: Evaluator,
    pub principal: &'a str,
    /// TestAuthorization's `cognitoIdentityPoolId`.
    pub pool_id: Option<&'a str>,
    /// TestAuthorization's `clientId`.
    pub client_id: Option<&'a str>,
}

impl<'a> Asking<'a> {
    pub fn identity(identity: &'a str, pool_id: &'a str, client_id: &'a str) -> Self {
        Asking {
            evaluator: Evaluator::TestAuthorization,
            principal: identity,
            pool_id: Some(pool_id),
            client_id: Some(client_id),
        }
    }
    pub fn certificate(cert_arn: &'a str, thing: &'a str) -> Self {
        Asking {
            evaluator: Evaluator::TestAuthorization,
            principal: cert_arn,
            pool_id: None,
            client_id: Some(thing),
        }
    }
    pub fn role(role_arn: &'a str) -> Self {
        Asking {
            evaluator: Evaluator::SimulatePrincipalPolicy,
            principal: role_arn,
            pool_id: None,
            client_id: None,
        }
    }

    /// The layer this evaluator speaks for.
    fn layer(&self) -> &'static str {
        match self.evaluator {
            Evaluator::TestAuthorization => "AWS IoT policies",
            Evaluator::SimulatePrincipalPolicy => "identity pool role policies",
        }
    }

    /// The AWS CLI command that asks AWS the same question.
    pub fn command(&self, req: &Request) -> String {
        match self.evaluator {
            Evaluator::TestAuthorization => {
                let mut cmd = format!("aws iot test-authorization --principal {}", self.principal);
                if let Some(p) = self.pool_id {
                    cmd.push_str(&format!(" --cognito-identity-pool-id {p}"));
                }
                if let Some(c) = self.client_id {
                    cmd.push_str(&format!(" --client-id {c}"));
                }
                let action = action_type(&req.action).unwrap_or("?");
                format!(
                    "{cmd} --auth-infos actionType={action},resources={}",
                    req.resource
                )
            }
            Evaluator::SimulatePrincipalPolicy => {
                let mut cmd = format!(
                    "aws iam simulate-principal-policy --policy-source-arn {} --action-names {} --resource-arns {}",
                    self.principal, req.action, req.resource
                );
                let entries: Vec<String> = req
                    .context
                    .iter()
                    .map(|(k, v)| {
                        let kind = if v.len() > 1 { "stringList" } else { "string" };
                        format!(
                            "ContextKeyName={k},ContextKeyValues={},ContextKeyType={kind}",
                            v.join(",")
                        )
                    })
                    .collect();
                if !entries.is_empty() {
                    cmd.push_str(" --context-entries ");
                    cmd.push_str(&entries.join(" "));
                }
                cmd
            }
        }
    }
}

/// TestAuthorization's `actionType` for an IoT action (AWS IoT API reference, "AuthInfo").
pub fn action_type(action: &str) -> Option<&'static str> {
    Some(match IotAction::parse(action)? {
        IotAction::Connect => "CONNECT",
        IotAction::Publish => "PUBLISH",
        IotAction::Subscribe => "SUBSCRIBE",
        IotAction::Receive => "RECEIVE",
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Agree,
    Disagree,
    /// AWS answered a refusal but lacked context values: its answer does not count.
    Inconclusive,
    Unavailable,
}

/// AWS's answer to one question, beside the offline verdict of the same layer.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub verdict: Verdict,
    pub evaluator: Evaluator,
    /// The decision as AWS spelt it (empty when AWS gave none).
    pub said: String,
    pub line: String,
    /// The AWS CLI command that asks the same question.
    pub command: String,
}

/// Compares AWS's answer to `req` (for `asking`) with the offline verdict of the same layer:
/// `allowed`, explained by `why`. `None` when AWS was not asked.
pub fn compare(
    f: &Facts,
    asking: &Asking,
    req: &Request,
    allowed: bool,
    why: &str,
) -> Option<Comparison> {
    let ev = asking.evaluator;
    let answer = f.aws_answer(ev, asking.principal, &req.action, &req.resource)?;
    let name = ev.as_str();
    let action = &req.action;
    let (verdict, said, line) = match answer {
        Answer::Unavailable { code, message } => {
            let why = match code {
                Some(c) => format!("{c}: {}", short(message)),
                None => short(message),
            };
            let hint = if code.as_deref().is_some_and(is_denied) {
                "; `--offline-only` skips asking"
            } else {
                ""
            };
            let line = format!(
                "AWS's {name} could not be asked ({why}): the offline verdict stands{hint}"
            );
            (Verdict::Unavailable, String::new(), line)
        }
        Answer::Decided {
            decision,
            said,
            by,
            missing,
        } => {
            let by = if by.is_empty() {
                String::new()
            } else {
                format!(" ({}: {})", asking.layer(), by.join(", "))
            };
            if !decision.is_allowed() && !missing.is_empty() {
                let line = format!(
                    "AWS's {name} could not decide {action}: it lacked the context values {} (it said {said})",
                    missing.join(", ")
                );
                (Verdict::Inconclusive, said.clone(), line)
            } else if decision.is_allowed() == allowed {
                let line = format!("AWS's {name} agrees on {action}: {said}{by}");
                (Verdict::Agree, said.clone(), line)
            } else {
                let offline = if allowed { "allow" } else { "deny" };
                let line = format!(
                    "AWS's {name} disagrees on {action} on {}: AWS says {said}{by}, doctor's offline evaluation of the {} says {offline} ({why})",
                    req.resource,
                    asking.layer()
                );
                (Verdict::Disagree, said.clone(), line)
            }
        }
    };
    Some(Comparison {
        verdict,
        evaluator: ev,
        said,
        line,
        command: asking.command(req),
    })
}

/// AWS's answers on both layers of one identity request, beside the offline result `r`.
pub fn identity(
    f: &Facts,
    asks: &IdentityAsks,
    req: &Request,
    r: &LayeredResult,
) -> Vec<Comparison> {
    let mut out = Vec::new();
    if let (Some(identity), Some(iot)) = (&asks.identity, &r.iot) {
        let rq = &asks.requests;
        let asking = Asking::identity(identity, &rq.pool_id, &rq.client_id);
        out.extend(compare(
            f,
            &asking,
            req,
            iot.is_allowed(),
            &iot.explain(req),
        ));
    }
    let asking = Asking::role(&asks.role_arn);
    out.extend(compare(
        f,
        &asking,
        req,
        r.role.is_allowed(),
        &r.role.explain(req),
    ));
    out
}

/// Adds AWS's verdicts to a check: agreements and unavailable evaluators as evidence, and
/// disagreements as a finding (a passing check becomes a warning).
pub fn add(mut c: Check, said: Vec<Comparison>) -> Check {
    let mut lines: Vec<String> = Vec::new();
    let mut note = |l: String| {
        if !lines.contains(&l) {
            lines.push(l);
        }
    };
    // Several requests AWS agrees on alike: one line.
    let agreed: Vec<&Comparison> = said
        .iter()
        .filter(|s| s.verdict == Verdict::Agree)
        .collect();
    let alike = agreed.len() > 1
        && agreed
            .iter()
            .all(|a| a.evaluator == agreed[0].evaluator && a.said == agreed[0].said);
    let mut summarized = false;
    for s in said.iter().filter(|s| s.verdict != Verdict::Disagree) {
        if alike && s.verdict == Verdict::Agree {
            if !summarized {
                let which = if agreed.len() == said.len() {
                    format!("all {} requests", agreed.len())
                } else {
                    format!("the {} other requests", agreed.len())
                };
                note(format!(
                    "AWS's {} agrees on {which}: {}",
                    s.evaluator.as_str(),
                    s.said
                ));
                summarized = true;
            }
        } else {
            note(s.line.clone());
        }
    }
    for l in lines {
        c = c.note(l);
    }
    let disagreements: Vec<&Comparison> = said
        .iter()
        .filter(|s| s.verdict == Verdict::Disagree)
        .collect();
    let Some(first) = disagreements.first() else {
        return c;
    };
    let lines = disagreements.iter().map(|d| d.line.clone());
    if c.status == Status::Pass {
        c.warn_all(
            lines,
            format!(
                "AWS's verdict is the one that applies: see which policy it names (`{}`); if the live policies are the stack's, doctor's offline evaluation misjudged this request: please report it",
                first.command
            ),
        )
    } else {
        lines.fold(c, Check::note)
    }
}

/// Codes AWS answers when the caller may not call the evaluator.
fn is_denied(code: &str) -> bool {
    matches!(
        code,
        "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedException"
            | "UnauthorizedOperation"
    )
}

/// The first line of an error message, cut to a readable length.
fn short(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    match line.char_indices().nth(160) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use iotstack_policy::Decision;

    use super::*;
    use crate::doctor::device;
    use crate::doctor::facts::{Answer, Question};
    use crate::doctor::fixture::*;
    use crate::doctor::Status;

    const THING: &str = "acme-thing";

    fn decided(decision: Decision, said: &str, by: &[&str]) -> Answer {
        Answer::Decided {
            decision,
            said: said.into(),
            by: by.iter().map(|s| s.to_string()).collect(),
            missing: Vec::new(),
        }
    }
    fn allowed_iot() -> Answer {
        decided(Decision::Allow, "ALLOWED", &[IDENTITY_POLICY])
    }
    fn allowed_role() -> Answer {
        decided(Decision::Allow, "allowed", &["iot-and-secret"])
    }
    fn allowed_device() -> Answer {
        decided(Decision::Allow, "ALLOWED", &[DEVICE_POLICY])
    }

    /// AWS answers `answer(request)` to every request of the principal the evaluator is asked
    /// about: the identity's and the role's requests, or the device's.
    fn aws_says(
        f: &mut Facts,
        ev: Evaluator,
        principal: &str,
        answer: impl Fn(&Request) -> Answer,
    ) {
        let requests: Vec<Request> = if principal == CERT_ARN {
            device::requests(f, THING)
        } else {
            Requests::of_subject(f, POOL_ID)
                .all()
                .into_iter()
                .map(|(_, r)| r)
                .collect()
        };
        let answers = f.aws_answers.get_or_insert_with(Default::default);
        for r in &requests {
            let q = Question {
                evaluator: ev,
                principal: principal.into(),
                action: r.action.clone(),
                resource: r.resource.clone(),
            };
            answers.insert(q, answer(r));
        }
    }

    /// `answer` for `action`, `otherwise` for every other request.
    fn but(action: &'static str, answer: Answer, otherwise: Answer) -> impl Fn(&Request) -> Answer {
        move |r| {
            if r.action == action {
                answer.clone()
            } else {
                otherwise.clone()
            }
        }
    }

    /// The healthy stack, with AWS agreeing on everything.
    fn agreeing() -> Facts {
        let mut f = healthy();
        aws_says(&mut f, Evaluator::TestAuthorization, IDENTITY, |_| {
            allowed_iot()
        });
        aws_says(
            &mut f,
            Evaluator::SimulatePrincipalPolicy,
            AUTH_ROLE_ARN,
            |_| allowed_role(),
        );
        aws_says(&mut f, Evaluator::TestAuthorization, CERT_ARN, |_| {
            allowed_device()
        });
        f
    }

    #[track_caller]
    fn mentions(c: &Check, text: &str) {
        assert!(
            c.evidence.iter().any(|e| e.contains(text)),
            "{} should mention {text:?}: {c:#?}",
            c.id
        );
    }

    #[test]
    fn agreement_is_evidence_on_each_layer() {
        let f = agreeing();
        for c in all_checks(&f) {
            assert_eq!(c.status, Status::Pass, "{c:#?}");
        }
        let c = check(&f, "access-publish");
        mentions(
            &c,
            &format!("AWS's TestAuthorization agrees on iot:Publish: ALLOWED (AWS IoT policies: {IDENTITY_POLICY})"),
        );
        mentions(
            &c,
            "AWS's SimulatePrincipalPolicy agrees on iot:Publish: allowed (identity pool role policies: iot-and-secret)",
        );
        let c = check(&f, "device-policy-access");
        mentions(
            &c,
            "AWS's TestAuthorization agrees on all 5 requests: ALLOWED",
        );
        assert_eq!(c.evidence.len(), 2, "one line for the five: {c:#?}");
    }

    #[test]
    fn agreement_on_a_refusal_is_evidence_too() {
        let mut f = agreeing();
        f.subject.client_id = Some("someone-else".into());
        aws_says(
            &mut f,
            Evaluator::TestAuthorization,
            IDENTITY,
            but(
                "iot:Connect",
                decided(Decision::ImplicitDeny, "IMPLICIT_DENY", &[IDENTITY_POLICY]),
                allowed_iot(),
            ),
        );
        aws_says(
            &mut f,
            Evaluator::SimulatePrincipalPolicy,
            AUTH_ROLE_ARN,
            but(
                "iot:Connect",
                decided(Decision::ImplicitDeny, "implicitDeny", &[]),
                allowed_role(),
            ),
        );
        let c = failing(&f, "access-connect", "someone-else");
        mentions(
            &c,
            "AWS's TestAuthorization agrees on iot:Connect: IMPLICIT_DENY",
        );
        mentions(
            &c,
            "AWS's SimulatePrincipalPolicy agrees on iot:Connect: implicitDeny",
        );
        assert!(
            c.evidence.iter().all(|e| !e.contains("disagrees")),
            "{c:#?}"
        );
    }

    #[test]
    fn a_disagreement_on_a_passing_check_is_a_warning_with_both_verdicts() {
        let mut f = agreeing();
        aws_says(
            &mut f,
            Evaluator::TestAuthorization,
            IDENTITY,
            but(
                "iot:Publish",
                decided(
                    Decision::ExplicitDeny,
                    "EXPLICIT_DENY",
                    &["acme-deny-publish"],
                ),
                allowed_iot(),
            ),
        );
        let c = check(&f, "access-publish");
        assert_eq!(c.status, Status::Warn, "{c:#?}");
        let line = c
            .evidence
            .iter()
            .find(|e| e.contains("disagrees"))
            .expect("the disagreement");
        for part in [
            "AWS's TestAuthorization disagrees on iot:Publish on arn:aws:iot:us-east-1:123456789012:topic/",
            "AWS says EXPLICIT_DENY (AWS IoT policies: acme-deny-publish)",
            "doctor's offline evaluation of the AWS IoT policies says allow",
            &format!("policy \"{IDENTITY_POLICY}\""),
        ] {
            assert!(line.contains(part), "{part:?} in {line}");
        }
        mentions(
            &c,
            "AWS's SimulatePrincipalPolicy agrees on iot:Publish: allowed",
        );
        let fix = c.fix.clone().unwrap();
        assert!(
            fix.contains(&format!(
                "aws iot test-authorization --principal {IDENTITY} --cognito-identity-pool-id {POOL_ID} --client-id {IDENTITY} --auth-infos actionType=PUBLISH,resources=arn:aws:iot:us-east-1:123456789012:topic/{POOL_ID}/{IDENTITY}/test"
            )),
            "{fix}"
        );
        assert!(c.repairs.is_empty(), "nothing to repair: {c:#?}");
        assert_eq!(check(&f, "access-connect").status, Status::Pass);
        assert!(
            !crate::doctor::judge(&f).failed(),
            "a warning, not a failure"
        );
    }

    #[test]
    fn a_disagreement_on_a_failing_check_is_added_to_its_evidence() {
        let mut f = agreeing();
        let secret_only = serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]});
        set_live(
            &mut f,
            "auth-role",
            "inline_policies",
            serde_json::json!({"iot-and-secret": secret_only}),
        );
        let c = failing(&f, "access-subscribe", "identity pool role policies");
        let line = c
            .evidence
            .iter()
            .find(|e| e.contains("disagrees"))
            .expect("the disagreement");
        assert!(
            line.contains("AWS's SimulatePrincipalPolicy disagrees on iot:Subscribe")
                && line.contains("AWS says allowed (identity pool role policies: iot-and-secret)")
                && line.contains("offline evaluation of the identity pool role policies says deny"),
            "{line}"
        );
        assert!(c.fix.unwrap().contains("auth-role-iot"), "the fix stays");
        let cmd =
            Asking::role(AUTH_ROLE_ARN).command(&Requests::of_subject(&f, POOL_ID).all()[2].1);
        assert!(cmd.starts_with(&format!("aws iam simulate-principal-policy --policy-source-arn {AUTH_ROLE_ARN} --action-names iot:Subscribe --resource-arns arn:aws:iot:us-east-1:123456789012:topicfilter/")), "{cmd}");
        assert!(
            cmd.contains(&format!(
                "ContextKeyName=cognito-identity.amazonaws.com:sub,ContextKeyValues={IDENTITY},ContextKeyType=string"
            )),
            "{cmd}"
        );
    }

    #[test]
    fn the_device_certificate_is_cross_checked_request_by_request() {
        let mut f = agreeing();
        aws_says(
            &mut f,
            Evaluator::TestAuthorization,
            CERT_ARN,
            but(
                "iot:Connect",
                decided(Decision::ImplicitDeny, "IMPLICIT_DENY", &[DEVICE_POLICY]),
                allowed_device(),
            ),
        );
        let c = check(&f, "device-policy-access");
        assert_eq!(c.status, Status::Warn, "{c:#?}");
        mentions(&c, "AWS's TestAuthorization disagrees on iot:Connect on arn:aws:iot:us-east-1:123456789012:client/acme-thing: AWS says IMPLICIT_DENY");
        mentions(&c, &format!("says allow ({DEVICE_POLICY}: statement 0"));
        mentions(
            &c,
            "AWS's TestAuthorization agrees on the 4 other requests: ALLOWED",
        );
        assert!(c.fix.unwrap().contains(&format!(
            "aws iot test-authorization --principal {CERT_ARN} --client-id {THING} --auth-infos actionType=CONNECT"
        )));
    }

    #[test]
    fn an_evaluator_aws_cannot_be_asked_about_fails_nothing() {
        let mut f = healthy();
        let denied = Answer::Unavailable {
            code: Some("AccessDeniedException".into()),
            message: "User: arn:aws:iam::123456789012:user/ro is not authorized to perform: iot:TestAuthorization".into(),
        };
        let down = Answer::Unavailable {
            code: None,
            message: "unhandled error (500 Internal Server Error)\n<!doctype html>".into(),
        };
        aws_says(&mut f, Evaluator::TestAuthorization, IDENTITY, |_| {
            denied.clone()
        });
        aws_says(
            &mut f,
            Evaluator::SimulatePrincipalPolicy,
            AUTH_ROLE_ARN,
            |_| down.clone(),
        );
        aws_says(&mut f, Evaluator::TestAuthorization, CERT_ARN, |_| {
            denied.clone()
        });
        for c in all_checks(&f) {
            assert_eq!(c.status, Status::Pass, "{c:#?}");
        }
        let c = check(&f, "access-receive");
        mentions(&c, "AWS's TestAuthorization could not be asked (AccessDeniedException: User: arn:aws:iam::123456789012:user/ro is not authorized to perform: iot:TestAuthorization): the offline verdict stands; `--offline-only` skips asking");
        mentions(&c, "AWS's SimulatePrincipalPolicy could not be asked (unhandled error (500 Internal Server Error)): the offline verdict stands");
        let c = check(&f, "device-policy-access");
        assert_eq!(c.evidence.len(), 2, "said once, not per request: {c:#?}");
    }

    #[test]
    fn a_refusal_for_want_of_context_values_does_not_count() {
        let mut f = agreeing();
        aws_says(
            &mut f,
            Evaluator::SimulatePrincipalPolicy,
            AUTH_ROLE_ARN,
            |_| Answer::Decided {
                decision: Decision::ImplicitDeny,
                said: "implicitDeny".into(),
                by: Vec::new(),
                missing: vec!["cognito-identity.amazonaws.com:sub".into()],
            },
        );
        let c = check(&f, "access-connect");
        assert_eq!(c.status, Status::Pass, "{c:#?}");
        mentions(&c, "AWS's SimulatePrincipalPolicy could not decide iot:Connect: it lacked the context values cognito-identity.amazonaws.com:sub (it said implicitDeny)");
    }

    #[test]
    fn offline_only_and_a_sample_identity_ask_nothing_of_aws() {
        let f = healthy();
        assert!(f.aws_answers.is_none());
        let c = check(&f, "access-publish");
        assert!(c.evidence.iter().all(|e| !e.contains("AWS's")), "{c:#?}");

        let mut f = healthy();
        f.subject.identity_id = None;
        f.attached = None;
        let asks = identity_asks(&f).expect("the access checks are reached");
        assert_eq!(asks.identity, None, "the sample identity has no IoT policy");
        assert_eq!(asks.role_arn, AUTH_ROLE_ARN);

        let mut f = healthy();
        remove(&mut f, "auth-role");
        assert!(
            identity_asks(&f).is_none(),
            "no access checks, nothing to ask"
        );
    }
}
