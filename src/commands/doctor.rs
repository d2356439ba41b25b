//! `iotstack doctor`

use crate::cli::{Global, OutputFormat, ParamArgs, StackArgs};
use crate::doctor::{self, Facts, Subject};
use crate::error::{Error, Result};
use crate::render;

pub async fn run(
    g: &Global,
    sa: &StackArgs,
    subject: Subject,
    fix: bool,
    break_lock: bool,
) -> Result<i32> {
    let pa = ParamArgs {
        email: None,
        ip: subject.ip.clone(),
    };
    if fix {
        // Repairs change the stack: they hold its lock. Checks alone only read.
        let body = |s| diagnose(g, sa, s, subject, fix);
        super::Session::locked(g, sa, Some(&pa), false, "doctor --fix", break_lock, body).await
    } else {
        let s = super::Session::open(g, sa, Some(&pa), false).await?;
        diagnose(g, sa, s, subject, fix).await
    }
}

async fn diagnose(
    g: &Global,
    sa: &StackArgs,
    s: super::Session,
    mut subject: Subject,
    fix: bool,
) -> Result<i32> {
    let (p, ctx, values) = (&s.prepared, &s.ctx, &s.values);
    subject.ip = p.params.ip.as_ref().map(|i| i.value.clone());
    let facts = Facts {
        stack: &p.stack,
        live: &s.live,
        ctx,
        subject: &subject,
    };
    let mut report = doctor::run(&facts).await?;
    if fix {
        let repaired = doctor::repair(&facts, &report).await?;
        if !repaired.is_empty() {
            let before = report;
            let live = super::read_live(p, ctx, values, sa).await?;
            let facts = Facts {
                stack: &p.stack,
                live: &live,
                ctx,
                subject: &subject,
            };
            report = doctor::run(&facts).await?;
            report.repaired = repaired;
            for c in &mut report.checks {
                let was = before
                    .checks
                    .iter()
                    .find(|b| b.id == c.id && b.title == c.title);
                c.fixed =
                    was.is_some_and(|b| b.status != c.status && c.status == doctor::Status::Pass);
            }
        }
    }
    if report.checks.is_empty() {
        return Err(Error::Other(
            "the stack has nothing doctor can check (no identity pool, device certificate, topic rule or secret)".into(),
        ));
    }
    match sa.output {
        OutputFormat::Json => println!("{}", render::doctor::json(&report)),
        OutputFormat::Human => print!(
            "{}",
            render::doctor::human(&report, &super::stdout_style(g), g.verbose)
        ),
    }
    super::report_calls(g, ctx);
    Ok(if report.failed() { 2 } else { 0 })
}
