//! The command line (clap definitions only).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

// Every command's help ends with an example (a test below checks each one).
const EXAMPLE_MAIN: &str = "Example:
  iotstack plan  --prefix acme --email ops@example.com --ip 203.0.113.7
  iotstack apply --prefix acme --email ops@example.com --ip 203.0.113.7";
const EXAMPLE_PLAN: &str = "Example:
  iotstack plan --prefix acme --email ops@example.com --ip 203.0.113.7 --detailed-exitcode";
const EXAMPLE_APPLY: &str = "Example:
  iotstack apply --prefix acme --email ops@example.com --ip 203.0.113.7 --yes
  iotstack apply --prefix acme --adopt policy,auth-role   # take resources not owned by the stack";
const EXAMPLE_DESTROY: &str = "Example:
  iotstack destroy --prefix acme --yes";
const EXAMPLE_DOCTOR: &str = "Example:
  iotstack doctor --prefix acme --identity-id us-east-1:0b3c1f4e-8a51-4f5e-9d0c-2a1b3c4d5e6f --fix";
const EXAMPLE_OUTPUT: &str = "Example:
  iotstack output --prefix acme --aws-exports > aws-exports.json
  iotstack output --prefix acme --device-bundle ./acme-device";
const EXAMPLE_VALIDATE: &str = "Example:
  iotstack validate --stack stacks/default.yaml --prefix acme --strict";
const EXAMPLE_INIT: &str = "Example:
  iotstack init my-stack && iotstack validate --stack my-stack/stacks/default.yaml";

const EXAMPLE_SCHEMA: &str = "Example:
  iotstack schema > schema/stack.schema.json";

const EXAMPLE_PERMISSIONS: &str = "Example:
  iotstack permissions --prefix acme-dev --account 123456789012 > deployer-policy.json";

const EXAMPLE_COMPLETIONS: &str = "Example:
  iotstack completions bash > ~/.local/share/bash-completion/completions/iotstack";

#[derive(Debug, Parser)]
#[command(
    name = "iotstack",
    version,
    about = "Provision, diff, destroy and diagnose the AWS IoT + Cognito setup from a YAML stack",
    propagate_version = true,
    after_help = EXAMPLE_MAIN
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct Global {
    /// AWS region (default: AWS_REGION, the profile's region, then the stack's `parameters.region`)
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS shared-config profile
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Send every AWS call to this endpoint (also AWS_ENDPOINT_URL), e.g. a local emulator
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Print only errors and data
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail (every AWS step)
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Never use colour (also NO_COLOR)
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Args, Clone)]
pub struct StackArgs {
    /// Name prefix of every resource (also IOTSTACK_PREFIX)
    #[arg(long)]
    pub prefix: Option<String>,
    /// The stack file (default: the built-in default stack; `iotstack init` writes it out)
    #[arg(long, value_name = "FILE")]
    pub stack: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// How many independent AWS steps may run at once (AWS's per-operation rates are kept by
    /// pacing every request, whatever this says)
    // A stack of a few dozen resources never waits for a slot at 32; what bounds a larger one
    // is AWS's rates, which `aws::rate` paces each request under (AWS IoT's control-plane
    // quotas), not a small fixed number of steps.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallelism: u16,
}

#[derive(Debug, Args, Clone)]
pub struct ParamArgs {
    /// Email address for the alert subscription and the app user (also IOTSTACK_EMAIL)
    #[arg(long)]
    pub email: Option<String>,
    /// The only address (or CIDR) the app secret may be read from (also IOTSTACK_IP)
    #[arg(long, value_name = "IP|CIDR")]
    pub ip: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what apply would change, resource by resource
    #[command(after_help = EXAMPLE_PLAN)]
    Plan {
        #[command(flatten)]
        stack: StackArgs,
        #[command(flatten)]
        params: ParamArgs,
        /// Exit 2 when there are changes pending (0: none, 1: error)
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Create or update the stack's resources to match the stack file
    #[command(after_help = EXAMPLE_APPLY)]
    Apply {
        #[command(flatten)]
        stack: StackArgs,
        #[command(flatten)]
        params: ParamArgs,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
        /// Allow replacements that delete data (a user pool that has users)
        #[arg(long)]
        allow_data_loss: bool,
        /// Take these resources (stack ids, comma-separated), which exist under the stack's names
        /// but are not owned by it, into the stack: the plan shows what changes first
        #[arg(long, value_delimiter = ',', value_name = "ID")]
        adopt: Vec<String>,
        /// Take over the stack's lock from a run that was killed or lost (the lock's message names it)
        #[arg(long)]
        break_lock: bool,
    },
    /// Delete every resource the stack owns
    #[command(after_help = EXAMPLE_DESTROY)]
    Destroy {
        #[command(flatten)]
        stack: StackArgs,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
        /// Take over the stack's lock from a run that was killed or lost (the lock's message names it)
        #[arg(long)]
        break_lock: bool,
    },
    /// Explain why a user or device cannot connect, publish or subscribe, and fix what is safe
    #[command(after_help = EXAMPLE_DOCTOR)]
    Doctor {
        #[command(flatten)]
        stack: StackArgs,
        /// The Cognito identity id (region:uuid, from GetId) to diagnose
        #[arg(long, conflicts_with = "username", value_name = "ID")]
        identity_id: Option<String>,
        /// A user pool username to diagnose (its identity id cannot be derived from it)
        #[arg(long, value_name = "U")]
        username: Option<String>,
        /// The MQTT client id the client connects with (default: the identity id)
        #[arg(long, value_name = "C")]
        client_id: Option<String>,
        /// The MQTT topic the client publishes to / subscribes to
        #[arg(long, value_name = "T")]
        topic: Option<String>,
        /// The address (or CIDR) the app secret must be readable from (also IOTSTACK_IP)
        #[arg(long, value_name = "IP|CIDR")]
        ip: Option<String>,
        /// Apply the safe repairs, then check again
        #[arg(long)]
        fix: bool,
        /// Take over the stack's lock from a run that was killed or lost (the lock's message names it)
        #[arg(long, requires = "fix")]
        break_lock: bool,
        /// Judge offline only: do not ask AWS's own evaluation (iot:TestAuthorization,
        /// iam:SimulatePrincipalPolicy), for credentials without those permissions
        #[arg(long)]
        offline_only: bool,
    },
    /// Print the live stack's identifiers (ARNs, ids, names, local key and certificate files)
    #[command(after_help = EXAMPLE_OUTPUT)]
    Output {
        #[command(flatten)]
        stack: StackArgs,
        /// Print an aws-exports.json for Amplify PubSub (or an aws-iot style client) instead
        #[arg(long)]
        aws_exports: bool,
        /// Also write the device's certificate, key (mode 0600), Amazon Root CA 1, endpoint,
        /// client id and a README with a connect command to DIR (new, empty, or a previous bundle)
        #[arg(long, value_name = "DIR", conflicts_with = "aws_exports")]
        device_bundle: Option<PathBuf>,
    },
    /// Check the stack file, its parameters and names, and lint every policy, offline (no AWS call)
    #[command(after_help = EXAMPLE_VALIDATE)]
    Validate {
        /// The stack file (default: the built-in default stack; `iotstack init` writes it out)
        #[arg(long, value_name = "FILE")]
        stack: Option<PathBuf>,
        /// Name prefix to check the derived names with (also IOTSTACK_PREFIX; optional here)
        #[arg(long)]
        prefix: Option<String>,
        #[command(flatten)]
        params: ParamArgs,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        output: OutputFormat,
        /// Fail (exit 1) on warnings too
        #[arg(long)]
        strict: bool,
    },
    /// Write the built-in default stack and its policies into a folder, to change them
    ///
    /// Writes DIR/stacks/default.yaml and DIR/policies/*.json (the stack names its policies
    /// relative to itself) and never overwrites a file. Use the copy with
    /// `--stack DIR/stacks/default.yaml`.
    #[command(after_help = EXAMPLE_INIT)]
    Init {
        /// The folder to write into
        #[arg(default_value = ".", value_name = "DIR")]
        dir: PathBuf,
    },
    /// Print the JSON Schema (draft 2020-12) of the stack file, for editors
    ///
    /// Generated from the types the stack file is read with. The shipped stacks point YAML
    /// editors at it with a first line
    /// `# yaml-language-server: $schema=../schema/stack.schema.json`.
    #[command(after_help = EXAMPLE_SCHEMA)]
    Schema,
    /// Print the least IAM policy a deployer needs to plan, apply, destroy and doctor a stack
    ///
    /// Every action the stack's kinds, its lock and doctor call, with resource ARNs scoped to
    /// the prefix where AWS allows it and `*` only where AWS requires it; `iam:PassRole` only
    /// for the stack's roles, to the services they are passed to. Makes no AWS call.
    #[command(after_help = EXAMPLE_PERMISSIONS)]
    Permissions {
        /// The stack file (default: the built-in default stack)
        #[arg(long, value_name = "FILE")]
        stack: Option<PathBuf>,
        /// Name prefix the deployer works with (also IOTSTACK_PREFIX, then `parameters.prefix`)
        #[arg(long)]
        prefix: Option<String>,
        /// The AWS account id to name in ARNs (default: `*`, any account; the region is
        /// `--region`, else `*`)
        #[arg(long, value_name = "ID")]
        account: Option<String>,
    },
    /// Print shell completions
    #[command(after_help = EXAMPLE_COMPLETIONS)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// What `iotstack <command> <flag>` prints (`flag` is `-h` or `--help`).
    fn help(command: Option<&str>, flag: &str) -> String {
        let argv = ["iotstack"].into_iter().chain(command).chain([flag]);
        match Cli::try_parse_from(argv) {
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.to_string(),
            other => panic!("`{command:?} {flag}` did not print help: {other:?}"),
        }
    }

    #[test]
    fn every_help_ends_with_an_example() {
        let cmd = Cli::command();
        let subcommands: Vec<&str> = cmd
            .get_subcommands()
            .map(|c| c.get_name())
            .filter(|n| *n != "help")
            .collect();
        assert!(subcommands.len() >= 7, "{subcommands:?}");
        let commands = subcommands.into_iter().map(Some).chain([None]);
        for command in commands {
            let want = match command {
                Some(name) => format!("  iotstack {name} "),
                None => "  iotstack ".to_string(),
            };
            for flag in ["-h", "--help"] {
                let text = help(command, flag);
                let lines: Vec<&str> = text.trim_end().lines().collect();
                let Some(at) = lines.iter().rposition(|l| l.trim() == "Example:") else {
                    panic!("`iotstack {command:?} {flag}` has no example:\n{text}");
                };
                let example = &lines[at + 1..];
                assert!(!example.is_empty(), "{command:?}: empty example");
                for l in example {
                    assert!(
                        l.starts_with(&want),
                        "`{command:?} {flag}` must end with an example of itself, found {l:?}:\n{text}"
                    );
                }
            }
        }
    }
}
