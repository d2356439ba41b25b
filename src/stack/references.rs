//! References between resources: every `${id.attr}` must name a resource of the stack and one of
//! its attributes; references and `depends_on` make the dependencies, which order the stack.

use std::collections::{BTreeMap, BTreeSet};

use super::model::ResourceDecl;
use crate::error::{Diagnostic, Origin};
use crate::graph;
use crate::resources::Kind;

/// A resource as parsed, before its dependencies are known: the ids its `depends_on` names.
pub(super) struct Parsed {
    pub decl: ResourceDecl,
    pub depends_on: Vec<String>,
    /// `count:`: the resource stands for this many numbered copies (see `count`).
    pub count: Option<usize>,
}

/// Fills in every resource's dependencies, reporting references to what does not exist.
pub(super) fn link(parsed: &mut [Parsed], diags: &mut Vec<Diagnostic>) {
    let kinds: BTreeMap<String, Kind> = parsed
        .iter()
        .map(|p| (p.decl.id.clone(), p.decl.kind))
        .collect();
    for p in parsed.iter_mut() {
        p.decl.deps = dependencies(p, &kinds, diags).into_iter().collect();
        p.decl.depends_on = p.depends_on.clone();
    }
}

/// The resources `parsed`'s templates refer to and its `depends_on` names.
fn dependencies(
    parsed: &Parsed,
    kinds: &BTreeMap<String, Kind>,
    diags: &mut Vec<Diagnostic>,
) -> BTreeSet<String> {
    let d = &parsed.decl;
    let mut deps = BTreeSet::new();
    for p in &d.props {
        for t in p.value.templates() {
            for (rid, attr) in t.refs() {
                let problem = match kinds.get(rid) {
                    None => Diagnostic::error(
                        p.origin.clone(),
                        format!(
                            "`{}.{}` refers to `${{{rid}.{attr}}}`, but there is no resource `{rid}`",
                            d.id, p.spec.name
                        ),
                    )
                    .hint(format!(
                        "resources: {}",
                        kinds.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                    Some(k) if !k.spec().attrs.contains(&attr) => Diagnostic::error(
                        p.origin.clone(),
                        format!(
                            "`{}.{}` refers to `${{{rid}.{attr}}}`, but {} has no attribute `{attr}`",
                            d.id,
                            p.spec.name,
                            k.type_name()
                        ),
                    )
                    .hint(format!("attributes: {}", k.spec().attrs.join(", "))),
                    Some(_) => {
                        deps.insert(rid.to_string());
                        continue;
                    }
                };
                diags.push(problem);
            }
        }
    }
    for e in &parsed.depends_on {
        if kinds.contains_key(e) {
            deps.insert(e.clone());
        } else {
            diags.push(Diagnostic::error(
                d.origin.clone(),
                format!(
                    "`{}.depends_on` names `{e}`, which is not a resource of this stack",
                    d.id
                ),
            ));
        }
    }
    deps
}

/// The resources in dependency order; on a cycle, a diagnostic at its first resource and no
/// resources.
pub(super) fn order(parsed: Vec<Parsed>, diags: &mut Vec<Diagnostic>) -> Vec<ResourceDecl> {
    let nodes: Vec<(String, Vec<String>)> = parsed
        .iter()
        .map(|p| (p.decl.id.clone(), p.decl.deps.clone()))
        .collect();
    let order = match graph::topo_order(&nodes) {
        Ok(o) => o,
        Err(cycle) => {
            let first = parsed
                .iter()
                .find(|p| p.decl.id == cycle[0])
                .map(|p| p.decl.origin.clone())
                .unwrap_or(Origin::None);
            diags.push(
                Diagnostic::error(first, format!("dependency cycle: {}", cycle.join(" -> ")))
                    .hint("break the cycle: a resource cannot depend, directly or not, on itself"),
            );
            Vec::new()
        }
    };
    let mut by_id: BTreeMap<String, ResourceDecl> = parsed
        .into_iter()
        .map(|p| (p.decl.id.clone(), p.decl))
        .collect();
    order.iter().filter_map(|id| by_id.remove(id)).collect()
}
