//! The stack file: a YAML model with parameters, settings, resources and references, validated
//! offline. Every problem is collected and reported with file, line and column.
//!
//! - `model`: what a loaded stack is, and its order, dependencies and lookups;
//! - `load`: the YAML document read into the model;
//! - `references`: `${id.attr}` and `depends_on` checked, dependencies and order;
//! - `resolve`: a resource's properties rendered as the desired state;
//! - `validate`: the offline checks behind `iotstack validate`, and name rules;
//! - `params`, `template`, `yaml`: parameters, `${...}` interpolation, the positioned YAML tree.

mod load;
mod model;
pub mod params;
mod references;
mod resolve;
pub mod template;
pub mod validate;
pub mod yaml;

pub use model::{PropDecl, PropValue, ResourceDecl, Settings, Stack};

pub const DEFAULT_STACK: &str = "stacks/default.yaml";

#[cfg(test)]
mod tests;
