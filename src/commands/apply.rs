//! `iotstack apply`

use std::sync::Arc;

use crate::apply::{self, Reporter};
use crate::cli::{Global, OutputFormat, ParamArgs, StackArgs};
use crate::error::{Error, Result};
use crate::plan::{self, Action, Planned};
use crate::render::{self, progress};

pub async fn run(
    g: &Global,
    sa: &StackArgs,
    pa: &ParamArgs,
    yes: bool,
    allow_data_loss: bool,
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
            jr.emit(render::json::summary(&apply::Outcome::default(), false));
        }
        return Ok(0);
    }
    // A replacement that deletes data (users) needs explicit consent, even with --yes.
    let losses: Vec<String> = live
        .iter()
        .filter(|l| {
            plan.get(&l.desired.id)
                .is_some_and(|r| r.action == Action::Replace)
        })
        .filter_map(|l| {
            let kind = p.stack.get(&l.desired.id)?.kind;
            let loss = kind.data_loss(l.observed.as_ref()?)?;
            Some(format!("{} ({}): {loss}", l.desired.id, kind.type_name()))
        })
        .collect();
    if !losses.is_empty() && !allow_data_loss {
        return Err(Error::Refused(format!(
            "refusing to replace resources that hold data:\n  {}\nNothing was changed. Pass --allow-data-loss to replace them anyway.",
            losses.join("\n  ")
        )));
    }
    super::confirm("Apply these changes?", yes, "apply")?;
    let reporter: Arc<dyn Reporter> = if json {
        jr.clone()
    } else {
        Arc::new(progress::HumanReporter::new(
            super::stderr_style(g),
            g.quiet,
            render::stderr_is_tty(),
        ))
    };
    let outcome = apply::apply(
        &p.stack,
        &values,
        &plan,
        &live,
        ctx.clone(),
        reporter,
        sa.parallelism as usize,
    )
    .await?;
    if json {
        jr.emit(render::json::summary(&outcome, false));
    } else {
        print!("{}", render::human::outcome(&outcome, false));
    }
    super::report_calls(g, &ctx);
    Ok(0)
}
