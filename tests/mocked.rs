//! Behaviour the local emulator cannot show, checked against the AWS SDK's own mocked HTTP layer
//! (no emulator): retries on throttling and 5xx with the project's retry settings, an email
//! subscription still pending confirmation on destroy, a secret name scheduled for deletion,
//! how a topic rule read maps AWS's errors, the waits for a role IAM has not propagated yet, and
//! the order of a new user's password and its secret's labels when AdminCreateUser answers the
//! user in a status the emulator never gives.
//!
//! Errors are answered as raw HTTP responses in each service's wire protocol, so the SDK parses
//! the error code exactly as it would from AWS.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iot::operation::list_topic_rules::ListTopicRulesOutput;
use aws_sdk_iot::types::TopicRuleListItem;
use aws_sdk_sns::config::{
    AsyncSleep, Credentials, IdentityCache, SharedAsyncSleep, SharedCredentialsProvider, Sleep,
    StalledStreamProtectionConfig,
};
use aws_sdk_sns::operation::list_subscriptions_by_topic::ListSubscriptionsByTopicOutput;
use aws_smithy_mocks::{
    create_mock_http_client, mock, MockResponse, MockResponseInterceptor, Rule, RuleMode,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::{json, Value};

use iotstack::aws::{aws_err, load_config, retry_config, timeout_config, AwsOptions, Clients};
use iotstack::error::{AwsError, ResourceError};
use iotstack::plan::PropChange;
use iotstack::resources::iot_topic_rule::IotTopicRule;
use iotstack::resources::secretsmanager_secret::SecretsManagerSecret;
use iotstack::resources::sns_subscription::{SnsEmailSubscription, PENDING};
use iotstack::resources::{Changes, Ctx, Desired, Manage, Observed, Read, Update};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:mk-iot-notification";
const EMAIL: &str = "ops@example.com";
const SUB_ARN: &str =
    "arn:aws:sns:us-east-1:123456789012:mk-iot-notification:5f1c3a52-0b7e-4c1e-9d7a-2f0c9e8a1b11";

/// Records every delay the SDK asks for and returns at once: the retry settings stay exactly the
/// project's, and the tests stay fast.
#[derive(Debug, Clone, Default)]
struct Backoffs(Arc<Mutex<Vec<Duration>>>);

impl Backoffs {
    fn taken(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

impl AsyncSleep for Backoffs {
    fn sleep(&self, duration: Duration) -> Sleep {
        self.0.lock().unwrap().push(duration);
        Sleep::new(std::future::ready(()))
    }
}

/// The configuration every client is built from: the project's retry configuration, test
/// credentials and an HTTP client that never leaves the process (an unmocked call gets a 418).
/// No timeouts are set: they would share the instant sleep.
fn base_config(backoffs: &Backoffs) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDMOCKED",
            "mocked-secret",
            None,
            None,
            "mocked",
        )))
        .identity_cache(IdentityCache::no_cache())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .http_client(create_mock_http_client())
        .retry_config(retry_config())
        .sleep_impl(SharedAsyncSleep::new(backoffs.clone()))
        .build()
}

fn interceptor(rules: &[&Rule]) -> MockResponseInterceptor {
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |i, r| i.with_rule(r),
    )
}

fn sns_client(base: &SdkConfig, rules: &[&Rule]) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(base)
            .interceptor(interceptor(rules))
            .build(),
    )
}

fn iot_client(base: &SdkConfig, rules: &[&Rule]) -> aws_sdk_iot::Client {
    aws_sdk_iot::Client::from_conf(
        aws_sdk_iot::config::Builder::from(base)
            .interceptor(interceptor(rules))
            .build(),
    )
}

fn secrets_client(base: &SdkConfig, rules: &[&Rule]) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(base)
            .interceptor(interceptor(rules))
            .build(),
    )
}

fn cognito_idp_client(
    base: &SdkConfig,
    rules: &[&Rule],
) -> aws_sdk_cognitoidentityprovider::Client {
    aws_sdk_cognitoidentityprovider::Client::from_conf(
        aws_sdk_cognitoidentityprovider::config::Builder::from(base)
            .interceptor(interceptor(rules))
            .build(),
    )
}

fn ctx(clients: Clients, state_dir: &Path) -> Ctx {
    Ctx {
        clients,
        calls: Default::default(),
        prefix: "mk".into(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        state_dir: state_dir.to_path_buf(),
        record: Default::default(),
        identity_lists: Default::default(),
        staged: Default::default(),
        pools: Default::default(),
    }
}

fn desired(id: &str, props: Value) -> Desired {
    let props: BTreeMap<String, Value> = props
        .as_object()
        .expect("props object")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Desired {
        id: id.into(),
        props,
        ..Default::default()
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::try_from(code).expect("valid status")
}

/// An error as the awsQuery protocol (SNS) sends it.
fn query_error(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\
         <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
         <RequestId>9f0c6a0e-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
    )
}

/// An error as the JSON protocols (IoT, Secrets Manager) send it: the code in
/// `x-amzn-ErrorType` and in the body.
fn json_error(code_status: u16, code: &str, message: &str) -> HttpResponse {
    let body = json!({ "__type": code, "message": message }).to_string();
    let mut r = HttpResponse::new(status(code_status), SdkBody::from(body));
    r.headers_mut().insert(
        "x-amzn-ErrorType",
        format!("{code}:http://internal.amazon.com/coral/"),
    );
    r
}

fn pending_subscriptions() -> ListSubscriptionsByTopicOutput {
    use aws_sdk_sns::types::Subscription;
    ListSubscriptionsByTopicOutput::builder()
        .subscriptions(
            Subscription::builder()
                .subscription_arn(format!("{TOPIC}:0a0a0a0a-1111-2222-3333-444444444444"))
                .protocol("https")
                .endpoint("https://hooks.example.com/alerts")
                .topic_arn(TOPIC)
                .owner("123456789012")
                .build(),
        )
        .subscriptions(
            Subscription::builder()
                .subscription_arn(PENDING)
                .protocol("email")
                .endpoint(EMAIL)
                .topic_arn(TOPIC)
                .owner("123456789012")
                .build(),
        )
        .build()
}

async fn list_subscriptions_call(
    sns: &aws_sdk_sns::Client,
) -> Result<ListSubscriptionsByTopicOutput, AwsError> {
    sns.list_subscriptions_by_topic()
        .topic_arn(TOPIC)
        .send()
        .await
        .map_err(|e| aws_err("ListSubscriptionsByTopic", e))
}

/// Each delay is at most the configured initial backoff doubled per retry, and never above the
/// configured maximum.
fn assert_backoffs_within_config(backoffs: &[Duration]) {
    let cfg = retry_config();
    for (i, d) in backoffs.iter().enumerate() {
        let cap = (cfg.initial_backoff() * 2u32.pow(i as u32)).min(cfg.max_backoff());
        assert!(
            *d <= cap,
            "retry {} waited {d:?}, more than the configured {cap:?}",
            i + 1
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Retries
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_loaded_config_carries_the_project_retry_and_timeout_settings() {
    let cfg = retry_config();
    assert_eq!(cfg.mode(), aws_config::retry::RetryMode::Standard);
    assert_eq!(cfg.max_attempts(), 6, "README documents 6 attempts");
    let loaded = load_config(&AwsOptions::default(), "us-east-1").await;
    assert_eq!(loaded.retry_config(), Some(&retry_config()));
    assert_eq!(loaded.timeout_config(), Some(&timeout_config()));
}

/// Lists the subscriptions through SNS answering `status` (with `body`) twice, then the list:
/// the list, how many calls SNS got, and the backoffs taken.
async fn listed_after_two_failures(
    status: u16,
    body: Option<String>,
    expect: &str,
) -> (ListSubscriptionsByTopicOutput, usize, Vec<Duration>) {
    let backoffs = Backoffs::default();
    let rule = mock!(aws_sdk_sns::Client::list_subscriptions_by_topic)
        .sequence()
        .http_status(status, body)
        .times(2)
        .output(pending_subscriptions)
        .build();
    let sns = sns_client(&base_config(&backoffs), &[&rule]);
    let out = list_subscriptions_call(&sns).await.expect(expect);
    (out, rule.num_calls(), backoffs.taken())
}

#[tokio::test]
async fn throttling_is_retried_until_it_succeeds() {
    let (out, calls, taken) = listed_after_two_failures(
        400,
        Some(query_error("Throttling", "Rate exceeded")),
        "succeeds after two throttles",
    )
    .await;
    let endpoints: Vec<_> = out
        .subscriptions()
        .iter()
        .filter_map(|s| s.endpoint())
        .collect();
    assert_eq!(endpoints, ["https://hooks.example.com/alerts", EMAIL]);
    assert_eq!(calls, 3, "two throttled attempts and one success");
    assert_eq!(taken.len(), 2, "one backoff before each retry: {taken:?}");
    assert_backoffs_within_config(&taken);
}

#[tokio::test]
async fn service_unavailable_is_retried_until_it_succeeds() {
    let (out, calls, taken) = listed_after_two_failures(503, None, "succeeds after two 503s").await;
    assert_eq!(out.subscriptions().len(), 2);
    assert_eq!(calls, 3, "two 503 attempts and one success");
    assert_eq!(taken.len(), 2, "{taken:?}");
    assert_backoffs_within_config(&taken);
}

#[tokio::test]
async fn throttling_gives_up_after_the_configured_max_attempts() {
    let max = retry_config().max_attempts() as usize;
    assert!(max > 3, "the project retries more than the SDK default");
    let backoffs = Backoffs::default();
    let rule = mock!(aws_sdk_sns::Client::list_subscriptions_by_topic)
        .sequence()
        .http_status(400, Some(query_error("Throttling", "Rate exceeded")))
        .times(max + 4)
        .build();
    let sns = sns_client(&base_config(&backoffs), &[&rule]);

    let err = list_subscriptions_call(&sns)
        .await
        .expect_err("every attempt is throttled");
    assert_eq!(err.operation, "ListSubscriptionsByTopic");
    assert_eq!(err.code.as_deref(), Some("Throttling"));
    assert_eq!(err.message, "Rate exceeded");
    assert_eq!(rule.num_calls(), max, "exactly the configured attempts");
    let taken = backoffs.taken();
    assert_eq!(taken.len(), max - 1, "{taken:?}");
    assert_backoffs_within_config(&taken);
}

#[tokio::test]
async fn a_non_retryable_error_is_attempted_once() {
    for (http, code) in [(403, "AuthorizationError"), (400, "InvalidParameter")] {
        let backoffs = Backoffs::default();
        let rule = mock!(aws_sdk_sns::Client::list_subscriptions_by_topic)
            .sequence()
            .http_status(http, Some(query_error(code, "not allowed")))
            .times(6)
            .output(pending_subscriptions)
            .build();
        let sns = sns_client(&base_config(&backoffs), &[&rule]);

        let err = list_subscriptions_call(&sns)
            .await
            .expect_err("not retried into the success");
        assert_eq!(err.code.as_deref(), Some(code));
        assert_eq!(err.message, "not allowed");
        assert_eq!(rule.num_calls(), 1, "{code} is not retried");
        assert!(backoffs.taken().is_empty(), "{code}: no backoff");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. An email subscription pending confirmation
// ---------------------------------------------------------------------------------------------

struct SnsMocks {
    list: Rule,
    unsubscribe: Rule,
    unsubscribed: Arc<Mutex<Vec<String>>>,
}

/// ListSubscriptionsByTopic lists the email subscription as pending; Unsubscribe records the ARN
/// it is given and answers `unsubscribe_error` (as SNS would), or succeeds.
fn sns_mocks(unsubscribe_error: Option<&'static str>) -> SnsMocks {
    let list = mock!(aws_sdk_sns::Client::list_subscriptions_by_topic)
        .match_requests(|r| r.topic_arn() == Some(TOPIC))
        .then_output(pending_subscriptions);
    let unsubscribed = Arc::new(Mutex::new(Vec::new()));
    let seen = unsubscribed.clone();
    let unsubscribe = mock!(aws_sdk_sns::Client::unsubscribe).then_compute_response(move |r| {
        seen.lock()
            .unwrap()
            .push(r.subscription_arn().unwrap_or_default().to_string());
        match unsubscribe_error {
            Some(code) => MockResponse::Http(HttpResponse::new(
                status(400),
                SdkBody::from(query_error(code, "Invalid parameter: SubscriptionArn")),
            )),
            None => MockResponse::Output(
                aws_sdk_sns::operation::unsubscribe::UnsubscribeOutput::builder().build(),
            ),
        }
    });
    SnsMocks {
        list,
        unsubscribe,
        unsubscribed,
    }
}

fn subscription_ctx(m: &SnsMocks, state_dir: &Path) -> Ctx {
    let base = base_config(&Backoffs::default());
    let mut clients = Clients::from_config(base.clone());
    clients.sns = sns_client(&base, &[&m.list, &m.unsubscribe]);
    ctx(clients, state_dir)
}

fn subscription_want() -> Desired {
    desired("alert-email", json!({ "topic_arn": TOPIC, "email": EMAIL }))
}

const SAVED_ARN_FILE: &str = "alert-email.subscription-arn";

async fn read_pending(c: &Ctx) -> Observed {
    SnsEmailSubscription
        .read(c, &subscription_want())
        .await
        .expect("read")
        .expect("the pending subscription is found")
}

#[tokio::test]
async fn a_pending_subscription_without_a_saved_arn_is_left_to_expire() {
    let dir = tempfile::tempdir().unwrap();
    let m = sns_mocks(None);
    let c = subscription_ctx(&m, dir.path());

    let have = read_pending(&c).await;
    assert_eq!(have.attr("arn"), PENDING);
    assert_eq!(have.attr("email"), EMAIL);
    assert_eq!(have.props["email"], json!(EMAIL));
    assert!(
        have.notes
            .iter()
            .any(|n| n.contains("pending") && n.contains("confirm")),
        "notes: {:?}",
        have.notes
    );
    assert_eq!(m.list.num_calls(), 1);

    let notes = SnsEmailSubscription
        .delete(&c, &have)
        .await
        .expect("delete succeeds");
    assert_eq!(
        m.unsubscribe.num_calls(),
        0,
        "Unsubscribe called with {:?}",
        m.unsubscribed.lock().unwrap()
    );
    assert_eq!(notes.len(), 1, "{notes:?}");
    let note = &notes[0];
    assert!(note.contains(EMAIL), "{note}");
    assert!(note.contains("cannot be removed"), "{note}");
    assert!(note.contains("3 days"), "{note}");
}

/// Deletes the pending subscription whose ARN was saved as `saved`, Unsubscribe answering
/// `unsubscribe_error` (or success): the state folder, the mocks and the delete's notes.
async fn delete_saved_pending(
    saved: &str,
    unsubscribe_error: Option<&'static str>,
    expect: &str,
) -> (tempfile::TempDir, SnsMocks, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(SAVED_ARN_FILE), saved).unwrap();
    let m = sns_mocks(unsubscribe_error);
    let c = subscription_ctx(&m, dir.path());

    let have = read_pending(&c).await;
    let notes = SnsEmailSubscription.delete(&c, &have).await.expect(expect);
    (dir, m, notes)
}

#[tokio::test]
async fn a_pending_subscription_with_a_saved_arn_that_aws_refuses_is_a_note() {
    let (dir, m, notes) = delete_saved_pending(
        &format!("{SUB_ARN}\n"),
        Some("InvalidParameter"),
        "InvalidParameter is not a failure",
    )
    .await;
    assert_eq!(*m.unsubscribed.lock().unwrap(), [SUB_ARN]);
    assert_eq!(
        m.unsubscribe.num_calls(),
        1,
        "InvalidParameter is not retried"
    );
    assert_eq!(notes.len(), 1, "{notes:?}");
    let note = &notes[0];
    assert!(note.contains("did not allow"), "{note}");
    assert!(note.contains(EMAIL), "{note}");
    assert!(
        note.contains("Invalid parameter: SubscriptionArn"),
        "{note}"
    );
    assert!(note.contains("3 days"), "{note}");
    assert!(!dir.path().join(SAVED_ARN_FILE).exists());
}

#[tokio::test]
async fn a_pending_subscription_with_a_saved_arn_is_unsubscribed() {
    let (dir, m, notes) = delete_saved_pending(SUB_ARN, None, "delete").await;
    assert_eq!(*m.unsubscribed.lock().unwrap(), [SUB_ARN]);
    assert!(notes.is_empty(), "{notes:?}");
    assert!(
        !dir.path().join(SAVED_ARN_FILE).exists(),
        "the saved ARN is forgotten once unsubscribed"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. A secret name scheduled for deletion
// ---------------------------------------------------------------------------------------------

const SECRET_NAME: &str = "us-east-1_AbCdEf123_mk-app-user";
const SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:us-east-1_AbCdEf123_mk-app-user-Ab12Cd";
const SCHEDULED: &str =
    "You can't create this secret because a secret with this name is already scheduled for deletion.";

type Calls = Arc<Mutex<Vec<(String, String)>>>;

struct SecretMocks {
    describe: Rule,
    create: Rule,
    restore: Rule,
    update: Rule,
    tag: Rule,
    put_policy: Rule,
    restored: Calls,
    updated: Calls,
    tagged: Calls,
    policies: Calls,
}

fn secret_mocks(owner: &'static str) -> SecretMocks {
    use aws_sdk_secretsmanager::operation::{
        put_resource_policy::PutResourcePolicyOutput, restore_secret::RestoreSecretOutput,
        tag_resource::TagResourceOutput, update_secret::UpdateSecretOutput,
    };
    use aws_sdk_secretsmanager::Client;

    // DescribeSecret, which is current (ListSecrets may lag five minutes behind): the secret is
    // scheduled for deletion, and its `iotstack:stack` tag names `owner`.
    let describe = mock!(Client::describe_secret)
        .match_requests(|r| r.secret_id() == Some(SECRET_NAME))
        .then_http_response(move || {
            let body = format!(
                r#"{{"ARN": "{SECRET_ARN}", "Name": "{SECRET_NAME}", "DeletedDate": 1700000000, "Tags": [{{"Key": "iotstack:stack", "Value": "{owner}"}}]}}"#
            );
            HttpResponse::new(status(200), SdkBody::from(body))
        });
    let create = mock!(Client::create_secret)
        .match_requests(|r| r.name() == Some(SECRET_NAME))
        .then_http_response(|| json_error(400, "InvalidRequestException", SCHEDULED));
    let restored = Calls::default();
    let seen = restored.clone();
    let restore = mock!(Client::restore_secret).then_compute_output(move |r| {
        seen.lock()
            .unwrap()
            .push((r.secret_id().unwrap_or_default().into(), String::new()));
        RestoreSecretOutput::builder()
            .arn(SECRET_ARN)
            .name(SECRET_NAME)
            .build()
    });
    let updated = Calls::default();
    let seen = updated.clone();
    let update = mock!(Client::update_secret).then_compute_output(move |r| {
        seen.lock().unwrap().push((
            r.secret_id().unwrap_or_default().into(),
            r.description().unwrap_or_default().into(),
        ));
        UpdateSecretOutput::builder().arn(SECRET_ARN).build()
    });
    let tagged = Calls::default();
    let seen = tagged.clone();
    let tag = mock!(Client::tag_resource).then_compute_output(move |r| {
        let tags = r
            .tags()
            .iter()
            .map(|t| {
                format!(
                    "{}={}",
                    t.key().unwrap_or_default(),
                    t.value().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(",");
        seen.lock()
            .unwrap()
            .push((r.secret_id().unwrap_or_default().into(), tags));
        TagResourceOutput::builder().build()
    });
    let policies = Calls::default();
    let seen = policies.clone();
    let put_policy = mock!(Client::put_resource_policy).then_compute_output(move |r| {
        seen.lock().unwrap().push((
            r.secret_id().unwrap_or_default().into(),
            r.resource_policy().unwrap_or_default().into(),
        ));
        PutResourcePolicyOutput::builder().arn(SECRET_ARN).build()
    });
    SecretMocks {
        describe,
        create,
        restore,
        update,
        tag,
        put_policy,
        restored,
        updated,
        tagged,
        policies,
    }
}

fn secret_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny",
            "Principal": "*",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
            "Condition": { "NotIpAddress": { "aws:SourceIp": ["203.0.113.7/32"] } }
        }]
    })
}

async fn create_secret(m: &SecretMocks) {
    try_create_secret(m)
        .await
        .expect("the scheduled secret is restored and reused");
}

/// The secret's create against `m`, as the stack `mk` makes it.
async fn try_create_secret(m: &SecretMocks) -> Result<iotstack::resources::Created, ResourceError> {
    let dir = tempfile::tempdir().unwrap();
    let base = base_config(&Backoffs::default());
    let mut clients = Clients::from_config(base.clone());
    clients.secrets = secrets_client(
        &base,
        &[
            &m.describe,
            &m.create,
            &m.restore,
            &m.update,
            &m.tag,
            &m.put_policy,
        ],
    );
    let c = ctx(clients, dir.path());
    let want = desired(
        "app-secret",
        json!({
            "name": SECRET_NAME,
            "description": "mk app user",
            "tags": { "iotstack:stack": "mk" },
            "resource_policy": secret_policy(),
        }),
    );
    SecretsManagerSecret.create(&c, &want).await
}

fn assert_restored_and_brought_up_to_date(m: &SecretMocks) {
    assert_eq!(m.restore.num_calls(), 1);
    assert_eq!(
        *m.restored.lock().unwrap(),
        [(SECRET_NAME.to_string(), String::new())]
    );
    assert_eq!(
        *m.updated.lock().unwrap(),
        [(SECRET_ARN.to_string(), "mk app user".to_string())]
    );
    assert_eq!(
        *m.tagged.lock().unwrap(),
        [(SECRET_ARN.to_string(), "iotstack:stack=mk".to_string())]
    );
    assert_eq!(m.put_policy.num_calls(), 1);
    let policies = m.policies.lock().unwrap();
    assert_eq!(policies[0].0, SECRET_ARN);
    let sent: Value = serde_json::from_str(&policies[0].1).expect("policy JSON");
    assert_eq!(sent, secret_policy());
}

#[tokio::test]
async fn create_restores_a_secret_aws_says_is_scheduled_for_deletion() {
    let m = secret_mocks("mk");
    create_secret(&m).await;
    assert_eq!(
        m.create.num_calls(),
        1,
        "CreateSecret is tried once, not retried"
    );
    assert_eq!(m.describe.num_calls(), 1, "whose it is, once refused");
    assert_restored_and_brought_up_to_date(&m);
}

#[tokio::test]
async fn another_owners_secret_scheduled_for_deletion_is_left_alone() {
    let m = secret_mocks("someone-else");
    let err = try_create_secret(&m).await.unwrap_err().to_string();
    assert!(err.contains("scheduled for deletion"), "{err}");
    assert_eq!(m.restore.num_calls(), 0, "not restored");
    assert_eq!(m.tag.num_calls(), 0, "not marked as the stack's");
}

#[tokio::test]
async fn read_treats_a_secret_scheduled_for_deletion_as_missing() {
    let m = secret_mocks("mk");
    let base = base_config(&Backoffs::default());
    let mut clients = Clients::from_config(base.clone());
    clients.secrets = secrets_client(&base, &[&m.describe]);
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(clients, dir.path());
    let want = desired("app-secret", json!({ "name": SECRET_NAME }));
    let have = SecretsManagerSecret.read(&c, &want).await.expect("read");
    assert_eq!(have, None);
    assert_eq!(m.describe.num_calls(), 1);
}

// ---------------------------------------------------------------------------------------------
// 4. Topic rule read: AWS's answer for a missing rule
// ---------------------------------------------------------------------------------------------

async fn read_rule(rules: &[&Rule], backoffs: &Backoffs) -> Result<Option<Observed>, AwsError> {
    let base = base_config(backoffs);
    let mut clients = Clients::from_config(base.clone());
    // The rule's tags are asked for beside it, by the ARN its name gives: these rules are not
    // there, or not to be read, so neither are their tags.
    let tags = mock!(aws_sdk_iot::Client::list_tags_for_resource)
        .then_http_response(|| json_error(404, "ResourceNotFoundException", "no such rule"));
    let rules: Vec<&Rule> = rules.iter().copied().chain([&tags]).collect();
    clients.iot = iot_client(&base, &rules);
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(clients, dir.path());
    let want = desired(
        "alert-rule",
        json!({ "name": "mk_alerts", "sql": "SELECT * FROM 'mk/alerts'" }),
    );
    IotTopicRule.read(&c, &want).await.map_err(aws_only)
}

/// The AWS error of a resource's failure (these tests only make AWS fail).
fn aws_only(e: ResourceError) -> AwsError {
    e.aws().cloned().expect("an AWS error")
}

/// GetTopicRule answers UnauthorizedException both for a rule that does not exist and for a
/// caller denied it: the rule is absent only when ListTopicRules, read too, does not name it.
#[tokio::test]
async fn a_missing_topic_rule_reads_as_none() {
    for (http, code, listed) in [
        (401, "UnauthorizedException", 1),
        (404, "ResourceNotFoundException", 0),
    ] {
        let backoffs = Backoffs::default();
        let rule = mock!(aws_sdk_iot::Client::get_topic_rule)
            .match_requests(|r| r.rule_name() == Some("mk_alerts"))
            .then_http_response(move || {
                json_error(http, code, "Access to topic rule 'mk_alerts' was denied")
            });
        let list = mock!(aws_sdk_iot::Client::list_topic_rules).then_output(|| {
            let other = TopicRuleListItem::builder()
                .rule_name("other_alerts")
                .build();
            ListTopicRulesOutput::builder().rules(other).build()
        });
        let have = read_rule(&[&rule, &list], &backoffs).await;
        assert!(matches!(have, Ok(None)), "{code}: {have:?}");
        assert_eq!(rule.num_calls(), 1, "{code}");
        assert_eq!(list.num_calls(), listed, "{code}: ListTopicRules");
        assert!(backoffs.taken().is_empty(), "{code}");
    }
}

/// GetTopicRule's 401 for a rule ListTopicRules names, or when the list cannot be read: the
/// caller was denied the rule, and that denial is the answer.
#[tokio::test]
async fn an_unauthorized_topic_rule_not_confirmed_absent_is_a_denial() {
    let listed = || {
        let rules = ["other_alerts", "mk_alerts"]
            .map(|n| TopicRuleListItem::builder().rule_name(n).build());
        ListTopicRulesOutput::builder()
            .set_rules(Some(rules.to_vec()))
            .build()
    };
    let named = mock!(aws_sdk_iot::Client::list_topic_rules).then_output(listed);
    let unreadable = mock!(aws_sdk_iot::Client::list_topic_rules)
        .then_http_response(|| json_error(401, "UnauthorizedException", "not authorized"));
    for list in [named, unreadable] {
        let rule = mock!(aws_sdk_iot::Client::get_topic_rule).then_http_response(|| {
            json_error(
                401,
                "UnauthorizedException",
                "Access to topic rule 'mk_alerts' was denied",
            )
        });
        let backoffs = Backoffs::default();
        let err = read_rule(&[&rule, &list], &backoffs)
            .await
            .expect_err("not confirmed absent");
        assert_eq!(err.operation, "GetTopicRule");
        assert_eq!(err.code.as_deref(), Some("UnauthorizedException"));
        assert_eq!(err.message, "Access to topic rule 'mk_alerts' was denied");
        assert_eq!(list.num_calls(), 1);
    }
}

#[tokio::test]
async fn other_topic_rule_read_errors_are_errors() {
    let backoffs = Backoffs::default();
    let rule = mock!(aws_sdk_iot::Client::get_topic_rule)
        .then_http_response(|| json_error(400, "InvalidRequestException", "bad rule name"));
    let err = read_rule(&[&rule], &backoffs)
        .await
        .expect_err("InvalidRequestException is an error");
    assert_eq!(err.operation, "GetTopicRule");
    assert_eq!(err.code.as_deref(), Some("InvalidRequestException"));
    assert_eq!(err.message, "bad rule name");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn an_internal_failure_is_retried_then_reported() {
    let max = retry_config().max_attempts() as usize;
    let backoffs = Backoffs::default();
    let rule = mock!(aws_sdk_iot::Client::get_topic_rule)
        .sequence()
        .http_response(|| json_error(500, "InternalFailureException", "internal failure"))
        .times(max + 2)
        .build();
    let err = read_rule(&[&rule], &backoffs)
        .await
        .expect_err("InternalFailureException is an error");
    assert_eq!(err.operation, "GetTopicRule");
    assert_eq!(err.code.as_deref(), Some("InternalFailureException"));
    assert_eq!(
        rule.num_calls(),
        max,
        "retried up to the configured attempts"
    );
    assert_eq!(backoffs.taken().len(), max - 1);
}

// ---------------------------------------------------------------------------------------------
// 5. IAM propagation: a role created a moment ago is not usable yet
// ---------------------------------------------------------------------------------------------

fn lambda_client(base: &SdkConfig, rules: &[&Rule]) -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(base)
            .interceptor(interceptor(rules))
            .build(),
    )
}

async fn create_function(rule: &Rule) -> Result<(), AwsError> {
    let base = base_config(&Backoffs::default());
    let mut clients = Clients::from_config(base.clone());
    clients.lambda = lambda_client(&base, &[rule]);
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(clients, dir.path());
    let want = desired(
        "presignup-function",
        json!({
            "name": "mk-cognito-presignup-lambda",
            "role_arn": "arn:aws:iam::123456789012:role/mk-presignup",
            "code": "builtin:presignup",
            "handler": "presignup.handler",
        }),
    );
    iotstack::resources::lambda_function::LambdaFunction
        .create(&c, &want)
        .await
        .map(drop)
        .map_err(aws_only)
}

#[tokio::test]
async fn a_function_whose_new_role_is_not_assumable_yet_is_created_on_a_later_attempt() {
    let rule = mock!(aws_sdk_lambda::Client::create_function)
        .match_requests(|r| r.role() == Some("arn:aws:iam::123456789012:role/mk-presignup"))
        .sequence()
        .http_response(|| {
            json_error(
                400,
                "InvalidParameterValueException",
                "The role defined for the function cannot be assumed by Lambda.",
            )
        })
        .output(|| {
            aws_sdk_lambda::operation::create_function::CreateFunctionOutput::builder().build()
        })
        .build();
    create_function(&rule)
        .await
        .expect("created once IAM has propagated");
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn other_invalid_parameters_fail_at_once() {
    let rule = mock!(aws_sdk_lambda::Client::create_function).then_http_response(|| {
        json_error(
            400,
            "InvalidParameterValueException",
            "Unzipped size must be smaller than 262144000 bytes",
        )
    });
    let err = create_function(&rule)
        .await
        .expect_err("not a propagation delay");
    assert_eq!(err.code.as_deref(), Some("InvalidParameterValueException"));
    assert_eq!(rule.num_calls(), 1);
}

/// IoT's answer while IAM has not propagated the rule's role yet.
fn role_not_assumable_yet() -> HttpResponse {
    json_error(
        400,
        "InvalidRequestException",
        "iot.amazonaws.com is unable to assume role (sts:AssumeRole) on resource: arn:aws:iam::123456789012:role/mk-iot-rule-sns-role",
    )
}

/// The alert rule the stack wants, and a context whose IoT client answers from `rule` only.
fn alert_rule_call(rule: &Rule, dir: &Path) -> (Ctx, Desired) {
    let base = base_config(&Backoffs::default());
    let mut clients = Clients::from_config(base.clone());
    clients.iot = iot_client(&base, &[rule]);
    let want = desired(
        "alert-rule",
        json!({
            "name": "mk_alerts",
            "sql": "SELECT * FROM 'mk/alerts'",
            "sns_target_arn": TOPIC,
            "role_arn": "arn:aws:iam::123456789012:role/mk-iot-rule-sns-role",
        }),
    );
    (ctx(clients, dir), want)
}

#[tokio::test]
async fn a_topic_rule_whose_new_role_is_not_assumable_yet_is_created_on_a_later_attempt() {
    let rule = mock!(aws_sdk_iot::Client::create_topic_rule)
        .sequence()
        .http_response(role_not_assumable_yet)
        .output(|| {
            aws_sdk_iot::operation::create_topic_rule::CreateTopicRuleOutput::builder().build()
        })
        .build();
    let dir = tempfile::tempdir().unwrap();
    let (c, want) = alert_rule_call(&rule, dir.path());
    IotTopicRule
        .create(&c, &want)
        .await
        .expect("created once IAM has propagated");
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn a_topic_rule_whose_changed_role_is_not_assumable_yet_is_replaced_on_a_later_attempt() {
    let replace = mock!(aws_sdk_iot::Client::replace_topic_rule)
        .sequence()
        .http_response(role_not_assumable_yet)
        .output(|| {
            aws_sdk_iot::operation::replace_topic_rule::ReplaceTopicRuleOutput::builder().build()
        })
        .build();
    let dir = tempfile::tempdir().unwrap();
    let (c, want) = alert_rule_call(&replace, dir.path());
    let changed = [PropChange {
        property: "role_arn".into(),
        before: Some(json!("arn:aws:iam::123456789012:role/old")),
        after: Some(want.props["role_arn"].clone()),
        after_unknown: false,
        forces_replacement: false,
    }];
    let have = Observed::default();
    let (ctx, want, have, changes) = (&c, &want, &have, Changes(&changed));
    IotTopicRule
        .update(Update {
            ctx,
            want,
            have,
            changes,
        })
        .await
        .expect("replaced once IAM has propagated");
    assert_eq!(replace.num_calls(), 2);
}

/// An apply right after a destroy: DescribeSecret still answers the stack's record with a
/// `DeletedDate` (Secrets Manager deletes "with an asynchronous background process", DeleteSecret API reference) and the
/// name cannot be created yet. The record is restored and written, not reported as another
/// owner's secret.
#[tokio::test]
async fn a_record_still_being_deleted_is_restored_and_written() {
    use aws_sdk_secretsmanager::operation::{
        put_secret_value::PutSecretValueOutput, restore_secret::RestoreSecretOutput,
    };
    use aws_sdk_secretsmanager::Client;

    const RECORD_ARN: &str =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:mk-iotstack-record-AbCdEf";
    let describe = mock!(Client::describe_secret)
        .match_requests(|r| r.secret_id() == Some("mk-iotstack-record"))
        .then_http_response(|| {
            let body = format!(
                r#"{{"ARN": "{RECORD_ARN}", "Name": "mk-iotstack-record", "DeletedDate": 1700000000,
                    "Tags": [{{"Key": "iotstack:stack", "Value": "mk"}}, {{"Key": "iotstack:record", "Value": "1"}}]}}"#
            );
            HttpResponse::new(status(200), SdkBody::from(body))
        });
    let create = mock!(Client::create_secret)
        .then_http_response(|| json_error(400, "InvalidRequestException", SCHEDULED));
    let restore = mock!(Client::restore_secret)
        .match_requests(|r| r.secret_id() == Some(RECORD_ARN))
        .then_output(|| RestoreSecretOutput::builder().arn(RECORD_ARN).build());
    let written = Calls::default();
    let seen = written.clone();
    let put = mock!(Client::put_secret_value).then_compute_output(move |r| {
        seen.lock().unwrap().push((
            r.secret_id().unwrap_or_default().into(),
            r.secret_string().unwrap_or_default().into(),
        ));
        PutSecretValueOutput::builder().arn(RECORD_ARN).build()
    });

    let dir = tempfile::tempdir().unwrap();
    let base = base_config(&Backoffs::default());
    let mut clients = Clients::from_config(base.clone());
    clients.secrets = secrets_client(&base, &[&describe, &create, &restore, &put]);
    let c = ctx(clients, dir.path());
    let resources: Vec<iotstack::state::AppliedResource> = serde_json::from_value(json!([
        {"id": "alert-topic", "type": "sns_topic", "props": {"name": "mk-iot-notification"}}
    ]))
    .unwrap();
    let note = iotstack::record::save(&c, &[], &resources)
        .await
        .expect("the record is written");

    assert_eq!(note, None, "not reported as another owner's secret");
    assert_eq!(create.num_calls(), 0);
    assert_eq!(restore.num_calls(), 1);
    let written = written.lock().unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].0, RECORD_ARN);
    assert!(
        written[0].1.contains("mk-iot-notification"),
        "{}",
        written[0].1
    );
}

fn iam_client(base: &SdkConfig, rules: &[&Rule]) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(base)
            .interceptor(interceptor(rules))
            .build(),
    )
}

/// A role's delete removes the policies its read found and deletes the role, without listing
/// them again; when IAM still refuses ("DeleteConflict": a policy put since the read), the role
/// is listed again, emptied, and deleted.
#[tokio::test]
async fn a_role_iam_refuses_to_delete_is_listed_again_emptied_and_deleted() {
    use aws_sdk_iam::operation::{
        delete_role::DeleteRoleOutput, delete_role_policy::DeleteRolePolicyOutput,
        list_attached_role_policies::ListAttachedRolePoliciesOutput,
        list_role_policies::ListRolePoliciesOutput,
    };
    use aws_sdk_iam::Client;
    use iotstack::resources::iam_role::IamRole;

    let conflict = || {
        let body = query_error(
            "DeleteConflict",
            "Cannot delete entity, must delete policies first.",
        );
        HttpResponse::new(status(409), SdkBody::from(body))
    };
    let delete_role = mock!(Client::delete_role)
        .sequence()
        .http_response(conflict)
        .output(|| DeleteRoleOutput::builder().build())
        .build();
    let deleted = Calls::default();
    let seen = deleted.clone();
    let delete_policy = mock!(Client::delete_role_policy).then_compute_output(move |r| {
        let name = r.policy_name().unwrap_or_default().to_string();
        seen.lock().unwrap().push((name, String::new()));
        DeleteRolePolicyOutput::builder().build()
    });
    let list_inline = mock!(Client::list_role_policies).then_output(|| {
        ListRolePoliciesOutput::builder()
            .policy_names("put-since")
            .is_truncated(false)
            .build()
            .expect("a listing")
    });
    let list_managed = mock!(Client::list_attached_role_policies)
        .then_output(|| ListAttachedRolePoliciesOutput::builder().build());
    let base = base_config(&Backoffs::default());
    let mut clients = Clients::from_config(base.clone());
    let rules = [&delete_role, &delete_policy, &list_inline, &list_managed];
    clients.iam = iam_client(&base, &rules);
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(clients, dir.path());
    let have = Observed::new(
        json!({"inline_policies": {"declared": {}}, "managed_policy_arns": []}),
        json!({"name": "mk-role", "arn": "arn:aws:iam::123456789012:role/mk-role"}),
    );
    IamRole
        .delete(&c, &have)
        .await
        .expect("the role is deleted");
    let names: Vec<String> = deleted
        .lock()
        .unwrap()
        .iter()
        .map(|d| d.0.clone())
        .collect();
    assert_eq!(names, ["declared", "put-since"]);
    assert_eq!(delete_role.num_calls(), 2);
    assert_eq!(list_inline.num_calls(), 1, "listed only once IAM refused");
}

/// The usual case: what the read found, then the role; nothing listed.
#[tokio::test]
async fn a_role_is_deleted_after_what_its_read_found_without_listing() {
    use aws_sdk_iam::operation::{
        delete_role::DeleteRoleOutput, delete_role_policy::DeleteRolePolicyOutput,
        detach_role_policy::DetachRolePolicyOutput,
    };
    use aws_sdk_iam::Client;
    use iotstack::resources::iam_role::IamRole;

    let delete_role =
        mock!(Client::delete_role).then_output(|| DeleteRoleOutput::builder().build());
    let delete_policy =
        mock!(Client::delete_role_policy).then_output(|| DeleteRolePolicyOutput::builder().build());
    let detach =
        mock!(Client::detach_role_policy).then_output(|| DetachRolePolicyOutput::builder().build());
    let base = base_config(&Backoffs::default());
    let mut clients = Clients::from_config(base.clone());
    clients.iam = iam_client(&base, &[&delete_role, &delete_policy, &detach]);
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(clients, dir.path());
    let managed = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";
    let have = Observed::new(
        json!({"inline_policies": {"a": {}, "b": {}}, "managed_policy_arns": [managed]}),
        json!({"name": "mk-role"}),
    );
    IamRole
        .delete(&c, &have)
        .await
        .expect("the role is deleted");
    assert_eq!(delete_policy.num_calls(), 2);
    assert_eq!(detach.num_calls(), 1);
    assert_eq!(delete_role.num_calls(), 1);
}

/// An IoT policy whose attachments went first is deleted at once: one DeletePolicy, nothing
/// listed.
#[tokio::test]
async fn an_iot_policy_is_deleted_at_once_when_nothing_holds_it() {
    use aws_sdk_iot::operation::delete_policy::DeletePolicyOutput;
    use aws_sdk_iot::Client;
    use iotstack::resources::iot_policy::IotPolicy;

    let delete = mock!(Client::delete_policy).then_output(|| DeletePolicyOutput::builder().build());
    let targets = mock!(Client::list_targets_for_policy).then_output(|| {
        aws_sdk_iot::operation::list_targets_for_policy::ListTargetsForPolicyOutput::builder()
            .build()
    });
    let versions = mock!(Client::list_policy_versions).then_output(|| {
        aws_sdk_iot::operation::list_policy_versions::ListPolicyVersionsOutput::builder().build()
    });
    let base = base_config(&Backoffs::default());
    let mut clients = Clients::from_config(base.clone());
    clients.iot = iot_client(&base, &[&delete, &targets, &versions]);
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(clients, dir.path());
    let have = Observed::new(json!({}), json!({"name": "mk-identity-iot-policy"}));
    IotPolicy.delete(&c, &have).await.expect("deleted");
    assert_eq!(delete.num_calls(), 1);
    assert_eq!(targets.num_calls(), 0);
    assert_eq!(versions.num_calls(), 0);
}

/// When AWS refuses ("DeleteConflictException": an identity attached since the read, a version
/// an update left), the policy's targets and versions are listed, removed, and the delete is
/// made again.
#[tokio::test]
async fn an_iot_policy_aws_refuses_to_delete_is_detached_and_deleted() {
    use aws_sdk_iot::operation::{
        delete_policy::DeletePolicyOutput, delete_policy_version::DeletePolicyVersionOutput,
        detach_policy::DetachPolicyOutput, list_policy_versions::ListPolicyVersionsOutput,
        list_targets_for_policy::ListTargetsForPolicyOutput,
    };
    use aws_sdk_iot::types::PolicyVersion;
    use aws_sdk_iot::Client;
    use iotstack::resources::iot_policy::IotPolicy;

    let delete = mock!(Client::delete_policy)
        .sequence()
        .http_response(|| json_error(409, "DeleteConflictException", "attached"))
        .output(|| DeletePolicyOutput::builder().build())
        .build();
    let targets = mock!(Client::list_targets_for_policy).then_output(|| {
        ListTargetsForPolicyOutput::builder()
            .targets("eu-west-1:0a0a0a0a-1111-2222-3333-444444444444")
            .build()
    });
    let versions = mock!(Client::list_policy_versions).then_output(|| {
        let v = |id: &str, default: bool| {
            PolicyVersion::builder()
                .version_id(id)
                .is_default_version(default)
                .build()
        };
        ListPolicyVersionsOutput::builder()
            .policy_versions(v("1", false))
            .policy_versions(v("2", true))
            .build()
    });
    let detach = mock!(Client::detach_policy).then_output(|| DetachPolicyOutput::builder().build());
    let delete_version = mock!(Client::delete_policy_version)
        .match_requests(|r| r.policy_version_id() == Some("1"))
        .then_output(|| DeletePolicyVersionOutput::builder().build());
    let base = base_config(&Backoffs::default());
    let mut clients = Clients::from_config(base.clone());
    let rules = [&delete, &targets, &versions, &detach, &delete_version];
    clients.iot = iot_client(&base, &rules);
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(clients, dir.path());
    let have = Observed::new(json!({}), json!({"name": "mk-identity-iot-policy"}));
    let notes = IotPolicy.delete(&c, &have).await.expect("deleted");
    assert_eq!(delete.num_calls(), 2);
    assert_eq!(targets.num_calls(), 1, "listed once AWS refused");
    assert_eq!(detach.num_calls(), 1);
    assert_eq!(
        delete_version.num_calls(),
        1,
        "only the non-default version"
    );
    assert_eq!(notes, ["detached from 1 target(s)"]);
}

/// The app user's password steps, with the version the new value was written under captured
/// from the PutSecretValue request (its `ClientRequestToken`) and the answers to the second
/// listing of the secret's versions and to the removal of `AWSPENDING` given.
struct PasswordMocks {
    put: Rule,
    listed: Rule,
    set: Rule,
    moved: Rule,
    unstaged: Rule,
}

/// `second_listing` says which labels the secret's versions carry when they are listed again
/// after AWS refused the removal of `AWSPENDING`; the new version's id is `NEW` there.
fn password_mocks(
    second_listing: &'static [(&'static str, &'static [&'static str])],
) -> PasswordMocks {
    use aws_sdk_cognitoidentityprovider::operation::admin_set_user_password::AdminSetUserPasswordOutput;
    use aws_sdk_secretsmanager::operation::list_secret_version_ids::ListSecretVersionIdsOutput;
    use aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueOutput;
    use aws_sdk_secretsmanager::operation::update_secret_version_stage::UpdateSecretVersionStageOutput;
    use aws_sdk_secretsmanager::types::SecretVersionsListEntry;
    use aws_sdk_secretsmanager::Client;

    let new = Arc::new(Mutex::new(String::new()));
    let seen = new.clone();
    let put = mock!(Client::put_secret_value)
        .match_requests(move |r| {
            *seen.lock().unwrap() = r.client_request_token().unwrap_or_default().to_string();
            true
        })
        .then_output(|| PutSecretValueOutput::builder().build());
    let listing = move |labels: &[(&str, &[&str])]| {
        let id = new.lock().unwrap().clone();
        labels
            .iter()
            .fold(ListSecretVersionIdsOutput::builder(), |b, (v, stages)| {
                let v = if *v == "NEW" { id.as_str() } else { v };
                let entry = stages
                    .iter()
                    .fold(SecretVersionsListEntry::builder().version_id(v), |e, s| {
                        e.version_stages(*s)
                    });
                b.versions(entry.build())
            })
            .build()
    };
    let first = listing.clone();
    let listed = mock!(Client::list_secret_version_ids)
        .sequence()
        .output(move || first(&[("iotstack-old", &["AWSCURRENT"]), ("NEW", &["AWSPENDING"])]))
        .output(move || listing(second_listing))
        .build();
    let set = mock!(aws_sdk_cognitoidentityprovider::Client::admin_set_user_password)
        .then_output(|| AdminSetUserPasswordOutput::builder().build());
    let moved = mock!(Client::update_secret_version_stage)
        .match_requests(|r| r.version_stage() == Some("AWSCURRENT"))
        .then_output(|| UpdateSecretVersionStageOutput::builder().build());
    // What a retry of the removal gets once the first attempt, whose answer was lost, took the
    // label off.
    let unstaged = mock!(Client::update_secret_version_stage)
        .match_requests(|r| r.version_stage() == Some("AWSPENDING"))
        .then_http_response(|| {
            json_error(
                400,
                "InvalidParameterException",
                "Version stage AWSPENDING not found",
            )
        });
    PasswordMocks {
        put,
        listed,
        set,
        moved,
        unstaged,
    }
}

async fn set_password(m: &PasswordMocks) -> Result<(), ResourceError> {
    use iotstack::resources::cognito_user::CognitoUser;

    let base = base_config(&Backoffs::default());
    let mut clients = Clients::from_config(base.clone());
    let rules = [&m.put, &m.listed, &m.moved, &m.unstaged];
    clients.secrets = secrets_client(&base, &rules);
    clients.cognito_idp = aws_sdk_cognitoidentityprovider::Client::from_conf(
        aws_sdk_cognitoidentityprovider::config::Builder::from(&base)
            .interceptor(interceptor(&[&m.set]))
            .build(),
    );
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(clients, dir.path());
    let want = desired(
        "app-user",
        json!({
            "user_pool_id": "us-east-1_EXAMPLE01",
            "username": "mk-app-user",
            "email": EMAIL,
            "password_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:mk-x",
        }),
    );
    CognitoUser
        .complete(&c, &want, &iotstack::resources::Created::new())
        .await
}

/// UpdateSecretVersionStage has no idempotency token: a retry after a lost answer names a
/// version the label has already left, and AWS may refuse it. When the secret's labels already
/// read as the call would leave them, the password is set.
#[tokio::test]
async fn a_label_move_refused_after_it_was_made_is_taken_as_done() {
    let m = password_mocks(&[("iotstack-old", &["AWSPREVIOUS"]), ("NEW", &["AWSCURRENT"])]);
    set_password(&m).await.expect("the password is set");
    assert_eq!(m.put.num_calls(), 1);
    assert_eq!(m.set.num_calls(), 1);
    assert_eq!(m.moved.num_calls(), 1);
    assert_eq!(m.unstaged.num_calls(), 1, "a client error is not retried");
    assert_eq!(m.listed.num_calls(), 2, "listed again once AWS refused");
}

/// A refusal while the new version still carries `AWSPENDING` is an error: nothing says the step
/// was made.
#[tokio::test]
async fn a_label_move_refused_and_not_made_is_an_error() {
    let m = password_mocks(&[
        ("iotstack-old", &["AWSPREVIOUS"]),
        ("NEW", &["AWSCURRENT", "AWSPENDING"]),
    ]);
    let e = set_password(&m).await.expect_err("refused");
    assert_eq!(e.code(), Some("InvalidParameterException"));
    assert_eq!(e.operation(), "UpdateSecretVersionStage");
    assert_eq!(m.listed.num_calls(), 2);
}

const CERT_ID: &str = "2b037e4e243236a2600d0b3125bfd26abb9872c049d3a29fa181b38150d8ca16";

fn iot_ctx(rules: &[&Rule], dir: &Path) -> Ctx {
    let base = base_config(&Backoffs::default());
    let mut clients = Clients::from_config(base.clone());
    clients.iot = iot_client(&base, rules);
    ctx(clients, dir)
}

fn certificate(active: bool) -> Observed {
    Observed::new(
        json!({"active": active}),
        json!({"id": CERT_ID, "arn": format!("arn:aws:iot:us-east-1:123456789012:cert/{CERT_ID}")}),
    )
}

/// destroy deactivates a certificate beside the removal of its attachments
/// (`Manage::before_delete`); its delete is then one DeleteCertificate, with nothing listed.
#[tokio::test]
async fn a_certificate_deactivated_ahead_is_deleted_at_once() {
    use aws_sdk_iot::operation::{
        delete_certificate::DeleteCertificateOutput, update_certificate::UpdateCertificateOutput,
    };
    use aws_sdk_iot::types::CertificateStatus;
    use aws_sdk_iot::Client;
    use iotstack::resources::iot_certificate::IotCertificate;

    let deactivate = mock!(Client::update_certificate)
        .match_requests(|r| r.new_status() == Some(&CertificateStatus::Inactive))
        .then_output(|| UpdateCertificateOutput::builder().build());
    let delete = mock!(Client::delete_certificate)
        .then_output(|| DeleteCertificateOutput::builder().build());
    let things = mock!(Client::list_principal_things).then_output(|| {
        aws_sdk_iot::operation::list_principal_things::ListPrincipalThingsOutput::builder().build()
    });
    let dir = tempfile::tempdir().unwrap();
    let c = iot_ctx(&[&deactivate, &delete, &things], dir.path());
    let left = IotCertificate
        .before_delete(&c, &certificate(true))
        .await
        .expect("deactivated")
        .expect("an active certificate is deactivated ahead");
    assert_eq!(left.props["active"], json!(false));
    assert_eq!(deactivate.num_calls(), 1);
    IotCertificate.delete(&c, &left).await.expect("deleted");
    assert_eq!(delete.num_calls(), 1);
    assert_eq!(deactivate.num_calls(), 1, "not deactivated twice");
    assert_eq!(things.num_calls(), 0, "nothing listed");
    // One already inactive needs nothing ahead.
    assert!(IotCertificate.deletes_ahead(&certificate(true)));
    assert!(!IotCertificate.deletes_ahead(&certificate(false)));
    let none = IotCertificate.before_delete(&c, &certificate(false)).await;
    assert!(none.expect("nothing to do").is_none());
}

/// When AWS refuses ("DeleteConflictException": a thing attached out of band, a detach not yet
/// propagated), the certificate's things and policies are listed, detached, and the delete is
/// made again.
#[tokio::test]
async fn a_certificate_aws_refuses_to_delete_is_detached_and_deleted() {
    use aws_sdk_iot::operation::{
        delete_certificate::DeleteCertificateOutput,
        detach_thing_principal::DetachThingPrincipalOutput,
        list_attached_policies::ListAttachedPoliciesOutput,
        list_principal_things::ListPrincipalThingsOutput,
        update_certificate::UpdateCertificateOutput,
    };
    use aws_sdk_iot::Client;
    use iotstack::resources::iot_certificate::IotCertificate;

    let delete = mock!(Client::delete_certificate)
        .sequence()
        .http_response(|| json_error(409, "DeleteConflictException", "Things must be detached"))
        .output(|| DeleteCertificateOutput::builder().build())
        .build();
    let things = mock!(Client::list_principal_things).then_output(|| {
        ListPrincipalThingsOutput::builder()
            .things("someone-elses-thing")
            .build()
    });
    let policies = mock!(Client::list_attached_policies)
        .then_output(|| ListAttachedPoliciesOutput::builder().build());
    let detach = mock!(Client::detach_thing_principal)
        .match_requests(|r| r.thing_name() == Some("someone-elses-thing"))
        .then_output(|| DetachThingPrincipalOutput::builder().build());
    let deactivate = mock!(Client::update_certificate)
        .then_output(|| UpdateCertificateOutput::builder().build());
    let dir = tempfile::tempdir().unwrap();
    let rules = [&delete, &things, &policies, &detach, &deactivate];
    let c = iot_ctx(&rules, dir.path());
    IotCertificate
        .delete(&c, &certificate(false))
        .await
        .expect("deleted");
    assert_eq!(delete.num_calls(), 2);
    assert_eq!(things.num_calls(), 1, "listed once AWS refused");
    assert_eq!(policies.num_calls(), 1);
    assert_eq!(detach.num_calls(), 1);
}

/// A thing whose principals the stack detached first is deleted at once; only when AWS refuses
/// ("Cannot delete thing which has attached principals") are its principals listed and
/// detached, and the delete made again.
#[tokio::test]
async fn a_thing_is_deleted_at_once_and_emptied_only_when_aws_refuses() {
    use aws_sdk_iot::operation::{
        delete_thing::DeleteThingOutput, detach_thing_principal::DetachThingPrincipalOutput,
        list_thing_principals::ListThingPrincipalsOutput,
    };
    use aws_sdk_iot::Client;
    use iotstack::resources::iot_thing::IotThing;

    let have = Observed::new(json!({}), json!({"name": "mk-thing"}));
    let listed = || {
        mock!(Client::list_thing_principals).then_output(|| {
            ListThingPrincipalsOutput::builder()
                .principals(format!("arn:aws:iot:us-east-1:123456789012:cert/{CERT_ID}"))
                .build()
        })
    };
    let detached = || {
        mock!(Client::detach_thing_principal)
            .then_output(|| DetachThingPrincipalOutput::builder().build())
    };
    let dir = tempfile::tempdir().unwrap();

    let at_once = mock!(Client::delete_thing).then_output(|| DeleteThingOutput::builder().build());
    let (list, detach) = (listed(), detached());
    let c = iot_ctx(&[&at_once, &list, &detach], dir.path());
    IotThing.delete(&c, &have).await.expect("deleted");
    assert_eq!(at_once.num_calls(), 1);
    assert_eq!(list.num_calls(), 0, "nothing listed");

    let refused = mock!(Client::delete_thing)
        .sequence()
        .http_response(|| {
            json_error(
                400,
                "InvalidRequestException",
                "Cannot delete thing which has attached principals",
            )
        })
        .output(|| DeleteThingOutput::builder().build())
        .build();
    let (list, detach) = (listed(), detached());
    let c = iot_ctx(&[&refused, &list, &detach], dir.path());
    IotThing.delete(&c, &have).await.expect("deleted");
    assert_eq!(refused.num_calls(), 2);
    assert_eq!(list.num_calls(), 1);
    assert_eq!(detach.num_calls(), 1);
}

/// Whether a new user's password is set beside the secret's labels rests on AdminCreateUser's
/// answer, which the emulator always gives as `FORCE_CHANGE_PASSWORD`. A user AWS answers in
/// any other status (one that needs no password to be confirmed, say) keeps the order: with
/// AdminSetUserPassword refused, no label moves, and the secret's current value is untouched.
#[tokio::test]
async fn only_a_user_created_waiting_for_a_password_has_its_labels_moved_beside_it() {
    use aws_sdk_cognitoidentityprovider::operation::admin_create_user::AdminCreateUserOutput;
    use aws_sdk_cognitoidentityprovider::types::{AttributeType, UserStatusType, UserType};
    use aws_sdk_secretsmanager::operation::{
        list_secret_version_ids::ListSecretVersionIdsOutput,
        put_secret_value::PutSecretValueOutput,
        update_secret_version_stage::UpdateSecretVersionStageOutput,
    };
    use iotstack::resources::cognito_user::CognitoUser;

    const POOL: &str = "us-east-1_MOCKED001";
    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:p-AbCdEf";
    for (status, moves) in [
        (UserStatusType::ForceChangePassword, 1),
        (UserStatusType::Confirmed, 0),
    ] {
        let answered = status.clone();
        let create = mock!(aws_sdk_cognitoidentityprovider::Client::admin_create_user).then_output(
            move || {
                let sub = AttributeType::builder()
                    .name("sub")
                    .value("11111111-2222-3333-4444-555555555555")
                    .build()
                    .unwrap();
                let user = UserType::builder()
                    .username("mk-app-user")
                    .attributes(sub)
                    .user_status(answered.clone())
                    .build();
                AdminCreateUserOutput::builder().user(user).build()
            },
        );
        let set = mock!(aws_sdk_cognitoidentityprovider::Client::admin_set_user_password)
            .then_http_response(|| json_error(400, "InvalidPasswordException", "refused"));
        let put =
            mock!(aws_sdk_secretsmanager::Client::put_secret_value).then_compute_output(|r| {
                PutSecretValueOutput::builder()
                    .arn(SECRET)
                    .set_version_id(r.client_request_token().map(str::to_string))
                    .build()
            });
        let listed = mock!(aws_sdk_secretsmanager::Client::list_secret_version_ids)
            .then_output(|| ListSecretVersionIdsOutput::builder().build());
        let labels = mock!(aws_sdk_secretsmanager::Client::update_secret_version_stage)
            .then_output(|| {
                UpdateSecretVersionStageOutput::builder()
                    .arn(SECRET)
                    .build()
            });

        let dir = tempfile::tempdir().unwrap();
        let base = base_config(&Backoffs::default());
        let mut clients = Clients::from_config(base.clone());
        clients.cognito_idp = cognito_idp_client(&base, &[&create, &set]);
        clients.secrets = secrets_client(&base, &[&put, &listed, &labels]);
        let c = ctx(clients, dir.path());
        let want = desired(
            "app-user",
            json!({
                "user_pool_id": POOL,
                "username": "mk-app-user",
                "email": EMAIL,
                "password_secret_arn": SECRET,
            }),
        );
        let made = CognitoUser.make(&c, &want).await.expect("the user is made");
        let e = CognitoUser
            .complete(&c, &want, &made)
            .await
            .expect_err("its password is refused");
        assert!(e.to_string().contains("AdminSetUserPassword"), "{e}");
        assert_eq!(set.num_calls(), 1);
        assert_eq!(
            labels.num_calls(),
            moves,
            "a user answered {status:?}: the secret's labels moved {} time(s)",
            labels.num_calls()
        );
    }
}
