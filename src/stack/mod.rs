//! The stack file: a YAML model with parameters, settings, resources and references, validated
//! offline. Every problem is collected and reported with file, line and column.
//!
//! - `model`: what a loaded stack is, and its order, dependencies and lookups;
//! - `load`: the YAML document read into the model;
//! - `count`: a resource declared once with `count: N` expanded into its numbered copies;
//! - `references`: `${id.attr}` and `depends_on` checked, dependencies and order;
//! - `resolve`: a resource's properties rendered as the desired state;
//! - `validate`: the offline checks behind `iotstack validate`, and name rules;
//! - `schema`: the keys the loader accepts, and the JSON Schema of the stack file built from them
//!   and the kinds' properties (`iotstack schema`);
//! - `source`: where the stack file and the files it names are read from (disk or built in);
//! - `params`, `template`, `yaml`: parameters, `${...}` interpolation, the positioned YAML tree.

pub mod count;
mod load;
mod model;
pub mod params;
mod references;
mod resolve;
pub mod schema;
pub mod source;
pub mod template;
pub mod validate;
pub mod yaml;

pub use model::{PropDecl, PropValue, ResourceDecl, Settings, Stack};
pub use source::{Source, DEFAULT_STACK};

#[cfg(test)]
mod tests;
