//! One file per subcommand: arguments -> options -> engine -> render. This file holds what they
//! share: reading the stack and parameters (offline), and connecting to AWS.

pub mod apply;
pub mod destroy;
pub mod doctor;
pub mod init;
pub mod output;
pub mod permissions;
pub mod plan;
pub mod schema;
pub mod validate;

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use crate::aws::{self, AwsOptions, Clients};
use crate::cli::{Cli, Command, Global, OutputFormat, ParamArgs, StackArgs};
use crate::discover::{self, Live};
use crate::error::{Error, Origin, Result};
use crate::render::{self, Style};
use crate::resources::{Ctx, Depth};
use crate::stack::params::{self, ParamInput, Params, Sourced};
use crate::stack::Stack;

/// Runs the command line; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let json = matches!(
        &cli.command,
        Command::Plan { stack, .. }
            | Command::Apply { stack, .. }
            | Command::Destroy { stack, .. }
            | Command::Output { stack, .. }
            | Command::Doctor { stack, .. }
            if stack.output == OutputFormat::Json
    );
    let err_style = Style {
        color: render::color_enabled(cli.global.no_color, render::stderr_is_tty()),
    };
    if let Command::Completions { shell } = &cli.command {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(*shell, &mut cmd, "iotstack", &mut std::io::stdout());
        return 0;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let g = cli.global.clone();
    let result = rt.block_on(async move {
        match cli.command {
            Command::Plan {
                stack,
                params,
                detailed_exitcode,
            } => plan::run(&g, &stack, &params, detailed_exitcode).await,
            Command::Apply {
                stack,
                params,
                yes,
                allow_data_loss,
                break_lock,
                adopt,
            } => {
                apply::run(
                    &g,
                    &stack,
                    &params,
                    yes,
                    allow_data_loss,
                    break_lock,
                    &adopt,
                )
                .await
            }
            Command::Destroy {
                stack,
                yes,
                break_lock,
            } => destroy::run(&g, &stack, yes, break_lock).await,
            Command::Output {
                stack,
                aws_exports,
                device_bundle,
            } => output::run(&g, &stack, aws_exports, device_bundle.as_deref()).await,
            Command::Doctor {
                stack,
                identity_id,
                username,
                client_id,
                topic,
                ip,
                fix,
                break_lock,
                offline_only,
            } => {
                let subject = crate::doctor::Subject {
                    identity_id,
                    username,
                    client_id,
                    topic,
                    ip,
                };
                doctor::run(&g, &stack, subject, fix, break_lock, offline_only).await
            }
            Command::Validate {
                stack,
                prefix,
                params,
                output,
                strict,
            } => Ok(validate::run(
                &g,
                stack.as_deref(),
                prefix.as_deref(),
                &params,
                output,
                strict,
            )),
            Command::Init { dir } => init::run(&g, &dir),
            Command::Schema => Ok(schema::run()),
            Command::Permissions {
                stack,
                prefix,
                account,
            } => permissions::run(&g, stack.as_deref(), prefix, account.as_deref()),
            Command::Completions { .. } => Ok(0),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            if json {
                println!("{}", render::json::error(&e));
            }
            eprintln!("{}", render::human::error(&e, &err_style));
            e.exit_code()
        }
    }
}

fn from_env(var: &str) -> Option<Sourced> {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .map(|value| Sourced {
            value,
            origin: Origin::Flag(var.to_string()),
        })
}

fn flag(v: &Option<String>, name: &str, var: &str) -> Option<Sourced> {
    v.as_ref()
        .map(|value| Sourced {
            value: value.clone(),
            origin: Origin::Flag(name.to_string()),
        })
        .or_else(|| from_env(var))
}

/// The stack and its parameters, validated offline: nothing here calls AWS.
pub struct Prepared {
    pub stack: Stack,
    pub params: Params,
    /// The command may create what the stack declares (plan, apply): what the region does not
    /// offer is refused before any AWS call.
    pub creates: bool,
    /// How much the reads ask of each resource: what the command needs (see [`Depth`]).
    pub depth: Depth,
}

pub fn prepare(sa: &StackArgs, pa: Option<&ParamArgs>, need_all: bool) -> Result<Prepared> {
    let stack = Stack::open(sa.stack.as_deref()).map_err(Error::Invalid)?;
    let input = ParamInput {
        prefix: flag(&sa.prefix, "--prefix", "IOTSTACK_PREFIX"),
        email: pa.and_then(|p| flag(&p.email, "--email", "IOTSTACK_EMAIL")),
        ip: pa.and_then(|p| flag(&p.ip, "--ip", "IOTSTACK_IP")),
    };
    let mut required = vec!["prefix"];
    if pa.is_some() && need_all {
        for p in ["email", "ip"] {
            if stack.uses_param(p) || (p == "email" && stack.uses_param("email_domain")) {
                required.push(p);
            }
        }
    }
    let defaults = if pa.is_some() {
        stack.defaults.clone()
    } else {
        stack
            .defaults
            .iter()
            .filter(|(k, _)| k.as_str() == "prefix" || k.as_str() == "region")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let params = params::validate(&input, &defaults, &required).map_err(Error::Invalid)?;
    for w in &params.warnings {
        eprintln!("{w}");
    }
    stack.check_names(&params).map_err(Error::Invalid)?;
    Ok(Prepared {
        stack,
        params,
        creates: need_all,
        depth: Depth::Compare,
    })
}

/// What [`connect`] gives a command.
pub struct Connected {
    pub ctx: Arc<Ctx>,
    pub values: BTreeMap<String, String>,
    /// The stack's record, read beside finding the account.
    pub early: Result<Vec<crate::state::AppliedResource>>,
    /// The stack's lock, when asked for.
    pub held: Option<crate::lock::Held>,
}

/// Connects to AWS: one shared configuration, the account id, the stack's local folder; with
/// `lock` (the operation, and whether to break a lock another run holds), takes the stack's
/// lock. The account id (STS GetCallerIdentity), the stack's record and the lock are asked for
/// together, one round trip: the record and the lock are found by names the prefix gives, and
/// need no account id.
pub async fn connect(g: &Global, p: &Prepared, lock: Option<(&str, bool)>) -> Result<Connected> {
    let opts = AwsOptions {
        region: g.region.clone(),
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
    };
    let fallback = p.stack.defaults.get("region").map(|r| r.value.as_str());
    let Some(region) = aws::resolve_region(&opts, fallback).await else {
        return Err(Error::Invalid(vec![crate::error::Diagnostic::error(
            Origin::Flag("--region".into()),
            "no AWS region is set",
        )
        .hint(
            "pass --region, set AWS_REGION, set `region` in your AWS profile, or give `parameters.region` in the stack file",
        )]));
    };
    if p.creates {
        p.stack.check_region(&region).map_err(Error::Invalid)?;
    }
    let config = aws::load_config(&opts, &region).await;
    let calls = crate::aws::CallLog::new(g.verbose);
    let clients = Clients::with_log(config, calls.clone());
    let prefix = p.params.prefix.value.clone();
    let locking = async {
        match lock {
            Some((operation, breaks)) => {
                Some(crate::lock::acquire(&clients, &prefix, &region, operation, breaks).await)
            }
            None => None,
        }
    };
    let (account, fetched, held) = futures::join!(
        aws::account_id(&clients),
        crate::record::fetch(&clients.secrets, &prefix),
        locking,
    );
    let held = held.transpose();
    let account = match account {
        Ok(account) => account,
        Err(e) => {
            // Taken though the caller could not be told (it can happen only when STS and IoT
            // answer differently): given back at once.
            if let Ok(Some(h)) = held {
                let _ = h.run(async { Ok(0) }).await;
            }
            return Err(e.into());
        }
    };
    let held = held?;
    if let (Some(h), Ok(caller)) = (&held, clients.caller_identity().await) {
        h.name(caller.arn().unwrap_or("unknown"));
    }
    let values = p.params.values(&region, &account);
    let (state_dir, notes) =
        crate::state::open(&p.stack.settings.output_dir, &account, &region, &prefix);
    if !g.quiet {
        for n in notes {
            eprintln!("note: {n}");
        }
    }
    let ctx = Ctx {
        clients,
        calls,
        prefix,
        region,
        account,
        state_dir,
        record: Default::default(),
        identity_lists: Default::default(),
        staged: Default::default(),
        pools: Default::default(),
    };
    let early = crate::record::loaded(&ctx, fetched);
    Ok(Connected {
        ctx: Arc::new(ctx),
        values,
        early,
        held,
    })
}

/// A command's view of one stack: validated offline, connected, its live state read.
pub struct Session {
    pub prepared: Prepared,
    pub ctx: Arc<Ctx>,
    pub values: BTreeMap<String, String>,
    pub live: Vec<Live>,
    /// Resources the last apply made that the stack no longer declares, still live and still
    /// the stack's: apply and destroy delete them.
    pub orphans: Vec<discover::Orphan>,
    /// Resources the record lists that the stack no longer declares, live under their name but
    /// no longer the stack's (deleted out of band, and another owner's resource made under that
    /// name since): the plan shows them, apply and destroy leave them, and the record forgets them.
    pub left: Vec<discover::Orphan>,
    /// The stack's record as this run found it (in AWS, else the local cache).
    pub recorded: Vec<crate::state::AppliedResource>,
    /// Under the lock: what tells it the end is near ([`Session::ending_soon`]).
    ending: Option<crate::lock::Ending>,
}

impl Session {
    /// Validates offline first (no AWS call on bad input), then connects and reads what is live.
    pub async fn open(
        g: &Global,
        sa: &StackArgs,
        pa: Option<&ParamArgs>,
        need_all: bool,
    ) -> Result<Session> {
        Session::open_prepared(g, sa, prepare(sa, pa, need_all)?).await
    }

    /// [`Session::open`] of a stack already prepared.
    pub async fn open_prepared(g: &Global, sa: &StackArgs, prepared: Prepared) -> Result<Session> {
        let c = connect(g, &prepared, None).await?;
        Session::read(sa, prepared, c.ctx, c.values, c.early.ok(), false).await
    }

    /// A prepared stack ([`prepare`]) opened under its lock for `operation`, then `body`: the
    /// lock is taken while connecting, before the live state is read (so the plan shown is the
    /// one carried out), and released however `body` ends, Ctrl-C included. The stack's record
    /// is read beside taking the lock, and checked once it is taken ([`discover::read_locked`]).
    pub async fn locked<F, Fut>(
        g: &Global,
        sa: &StackArgs,
        prepared: Prepared,
        operation: &str,
        break_lock: bool,
        body: F,
    ) -> Result<i32>
    where
        F: FnOnce(Session) -> Fut,
        Fut: std::future::Future<Output = Result<i32>>,
    {
        let c = connect(g, &prepared, Some((operation, break_lock))).await?;
        let (ctx, values, early) = (c.ctx, c.values, c.early);
        let held = c.held.expect("connect takes the lock it is asked for");
        if let Some(h) = &held.broken {
            eprintln!(
                "warning: broke the stack's lock, held by {}",
                h.describe(crate::lock::now())
            );
        }
        let ending = held.ending();
        held.run(async move {
            // A record that could not be read early is read again, under the lock.
            let mut s = Session::read(sa, prepared, ctx, values, early.ok(), true).await?;
            s.ending = Some(ending);
            body(s).await
        })
        .await
    }

    /// Reads what is live for a prepared, connected stack, with the record as it was read while
    /// connecting (`early`; read again if that read failed); when `locked`, under the lock.
    async fn read(
        sa: &StackArgs,
        prepared: Prepared,
        ctx: Arc<Ctx>,
        values: BTreeMap<String, String>,
        early: Option<Vec<crate::state::AppliedResource>>,
        locked: bool,
    ) -> Result<Session> {
        let (stack, bound, depth) = (&prepared.stack, sa.parallelism as usize, prepared.depth);
        let reads = match early {
            Some(early) if locked => {
                discover::read_locked(stack, &values, ctx.clone(), bound, depth, early).await?
            }
            early => {
                discover::read_recorded(stack, &values, ctx.clone(), bound, depth, early).await?
            }
        };
        let (orphans, left) = reads.orphans.into_iter().partition(discover::Orphan::owned);
        Ok(Session {
            prepared,
            ctx,
            values,
            live: reads.live,
            orphans,
            left,
            recorded: reads.recorded,
            ending: None,
        })
    }

    /// The command's last write (the stack's record) is about to start: under the lock, its
    /// release starts reading beside that write ([`crate::lock::Ending::soon`]).
    pub fn ending_soon(&self) {
        if let Some(e) = &self.ending {
            e.soon();
        }
    }

    /// The plan's input for the resources the stack no longer has: those to delete, and those
    /// left because they are no longer its own.
    pub fn orphans_planned(&self) -> Vec<crate::plan::Planned<'_>> {
        self.left
            .iter()
            .chain(&self.orphans)
            .map(|o| crate::plan::Planned {
                kind: crate::resources::Kind::Managed(o.kind),
                desired: &o.desired,
                observed: Some(&o.observed),
            })
            .collect()
    }

    /// What apply and destroy work on.
    pub fn work(&self) -> crate::apply::Work<'_> {
        crate::apply::Work {
            stack: &self.prepared.stack,
            values: &self.values,
            live: &self.live,
            orphans: &self.orphans,
            recorded: &self.recorded,
            ctx: self.ctx.clone(),
            ending: self.ending.clone(),
        }
    }

    /// Each resource with its kind, what the stack wants and what is live: the plan's input.
    pub fn planned(&self) -> Vec<crate::plan::Planned<'_>> {
        self.live
            .iter()
            .map(|l| crate::plan::Planned {
                kind: self
                    .prepared
                    .stack
                    .get(&l.desired.id)
                    .expect("live comes from the stack")
                    .kind,
                desired: &l.desired,
                observed: l.observed.as_ref(),
            })
            .collect()
    }
}

/// Shows the plan that apply or destroy is about to carry out: human text, or the first JSON line.
pub fn show_plan(
    g: &Global,
    sa: &StackArgs,
    plan: &crate::plan::Plan,
    jr: &render::progress::JsonReporter,
) {
    if sa.output == OutputFormat::Json {
        let mut v = render::json::plan(plan);
        v["type"] = serde_json::json!("plan");
        jr.emit(v);
    } else if !g.quiet || plan.has_changes() {
        print!("{}", render::human::plan(plan, &stdout_style(g), g.verbose));
    }
}

/// The progress reporter of apply and destroy: JSON lines, or spinners / plain lines on stderr.
pub fn reporter(
    g: &Global,
    sa: &StackArgs,
    jr: &Arc<render::progress::JsonReporter>,
) -> Arc<dyn crate::apply::Reporter> {
    if sa.output == OutputFormat::Json {
        jr.clone()
    } else {
        Arc::new(render::progress::HumanReporter::new(
            stderr_style(g),
            g.quiet,
            render::stderr_is_tty(),
        ))
    }
}

/// The last word of apply and destroy: the JSON summary line, or the human outcome.
pub fn show_outcome(
    sa: &StackArgs,
    outcome: &crate::apply::Outcome,
    destroy: bool,
    jr: &render::progress::JsonReporter,
) {
    if sa.output == OutputFormat::Json {
        jr.emit(render::json::summary(outcome, destroy));
    } else if outcome.deleted_orphans > 0
        || outcome
            .done
            .values()
            .any(|a| *a != crate::plan::Action::NoOp)
    {
        print!("{}", render::human::outcome(outcome, destroy));
    }
}

pub fn stdout_style(g: &Global) -> Style {
    Style {
        color: render::color_enabled(g.no_color, render::stdout_is_tty()),
    }
}

/// Prints a command's result on stdout: `json()`, or `human(style)` for a person.
pub fn print_result(
    g: &Global,
    output: OutputFormat,
    json: impl FnOnce() -> serde_json::Value,
    human: impl FnOnce(&Style) -> String,
) {
    match output {
        OutputFormat::Json => println!("{}", json()),
        OutputFormat::Human => print!("{}", human(&stdout_style(g))),
    }
}

pub fn stderr_style(g: &Global) -> Style {
    Style {
        color: render::color_enabled(g.no_color, render::stderr_is_tty()),
    }
}

/// Asks on the terminal; refuses without one unless `--yes`.
pub fn confirm(question: &str, yes: bool, what: &str) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Refused(format!(
            "refusing to {what} without confirmation: standard input is not a terminal. Nothing was changed; pass --yes to {what} non-interactively."
        )));
    }
    let mut err = std::io::stderr();
    let _ = write!(err, "{question} Only 'yes' will be accepted: ");
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::io("reading the answer", e))?;
    if line.trim() == "yes" {
        Ok(())
    } else {
        Err(Error::Refused(format!(
            "{what} cancelled; nothing was changed."
        )))
    }
}

/// With `--verbose`, how many AWS operations the command made (on stderr).
pub fn report_calls(g: &Global, ctx: &Ctx) {
    if g.verbose {
        eprintln!("{} AWS operations", ctx.calls.count());
    }
}
