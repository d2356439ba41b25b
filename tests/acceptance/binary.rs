//! The real `iotstack` binary, run as a user runs it: in a working folder of its own, with the
//! region the suite resolved and the profile it was given.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

/// How to run `iotstack` for one stack.
pub struct Iotstack {
    pub dir: PathBuf,
    pub region: String,
    pub profile: Option<String>,
}

/// What one run printed, and its exit code.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Everything it printed, for a failure message.
    pub fn shown(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.shown()))
    }
}

impl Iotstack {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_iotstack"));
        c.current_dir(&self.dir)
            .args(args)
            .args(["--region", &self.region, "--no-color"]);
        if let Some(p) = &self.profile {
            c.args(["--profile", p]);
        }
        // The flags name every parameter; a stray variable must not pick another stack.
        for v in ["IOTSTACK_PREFIX", "IOTSTACK_EMAIL", "IOTSTACK_IP"] {
            c.env_remove(v);
        }
        c
    }

    /// Runs `iotstack ARGS` and captures what it prints.
    pub fn run(&self, args: &[&str]) -> Ran {
        let out = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("iotstack {args:?} did not start: {e}"));
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `iotstack ARGS` with its output shown as it goes (apply and destroy take minutes);
    /// returns the exit code.
    pub fn run_shown(&self, args: &[&str]) -> i32 {
        println!("  $ iotstack {}", args.join(" "));
        self.command(args)
            .stdin(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("iotstack {args:?} did not start: {e}"))
            .code()
            .unwrap_or(-1)
    }
}
