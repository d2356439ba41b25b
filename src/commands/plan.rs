//! `iotstack plan`

use crate::cli::{Global, OutputFormat, ParamArgs, StackArgs};
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
    match sa.output {
        OutputFormat::Json => println!("{}", render::json::plan(&plan)),
        OutputFormat::Human => print!(
            "{}",
            render::human::plan(&plan, &super::stdout_style(g), g.verbose)
        ),
    }
    super::report_calls(g, &s.ctx);
    Ok(if detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    })
}
