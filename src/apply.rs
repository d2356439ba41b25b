//! Carries out a plan: in dependency order for apply, in reverse for destroy, independent steps
//! in parallel with a bound. Every write is read back. Events go to a [`Reporter`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};

use crate::discover::{by_kind, Live, Orphan};
use crate::error::{Error, ResourceError, Result};
use crate::graph;
use crate::plan::{self, Action, Plan, Planned, PropChange};
use crate::resources::{Changes, Created, Ctx, Kind, Manage, Observed, Update};
use crate::stack::Stack;
use crate::state::AppliedResource;

/// Receives progress; the CLI implements it with indicatif, plain lines or JSON lines.
pub trait Reporter: Send + Sync {
    fn started(&self, id: &str, type_name: &str, action: Action);
    fn finished(&self, id: &str, type_name: &str, action: Action, done: Done<'_>);
    fn failed(&self, id: &str, type_name: &str, action: Action, error: &Error);
}

/// How a finished step went: how long it took, and what it has to say.
#[derive(Debug, Clone, Copy)]
pub struct Done<'a> {
    pub elapsed: Duration,
    pub notes: &'a [String],
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Resources deleted because the stack no longer declares them.
    pub deleted_orphans: usize,
    /// Final live state per resource id (`None`: does not exist).
    pub live: BTreeMap<String, Option<Observed>>,
    pub done: BTreeMap<String, Action>,
    pub notes: Vec<(String, String)>,
}

impl Outcome {
    pub fn count(&self, a: Action) -> usize {
        let orphans = if a == Action::Delete {
            self.deleted_orphans
        } else {
            0
        };
        self.done.values().filter(|x| **x == a).count() + orphans
    }
}

fn resource_err(action: &'static str, kind: &dyn Manage, id: &str, source: ResourceError) -> Error {
    Error::Resource {
        action,
        resource: format!("{} `{id}`", kind.spec().type_name),
        source,
    }
}

struct Step {
    action: Action,
    /// What is live after the step. While `check` runs, what the write answered: the
    /// attributes other resources refer to (ids, ARNs), which is all they need to go on.
    observed: Option<Observed>,
    notes: Vec<String>,
    /// The read-back of what was written, still running beside the resource's dependents.
    check: Option<Check>,
}

/// A read-back in flight: what AWS reports of a resource once it is written.
type Check = tokio::task::JoinHandle<Result<Observed>>;

impl Step {
    fn done(action: Action, observed: Option<Observed>, notes: Vec<String>) -> Step {
        Step {
            action,
            observed,
            notes,
            check: None,
        }
    }
}

/// Waits for the read-backs still running after a walk: each one's answer replaces what its
/// write answered, and a read-back that does not match what was written fails the run like
/// any other step (its dependents are already written by then; the next apply repairs them).
async fn settle(
    done: &mut BTreeMap<String, Step>,
    failed: &mut Vec<(String, Error)>,
    stack: &Stack,
    reporter: &Arc<dyn Reporter>,
) {
    for (id, s) in done.iter_mut() {
        let Some(check) = s.check.take() else {
            continue;
        };
        match check.await {
            Ok(Ok(back)) => {
                s.notes.extend(back.notes.iter().cloned());
                s.observed = Some(back);
            }
            Ok(Err(e)) => {
                let type_name = stack.get(id).map(|d| d.kind.type_name()).unwrap_or("");
                reporter.failed(id, type_name, s.action, &e);
                failed.push((id.clone(), e));
            }
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }
}

/// What the walk has finished, for the creates that leave some of their properties for later
/// ([`Later`]) and what waits for them: each step done, with what it left live, the steps that
/// failed, and whether the walk is over (then a step not done will not be); the creates that
/// left some for later, and whether each has written them since.
#[derive(Default)]
struct Finished {
    steps: BTreeMap<String, Option<Observed>>,
    failed: std::collections::BTreeSet<String>,
    over: bool,
    held: std::collections::BTreeSet<String>,
    whole: BTreeMap<String, WholeResult>,
}

/// Whether a resource created with properties left for later has written them since; else why
/// not.
type WholeResult = std::result::Result<(), String>;

/// A create that went before the resources some of its properties name
/// ([`Stack::later_deps`]): it wrote the tags known then and held the rest back
/// ([`crate::stack::ResourceDecl::hold_later`]), and is written in full once those resources
/// are made, before its read-back.
struct Later {
    /// The resources still to be made.
    ids: Vec<String>,
    finished: tokio::sync::watch::Receiver<Finished>,
    /// The resource as the stack wants it, resolved with what those resources left live.
    resolve: Resolve,
    /// Tells what waits for the resource whole ([`PropSpec::whole`]) whether it is.
    whole: Whole,
}

/// Marks a resource whole or not in [`Finished`] when dropped, as `result` says (not written,
/// unless told otherwise: its update failed, or the run stopped before it), so that nothing
/// waits forever.
struct Whole {
    id: String,
    finished: Arc<tokio::sync::watch::Sender<Finished>>,
    result: WholeResult,
}

impl Whole {
    fn new(id: &str, finished: Arc<tokio::sync::watch::Sender<Finished>>) -> Whole {
        Whole {
            id: id.to_string(),
            finished,
            result: Err(STOPPED.into()),
        }
    }
}

/// Why a resource is not whole when nothing else said.
const STOPPED: &str = "the run stopped before they were";

impl Drop for Whole {
    fn drop(&mut self) {
        let id = std::mem::take(&mut self.id);
        let result = std::mem::replace(&mut self.result, Ok(()));
        self.finished.send_modify(|f| {
            f.whole.insert(id, result);
        });
    }
}

/// Waits until the resources `ids` are whole, those of them created with properties left for
/// later ([`Later`]) written in full; an error naming the first that was not, and why.
async fn wait_whole(
    mut finished: tokio::sync::watch::Receiver<Finished>,
    ids: impl AsRef<[String]>,
) -> std::result::Result<(), (String, String)> {
    let ids = ids.as_ref();
    let ready = |f: &Finished| {
        let whole = |r: &String| !f.held.contains(r) || f.whole.contains_key(r);
        f.over || ids.iter().all(whole)
    };
    let Ok(f) = finished.wait_for(ready).await else {
        return Err((ids.first().cloned().unwrap_or_default(), STOPPED.into()));
    };
    for r in ids.iter().filter(|r| f.held.contains(*r)) {
        match f.whole.get(r) {
            Some(Ok(())) => {}
            Some(Err(why)) => return Err((r.clone(), why.clone())),
            None => return Err((r.clone(), STOPPED.into())),
        }
    }
    Ok(())
}

/// Resolves a resource with what the resources it refers to left live.
type Resolve =
    Box<dyn FnOnce(&BTreeMap<String, Option<Observed>>) -> crate::resources::Desired + Send>;

impl Later {
    /// The resource as the stack wants it once the resources its later properties name are
    /// made; an error when one of them was not.
    async fn want(
        mut self,
        kind: &dyn Manage,
        id: &str,
    ) -> Result<(crate::resources::Desired, Whole)> {
        let ids = self.ids;
        let ready = |f: &Finished| {
            f.over
                || ids.iter().all(|d| f.steps.contains_key(d))
                || ids.iter().any(|d| f.failed.contains(d))
        };
        // An error: the walk is gone (the run is failing anyway), and nothing more will be made.
        let f = self.finished.wait_for(ready).await.ok();
        let made = |d: &String| f.as_ref().is_some_and(|f| f.steps.contains_key(d));
        let missing: Vec<String> = ids
            .iter()
            .filter(|d| !made(d))
            .map(|d| format!("`{d}`"))
            .collect();
        if !missing.is_empty() {
            let e = ResourceError::Other {
                operation: "update",
                message: format!(
                    "created without part of its tags or settings; the rest name {}, which {} not made",
                    missing.join(", "),
                    if missing.len() == 1 { "was" } else { "were" }
                ),
            };
            return Err(resource_err("completing", kind, id, e));
        }
        let f = f.expect("every resource it names was made");
        Ok(((self.resolve)(&f.steps), self.whole))
    }
}

/// Applies `plan`. `live` is what discovery saw; references are resolved again as resources
/// are created, so values that were "known after apply" are real when they are written.
/// What apply and destroy work on: the stack, its parameter values, and what is live for it
/// (including resources the last apply made that the stack no longer declares).
pub struct Work<'a> {
    pub stack: &'a Stack,
    pub values: &'a BTreeMap<String, String>,
    pub live: &'a [Live],
    pub orphans: &'a [Orphan],
    /// The stack's record as the run found it: written again only when it changes.
    pub recorded: &'a [crate::state::AppliedResource],
    pub ctx: Arc<Ctx>,
    /// Under the stack's lock: told when the last writes start, so that its release reads ahead.
    pub ending: Option<crate::lock::Ending>,
}

/// Deletes the resources the stack no longer declares, newest first, one at a time.
async fn delete_orphans(
    w: &Work<'_>,
    reporter: &Arc<dyn Reporter>,
    out: &mut Outcome,
) -> Result<()> {
    for o in w.orphans.iter().rev() {
        let t0 = Instant::now();
        let (id, tn) = (o.desired.id.as_str(), o.kind.spec().type_name);
        reporter.started(id, tn, Action::Delete);
        match o.kind.delete(&w.ctx, &o.observed).await {
            Ok(notes) => {
                let done = Done {
                    elapsed: t0.elapsed(),
                    notes: &notes,
                };
                reporter.finished(id, tn, Action::Delete, done);
                out.notes
                    .extend(notes.into_iter().map(|n| (id.to_string(), n)));
                out.deleted_orphans += 1;
            }
            Err(e) => {
                let e = resource_err("deleting", o.kind, id, e);
                reporter.failed(id, tn, Action::Delete, &e);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// The record's entry for a resource: its kind, its resolved properties, sensitive ones left
/// out (the record is not where secrets are kept), and the attributes other resources refer to
/// (ids, ARNs), which find it and them again without listing the account.
fn recorded(
    kind: Kind,
    id: &str,
    props: &BTreeMap<String, serde_json::Value>,
    live: Option<&Observed>,
) -> AppliedResource {
    let props = props
        .iter()
        .filter(|(k, _)| !kind.spec().prop(k).is_some_and(|p| p.sensitive))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let attrs = live.map(|o| &o.attrs).into_iter().flatten();
    let attrs = attrs
        .filter(|(k, v)| kind.spec().attrs.contains(&k.as_str()) && !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    AppliedResource {
        id: id.to_string(),
        type_name: kind.type_name().to_string(),
        props,
        attrs,
    }
}

/// What the stack now is, so that the next plan, from any machine, finds what gets removed from
/// it: the stack's live resources, and `orphans` not deleted yet. What its data sources answered
/// (the IoT endpoint's address) is kept too: the next run's reads that refer to it need not
/// wait for its read.
fn now_recorded(
    w: &Work<'_>,
    live: &BTreeMap<String, Option<Observed>>,
    orphans: &[Orphan],
) -> Vec<AppliedResource> {
    let lookup = Stack::lookup(live);
    w.stack
        .resources
        .iter()
        .filter_map(|d| Some((d, live.get(&d.id)?.as_ref()?)))
        .map(|(d, o)| recorded(d.kind, &d.id, &d.resolve(w.values, &lookup).props, Some(o)))
        .chain(orphans.iter().map(|o| {
            let kind = Kind::Managed(o.kind);
            recorded(kind, &o.desired.id, &o.desired.props, Some(&o.observed))
        }))
        .collect()
}

/// Writes the stack's record when it changed; a note when another owner's secret holds its name.
async fn record(
    w: &Work<'_>,
    before: &[AppliedResource],
    now: &[AppliedResource],
    out: &mut Outcome,
) -> Result<()> {
    if let Some(note) = crate::record::save(&w.ctx, before, now).await? {
        out.notes.push(("record".to_string(), note));
    }
    Ok(())
}

pub async fn apply(
    w: &Work<'_>,
    plan: &Plan,
    reporter: Arc<dyn Reporter>,
    bound: usize,
) -> Result<Outcome> {
    let (stack, values, live, ctx) = (w.stack, w.values, w.live, w.ctx.clone());
    let order = stack.order();
    let mut deps = stack.apply_deps();
    // A create does not wait for what only its tags name: it tags the rest once those exist.
    let creates = |id: &str| {
        let rows = plan.resources.iter().filter(|r| r.id == id);
        rows.clone().any(|r| r.action == Action::Create)
    };
    let mut set_later = stack.later_deps(&deps);
    set_later.retain(|id, _| creates(id));
    for (id, later) in &set_later {
        if let Some(d) = deps.get_mut(id) {
            d.retain(|x| !later.contains(x));
        }
    }
    // What needs a resource whole waits, besides, for what that resource's later properties
    // name: so its wait, once it starts, is only for the update that writes them, which runs
    // outside the walk's slots (with one slot, a wait for a resource still to start would never
    // end).
    let whole_of: BTreeMap<String, Vec<String>> = order
        .iter()
        .map(|id| {
            let refs = stack.whole_refs(id).into_iter();
            (
                id.clone(),
                refs.filter(|r| set_later.contains_key(r)).collect(),
            )
        })
        .filter(|(_, r): &(String, Vec<String>)| !r.is_empty())
        .collect();
    for (id, refs) in &whole_of {
        let more = refs.iter().flat_map(|r| set_later[r].iter().cloned());
        let d = deps.entry(id.clone()).or_default();
        for x in more.collect::<Vec<_>>() {
            if !d.contains(&x) {
                d.push(x);
            }
        }
    }
    let (finished, finished_rx) = tokio::sync::watch::channel(Finished::default());
    let finished = Arc::new(finished);
    let seen: BTreeMap<String, Option<Observed>> = live
        .iter()
        .map(|l| (l.desired.id.clone(), l.observed.clone()))
        .collect();
    // What the longest chains of creates wait on starts first in each wave (see
    // `graph::longest_first`): the role, function and pool before what nothing waits on.
    let (mut done, mut failed) = graph::walk(
        &graph::longest_first(&order, &deps),
        &deps,
        bound,
        by_kind(stack),
        |id, so_far: &BTreeMap<String, Step>| {
            let decl = stack.get(id).expect("ordered ids come from the stack");
            // What is known of the others, looked up where it is (not copied: a fleet's walk
            // starts thousands of resources).
            let lookup = |r: &str, a: &str| {
                let observed = so_far.get(r).and_then(|s: &Step| s.observed.as_ref());
                let found = observed
                    .and_then(|o| o.attrs.get(a))
                    .filter(|v| !v.is_empty());
                found.cloned().or_else(|| stack.ahead(r, a, values))
            };
            let mut want = decl.resolve(values, &lookup);
            let pending: Vec<String> = set_later
                .get(id)
                .into_iter()
                .flatten()
                .filter(|d| !so_far.contains_key(d.as_str()))
                .cloned()
                .collect();
            let later = (!pending.is_empty()).then(|| {
                decl.hold_later(&mut want, values, &lookup, &pending);
                finished.send_modify(|f| {
                    f.held.insert(id.to_string());
                });
                // What the resource refers to besides: known now, kept for the full resolve.
                let mut now: BTreeMap<(String, String), String> = BTreeMap::new();
                for p in &decl.props {
                    for t in p.value.templates() {
                        for (r, a) in t.refs() {
                            if let Some(v) = lookup(r, a) {
                                now.insert((r.to_string(), a.to_string()), v);
                            }
                        }
                    }
                }
                let (decl, values) = (decl.clone(), values.clone());
                let resolve = move |steps: &BTreeMap<String, Option<Observed>>| {
                    let lookup = |r: &str, a: &str| {
                        let o = steps.get(r).and_then(Option::as_ref);
                        let made = o.and_then(|o| o.attrs.get(a)).filter(|v| !v.is_empty());
                        made.cloned()
                            .or_else(|| now.get(&(r.to_string(), a.to_string())).cloned())
                    };
                    decl.resolve(&values, &lookup)
                };
                Later {
                    ids: pending,
                    finished: finished_rx.clone(),
                    resolve: Box::new(resolve),
                    whole: Whole::new(id, finished.clone()),
                }
            });
            let whole = whole_of.get(id).cloned().unwrap_or_default();
            let whole_rx = finished_rx.clone();
            let have = seen.get(id).cloned().flatten();
            let kind = decl.kind;
            // With every reference now resolved, the plan's action and changes are confirmed
            // against the values that will really be written.
            let confirmed = plan::change(&Planned {
                kind,
                desired: &want,
                observed: have.as_ref(),
            });
            let planned = plan.get(id).map(|r| r.action).unwrap_or(confirmed.action);
            let action = match (planned, confirmed.action, confirmed.if_adopted) {
                (Action::Create, _, _) => Action::Create,
                // Adopted in the plan: what adopting it does.
                (p, Action::Foreign, Some(a)) if p != Action::Foreign => a,
                (_, a, _) => a,
            };
            let ctx = ctx.clone();
            let reporter = reporter.clone();
            let id = id.to_string();
            let finished = (!set_later.is_empty()).then(|| finished.clone());
            async move {
                let t0 = Instant::now();
                if action != Action::NoOp {
                    reporter.started(&id, kind.type_name(), action);
                }
                let r = match wait_whole(whole_rx, whole).await {
                    Err((r, why)) => Err(Error::Refused(format!(
                        "{} `{id}` was not created: it needs `{r}` with all its settings, and those left for after its create were not written: {why}",
                        kind.type_name()
                    ))),
                    Ok(()) => step(&ctx, kind, &want, have, action, &confirmed.changes, later).await,
                };
                if let Some(f) = finished {
                    f.send_modify(|f| match &r {
                        Ok(s) => {
                            f.steps.insert(id.clone(), s.observed.clone());
                        }
                        Err(_) => {
                            f.failed.insert(id.clone());
                        }
                    });
                }
                match r {
                    Ok(s) => {
                        if action != Action::NoOp {
                            let (elapsed, notes) = (t0.elapsed(), &s.notes[..]);
                            let done = Done { elapsed, notes };
                            reporter.finished(&id, kind.type_name(), action, done);
                        }
                        Ok(s)
                    }
                    Err(e) => {
                        reporter.failed(&id, kind.type_name(), action, &e);
                        Err(e)
                    }
                }
            }
            .boxed()
        },
    )
    .await;
    finished.send_modify(|f| f.over = true);
    // Resources the stack no longer declares (removed, or renamed) are deleted only once what
    // replaces them exists, newest first: a failure on the way leaves the old one in place.
    // The record lists the new resources before any orphan goes, so that a run stopped in
    // between still finds both. It is written beside the last read-backs: it keeps the stack's
    // properties and the ids and ARNs the writes answered, which the read-backs confirm.
    let with_orphans = now_recorded(w, &observed(&done), w.orphans);
    let walked = failed.is_empty();
    // The lock's release reads ahead beside the run's last write: this save, unless orphans are
    // deleted after it (then beside the save that follows them), so that the read stays close to
    // the release it serves.
    let last_write_soon = || {
        if let Some(e) = &w.ending {
            e.soon();
        }
    };
    if walked && w.orphans.is_empty() {
        last_write_soon();
    }
    let saving = async {
        if walked {
            Some(crate::record::save(&w.ctx, w.recorded, &with_orphans).await)
        } else {
            None
        }
    };
    let (_, saved) = tokio::join!(settle(&mut done, &mut failed, stack, &reporter), saving);
    if !failed.is_empty() {
        // What this run made before it failed is recorded too, so that it is found (and deleted
        // if it leaves the stack) from any machine; nothing the record held is forgotten.
        let mut keep = w.recorded.to_vec();
        for r in now_recorded(w, &observed(&done), w.orphans) {
            if !keep.contains(&r) {
                keep.push(r);
            }
        }
        let before = match &saved {
            Some(Ok(_)) => &with_orphans[..],
            _ => w.recorded,
        };
        // The run's own error is the one to report.
        let _ = crate::record::save(&w.ctx, before, &keep).await;
    }
    let mut out = finish(done, failed)?;
    if let Some(note) = saved.transpose()?.flatten() {
        out.notes.push(("record".to_string(), note));
    }
    delete_orphans(w, &reporter, &mut out).await?;
    if !w.orphans.is_empty() {
        last_write_soon();
    }
    let now = now_recorded(w, &out.live, &[]);
    record(w, &with_orphans, &now, &mut out).await?;
    Ok(out)
}

/// What each step left live, as far as it is known.
fn observed(done: &BTreeMap<String, Step>) -> BTreeMap<String, Option<Observed>> {
    done.iter()
        .map(|(k, s)| (k.clone(), s.observed.clone()))
        .collect()
}

fn finish(done: BTreeMap<String, Step>, failed: Vec<(String, Error)>) -> Result<Outcome> {
    if let Some((_, e)) = failed.into_iter().next() {
        return Err(e);
    }
    let mut out = Outcome::default();
    for (id, s) in done {
        for n in &s.notes {
            out.notes.push((id.clone(), n.clone()));
        }
        out.done.insert(id.clone(), s.action);
        out.live.insert(id, s.observed);
    }
    Ok(out)
}

/// The codes with which a create whose name must be unique says the name is taken (IoT, IAM,
/// Secrets Manager, Lambda, Cognito users).
const ALREADY_EXISTS: &[&str] = &[
    "UsernameExistsException",
    "ResourceAlreadyExistsException",
    "EntityAlreadyExists",
    "ResourceExistsException",
    "ResourceConflictException",
];

/// Whether a live resource carries the stack's mark (its `iotstack:stack` tag names the prefix).
fn marked(have: &Observed, prefix: &str) -> bool {
    have.props
        .get("tags")
        .and_then(|t| t.get(crate::resources::STACK_TAG))
        .and_then(|v| v.as_str())
        == Some(prefix)
}

/// Creates `want`. When a create whose name must be unique answers that the name is taken (the
/// SDK's retry of a request whose first answer was lost: the first one made it) and what holds
/// the name carries the stack's mark, it is the stack's own: it is taken and brought to `want`.
/// Anything else that holds the name is left alone, and the create's error stands. Returns what
/// the create told of the resource (for one taken, the attributes its read found), and whether
/// the rest of its create ([`Manage::complete`]) is still to be made: not for one taken, which
/// its update brought to `want`.
async fn create_or_take(
    ctx: &Ctx,
    kind: &'static dyn Manage,
    want: &crate::resources::Desired,
    action: &'static str,
) -> Result<(Created, bool)> {
    let id = want.id.as_str();
    let e = match kind.make(ctx, want).await {
        Ok(created) => return Ok((created, true)),
        Err(e) => e,
    };
    let taken = e
        .aws()
        .and_then(|a| a.code.as_deref())
        .is_some_and(|c| ALREADY_EXISTS.contains(&c));
    // A kind that takes no tag is marked by the stack's parent it lives in
    // (`Ownership::Parent`: a function's permission statement, a user in the stack's pool): it
    // is taken only when it is exactly what the stack wants, so that taking it changes nothing.
    let tagged = kind.spec().taggable();
    let ours = |h: &Observed| {
        if tagged {
            marked(h, &ctx.prefix)
        } else {
            plan::changes(Kind::Managed(kind), want, h).is_empty()
        }
    };
    let have = if taken {
        kind.read(ctx, want)
            .await
            .map_err(|e| resource_err(action, kind, id, e))?
            .filter(ours)
    } else {
        None
    };
    let Some(have) = have else {
        return Err(resource_err(action, kind, id, e));
    };
    let changes = plan::changes(Kind::Managed(kind), want, &have);
    if !changes.is_empty() {
        kind.update(Update {
            ctx,
            want,
            have: &have,
            changes: Changes(&changes),
        })
        .await
        .map_err(|e| resource_err(action, kind, id, e))?;
    }
    Ok((have.created(kind.spec()), false))
}

async fn step(
    ctx: &Arc<Ctx>,
    kind: Kind,
    want: &crate::resources::Desired,
    have: Option<Observed>,
    action: Action,
    changes: &[PropChange],
    later: Option<Later>,
) -> Result<Step> {
    let id = want.id.as_str();
    let mut notes = Vec::new();
    // Data sources are only read: their plan is always to leave them.
    let Some(kind) = kind.managed().filter(|_| action != Action::NoOp) else {
        return Ok(Step::done(Action::NoOp, have, notes));
    };
    // What the write tells of the resource: the attributes its create answered, or those of
    // the resource it changed (an update keeps a resource's ids and ARNs).
    let (answered, complete) = match (action, &have) {
        (Action::Foreign, _) => {
            return Err(Error::Refused(format!(
                "{} `{id}` ({}): a resource of that name exists but is not owned by this stack (it lacks the `iotstack:stack` mark); it was left untouched, and what depends on it was not applied. To take it into the stack: iotstack apply --adopt {id}",
                kind.spec().type_name,
                want.opt_str("name").unwrap_or(id),
            )));
        }
        (Action::Update, Some(h)) => {
            kind.update(Update {
                ctx,
                want,
                have: h,
                changes: Changes(changes),
            })
            .await
            .map_err(|e| resource_err("updating", kind, id, e))?;
            (h.created(kind.spec()), false)
        }
        (Action::Replace, Some(h)) => {
            notes.extend(
                kind.delete(ctx, h)
                    .await
                    .map_err(|e| resource_err("replacing (delete)", kind, id, e))?,
            );
            create_or_take(ctx, kind, want, "replacing (create)").await?
        }
        (Action::Delete, Some(h)) => {
            notes.extend(
                kind.delete(ctx, h)
                    .await
                    .map_err(|e| resource_err("deleting", kind, id, e))?,
            );
            return Ok(Step::done(action, None, notes));
        }
        // A creation, or a resource that is not there.
        _ => create_or_take(ctx, kind, want, "creating").await?,
    };
    // Complete a create and read back what was written, by the ids the write answered (no
    // listing), beside the dependents when the write answered every attribute they may refer
    // to; else first.
    let mut read_as = want.clone();
    read_as.recorded.extend(answered.clone());
    let known = kind.spec().attrs.iter().all(|a| answered.contains_key(*a));
    // What is left for later waits for other resources: never while the step holds its slot in
    // the walk (with one slot, what they wait for could not start).
    let (later, later_after) = if known { (later, None) } else { (None, later) };
    let written = read_as.clone();
    let check = {
        let (ctx, answered) = (ctx.clone(), answered.clone());
        async move {
            if complete {
                let c = kind.complete(&ctx, &read_as, &answered).await;
                c.map_err(|e| resource_err("creating", kind, &read_as.id, e))?;
            }
            let read_as = match later {
                Some(later) => write_later(&ctx, kind, later, read_as, &answered).await?,
                None => read_as,
            };
            read_back(ctx, kind, read_as, answered).await
        }
    };
    if !known {
        let back = check.await?;
        notes.extend(back.notes.iter().cloned());
        let Some(later) = later_after else {
            return Ok(Step::done(action, Some(back), notes));
        };
        // Read back as written so far; written in full, and read back again, beside the rest.
        let (ctx, answered) = (ctx.clone(), back.created(kind.spec()));
        let check = async move {
            let want = write_later(&ctx, kind, later, written, &answered).await?;
            read_back(ctx, kind, want, answered).await
        };
        return Ok(Step {
            action,
            observed: Some(back),
            notes,
            check: Some(tokio::spawn(check)),
        });
    }
    let early = Observed {
        props: want.props.clone(),
        attrs: answered,
        notes: Vec::new(),
    };
    Ok(Step {
        action,
        observed: Some(early),
        notes,
        check: Some(tokio::spawn(check)),
    })
}

/// Writes what a create left for later ([`Later`]: the rest of its tags, a pool's trigger) once
/// what it names is made; returns the resource as the stack wants it, for its read-back.
async fn write_later(
    ctx: &Ctx,
    kind: &'static dyn Manage,
    later: Later,
    written: crate::resources::Desired,
    answered: &Created,
) -> Result<crate::resources::Desired> {
    let id = written.id.clone();
    let (mut want, mut whole) = later.want(kind, &id).await?;
    want.recorded = written.recorded.clone();
    let have = Observed {
        props: written.props,
        attrs: answered.clone(),
        notes: Vec::new(),
    };
    let changes = plan::changes(Kind::Managed(kind), &want, &have);
    if !changes.is_empty() {
        let update = Update {
            ctx,
            want: &want,
            have: &have,
            changes: Changes(&changes),
        };
        let r = kind.update(update).await;
        let r = r.map_err(|e| resource_err("completing", kind, &id, e));
        if let Err(e) = &r {
            whole.result = Err(e.to_string());
        }
        r?;
    }
    whole.result = Ok(());
    Ok(want)
}

/// Reads back what was written: it must be there, as the stack wants it, with the ids and ARNs
/// its write answered (`answered`), which dependents may already be using.
async fn read_back(
    ctx: Arc<Ctx>,
    kind: &'static dyn Manage,
    want: crate::resources::Desired,
    answered: BTreeMap<String, String>,
) -> Result<Observed> {
    let id = want.id.as_str();
    let back = kind
        .read(&ctx, &want)
        .await
        .map_err(|e| resource_err("reading back", kind, id, e))?;
    let unread = |message: String| {
        let e = ResourceError::Other {
            operation: "read back",
            message,
        };
        resource_err("reading back", kind, id, e)
    };
    let Some(back) = back else {
        return Err(unread(
            "the resource was written but cannot be read back".into(),
        ));
    };
    let left: Vec<String> = plan::changes(Kind::Managed(kind), &want, &back)
        .iter()
        .filter(|c| !c.after_unknown)
        .map(|c| c.property.clone())
        .collect();
    if !left.is_empty() {
        return Err(unread(format!(
            "after the write, AWS still reports a different {}",
            left.join(", ")
        )));
    }
    let moved: Vec<String> = answered
        .iter()
        .filter(|(k, v)| back.attrs.get(*k).is_some_and(|b| b != *v))
        .map(|(k, v)| format!("{k} `{}` (the write answered `{v}`)", back.attr(k)))
        .collect();
    if !moved.is_empty() {
        return Err(unread(format!("AWS reports {}", moved.join(", "))));
    }
    Ok(back)
}

/// The ids of live resources the stack does not own: those without its mark, and those whose
/// ownership is their parent's when that parent is one of them.
pub fn foreign_ids(stack: &Stack, live: &[Live]) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for id in stack.order() {
        let (Some(decl), Some(l)) = (stack.get(&id), live.iter().find(|l| l.desired.id == id))
        else {
            continue;
        };
        let Some(have) = &l.observed else { continue };
        let parent_foreign = decl.kind.spec().ownership == crate::resources::Ownership::Parent
            && decl.deps.iter().any(|d| out.contains(d));
        if parent_foreign || !plan::owned(decl.kind, &l.desired, have) {
            out.insert(id);
        }
    }
    out
}

/// The resource of `id`'s dependencies whose deletion removes `id` with it (its kind's
/// `deleted_with`), when destroy deletes that one: then `id` needs no call of its own.
fn goes_with(
    stack: &Stack,
    id: &str,
    deleted: &std::collections::BTreeSet<String>,
) -> Option<String> {
    let mut parents = crate::discover::parents(stack, stack.get(id)?);
    parents.find(|p| deleted.contains(*p)).map(str::to_string)
}

/// Deletes every live resource the stack owns, at once but for the links between two of them
/// (attachments), which go first: each kind's delete itself removes what AWS requires gone
/// before it (a policy's other targets, a certificate's things and policies, a role's inline
/// policies), so no other resource waits for another's deletion. What AWS deletes with its
/// parent (a topic's subscriptions, a pool's clients and users) makes no call of its own when
/// its parent is deleted here.
pub async fn destroy(w: &Work<'_>, reporter: Arc<dyn Reporter>, bound: usize) -> Result<Outcome> {
    let (stack, live, ctx) = (w.stack, w.live, w.ctx.clone());
    let mut first = Outcome::default();
    delete_orphans(w, &reporter, &mut first).await?;
    let order = stack.order();
    let seen: BTreeMap<String, Live> = live
        .iter()
        .map(|l| (l.desired.id.clone(), l.clone()))
        .collect();
    // Destroy never deletes, or detaches anything from, what the stack does not own: a resource
    // without the stack's mark, nor what belongs to such a resource.
    let foreign = foreign_ids(stack, live);
    let deleted: std::collections::BTreeSet<String> = order
        .iter()
        .filter(|id| !foreign.contains(*id))
        .filter(|id| stack.get(id).is_some_and(|d| d.kind.managed().is_some()))
        .filter(|id| seen.get(*id).is_some_and(|l| l.observed.is_some()))
        .cloned()
        .collect();
    // What goes with its parent is reported once its parent is deleted. A resource waits for
    // the links to it that make calls of their own (an attachment of its policy, its thing's
    // principal, a group's policy): AWS refuses to delete a policy still attached ("You must
    // detach the policy from all targets", DeletePolicy) or a certificate still attached
    // (DeleteCertificate), and a link outliving one of its ends can no longer be removed.
    let mut after: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in &deleted {
        let Some(decl) = stack.get(id) else { continue };
        if let Some(parent) = goes_with(stack, id, &deleted) {
            after.entry(id.clone()).or_default().push(parent);
            continue;
        }
        if decl.kind.spec().ownership != crate::resources::Ownership::Parent {
            continue;
        }
        for end in decl.deps.iter().filter(|d| deleted.contains(*d)) {
            after.entry(end.clone()).or_default().push(id.clone());
        }
    }
    let ctx_dir = ctx.state_dir.clone();
    let early = std::sync::Mutex::new(before_deletes(stack, &seen, &deleted, &ctx, bound));
    // The links the deletes of their ends wait on (a certificate's detachments) start first.
    let walk_order = graph::longest_first(&order, &after);
    let (done, failed) = graph::walk(&walk_order, &after, bound, by_kind(stack), |id, _| {
        let kind = stack.get(id).expect("ordered ids come from the stack").kind;
        // Data sources are only read: nothing of theirs is deleted.
        let kind = kind.managed();
        let l = seen.get(id).cloned().filter(|_| deleted.contains(id));
        let parent = goes_with(stack, id, &deleted);
        let before = early.lock().expect("not poisoned").remove(id);
        let ctx = ctx.clone();
        let reporter = reporter.clone();
        let id = id.to_string();
        async move {
            let (
                Some(kind),
                Some(Live {
                    desired,
                    observed: Some(have),
                }),
            ) = (kind, l)
            else {
                return Ok(Step::done(Action::NoOp, None, vec![]));
            };
            let t0 = Instant::now();
            let type_name = kind.spec().type_name;
            reporter.started(&id, type_name, Action::Delete);
            let r = match parent {
                Some(p) => Ok(Step::done(
                    Action::Delete,
                    None,
                    vec![format!("deleted with `{p}`")],
                )),
                None => match left_by(before, have).await {
                    Ok(have) => {
                        let kind = Kind::Managed(kind);
                        step(&ctx, kind, &desired, Some(have), Action::Delete, &[], None).await
                    }
                    Err(e) => Err(resource_err("deleting", kind, &id, e)),
                },
            };
            match r {
                Ok(s) => {
                    let (elapsed, notes) = (t0.elapsed(), &s.notes[..]);
                    reporter.finished(&id, type_name, Action::Delete, Done { elapsed, notes });
                    Ok(s)
                }
                Err(e) => {
                    reporter.failed(&id, type_name, Action::Delete, &e);
                    Err(e)
                }
            }
        }
        .boxed()
    })
    .await;
    let mut out = finish(done, failed)?;
    out.deleted_orphans = first.deleted_orphans;
    out.notes.splice(0..0, first.notes);
    // The stack's local folder goes with the stack once it is empty.
    let _ = std::fs::remove_dir(&ctx_dir);
    Ok(out)
}

/// What [`Manage::before_delete`] of a resource answers, once it has.
type BeforeDelete =
    tokio::sync::oneshot::Receiver<std::result::Result<Option<Observed>, ResourceError>>;

/// Starts each deleted resource's [`Manage::before_delete`] at once, beside the deletes of what
/// depends on it, in the stack's order (the order in which the walk reaches the deletes that
/// wait for them) and `bound` at a time (an IoT operation's calls wait for their turn inside the
/// attempt: see `aws::rate`). Once the destroy is over none is started; one already made is not
/// undone: a destroy stopped by a failure elsewhere may leave a certificate deactivated, which
/// the next apply shows and activates again.
fn before_deletes(
    stack: &Stack,
    seen: &BTreeMap<String, Live>,
    deleted: &std::collections::BTreeSet<String>,
    ctx: &Arc<Ctx>,
    bound: usize,
) -> BTreeMap<String, BeforeDelete> {
    let mut started = BTreeMap::new();
    let mut jobs = Vec::new();
    let ids = stack.resources.iter().map(|d| &d.id);
    let ids = ids.filter(|id| deleted.contains(*id) && goes_with(stack, id, deleted).is_none());
    for id in ids {
        let kind = stack.get(id).and_then(|d| d.kind.managed());
        let have = seen.get(id).and_then(|l| l.observed.clone());
        let (Some(kind), Some(have)) = (kind, have) else {
            continue;
        };
        if !kind.deletes_ahead(&have) {
            continue;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        started.insert(id.clone(), rx);
        jobs.push((kind, have, tx));
    }
    if !jobs.is_empty() {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let ctx = &ctx;
            let each = |(kind, have, tx): (&'static dyn Manage, Observed, _)| async move {
                let tx: tokio::sync::oneshot::Sender<_> = tx;
                // The destroy is over (it failed elsewhere): nothing more is started.
                if tx.is_closed() {
                    return;
                }
                let _ = tx.send(kind.before_delete(ctx, &have).await);
            };
            futures::stream::iter(jobs)
                .for_each_concurrent(bound.max(1), each)
                .await;
        });
    }
    started
}

/// The resource as its [`Manage::before_delete`] left it (`have` when it did nothing).
async fn left_by(
    before: Option<BeforeDelete>,
    have: Observed,
) -> std::result::Result<Observed, ResourceError> {
    let Some(answer) = before else {
        return Ok(have);
    };
    match answer.await {
        Ok(left) => Ok(left?.unwrap_or(have)),
        Err(_) => Err(ResourceError::local(
            "before delete",
            "stopped before it answered",
        )),
    }
}

#[cfg(test)]
mod tests {
    //! The read-back runs beside what depends on a resource, and still fails the run when what
    //! AWS reports is not what was written: shown with a kind whose read answers what a test sets.

    use std::sync::Mutex;

    use async_trait::async_trait;
    use serde_json::json;

    use super::*;
    use crate::resources::{Created, Desired, KindSpec, Ownership, PropSpec, PropType, Read};

    static PROPS: &[PropSpec] = &[PropSpec::required("name", PropType::Str, "the name")];
    static SPEC: KindSpec = KindSpec {
        type_name: "iot_thing",
        props: PROPS,
        attrs: &["id"],
        name_rule: None,
        ownership: Ownership::Parent,
        missing: crate::aws::Missing::IOT,
        facts: &[],
        deleted_with: &[],
    };

    /// A kind whose read answers `self.0()`.
    struct Fake(fn() -> Option<Observed>);

    #[async_trait]
    impl Read for Fake {
        fn spec(&self) -> &'static KindSpec {
            &SPEC
        }
        async fn read(
            &self,
            _: &Ctx,
            _: &crate::resources::Desired,
        ) -> std::result::Result<Option<Observed>, ResourceError> {
            Ok((self.0)())
        }
    }

    #[async_trait]
    impl Manage for Fake {
        async fn create(
            &self,
            _: &Ctx,
            _: &Desired,
        ) -> std::result::Result<Created, ResourceError> {
            Ok(Created::new())
        }
        async fn delete(
            &self,
            _: &Ctx,
            _: &Observed,
        ) -> std::result::Result<Vec<String>, ResourceError> {
            Ok(Vec::new())
        }
    }

    fn live(name: &str, id: &str) -> Option<Observed> {
        Some(Observed::new(json!({"name": name}), json!({"id": id})))
    }
    static AS_WRITTEN: Fake = Fake(|| live("n", "A"));
    static OTHER_ID: Fake = Fake(|| live("n", "B"));
    static OTHER_NAME: Fake = Fake(|| live("m", "A"));
    static GONE: Fake = Fake(|| None);

    async fn check(kind: &'static Fake) -> Result<Observed> {
        let ctx = Arc::new(Ctx::for_tests("us-east-1"));
        let want = Desired::from_json("thing", json!({"name": "n"}));
        let answered: Created = [("id".to_string(), "A".to_string())].into();
        read_back(ctx, kind, want, answered).await
    }

    #[tokio::test]
    async fn a_read_back_must_report_what_was_written_and_the_ids_the_create_answered() {
        assert_eq!(check(&AS_WRITTEN).await.unwrap().attr("id"), "A");
        let err = |r: Result<Observed>| r.unwrap_err().to_string();
        let moved = err(check(&OTHER_ID).await);
        assert!(
            moved.contains("AWS reports id `B` (the write answered `A`)"),
            "{moved}"
        );
        let other = err(check(&OTHER_NAME).await);
        assert!(other.contains("still reports a different name"), "{other}");
        let gone = err(check(&GONE).await);
        assert!(gone.contains("cannot be read back"), "{gone}");
    }

    /// A create's tags left for later: resolved once what they name is made, and an error, not
    /// a wait without end, when it fails or the walk ends without it.
    #[tokio::test]
    async fn tags_left_for_later_wait_for_what_they_name() {
        let channel = || {
            let (tx, rx) = tokio::sync::watch::channel(Finished::default());
            (Arc::new(tx), rx)
        };
        let later = |finished, tx| Later {
            ids: vec!["client".into()],
            finished,
            resolve: Box::new(|steps: &BTreeMap<String, Option<Observed>>| {
                let client = steps["client"].as_ref().unwrap().attr("id").to_string();
                Desired::from_json("secret", json!({"name": "n", "tags": {"ClientId": client}}))
            }),
            whole: Whole::new("secret", tx),
        };
        let (tx, rx) = channel();
        let waiting = tokio::spawn(later(rx, tx.clone()).want(&AS_WRITTEN, "secret"));
        tx.send_modify(|f| {
            f.steps.insert("other".into(), live("o", "O"));
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "it waits for the client");
        tx.send_modify(|f| {
            f.steps.insert("client".into(), live("c", "C1"));
        });
        let (want, _whole) = waiting.await.unwrap().unwrap();
        assert_eq!(want.tags()["ClientId"], "C1");

        let fails = |end: fn(&mut Finished)| async move {
            let (tx, rx) = channel();
            let waiting = tokio::spawn(later(rx, tx.clone()).want(&AS_WRITTEN, "secret"));
            tx.send_modify(end);
            let e = waiting.await.unwrap().err().unwrap().to_string();
            assert!(
                e.contains("the rest name `client`, which was not made"),
                "{e}"
            );
            // Nothing waits for it whole in vain.
            let whole = tx.borrow().whole.get("secret").cloned();
            assert_eq!(whole, Some(Err(STOPPED.to_string())));
        };
        fails(|f| {
            f.failed.insert("client".into());
        })
        .await;
        fails(|f| f.over = true).await;
        // The run gone before the walk told anything.
        let (tx, rx) = channel();
        let gone = later(rx, tx.clone());
        tx.send_modify(|f| f.over = true);
        assert!(gone.want(&AS_WRITTEN, "secret").await.is_err());
    }

    /// What needs a resource whole waits for those of its properties left for later to be
    /// written, only when its create left some, and is refused, not kept waiting, when they
    /// were not.
    #[tokio::test]
    async fn what_needs_a_resource_whole_waits_for_its_later_settings() {
        let (tx, rx) = tokio::sync::watch::channel(Finished::default());
        let tx = Arc::new(tx);
        let ids = vec!["pool".to_string()];
        // A pool created whole: nothing to wait for.
        assert_eq!(wait_whole(rx.clone(), &ids).await, Ok(()));
        tx.send_modify(|f| {
            f.held.insert("pool".into());
        });
        let waiting = tokio::spawn(wait_whole(rx.clone(), ids.clone()));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "it waits for the pool's trigger");
        let mut whole = Whole::new("pool", tx.clone());
        whole.result = Ok(());
        drop(whole);
        assert_eq!(waiting.await.unwrap(), Ok(()));

        // Its update failed (or never ran): refused, naming it.
        let (tx, rx) = tokio::sync::watch::channel(Finished::default());
        let tx = Arc::new(tx);
        tx.send_modify(|f| {
            f.held.insert("pool".into());
        });
        let waiting = tokio::spawn(wait_whole(rx, ids.clone()));
        let mut whole = Whole::new("pool", tx.clone());
        whole.result = Err("UpdateUserPool: AccessDenied".into());
        drop(whole);
        let why = (
            "pool".to_string(),
            "UpdateUserPool: AccessDenied".to_string(),
        );
        assert_eq!(waiting.await.unwrap(), Err(why));
        // Dropped untold (the run stopped first): not whole either.
        let (tx, rx) = tokio::sync::watch::channel(Finished::default());
        let tx = Arc::new(tx);
        tx.send_modify(|f| {
            f.held.insert("pool".into());
        });
        drop(Whole::new("pool", tx.clone()));
        let stopped = ("pool".to_string(), STOPPED.to_string());
        assert_eq!(wait_whole(rx, ids).await, Err(stopped));
    }

    /// What a run reported as failed.
    #[derive(Default)]
    struct Failures(Mutex<Vec<String>>);

    impl Reporter for Failures {
        fn started(&self, _: &str, _: &str, _: Action) {}
        fn finished(&self, _: &str, _: &str, _: Action, _: Done<'_>) {}
        fn failed(&self, id: &str, _: &str, _: Action, error: &Error) {
            self.0.lock().unwrap().push(format!("{id}: {error}"));
        }
    }

    #[tokio::test]
    async fn a_read_back_that_fails_after_its_dependents_went_on_fails_the_run() {
        let stack = Stack::parse(
            std::path::Path::new("s.yaml"),
            "version: 1\nresources:\n  thing:\n    type: iot_thing\n    properties:\n      name: n\n  other:\n    type: iot_thing\n    properties:\n      name: o\n",
        )
        .unwrap_or_else(|d| panic!("{d:?}"));
        let early = live("n", "A");
        let step = |kind: &'static Fake| Step {
            action: Action::Create,
            observed: early.clone(),
            notes: Vec::new(),
            check: Some(tokio::spawn(check(kind))),
        };
        let mut done: BTreeMap<String, Step> = [
            ("thing".to_string(), step(&OTHER_ID)),
            ("other".to_string(), step(&AS_WRITTEN)),
        ]
        .into();
        let mut failed = Vec::new();
        let failures = Arc::new(Failures::default());
        let reporter: Arc<dyn Reporter> = failures.clone();
        settle(&mut done, &mut failed, &stack, &reporter).await;
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].0, "thing");
        let reported = failures.0.lock().unwrap().clone();
        assert_eq!(reported.len(), 1, "{reported:?}");
        assert!(reported[0].starts_with("thing: "), "{reported:?}");
        // The other's read-back answered: what is live is what it read.
        assert!(done["other"].check.is_none());
        assert_eq!(done["other"].observed, live("n", "A"));
        assert!(finish(done, failed).is_err());
    }
}
