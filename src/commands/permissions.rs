//! `iotstack permissions`: the least IAM policy a deployer needs for a stack, offline.

use std::path::Path;

use crate::cli::Global;
use crate::error::{Diagnostic, Error, Origin, Result};
use crate::permissions::{self, Target};
use crate::stack::params::{self, ParamInput};
use crate::stack::Stack;

/// What IAM holds at most in one managed policy (characters, whitespace not counted).
const MANAGED_POLICY_MAX: usize = 6144;

pub fn run(
    g: &Global,
    stack: Option<&Path>,
    prefix: Option<String>,
    account: Option<&str>,
) -> Result<i32> {
    let stack = Stack::open(stack).map_err(Error::Invalid)?;
    let input = ParamInput {
        prefix: super::flag(&prefix, "--prefix", "IOTSTACK_PREFIX"),
        ..Default::default()
    };
    let params = params::validate(&input, &stack.defaults, &["prefix"]).map_err(Error::Invalid)?;
    stack.check_names(&params).map_err(Error::Invalid)?;
    if let Some(a) = account.filter(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit())) {
        return Err(Error::Invalid(vec![Diagnostic::error(
            Origin::Flag("--account".into()),
            format!("`{a}` is not an AWS account id"),
        )
        .hint("an account id is 12 digits, e.g. 123456789012")]));
    }
    let target = Target {
        prefix: params.prefix.value,
        region: g.region.clone(),
        account: account.map(str::to_string),
    };
    let policy = permissions::policy(&stack, &target).map_err(Error::Other)?;
    let text = serde_json::to_string_pretty(&policy).expect("a policy serialises");
    println!("{text}");
    let size = text.chars().filter(|c| !c.is_whitespace()).count();
    if size > MANAGED_POLICY_MAX && !g.quiet {
        eprintln!(
            "note: the policy is {size} characters (whitespace aside); a managed policy holds at most {MANAGED_POLICY_MAX}: split its statements over two policies"
        );
    }
    Ok(0)
}
