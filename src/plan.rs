//! The plan is a value: `plan(desired, observed)` is a pure function, with no I/O.

use serde::Serialize;
use serde_json::Value;

use crate::error::Error;
use crate::resources::{Desired, Kind, Observed};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
    /// Live under the stack's name without the stack's mark: left untouched unless adopted.
    Foreign,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::Foreign => "!",
        }
    }
    pub fn verb(self) -> &'static str {
        match self {
            Action::NoOp => "no change",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Foreign => "exists, not owned by this stack",
        }
    }
}

/// One property that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropChange {
    pub property: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// The new value depends on a resource that does not exist yet.
    pub after_unknown: bool,
    pub forces_replacement: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceChange {
    pub id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub name: String,
    pub action: Action,
    pub changes: Vec<PropChange>,
    /// For display only: why a replacement is needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What replacing or deleting the resource destroys beyond configuration (users, say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_loss: Option<String>,
    /// For a foreign resource: what adopting it does (its `changes` then apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_adopted: Option<Action>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub no_op: usize,
    pub foreign: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub prefix: String,
    pub destroy: bool,
    pub resources: Vec<ResourceChange>,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for r in &self.resources {
            match r.action {
                Action::NoOp => s.no_op += 1,
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.delete += 1,
                Action::Foreign => s.foreign += 1,
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.resources
            .iter()
            .any(|r| !matches!(r.action, Action::NoOp | Action::Foreign))
    }

    /// Marks the resources `ids` as foreign (left as they are): for destroy, what belongs to a
    /// foreign parent (an attachment of a policy the stack does not own).
    pub fn leave(mut self, ids: &std::collections::BTreeSet<String>) -> Plan {
        for r in self.resources.iter_mut().filter(|r| ids.contains(&r.id)) {
            if r.action != Action::Foreign && r.action != Action::NoOp {
                r.action = Action::Foreign;
                r.data_loss = None;
                r.notes = vec![format!(
                    "{FOREIGN_NOTE}: it belongs to a resource this stack does not own; destroy leaves it"
                )];
            }
        }
        self
    }

    /// Takes the foreign resources named by `ids` into the stack: each is planned as what
    /// adopting it does (the stack's mark added, and any property brought to the stack's value).
    /// An id that names no foreign resource is an error, before anything is changed.
    pub fn adopt(mut self, ids: &[String]) -> Result<Plan, Error> {
        for id in ids {
            let Some(r) = self.resources.iter_mut().find(|r| &r.id == id) else {
                return Err(Error::Refused(format!(
                    "--adopt {id}: the stack has no resource `{id}`"
                )));
            };
            let Some(a) = r.if_adopted.filter(|_| r.action == Action::Foreign) else {
                return Err(Error::Refused(format!(
                    "--adopt {id}: `{}` is not a foreign resource (the plan says: {})",
                    r.name,
                    r.action.verb()
                )));
            };
            r.action = a;
            r.notes.retain(|n| !n.starts_with(FOREIGN_NOTE));
            r.notes.push("adopted: it becomes this stack's".into());
        }
        Ok(self)
    }

    pub fn get(&self, id: &str) -> Option<&ResourceChange> {
        self.resources.iter().find(|r| r.id == id)
    }

    /// A replacement or a deletion that destroys data (users) needs explicit consent, even with
    /// `--yes`: this covers resources removed from the stack file or renamed (deleted by apply)
    /// as well as replacements. Without it (`allow_data_loss` false), the refusal names each
    /// such resource and what it loses. A destroy plan asks nothing here: destroying is what the
    /// user asked for, and it is confirmed as a whole.
    pub fn refuse_data_loss(&self, allow_data_loss: bool) -> Result<(), Error> {
        let at_risk = |a: Action| a == Action::Replace || (a == Action::Delete && !self.destroy);
        let risky: Vec<&ResourceChange> = self
            .resources
            .iter()
            .filter(|r| at_risk(r.action) && r.data_loss.is_some())
            .collect();
        if risky.is_empty() || allow_data_loss {
            return Ok(());
        }
        let losses: Vec<String> = risky
            .iter()
            .map(|r| {
                let loss = r.data_loss.as_deref().unwrap_or_default();
                let how = match (r.action, r.reason.as_deref()) {
                    (Action::Delete, Some(why)) => format!("deleted: {why}; "),
                    (Action::Delete, None) => "deleted; ".to_string(),
                    _ => String::new(),
                };
                format!("{} ({}, {}): {how}{loss}", r.id, r.type_name, r.name)
            })
            .collect();
        let deletes = risky.iter().any(|r| r.action == Action::Delete);
        let replaces = risky.iter().any(|r| r.action == Action::Replace);
        let verb = match (deletes, replaces) {
            (true, true) => "delete or replace",
            (true, false) => "delete",
            _ => "replace",
        };
        Err(Error::Refused(format!(
            "refusing to {verb} resources that hold data:\n  {}\nNothing was changed. Pass --allow-data-loss to {verb} them anyway.",
            losses.join("\n  ")
        )))
    }
}

/// One resource of the stack with what is live for it.
pub struct Planned<'a> {
    pub kind: Kind,
    pub desired: &'a Desired,
    pub observed: Option<&'a Observed>,
}

pub const SENSITIVE: &str = "(sensitive)";

const FOREIGN_NOTE: &str = "exists, not owned by this stack";

/// Whether a live resource carries the stack's mark: the `iotstack:stack` tag (or thing
/// attribute) with the value the stack wants. Kinds marked otherwise (a certificate's subject, a
/// parent's ownership) and data sources are taken as owned here; a Parent kind fails with its
/// parent when that parent is foreign.
pub fn owned(kind: Kind, want: &Desired, have: &Observed) -> bool {
    use crate::resources::{Ownership, STACK_TAG};
    if kind.managed().is_none() {
        return true;
    }
    match kind.spec().ownership {
        Ownership::Tag | Ownership::FoundByTag | Ownership::Attribute => {
            let Some(mark) = want.tags().get(STACK_TAG).cloned() else {
                return true;
            };
            have.props
                .get("tags")
                .and_then(|t| t.get(STACK_TAG))
                .and_then(Value::as_str)
                == Some(mark.as_str())
        }
        Ownership::LocalKey | Ownership::Parent | Ownership::None => true,
    }
}

/// The note on a foreign resource: what it is and how to adopt it.
fn foreign_note(id: &str) -> String {
    format!(
        "{FOREIGN_NOTE}: it lacks the `iotstack:stack` mark; apply and destroy leave it as it is. To take it into the stack: iotstack apply --adopt {id}"
    )
}

fn shown(kind: Kind, prop: &str, v: Option<&Value>) -> Option<Value> {
    let sensitive = kind.spec().prop(prop).is_some_and(|p| p.sensitive);
    v.map(|v| {
        if sensitive {
            Value::String(SENSITIVE.into())
        } else {
            v.clone()
        }
    })
}

/// What a person recognises a resource by: its name, or what it joins, or its id.
fn display_name(d: &Desired) -> String {
    let known = |k: &str| d.opt_str(k).filter(|_| d.is_known(k));
    if let Some(n) = ["name", "username", "function_name"]
        .iter()
        .find_map(|k| known(k))
    {
        return n.to_string();
    }
    for (a, b) in [
        ("policy", "target"),
        ("policy", "identity_pool_id"),
        ("thing", "principal"),
        ("topic_arn", "email"),
    ] {
        if let (Some(x), Some(y)) = (known(a), known(b)) {
            return format!("{x} → {y}");
        }
    }
    if let Some(n) = known("identity_pool_id") {
        return n.to_string();
    }
    match d.opt_str("name") {
        Some(_) => "(name known after apply)".to_string(),
        None => d.id.clone(),
    }
}

/// The changes that bring what is live to what the stack wants.
pub fn plan(prefix: &str, items: &[Planned<'_>]) -> Plan {
    let resources = items.iter().map(change).collect();
    Plan {
        prefix: prefix.to_string(),
        destroy: false,
        resources,
    }
}

/// The property changes that bring `have` to `want`: what an update changes, or what a write
/// left undone when it is read back.
pub fn changes(kind: Kind, want: &Desired, have: &Observed) -> Vec<PropChange> {
    change(&Planned {
        kind,
        desired: want,
        observed: Some(have),
    })
    .changes
}

/// What the plan does with one resource, and why.
pub fn change(p: &Planned<'_>) -> ResourceChange {
    let d = p.desired;
    let force_new = |k: &str| p.kind.spec().prop(k).is_some_and(|s| s.force_new);
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    let action = match (p.kind, p.observed) {
        (Kind::Data(_), _) => Action::NoOp,
        (_, None) => {
            for (k, v) in &d.props {
                changes.push(PropChange {
                    property: k.clone(),
                    before: None,
                    after: shown(p.kind, k, Some(v)),
                    after_unknown: d.unknown.contains(k),
                    forces_replacement: false,
                });
            }
            Action::Create
        }
        (_, Some(o)) => {
            notes.extend(o.notes.iter().cloned());
            for (k, want) in &d.props {
                let have = o.props.get(k);
                let unknown = d.unknown.contains(k);
                if !unknown && have == Some(want) {
                    continue;
                }
                if unknown && have.is_none() {
                    continue;
                }
                // An unknown value (its resource is not created yet) only matters when it can
                // change something: a new resource, or a replaced one, gives a new value.
                changes.push(PropChange {
                    property: k.clone(),
                    before: shown(p.kind, k, have),
                    after: shown(p.kind, k, Some(want)),
                    after_unknown: unknown,
                    forces_replacement: force_new(k),
                });
            }
            if changes.iter().any(|c| c.forces_replacement) {
                Action::Replace
            } else if changes.is_empty() {
                Action::NoOp
            } else {
                Action::Update
            }
        }
    };
    let foreign = p.observed.is_some_and(|o| !owned(p.kind, d, o));
    let (action, if_adopted) = if foreign {
        notes.push(foreign_note(&d.id));
        (Action::Foreign, Some(action))
    } else {
        (action, None)
    };
    let data_loss = (action == Action::Replace)
        .then(|| p.observed.and_then(|o| p.kind.data_loss(o)))
        .flatten();
    if let Some(loss) = &data_loss {
        notes.push(format!("replacing it loses data: {loss}"));
    }
    let reason = (action == Action::Replace).then(|| {
        let props: Vec<&str> = changes
            .iter()
            .filter(|c| c.forces_replacement)
            .map(|c| c.property.as_str())
            .collect();
        format!("{} cannot change in place", props.join(", "))
    });
    ResourceChange {
        id: d.id.clone(),
        type_name: p.kind.type_name().to_string(),
        name: display_name(d),
        action,
        changes,
        reason,
        notes,
        data_loss,
        if_adopted,
    }
}

/// The name a live resource has (what a deletion shows), else what the stack calls it.
fn live_name(p: &Planned<'_>) -> String {
    p.observed
        .and_then(|o| o.attrs.get("name").cloned())
        .unwrap_or_else(|| display_name(p.desired))
}

/// Adds the deletion of resources the stack no longer declares, shown ahead of everything else
/// (apply carries them out last, once what replaces them exists). One that is no longer the
/// stack's (another owner's under the recorded name) is shown as left, and is not deleted.
pub fn with_orphans(mut plan: Plan, orphans: &[Planned<'_>]) -> Plan {
    let deletes = orphans.iter().rev().map(|p| {
        if let Some(o) = p.observed.filter(|o| !owned(p.kind, p.desired, o)) {
            return ResourceChange {
                id: p.desired.id.clone(),
                type_name: p.kind.type_name().to_string(),
                name: o.attrs.get("name").cloned().unwrap_or_else(|| display_name(p.desired)),
                action: Action::Foreign,
                changes: Vec::new(),
                reason: None,
                notes: vec![format!(
                    "{FOREIGN_NOTE}: it is no longer in the stack file, and what is live under its recorded name lacks the `iotstack:stack` mark; apply and destroy leave it as it is, and the stack's record forgets it"
                )],
                data_loss: None,
                if_adopted: None,
            };
        }
        let data_loss = p.observed.and_then(|o| p.kind.removal_loss(o));
        let mut notes: Vec<String> = p.observed.map(|o| o.notes.clone()).unwrap_or_default();
        notes.extend(
            data_loss
                .iter()
                .map(|l| format!("deleting it loses data: {l}")),
        );
        ResourceChange {
            id: p.desired.id.clone(),
            type_name: p.kind.type_name().to_string(),
            name: live_name(p),
            action: Action::Delete,
            changes: Vec::new(),
            reason: Some("it is no longer in the stack file".into()),
            notes,
            data_loss,
            if_adopted: None,
        }
    });
    let mut all: Vec<ResourceChange> = deletes.collect();
    all.append(&mut plan.resources);
    plan.resources = all;
    plan
}

/// Deletes every live resource of the stack, in reverse dependency order.
pub fn destroy(prefix: &str, items: &[Planned<'_>]) -> Plan {
    let resources = items
        .iter()
        .rev()
        .map(|p| {
            // Data sources are only read: nothing of theirs is deleted.
            let deleted = p.observed.filter(|_| p.kind.managed().is_some());
            // Destroy never deletes (or detaches anything from) what the stack does not own.
            if let Some(o) = deleted.filter(|o| !owned(p.kind, p.desired, o)) {
                return ResourceChange {
                    id: p.desired.id.clone(),
                    type_name: p.kind.type_name().to_string(),
                    name: o
                        .attrs
                        .get("name")
                        .cloned()
                        .unwrap_or_else(|| display_name(p.desired)),
                    action: Action::Foreign,
                    changes: Vec::new(),
                    reason: None,
                    notes: vec![foreign_note(&p.desired.id)],
                    data_loss: None,
                    if_adopted: None,
                };
            }
            ResourceChange {
                id: p.desired.id.clone(),
                type_name: p.kind.type_name().to_string(),
                name: live_name(p),
                action: if deleted.is_some() {
                    Action::Delete
                } else {
                    Action::NoOp
                },
                changes: Vec::new(),
                reason: None,
                notes: deleted
                    .map(|o| o.notes.iter().cloned().chain(p.kind.data_loss(o)).collect())
                    .unwrap_or_default(),
                data_loss: deleted.and_then(|o| p.kind.data_loss(o)),
                if_adopted: None,
            }
        })
        .collect();
    Plan {
        prefix: prefix.to_string(),
        destroy: true,
        resources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{iot_policy::IotPolicy, sns_subscription::SnsEmailSubscription};

    const POLICY: Kind = Kind::Managed(&IotPolicy);
    use serde_json::json;
    use std::collections::BTreeMap;

    fn map(props: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(props).unwrap()
    }

    fn desired(id: &str, props: Value) -> Desired {
        Desired {
            id: id.into(),
            props: map(props),
            ..Default::default()
        }
    }

    fn policy<'a>(desired: &'a Desired, observed: Option<&'a Observed>) -> Planned<'a> {
        Planned {
            kind: POLICY,
            desired,
            observed,
        }
    }

    fn observed(props: Value) -> Observed {
        Observed {
            props: map(props),
            ..Default::default()
        }
    }

    #[test]
    fn a_live_resource_without_the_stack_mark_is_foreign_and_adoptable() {
        let d = desired(
            "policy",
            json!({"name": "x-policy", "document": {"a": 1}, "tags": {"iotstack:stack": "x"}}),
        );
        let theirs = observed(json!({"name": "x-policy", "document": {"a": 2}, "tags": {}}));
        let other = observed(
            json!({"name": "x-policy", "document": {"a": 1}, "tags": {"iotstack:stack": "y"}}),
        );
        let ours = observed(
            json!({"name": "x-policy", "document": {"a": 1}, "tags": {"iotstack:stack": "x"}}),
        );
        assert!(!owned(POLICY, &d, &theirs));
        assert!(!owned(POLICY, &d, &other));
        assert!(owned(POLICY, &d, &ours));
        let p = |o| plan("x", &[policy(&d, Some(o))]);
        let foreign = p(&theirs);
        let r = &foreign.resources[0];
        assert_eq!(r.action, Action::Foreign);
        assert_eq!(r.if_adopted, Some(Action::Update));
        assert!(r.notes.iter().any(|n| n.contains("--adopt policy")));
        assert!(!foreign.has_changes());
        assert_eq!(foreign.summary().foreign, 1);
        let json = serde_json::to_value(&foreign).unwrap();
        assert_eq!(json["resources"][0]["action"], "foreign");
        // Adopting shows what changes: the mark and the document.
        let adopted = foreign.clone().adopt(&["policy".into()]).unwrap();
        let r = &adopted.resources[0];
        assert_eq!(r.action, Action::Update);
        let props: Vec<&str> = r.changes.iter().map(|c| c.property.as_str()).collect();
        assert_eq!(props, ["document", "tags"]);
        assert!(foreign.clone().adopt(&["nope".into()]).is_err());
        assert!(p(&ours).adopt(&["policy".into()]).is_err());
        // Destroy leaves it.
        let gone = destroy("x", &[policy(&d, Some(&theirs))]);
        assert_eq!(gone.resources[0].action, Action::Foreign);
        assert!(!gone.has_changes());
    }

    #[test]
    fn a_resource_left_from_the_stack_is_deleted_only_while_it_is_the_stacks() {
        let d = desired(
            "old-policy",
            json!({"name": "x-old", "document": {"a": 1}, "tags": {"iotstack:stack": "x"}}),
        );
        let ours = observed(json!({"name": "x-old", "tags": {"iotstack:stack": "x"}}));
        let theirs = observed(json!({"name": "x-old", "tags": {"team": "ops"}}));
        let with = |o| with_orphans(plan("x", &[]), &[policy(&d, Some(o))]);
        let deleted = with(&ours);
        assert_eq!(deleted.resources[0].action, Action::Delete);
        assert!(deleted.has_changes());
        let left = with(&theirs);
        let r = &left.resources[0];
        assert_eq!(r.action, Action::Foreign);
        assert_eq!(r.reason, None);
        assert!(r.notes[0].contains("no longer in the stack file"), "{r:?}");
        assert!(
            r.notes.iter().any(|n| n.contains("leave it as it is")),
            "{r:?}"
        );
        assert_eq!(r.if_adopted, None);
        assert!(!left.has_changes());
        assert!(left.clone().adopt(&["old-policy".into()]).is_err());
    }

    #[test]
    fn missing_resource_is_created_with_every_property() {
        let d = desired(
            "p",
            json!({"name": "x-policy", "document": {"Statement": []}}),
        );
        let plan = plan("x", &[policy(&d, None)]);
        let r = &plan.resources[0];
        assert_eq!(r.action, Action::Create);
        assert_eq!(r.name, "x-policy");
        assert_eq!(r.changes.len(), 2);
        assert_eq!(plan.summary().create, 1);
    }

    #[test]
    fn equal_is_no_op_and_difference_is_update_with_before_after() {
        let d = desired(
            "p",
            json!({"name": "x-policy", "document": {"Statement": [1]}}),
        );
        let same = observed(json!({"name": "x-policy", "document": {"Statement": [1]}}));
        let plan1 = plan("x", &[policy(&d, Some(&same))]);
        assert_eq!(plan1.resources[0].action, Action::NoOp);
        assert!(!plan1.has_changes());
        let other = observed(json!({"name": "x-policy", "document": {"Statement": [2]}}));
        let plan2 = plan("x", &[policy(&d, Some(&other))]);
        let r = &plan2.resources[0];
        assert_eq!(r.action, Action::Update);
        assert_eq!(r.changes.len(), 1);
        assert_eq!(r.changes[0].property, "document");
        assert_eq!(r.changes[0].before, Some(json!({"Statement": [2]})));
        assert_eq!(r.changes[0].after, Some(json!({"Statement": [1]})));
        assert!(!r.changes[0].forces_replacement);
    }

    #[test]
    fn force_new_property_means_replace_and_names_it() {
        let d = desired("s", json!({"topic_arn": "t", "email": "new@example.com"}));
        let o = observed(json!({"topic_arn": "t", "email": "old@example.com"}));
        let plan = plan(
            "x",
            &[Planned {
                kind: Kind::Managed(&SnsEmailSubscription),
                desired: &d,
                observed: Some(&o),
            }],
        );
        let r = &plan.resources[0];
        assert_eq!(r.action, Action::Replace);
        assert_eq!(r.reason.as_deref(), Some("email cannot change in place"));
    }

    #[test]
    fn replacing_what_holds_data_is_refused_without_consent() {
        let change = |action, data_loss: Option<&str>| ResourceChange {
            id: "user-pool".into(),
            type_name: "cognito_user_pool".into(),
            name: "x-user-pool".into(),
            action,
            changes: Vec::new(),
            reason: None,
            notes: Vec::new(),
            data_loss: data_loss.map(str::to_string),
            if_adopted: None,
        };
        let plan = |r| Plan {
            prefix: "x".into(),
            destroy: false,
            resources: vec![r],
        };
        let loss = "the user pool has 3 user(s); deleting it deletes them";
        let replace = plan(change(Action::Replace, Some(loss)));
        let Err(Error::Refused(why)) = replace.refuse_data_loss(false) else {
            panic!("a replacement that loses users needs consent");
        };
        assert!(why.starts_with("refusing to replace resources that hold data:"));
        assert!(why.contains(&format!(
            "user-pool (cognito_user_pool, x-user-pool): {loss}"
        )));
        assert!(why.ends_with("Pass --allow-data-loss to replace them anyway."));
        assert!(replace.refuse_data_loss(true).is_ok());
        // Only replacements ask: an update keeps the data, and so does a replacement without any.
        assert!(plan(change(Action::Update, Some(loss)))
            .refuse_data_loss(false)
            .is_ok());
        assert!(plan(change(Action::Replace, None))
            .refuse_data_loss(false)
            .is_ok());
        // A resource removed from the stack file (or renamed) that holds data asks too.
        let mut delete = change(Action::Delete, Some(loss));
        delete.reason = Some("it is no longer in the stack file".into());
        let Err(Error::Refused(why)) = plan(delete.clone()).refuse_data_loss(false) else {
            panic!("deleting a removed pool with users needs consent");
        };
        assert!(why.starts_with("refusing to delete resources that hold data:"));
        assert!(why.contains("deleted: it is no longer in the stack file;"));
        assert!(why.ends_with("Pass --allow-data-loss to delete them anyway."));
        // Destroy is consent enough: the user asked to delete the whole stack.
        let mut destroy = plan(delete);
        destroy.destroy = true;
        assert!(destroy.refuse_data_loss(false).is_ok());
    }

    #[test]
    fn destroy_is_reversed_and_skips_missing() {
        let a = desired("a", json!({"name": "a"}));
        let b = desired("b", json!({"name": "b"}));
        let o = observed(json!({}));
        let plan = destroy("x", &[policy(&a, Some(&o)), policy(&b, None)]);
        assert_eq!(plan.resources[0].id, "b");
        assert_eq!(plan.resources[0].action, Action::NoOp);
        assert_eq!(plan.resources[1].action, Action::Delete);
        assert_eq!(plan.summary().delete, 1);
    }
}
