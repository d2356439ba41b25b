//! What a loaded stack is: its settings, and each resource with its properties as templates, in
//! dependency order.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::params::Sourced;
use super::source::Source;
use super::template::{Part, Template};
use crate::error::Origin;
use crate::resources::{Kind, Observed, PropSpec};

/// A loaded, validated stack file.
pub struct Stack {
    /// The stack file (`<built-in>/stacks/default.yaml` for the built-in stack).
    pub path: PathBuf,
    /// Where the stack file and the files it names are read from.
    pub source: Source,
    pub description: Option<String>,
    /// `parameters:` defaults (prefix, email, ip, region).
    pub defaults: BTreeMap<String, Sourced>,
    pub settings: Settings,
    /// In dependency order.
    pub resources: Vec<ResourceDecl>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Where local files (device keys, certificate ids) go: `<output_dir>/<prefix>/`.
    pub output_dir: PathBuf,
    /// `allow_identity_self_attach: true`: the stack opts in to letting signed-in identities
    /// attach IoT policies themselves (`iot:AttachPolicy` in the authenticated role), as the
    /// seeds do. `validate` and `doctor` then warn about such grants instead of failing.
    pub allow_identity_self_attach: bool,
    /// Where `allow_identity_self_attach` is set (`Origin::None` when it is not).
    pub allow_identity_self_attach_at: Origin,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            output_dir: PathBuf::from(".iotstack"),
            allow_identity_self_attach: false,
            allow_identity_self_attach_at: Origin::None,
        }
    }
}

#[derive(Clone)]
pub struct ResourceDecl {
    pub id: String,
    pub origin: Origin,
    pub kind: Kind,
    pub props: Vec<PropDecl>,
    /// Resources this one refers to or names in `depends_on`.
    pub deps: Vec<String>,
    /// Those it names in `depends_on`.
    pub depends_on: Vec<String>,
    /// For a copy of a counted resource (`count: N`): the id it was declared with.
    pub copy_of: Option<String>,
}

#[derive(Clone)]
pub struct PropDecl {
    pub spec: PropSpec,
    pub origin: Origin,
    pub value: PropValue,
}

#[derive(Clone)]
pub enum PropValue {
    Str(Template),
    Bool(bool),
    /// A policy template: the file it came from and its text as a template.
    Policy(PathBuf, Template),
    PolicyMap(Vec<(String, PathBuf, Template)>),
    StrList(Vec<Template>),
    StrMap(Vec<(String, Template)>),
    Int(i64),
    /// `builtin:<name>` or a file path (already resolved against the stack file's folder).
    Code(String),
}

impl PropValue {
    pub fn templates(&self) -> Vec<&Template> {
        match self {
            PropValue::Str(t) | PropValue::Policy(_, t) => vec![t],
            PropValue::Bool(_) | PropValue::Int(_) | PropValue::Code(_) => vec![],
            PropValue::PolicyMap(v) => v.iter().map(|(_, _, t)| t).collect(),
            PropValue::StrList(v) => v.iter().collect(),
            PropValue::StrMap(v) => v.iter().map(|(_, t)| t).collect(),
        }
    }
}

impl ResourceDecl {
    /// The template of the `name` property, if the kind has one.
    pub fn name_template(&self) -> Option<&Template> {
        self.props
            .iter()
            .find_map(|p| match (&p.value, p.spec.name) {
                (PropValue::Str(t), "name") => Some(t),
                _ => None,
            })
    }
}

/// How AWS forms the ARN of a kind's resource from its name: the service and what precedes the
/// name (Service Authorization Reference, the resource types of "Actions, resources, and
/// condition keys for" AWS Lambda: `arn:${Partition}:lambda:${Region}:${Account}:function:
/// ${FunctionName}`; Amazon SNS: `…:sns:${Region}:${Account}:${TopicName}`; AWS IoT:
/// `…:iot:${Region}:${Account}:policy/${PolicyName}`, `thing/${ThingName}`,
/// `rule/${RuleName}`, `thinggroup/${ThingGroupName}`). Not a role's: its ARN holds its path,
/// which a role taken into the stack may have.
fn arn_form(type_name: &str) -> Option<(&'static str, &'static str)> {
    Some(match type_name {
        "lambda_function" => ("lambda", "function:"),
        "sns_topic" => ("sns", ""),
        "iot_policy" => ("iot", "policy/"),
        "iot_thing" => ("iot", "thing/"),
        "iot_topic_rule" => ("iot", "rule/"),
        "iot_thing_group" => ("iot", "thinggroup/"),
        _ => return None,
    })
}

impl Stack {
    pub fn get(&self, id: &str) -> Option<&ResourceDecl> {
        self.resources.iter().find(|r| r.id == id)
    }

    /// The resource ids in dependency order (each after what it depends on).
    pub fn order(&self) -> Vec<String> {
        self.resources.iter().map(|r| r.id.clone()).collect()
    }

    /// Each resource id with the ids it depends on.
    pub fn deps(&self) -> BTreeMap<String, Vec<String>> {
        self.resources
            .iter()
            .map(|r| (r.id.clone(), r.deps.clone()))
            .collect()
    }

    /// What apply waits for: [`Stack::deps`], but for a resource referred to only for its name
    /// or its ARN, when both are known before the resource exists ([`Stack::ahead`]), and only
    /// in properties that hold them as text ([`PropSpec::by_value`]: tags, environment
    /// variables, identity-based policies). `depends_on` always waits.
    pub fn apply_deps(&self) -> BTreeMap<String, Vec<String>> {
        let by_value_only = |r: &ResourceDecl, d: &str| {
            let mut refs = r.props.iter().flat_map(|p| {
                let ts = p.value.templates().into_iter();
                ts.flat_map(move |t| t.refs().map(move |(id, a)| (p.spec.by_value, id, a)))
            });
            let mut any = false;
            let only = refs.all(|(by_value, id, a)| {
                any |= id == d;
                id != d || (by_value && self.known_ahead(d, a))
            });
            any && only && !r.depends_on.iter().any(|x| x == d)
        };
        self.resources
            .iter()
            .map(|r| {
                let deps = r.deps.iter().filter(|d| !by_value_only(r, d));
                (r.id.clone(), deps.cloned().collect())
            })
            .collect()
    }

    /// For each resource, what it waits for in `apply_deps` ([`Stack::apply_deps`]) only
    /// because properties its kind writes after the create name it ([`PropSpec::later`]: its
    /// tags, a user pool's trigger): resources it refers to in those and in no other property,
    /// nor in `depends_on` (only resources that have some). A create may go before them, and
    /// those properties are written once they exist (a tag is text: nothing in AWS checks it
    /// against the resource it names; a trigger is set with UpdateUserPool).
    pub fn later_deps(
        &self,
        apply_deps: &BTreeMap<String, Vec<String>>,
    ) -> BTreeMap<String, Vec<String>> {
        let named = |r: &ResourceDecl, d: &str, later: bool| {
            let props = r.props.iter().filter(|p| p.spec.later == later);
            props
                .flat_map(|p| p.value.templates())
                .any(|t| t.refs().any(|(rid, _)| rid == d))
        };
        let only_later = |r: &ResourceDecl| {
            let waits = apply_deps.get(&r.id).into_iter().flatten();
            let only = waits
                .filter(|d| !r.depends_on.contains(d) && named(r, d, true) && !named(r, d, false));
            only.cloned().collect::<Vec<String>>()
        };
        self.resources
            .iter()
            .filter(|r| r.props.iter().any(|p| p.spec.later))
            .map(|r| (r.id.clone(), only_later(r)))
            .filter(|(_, later)| !later.is_empty())
            .collect()
    }

    /// The resources `id` names in a property that needs them whole ([`PropSpec::whole`]).
    pub fn whole_refs(&self, id: &str) -> Vec<String> {
        let Some(r) = self.get(id) else {
            return Vec::new();
        };
        let props = r.props.iter().filter(|p| p.spec.whole);
        let mut ids: Vec<String> = props
            .flat_map(|p| p.value.templates())
            .flat_map(|t| t.refs().map(|(rid, _)| rid.to_string()))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The name of `id` when the stack gives it from parameters alone (no reference).
    fn name_ahead(&self, id: &str) -> Option<&Template> {
        let d = self.get(id)?;
        let t = d.name_template()?;
        let named = d.kind.spec().attrs.contains(&"name");
        (named && t.refs().next().is_none()).then_some(t)
    }

    /// Whether `${id.attr}` is known before the resource exists ([`Stack::ahead`]), whatever
    /// the parameter values.
    fn known_ahead(&self, id: &str, attr: &str) -> bool {
        let kind = self.get(id).map(|d| d.kind.type_name());
        self.name_ahead(id).is_some()
            && (attr == "name" || (attr == "arn" && kind.is_some_and(|k| arn_form(k).is_some())))
    }

    /// Answers `${id.name}` before the resource exists, when the stack gives its name from
    /// parameters alone (its `name` attribute is the name it is created with); and `${id.arn}`
    /// for a kind whose ARN AWS forms from the name, the account and the region alone
    /// ([`arn_form`]), once those are known.
    pub fn ahead(&self, id: &str, attr: &str, values: &BTreeMap<String, String>) -> Option<String> {
        let t = self.name_ahead(id)?;
        let (name, unknown) = t.render(values, &|_, _| None, false);
        if unknown || name.is_empty() {
            return None;
        }
        match attr {
            "name" => Some(name),
            "arn" => {
                let form = arn_form(self.get(id)?.kind.type_name())?;
                let value = |k: &str| values.get(k).filter(|v| !v.is_empty());
                let (partition, region) = (value("partition")?, value("region")?);
                let account = value("account").filter(|a| a.bytes().all(|b| b.is_ascii_digit()))?;
                let (service, resource) = form;
                let arn = format!("arn:{partition}:{service}:{region}:{account}:{resource}{name}");
                Some(arn)
            }
            _ => None,
        }
    }

    /// Answers `${id.attr}` from what is known about the stack's resources (`None` for a
    /// resource not read yet, or that does not exist).
    pub fn lookup<'a>(
        known: &'a BTreeMap<String, Option<Observed>>,
    ) -> impl Fn(&str, &str) -> Option<String> + 'a {
        move |id, attr| {
            known
                .get(id)
                .and_then(|o| o.as_ref())
                .and_then(|o| o.attrs.get(attr).cloned())
                .filter(|v| !v.is_empty())
        }
    }

    /// Which parameters the stack's templates use.
    pub fn uses_param(&self, name: &str) -> bool {
        self.resources.iter().any(|r| {
            r.props.iter().any(|p| {
                p.value.templates().iter().any(|t| {
                    t.parts
                        .iter()
                        .any(|part| matches!(part, Part::Param(n) if n == name))
                })
            })
        })
    }
}
