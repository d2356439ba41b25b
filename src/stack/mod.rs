//! The stack file: a YAML model with parameters, settings, resources and references, validated
//! offline. Every problem is collected and reported with file, line and column.

pub mod params;
pub mod template;
pub mod validate;
pub mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Diagnostic, Origin};
use crate::graph;
use crate::policy;
use crate::resources::{self, Desired, Kind, PropSpec, PropType, STACK_TAG};
use params::Sourced;
use template::Template;
use yaml::{Key, Node, Pos};

pub const DEFAULT_STACK: &str = "stacks/default.yaml";

/// A loaded, validated stack file.
pub struct Stack {
    pub path: PathBuf,
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

pub struct ResourceDecl {
    pub id: String,
    pub origin: Origin,
    pub kind: Kind,
    pub props: Vec<PropDecl>,
    /// Resources this one refers to or names in `depends_on`.
    pub deps: Vec<String>,
}

pub struct PropDecl {
    pub spec: PropSpec,
    pub origin: Origin,
    pub value: PropValue,
}

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

    /// Resolves every property with the parameter values and the attributes of other resources
    /// known so far (`lookup` answers `None` for a resource that does not exist yet).
    pub fn resolve(
        &self,
        values: &BTreeMap<String, String>,
        lookup: &dyn Fn(&str, &str) -> Option<String>,
    ) -> Desired {
        let mut d = Desired {
            id: self.id.clone(),
            ..Default::default()
        };
        let mut unknown_param = |t: &Template| {
            t.parts.iter().any(|p| match p {
                template::Part::Param(n) => !values.contains_key(n),
                _ => false,
            })
        };
        for p in &self.props {
            let name = p.spec.name.to_string();
            let mut unknown = p.value.templates().into_iter().any(&mut unknown_param);
            let v = match &p.value {
                PropValue::Bool(b) => Value::Bool(*b),
                PropValue::Int(i) => Value::from(*i),
                PropValue::Code(src) => {
                    d.authored.insert(name.clone(), Value::String(src.clone()));
                    match resources::lambda_function::package(src) {
                        Ok((_, sha)) => Value::String(sha),
                        Err(e) => Value::String(format!("(cannot package: {e})")),
                    }
                }
                PropValue::Str(t) => {
                    let (s, u) = t.render(values, lookup, false);
                    unknown |= u;
                    Value::String(s)
                }
                PropValue::Policy(_, t) => {
                    let (doc, authored, u) = render_policy(t, values, lookup);
                    unknown |= u;
                    d.authored.insert(name.clone(), authored);
                    doc
                }
                PropValue::PolicyMap(items) => {
                    let mut m = serde_json::Map::new();
                    let mut a = serde_json::Map::new();
                    for (k, _, t) in items {
                        let (doc, authored, u) = render_policy(t, values, lookup);
                        unknown |= u;
                        m.insert(k.clone(), doc);
                        a.insert(k.clone(), authored);
                    }
                    d.authored.insert(name.clone(), Value::Object(a));
                    Value::Object(m)
                }
                PropValue::StrList(items) => {
                    let mut out: Vec<String> = items
                        .iter()
                        .map(|t| {
                            let (s, u) = t.render(values, lookup, false);
                            unknown |= u;
                            s
                        })
                        .collect();
                    out.sort();
                    out.dedup();
                    Value::Array(out.into_iter().map(Value::String).collect())
                }
                PropValue::StrMap(items) => {
                    let mut m = serde_json::Map::new();
                    for (k, t) in items {
                        let (s, u) = t.render(values, lookup, false);
                        unknown |= u;
                        m.insert(k.clone(), Value::String(s));
                    }
                    Value::Object(m)
                }
            };
            if unknown {
                d.unknown.insert(name.clone());
            }
            d.props.insert(name, v);
        }
        for (k, v) in self.kind.spec().fixed_props() {
            d.props.insert(k.to_string(), v);
        }
        // Collections default to empty, so extra live entries show as drift.
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
        if self.kind.spec().taggable() {
            let mut tags = match d.props.remove("tags") {
                Some(Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            };
            let prefix = values.get("prefix").cloned().unwrap_or_default();
            tags.insert(STACK_TAG.to_string(), Value::String(prefix));
            d.props.insert("tags".into(), Value::Object(tags));
        }
        d
    }
}

/// A policy template rendered: its normalised form, the document as authored, and whether a
/// value in it is not known yet.
fn render_policy(
    t: &Template,
    values: &BTreeMap<String, String>,
    lookup: &dyn Fn(&str, &str) -> Option<String>,
) -> (Value, Value, bool) {
    let (text, unknown) = t.render(values, lookup, true);
    match serde_json::from_str::<Value>(&text) {
        Ok(v) => (policy::normalize(&v), v, unknown),
        // Validation parsed the template already; substituted values are JSON-escaped.
        Err(_) => (Value::String(text.clone()), Value::String(text), true),
    }
}

struct Loader<'a> {
    path: &'a Path,
    dir: PathBuf,
    diags: Vec<Diagnostic>,
}

impl Loader<'_> {
    fn at(&self, pos: Pos) -> Origin {
        Origin::File {
            path: self.path.to_path_buf(),
            line: pos.line,
            col: pos.col,
        }
    }

    fn err(&mut self, pos: Pos, msg: impl Into<String>) -> &mut Diagnostic {
        let o = self.at(pos);
        self.diags.push(Diagnostic::error(o, msg));
        self.diags.last_mut().expect("just pushed")
    }

    fn check_keys(&mut self, map: &[(Key, Node)], allowed: &[&str], what: &str) {
        for (k, _) in map {
            if !allowed.contains(&k.name.as_str()) {
                let m = format!("unknown key `{}` in {what}", k.name);
                let hint = format!("valid keys: {}", allowed.join(", "));
                self.err(k.pos, m).hint = Some(hint);
            }
        }
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            yaml::Value::Str(s) => Some(s.clone()),
            yaml::Value::Int(i) => Some(i.to_string()),
            _ => {
                let m = format!("{what} must be a string, found {}", node.type_name());
                self.err(node.pos, m);
                None
            }
        }
    }

    fn template(&mut self, node: &Node, what: &str) -> Option<Template> {
        let s = self.string(node, what)?;
        match Template::parse(&s) {
            Ok(t) => Some(t),
            Err(e) => {
                // Plain scalars start at the node; point at the `${` inside it.
                let pos = Pos {
                    line: node.pos.line,
                    col: node.pos.col + e.offset,
                };
                self.err(pos, format!("{what}: {}", e.message));
                None
            }
        }
    }

    fn policy_file(&mut self, node: &Node, what: &str) -> Option<(PathBuf, Template)> {
        let rel = self.string(node, what)?;
        let path = clean_path(&self.dir.join(&rel));
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                let m = format!("{what}: cannot read policy file `{}`: {e}", path.display());
                self.err(node.pos, m).hint = Some(
                    "policy paths are relative to the stack file's folder, e.g. `../policies/device-policy.json`".into(),
                );
                return None;
            }
        };
        let file_origin = |line, col| Origin::File {
            path: path.clone(),
            line,
            col,
        };
        if let Err(e) = serde_json::from_str::<Value>(&text) {
            self.diags.push(
                Diagnostic::error(
                    file_origin(e.line(), e.column()),
                    format!("policy document is not valid JSON: {e}"),
                )
                .hint("a policy is a JSON object with \"Version\" and \"Statement\""),
            );
            return None;
        }
        match template::parse_text(&text) {
            Ok(t) => Some((path, t)),
            Err((line, col, m)) => {
                self.diags
                    .push(Diagnostic::error(file_origin(line, col), m));
                None
            }
        }
    }

    fn prop(&mut self, spec: &PropSpec, node: &Node, rid: &str) -> Option<PropValue> {
        let what = format!("`{rid}.{}`", spec.name);
        match spec.ty {
            PropType::Str => self.template(node, &what).map(PropValue::Str),
            PropType::Int => match node.value {
                yaml::Value::Int(i) if i >= 0 => Some(PropValue::Int(i)),
                _ => {
                    let m = format!("{what} must be a whole number, found {}", node.type_name());
                    self.err(node.pos, m);
                    None
                }
            },
            PropType::Code => {
                let src = self.string(node, &what)?;
                if let Some(name) = src.strip_prefix("builtin:") {
                    if resources::lambda_function::builtin(name).is_none() {
                        let m = format!("{what}: there is no built-in function `{name}`");
                        self.err(node.pos, m).hint = Some(format!(
                            "built-in functions: {}",
                            resources::lambda_function::BUILTINS
                                .iter()
                                .map(|(n, _)| format!("builtin:{n}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                        return None;
                    }
                    Some(PropValue::Code(src))
                } else {
                    let path = clean_path(&self.dir.join(&src));
                    if !path.is_file() {
                        let m = format!("{what}: cannot read function source `{}`", path.display());
                        self.err(node.pos, m).hint = Some(
                            "give `builtin:<name>` or a Python file relative to the stack file"
                                .into(),
                        );
                        return None;
                    }
                    Some(PropValue::Code(path.display().to_string()))
                }
            }
            PropType::Bool => match node.value {
                yaml::Value::Bool(b) => Some(PropValue::Bool(b)),
                _ => {
                    let m = format!("{what} must be true or false, found {}", node.type_name());
                    self.err(node.pos, m);
                    None
                }
            },
            PropType::Policy => self
                .policy_file(node, &what)
                .map(|(p, t)| PropValue::Policy(p, t)),
            PropType::PolicyMap => {
                let Some(map) = node.as_map() else {
                    let m = format!(
                        "{what} must map policy names to policy files, found {}",
                        node.type_name()
                    );
                    self.err(node.pos, m);
                    return None;
                };
                let mut out = Vec::new();
                for (k, v) in map {
                    if let Some((p, t)) = self.policy_file(v, &format!("{what}.{}", k.name)) {
                        out.push((k.name.clone(), p, t));
                    }
                }
                Some(PropValue::PolicyMap(out))
            }
            PropType::StrList => {
                let yaml::Value::Seq(items) = &node.value else {
                    let m = format!(
                        "{what} must be a list of strings, found {}",
                        node.type_name()
                    );
                    self.err(node.pos, m);
                    return None;
                };
                let items: Vec<_> = items
                    .iter()
                    .filter_map(|i| self.template(i, &what))
                    .collect();
                Some(PropValue::StrList(items))
            }
            PropType::StrMap => {
                let Some(map) = node.as_map() else {
                    let m = format!(
                        "{what} must be a mapping of strings, found {}",
                        node.type_name()
                    );
                    self.err(node.pos, m);
                    return None;
                };
                let mut out = Vec::new();
                for (k, v) in map {
                    if let Some(t) = self.template(v, &format!("{what}.{}", k.name)) {
                        out.push((k.name.clone(), t));
                    }
                }
                Some(PropValue::StrMap(out))
            }
        }
    }

    fn resource(&mut self, key: &Key, node: &Node) -> Option<(ResourceDecl, Vec<String>)> {
        let id = key.name.clone();
        if !(id.starts_with(|c: char| c.is_ascii_lowercase())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        {
            self.err(key.pos, format!("resource id `{id}` is not valid"))
                .hint =
                Some("use lower-case letters, digits and `-`, starting with a letter".into());
        }
        let Some(map) = node.as_map() else {
            let m = format!("resource `{id}` must be a mapping with `type` and `properties`");
            self.err(node.pos, m);
            return None;
        };
        self.check_keys(
            map,
            &["type", "properties", "depends_on", "description"],
            &format!("resource `{id}`"),
        );
        let get = |k: &str| map.iter().find(|(kk, _)| kk.name == k).map(|(_, v)| v);
        let Some(tnode) = get("type") else {
            self.err(key.pos, format!("resource `{id}` has no `type`"))
                .hint = Some(format!("valid types: {}", type_names()));
            return None;
        };
        let tname = self.string(tnode, &format!("`{id}.type`"))?;
        let Some(kind) = resources::kind(&tname) else {
            self.err(tnode.pos, format!("unknown resource type `{tname}`"))
                .hint = Some(format!("valid types: {}", type_names()));
            return None;
        };
        let mut explicit = Vec::new();
        if let Some(d) = get("depends_on") {
            match &d.value {
                yaml::Value::Seq(items) => {
                    for i in items {
                        if let Some(s) = self.string(i, &format!("`{id}.depends_on`")) {
                            explicit.push((s, i.pos));
                        }
                    }
                }
                _ => {
                    let m = format!("`{id}.depends_on` must be a list of resource ids");
                    self.err(d.pos, m);
                }
            }
        }
        let empty = Vec::new();
        let props_map: &[(Key, Node)] = match get("properties") {
            Some(p) => match p.as_map() {
                Some(m) => m,
                None => {
                    let m = format!(
                        "`{id}.properties` must be a mapping, found {}",
                        p.type_name()
                    );
                    self.err(p.pos, m);
                    return None;
                }
            },
            None => &empty,
        };
        let mut specs: Vec<&PropSpec> = kind.spec().props.iter().collect();
        if kind.spec().taggable() {
            specs.push(&resources::TAGS);
        }
        let names: Vec<&str> = specs.iter().map(|p| p.name).collect();
        self.check_keys(
            props_map,
            &names,
            &format!("the properties of `{id}` ({tname})"),
        );
        let mut props = Vec::new();
        for spec in specs {
            match props_map.iter().find(|(k, _)| k.name == spec.name) {
                Some((k, v)) => {
                    if let Some(value) = self.prop(spec, v, &id) {
                        props.push(PropDecl {
                            spec: *spec,
                            origin: self.at(k.pos),
                            value,
                        });
                    }
                }
                None if spec.required => {
                    let m = format!(
                        "resource `{id}` ({tname}) is missing the property `{}`",
                        spec.name
                    );
                    self.err(key.pos, m).hint = Some(spec.doc.to_string());
                }
                None => {}
            }
        }
        let decl = ResourceDecl {
            id: id.clone(),
            origin: self.at(key.pos),
            kind,
            props,
            deps: Vec::new(),
        };
        let explicit_ids = explicit.iter().map(|(s, _)| s.clone()).collect();
        Some((decl, explicit_ids))
    }
}

/// `a/b/../c` becomes `a/c`, so messages name the file the way a user would.
fn clean_path(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn type_names() -> String {
    resources::REGISTRY
        .iter()
        .map(|k| k.type_name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Stack {
    /// Reads and validates a stack file. Nothing here talks to AWS.
    pub fn load(path: &Path) -> Result<Stack, Vec<Diagnostic>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![Diagnostic::error(
                Origin::Flag("--stack".into()),
                format!("cannot read stack file `{}`: {e}", path.display()),
            )]
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Stack, Vec<Diagnostic>> {
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut l = Loader {
            path,
            dir,
            diags: Vec::new(),
        };
        let root = match yaml::parse(text) {
            Ok(r) => r,
            Err((pos, m)) => {
                l.err(pos, format!("invalid YAML: {m}"));
                return Err(l.diags);
            }
        };
        let Some(top) = root.as_map() else {
            l.err(
                root.pos,
                "a stack file is a mapping with `version` and `resources`",
            );
            return Err(l.diags);
        };
        l.check_keys(
            top,
            &[
                "version",
                "description",
                "parameters",
                "settings",
                "resources",
            ],
            "the stack file",
        );
        let get = |k: &str| top.iter().find(|(kk, _)| kk.name == k).map(|(_, v)| v);

        match get("version").map(|n| &n.value) {
            Some(yaml::Value::Int(1)) => {}
            Some(_) => {
                let pos = get("version").map(|n| n.pos).unwrap_or_default();
                l.err(pos, "unsupported stack file version").hint =
                    Some("write `version: 1`".into());
            }
            None => {
                l.err(root.pos, "the stack file has no `version`").hint =
                    Some("add `version: 1`".into());
            }
        }
        let description = get("description").and_then(|n| l.string(n, "`description`"));

        let mut defaults = BTreeMap::new();
        if let Some(p) = get("parameters") {
            match p.as_map() {
                Some(m) => {
                    l.check_keys(m, &["prefix", "email", "ip", "region"], "`parameters`");
                    for (k, v) in m {
                        if matches!(v.value, yaml::Value::Null) {
                            continue;
                        }
                        if let Some(s) = l.string(v, &format!("`parameters.{}`", k.name)) {
                            defaults.insert(
                                k.name.clone(),
                                Sourced {
                                    value: s,
                                    origin: l.at(v.pos),
                                },
                            );
                        }
                    }
                }
                None => {
                    l.err(p.pos, "`parameters` must be a mapping of defaults");
                }
            }
        }

        let mut settings = Settings {
            output_dir: PathBuf::from(".iotstack"),
            allow_identity_self_attach: false,
            allow_identity_self_attach_at: Origin::None,
        };
        if let Some(s) = get("settings") {
            match s.as_map() {
                Some(m) => {
                    l.check_keys(
                        m,
                        &["output_dir", "allow_identity_self_attach"],
                        "`settings`",
                    );
                    for (k, v) in m {
                        match k.name.as_str() {
                            "output_dir" => {
                                if let Some(d) = l.string(v, "`settings.output_dir`") {
                                    settings.output_dir = PathBuf::from(d);
                                }
                            }
                            "allow_identity_self_attach" => match v.value {
                                yaml::Value::Bool(b) => {
                                    settings.allow_identity_self_attach = b;
                                    settings.allow_identity_self_attach_at = l.at(v.pos);
                                }
                                _ => {
                                    let m = format!(
                                        "`settings.allow_identity_self_attach` must be true or false, found {}",
                                        v.type_name()
                                    );
                                    l.err(v.pos, m).hint = Some(
                                        "write `allow_identity_self_attach: true` to opt in to identities attaching IoT policies themselves".into(),
                                    );
                                }
                            },
                            _ => {}
                        }
                    }
                }
                None => {
                    l.err(s.pos, "`settings` must be a mapping");
                }
            }
        }

        let mut decls: Vec<(ResourceDecl, Vec<String>, Pos)> = Vec::new();
        match get("resources") {
            Some(r) => match r.as_map() {
                Some(m) => {
                    for (k, v) in m {
                        if let Some((d, explicit)) = l.resource(k, v) {
                            decls.push((d, explicit, k.pos));
                        }
                    }
                }
                None => {
                    l.err(
                        r.pos,
                        "`resources` must be a mapping of resource ids to resources",
                    );
                }
            },
            None => {
                l.err(root.pos, "the stack file has no `resources`");
            }
        }

        // References: every `${id.attr}` must name a resource and one of its attributes.
        let kinds: BTreeMap<String, Kind> = decls
            .iter()
            .map(|(d, _, _)| (d.id.clone(), d.kind))
            .collect();
        for (d, explicit, _) in &mut decls {
            let mut deps = BTreeSet::new();
            for p in &d.props {
                for t in p.value.templates() {
                    for (rid, attr) in t.refs() {
                        match kinds.get(rid) {
                            None => {
                                let m = format!(
                                    "`{}.{}` refers to `${{{rid}.{attr}}}`, but there is no resource `{rid}`",
                                    d.id, p.spec.name
                                );
                                l.diags
                                    .push(Diagnostic::error(p.origin.clone(), m).hint(format!(
                                        "resources: {}",
                                        kinds.keys().cloned().collect::<Vec<_>>().join(", ")
                                    )));
                            }
                            Some(k) if !k.spec().attrs.contains(&attr) => {
                                let m = format!(
                                    "`{}.{}` refers to `${{{rid}.{attr}}}`, but {} has no attribute `{attr}`",
                                    d.id,
                                    p.spec.name,
                                    k.type_name()
                                );
                                l.diags.push(
                                    Diagnostic::error(p.origin.clone(), m)
                                        .hint(format!("attributes: {}", k.spec().attrs.join(", "))),
                                );
                            }
                            Some(_) => {
                                deps.insert(rid.to_string());
                            }
                        }
                    }
                }
            }
            for e in explicit.iter() {
                if kinds.contains_key(e) {
                    deps.insert(e.clone());
                } else {
                    l.diags.push(Diagnostic::error(
                        d.origin.clone(),
                        format!(
                            "`{}.depends_on` names `{e}`, which is not a resource of this stack",
                            d.id
                        ),
                    ));
                }
            }
            d.deps = deps.into_iter().collect();
        }

        let nodes: Vec<(String, Vec<String>)> = decls
            .iter()
            .map(|(d, _, _)| (d.id.clone(), d.deps.clone()))
            .collect();
        let order = match graph::topo_order(&nodes) {
            Ok(o) => o,
            Err(cycle) => {
                let first = decls
                    .iter()
                    .find(|(d, _, _)| d.id == cycle[0])
                    .map(|(d, _, _)| d.origin.clone())
                    .unwrap_or(Origin::None);
                l.diags.push(
                    Diagnostic::error(first, format!("dependency cycle: {}", cycle.join(" -> ")))
                        .hint(
                            "break the cycle: a resource cannot depend, directly or not, on itself",
                        ),
                );
                Vec::new()
            }
        };
        if !l.diags.is_empty() {
            return Err(l.diags);
        }
        let mut by_id: BTreeMap<String, ResourceDecl> = decls
            .into_iter()
            .map(|(d, _, _)| (d.id.clone(), d))
            .collect();
        let resources = order.iter().filter_map(|id| by_id.remove(id)).collect();
        Ok(Stack {
            path: path.to_path_buf(),
            description,
            defaults,
            settings,
            resources,
        })
    }

    /// Offline checks that need the parameters: every derived name must follow its AWS rule.
    /// What the stack uses that AWS does not offer in `region` (function URLs in the regions
    /// without them), known before any AWS call.
    pub fn check_region(&self, region: &str) -> Result<(), Vec<Diagnostic>> {
        let url = resources::lambda_function_url::SPEC.type_name;
        let problem = resources::lambda_function_url::region_problem(region);
        let diags: Vec<Diagnostic> = problem
            .iter()
            .flat_map(|problem| {
                let urls = self.resources.iter().filter(|r| r.kind.type_name() == url);
                urls.map(move |r| {
                    Diagnostic::error(r.origin.clone(), format!("`{}` ({url}): {problem}", r.id))
                        .hint("choose another region (--region, AWS_REGION, the profile's region or `parameters.region`)")
                })
            })
            .collect();
        if diags.is_empty() {
            Ok(())
        } else {
            Err(diags)
        }
    }

    pub fn check_names(&self, p: &params::Params) -> Result<(), Vec<Diagnostic>> {
        let values = p.values("us-east-1", "000000000000");
        let mut diags = Vec::new();
        for r in &self.resources {
            let Some(t) = r.name_template() else { continue };
            if t.refs().next().is_some() {
                continue;
            }
            let (name, _) = t.render(&values, &|_, _| None, false);
            if let Some(problem) = r.kind.spec().check_name(&name) {
                let uses_prefix = t
                    .parts
                    .iter()
                    .any(|p| matches!(p, template::Part::Param(n) if n.starts_with("prefix")));
                let origin = if uses_prefix {
                    p.prefix.origin.clone()
                } else {
                    r.origin.clone()
                };
                let mut d = Diagnostic::error(
                    origin,
                    format!(
                        "the name of `{}` ({}) is invalid: {problem}",
                        r.id,
                        r.kind.type_name()
                    ),
                );
                if uses_prefix {
                    d = d.hint(format!(
                        "the name is derived from the prefix `{}`: choose a shorter or simpler prefix",
                        p.prefix.value
                    ));
                }
                diags.push(d);
            }
        }
        if diags.is_empty() {
            Ok(())
        } else {
            Err(diags)
        }
    }

    pub fn get(&self, id: &str) -> Option<&ResourceDecl> {
        self.resources.iter().find(|r| r.id == id)
    }

    /// Which parameters the stack's templates use.
    pub fn uses_param(&self, name: &str) -> bool {
        self.resources.iter().any(|r| {
            r.props.iter().any(|p| {
                p.value.templates().iter().any(|t| {
                    t.parts
                        .iter()
                        .any(|part| matches!(part, template::Part::Param(n) if n == name))
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(settings: &str) -> Result<Stack, Vec<Diagnostic>> {
        let text = format!(
            "version: 1\nsettings:\n{settings}resources:\n  thing:\n    type: iot_thing\n    properties:\n      name: ${{prefix}}-thing\n"
        );
        Stack::parse(Path::new("s.yaml"), &text)
    }

    fn default_stack() -> Stack {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_STACK);
        Stack::load(&path).unwrap_or_else(|d| panic!("{d:?}"))
    }

    #[test]
    fn function_urls_are_refused_offline_in_regions_without_them() {
        let stack = default_stack();
        assert!(stack.check_region("us-east-1").is_ok());
        let diags = stack.check_region("eu-central-2").unwrap_err();
        assert_eq!(diags.len(), 1, "{diags:?}");
        let text = diags[0].to_string();
        assert!(text.contains("stacks/default.yaml:"), "{text}");
        assert!(
            text.contains("`attach-url` (lambda_function_url): Lambda function URLs are not available in eu-central-2"),
            "{text}"
        );
        let without_urls = parse("  output_dir: out\n").unwrap();
        assert!(without_urls.check_region("eu-central-2").is_ok());
    }

    #[test]
    fn the_default_stack_orders_what_aws_needs_first() {
        let stack = default_stack();
        let deps = |id: &str| stack.get(id).unwrap().deps.clone();
        // The pre-sign-up trigger may run when the app user is created: Cognito must be allowed
        // to invoke it by then.
        assert!(deps("app-user").contains(&"presignup-permission".to_string()));
        // The certificate is looked for among its thing's principals.
        assert!(deps("device-cert").contains(&"device-thing".to_string()));
    }

    fn at(line: usize, col: usize) -> Origin {
        Origin::File {
            path: PathBuf::from("s.yaml"),
            line,
            col,
        }
    }

    #[test]
    fn allow_identity_self_attach_setting() {
        let s = parse("  output_dir: out\n").unwrap_or_else(|d| panic!("{d:?}"));
        assert!(!s.settings.allow_identity_self_attach);
        assert_eq!(s.settings.allow_identity_self_attach_at, Origin::None);

        let s = parse("  allow_identity_self_attach: true\n").unwrap_or_else(|d| panic!("{d:?}"));
        assert!(s.settings.allow_identity_self_attach);
        assert_eq!(s.settings.allow_identity_self_attach_at, at(3, 31));
        let s = parse("  allow_identity_self_attach: false\n").unwrap_or_else(|d| panic!("{d:?}"));
        assert!(!s.settings.allow_identity_self_attach);

        // Not a boolean: an error at the value, with file, line and column.
        for (value, found) in [
            ("\"yes\"", "a string"),
            ("1", "a number"),
            ("[true]", "a list"),
        ] {
            let diags = parse(&format!(
                "  output_dir: out\n  allow_identity_self_attach: {value}\n"
            ))
            .err()
            .expect("invalid");
            assert_eq!(diags.len(), 1, "{diags:?}");
            assert_eq!(diags[0].origin, at(4, 31), "{value}");
            assert_eq!(
                diags[0].message,
                format!(
                    "`settings.allow_identity_self_attach` must be true or false, found {found}"
                )
            );
            assert!(diags[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("allow_identity_self_attach: true"));
        }

        // A misspelt key is unknown, and the valid keys are listed.
        let diags = parse("  allow_self_attach: true\n").err().expect("invalid");
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].origin, at(3, 3));
        assert_eq!(
            diags[0].message,
            "unknown key `allow_self_attach` in `settings`"
        );
        assert_eq!(
            diags[0].hint.as_deref(),
            Some("valid keys: output_dir, allow_identity_self_attach")
        );
    }
}
