//! What `ask_aws` sends AWS and how it reads the answers, against the SDK's mocked HTTP
//! layer: the requests are the ones the access checks judge, the answers land under them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::operation::simulate_principal_policy::{
    SimulatePrincipalPolicyInput, SimulatePrincipalPolicyOutput,
};
use aws_sdk_iam::types::{EvaluationResult, PolicyEvaluationDecisionType, Statement};
use aws_sdk_iot::config::{
    AsyncSleep, Credentials, SharedAsyncSleep, SharedCredentialsProvider, Sleep,
};
use aws_sdk_iot::operation::test_authorization::{TestAuthorizationInput, TestAuthorizationOutput};
use aws_sdk_iot::types::{Allowed, AuthDecision, AuthResult, Denied, ImplicitDeny, Policy};
use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use super::*;
use crate::aws::Clients;
use crate::doctor::fixture::*;
use crate::doctor::{judge, Status};

#[derive(Debug)]
struct NoWait;
impl AsyncSleep for NoWait {
    fn sleep(&self, _: Duration) -> Sleep {
        Sleep::new(std::future::ready(()))
    }
}

/// Test credentials, the project's retries without their waits, and an HTTP client that
/// never leaves the process.
fn base_config() -> SdkConfig {
    let creds = Credentials::for_tests();
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .http_client(create_mock_http_client())
        .retry_config(retry_config())
        .sleep_impl(SharedAsyncSleep::new(NoWait))
        .build()
}

fn interceptor(rules: &[&Rule]) -> MockResponseInterceptor {
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |i, r| i.with_rule(r),
    )
}

/// A context whose IoT and IAM clients answer with `iot` and `iam`.
fn ctx(iot: &[&Rule], iam: &[&Rule]) -> Ctx {
    let config = base_config();
    let mut clients = Clients::from_config(config.clone());
    clients.iot = aws_sdk_iot::Client::from_conf(
        aws_sdk_iot::config::Builder::from(&config)
            .interceptor(interceptor(iot))
            .build(),
    );
    clients.iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&config)
            .interceptor(interceptor(iam))
            .build(),
    );
    Ctx {
        clients,
        calls: Default::default(),
        prefix: "acme".into(),
        region: REGION.into(),
        account: ACCOUNT.into(),
        state_dir: Default::default(),
        record: Default::default(),
        identity_lists: Default::default(),
        staged: Default::default(),
        pools: Default::default(),
    }
}

fn arn(kind: &str, name: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:{kind}/{name}")
}

/// TestAuthorization as AWS answers it: each authInfo echoed with its decision, in reverse
/// order (the answers are matched by what they echo); RECEIVE is implicitly denied.
fn test_authorization_answer(input: &TestAuthorizationInput) -> TestAuthorizationOutput {
    let policy = |n: &str| Policy::builder().policy_name(n).build();
    let mut out = TestAuthorizationOutput::builder();
    for info in input.auth_infos().iter().rev() {
        let named = if input.principal() == Some(CERT_ARN) {
            DEVICE_POLICY
        } else {
            IDENTITY_POLICY
        };
        let r = AuthResult::builder().auth_info(info.clone());
        let r = if info.action_type().map(|a| a.as_str()) == Some("RECEIVE") {
            r.auth_decision(AuthDecision::ImplicitDeny).denied(
                Denied::builder()
                    .implicit_deny(ImplicitDeny::builder().policies(policy(named)).build())
                    .build(),
            )
        } else {
            r.auth_decision(AuthDecision::Allowed)
                .allowed(Allowed::builder().policies(policy(named)).build())
        };
        out = out.auth_results(r.build());
    }
    out.build()
}

/// SimulatePrincipalPolicy as AWS answers it: one result per action, allowed by the role's
/// inline policy.
fn simulate_answer(input: &SimulatePrincipalPolicyInput) -> SimulatePrincipalPolicyOutput {
    let mut out = SimulatePrincipalPolicyOutput::builder().is_truncated(false);
    for action in input.action_names() {
        let e = EvaluationResult::builder()
            .eval_action_name(action)
            .eval_resource_name(&input.resource_arns()[0])
            .eval_decision(PolicyEvaluationDecisionType::Allowed)
            .matched_statements(
                Statement::builder()
                    .source_policy_id("iot-and-secret")
                    .build(),
            )
            .build()
            .expect("an evaluation result");
        out = out.evaluation_results(e);
    }
    out.build()
}

#[tokio::test]
async fn gather_asks_each_layer_about_the_access_checks_requests() {
    let sent_ta = Arc::new(Mutex::new(Vec::<TestAuthorizationInput>::new()));
    let sent_sim = Arc::new(Mutex::new(Vec::<SimulatePrincipalPolicyInput>::new()));
    let (ta, sim) = (sent_ta.clone(), sent_sim.clone());
    let ta_rule = mock!(aws_sdk_iot::Client::test_authorization).then_compute_output(move |i| {
        ta.lock().unwrap().push(i.clone());
        test_authorization_answer(i)
    });
    let sim_rule =
        mock!(aws_sdk_iam::Client::simulate_principal_policy).then_compute_output(move |i| {
            sim.lock().unwrap().push(i.clone());
            simulate_answer(i)
        });
    let ctx = ctx(&[&ta_rule], &[&sim_rule]);
    let mut f = healthy();
    ask_aws(&ctx, &mut f).await;

    // TestAuthorization: the identity with its pool and client id, then the certificate
    // with its thing as client id; one authInfo per request.
    let ta = sent_ta.lock().unwrap().clone();
    assert_eq!(ta.len(), 2, "{ta:#?}");
    let infos = |i: &TestAuthorizationInput| -> Vec<(String, Vec<String>)> {
        i.auth_infos()
            .iter()
            .map(|a| {
                (
                    a.action_type().unwrap().as_str().to_string(),
                    a.resources().to_vec(),
                )
            })
            .collect()
    };
    let topic = format!("{POOL_ID}/{IDENTITY}/test");
    assert_eq!(ta[0].principal(), Some(IDENTITY));
    assert_eq!(ta[0].cognito_identity_pool_id(), Some(POOL_ID));
    assert_eq!(ta[0].client_id(), Some(IDENTITY));
    let pair = |t: &str, r: String| (t.to_string(), vec![r]);
    assert_eq!(
        infos(&ta[0]),
        [
            pair("CONNECT", arn("client", IDENTITY)),
            pair("PUBLISH", arn("topic", &topic)),
            pair("SUBSCRIBE", arn("topicfilter", &topic)),
            pair("RECEIVE", arn("topic", &topic)),
        ]
    );
    assert_eq!(ta[1].principal(), Some(CERT_ARN));
    assert_eq!(ta[1].cognito_identity_pool_id(), None);
    assert_eq!(ta[1].client_id(), Some("acme-thing"));
    let own = "acme/devices/acme-thing/telemetry";
    assert_eq!(
        infos(&ta[1]),
        [
            pair("CONNECT", arn("client", "acme-thing")),
            pair("PUBLISH", arn("topic", own)),
            pair("SUBSCRIBE", arn("topicfilter", own)),
            pair("RECEIVE", arn("topic", own)),
            pair("PUBLISH", arn("topic", "acme/alerts")),
        ]
    );

    // SimulatePrincipalPolicy: the role, one call per resource with its actions, and the
    // identity's values of the policy variables.
    let sim = sent_sim.lock().unwrap().clone();
    let calls: Vec<(Vec<String>, Vec<String>)> = sim
        .iter()
        .map(|i| (i.action_names().to_vec(), i.resource_arns().to_vec()))
        .collect();
    let call = |actions: &[&str], r: String| {
        (
            actions.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            vec![r],
        )
    };
    assert_eq!(
        calls,
        [
            call(&["iot:Connect"], arn("client", IDENTITY)),
            call(&["iot:Publish", "iot:Receive"], arn("topic", &topic)),
            call(&["iot:Subscribe"], arn("topicfilter", &topic)),
        ]
    );
    for i in &sim {
        assert_eq!(i.policy_source_arn(), Some(AUTH_ROLE_ARN));
        let entries: Vec<(String, Vec<String>, String)> = i
            .context_entries()
            .iter()
            .map(|e| {
                (
                    e.context_key_name().unwrap().to_string(),
                    e.context_key_values().to_vec(),
                    e.context_key_type().unwrap().as_str().to_string(),
                )
            })
            .collect();
        let entry = |k: &str, v: &str| (k.to_string(), vec![v.to_string()], "string".to_string());
        for e in [
            entry("cognito-identity.amazonaws.com:sub", IDENTITY),
            entry("cognito-identity.amazonaws.com:aud", POOL_ID),
            entry("cognito-identity.amazonaws.com:amr", "authenticated"),
            entry("iot:ClientId", IDENTITY),
        ] {
            assert!(entries.contains(&e), "{e:?} in {entries:#?}");
        }
    }

    // The answers, under their questions.
    let receive = f
        .aws_answer(
            Evaluator::TestAuthorization,
            IDENTITY,
            "iot:Receive",
            &arn("topic", &topic),
        )
        .expect("asked");
    assert_eq!(
        receive,
        &Answer::Decided {
            decision: Decision::ImplicitDeny,
            said: "IMPLICIT_DENY".into(),
            by: vec![IDENTITY_POLICY.into()],
            missing: Vec::new(),
        }
    );
    let connect = f
        .aws_answer(
            Evaluator::SimulatePrincipalPolicy,
            AUTH_ROLE_ARN,
            "iot:Connect",
            &arn("client", IDENTITY),
        )
        .expect("asked");
    assert!(
        matches!(connect, Answer::Decided { decision: Decision::Allow, said, by, .. } if said == "allowed" && by == &["iot-and-secret"]),
        "{connect:?}"
    );
    assert_eq!(f.aws_answers.as_ref().unwrap().len(), 4 + 4 + 5);

    // Judged: AWS denies Receive where doctor allows it, on both principals.
    let report = judge(&f);
    let status = |id: &str| report.checks.iter().find(|c| c.id == id).unwrap().status;
    assert_eq!(status("access-publish"), Status::Pass);
    assert_eq!(status("access-receive"), Status::Warn);
    assert_eq!(status("device-policy-access"), Status::Warn);
}

fn json_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = serde_json::json!({ "__type": code, "message": message }).to_string();
    let mut r = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
    r.headers_mut().insert(
        "x-amzn-ErrorType",
        format!("{code}:http://internal.amazon.com/coral/"),
    );
    r
}

#[tokio::test]
async fn evaluators_aws_cannot_be_asked_about_are_unavailable_and_asked_once() {
    // The caller may not call TestAuthorization; the IAM endpoint fails as an emulator
    // without SimulatePrincipalPolicy does (an HTML 500 page).
    let ta_rule = mock!(aws_sdk_iot::Client::test_authorization)
        .sequence()
        .http_response(|| {
            json_error(
                403,
                "AccessDeniedException",
                "User is not authorized to perform: iot:TestAuthorization",
            )
        })
        .times(10)
        .build();
    let html = "<!doctype html><title>500 Internal Server Error</title>";
    let sim_rule = mock!(aws_sdk_iam::Client::simulate_principal_policy)
        .sequence()
        .http_status(500, Some(html.into()))
        .times(20)
        .build();
    let ctx = ctx(&[&ta_rule], &[&sim_rule]);
    let mut f = healthy();
    ask_aws(&ctx, &mut f).await;

    assert_eq!(
        ta_rule.num_calls(),
        1,
        "not retried, and not asked again for the device"
    );
    assert_eq!(
        sim_rule.num_calls(),
        ASK_ATTEMPTS as usize,
        "retried briefly, then given up for every resource"
    );
    let answers = f.aws_answers.as_ref().unwrap();
    assert_eq!(answers.len(), 4 + 4 + 5);
    for (q, a) in answers {
        let Answer::Unavailable { code, message } = a else {
            panic!("{q:?}: {a:?}");
        };
        match q.evaluator {
            Evaluator::TestAuthorization => {
                assert_eq!(code.as_deref(), Some("AccessDeniedException"), "{q:?}")
            }
            Evaluator::SimulatePrincipalPolicy => assert_eq!(
                message,
                "HTTP 500 without an AWS error: the endpoint may not implement SimulatePrincipalPolicy"
            ),
        }
    }
    let report = judge(&f);
    assert!(
        report.checks.iter().all(|c| c.status == Status::Pass),
        "{report:#?}"
    );
}

#[tokio::test]
async fn throttling_after_the_retries_is_unavailable() {
    let ta_rule = mock!(aws_sdk_iot::Client::test_authorization)
        .sequence()
        .http_response(|| json_error(429, "ThrottlingException", "Rate exceeded"))
        .times(20)
        .build();
    let sim_rule =
        mock!(aws_sdk_iam::Client::simulate_principal_policy).then_compute_output(simulate_answer);
    let ctx = ctx(&[&ta_rule], &[&sim_rule]);
    let mut f = healthy();
    ask_aws(&ctx, &mut f).await;
    assert_eq!(ta_rule.num_calls(), ASK_ATTEMPTS as usize);
    let a = f
        .aws_answer(
            Evaluator::TestAuthorization,
            CERT_ARN,
            "iot:Connect",
            &arn("client", "acme-thing"),
        )
        .unwrap();
    assert!(
        matches!(a, Answer::Unavailable { code: Some(c), .. } if c == "ThrottlingException"),
        "{a:?}"
    );
    assert_eq!(sim_rule.num_calls(), 3, "the role is still asked");
}
