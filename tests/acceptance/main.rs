//! Acceptance tests against a real AWS account: the real `iotstack` binary deploys the default
//! stack, the app user signs in as an app would, calls the attach function's URL signed with its
//! Cognito identity's credentials, and the test checks the attachment, runs `doctor`, destroys
//! the stack and checks that nothing of it is left. `sweep` removes what failed runs left.
//!
//! Off by default: without `IOTSTACK_ACCEPTANCE=1` every test is reported as skipped, with the
//! reason, and nothing talks to AWS. The README's "Acceptance tests on a real account" lists the
//! variables, the permissions, the cost and what a failed run may leave.
//!
//! This target has its own `main` (`harness = false` in Cargo.toml) so the skip is printed on
//! every run instead of being captured like the output of a passing libtest test. It accepts the
//! libtest arguments that matter here: name filters, `--ignored` / `--include-ignored` (the
//! sweeper is "ignored": it runs only when asked), `--exact` and `--list`; it ignores the others
//! (`--nocapture`, `--test-threads`, …).
//!
//! ```text
//! cargo test --test acceptance -- --nocapture          # the lifecycle
//! cargo test --test acceptance -- sweep                # the sweeper
//! ```

mod attach;
mod binary;
mod inventory;
mod lifecycle;
mod prefix;
mod settings;
mod signin;
mod sweep;

use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use settings::{Gate, Settings};

/// A test of this target: its name, whether it runs only when asked, and its body.
struct Case {
    name: &'static str,
    ignored: bool,
    /// Whether it deploys a stack (and so needs the stack's email and address).
    deploys: bool,
    run: fn(&Settings),
}

const CASES: &[Case] = &[
    Case {
        name: "lifecycle",
        ignored: false,
        deploys: true,
        run: lifecycle::run,
    },
    Case {
        name: "sweep",
        ignored: true,
        deploys: false,
        run: sweep::run,
    },
];

/// What the command line asked for, in libtest's terms.
#[derive(Default)]
struct Args {
    filters: Vec<String>,
    exact: bool,
    list: bool,
    ignored: bool,
    include_ignored: bool,
}

impl Args {
    fn parse() -> Args {
        let mut a = Args::default();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--exact" => a.exact = true,
                "--list" => a.list = true,
                "--ignored" => a.ignored = true,
                "--include-ignored" => a.include_ignored = true,
                // libtest options that take a value as the next argument.
                "--test-threads" | "--format" | "--logfile" | "--skip" | "--color" | "-Z"
                | "--shuffle-seed" => {
                    args.next();
                }
                s if s.starts_with('-') => {}
                s => a.filters.push(s.to_string()),
            }
        }
        a
    }

    fn selects(&self, case: &Case) -> bool {
        let named = self.filters.iter().any(|f| {
            if self.exact {
                case.name == f
            } else {
                case.name.contains(f.as_str())
            }
        });
        if !self.filters.is_empty() && !named {
            return false;
        }
        if self.ignored {
            return case.ignored;
        }
        // An ignored case also runs when a filter names it exactly (`-- sweep`).
        !case.ignored || self.include_ignored || self.filters.iter().any(|f| f == case.name)
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list {
        for c in CASES {
            println!("{}: test", c.name);
        }
        return ExitCode::SUCCESS;
    }
    let selected: Vec<&Case> = CASES.iter().filter(|c| args.selects(c)).collect();

    // Checked on every run, with or without AWS: the sweeper must recognise, and date, every
    // prefix the lifecycle makes; a signed call must leave as the function URL expects it.
    prefix::self_check();
    attach::self_check();

    println!("\nrunning {} test(s)", selected.len());
    let settings = match settings::gate(selected.iter().any(|c| c.deploys)) {
        Gate::Skip(reason) => {
            for c in &selected {
                println!("test {} ... SKIPPED: {reason}", c.name);
            }
            println!(
                "\ntest result: ok. 0 passed; 0 failed; {} skipped (not run against AWS)\n",
                selected.len()
            );
            return ExitCode::SUCCESS;
        }
        Gate::Misconfigured(problems) => {
            eprintln!("IOTSTACK_ACCEPTANCE=1, but the acceptance suite cannot run:");
            for p in problems {
                eprintln!("  - {p}");
            }
            eprintln!("See the README, \"Acceptance tests on a real account\".");
            return ExitCode::FAILURE;
        }
        Gate::Run(s) => s,
    };

    let mut failed = Vec::new();
    for c in &selected {
        println!("test {} ... started", c.name);
        let t0 = Instant::now();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| (c.run)(&settings)));
        let took = minutes(t0.elapsed());
        match outcome {
            Ok(()) => println!("test {} ... ok ({took})", c.name),
            Err(_) => {
                println!("test {} ... FAILED ({took})", c.name);
                failed.push(c.name);
            }
        }
    }
    let passed = selected.len() - failed.len();
    if failed.is_empty() {
        println!("\ntest result: ok. {passed} passed; 0 failed\n");
        ExitCode::SUCCESS
    } else {
        println!(
            "\ntest result: FAILED. {passed} passed; {} failed: {}\n",
            failed.len(),
            failed.join(", ")
        );
        ExitCode::from(101)
    }
}

fn minutes(d: Duration) -> String {
    format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
}

/// Runs `attempt` until it answers `Ok`, waiting `waits` seconds between attempts (one attempt
/// more than there are waits), and says on stdout each time it waits and why (the first line of
/// the error). AWS documents
/// several of the things this suite reads as eventually consistent; each caller names its reason.
/// Returns the last error when every attempt failed.
pub async fn eventually<T, F, Fut>(what: &str, waits: &[u64], mut attempt: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let mut n = 0;
    loop {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(e) if n < waits.len() => {
                println!(
                    "  {what}: not yet ({}); retrying in {}s (attempt {} of {})",
                    e.lines().next().unwrap_or_default(),
                    waits[n],
                    n + 2,
                    waits.len() + 1
                );
                tokio::time::sleep(Duration::from_secs(waits[n])).await;
                n += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// A runtime for one test's AWS calls.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}

/// The account the suite works in, as iotstack resolves it: the profile given, and the region
/// from `AWS_REGION` / `AWS_DEFAULT_REGION`, then the profile, then the built-in stack's default.
pub struct Account {
    pub aws: iotstack::aws::Clients,
    pub region: String,
    pub id: String,
}

pub async fn connect(s: &Settings) -> Account {
    use iotstack::aws::{self, AwsOptions};
    let opts = AwsOptions {
        region: None,
        profile: s.profile.clone(),
        endpoint_url: None,
    };
    let stack = iotstack::stack::Stack::open(None).expect("the built-in stack loads");
    let fallback = stack.defaults.get("region").map(|r| r.value.clone());
    let region = aws::resolve_region(&opts, fallback.as_deref())
        .await
        .expect("a region: set AWS_REGION or the profile's region");
    let clients = aws::Clients::from_config(aws::load_config(&opts, &region).await);
    let id = aws::account_id(&clients)
        .await
        .unwrap_or_else(|e| panic!("the profile's credentials do not work: {e}"));
    println!("  account {id}, region {region}");
    Account {
        aws: clients,
        region,
        id,
    }
}
