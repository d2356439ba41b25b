//! Reads what is live for every resource of the stack, and the stack's record, in two waves.
//!
//! 1. The record (see [`crate::record`]) and every resource found by its name alone (a role, a
//!    topic, a thing...), at once.
//! 2. Every other resource: a pool or a certificate by the id the record gives it, and a
//!    resource whose identity refers to another's attribute (`${user-pool.id}` in a client, the
//!    secret named after a pool's id) with what the record says of that other resource; only
//!    what the record does not know waits for the read of the resource it refers to. Resources
//!    the record lists and the stack no longer declares are read in this wave too.
//!
//! What the stack wants is then resolved again against what was read; a resource read under an
//! identity that this changes (the record was stale: a pool made again out of band) is read
//! again. A resource whose identity refers to a resource that does not exist is not read at
//! all: it cannot exist yet (a cold stack reads only its first wave).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::{FutureExt, StreamExt};

use crate::error::{Error, Result};
use crate::graph;
use crate::resources::{Ctx, Depth, Desired, Kind, Manage, Observed, Ownership};
use crate::stack::{PropDecl, ResourceDecl, Stack};
use crate::state::AppliedResource;

/// One resource: what the stack wants (resolved as far as the live state allows) and what is live.
#[derive(Debug, Clone)]
pub struct Live {
    pub desired: Desired,
    pub observed: Option<Observed>,
}

/// What a command reads before it plans: each resource of the stack, the stack's record, and
/// what the record lists that the stack no longer declares, still live.
pub struct Reads {
    pub live: Vec<Live>,
    pub recorded: Vec<AppliedResource>,
    pub orphans: Vec<Orphan>,
}

/// How many reads may run at once, whatever `--parallelism` says of writes: a read changes
/// nothing, so the stack's reads all start together (a throttled read is retried by the SDK).
const READS_AT_ONCE: usize = 32;

/// The lane of a resource in a walk (see [`graph::walk`]): its kind, whose reads and writes make
/// the same calls at the same rates, so that resources waiting for one operation's paced calls
/// (a fleet's certificates) leave slots to the other kinds' (its things, its attachments).
pub fn by_kind(stack: &Stack) -> impl Fn(&str) -> Option<&'static str> + '_ {
    let kinds: std::collections::HashMap<&str, &'static str> = stack
        .resources
        .iter()
        .map(|d| (d.id.as_str(), d.kind.type_name()))
        .collect();
    move |id| kinds.get(id).copied()
}

/// Whether the resource is found by its own name, without the record or any other resource:
/// no reference in its properties, and a kind whose name finds it (not a pool, whose name is
/// not unique, nor a certificate, whose id only the record or the local files know), and whose
/// read does not use the record otherwise (a role the record lists is read with all its calls
/// at once; see `iam_role`).
fn found_by_name(decl: &ResourceDecl) -> bool {
    let spec = decl.kind.spec();
    let own = !matches!(spec.ownership, Ownership::FoundByTag | Ownership::LocalKey)
        && spec.type_name != crate::resources::iam_role::SPEC.type_name;
    own && decl.props.iter().all(|p| {
        p.value
            .templates()
            .iter()
            .all(|t| t.refs().next().is_none())
    })
}

/// The record's entry for `decl`, when it is of the same kind.
fn entry<'a>(recorded: &'a [AppliedResource], decl: &ResourceDecl) -> Option<&'a AppliedResource> {
    recorded
        .iter()
        .find(|r| r.id == decl.id && r.type_name == decl.kind.type_name())
}

/// Whether a property is part of what finds the resource: its name, or what cannot change
/// without a new resource (the pool a client belongs to, the targets of an attachment).
fn identity(p: &PropDecl) -> bool {
    p.spec.force_new || p.spec.name == "name"
}

/// The references of `decl`'s properties: (resource id, attribute, whether the property is
/// part of its identity).
fn refs(decl: &ResourceDecl) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for p in &decl.props {
        for t in p.value.templates() {
            let of = t
                .refs()
                .map(|(r, a)| (r.to_string(), a.to_string(), identity(p)));
            out.extend(of);
        }
    }
    out
}

/// For each resource, the resources whose read it waits for: those it refers to for an
/// attribute the record does not give (none recorded, a record written by an older iotstack,
/// a data source) nor knows in advance ([`Stack::ahead`]: a name the stack gives, the ARN AWS
/// forms from it), when the reference is part of its identity or the resource referred to is
/// read in the first wave anyway. Its other references are resolved with what is known when it
/// is read (and it is read again if what was read later changes them), so a cold stack's
/// resources do not wait, one after another, for the reads of resources that are not there.
///
/// What is known in advance does not spare an identity's wait for a resource the record does
/// not list: on a stack not applied yet that resource is most likely missing, and once its read
/// says so this one cannot exist and is not read at all. Read beside it instead, it would cost a
/// call that finds nothing: for a fleet's 500 thing principals, 500 ListThingPrincipals of
/// things not made yet, at AWS IoT's 10 a second.
///
/// A destroy's resource that goes with its parent (see [`parent_of`]) waits for its parent's
/// read alone: it makes no call of its own.
fn waits(
    stack: &Stack,
    recorded: &[AppliedResource],
    values: &BTreeMap<String, String>,
    depth: Depth,
) -> BTreeMap<String, Vec<String>> {
    let answers = |rid: &str, attr: &str, identity: bool| {
        let rec = stack.get(rid).and_then(|p| entry(recorded, p));
        rec.is_some_and(|r| r.attrs.get(attr).is_some_and(|v| !v.is_empty()))
            || (stack.ahead(rid, attr, values).is_some() && (rec.is_some() || !identity))
    };
    let early = |rid: &str| stack.get(rid).is_some_and(found_by_name);
    let of = |d: &ResourceDecl| {
        if let Some(parent) = parent_of(stack, d).filter(|_| depth == Depth::Delete) {
            return (d.id.clone(), vec![parent.to_string()]);
        }
        let through = finds_through_refs(d);
        let refs = refs(d).into_iter();
        let needed = refs.filter(|(r, a, id)| (*id || early(r)) && !answers(r, a, *id || through));
        let mut ids: Vec<String> = needed.map(|(r, _, _)| r).collect();
        ids.sort();
        ids.dedup();
        (d.id.clone(), ids)
    };
    stack.resources.iter().map(of).collect()
}

/// The resource of the stack whose deletion deletes `decl` with it (its kind's `deleted_with`:
/// a user or a client of its user pool, a subscription of its topic), when `decl` depends on one.
///
/// A destroy does not read such a resource: whatever it is, nothing it does deletes it. If its
/// parent is the stack's, the parent's delete takes it along (AWS deletes a pool's users and
/// clients with the pool, DeleteUserPool); if the parent is not, destroy leaves the parent and
/// all that belongs to it (`apply::foreign_ids`); if the parent is gone, so is it.
fn parent_of<'a>(stack: &'a Stack, decl: &'a ResourceDecl) -> Option<&'a str> {
    parents(stack, decl).next()
}

/// The resources of the stack `decl` depends on whose deletion deletes it with them: those of
/// a kind its kind's `deleted_with` names.
pub fn parents<'a>(stack: &'a Stack, decl: &'a ResourceDecl) -> impl Iterator<Item = &'a str> + 'a {
    let kinds = decl.kind.spec().deleted_with;
    let is_parent = move |d: &&String| {
        stack
            .get(d)
            .is_some_and(|p| kinds.contains(&p.kind.type_name()))
    };
    decl.deps.iter().filter(is_parent).map(String::as_str)
}

/// A destroy's resource that goes with `parent` (see [`parent_of`]), unread: there while its
/// parent is, with what the record says of it (its id, which what refers to it is resolved
/// with, as when it was read), and a note that says so.
fn with_parent(desired: Desired, parent: &str, so_far: &BTreeMap<String, Live>) -> Live {
    let there = so_far.get(parent).is_some_and(|l| l.observed.is_some());
    let note = format!("not read: it goes with `{parent}`");
    let observed = Observed {
        attrs: desired.recorded.clone(),
        ..Default::default()
    };
    Live {
        observed: there.then(|| observed.note(Some(note))),
        desired,
    }
}

/// Whether a resource of the stack refers to `id` in what finds it (its name, or what cannot
/// change without a new resource).
fn finds_others(stack: &Stack, id: &str) -> bool {
    stack.resources.iter().any(|d| {
        d.props.iter().filter(|p| identity(p)).any(|p| {
            let templates = p.value.templates();
            templates.iter().any(|t| t.refs().any(|(r, _)| r == id))
        })
    })
}

/// Whether `decl` is found through what it refers to, when nothing recorded finds it: a
/// certificate among the principals of its thing. Such a reference is treated as part of its
/// identity for waiting: a name known in advance does not spare the wait for a resource the
/// record does not list, and a resource read as missing gives no name to look through.
fn finds_through_refs(decl: &ResourceDecl) -> bool {
    decl.kind.spec().ownership == Ownership::LocalKey
}

/// The record's entry as what a reference may be resolved with before the resource is read.
fn as_observed(rec: &AppliedResource) -> Observed {
    Observed {
        attrs: rec.attrs.clone(),
        ..Default::default()
    }
}

/// What the stack wants `decl` to be, from what is `known` of the others (else what is known
/// in advance of them), with what the record says of it; and whether its identity refers to a
/// resource that does not exist (then it cannot exist either, and is not read).
fn want(
    stack: &Stack,
    decl: &ResourceDecl,
    values: &BTreeMap<String, String>,
    known: &BTreeMap<String, Option<Observed>>,
    recorded: &[AppliedResource],
    depth: Depth,
) -> (Desired, bool) {
    let seen = Stack::lookup(known);
    let through = finds_through_refs(decl);
    let lookup = |r: &str, a: &str| match known.get(r) {
        // Read, and not there: nothing to look through (a thing not made yet has no principals).
        Some(None) if through => None,
        _ => seen(r, a).or_else(|| stack.ahead(r, a, values)),
    };
    let mut desired = decl.resolve(values, &lookup);
    desired.recorded = entry(recorded, decl)
        .map(|r| r.attrs.clone())
        .unwrap_or_default();
    desired.depth = depth;
    let identity_missing = decl.props.iter().any(|p| {
        identity(p)
            && p.value.templates().iter().any(|t| {
                t.refs().any(|(rid, a)| match known.get(rid) {
                    Some(o) => o.is_none(),
                    None => stack.ahead(rid, a, values).is_none(),
                })
            })
    });
    (desired, identity_missing)
}

async fn read_one(kind: Kind, ctx: Arc<Ctx>, desired: Desired, skip: bool) -> Result<Live> {
    let observed = if skip {
        None
    } else {
        kind.read(&ctx, &desired)
            .await
            .map_err(|e| Error::Resource {
                action: "reading",
                resource: format!("{} `{}`", kind.type_name(), desired.id),
                source: e,
            })?
    };
    Ok(Live { desired, observed })
}

fn first_error<T>(failed: Vec<(String, Error)>, ok: T) -> Result<T> {
    match failed.into_iter().next() {
        Some((_, e)) => Err(e),
        None => Ok(ok),
    }
}

/// Reads the stack's record and what is live for every resource (see the module's comment).
/// `depth` says how much each read asks (see [`Depth`]): with [`Depth::Survey`], kinds whose names
/// are not unique also list the account under their names, to find duplicates (doctor).
pub async fn read(
    stack: &Stack,
    values: &BTreeMap<String, String>,
    ctx: Arc<Ctx>,
    bound: usize,
    depth: Depth,
) -> Result<Reads> {
    read_recorded(stack, values, ctx, bound, depth, None).await
}

/// [`read`] under the stack's lock, with the record `early` as it was read beside taking the
/// lock (a round trip earlier than the first wave could read it). Every resource is read now,
/// the lock held: whatever a run that held it before wrote, it wrote before releasing it, so
/// these reads see it. The record alone may have been read before such a run saved it: it is
/// read again beside the waves, and when it is not what `early` was, everything is read again
/// with the record as it is now (the stack's runs save the record last, then release the lock,
/// so the record read again under the lock is the one the next run must work from).
pub async fn read_locked(
    stack: &Stack,
    values: &BTreeMap<String, String>,
    ctx: Arc<Ctx>,
    bound: usize,
    depth: Depth,
    early: Vec<AppliedResource>,
) -> Result<Reads> {
    let reads = read_recorded(
        stack,
        values,
        ctx.clone(),
        bound,
        depth,
        Some(early.clone()),
    );
    let (reads, now) = futures::join!(reads, crate::record::load(&ctx));
    let now = now?;
    if now == early {
        return reads;
    }
    read_recorded(stack, values, ctx, bound, depth, Some(now)).await
}

/// [`read`]: the two waves of reads (the module's comment), with the stack's record already
/// read when `recorded` gives it (else it is read beside the first wave).
pub async fn read_recorded(
    stack: &Stack,
    values: &BTreeMap<String, String>,
    ctx: Arc<Ctx>,
    bound: usize,
    depth: Depth,
    recorded: Option<Vec<AppliedResource>>,
) -> Result<Reads> {
    let bound = bound.max(READS_AT_ONCE);
    let order = stack.order();
    let decl = |id: &str| stack.get(id).expect("ordered ids come from the stack");

    // Wave 1: what its name alone finds, started at once, and the stack's record beside it.
    let permits = Arc::new(tokio::sync::Semaphore::new(bound));
    let mut first: BTreeMap<String, tokio::task::JoinHandle<Result<Live>>> = order
        .iter()
        .filter(|id| found_by_name(decl(id)))
        .map(|id| {
            let d = decl(id);
            let (desired, _) = want(stack, d, values, &BTreeMap::new(), &[], depth);
            let (kind, ctx, permits) = (d.kind, ctx.clone(), permits.clone());
            // A destroy deletes nothing of a data source, nor needs what it tells unless a
            // resource is found by it (an endpoint's address is only configuration).
            let unneeded =
                depth == Depth::Delete && kind.managed().is_none() && !finds_others(stack, &d.id);
            let task = tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                read_one(kind, ctx, desired, unneeded).await
            });
            (id.clone(), task)
        })
        .collect();
    let recorded = match recorded {
        Some(r) => Ok(r),
        None => crate::record::load(&ctx).await,
    };
    let recorded = match recorded {
        Ok(r) => r,
        Err(e) => {
            first.values().for_each(|t| t.abort());
            return Err(e);
        }
    };

    // Wave 2: the others, as soon as the record is in, each with what the record says of what
    // it refers to; only a reference the record cannot answer waits for the read of its
    // resource. Beside them, the resources the record lists that the stack no longer declares.
    let waits = waits(stack, &recorded, values, depth);
    let second = graph::walk(
        &order,
        &waits,
        bound,
        by_kind(stack),
        |id, so_far: &BTreeMap<String, Live>| {
            if let Some(task) = first.remove(id) {
                let joined =
                    task.map(|r| r.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())));
                return joined.boxed();
            }
            let d = decl(id);
            let mut known = BTreeMap::new();
            for (rid, _, _) in refs(d) {
                let live = so_far.get(&rid).map(|l| l.observed.clone());
                let rec = stack.get(&rid).and_then(|p| entry(&recorded, p));
                if let Some(o) = live.or_else(|| rec.map(|r| Some(as_observed(r)))) {
                    known.insert(rid, o);
                }
            }
            let (desired, skip) = want(stack, d, values, &known, &recorded, depth);
            if let Some(parent) = parent_of(stack, d).filter(|_| depth == Depth::Delete) {
                return futures::future::ready(Ok(with_parent(desired, parent, so_far))).boxed();
            }
            read_one(d.kind, ctx.clone(), desired, skip).boxed()
        },
    );
    let undeclared = gone_from_stack(stack, &recorded);
    let (second, early) = futures::join!(second, read_orphans(&undeclared, &ctx, bound));
    let (done, failed) = second;
    let read = first_error(failed, done)?;
    let early = early?;

    // What the stack wants, resolved again against what was read: a resource read under
    // another identity (the record was stale) is read again, dependencies first.
    let (done, failed) = graph::walk(
        &order,
        &stack.deps(),
        bound,
        by_kind(stack),
        |id, so_far: &BTreeMap<String, Live>| {
            let d = decl(id);
            // What `d` refers to, all read by now (its dependencies): not a copy of everything
            // read so far, which for each of a fleet's thousands of resources costs the square
            // of their number (seconds at 500 devices).
            let known: BTreeMap<String, Option<Observed>> = refs(d)
                .into_iter()
                .filter_map(|(rid, _, _)| Some((rid.clone(), so_far.get(&rid)?.observed.clone())))
                .collect();
            let (desired, skip) = want(stack, d, values, &known, &recorded, depth);
            if let Some(parent) = parent_of(stack, d).filter(|_| depth == Depth::Delete) {
                return futures::future::ready(Ok(with_parent(desired, parent, so_far))).boxed();
            }
            let before = read.get(id).cloned().expect("every resource was read");
            // A destroy's read depends on what finds the resource alone; a plan's, on what it
            // compares too (the inline policies a role declares are read by name).
            let same = |p: &PropDecl| {
                let name = p.spec.name;
                before.desired.props.get(name) == desired.props.get(name)
                    && before.desired.is_known(name) == desired.is_known(name)
            };
            let unchanged = match depth {
                Depth::Delete => d.props.iter().filter(|p| identity(p)).all(same),
                _ => {
                    before.desired.props == desired.props
                        && before.desired.unknown == desired.unknown
                }
            };
            if unchanged {
                return futures::future::ready(Ok(before)).boxed();
            }
            read_one(d.kind, ctx.clone(), desired, skip).boxed()
        },
    )
    .await;
    let mut done = first_error(failed, done)?;
    let live: Vec<Live> = order.iter().filter_map(|id| done.remove(id)).collect();

    let late = renamed_or_moved(stack, &live, &recorded);
    let late = read_orphans(&late, &ctx, bound).await?;
    // In the record's order (the older first), which deletes them newest first.
    let at = |o: &Orphan| {
        let same =
            |r: &AppliedResource| r.id == o.desired.id && r.type_name == o.kind.spec().type_name;
        recorded.iter().position(same)
    };
    let mut orphans: Vec<Orphan> = early
        .into_iter()
        .chain(late)
        .filter(|o| !declared(stack, &live, o))
        .collect();
    orphans.sort_by_key(|o| at(o));
    Ok(Reads {
        live,
        recorded,
        orphans,
    })
}

/// A resource the last apply made that the stack no longer declares (or declares under another
/// name), still live: plan deletes it.
#[derive(Clone)]
pub struct Orphan {
    pub kind: &'static dyn Manage,
    pub desired: Desired,
    pub observed: Observed,
}

impl Orphan {
    /// Whether the live resource is still the stack's: it carries the stack's mark where its
    /// kind has one ([`crate::plan::owned`]). A name-found resource deleted out of band and made
    /// again by someone else is not, and nothing deletes it.
    pub fn owned(&self) -> bool {
        crate::plan::owned(Kind::Managed(self.kind), &self.desired, &self.observed)
    }
}

/// Whether two observations are of one live resource: the same ARN, else the same id, else the
/// same attributes.
fn same_resource(a: &Observed, b: &Observed) -> bool {
    for k in ["arn", "id"] {
        if let (Some(x), Some(y)) = (a.attrs.get(k), b.attrs.get(k)) {
            return x == y;
        }
    }
    a.attrs == b.attrs
}

/// The record's entries the stack no longer declares under their id (or declares as another
/// kind). Data sources are only read: nothing of theirs is left behind.
fn gone_from_stack<'a>(stack: &Stack, recorded: &'a [AppliedResource]) -> Vec<&'a AppliedResource> {
    let managed = |rec: &&AppliedResource| {
        crate::resources::kind(&rec.type_name).is_some_and(|k| k.managed().is_some())
    };
    recorded
        .iter()
        .filter(managed)
        .filter(|rec| {
            stack
                .get(&rec.id)
                .is_none_or(|d| d.kind.type_name() != rec.type_name)
        })
        .collect()
}

/// The record's entries the stack still declares, but that are left behind: renamed (both
/// names known, different), or what the stack declares under that id is not live (its identity
/// changed, or depends on a resource made anew, as the secret named after a renamed pool's id).
fn renamed_or_moved<'a>(
    stack: &Stack,
    live: &[Live],
    recorded: &'a [AppliedResource],
) -> Vec<&'a AppliedResource> {
    let managed = |rec: &&AppliedResource| {
        crate::resources::kind(&rec.type_name).is_some_and(|k| k.managed().is_some())
    };
    let left = |rec: &&AppliedResource| {
        let Some(decl) = stack.get(&rec.id) else {
            return false;
        };
        let now = live.iter().find(|l| l.desired.id == rec.id);
        let renamed = now.is_some_and(|l| {
            l.desired.is_known("name")
                && l.desired.opt_str("name").is_some()
                && rec.props.get("name").and_then(|v| v.as_str()) != l.desired.opt_str("name")
        });
        let moved = now.is_some_and(|l| l.observed.is_none());
        decl.kind.type_name() == rec.type_name && (renamed || moved)
    };
    recorded.iter().filter(managed).filter(left).collect()
}

/// Reads what the record says of resources that may be left behind, all at once: those still
/// live.
async fn read_orphans(
    entries: &[&AppliedResource],
    ctx: &Ctx,
    bound: usize,
) -> Result<Vec<Orphan>> {
    let reads = entries.iter().map(|rec| async move {
        let kind = crate::resources::kind(&rec.type_name)
            .and_then(Kind::managed)
            .expect("only managed kinds are read as orphans");
        let desired = Desired {
            id: rec.id.clone(),
            props: rec.props.clone(),
            recorded: rec.attrs.clone(),
            ..Default::default()
        };
        let observed = kind
            .read(ctx, &desired)
            .await
            .map_err(|e| Error::Resource {
                action: "reading",
                resource: format!(
                    "{} `{}` (no longer in the stack)",
                    kind.spec().type_name,
                    rec.id
                ),
                source: e,
            })?;
        Ok::<_, Error>(observed.map(|observed| Orphan {
            kind,
            desired,
            observed,
        }))
    });
    let read: Vec<Result<Option<Orphan>>> =
        futures::stream::iter(reads).buffered(bound).collect().await;
    read.into_iter().filter_map(|r| r.transpose()).collect()
}

/// Whether an orphan is in fact what the stack declares under another id (moved in the file,
/// same name): the stack's, not an orphan, as deleting it would delete what the stack now holds.
fn declared(stack: &Stack, live: &[Live], o: &Orphan) -> bool {
    let type_name = o.kind.spec().type_name;
    live.iter().any(|l| {
        stack.get(&l.desired.id).map(|d| d.kind.type_name()) == Some(type_name)
            && l.observed
                .as_ref()
                .is_some_and(|lo| same_resource(lo, &o.observed))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stack() -> Stack {
        Stack::open(None).expect("the built-in stack loads")
    }

    /// The record an apply of the default stack writes: every managed resource, with `id` and
    /// `arn` attributes where its kind has them.
    fn full_record(stack: &Stack) -> Vec<AppliedResource> {
        let managed = stack
            .resources
            .iter()
            .filter(|d| d.kind.managed().is_some());
        managed
            .map(|d| AppliedResource {
                id: d.id.clone(),
                type_name: d.kind.type_name().to_string(),
                props: BTreeMap::new(),
                attrs: d
                    .kind
                    .spec()
                    .attrs
                    .iter()
                    .map(|a| (a.to_string(), format!("{}-{a}", d.id)))
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn a_destroy_reads_nothing_of_what_goes_with_its_parent() {
        let s = stack();
        let parents: BTreeMap<&str, &str> = s
            .resources
            .iter()
            .filter_map(|d| Some((d.id.as_str(), parent_of(&s, d)?)))
            .collect();
        let expected: BTreeMap<&str, &str> = [
            ("alert-subscription", "alert-topic"),
            ("app-client", "user-pool"),
            ("app-user", "user-pool"),
            ("identity-attachments", "identity-iot-policy"),
            ("identity-pool-roles", "identity-pool"),
            ("presignup-permission", "presignup-function"),
        ]
        .into_iter()
        .collect();
        assert_eq!(parents, expected);
        // In a destroy each waits for its parent's read alone (it makes no call of its own);
        // in a plan, for what its identity needs and the record does not give.
        let none = BTreeMap::new();
        let destroy = waits(&s, &full_record(&s), &none, Depth::Delete);
        let plan = waits(&s, &full_record(&s), &none, Depth::Compare);
        for (child, parent) in &expected {
            assert_eq!(destroy[*child], vec![parent.to_string()], "{child}");
        }
        assert!(plan["app-user"].is_empty(), "{:?}", plan["app-user"]);
        assert_eq!(destroy["user-pool"], plan["user-pool"]);
    }

    #[test]
    fn unread_children_are_there_while_their_parent_is() {
        let s = stack();
        let user = s.get("app-user").unwrap();
        let (mut desired, _) = want(
            &s,
            user,
            &BTreeMap::new(),
            &BTreeMap::new(),
            &[],
            Depth::Delete,
        );
        desired.recorded = [("username".to_string(), "p-app-user".to_string())].into();
        let pool = |observed: Option<Observed>| {
            let (desired, _) = want(
                &s,
                s.get("user-pool").unwrap(),
                &BTreeMap::new(),
                &BTreeMap::new(),
                &[],
                Depth::Delete,
            );
            [("user-pool".to_string(), Live { desired, observed })].into()
        };
        let there = with_parent(
            desired.clone(),
            "user-pool",
            &pool(Some(Observed::default())),
        );
        let o = there.observed.expect("there with its pool");
        assert_eq!(o.attr("username"), "p-app-user", "the record's attributes");
        assert_eq!(
            o.notes,
            vec!["not read: it goes with `user-pool`".to_string()]
        );
        let gone = with_parent(desired, "user-pool", &pool(None));
        assert!(gone.observed.is_none(), "gone with its pool");
    }

    #[test]
    fn no_resource_of_the_default_stack_is_found_by_a_data_source() {
        let s = stack();
        for d in s.resources.iter().filter(|d| d.kind.managed().is_none()) {
            assert!(!finds_others(&s, &d.id), "{}", d.id);
        }
        // The device certificate's thing principal is found by the certificate's ARN.
        assert!(finds_others(&s, "device-cert"));
    }

    #[test]
    fn the_first_wave_holds_what_its_name_alone_finds() {
        let s = stack();
        let first: Vec<&str> = s
            .resources
            .iter()
            .filter(|d| found_by_name(d))
            .map(|d| d.id.as_str())
            .collect();
        assert!(first.contains(&"device-thing") && first.contains(&"alert-topic"));
        for later in [
            "user-pool",
            "identity-pool",
            "device-cert",
            "app-client",
            "rule-role",
        ] {
            assert!(!first.contains(&later), "{later} waits for the record");
        }
    }

    #[test]
    fn a_recorded_reference_does_not_wait_for_its_resource() {
        let s = stack();
        let none = BTreeMap::new();
        let w = waits(&s, &full_record(&s), &none, Depth::Compare);
        assert_eq!(w["app-client"], Vec::<String>::new());
        assert_eq!(w["device-cert-policy"], Vec::<String>::new());
        // Without a record (a cold stack) each waits for what it refers to.
        let cold = waits(&s, &[], &none, Depth::Compare);
        assert_eq!(cold["app-client"], vec!["user-pool".to_string()]);
        // The rule is found by its name, whatever its topic and role: it waits for the topic,
        // read in the first wave anyway, not for the role, read in the second...
        assert_eq!(cold["alert-rule"], vec!["alert-topic".to_string()]);
        assert_eq!(cold["presignup-function"], Vec::<String>::new());
        // ... unless the topic's ARN is known in advance: once connected, the account, the
        // region and the topic's name give it.
        let values: BTreeMap<String, String> = [
            ("prefix", "p"),
            ("account", "123456789012"),
            ("region", "eu-west-1"),
            ("partition", "aws"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let connected = waits(&s, &[], &values, Depth::Compare);
        assert_eq!(connected["alert-rule"], Vec::<String>::new());
        assert_eq!(connected["rule-role"], Vec::<String>::new());
        assert_eq!(connected["app-client"], vec!["user-pool".to_string()]);
        let (rule, skip) = want(
            &s,
            s.get("alert-rule").unwrap(),
            &values,
            &BTreeMap::new(),
            &[],
            Depth::Compare,
        );
        assert!(!skip);
        assert_eq!(
            rule.str("sns_target_arn"),
            "arn:aws:sns:eu-west-1:123456789012:p-iot-notification"
        );
        // A record written by an older iotstack, without attributes: the same.
        let mut old = full_record(&s);
        old.iter_mut().for_each(|r| r.attrs.clear());
        assert_eq!(
            waits(&s, &old, &none, Depth::Compare)["app-client"],
            vec!["user-pool".to_string()]
        );
        // An entry of another kind under the same id says nothing of this one.
        let mut other = full_record(&s);
        let pool = other.iter_mut().find(|r| r.id == "user-pool").unwrap();
        pool.type_name = "cognito_identity_pool".into();
        assert_eq!(
            waits(&s, &other, &none, Depth::Compare)["app-client"],
            vec!["user-pool".to_string()]
        );
    }

    /// A thing principal's identity names its thing, whose name is known in advance: read
    /// beside the thing only when the record lists the thing; on a cold stack it waits for the
    /// thing's read, and a missing thing spares its read altogether.
    #[test]
    fn an_identity_known_in_advance_waits_for_what_the_record_does_not_list() {
        let s = stack();
        let values: BTreeMap<String, String> = [
            ("prefix", "p"),
            ("account", "123456789012"),
            ("region", "eu-west-1"),
            ("partition", "aws"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let cold = waits(&s, &[], &values, Depth::Compare);
        assert!(
            cold["device-cert-thing"].contains(&"device-thing".to_string()),
            "{:?}",
            cold["device-cert-thing"]
        );
        let warm = waits(&s, &full_record(&s), &values, Depth::Compare);
        assert!(
            !warm["device-cert-thing"].contains(&"device-thing".to_string()),
            "{:?}",
            warm["device-cert-thing"]
        );
        // The certificate is found among its thing's principals: the same wait, and a thing
        // read as missing leaves nothing to look through.
        assert!(
            cold["device-cert"].contains(&"device-thing".to_string()),
            "{:?}",
            cold["device-cert"]
        );
        assert!(!warm["device-cert"].contains(&"device-thing".to_string()));
        let cert = s.get("device-cert").unwrap();
        let missing_thing = BTreeMap::from([("device-thing".to_string(), None)]);
        let (desired, _) = want(&s, cert, &values, &missing_thing, &[], Depth::Compare);
        assert!(!desired.is_known("thing"), "{:?}", desired.props);
        let (desired, _) = want(&s, cert, &values, &BTreeMap::new(), &[], Depth::Compare);
        assert_eq!(desired.str("thing"), "p-thing");
        let thing = s.get("device-thing").unwrap();
        let principal = s.get("device-cert-thing").unwrap();
        let missing = BTreeMap::from([("device-thing".to_string(), None)]);
        let (_, skip) = want(&s, principal, &values, &missing, &[], Depth::Compare);
        assert!(skip, "a principal of a thing that is not there is not read");
        let cert = "arn:aws:iot:eu-west-1:123456789012:cert/c0ffee";
        let found = BTreeMap::from([
            (
                "device-thing".to_string(),
                Some(Observed::new(json!({}), json!({"name": "p-thing"}))),
            ),
            (
                "device-cert".to_string(),
                Some(Observed::new(
                    json!({}),
                    json!({"id": "c0ffee", "arn": cert}),
                )),
            ),
        ]);
        let (_, skip) = want(&s, principal, &values, &found, &[], Depth::Compare);
        assert!(!skip);
        assert!(found_by_name(thing));
    }

    #[test]
    fn what_the_record_lists_and_the_stack_dropped_is_read_as_a_possible_orphan() {
        let s = stack();
        let entry = |id: &str, type_name: &str| AppliedResource {
            id: id.into(),
            type_name: type_name.into(),
            props: BTreeMap::from([("name".to_string(), json!("x"))]),
            attrs: BTreeMap::new(),
        };
        let recorded = vec![
            entry("user-pool", "cognito_user_pool"),
            entry("old-topic", "sns_topic"),
            entry("user-pool-2", "nonexistent_kind"),
            entry("alert-topic", "iot_policy"),
            entry("endpoint", "iot_endpoint"),
        ];
        let gone: Vec<&str> = gone_from_stack(&s, &recorded)
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(gone, vec!["old-topic", "alert-topic"]);
    }
}
