//! `iotstack plan`

use crate::cli::{Global, ParamArgs, StackArgs};
use crate::error::Result;
use crate::plan;
use crate::render;

pub async fn run(
    g: &Global,
    sa: &StackArgs,
    pa: &ParamArgs,
    detailed_exitcode: bool,
) -> Result<i32> {
    let s = super::Session::open(g, sa, Some(pa), true).await?;
    let plan = plan::with_orphans(
        plan::plan(&s.ctx.prefix, &s.planned()),
        &s.orphans_planned(),
    );
    super::print_result(
        g,
        sa.output,
        || render::json::plan(&plan),
        |style| render::human::plan(&plan, style, g.verbose),
    );
    super::report_calls(g, &s.ctx);
    Ok(if detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    })
}
