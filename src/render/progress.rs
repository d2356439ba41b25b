//! Progress reporters: spinners on a terminal, plain lines otherwise, JSON lines for machines.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;

use super::Style;
use crate::apply::{Done, Reporter};
use crate::error::Error;
use crate::plan::Action;

fn ing(a: Action) -> &'static str {
    match a {
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Replace => "replacing",
        Action::Delete => "deleting",
        Action::NoOp => "checking",
        Action::Foreign => "leaving",
    }
}

fn past(a: Action) -> &'static str {
    match a {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::Delete => "deleted",
        Action::NoOp => "unchanged",
        Action::Foreign => "left (not owned)",
    }
}

/// Human progress on stderr: a spinner per running step on a terminal, one line per event otherwise.
pub struct HumanReporter {
    style: Style,
    quiet: bool,
    bars: Option<(MultiProgress, Mutex<BTreeMap<String, ProgressBar>>)>,
}

impl HumanReporter {
    pub fn new(style: Style, quiet: bool, terminal: bool) -> Self {
        let bars =
            (terminal && !quiet).then(|| (MultiProgress::new(), Mutex::new(BTreeMap::new())));
        HumanReporter { style, quiet, bars }
    }

    fn line(&self, s: String) {
        match &self.bars {
            Some((mp, _)) => {
                let _ = mp.println(s);
            }
            None => {
                let _ = writeln!(std::io::stderr(), "{s}");
            }
        }
    }
}

impl Reporter for HumanReporter {
    fn started(&self, id: &str, type_name: &str, action: Action) {
        if self.quiet {
            return;
        }
        let msg = format!("{} {id} ({type_name})", ing(action));
        match &self.bars {
            Some((mp, bars)) => {
                let pb = mp.add(ProgressBar::new_spinner());
                pb.set_style(
                    ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                pb.set_message(msg);
                pb.enable_steady_tick(Duration::from_millis(100));
                if let Ok(mut b) = bars.lock() {
                    b.insert(id.to_string(), pb);
                }
            }
            None => self.line(format!("{msg}...")),
        }
    }

    fn finished(&self, id: &str, type_name: &str, action: Action, done: Done<'_>) {
        let Done { elapsed, notes } = done;
        if let Some((_, bars)) = &self.bars {
            if let Some(pb) = bars.lock().ok().and_then(|mut b| b.remove(id)) {
                pb.finish_and_clear();
            }
        }
        if self.quiet {
            return;
        }
        self.line(format!(
            "{} {id} ({type_name}) {}",
            self.style.green(past(action)),
            self.style.dim(&format!("[{:.1}s]", elapsed.as_secs_f64()))
        ));
        for n in notes {
            self.line(format!("  {}", self.style.yellow(&format!("note: {n}"))));
        }
    }

    fn failed(&self, id: &str, type_name: &str, action: Action, error: &Error) {
        if let Some((_, bars)) = &self.bars {
            if let Some(pb) = bars.lock().ok().and_then(|mut b| b.remove(id)) {
                pb.finish_and_clear();
            }
        }
        self.line(format!(
            "{} {} {id} ({type_name}): {error}",
            self.style.red("failed"),
            ing(action)
        ));
    }
}

/// One JSON object per line on stdout.
pub struct JsonReporter {
    out: Mutex<()>,
}

impl JsonReporter {
    pub fn new() -> Self {
        JsonReporter {
            out: Mutex::new(()),
        }
    }

    pub fn emit(&self, v: serde_json::Value) {
        let _guard = self.out.lock();
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "{v}");
        let _ = o.flush();
    }
}

impl Default for JsonReporter {
    fn default() -> Self {
        Self::new()
    }
}

impl Reporter for JsonReporter {
    fn started(&self, id: &str, type_name: &str, action: Action) {
        self.emit(json!({"type": "start", "id": id, "resource_type": type_name, "action": action}));
    }
    fn finished(&self, id: &str, type_name: &str, action: Action, done: Done<'_>) {
        let Done { elapsed, notes } = done;
        self.emit(json!({
            "type": "done", "id": id, "resource_type": type_name, "action": action,
            "elapsed_ms": elapsed.as_millis() as u64, "notes": notes,
        }));
    }
    fn failed(&self, id: &str, type_name: &str, action: Action, error: &Error) {
        let mut v = super::json::error(error);
        v["type"] = json!("error");
        v["id"] = json!(id);
        v["resource_type"] = json!(type_name);
        v["action"] = json!(action);
        self.emit(v);
    }
}
