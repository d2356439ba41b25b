//! `iotstack output`

use std::path::Path;

use crate::cli::{Global, StackArgs};
use crate::error::Result;
use crate::render;

pub async fn run(
    g: &Global,
    sa: &StackArgs,
    aws_exports: bool,
    device_bundle: Option<&Path>,
) -> Result<i32> {
    // A folder the bundle may not be written to is refused before any AWS call.
    if let Some(dir) = device_bundle {
        crate::bundle::check_target(dir)?;
    }
    let s = super::Session::open(g, sa, None, false).await?;
    let (p, ctx, live) = (&s.prepared, &s.ctx, &s.live);
    if aws_exports {
        let v = render::outputs::aws_exports(&p.stack, live, &ctx.region);
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(0);
    }
    let mut outputs = render::outputs::collect(&ctx.prefix, &ctx.region, &ctx.account, live);
    if let Some(dir) = device_bundle {
        outputs.device_bundle = Some(crate::bundle::write(ctx, &p.stack, live, dir).await?);
    }
    super::print_result(
        g,
        sa.output,
        || render::outputs::json(&outputs),
        |style| render::outputs::human(&outputs, style),
    );
    Ok(0)
}
