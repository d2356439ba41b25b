//! `iotstack apply`

use std::sync::Arc;

use crate::apply;
use crate::cli::{Global, ParamArgs, StackArgs};
use crate::error::Result;
use crate::plan;
use crate::render::progress::JsonReporter;

pub async fn run(
    g: &Global,
    sa: &StackArgs,
    pa: &ParamArgs,
    yes: bool,
    allow_data_loss: bool,
    break_lock: bool,
    adopt: &[String],
) -> Result<i32> {
    let body = |s| apply(g, sa, s, yes, allow_data_loss, adopt);
    let prepared = super::prepare(sa, Some(pa), true)?;
    super::Session::locked(g, sa, prepared, "apply", break_lock, body).await
}

/// Plans, confirms and applies, holding the stack's lock.
async fn apply(
    g: &Global,
    sa: &StackArgs,
    s: super::Session,
    yes: bool,
    allow_data_loss: bool,
    adopt: &[String],
) -> Result<i32> {
    let plan = plan::with_orphans(
        plan::plan(&s.ctx.prefix, &s.planned()),
        &s.orphans_planned(),
    )
    .adopt(adopt)?;
    let jr = Arc::new(JsonReporter::new());
    super::show_plan(g, sa, &plan, &jr);
    if plan.has_changes() {
        plan.refuse_data_loss(allow_data_loss)?;
        super::confirm("Apply these changes?", yes, "apply")?;
    }
    // A foreign resource is left untouched and fails with its dependents (the message says how
    // to adopt it); the rest of the stack is applied.
    let foreign = plan.summary().foreign > 0;
    let outcome = if plan.has_changes() || foreign {
        let reporter = super::reporter(g, sa, &jr);
        let bound = sa.parallelism as usize;
        apply::apply(&s.work(), &plan, reporter, bound).await?
    } else {
        apply::Outcome::default()
    };
    super::show_outcome(sa, &outcome, false, &jr);
    super::report_calls(g, &s.ctx);
    Ok(0)
}
