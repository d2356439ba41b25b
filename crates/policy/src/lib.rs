//! Policy documents of AWS IoT and IAM, read offline: normalisation for comparison, the evaluator
//! of AWS IoT data-plane requests, lint, and the locations of JSON values in a document's text.
//!
//! No AWS call is made here: the documents come from the caller (a stack's templates, or what
//! AWS returned).

/// `Display` for `$type` as the text its method `$text` returns (`Decision::as_str`, ...).
macro_rules! display_as {
    ($type:ty, $text:ident) => {
        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.$text())
            }
        }
    };
}

mod condition;
mod decision;
mod document;
pub mod lint;
pub mod locate;
mod normalize;
mod pattern;
mod request;
mod statement;

pub use condition::{is_known_condition_operator, is_supported_condition_operator};
pub use decision::{
    evaluate, evaluate_layers, evaluate_policies, Decision, Evaluation, Layer, LayerEvaluation,
    LayeredResult, MatchedStatement, PolicyEvaluation, Refusal,
};
pub use document::{Effect, POLICY_VERSION};
pub use normalize::normalize;
pub use pattern::{
    action_matches, has_wildcards, pattern_covers_prefix, policy_variables, resource_matches,
};
pub use request::{
    client_arn, iot_arn, partition_for_region, topic_arn, topic_filter_arn, Context, IotAction,
    Request, KEY_COGNITO_AMR, KEY_COGNITO_AUD, KEY_COGNITO_SUB, KEY_IOT_CLIENT_ID, KEY_SOURCE_IP,
    KEY_THING_NAME,
};
