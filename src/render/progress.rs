//! Progress reporters: spinners on a terminal, plain lines otherwise, JSON lines for machines.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;

use super::Style;
use crate::apply::{Done, Reporter};
use crate::error::Error;
use crate::plan::Action;
use crate::stack::count;

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
/// The copies of a counted resource (`count: 500`) are one bar, or a line every tenth of them:
/// `created device-thing (iot_thing): 50 of 500`, not a line per copy.
pub struct HumanReporter {
    style: Style,
    quiet: bool,
    bars: Option<(MultiProgress, Mutex<BTreeMap<String, ProgressBar>>)>,
    /// Per counted resource and action (`device-thing creating`): its copies' progress.
    groups: Mutex<BTreeMap<String, Group>>,
}

/// The progress of one action over the copies of a counted resource.
struct Group {
    done: usize,
    total: usize,
    since: Instant,
    bar: Option<ProgressBar>,
}

impl Group {
    /// Whether `done` copies is worth a line: every tenth of them, and the last.
    fn milestone(&self) -> bool {
        let step = (self.total / 10).max(1);
        self.done == self.total || self.done % step == 0
    }
}

impl HumanReporter {
    pub fn new(style: Style, quiet: bool, terminal: bool) -> Self {
        let bars =
            (terminal && !quiet).then(|| (MultiProgress::new(), Mutex::new(BTreeMap::new())));
        HumanReporter {
            style,
            quiet,
            bars,
            groups: Mutex::new(BTreeMap::new()),
        }
    }

    /// A copy of a counted resource started: its group's bar (or first line) when it is the first.
    fn copy_started(&self, base: &str, n: usize, type_name: &str, action: Action) {
        let Ok(mut groups) = self.groups.lock() else {
            return;
        };
        let key = format!("{base} {}", ing(action));
        if groups.contains_key(&key) {
            return;
        }
        let msg = format!("{} {base} ({type_name})", ing(action));
        let bar = self.bars.as_ref().map(|(mp, _)| {
            let pb = mp.add(ProgressBar::new(n as u64));
            pb.set_style(
                ProgressStyle::with_template("{spinner} {msg} {pos} of {len} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            pb.set_message(msg.clone());
            pb.enable_steady_tick(Duration::from_millis(100));
            pb
        });
        if bar.is_none() {
            self.line(format!("{msg}: {n} copies..."));
        }
        let since = Instant::now();
        groups.insert(
            key,
            Group {
                done: 0,
                total: n,
                since,
                bar,
            },
        );
    }

    /// A copy of a counted resource finished: its group's count, and a line at each milestone.
    fn copy_finished(&self, base: &str, type_name: &str, action: Action) {
        let Ok(mut groups) = self.groups.lock() else {
            return;
        };
        let Some(g) = groups.get_mut(&format!("{base} {}", ing(action))) else {
            return;
        };
        g.done += 1;
        if let Some(pb) = &g.bar {
            pb.inc(1);
            if g.done == g.total {
                pb.finish_and_clear();
            }
        }
        let last = g.done == g.total;
        if (g.bar.is_none() && g.milestone()) || (g.bar.is_some() && last) {
            self.line(format!(
                "{} {base} ({type_name}): {} of {} {}",
                self.style.green(past(action)),
                g.done,
                g.total,
                self.style
                    .dim(&format!("[{:.1}s]", g.since.elapsed().as_secs_f64()))
            ));
        }
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
        if let Some((base, n)) = count::copy_of(id) {
            return self.copy_started(&base, n, type_name, action);
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
        if let Some((base, _)) = count::copy_of(id) {
            self.copy_finished(&base, type_name, action);
            for n in notes {
                self.line(format!(
                    "  {}",
                    self.style.yellow(&format!("note: {id}: {n}"))
                ));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counted_resource_reports_every_tenth_of_its_copies_and_the_last() {
        let g = |done, total| Group {
            done,
            total,
            since: Instant::now(),
            bar: None,
        };
        let lines = |total| (1..=total).filter(|&d| g(d, total).milestone()).count();
        assert_eq!(lines(500), 10);
        assert_eq!(lines(5), 5);
        assert_eq!(lines(23), 12);
        assert!(g(23, 23).milestone());
    }
}
