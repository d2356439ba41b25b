//! Human text for plans, outcomes and errors.

use serde_json::Value;

use super::Style;
use crate::apply::Outcome;
use crate::error::Error;
use crate::plan::{Action, Plan, PropChange};

fn action_style(st: &Style, a: Action, s: &str) -> String {
    match a {
        Action::Create => st.green(s),
        Action::Update => st.yellow(s),
        Action::Replace | Action::Delete => st.red(s),
        Action::NoOp => st.dim(s),
        Action::Foreign => st.yellow(s),
    }
}

fn short(v: &Option<Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
    }
}

fn change_lines(st: &Style, c: &PropChange, out: &mut String) {
    let after = if c.after_unknown {
        "(known after apply)".to_string()
    } else {
        short(&c.after)
    };
    let forces = if c.forces_replacement {
        st.red(" (forces replacement)")
    } else {
        String::new()
    };
    let is_doc =
        matches!(&c.after, Some(Value::Object(_))) || matches!(&c.before, Some(Value::Object(_)));
    let keys = if c.before.is_some() && is_flat_map(&c.before) && is_flat_map(&c.after) {
        map_changes(c)
    } else {
        Vec::new()
    };
    if !keys.is_empty() {
        for (key, before, after) in keys {
            out.push_str(&format!(
                "      {}.{key}: {before} → {after}{forces}\n",
                c.property
            ));
        }
    } else if is_doc && c.before.is_some() && !c.after_unknown {
        out.push_str(&format!("      {}:{forces}\n", c.property));
        let before = pretty(&c.before);
        let after = pretty(&c.after);
        for line in line_diff(&before, &after) {
            let styled = match line.chars().next() {
                Some('+') => st.green(&line),
                Some('-') => st.red(&line),
                _ => st.dim(&line),
            };
            out.push_str(&format!("        {styled}\n"));
        }
    } else if c.before.is_none() {
        out.push_str(&format!("      {}: {after}\n", c.property));
    } else {
        out.push_str(&format!(
            "      {}: {} → {after}{forces}\n",
            c.property,
            short(&c.before)
        ));
    }
}

/// A map property (tags, environment, attributes): an object of plain values, or nothing.
/// Policy documents hold lists and objects, so they never look like one.
fn is_flat_map(v: &Option<Value>) -> bool {
    match v {
        None => true,
        Some(Value::Object(m)) => m.values().all(|x| !x.is_object() && !x.is_array()),
        Some(_) => false,
    }
}

/// The keys of a map property that differ, with their values before and after as shown:
/// `(none)` for a key that is added or removed, `(known after apply)` for a value that
/// refers to a resource not created yet.
fn map_changes(c: &PropChange) -> Vec<(String, String, String)> {
    let empty = serde_json::Map::new();
    let before = c
        .before
        .as_ref()
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let after = c
        .after
        .as_ref()
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| {
            let after = match after.get(k) {
                Some(Value::String(s)) if c.after_unknown && s.contains("(known after apply") => {
                    "(known after apply)".to_string()
                }
                v => short(&v.cloned()),
            };
            (k.clone(), short(&before.get(k).cloned()), after)
        })
        .collect()
}

fn pretty(v: &Option<Value>) -> Vec<String> {
    v.as_ref()
        .map(|v| {
            serde_json::to_string_pretty(v)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A small line diff (longest common subsequence) of two pretty-printed documents.
fn line_diff(a: &[String], b: &[String]) -> Vec<String> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(format!("  {}", a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removed lines before the lines that replace them, as diffs read.
            out.push(format!("- {}", a[i]));
            i += 1;
        } else {
            out.push(format!("+ {}", b[j]));
            j += 1;
        }
    }
    out
}

/// The plan as text: one block per resource that changes, then a summary line.
pub fn plan(p: &Plan, st: &Style, verbose: bool) -> String {
    let mut out = String::new();
    let verb = if p.destroy { "destroy" } else { "plan" };
    out.push_str(&format!(
        "{} for stack prefix {}\n\n",
        st.bold(&format!("iotstack {verb}")),
        st.bold(&p.prefix)
    ));
    // Ids, types and names in columns, over the resources shown.
    let shown: Vec<_> = p
        .resources
        .iter()
        .filter(|r| verbose || r.action != Action::NoOp)
        .collect();
    let id_w = shown
        .iter()
        .map(|r| r.id.chars().count())
        .max()
        .unwrap_or(0);
    let type_w = shown
        .iter()
        .map(|r| r.type_name.chars().count() + 2)
        .max()
        .unwrap_or(0);
    for r in &p.resources {
        if r.action == Action::NoOp && !verbose {
            continue;
        }
        // Every id starts in one column: "no change", one character longer than the other
        // verbs, takes the room of its blank symbol.
        let head = match r.action {
            Action::NoOp => format!("{:>12}", r.action.verb()),
            Action::Foreign => format!("{:>3} {:<8}", r.action.symbol(), "foreign"),
            a => format!("{:>3} {:<8}", a.symbol(), a.verb()),
        };
        out.push_str(&format!(
            "  {} {} {} {}\n",
            action_style(st, r.action, &head),
            st.bold(&format!("{:<id_w$}", r.id)),
            st.dim(&format!("{:<type_w$}", format!("({})", r.type_name))),
            r.name
        ));
        if let Some(reason) = &r.reason {
            out.push_str(&format!(
                "      {}\n",
                st.red(&format!(
                    "{} because {reason}",
                    if r.action == Action::Delete {
                        "deleted"
                    } else {
                        "replaced"
                    }
                ))
            ));
        }
        if r.action != Action::Create || verbose {
            for c in &r.changes {
                change_lines(st, c, &mut out);
            }
        }
        for n in &r.notes {
            out.push_str(&format!("      {}\n", st.yellow(&format!("note: {n}"))));
        }
    }
    let s = p.summary();
    if !p.has_changes() {
        if p.destroy {
            out.push_str("Nothing to destroy: no resource of this stack exists.\n");
        } else {
            out.push_str(&format!(
                "No changes. The live resources match the stack ({} resources).\n",
                s.no_op
            ));
        }
    } else if p.destroy {
        out.push_str(&format!("\nPlan: {} to delete.\n", s.delete));
    } else {
        // Resources the stack file no longer declares are deleted by apply too.
        let delete = match s.delete {
            0 => String::new(),
            n => format!(", {n} to delete"),
        };
        out.push_str(&format!(
            "\nPlan: {} to create, {} to update, {} to replace{delete}, {} unchanged.\n",
            s.create, s.update, s.replace, s.no_op
        ));
    }
    if s.foreign > 0 {
        out.push_str(&format!(
            "{} resource(s) exist under the stack's names but are not owned by it: left untouched (adopt with --adopt <id>).\n",
            s.foreign
        ));
    }
    out
}

pub fn outcome(o: &Outcome, destroy: bool) -> String {
    let mut out = String::new();
    for (id, n) in &o.notes {
        out.push_str(&format!("note: {id}: {n}\n"));
    }
    if destroy {
        out.push_str(&format!(
            "Destroy complete: {} deleted.\n",
            o.count(Action::Delete)
        ));
    } else {
        let deleted = match o.count(Action::Delete) {
            0 => String::new(),
            n => format!(", {n} deleted"),
        };
        out.push_str(&format!(
            "Apply complete: {} created, {} updated, {} replaced{deleted}.\n",
            o.count(Action::Create),
            o.count(Action::Update),
            o.count(Action::Replace)
        ));
    }
    out
}

pub fn error(e: &Error, st: &Style) -> String {
    match e {
        Error::Invalid(_) => e.to_string(),
        _ => format!("{} {e}", st.red("error:")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures::*;

    const PLAIN: Style = Style { color: false };

    #[test]
    fn plan_with_every_action() {
        insta::assert_snapshot!("plan", plan(&sample_plan(), &PLAIN, false));
    }

    #[test]
    fn plan_with_every_action_verbose() {
        insta::assert_snapshot!("plan_verbose", plan(&sample_plan(), &PLAIN, true));
    }

    #[test]
    fn plan_shows_map_properties_key_by_key() {
        let text = plan(&map_plan(), &PLAIN, false);
        // Keys that did not change are not repeated; nothing is shown as removed and re-added.
        assert!(!text.contains("EmailAddress"), "{text}");
        assert!(!text.contains("IoTPolicy"), "{text}");
        insta::assert_snapshot!("plan_maps", text);
    }

    #[test]
    fn destroy_plan_lists_deletes_and_their_notes() {
        insta::assert_snapshot!("plan_destroy", plan(&destroy_plan(), &PLAIN, false));
    }

    #[test]
    fn plan_without_changes() {
        insta::assert_snapshot!(
            "plan_no_changes",
            plan(&unchanged_plan(false), &PLAIN, false)
        );
    }

    #[test]
    fn destroy_plan_with_nothing_live() {
        insta::assert_snapshot!(
            "plan_destroy_nothing",
            plan(&unchanged_plan(true), &PLAIN, false)
        );
    }

    #[test]
    fn outcome_of_apply_and_destroy() {
        insta::assert_snapshot!("outcome_apply", outcome(&apply_outcome(), false));
        insta::assert_snapshot!("outcome_destroy", outcome(&destroy_outcome(), true));
    }

    #[test]
    fn invalid_input_lists_every_diagnostic() {
        insta::assert_snapshot!("error_invalid", error(&invalid_error(), &PLAIN));
    }

    #[test]
    fn aws_error_names_operation_code_and_message() {
        insta::assert_snapshot!("error_resource", error(&resource_error(), &PLAIN));
    }
}
