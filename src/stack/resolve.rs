//! Resolution: a resource's properties rendered with the parameter values and what is known of
//! the other resources, as the `Desired` state the plan compares with what is live.

use std::collections::BTreeMap;

use serde_json::Value;

use super::model::{PropValue, ResourceDecl};
use super::template::{Part, Template};
use crate::package;

use crate::resources::{Desired, PropType, STACK_TAG};

/// Answers `${id.attr}`; `None` for a resource that does not exist yet.
type Lookup<'a> = &'a dyn Fn(&str, &str) -> Option<String>;

/// One property resolved: its value, the document as authored (policies, code), and whether a
/// value in it is not known yet.
struct Resolved {
    value: Value,
    authored: Option<Value>,
    unknown: bool,
}

impl Resolved {
    fn known(value: Value) -> Resolved {
        Resolved {
            value,
            authored: None,
            unknown: false,
        }
    }
}

impl ResourceDecl {
    /// Resolves every property with the parameter values and the attributes of other resources
    /// known so far (`lookup` answers `None` for a resource that does not exist yet).
    pub fn resolve(&self, values: &BTreeMap<String, String>, lookup: Lookup<'_>) -> Desired {
        let mut d = Desired {
            id: self.id.clone(),
            ..Default::default()
        };
        for p in &self.props {
            let name = p.spec.name.to_string();
            let unknown_param = p
                .value
                .templates()
                .into_iter()
                .any(|t| uses_unknown_param(t, values));
            let r = resolve_value(&p.value, values, lookup);
            if let Some(a) = r.authored {
                d.authored.insert(name.clone(), a);
            }
            if unknown_param || r.unknown {
                d.unknown.insert(name.clone());
            }
            d.props.insert(name, r.value);
        }
        for (k, v) in self.kind.spec().fixed_props() {
            d.props.insert(k.to_string(), v);
        }
        self.default_collections(&mut d);
        if self.kind.spec().taggable() {
            add_stack_tag(&mut d, values);
        }
        d
    }

    /// `d`, resolved from this declaration, as a create writes it before `pending` (resources
    /// that only its [`crate::resources::PropSpec::later`] properties name) are made: only those
    /// of its tags whose values are known (and the stack's mark), any other such property that
    /// names a pending resource left unset, and what the kind holds back until it is set
    /// ([`crate::resources::Manage::hold_back`]). See [`crate::stack::Stack::later_deps`].
    pub fn hold_later(
        &self,
        d: &mut Desired,
        values: &BTreeMap<String, String>,
        lookup: Lookup<'_>,
        pending: &[String],
    ) {
        let names_pending = |p: &super::model::PropDecl| {
            let mut refs = p.value.templates().into_iter().flat_map(|t| t.refs());
            refs.any(|(id, _)| pending.iter().any(|x| x == id))
        };
        let mut held = Vec::new();
        for p in self.props.iter().filter(|p| p.spec.later) {
            if p.spec.name == "tags" {
                self.keep_known_tags(d, values, lookup);
            } else if names_pending(p) {
                // A string property unset reads back as empty, as an absent trigger does.
                d.props
                    .insert(p.spec.name.into(), Value::String(String::new()));
                d.unknown.remove(p.spec.name);
                held.push(p.spec.name);
            }
        }
        if let (false, Some(kind)) = (held.is_empty(), self.kind.managed()) {
            kind.hold_back(d, &held);
        }
    }

    /// `d` with only those of its tags whose values are known, and the stack's mark.
    fn keep_known_tags(
        &self,
        d: &mut Desired,
        values: &BTreeMap<String, String>,
        lookup: Lookup<'_>,
    ) {
        let tags = self.props.iter().find(|p| p.spec.name == "tags");
        let Some(PropValue::StrMap(items)) = tags.map(|p| &p.value) else {
            return;
        };
        let known = items.iter().filter_map(|(k, t)| {
            let (v, unknown) = t.render(values, lookup, false);
            let unknown = unknown || uses_unknown_param(t, values);
            (!unknown).then(|| (k.clone(), Value::String(v)))
        });
        d.props
            .insert("tags".into(), Value::Object(known.collect()));
        d.unknown.remove("tags");
        if self.kind.spec().taggable() {
            add_stack_tag(d, values);
        }
    }

    /// Collections default to empty, so extra live entries show as drift.
    fn default_collections(&self, d: &mut Desired) {
        for spec in self.kind.spec().props {
            if !d.props.contains_key(spec.name) {
                let empty = match spec.ty {
                    PropType::PolicyMap | PropType::StrMap => Value::Object(Default::default()),
                    PropType::StrList => Value::Array(vec![]),
                    _ => continue,
                };
                d.props.insert(spec.name.to_string(), empty);
            }
        }
    }
}

fn uses_unknown_param(t: &Template, values: &BTreeMap<String, String>) -> bool {
    t.parts.iter().any(|p| match p {
        Part::Param(n) => !values.contains_key(n),
        _ => false,
    })
}

/// Every taggable resource carries the stack tag with the prefix.
fn add_stack_tag(d: &mut Desired, values: &BTreeMap<String, String>) {
    let mut tags = match d.props.remove("tags") {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let prefix = values.get("prefix").cloned().unwrap_or_default();
    tags.insert(STACK_TAG.to_string(), Value::String(prefix));
    d.props.insert("tags".into(), Value::Object(tags));
}

fn resolve_value(v: &PropValue, values: &BTreeMap<String, String>, lookup: Lookup<'_>) -> Resolved {
    let mut unknown = false;
    let mut render = |t: &Template| {
        let (s, u) = t.render(values, lookup, false);
        unknown |= u;
        s
    };
    let value = match v {
        PropValue::Bool(b) => return Resolved::known(Value::Bool(*b)),
        PropValue::Int(i) => return Resolved::known(Value::from(*i)),
        PropValue::Code(src) => return resolve_code(src),
        PropValue::Policy(_, t) => return render_policy(t, values, lookup),
        PropValue::PolicyMap(items) => return resolve_policy_map(items, values, lookup),
        PropValue::Str(t) => Value::String(render(t)),
        PropValue::StrList(items) => {
            let mut out: Vec<String> = items.iter().map(&mut render).collect();
            out.sort();
            out.dedup();
            Value::Array(out.into_iter().map(Value::String).collect())
        }
        PropValue::StrMap(items) => Value::Object(
            items
                .iter()
                .map(|(k, t)| (k.clone(), Value::String(render(t))))
                .collect(),
        ),
    };
    Resolved {
        value,
        authored: None,
        unknown,
    }
}

/// Code compares by the SHA-256 of its package; the source is what was authored.
fn resolve_code(src: &str) -> Resolved {
    let value = match package::package(src) {
        Ok((_, sha)) => Value::String(sha),
        Err(e) => Value::String(format!("(cannot package: {e})")),
    };
    Resolved {
        value,
        authored: Some(Value::String(src.to_string())),
        unknown: false,
    }
}

fn resolve_policy_map(
    items: &[(String, std::path::PathBuf, Template)],
    values: &BTreeMap<String, String>,
    lookup: Lookup<'_>,
) -> Resolved {
    let mut m = serde_json::Map::new();
    let mut a = serde_json::Map::new();
    let mut unknown = false;
    for (k, _, t) in items {
        let r = render_policy(t, values, lookup);
        unknown |= r.unknown;
        m.insert(k.clone(), r.value);
        a.insert(k.clone(), r.authored.unwrap_or_default());
    }
    Resolved {
        value: Value::Object(m),
        authored: Some(Value::Object(a)),
        unknown,
    }
}

/// A policy template rendered: its normalised form, the document as authored, and whether a
/// value in it is not known yet.
fn render_policy(t: &Template, values: &BTreeMap<String, String>, lookup: Lookup<'_>) -> Resolved {
    let (text, unknown) = t.render(values, lookup, true);
    match serde_json::from_str::<Value>(&text) {
        Ok(v) => Resolved {
            value: iotstack_policy::normalize(&v),
            authored: Some(v),
            unknown,
        },
        // Validation parsed the template already; substituted values are JSON-escaped.
        Err(_) => Resolved {
            value: Value::String(text.clone()),
            authored: Some(Value::String(text)),
            unknown: true,
        },
    }
}
