//! `iotstack output`

use crate::cli::{Global, OutputFormat, StackArgs};
use crate::error::Result;
use crate::render;

pub async fn run(g: &Global, sa: &StackArgs, aws_exports: bool) -> Result<i32> {
    let s = super::Session::open(g, sa, None, false).await?;
    let (p, ctx, live) = (&s.prepared, &s.ctx, &s.live);
    if aws_exports {
        let v = render::outputs::aws_exports(&p.stack, live, &ctx.region);
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(0);
    }
    let outputs = render::outputs::collect(&ctx.prefix, &ctx.region, &ctx.account, live);
    match sa.output {
        OutputFormat::Json => println!("{}", render::outputs::json(&outputs)),
        OutputFormat::Human => print!(
            "{}",
            render::outputs::human(&outputs, &super::stdout_style(g))
        ),
    }
    Ok(0)
}
