//! `iotstack doctor`

use crate::cli::{Global, ParamArgs, StackArgs};
use crate::doctor::{self, fix::Scope, Options, Subject};
use crate::error::Result;
use crate::render;

pub async fn run(
    g: &Global,
    sa: &StackArgs,
    subject: Subject,
    fix: bool,
    break_lock: bool,
    offline_only: bool,
) -> Result<i32> {
    let pa = ParamArgs {
        email: None,
        ip: subject.ip.clone(),
    };
    let mut prepared = super::prepare(sa, Some(&pa), false)?;
    // Doctor lists the pools under the stack's names, to find duplicates plan does not look for
    // where the record gives the pools' ids.
    prepared.depth = crate::resources::Depth::Survey;
    if fix {
        // Repairs change the stack: they hold its lock. Checks alone only read.
        let body = |s| diagnose(g, sa, s, subject, fix, offline_only);
        super::Session::locked(g, sa, prepared, "doctor --fix", break_lock, body).await
    } else {
        let s = super::Session::open_prepared(g, sa, prepared).await?;
        diagnose(g, sa, s, subject, fix, offline_only).await
    }
}

async fn diagnose(
    g: &Global,
    sa: &StackArgs,
    s: super::Session,
    mut subject: Subject,
    fix: bool,
    offline_only: bool,
) -> Result<i32> {
    let p = &s.prepared;
    subject.ip = p.params.ip.as_ref().map(|i| i.value.clone());
    let scope = Scope {
        stack: &p.stack,
        values: &s.values,
        ctx: &s.ctx,
        live: &s.live,
    };
    let opts = Options {
        subject,
        fix,
        parallelism: sa.parallelism as usize,
        offline_only,
    };
    let report = doctor::diagnose(&scope, &opts).await?;
    super::print_result(
        g,
        sa.output,
        || render::doctor::json(&report),
        |style| render::doctor::human(&report, style, g.verbose),
    );
    super::report_calls(g, &s.ctx);
    Ok(if report.failed() { 2 } else { 0 })
}
