//! Policy documents of AWS IoT and IAM, read offline: normalisation for comparison, the evaluator
//! of AWS IoT data-plane requests, lint, and the locations of JSON values in a document's text.
//!
//! No AWS call is made here: the documents come from the caller (a stack's templates, or what
//! AWS returned).

mod eval;
pub mod lint;
pub mod locate;
mod normalize;

pub use eval::{
    action_matches, client_arn, evaluate, evaluate_layers, evaluate_policies, has_wildcards,
    iot_arn, is_known_condition_operator, is_supported_condition_operator, partition_for_region,
    pattern_covers_prefix, policy_variables, resource_matches, topic_arn, topic_filter_arn,
    Context, Decision, Effect, Evaluation, IotAction, Layer, LayerEvaluation, LayeredResult,
    MatchedStatement, PolicyEvaluation, Refusal, Request, KEY_COGNITO_AMR, KEY_COGNITO_AUD,
    KEY_COGNITO_SUB, KEY_IOT_CLIENT_ID, KEY_SOURCE_IP, KEY_THING_NAME, POLICY_VERSION,
};
pub use normalize::normalize;
