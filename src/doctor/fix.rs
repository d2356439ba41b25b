//! The doctor run: gather the facts, judge them and, with `--fix`, carry out the safe repairs and
//! judge again. Repairs go through the resource kinds: the same create, update and delete that
//! apply makes.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::gather::gather;
use super::{judge, Facts, Repair, Report, Status, Subject};
use crate::discover::{self, Live};
use crate::error::{Error, ResourceError, Result};
use crate::resources::{iot_policy, Changes, Ctx, Update};
use crate::stack::Stack;

/// What doctor is asked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub subject: Subject,
    /// Carry out the safe repairs, then check again.
    pub fix: bool,
    /// How many resources are read at once when reading the stack again after repairs.
    pub parallelism: usize,
    /// Judge offline only: do not ask AWS's own evaluators (IoT TestAuthorization, IAM
    /// SimulatePrincipalPolicy), for callers whose permissions lack them.
    pub offline_only: bool,
}

/// The stack doctor looks at: its resources as read, and how to read them again.
pub struct Scope<'a> {
    pub stack: &'a Stack,
    pub values: &'a BTreeMap<String, String>,
    pub ctx: &'a Arc<Ctx>,
    pub live: &'a [Live],
}

/// Runs every check; with `opts.fix`, repairs what is safe and reports the checks as they stand
/// afterwards, marking those the repairs fixed.
pub async fn diagnose(scope: &Scope<'_>, opts: &Options) -> Result<Report> {
    let ctx = scope.ctx;
    let ask_aws = !opts.offline_only;
    let facts = gather(ctx, scope.stack, scope.live, &opts.subject, ask_aws)
        .await
        .map_err(Error::Aws)?;
    let mut report = judge(&facts);
    if opts.fix {
        let repaired = repair(ctx, scope.stack, &facts, &report).await?;
        if !repaired.is_empty() {
            let (stack, values) = (scope.stack, scope.values);
            let reads = discover::read(
                stack,
                values,
                ctx.clone(),
                opts.parallelism,
                crate::resources::Depth::Survey,
            );
            let live = reads.await?.live;
            let facts = gather(ctx, scope.stack, &live, &opts.subject, ask_aws)
                .await
                .map_err(Error::Aws)?;
            report = fixed(&report, judge(&facts), repaired);
        }
    }
    if report.checks.is_empty() {
        return Err(Error::Other(
            "the stack has nothing doctor can check (no identity pool, device certificate, topic rule or secret)".into(),
        ));
    }
    Ok(report)
}

/// The report after repairs: `after`, with what was repaired, each check marked fixed if it
/// passes now and did not before.
pub fn fixed(before: &Report, mut after: Report, repaired: Vec<String>) -> Report {
    after.repaired = repaired;
    for c in &mut after.checks {
        let was = before
            .checks
            .iter()
            .find(|b| b.id == c.id && b.title == c.title);
        c.fixed = was.is_some_and(|b| b.status != c.status && c.status == Status::Pass);
    }
    after
}

/// The repairs of every failed or warning check, once each: restores in the stack's order
/// (dependencies first), then attachments and detachments.
pub fn repairs<'r>(facts: &Facts, report: &'r Report) -> Vec<&'r Repair> {
    let mut todo: Vec<&Repair> = Vec::new();
    let failing = report
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Warn));
    for r in failing.flat_map(|c| &c.repairs) {
        if !todo.contains(&r) {
            todo.push(r);
        }
    }
    let pos = |r: &Repair| match r {
        Repair::Restore { resource } => facts
            .resources
            .iter()
            .position(|d| &d.desired.id == resource)
            .unwrap_or(usize::MAX - 1),
        _ => usize::MAX,
    };
    todo.sort_by_key(|r| pos(r));
    todo
}

/// Carries out the repairs of the report; returns what was done.
async fn repair(ctx: &Ctx, stack: &Stack, facts: &Facts, report: &Report) -> Result<Vec<String>> {
    let mut done = Vec::new();
    for r in repairs(facts, report) {
        do_repair(ctx, stack, facts, r)
            .await
            .map_err(|e| Error::Resource {
                action: "repairing",
                resource: r.describe(),
                source: e,
            })?;
        done.push(r.describe());
    }
    Ok(done)
}

async fn do_repair(
    ctx: &Ctx,
    stack: &Stack,
    facts: &Facts,
    r: &Repair,
) -> std::result::Result<(), ResourceError> {
    match r {
        Repair::Restore { resource } => {
            let (Some(decl), Some(live)) = (stack.get(resource), facts.by_id(resource)) else {
                return Ok(());
            };
            let Some(kind) = decl.kind.managed() else {
                return Ok(());
            };
            // The update apply would make: only what differs from the stack is written.
            match &live.observed {
                Some(have) => {
                    let changes = crate::plan::changes(decl.kind, &live.desired, have);
                    kind.update(Update {
                        ctx,
                        want: &live.desired,
                        have,
                        changes: Changes(&changes),
                    })
                    .await
                }
                None => kind.create(ctx, &live.desired).await.map(drop),
            }
        }
        Repair::Attach { policy, target } => Ok(iot_policy::attach(ctx, policy, target).await?),
        Repair::Detach { policy, target } => {
            iot_policy::detach(ctx, [(policy.clone(), target.clone())]).await?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::fixture::*;
    use crate::doctor::Check;

    fn report(checks: Vec<Check>) -> Report {
        Report {
            prefix: "acme".into(),
            subject: Subject::default(),
            checks,
            repaired: Vec::new(),
        }
    }

    #[test]
    fn repairs_of_failing_checks_go_once_each_in_the_stack_order() {
        let f = healthy();
        let detach = Repair::Detach {
            policy: IDENTITY_POLICY.into(),
            target: POOL_ID.into(),
        };
        let r = report(vec![
            Check::new("a", "a")
                .fail("x", "y")
                .repair(detach.clone())
                .restore("auth-role"),
            Check::new("b", "b").warn("x", "y").restore("device-policy"),
            Check::new("c", "c").fail("x", "y").restore("auth-role"),
            Check::new("d", "d").pass("x").restore("alert-rule"),
        ]);
        let todo: Vec<String> = repairs(&f, &r).iter().map(|r| r.describe()).collect();
        assert_eq!(
            todo,
            [
                "restore `device-policy` to what the stack declares",
                "restore `auth-role` to what the stack declares",
                &detach.describe(),
            ]
        );
    }

    #[test]
    fn checks_that_pass_after_the_repairs_are_marked_fixed() {
        let before = report(vec![
            Check::new("a", "a").fail("x", "y"),
            Check::new("b", "b").pass("x"),
            Check::new("c", "c").fail("x", "y"),
        ]);
        let after = report(vec![
            Check::new("a", "a").pass("x"),
            Check::new("b", "b").pass("x"),
            Check::new("c", "c").fail("x", "y"),
            Check::new("d", "new").pass("x"),
        ]);
        let r = fixed(&before, after, vec!["attach p to t".into()]);
        let marks: Vec<bool> = r.checks.iter().map(|c| c.fixed).collect();
        assert_eq!(marks, [true, false, false, false]);
        assert_eq!(r.repaired, ["attach p to t"]);
    }
}
