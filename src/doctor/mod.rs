//! `doctor`: why a user or device cannot connect, publish or subscribe. One check per concern,
//! each with a status, the evidence (which policy, which statement, which ARN) and the exact fix;
//! results are data, rendered elsewhere. `--fix` applies only safe, idempotent repairs: it brings
//! a resource back to what the stack declares (the same update apply would make), attaches the
//! IoT policy to the identity, or detaches a target attached by mistake.

pub mod alerts;
pub mod device;
pub mod hygiene;
pub mod identity;
pub mod secret;

use serde::Serialize;

use crate::discover::Live;
use crate::error::{Error, ResourceError, Result};
use crate::resources::{iot_policy, Ctx};
use crate::stack::Stack;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    /// Not applicable, or not checkable because an earlier check failed.
    Skip,
}

/// A safe, idempotent repair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Repair {
    /// Bring a resource of the stack back to what the stack declares.
    Restore { resource: String },
    /// Attach the IoT policy to a Cognito identity.
    Attach { policy: String, target: String },
    /// Detach a target attached to the IoT policy by mistake.
    Detach { policy: String, target: String },
}

impl Repair {
    pub fn describe(&self) -> String {
        match self {
            Repair::Restore { resource } => {
                format!("restore `{resource}` to what the stack declares")
            }
            Repair::Attach { policy, target } => format!("attach {policy} to {target}"),
            Repair::Detach { policy, target } => format!("detach {policy} from {target}"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub title: String,
    pub status: Status,
    pub evidence: Vec<String>,
    /// The exact fix, for a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// What `--fix` would do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repairs: Vec<Repair>,
    /// `--fix` repaired it in this run.
    pub fixed: bool,
}

impl Check {
    pub fn new(id: &'static str, title: impl Into<String>) -> Check {
        Check {
            id,
            title: title.into(),
            status: Status::Pass,
            evidence: Vec::new(),
            fix: None,
            repairs: Vec::new(),
            fixed: false,
        }
    }
    pub fn pass(mut self, evidence: impl Into<String>) -> Check {
        self.status = Status::Pass;
        self.evidence.push(evidence.into());
        self
    }
    pub fn fail(mut self, evidence: impl Into<String>, fix: impl Into<String>) -> Check {
        self.status = Status::Fail;
        self.evidence.push(evidence.into());
        self.fix = Some(fix.into());
        self
    }
    pub fn warn(mut self, evidence: impl Into<String>, fix: impl Into<String>) -> Check {
        self.status = Status::Warn;
        self.evidence.push(evidence.into());
        self.fix = Some(fix.into());
        self
    }
    pub fn skip(mut self, why: impl Into<String>) -> Check {
        self.status = Status::Skip;
        self.evidence.push(why.into());
        self
    }
    pub fn note(mut self, evidence: impl Into<String>) -> Check {
        self.evidence.push(evidence.into());
        self
    }
    pub fn repair(mut self, r: Repair) -> Check {
        if !self.repairs.contains(&r) {
            self.repairs.push(r);
        }
        self
    }
    pub fn restore(self, resource: &str) -> Check {
        self.repair(Repair::Restore {
            resource: resource.to_string(),
        })
    }
}

/// Who or what to diagnose.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Subject {
    pub identity_id: Option<String>,
    pub username: Option<String>,
    pub client_id: Option<String>,
    pub topic: Option<String>,
    /// The address (or CIDR) the app secret must be readable from.
    pub ip: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub prefix: String,
    pub subject: Subject,
    pub checks: Vec<Check>,
    /// Repairs `--fix` carried out, in order.
    pub repaired: Vec<String>,
}

impl Report {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.checks {
            match c.status {
                Status::Pass => s.pass += 1,
                Status::Warn => s.warn += 1,
                Status::Fail => s.fail += 1,
                Status::Skip => s.skip += 1,
            }
        }
        s
    }
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }
}

/// What the checks look at: the stack, what is live for it, and AWS.
pub struct Facts<'a> {
    pub stack: &'a Stack,
    pub live: &'a [Live],
    pub ctx: &'a Ctx,
    pub subject: &'a Subject,
}

impl<'a> Facts<'a> {
    /// The first resource of a type in the stack, with what is live for it.
    pub fn of_type(&self, type_name: &str) -> Option<&'a Live> {
        self.stack
            .resources
            .iter()
            .filter(|r| r.kind.type_name() == type_name)
            .find_map(|r| self.by_id(&r.id))
    }
    pub fn all_of_type(&self, type_name: &str) -> Vec<&'a Live> {
        self.stack
            .resources
            .iter()
            .filter(|r| r.kind.type_name() == type_name)
            .filter_map(|r| self.by_id(&r.id))
            .collect()
    }
    pub fn by_id(&self, id: &str) -> Option<&'a Live> {
        self.live.iter().find(|l| l.desired.id == id)
    }
    /// The resource of a type whose desired `prop` equals `value` (a role by its ARN, say).
    pub fn find(&self, type_name: &str, attr: &str, value: &str) -> Option<&'a Live> {
        self.all_of_type(type_name).into_iter().find(|l| {
            l.observed.as_ref().is_some_and(|o| o.attr(attr) == value)
                || l.desired.opt_str(attr) == Some(value)
        })
    }
}

/// Runs every check.
pub async fn run(facts: &Facts<'_>) -> Result<Report> {
    let mut checks = Vec::new();
    checks.extend(identity::checks(facts).await.map_err(Error::Aws)?);
    checks.extend(device::checks(facts).await.map_err(Error::Aws)?);
    checks.extend(alerts::checks(facts).await.map_err(Error::Aws)?);
    checks.extend(secret::checks(facts).await.map_err(Error::Aws)?);
    checks.extend(hygiene::checks(facts).await.map_err(Error::Aws)?);
    Ok(Report {
        prefix: facts.ctx.prefix.clone(),
        subject: facts.subject.clone(),
        checks,
        repaired: Vec::new(),
    })
}

/// Carries out the repairs of every failed or warning check; returns what was done.
pub async fn repair(facts: &Facts<'_>, report: &Report) -> Result<Vec<String>> {
    let mut todo: Vec<&Repair> = Vec::new();
    for c in report
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Warn))
    {
        for r in &c.repairs {
            if !todo.contains(&r) {
                todo.push(r);
            }
        }
    }
    // Restores go in the stack's dependency order; attachments after them.
    let pos = |r: &Repair| match r {
        Repair::Restore { resource } => facts
            .stack
            .resources
            .iter()
            .position(|d| &d.id == resource)
            .unwrap_or(usize::MAX - 1),
        _ => usize::MAX,
    };
    todo.sort_by_key(|r| pos(r));
    let mut done = Vec::new();
    for r in todo {
        do_repair(facts, r).await.map_err(|e| Error::Resource {
            action: "repairing",
            resource: r.describe(),
            source: e,
        })?;
        done.push(r.describe());
    }
    Ok(done)
}

async fn do_repair(facts: &Facts<'_>, r: &Repair) -> std::result::Result<(), ResourceError> {
    let ctx = facts.ctx;
    match r {
        Repair::Restore { resource } => {
            let (Some(decl), Some(live)) = (facts.stack.get(resource), facts.by_id(resource))
            else {
                return Ok(());
            };
            let Some(kind) = decl.kind.managed() else {
                return Ok(());
            };
            match &live.observed {
                Some(have) => {
                    let changes = crate::plan::changes(decl.kind, &live.desired, have);
                    let changes = crate::resources::Changes(&changes);
                    kind.update(ctx, &live.desired, have, changes).await
                }
                None => kind.create(ctx, &live.desired).await,
            }
        }
        Repair::Attach { policy, target } => Ok(iot_policy::attach(ctx, policy, target).await?),
        Repair::Detach { policy, target } => {
            let link = (policy.clone(), target.clone());
            iot_policy::detach(ctx, [link]).await?;
            Ok(())
        }
    }
}
