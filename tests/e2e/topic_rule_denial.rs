//! A topic rule read when GetTopicRule answers UnauthorizedException, which AWS IoT answers both
//! for a rule that does not exist and for a caller denied it, and a rule replaced while IAM has
//! not propagated its role yet: against the SDK's mocked HTTP layer (no emulator).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iot::config::{Credentials, SharedCredentialsProvider, StalledStreamProtectionConfig};
use aws_sdk_iot::operation::list_topic_rules::ListTopicRulesOutput;
use aws_sdk_iot::operation::replace_topic_rule::ReplaceTopicRuleOutput;
use aws_sdk_iot::types::TopicRuleListItem;
use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::json;

use iotstack::aws::{retry_config, Clients};
use iotstack::error::AwsError;
use iotstack::plan::PropChange;
use iotstack::resources::iot_topic_rule::IotTopicRule;
use iotstack::resources::{Changes, Ctx, Desired, Manage, Observed, Read};

const RULE: &str = "mk_alerts";

/// Clients whose IoT client answers from `rules` only (anything else gets a 418).
fn ctx(rules: &[&Rule], dir: &std::path::Path) -> Ctx {
    let base = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDMOCKED",
            "mocked",
            None,
            None,
            "mocked",
        )))
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .http_client(create_mock_http_client())
        .retry_config(retry_config())
        .build();
    let interceptor = rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |i, r| i.with_rule(r),
    );
    let iot = aws_sdk_iot::config::Builder::from(&base).interceptor(interceptor);
    let mut clients = Clients::from_config(base);
    clients.iot = aws_sdk_iot::Client::from_conf(iot.build());
    Ctx {
        clients,
        calls: Default::default(),
        prefix: "mk".into(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        state_dir: dir.to_path_buf(),
    }
}

/// An error as AWS IoT's REST-JSON protocol sends it.
fn iot_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = json!({ "__type": code, "message": message }).to_string();
    let status = StatusCode::try_from(status).expect("a valid status");
    let mut r = HttpResponse::new(status, SdkBody::from(body));
    r.headers_mut().insert("x-amzn-ErrorType", code.to_string());
    r
}

fn get_denied() -> Rule {
    mock!(aws_sdk_iot::Client::get_topic_rule)
        .match_requests(|r| r.rule_name() == Some(RULE))
        .then_http_response(|| {
            iot_error(
                401,
                "UnauthorizedException",
                "Access to topic rule 'mk_alerts' was denied",
            )
        })
}

fn listing(names: &'static [&'static str]) -> Rule {
    mock!(aws_sdk_iot::Client::list_topic_rules).then_output(move || {
        let items = names
            .iter()
            .map(|n| TopicRuleListItem::builder().rule_name(*n).build());
        ListTopicRulesOutput::builder()
            .set_rules(Some(items.collect()))
            .build()
    })
}

fn want() -> Desired {
    let props = json!({
        "name": RULE,
        "sql": "SELECT * FROM 'mk/alerts'",
        "sns_target_arn": "arn:aws:sns:us-east-1:123456789012:mk-iot-notification",
        "role_arn": "arn:aws:iam::123456789012:role/mk-iot-rule-sns-role",
    });
    Desired {
        id: "alert-rule".into(),
        props: props.as_object().unwrap().clone().into_iter().collect(),
        ..Default::default()
    }
}

async fn read(rules: &[&Rule]) -> Result<Option<Observed>, AwsError> {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(rules, dir.path());
    let r = IotTopicRule.read(&c, &want()).await;
    r.map_err(|e| e.aws().cloned().expect("an AWS error"))
}

#[tokio::test]
async fn an_unauthorized_rule_that_the_list_does_not_name_is_absent() {
    let (get, list) = (get_denied(), listing(&["other_rule"]));
    let have = read(&[&get, &list]).await;
    assert!(matches!(have, Ok(None)), "{have:?}");
    assert_eq!((get.num_calls(), list.num_calls()), (1, 1));
}

#[tokio::test]
async fn an_unauthorized_rule_that_the_list_names_is_a_denial() {
    let (get, list) = (get_denied(), listing(&["other_rule", RULE]));
    let err = read(&[&get, &list])
        .await
        .expect_err("the rule is there: reading it was denied");
    assert_eq!(err.operation, "GetTopicRule");
    assert_eq!(err.code.as_deref(), Some("UnauthorizedException"));
    assert_eq!(err.message, "Access to topic rule 'mk_alerts' was denied");
}

#[tokio::test]
async fn an_unauthorized_rule_whose_absence_cannot_be_confirmed_is_a_denial() {
    let get = get_denied();
    let list = mock!(aws_sdk_iot::Client::list_topic_rules)
        .then_http_response(|| iot_error(401, "UnauthorizedException", "not authorized"));
    let err = read(&[&get, &list])
        .await
        .expect_err("not confirmed absent");
    assert_eq!(err.operation, "GetTopicRule");
    assert_eq!(err.code.as_deref(), Some("UnauthorizedException"));
    assert_eq!(list.num_calls(), 1);
}

#[tokio::test]
async fn a_rule_whose_changed_role_is_not_assumable_yet_is_replaced_on_a_later_attempt() {
    let replace = mock!(aws_sdk_iot::Client::replace_topic_rule)
        .match_requests(|r| r.rule_name() == Some(RULE))
        .sequence()
        .http_response(|| {
            iot_error(
                400,
                "InvalidRequestException",
                "iot.amazonaws.com is unable to assume role (sts:AssumeRole) on resource: \
                 arn:aws:iam::123456789012:role/mk-iot-rule-sns-role",
            )
        })
        .output(|| ReplaceTopicRuleOutput::builder().build())
        .build();
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(&[&replace], dir.path());
    let changed = [PropChange {
        property: "role_arn".into(),
        before: Some(json!("arn:aws:iam::123456789012:role/old")),
        after: Some(want().props["role_arn"].clone()),
        after_unknown: false,
        forces_replacement: false,
    }];
    let have = Observed::default();
    IotTopicRule
        .update(&c, &want(), &have, Changes(&changed))
        .await
        .expect("replaced once IAM has propagated");
    assert_eq!(replace.num_calls(), 2);
}
