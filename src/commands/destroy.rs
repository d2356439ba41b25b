//! `iotstack destroy`

use std::sync::Arc;

use crate::apply::{self, Reporter};
use crate::cli::{Global, OutputFormat, StackArgs};
use crate::error::Result;
use crate::plan::{self, Planned};
use crate::render::{self, progress};

pub async fn run(g: &Global, sa: &StackArgs, yes: bool) -> Result<i32> {
    let p = super::prepare(sa, None, false)?;
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
    let plan = plan::destroy(&ctx.prefix, &items);
    let json = sa.output == OutputFormat::Json;
    let jr = Arc::new(progress::JsonReporter::new());
    if json {
        let mut v = render::json::plan(&plan);
        v["type"] = serde_json::json!("plan");
        jr.emit(v);
    } else if !g.quiet || plan.has_changes() {
        print!(
            "{}",
            render::human::plan(&plan, &super::stdout_style(g), g.verbose)
        );
    }
    if !plan.has_changes() {
        if json {
            jr.emit(render::json::summary(&apply::Outcome::default(), true));
        }
        return Ok(0);
    }
    super::confirm("Destroy these resources?", yes, "destroy")?;
    let reporter: Arc<dyn Reporter> = if json {
        jr.clone()
    } else {
        Arc::new(progress::HumanReporter::new(
            super::stderr_style(g),
            g.quiet,
            render::stderr_is_tty(),
        ))
    };
    let outcome = apply::destroy(
        &p.stack,
        &live,
        ctx.clone(),
        reporter,
        sa.parallelism as usize,
    )
    .await?;
    if json {
        jr.emit(render::json::summary(&outcome, true));
    } else {
        print!("{}", render::human::outcome(&outcome, true));
    }
    super::report_calls(g, &ctx);
    Ok(0)
}
