//! Reads what is live for every resource of the stack, in dependency order (a resource's
//! identity may depend on another's attributes), independent reads in parallel.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::FutureExt;

use crate::error::{Error, Result};
use crate::graph;
use crate::resources::{Ctx, Desired, Kind, Manage, Observed};
use crate::stack::Stack;

/// One resource: what the stack wants (resolved as far as the live state allows) and what is live.
#[derive(Debug, Clone)]
pub struct Live {
    pub desired: Desired,
    pub observed: Option<Observed>,
}

pub async fn discover(
    stack: &Stack,
    values: &BTreeMap<String, String>,
    ctx: Arc<Ctx>,
    bound: usize,
) -> Result<Vec<Live>> {
    let order = stack.order();
    let deps = stack.deps();
    let (done, failed) = graph::walk(
        &order,
        &deps,
        bound,
        |id, so_far: &BTreeMap<String, Live>| {
            let decl = stack.get(id).expect("ordered ids come from the stack");
            let known = Stack::known(so_far, |v| &v.observed);
            let desired = decl.resolve(values, &Stack::lookup(&known));
            // A resource whose identity refers to a resource that does not exist cannot exist yet.
            let identity_missing = decl.props.iter().any(|p| {
                (p.spec.force_new || p.spec.name == "name")
                    && p.value.templates().iter().any(|t| {
                        t.refs()
                            .any(|(rid, _)| known.get(rid).is_none_or(|o| o.is_none()))
                    })
            });
            let kind = decl.kind;
            let ctx = ctx.clone();
            async move {
                let observed = if identity_missing {
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
                Ok::<_, Error>(Live { desired, observed })
            }
            .boxed()
        },
    )
    .await;
    if let Some((_, e)) = failed.into_iter().next() {
        return Err(e);
    }
    let mut done = done;
    Ok(order.iter().filter_map(|id| done.remove(id)).collect())
}

/// A resource the last apply made that the stack no longer declares (or declares under another
/// name), still live: plan deletes it.
#[derive(Clone)]
pub struct Orphan {
    pub kind: &'static dyn Manage,
    pub desired: Desired,
    pub observed: Observed,
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

/// Reads what the stack's record (see [`crate::record`]) lists but the stack no longer has.
pub async fn orphans(
    stack: &Stack,
    live: &[Live],
    recorded: &[crate::state::AppliedResource],
    ctx: &Ctx,
) -> Result<Vec<Orphan>> {
    let mut out = Vec::new();
    for rec in recorded {
        // Data sources are only read: nothing of theirs is left behind.
        let Some(kind) = crate::resources::kind(&rec.type_name).and_then(Kind::managed) else {
            continue;
        };
        if let Some(decl) = stack.get(&rec.id) {
            // Still declared: an orphan only if it was renamed (both names known, different), or
            // if what the stack declares under that id is not live (its identity changed, or
            // depends on a resource made anew, as the secret named after a renamed pool's id):
            // then what the record names, if still live, is left behind.
            let now = live.iter().find(|l| l.desired.id == rec.id);
            let renamed = now.is_some_and(|l| {
                l.desired.is_known("name")
                    && l.desired.opt_str("name").is_some()
                    && rec.props.get("name").and_then(|v| v.as_str()) != l.desired.opt_str("name")
            });
            let moved = now.is_some_and(|l| l.observed.is_none());
            if decl.kind.type_name() == rec.type_name && !renamed && !moved {
                continue;
            }
        }
        let desired = Desired {
            id: rec.id.clone(),
            props: rec.props.clone(),
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
        // A resource the stack still declares under another id (moved in the file, same name)
        // is the stack's, not an orphan: deleting it would delete what the stack now holds.
        let declared = |o: &Observed| {
            live.iter().any(|l| {
                stack.get(&l.desired.id).map(|d| d.kind.type_name()) == Some(rec.type_name.as_str())
                    && l.observed.as_ref().is_some_and(|lo| same_resource(lo, o))
            })
        };
        if let Some(observed) = observed.filter(|o| !declared(o)) {
            out.push(Orphan {
                kind,
                desired,
                observed,
            });
        }
    }
    Ok(out)
}
