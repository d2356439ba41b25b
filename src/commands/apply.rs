//! `iotstack apply`

use std::sync::Arc;

use crate::apply;
use crate::cli::{Global, ParamArgs, StackArgs};
use crate::error::{Error, Result};
use crate::plan::{self, Action};
use crate::render::progress::JsonReporter;

pub async fn run(
    g: &Global,
    sa: &StackArgs,
    pa: &ParamArgs,
    yes: bool,
    allow_data_loss: bool,
    break_lock: bool,
) -> Result<i32> {
    let body = |s| apply(g, sa, s, yes, allow_data_loss);
    super::Session::locked(g, sa, Some(pa), true, "apply", break_lock, body).await
}

/// Plans, confirms and applies, holding the stack's lock.
async fn apply(
    g: &Global,
    sa: &StackArgs,
    s: super::Session,
    yes: bool,
    allow_data_loss: bool,
) -> Result<i32> {
    let plan = plan::with_orphans(
        plan::plan(&s.ctx.prefix, &s.planned()),
        &s.orphans_planned(),
    );
    let jr = Arc::new(JsonReporter::new());
    super::show_plan(g, sa, &plan, &jr);
    if plan.has_changes() {
        // A replacement that deletes data (users) needs explicit consent, even with --yes.
        let losses: Vec<String> = plan
            .resources
            .iter()
            .filter(|r| r.action == Action::Replace)
            .filter_map(|r| {
                let loss = r.data_loss.as_ref()?;
                Some(format!("{} ({}): {loss}", r.id, r.type_name))
            })
            .collect();
        if !losses.is_empty() && !allow_data_loss {
            return Err(Error::Refused(format!(
                "refusing to replace resources that hold data:\n  {}\nNothing was changed. Pass --allow-data-loss to replace them anyway.",
                losses.join("\n  ")
            )));
        }
        super::confirm("Apply these changes?", yes, "apply")?;
    }
    let outcome = if plan.has_changes() {
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
