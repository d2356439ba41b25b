//! `iotstack validate`: the stack file, its parameters and derived names, and a lint of every
//! policy template, offline: no AWS call, no AWS configuration.

use std::path::Path;

use crate::cli::{Global, OutputFormat, ParamArgs};
use crate::render;
use crate::stack::params::ParamInput;
use crate::stack::validate;

pub fn run(
    g: &Global,
    stack: Option<&Path>,
    prefix: Option<&str>,
    pa: &ParamArgs,
    output: OutputFormat,
    strict: bool,
) -> i32 {
    let prefix = prefix.map(str::to_string);
    let input = ParamInput {
        prefix: super::flag(&prefix, "--prefix", "IOTSTACK_PREFIX"),
        email: super::flag(&pa.email, "--email", "IOTSTACK_EMAIL"),
        ip: super::flag(&pa.ip, "--ip", "IOTSTACK_IP"),
    };
    let report = validate::check(stack, &input, g.region.as_deref());
    let passes = report.passes(strict);
    super::print_result(
        g,
        output,
        || render::validate::json(&report, passes),
        |style| render::validate::human(&report, strict, g.quiet, style),
    );
    if passes {
        0
    } else {
        1
    }
}
