//! doctor's report as text or JSON.

use serde_json::{json, Value};

use super::Style;
use crate::doctor::{Report, Status};

pub fn json(r: &Report) -> Value {
    json!({
        "format_version": super::json::FORMAT_VERSION,
        "prefix": r.prefix,
        "subject": r.subject,
        "checks": r.checks,
        "repaired": r.repaired,
        "summary": r.summary(),
        "ok": !r.failed(),
    })
}

pub fn human(r: &Report, st: &Style, verbose: bool) -> String {
    let mut out = format!(
        "{} for stack prefix {}\n\n",
        st.bold("iotstack doctor"),
        st.bold(&r.prefix)
    );
    for c in &r.checks {
        let tag = match c.status {
            Status::Pass => st.green("PASS"),
            Status::Warn => st.yellow("WARN"),
            Status::Fail => st.red("FAIL"),
            Status::Skip => st.dim("SKIP"),
        };
        let fixed = if c.fixed {
            st.green(" (fixed)")
        } else {
            String::new()
        };
        out.push_str(&format!("  {tag} {}{fixed}  {}\n", st.bold(c.id), c.title));
        let show = verbose || c.status != Status::Pass;
        for (i, e) in c.evidence.iter().enumerate() {
            if i == 0 || show {
                out.push_str(&format!("       {}\n", st.dim(e)));
            }
        }
        if let Some(f) = c
            .fix
            .as_ref()
            .filter(|_| matches!(c.status, Status::Fail | Status::Warn))
        {
            out.push_str(&format!("       fix: {f}\n"));
        }
    }
    if !r.repaired.is_empty() {
        out.push_str(&format!("\n{}\n", st.bold("Repaired:")));
        for x in &r.repaired {
            out.push_str(&format!("  - {x}\n"));
        }
    }
    let s = r.summary();
    out.push_str(&format!(
        "\ndoctor: {} check(s) ok, {} warning(s), {} failing, {} skipped.\n",
        s.pass, s.warn, s.fail, s.skip
    ));
    if r.failed()
        && r.checks
            .iter()
            .any(|c| c.status == Status::Fail && !c.repairs.is_empty())
    {
        out.push_str("Run `iotstack doctor --fix` to apply the safe repairs.\n");
    }
    out
}
