//! The schema against the loader: the committed file is the generated one, every shipped stack
//! passes both, and each invalid stack fails both.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::*;
use crate::stack::yaml::{self, Node};
use crate::stack::Stack;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The editor hint every shipped stack starts with.
const HINT: &str = "# yaml-language-server: $schema=../schema/stack.schema.json";

/// A stack file as JSON, read with the project's YAML loader.
fn to_json(n: &Node) -> Value {
    match &n.value {
        yaml::Value::Null => Value::Null,
        yaml::Value::Bool(b) => Value::Bool(*b),
        yaml::Value::Int(i) => Value::from(*i),
        yaml::Value::Float(f) => Value::from(*f),
        yaml::Value::Str(s) => Value::String(s.clone()),
        yaml::Value::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        yaml::Value::Map(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.name.clone(), to_json(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&json_schema()).expect("the schema compiles")
}

/// What the schema says of a stack file's text: `Ok` or every error.
fn schema_verdict(v: &jsonschema::Validator, text: &str) -> Result<(), Vec<String>> {
    let doc = to_json(&yaml::parse(text).expect("valid YAML"));
    let errors: Vec<String> = v
        .iter_errors(&doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn shipped_stacks() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("stacks"))
        .expect("stacks/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "stacks/ holds the shipped stacks");
    v
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let path = repo().join("schema/stack.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == json_schema_text(),
        "{} is out of date: regenerate it with `cargo run -- schema > schema/stack.schema.json`",
        path.display()
    );
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    let schema = json_schema();
    assert_eq!(schema["$schema"], DIALECT);
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!("not a valid JSON Schema: {e}");
    }
}

#[test]
fn every_shipped_stack_carries_the_hint_and_passes_schema_and_loader() {
    let v = validator();
    for path in shipped_stacks() {
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().next(),
            Some(HINT),
            "{} must start with the editor hint",
            path.display()
        );
        if let Err(errors) = schema_verdict(&v, &text) {
            panic!(
                "{} fails the schema:\n{}",
                path.display(),
                errors.join("\n")
            );
        }
        if let Err(d) = Stack::load(&path) {
            panic!("{} fails the loader: {d:?}", path.display());
        }
    }
}

/// The default stack's text with `from` replaced by `to` (which must be there).
fn edited(from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(repo().join("stacks/default.yaml")).unwrap();
    assert!(text.contains(from), "the default stack has `{from}`");
    text.replacen(from, to, 1)
}

#[test]
fn invalid_stacks_fail_the_schema_and_the_loader_alike() {
    let cases: &[(&str, String)] = &[
        (
            "unknown top-level key",
            edited("version: 1\n", "version: 1\nversoin: 1\n"),
        ),
        (
            "unknown property for the type",
            edited(
                "      message_format: RAW\n",
                "      message_format: RAW\n      enable: true\n",
            ),
        ),
        (
            "wrong type for a property (bool)",
            edited("      enabled: true\n", "      enabled: sometimes\n"),
        ),
        (
            "wrong type for a property (list)",
            edited(
                "explicit_auth_flows: [ALLOW_USER_PASSWORD_AUTH, ALLOW_REFRESH_TOKEN_AUTH]",
                "explicit_auth_flows: ALLOW_USER_PASSWORD_AUTH",
            ),
        ),
        (
            "wrong type for a property (whole number)",
            edited("      timeout: 10\n", "      timeout: ten\n"),
        ),
        (
            "whole number above the AWS limit",
            edited("      timeout: 10\n", "      timeout: 901\n"),
        ),
        (
            "whole number below the AWS limit",
            edited(
                "      password_min_length: 8\n",
                "      password_min_length: 5\n",
            ),
        ),
        (
            "missing required property",
            edited("      sql: SELECT * FROM '${prefix}/alerts'\n", ""),
        ),
        (
            "unknown resource type",
            edited("    type: iot_thing\n", "    type: iot_thingy\n"),
        ),
        (
            "unsupported version",
            edited("version: 1\n", "version: 2\n"),
        ),
        (
            "unknown parameter",
            edited("  region: us-east-1\n", "  region: us-east-1\n  zone: a\n"),
        ),
        (
            "unknown setting",
            edited("settings:\n", "settings:\n  outputdir: x\n"),
        ),
        (
            "invalid resource id",
            edited("  device-thing:\n", "  Device_Thing:\n"),
        ),
        (
            "unknown key of a resource",
            edited(
                "    type: iot_thing\n",
                "    type: iot_thing\n    dependson: []\n",
            ),
        ),
        (
            "unknown built-in function",
            edited("code: builtin:presignup", "code: builtin:nope"),
        ),
        (
            "no resources",
            "# yaml-language-server: $schema=../schema/stack.schema.json\nversion: 1\n".into(),
        ),
    ];
    let v = validator();
    let path = repo().join("stacks/invalid.yaml");
    for (what, text) in cases {
        assert!(
            schema_verdict(&v, text).is_err(),
            "{what}: the schema accepts it"
        );
        assert!(
            Stack::parse(&path, text).is_err(),
            "{what}: the loader accepts it"
        );
    }
}

#[test]
fn every_kind_and_property_is_in_the_schema() {
    let s = json_schema();
    for k in crate::resources::REGISTRY {
        let def = &s["$defs"][k.type_name()];
        assert_eq!(def["additionalProperties"], false, "{}", k.type_name());
        for p in k.spec().props {
            let prop = &def["properties"][p.name];
            assert!(prop.is_object(), "{}.{}", k.type_name(), p.name);
            assert!(
                prop["description"]
                    .as_str()
                    .is_some_and(|d| d.starts_with(p.doc)),
                "{}.{} carries its doc",
                k.type_name(),
                p.name
            );
        }
        assert_eq!(
            def["properties"].get("tags").is_some(),
            k.spec().taggable(),
            "{}",
            k.type_name()
        );
    }
}

#[test]
fn the_resource_id_pattern_matches_the_loaders_rule() {
    let text = |id: &str| {
        format!("version: 1\nresources:\n  {id}:\n    type: iot_endpoint\n    properties:\n      endpoint_type: iot:Data-ATS\n")
    };
    let v = validator();
    for (id, ok) in [
        ("a", true),
        ("a-1", true),
        ("1a", false),
        ("aB", false),
        ("a_b", false),
    ] {
        let t = text(id);
        assert_eq!(schema_verdict(&v, &t).is_ok(), ok, "schema on `{id}`");
        assert_eq!(
            Stack::parse(Path::new("s.yaml"), &t).is_ok(),
            ok,
            "loader on `{id}`"
        );
    }
}
