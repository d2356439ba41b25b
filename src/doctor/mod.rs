//! `doctor`: why a user or device cannot connect, publish or subscribe. One check per concern,
//! each with a status, the evidence (which policy, which statement, which ARN) and the exact fix;
//! results are data, rendered elsewhere. `--fix` applies only safe, idempotent repairs: it brings
//! a resource back to what the stack declares (the same update apply would make), attaches the
//! IoT policy to the identity, or detaches a target attached by mistake.
//!
//! Three steps, each in its place: [`gather`] asks AWS (every call doctor makes beyond reading the
//! stack's resources) and returns [`Facts`], plain data; the checks of each concern judge those
//! facts in pure functions ([`judge`]); [`fix`] runs them, carries out the repairs and checks
//! again. Unless `--offline-only`, gather also asks AWS's own evaluators about the requests the
//! access checks judge, and [`crosscheck`] sets their verdict beside the offline one.

pub mod access;
pub mod alerts;
pub mod crosscheck;
pub mod device;
pub mod facts;
pub mod fix;
pub mod gather;
pub mod hygiene;
pub mod identity;
pub mod identity_policy;
pub mod secret;

#[cfg(test)]
mod fixture;

use serde::Serialize;

pub use facts::Facts;
pub use fix::{diagnose, Options};

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
    /// Fails because a resource of the stack is missing: apply (or `--fix`) makes it again.
    pub fn missing(self, evidence: impl Into<String>, resource: &str) -> Check {
        self.fail(evidence, "run `iotstack apply`")
            .restore(resource)
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
    /// Fails with the first problem as the evidence and the others as notes.
    pub fn fail_all(
        self,
        problems: impl IntoIterator<Item = String>,
        fix: impl Into<String>,
    ) -> Check {
        self.first_then_notes(Status::Fail, problems, fix.into())
    }
    /// Warns with the first concern as the evidence and the others as notes.
    pub fn warn_all(
        self,
        concerns: impl IntoIterator<Item = String>,
        fix: impl Into<String>,
    ) -> Check {
        self.first_then_notes(Status::Warn, concerns, fix.into())
    }
    fn first_then_notes(
        mut self,
        status: Status,
        evidence: impl IntoIterator<Item = String>,
        fix: String,
    ) -> Check {
        self.status = status;
        self.evidence.extend(evidence);
        self.fix = Some(fix);
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

/// Every concern's checks, in the order they are shown.
const CONCERNS: &[fn(&Facts) -> Vec<Check>] = &[
    identity::checks,
    device::checks,
    alerts::checks,
    secret::checks,
    hygiene::checks,
];

/// Judges the facts: every check, as data. Pure: no AWS, no I/O.
pub fn judge(facts: &Facts) -> Report {
    Report {
        prefix: facts.prefix.clone(),
        subject: facts.subject.clone(),
        checks: CONCERNS.iter().flat_map(|checks| checks(facts)).collect(),
        repaired: Vec::new(),
    }
}
