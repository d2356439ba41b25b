//! The stable JSON shapes (documented in the README).

use serde_json::{json, Value};

use crate::apply::Outcome;
use crate::error::Error;
use crate::plan::{Action, Plan};

pub const FORMAT_VERSION: u32 = 1;

/// `plan --output json`: one document with every change and a summary.
pub fn plan(p: &Plan) -> Value {
    json!({
        "format_version": FORMAT_VERSION,
        "prefix": p.prefix,
        "destroy": p.destroy,
        "changes": p.resources,
        "summary": p.summary(),
        "has_changes": p.has_changes(),
    })
}

/// The last line of `apply`/`destroy --output json`.
pub fn summary(o: &Outcome, destroy: bool) -> Value {
    let live: serde_json::Map<String, Value> = o
        .live
        .iter()
        .filter_map(|(id, ob)| {
            ob.as_ref().map(|ob| {
                let attrs: serde_json::Map<String, Value> = ob
                    .attrs
                    .iter()
                    .filter(|(k, _)| matches!(k.as_str(), "arn" | "name" | "id"))
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                (id.clone(), Value::Object(attrs))
            })
        })
        .collect();
    json!({
        "type": "summary",
        "operation": if destroy { "destroy" } else { "apply" },
        "created": o.count(Action::Create),
        "updated": o.count(Action::Update),
        "replaced": o.count(Action::Replace),
        "deleted": o.count(Action::Delete),
        "notes": o.notes.iter().map(|(id, n)| json!({"id": id, "note": n})).collect::<Vec<_>>(),
        "resources": live,
    })
}

pub fn error(e: &Error) -> Value {
    match e {
        Error::Invalid(diags) => json!({
            "type": "error",
            "kind": "invalid",
            "diagnostics": diags.iter().map(|d| json!({
                "location": d.origin.to_string(),
                "message": d.message,
                "hint": d.hint,
                "severity": if d.warning { "warning" } else { "error" },
            })).collect::<Vec<_>>(),
        }),
        Error::Resource {
            action,
            resource,
            source,
        } => json!({
            "type": "error",
            "kind": source.kind(),
            "action": action,
            "resource": resource,
            "operation": source.operation(),
            "code": source.code(),
            "message": source.message(),
        }),
        other => json!({"type": "error", "kind": "other", "message": other.to_string()}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures::{
        apply_outcome, destroy_outcome, destroy_plan, invalid_error, resource_error, sample_plan,
    };

    #[test]
    fn plan_document() {
        insta::assert_json_snapshot!("plan", plan(&sample_plan()));
    }

    #[test]
    fn destroy_plan_document() {
        insta::assert_json_snapshot!("plan_destroy", plan(&destroy_plan()));
    }

    #[test]
    fn summary_of_apply_and_destroy() {
        insta::assert_json_snapshot!("summary_apply", summary(&apply_outcome(), false));
        insta::assert_json_snapshot!("summary_destroy", summary(&destroy_outcome(), true));
    }

    #[test]
    fn errors() {
        insta::assert_json_snapshot!("error_invalid", error(&invalid_error()));
        insta::assert_json_snapshot!("error_resource", error(&resource_error()));
    }

    #[test]
    fn local_failures_are_not_called_aws() {
        let e = Error::Resource {
            action: "creating",
            resource: "lambda_function `attach-function`".into(),
            source: crate::error::ResourceError::local("packaging", "no built-in function `x`"),
        };
        let v = error(&e);
        assert_eq!(v["kind"], "local");
        assert_eq!(v["operation"], "packaging");
        assert_eq!(v["code"], Value::Null);
        assert_eq!(v["message"], "no built-in function `x`");
    }
}
