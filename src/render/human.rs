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
    if is_doc && c.before.is_some() && !c.after_unknown {
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
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("+ {}", b[j]));
            j += 1;
        } else {
            out.push(format!("- {}", a[i]));
            i += 1;
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
    for r in &p.resources {
        if r.action == Action::NoOp && !verbose {
            continue;
        }
        let head = format!("{:>3} {:<8}", r.action.symbol(), r.action.verb());
        out.push_str(&format!(
            "  {} {} {} {}\n",
            action_style(st, r.action, &head),
            st.bold(&r.id),
            st.dim(&format!("({})", r.type_name)),
            r.name
        ));
        if let Some(reason) = &r.reason {
            out.push_str(&format!(
                "      {}\n",
                st.red(&format!("replaced because {reason}"))
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
        out.push_str(&format!(
            "\nPlan: {} to create, {} to update, {} to replace, {} unchanged.\n",
            s.create, s.update, s.replace, s.no_op
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
        out.push_str(&format!(
            "Apply complete: {} created, {} updated, {} replaced.\n",
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
