//! `iotstack output`

use crate::cli::{Global, OutputFormat, StackArgs};
use crate::error::Result;
use crate::render;

pub async fn run(g: &Global, sa: &StackArgs) -> Result<i32> {
    let p = super::prepare(sa, None, false)?;
    let (ctx, values) = super::connect(g, &p).await?;
    let live = super::read_live(&p, &ctx, &values, sa).await?;
    let outputs = render::outputs::collect(&ctx.prefix, &ctx.region, &ctx.account, &live);
    match sa.output {
        OutputFormat::Json => println!("{}", render::outputs::json(&outputs)),
        OutputFormat::Human => print!(
            "{}",
            render::outputs::human(&outputs, &super::stdout_style(g))
        ),
    }
    Ok(0)
}
