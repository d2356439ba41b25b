//! Counted resources: a resource declared once with `count: N` (or `count: ${devices}`) stands
//! for N numbered resources, expanded here before references are linked. Copy `i` of resource
//! `device-thing` is `device-thing-007` (1-based, zero-padded to at least three digits), `${index}`
//! in its properties is `007`, and a reference to another counted resource of the same count
//! (`${device-cert.arn}`) names that resource's copy of the same index. Everything else sees the
//! copies as ordinary resources: dependencies, order, plan, apply, the record.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::model::{PropValue, ResourceDecl};
use super::references::Parsed;
use super::template::{Part, Template};
use crate::error::{Diagnostic, Origin};

/// The most copies one counted resource may have.
pub const MAX: i64 = 10_000;

/// The parameter `${index}` a counted resource's properties may use: its copy's number.
pub const INDEX: &str = "index";

/// The number of a copy, as it appears in ids and `${index}`: `7` of 500 is `007`.
pub fn index(i: usize, count: usize) -> String {
    let width = count.to_string().len().max(3);
    format!("{i:0width$}")
}

/// The id of copy `i` of counted resource `id`.
pub fn copy_id(id: &str, i: usize, count: usize) -> String {
    format!("{id}-{}", index(i, count))
}

/// The counted resources of the stacks loaded in this run: declared id -> count. Progress shows
/// a counted resource's copies as one line, N done out of its count (`render::progress`).
static COUNTED: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

/// The counted resource that `id` is a copy of, and its count, when the stack loaded in this run
/// declared one.
pub fn copy_of(id: &str) -> Option<(String, usize)> {
    let (base, number) = id.rsplit_once('-')?;
    let i: usize = number.parse().ok()?;
    let n = *COUNTED.lock().ok()?.get(base)?;
    (number == index(i, n) && (1..=n).contains(&i)).then(|| (base.to_string(), n))
}

/// Every counted resource replaced by its copies; problems (a reference between resources of
/// different counts, `${index}` outside a counted resource, an id a copy would take) reported.
pub(super) fn expand(parsed: Vec<Parsed>, diags: &mut Vec<Diagnostic>) -> Vec<Parsed> {
    let counts: BTreeMap<String, Option<usize>> = parsed
        .iter()
        .map(|p| (p.decl.id.clone(), p.count))
        .collect();
    for p in &parsed {
        check(p, &counts, diags);
    }
    if !diags.is_empty() {
        return parsed;
    }
    if let Ok(mut counted) = COUNTED.lock() {
        counted.extend(
            parsed
                .iter()
                .filter_map(|p| Some((p.decl.id.clone(), p.count?))),
        );
    }
    let mut out = Vec::with_capacity(parsed.len());
    for p in parsed {
        let Some(n) = p.count else {
            out.push(p);
            continue;
        };
        for i in 1..=n {
            let copy = Parsed {
                decl: copy_decl(&p.decl, i, n, &counts),
                depends_on: p
                    .depends_on
                    .iter()
                    .map(|d| counted_ref(d, i, n, &counts))
                    .collect(),
                count: None,
            };
            if counts.contains_key(&copy.decl.id) {
                let m = format!(
                    "copy `{}` of the counted resource `{}` has the id of another resource",
                    copy.decl.id, p.decl.id
                );
                diags.push(Diagnostic::error(p.decl.origin.clone(), m));
            }
            out.push(copy);
        }
    }
    out
}

/// The id copy `i` refers to for `id`: its own copy when `id` is counted too.
fn counted_ref(id: &str, i: usize, n: usize, counts: &BTreeMap<String, Option<usize>>) -> String {
    match counts.get(id) {
        Some(Some(_)) => copy_id(id, i, n),
        _ => id.to_string(),
    }
}

fn copy_decl(
    d: &ResourceDecl,
    i: usize,
    n: usize,
    counts: &BTreeMap<String, Option<usize>>,
) -> ResourceDecl {
    let mut copy = d.clone();
    copy.id = copy_id(&d.id, i, n);
    copy.copy_of = Some(d.id.clone());
    for p in &mut copy.props {
        for t in p.value.templates_mut() {
            for part in &mut t.parts {
                match part {
                    Part::Param(name) if name == INDEX => *part = Part::Lit(index(i, n)),
                    Part::Ref { id, .. } => *id = counted_ref(id, i, n, counts),
                    _ => {}
                }
            }
        }
    }
    copy
}

/// A counted resource refers only to uncounted ones and to counted ones of its own count;
/// an uncounted one refers to no counted one and has no `${index}`.
fn check(p: &Parsed, counts: &BTreeMap<String, Option<usize>>, diags: &mut Vec<Diagnostic>) {
    let d = &p.decl;
    let mut problem = |origin: &Origin, m: String, hint: &str| {
        diags.push(Diagnostic::error(origin.clone(), m).hint(hint));
    };
    let same = "counted resources refer to each other copy by copy: give both the same `count`";
    let whole = "an uncounted resource cannot name one copy of a counted resource; count it too, or refer to a group they all belong to";
    let mut refer = |origin: &Origin, what: String, to: &str| match (p.count, counts.get(to)) {
        (Some(a), Some(Some(b))) if a != *b => problem(
            origin,
            format!(
                "{what} refers to `{to}` (count {b}), but `{}` has count {a}",
                d.id
            ),
            same,
        ),
        (None, Some(Some(b))) => problem(
            origin,
            format!("{what} refers to the counted resource `{to}` (count {b})"),
            whole,
        ),
        _ => {}
    };
    for prop in &d.props {
        let what = format!("`{}.{}`", d.id, prop.spec.name);
        for t in prop.value.templates() {
            for (to, _) in t.refs() {
                refer(&prop.origin, what.clone(), to);
            }
        }
    }
    for to in &p.depends_on {
        refer(&d.origin, format!("`{}.depends_on`", d.id), to);
    }
    if p.count.is_none() {
        for prop in &d.props {
            let uses_index = prop.value.templates().iter().any(|t| uses(t, INDEX));
            if uses_index {
                let m = format!(
                    "`{}.{}` uses `${{index}}`, but `{}` has no `count`",
                    d.id, prop.spec.name, d.id
                );
                diags.push(
                    Diagnostic::error(prop.origin.clone(), m)
                        .hint("`${index}` is the copy number of a resource with `count: N`"),
                );
            }
        }
    }
}

fn uses(t: &Template, param: &str) -> bool {
    t.parts
        .iter()
        .any(|p| matches!(p, Part::Param(n) if n == param))
}

impl PropValue {
    /// The templates of the value, to rewrite them in place.
    pub(super) fn templates_mut(&mut self) -> Vec<&mut Template> {
        match self {
            PropValue::Str(t) | PropValue::Policy(_, t) => vec![t],
            PropValue::Bool(_) | PropValue::Int(_) | PropValue::Code(_) => vec![],
            PropValue::PolicyMap(v) => v.iter_mut().map(|(_, _, t)| t).collect(),
            PropValue::StrList(v) => v.iter_mut().collect(),
            PropValue::StrMap(v) => v.iter_mut().map(|(_, t)| t).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_numbered_from_one_with_at_least_three_digits() {
        assert_eq!(copy_id("device", 7, 500), "device-007");
        assert_eq!(copy_id("device", 7, 5), "device-007");
        assert_eq!(copy_id("device", 42, 10_000), "device-00042");
        COUNTED.lock().unwrap().insert("gadget".into(), 20);
        assert_eq!(copy_of("gadget-007"), Some(("gadget".into(), 20)));
        assert_eq!(copy_of("gadget-7"), None);
        assert_eq!(copy_of("gadget-021"), None);
        assert_eq!(copy_of("other-007"), None);
    }
}
