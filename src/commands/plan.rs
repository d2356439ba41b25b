//! `iotstack plan`

use crate::cli::{Global, OutputFormat, ParamArgs, StackArgs};
use crate::error::Result;
use crate::plan::{self, Planned};
use crate::render;

pub async fn run(
    g: &Global,
    sa: &StackArgs,
    pa: &ParamArgs,
    detailed_exitcode: bool,
) -> Result<i32> {
    let p = super::prepare(sa, Some(pa), true)?;
    let (ctx, values) = super::connect(g, &p).await?;
    let live = super::read_live(&p, &ctx, &values, sa).await?;
    let items: Vec<Planned> = live
        .iter()
        .map(|l| Planned {
            kind: p
                .stack
                .get(&l.desired.id)
                .expect("live comes from the stack")
                .kind,
            desired: &l.desired,
            observed: l.observed.as_ref(),
        })
        .collect();
    let plan = plan::plan(&ctx.prefix, &items);
    match sa.output {
        OutputFormat::Json => println!("{}", render::json::plan(&plan)),
        OutputFormat::Human => print!(
            "{}",
            render::human::plan(&plan, &super::stdout_style(g), g.verbose)
        ),
    }
    super::report_calls(g, &ctx);
    Ok(if detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    })
}
