//! The command line (clap definitions only).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "iotstack",
    version,
    about = "Provision, diff, destroy and diagnose the AWS IoT + Cognito setup from a YAML stack",
    propagate_version = true
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
    /// The stack file
    #[arg(long, default_value = crate::stack::DEFAULT_STACK, value_name = "FILE")]
    pub stack: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// How many independent AWS steps may run at once
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
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
    },
    /// Delete every resource the stack owns
    Destroy {
        #[command(flatten)]
        stack: StackArgs,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Explain why a user or device cannot connect, publish or subscribe, and fix what is safe
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
        /// Judge offline only: do not ask AWS's own evaluation (iot:TestAuthorization,
        /// iam:SimulatePrincipalPolicy), for credentials without those permissions
        #[arg(long)]
        offline_only: bool,
    },
    /// Print the live stack's identifiers (ARNs, ids, names, local key and certificate files)
    Output {
        #[command(flatten)]
        stack: StackArgs,
        /// Print an aws-exports.json for Amplify PubSub (or an aws-iot style client) instead
        #[arg(long)]
        aws_exports: bool,
    },
    /// Check the stack file, its parameters and names, and lint every policy, offline (no AWS call)
    Validate {
        /// The stack file
        #[arg(long, default_value = crate::stack::DEFAULT_STACK, value_name = "FILE")]
        stack: PathBuf,
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
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}
