//! validate's report as text or JSON.

use iotstack_policy::lint::Severity;
use serde_json::{json, Value};

use super::Style;
use crate::error::Origin;
use crate::stack::validate::Report;

pub fn json(report: &Report, passes: bool) -> Value {
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let (file, line, column, flag) = match &f.origin {
                Origin::File { path, line, col } => (
                    Some(path.display().to_string()),
                    Some(*line),
                    Some(*col),
                    None,
                ),
                Origin::Flag(flag) => (None, None, None, Some(flag.clone())),
                Origin::None => (None, None, None, None),
            };
            json!({
                "file": file,
                "line": line,
                "column": column,
                "flag": flag,
                "severity": f.severity.as_str(),
                "rule": f.rule,
                "message": f.message,
                "hint": f.hint,
                "resource": f.resource,
                "property": f.property,
            })
        })
        .collect();
    json!({
        "format_version": super::json::FORMAT_VERSION,
        "stack": report.stack.display().to_string(),
        "valid": passes,
        "findings": findings,
        "summary": {
            "errors": report.count(Severity::Error),
            "warnings": report.count(Severity::Warning),
        },
    })
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("{n} {what}")
    } else {
        format!("{n} {what}s")
    }
}

pub fn human(report: &Report, strict: bool, quiet: bool, st: &Style) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let level = format!("{}[{}]", f.severity, f.rule);
        let level = match f.severity {
            Severity::Error => st.red(&level),
            Severity::Warning => st.yellow(&level),
        };
        match &f.origin {
            Origin::None => out.push_str(&format!("{level}: {}", f.message)),
            o => out.push_str(&format!("{o}: {level}: {}", f.message)),
        }
        if let Some(r) = &f.resource {
            out.push_str(&format!(" (resource `{r}`)"));
        }
        out.push('\n');
        if let Some(h) = &f.hint {
            out.push_str(&format!("  hint: {h}\n"));
        }
    }
    if quiet {
        return out;
    }
    let (errors, warnings) = (
        report.count(Severity::Error),
        report.count(Severity::Warning),
    );
    let stack = report.stack.display();
    let checked = plural(report.policies, "policy template");
    if errors == 0 && warnings == 0 {
        out.push_str(&format!(
            "{} {stack}: no problems found ({checked} linted)\n",
            st.green("valid:")
        ));
    } else {
        let counts = format!(
            "{}, {}",
            plural(errors, "error"),
            plural(warnings, "warning")
        );
        let verdict = if report.passes(strict) {
            st.yellow("valid with warnings:")
        } else {
            st.red("invalid:")
        };
        let why = if strict && errors == 0 {
            " (--strict: warnings fail)"
        } else {
            ""
        };
        out.push_str(&format!(
            "{verdict} {stack}: {counts}{why} ({checked} linted)\n"
        ));
    }
    out
}
