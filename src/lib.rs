//! iotstack: provisions the AWS IoT + Cognito setup from a declarative YAML stack, shows the
//! diff against what is live, applies or destroys it idempotently.

pub mod apply;
pub mod aws;
pub mod bundle;
pub mod cli;
pub mod commands;
pub mod discover;
pub mod doctor;
pub mod error;
pub mod graph;
pub mod lock;
pub mod package;
pub mod permissions;
pub mod plan;
pub mod record;
pub mod render;
pub mod resources;
pub mod stack;
pub mod state;
