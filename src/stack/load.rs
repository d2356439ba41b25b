//! Loading a stack file: the YAML document read into the model, every problem collected with its
//! file, line and column. References and ordering are in `references`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::count;
use super::model::{PropDecl, PropValue, ResourceDecl, Settings, Stack};
use super::params::Sourced;
use super::references::{self, Parsed};
use super::schema::{self, names};
use super::source::Source;
use super::template::{self, Template};
use super::yaml::{self, Key, Node, Pos};
use crate::error::{Diagnostic, Origin};
use crate::package;
use crate::resources::{self, Kind, PropSpec, PropType};

impl Stack {
    /// The stack file `--stack` names, or the built-in default stack when it names none.
    pub fn open(stack: Option<&Path>) -> Result<Stack, Vec<Diagnostic>> {
        let (source, path) = Source::of(stack);
        Self::load_from(source, &path)
    }

    /// Reads and validates a stack file on disk. Nothing here talks to AWS.
    pub fn load(path: &Path) -> Result<Stack, Vec<Diagnostic>> {
        Self::load_from(Source::Disk, path)
    }

    /// Reads and validates the stack file at `path` of `source`.
    pub fn load_from(source: Source, path: &Path) -> Result<Stack, Vec<Diagnostic>> {
        let text = source.read(path).map_err(|e| {
            vec![Diagnostic::error(
                Origin::Flag("--stack".into()),
                format!("cannot read stack file `{}`: {e}", path.display()),
            )]
        })?;
        Self::parse_from(source, path, &text)
    }

    /// Validates the text of the stack file at `path` (files it names are read relative to it).
    pub fn parse(path: &Path, text: &str) -> Result<Stack, Vec<Diagnostic>> {
        Self::parse_from(Source::Disk, path, text)
    }

    /// Validates the text of the stack file at `path`; the files it names are read from `source`.
    pub fn parse_from(source: Source, path: &Path, text: &str) -> Result<Stack, Vec<Diagnostic>> {
        let mut l = Loader::new(source, path);
        let Some(root) = l.document(text) else {
            return Err(l.diags);
        };
        let Some(top) = l.top(&root) else {
            return Err(l.diags);
        };
        l.version(&root, top);
        let description = get(top, "description").and_then(|n| l.string(n, "`description`"));
        let defaults = get(top, "parameters")
            .map(|p| l.parameters(p))
            .unwrap_or_default();
        let settings = get(top, "settings")
            .map(|s| l.settings(s))
            .unwrap_or_default();
        l.defaults = defaults.clone();
        let parsed = l.resources(&root, get(top, "resources"));
        let mut parsed = count::expand(parsed, &mut l.diags);
        references::link(&mut parsed, &mut l.diags);
        let resources = references::order(parsed, &mut l.diags);
        if !l.diags.is_empty() {
            return Err(l.diags);
        }
        Ok(Stack {
            path: path.to_path_buf(),
            source,
            description,
            defaults,
            settings,
            resources,
        })
    }
}

/// The value of key `k` of a mapping.
fn get<'n>(map: &'n [(Key, Node)], k: &str) -> Option<&'n Node> {
    map.iter().find(|(kk, _)| kk.name == k).map(|(_, v)| v)
}

struct Loader<'a> {
    source: Source,
    path: &'a Path,
    /// The stack file's folder: the files it names are relative to it.
    dir: PathBuf,
    /// On disk, the folder every file the stack names must be in (see [`confinement`]), when it
    /// exists.
    root: Option<PathBuf>,
    diags: Vec<Diagnostic>,
    /// `parameters:` defaults, for `count: ${devices}`.
    defaults: BTreeMap<String, Sourced>,
}

impl<'a> Loader<'a> {
    fn new(source: Source, path: &'a Path) -> Self {
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let root = match source {
            Source::Disk => confinement(&dir),
            Source::Embedded(_) => None,
        };
        Loader {
            source,
            path,
            dir,
            root,
            diags: Vec::new(),
            defaults: BTreeMap::new(),
        }
    }

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

    // --- The document and its top-level sections ---------------------------------------------

    fn document(&mut self, text: &str) -> Option<Node> {
        match yaml::parse(text) {
            Ok(r) => Some(r),
            Err((pos, m)) => {
                self.err(pos, format!("invalid YAML: {m}"));
                None
            }
        }
    }

    fn top<'n>(&mut self, root: &'n Node) -> Option<&'n [(Key, Node)]> {
        let Some(top) = root.as_map() else {
            self.err(
                root.pos,
                "a stack file is a mapping with `version` and `resources`",
            );
            return None;
        };
        self.check_keys(top, &names(schema::TOP_KEYS), "the stack file");
        Some(top)
    }

    fn version(&mut self, root: &Node, top: &[(Key, Node)]) {
        match get(top, "version") {
            Some(n) if matches!(n.value, yaml::Value::Int(v) if v == schema::VERSION) => {}
            Some(n) => {
                self.err(n.pos, "unsupported stack file version").hint =
                    Some("write `version: 1`".into());
            }
            None => {
                self.err(root.pos, "the stack file has no `version`").hint =
                    Some("add `version: 1`".into());
            }
        }
    }

    fn parameters(&mut self, p: &Node) -> BTreeMap<String, Sourced> {
        let mut defaults = BTreeMap::new();
        let Some(m) = p.as_map() else {
            self.err(p.pos, "`parameters` must be a mapping of defaults");
            return defaults;
        };
        self.check_keys(m, &names(schema::PARAMETER_KEYS), "`parameters`");
        for (k, v) in m {
            if matches!(v.value, yaml::Value::Null) {
                continue;
            }
            if let Some(s) = self.string(v, &format!("`parameters.{}`", k.name)) {
                let origin = self.at(v.pos);
                defaults.insert(k.name.clone(), Sourced { value: s, origin });
            }
        }
        defaults
    }

    fn settings(&mut self, s: &Node) -> Settings {
        let mut settings = Settings::default();
        let Some(m) = s.as_map() else {
            self.err(s.pos, "`settings` must be a mapping");
            return settings;
        };
        self.check_keys(m, &schema::spec_names(schema::SETTINGS), "`settings`");
        for (k, v) in m {
            match k.name.as_str() {
                "output_dir" => {
                    if let Some(d) = self.string(v, "`settings.output_dir`") {
                        settings.output_dir = PathBuf::from(d);
                    }
                }
                "allow_identity_self_attach" => self.self_attach(v, &mut settings),
                _ => {}
            }
        }
        settings
    }

    fn self_attach(&mut self, v: &Node, settings: &mut Settings) {
        match self.bool(v, "`settings.allow_identity_self_attach`") {
            Some(b) => {
                settings.allow_identity_self_attach = b;
                settings.allow_identity_self_attach_at = self.at(v.pos);
            }
            None => {
                self.diags.last_mut().expect("bool reported it").hint = Some(
                    "write `allow_identity_self_attach: true` to opt in to identities attaching IoT policies themselves".into(),
                );
            }
        }
    }

    fn resources(&mut self, root: &Node, r: Option<&Node>) -> Vec<Parsed> {
        let Some(r) = r else {
            self.err(root.pos, "the stack file has no `resources`");
            return Vec::new();
        };
        let Some(m) = r.as_map() else {
            self.err(
                r.pos,
                "`resources` must be a mapping of resource ids to resources",
            );
            return Vec::new();
        };
        m.iter().filter_map(|(k, v)| self.resource(k, v)).collect()
    }

    // --- One resource ---------------------------------------------------------------------------

    fn resource(&mut self, key: &Key, node: &Node) -> Option<Parsed> {
        let id = key.name.clone();
        self.resource_id(key);
        let Some(map) = node.as_map() else {
            let m = format!("resource `{id}` must be a mapping with `type` and `properties`");
            self.err(node.pos, m);
            return None;
        };
        self.check_keys(
            map,
            &names(schema::RESOURCE_KEYS),
            &format!("resource `{id}`"),
        );
        let kind = self.kind(key, get(map, "type"))?;
        let depends_on = get(map, "depends_on")
            .map(|d| self.depends_on(&id, d))
            .unwrap_or_default();
        // A count that does not read is reported, and taken as 1 so that what depends on the
        // resource being counted (`${index}`) is not reported too.
        let count = get(map, "count").map(|c| self.count(&id, c).unwrap_or(1));
        let props_map = self.properties_map(&id, get(map, "properties"))?;
        let props = self.props(key, kind, props_map);
        let decl = ResourceDecl {
            origin: self.at(key.pos),
            id,
            kind,
            props,
            deps: Vec::new(),
            depends_on: Vec::new(),
            copy_of: None,
        };
        Some(Parsed {
            decl,
            depends_on,
            count,
        })
    }

    /// `count:`: a whole number from 1 to [`count::MAX`], or `${devices}`: IOTSTACK_DEVICES or
    /// the `devices` parameter's default.
    fn count(&mut self, id: &str, node: &Node) -> Option<usize> {
        let what = format!("`{id}.count`");
        let (n, origin) = match &node.value {
            yaml::Value::Int(i) => (*i, self.at(node.pos)),
            yaml::Value::Str(s) if s.trim() == "${devices}" => {
                let given = match std::env::var("IOTSTACK_DEVICES") {
                    Ok(v) => Sourced {
                        value: v,
                        origin: Origin::Flag("IOTSTACK_DEVICES".into()),
                    },
                    Err(_) => match self.defaults.get("devices") {
                        Some(d) => d.clone(),
                        None => {
                            let m =
                                format!("{what} is `${{devices}}`, but no device count is given");
                            self.err(node.pos, m).hint = Some(
                                "set IOTSTACK_DEVICES, or give `parameters: {devices: 500}`".into(),
                            );
                            return None;
                        }
                    },
                };
                let Ok(n) = given.value.trim().parse::<i64>() else {
                    let m = format!(
                        "{what}: the device count `{}` is not a whole number",
                        given.value
                    );
                    self.diags.push(Diagnostic::error(given.origin, m));
                    return None;
                };
                (n, given.origin)
            }
            _ => {
                let m = format!(
                    "{what} must be a whole number or `${{devices}}`, found {}",
                    node.type_name()
                );
                self.err(node.pos, m);
                return None;
            }
        };
        if !(1..=count::MAX).contains(&n) {
            let m = format!("{what} must be from 1 to {}, found {n}", count::MAX);
            self.diags.push(Diagnostic::error(origin, m));
            return None;
        }
        Some(n as usize)
    }

    fn resource_id(&mut self, key: &Key) {
        let id = &key.name;
        let valid = id.starts_with(|c: char| c.is_ascii_lowercase())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            self.err(key.pos, format!("resource id `{id}` is not valid"))
                .hint =
                Some("use lower-case letters, digits and `-`, starting with a letter".into());
        }
    }

    fn kind(&mut self, key: &Key, tnode: Option<&Node>) -> Option<Kind> {
        let id = &key.name;
        let Some(tnode) = tnode else {
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
        Some(kind)
    }

    fn depends_on(&mut self, id: &str, d: &Node) -> Vec<String> {
        let yaml::Value::Seq(items) = &d.value else {
            let m = format!("`{id}.depends_on` must be a list of resource ids");
            self.err(d.pos, m);
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|i| self.string(i, &format!("`{id}.depends_on`")))
            .collect()
    }

    /// `properties:` (none is an empty mapping); `None` when it is not a mapping.
    fn properties_map<'n>(&mut self, id: &str, p: Option<&'n Node>) -> Option<&'n [(Key, Node)]> {
        let Some(p) = p else {
            return Some(&[]);
        };
        if p.as_map().is_none() {
            let m = format!(
                "`{id}.properties` must be a mapping, found {}",
                p.type_name()
            );
            self.err(p.pos, m);
        }
        p.as_map()
    }

    fn props(&mut self, key: &Key, kind: Kind, props_map: &[(Key, Node)]) -> Vec<PropDecl> {
        let id = &key.name;
        let tname = kind.type_name();
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
                    if let Some(value) = self.prop(spec, v, id) {
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
        props
    }

    // --- One property, by type --------------------------------------------------------------

    fn prop(&mut self, spec: &PropSpec, node: &Node, rid: &str) -> Option<PropValue> {
        let what = format!("`{rid}.{}`", spec.name);
        match spec.ty {
            PropType::Str => self.template(node, &what).map(PropValue::Str),
            PropType::Int => self
                .int(node, &what, schema::int_range(spec))
                .map(PropValue::Int),
            PropType::Bool => self.bool(node, &what).map(PropValue::Bool),
            PropType::Code => self.code(node, &what).map(PropValue::Code),
            PropType::Policy => self
                .policy_file(node, &what)
                .map(|(p, t)| PropValue::Policy(p, t)),
            PropType::PolicyMap => self.policy_map(node, &what).map(PropValue::PolicyMap),
            PropType::StrList => self.str_list(node, &what).map(PropValue::StrList),
            PropType::StrMap => self.str_map(node, &what).map(PropValue::StrMap),
        }
    }

    /// The node's value as `T`, or an error naming what was expected (`must <expected>`) and
    /// what was found.
    fn expect<'n, T>(
        &mut self,
        node: &'n Node,
        what: &str,
        expected: &str,
        f: impl FnOnce(&'n yaml::Value) -> Option<T>,
    ) -> Option<T> {
        let v = f(&node.value);
        if v.is_none() {
            let m = format!("{what} must {expected}, found {}", node.type_name());
            self.err(node.pos, m);
        }
        v
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        self.expect(node, what, "be a string", |v| match v {
            yaml::Value::Str(s) => Some(s.clone()),
            yaml::Value::Int(i) => Some(i.to_string()),
            _ => None,
        })
    }

    /// A whole number within `range`, the values AWS accepts.
    fn int(&mut self, node: &Node, what: &str, (min, max): (i64, i64)) -> Option<i64> {
        let i = self.expect(node, what, "be a whole number", |v| match v {
            yaml::Value::Int(i) => Some(*i),
            _ => None,
        })?;
        if !(min..=max).contains(&i) {
            let m = format!("{what} must be from {min} to {max} (the AWS limit), found {i}");
            self.err(node.pos, m);
            return None;
        }
        Some(i)
    }

    fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        self.expect(node, what, "be true or false", |v| match v {
            yaml::Value::Bool(b) => Some(*b),
            _ => None,
        })
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

    /// `builtin:<name>`, or a file relative to the stack file (resolved here).
    fn code(&mut self, node: &Node, what: &str) -> Option<String> {
        let src = self.string(node, what)?;
        if let Some(name) = src.strip_prefix(package::BUILTIN_PREFIX) {
            if package::builtin(name).is_none() {
                let m = format!("{what}: there is no built-in function `{name}`");
                self.err(node.pos, m).hint =
                    Some(format!("built-in functions: {}", package::builtin_names()));
                return None;
            }
            return Some(src);
        }
        let path = self.referenced(node, what, &src)?;
        if !self.source.is_file(&path) {
            let m = format!("{what}: cannot read function source `{}`", path.display());
            self.err(node.pos, m).hint =
                Some("give `builtin:<name>` or a Python file relative to the stack file".into());
            return None;
        }
        Some(path.display().to_string())
    }

    fn policy_file(&mut self, node: &Node, what: &str) -> Option<(PathBuf, Template)> {
        let rel = self.string(node, what)?;
        let path = self.referenced(node, what, &rel)?;
        let text = match self.source.read(&path) {
            Ok(t) => t,
            Err(e) => {
                let m = format!("{what}: cannot read policy file `{}`: {e}", path.display());
                self.err(node.pos, m).hint = Some(
                    "policy paths are relative to the stack file's folder, e.g. `../policies/device-policy.json`".into(),
                );
                return None;
            }
        };
        let t = self.policy_text(&path, &text)?;
        Some((path, t))
    }

    /// The path of a file the stack names (`rel`, relative to the stack file), or `None` (an
    /// error at `node`) when, on disk, it resolves (after `..` and symbolic links) outside the
    /// stack's folder or into a hidden file or folder: a stack must not send `~/.aws/credentials`
    /// or `/etc/passwd` to AWS. A file that does not exist is left for the caller to report.
    fn referenced(&mut self, node: &Node, what: &str, rel: &str) -> Option<PathBuf> {
        let path = clean_path(&self.dir.join(rel));
        if self.source != Source::Disk {
            return Some(path);
        }
        let Ok(real) = path.canonicalize() else {
            return Some(path);
        };
        let shown = path.display();
        let Some(inside) = self.root.as_ref().and_then(|r| real.strip_prefix(r).ok()) else {
            let root = self.root.as_ref().map_or_else(
                || self.dir.display().to_string(),
                |r| r.display().to_string(),
            );
            let m = format!("{what}: `{shown}` is outside the stack's folder `{root}`");
            self.err(node.pos, m).hint = Some(format!(
                "a stack reads only files inside the folder of its stack file (for a stack file in a `{STACKS_FOLDER}/` folder, the folder that holds it): copy the file there"
            ));
            return None;
        };
        if inside
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
        {
            let m = format!("{what}: `{shown}` is a hidden file or in a hidden folder");
            self.err(node.pos, m).hint = Some(
                "a stack reads no hidden files or folders (such as `.aws` or `.ssh`): move the file out of it".into(),
            );
            return None;
        }
        Some(path)
    }

    /// A policy file's text: valid JSON, and a valid template.
    fn policy_text(&mut self, path: &Path, text: &str) -> Option<Template> {
        let file_origin = |line, col| Origin::File {
            path: path.to_path_buf(),
            line,
            col,
        };
        if let Err(e) = serde_json::from_str::<Value>(text) {
            self.diags.push(
                Diagnostic::error(
                    file_origin(e.line(), e.column()),
                    format!("policy document is not valid JSON: {e}"),
                )
                .hint("a policy is a JSON object with \"Version\" and \"Statement\""),
            );
            return None;
        }
        match template::parse_text(text) {
            Ok(t) => Some(t),
            Err((line, col, m)) => {
                self.diags
                    .push(Diagnostic::error(file_origin(line, col), m));
                None
            }
        }
    }

    fn policy_map(&mut self, node: &Node, what: &str) -> Option<Vec<(String, PathBuf, Template)>> {
        let items = self.map_of(
            node,
            what,
            "map policy names to policy files",
            Self::policy_file,
        )?;
        Some(items.into_iter().map(|(k, (p, t))| (k, p, t)).collect())
    }

    fn str_list(&mut self, node: &Node, what: &str) -> Option<Vec<Template>> {
        let items = self.expect(node, what, "be a list of strings", |v| match v {
            yaml::Value::Seq(items) => Some(items),
            _ => None,
        })?;
        Some(
            items
                .iter()
                .filter_map(|i| self.template(i, what))
                .collect(),
        )
    }

    fn str_map(&mut self, node: &Node, what: &str) -> Option<Vec<(String, Template)>> {
        self.map_of(node, what, "be a mapping of strings", Self::template)
    }

    /// A mapping whose every value is read by `item`; the values that do not read are reported
    /// and left out.
    fn map_of<T>(
        &mut self,
        node: &Node,
        what: &str,
        expected: &str,
        mut item: impl FnMut(&mut Self, &Node, &str) -> Option<T>,
    ) -> Option<Vec<(String, T)>> {
        let map = self.expect(node, what, expected, |v| match v {
            yaml::Value::Map(m) => Some(m),
            _ => None,
        })?;
        let mut out = Vec::new();
        for (k, v) in map {
            if let Some(t) = item(self, v, &format!("{what}.{}", k.name)) {
                out.push((k.name.clone(), t));
            }
        }
        Some(out)
    }
}

/// The folder name `iotstack init` writes stack files into, beside `policies/`.
const STACKS_FOLDER: &str = "stacks";

/// The folder, resolved, that every file a stack file in `dir` names must be in: `dir` itself,
/// or its parent when `dir` is a `stacks/` folder, as `iotstack init` lays a project out
/// (`stacks/default.yaml` naming `../policies/device-policy.json`). `None` when `dir` cannot be
/// resolved.
fn confinement(dir: &Path) -> Option<PathBuf> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let real = dir.canonicalize().ok()?;
    match real.parent() {
        Some(parent) if real.file_name().is_some_and(|n| n == STACKS_FOLDER) => {
            Some(parent.to_path_buf())
        }
        _ => Some(real),
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
