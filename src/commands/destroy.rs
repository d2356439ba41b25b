//! `iotstack destroy`

use std::sync::Arc;

use crate::apply;
use crate::cli::{Global, StackArgs};
use crate::error::Result;
use crate::plan;
use crate::render::progress::JsonReporter;

pub async fn run(g: &Global, sa: &StackArgs, yes: bool, break_lock: bool) -> Result<i32> {
    let body = |s| destroy(g, sa, s, yes);
    let mut prepared = super::prepare(sa, None, false)?;
    // Destroy reads what ownership and the deletes need, not what a plan would compare.
    prepared.depth = crate::resources::Depth::Delete;
    super::Session::locked(g, sa, prepared, "destroy", break_lock, body).await
}

/// Plans, confirms and destroys, holding the stack's lock (released as the very last step).
async fn destroy(g: &Global, sa: &StackArgs, s: super::Session, yes: bool) -> Result<i32> {
    let plan = plan::with_orphans(
        plan::destroy(&s.ctx.prefix, &s.planned())
            .leave(&apply::foreign_ids(&s.prepared.stack, &s.live)),
        &s.orphans_planned(),
    );
    let jr = Arc::new(JsonReporter::new());
    super::show_plan(g, sa, &plan, &jr);
    let outcome = if plan.has_changes() {
        super::confirm("Destroy these resources?", yes, "destroy")?;
        let reporter = super::reporter(g, sa, &jr);
        let bound = sa.parallelism as usize;
        apply::destroy(&s.work(), reporter, bound).await?
    } else {
        apply::Outcome::default()
    };
    // The stack's record goes with the stack (also when an earlier destroy removed everything
    // but was stopped before the record). It is the last write: the lock's release starts
    // reading beside it.
    s.ending_soon();
    crate::record::remove(&s.ctx).await?;
    // What a killed run left in the stack's local folder goes with the stack.
    crate::state::remove_after_destroy(&s.prepared.stack.settings.output_dir, &s.ctx.state_dir);
    super::show_outcome(sa, &outcome, true, &jr);
    super::report_calls(g, &s.ctx);
    Ok(0)
}
