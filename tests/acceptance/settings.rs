//! Whether the suite runs, and with what, from the environment only.

use std::net::IpAddr;

/// What a run needs; see the README's "Acceptance tests on a real account".
pub struct Settings {
    /// `IOTSTACK_ACCEPTANCE_PROFILE`: passed to iotstack as `--profile` and used for the suite's
    /// own calls. Without it, both take `AWS_PROFILE` from the environment as it is.
    pub profile: Option<String>,
    /// `IOTSTACK_ACCEPTANCE_EMAIL`: the stack's `--email` (AWS mails a subscription confirmation
    /// to it on every run). Empty when no selected test deploys.
    pub email: String,
    /// `IOTSTACK_ACCEPTANCE_IP`: the public address (or network) this machine's requests reach
    /// AWS from; the stack's `--ip`, so the suite may read the app secret.
    pub ip: String,
    /// `IOTSTACK_ACCEPTANCE_KEEP=1`: a failed lifecycle leaves its stack for inspection instead
    /// of destroying it (the sweeper removes it later).
    pub keep: bool,
    /// `IOTSTACK_ACCEPTANCE_SWEEP_HOURS` (default 3): the sweeper removes stacks of this suite
    /// started at least this long ago, and leaves younger ones to the runs that own them.
    pub sweep_after_hours: u64,
}

pub enum Gate {
    /// Not asked for: nothing talks to AWS.
    Skip(String),
    /// Asked for, but something it needs is missing or wrong: a failure, not a skip.
    Misconfigured(Vec<String>),
    Run(Settings),
}

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Whether to run, and with what. `deploys`: a selected test deploys a stack, so the stack's
/// email and address are needed too (the sweeper needs only the account).
pub fn gate(deploys: bool) -> Gate {
    match var("IOTSTACK_ACCEPTANCE").as_deref() {
        Some("1") => {}
        other => {
            let was = other.map_or("is not set".to_string(), |v| format!("is `{v}`"));
            return Gate::Skip(format!(
                "IOTSTACK_ACCEPTANCE {was}; set it to 1, with a profile, to deploy to a real AWS \
                 account (README: \"Acceptance tests on a real account\")"
            ));
        }
    }
    let mut problems = Vec::new();
    let profile = var("IOTSTACK_ACCEPTANCE_PROFILE");
    if profile.is_none() && var("AWS_PROFILE").is_none() {
        problems.push(
            "no profile: set IOTSTACK_ACCEPTANCE_PROFILE (or AWS_PROFILE) to the profile of the \
             account to deploy to; the suite never falls back to default credentials"
                .to_string(),
        );
    }
    let email = var("IOTSTACK_ACCEPTANCE_EMAIL").unwrap_or_else(|| {
        if deploys {
            problems.push(
                "IOTSTACK_ACCEPTANCE_EMAIL is not set: the stack's --email (it receives one \
                 subscription confirmation per run, which nobody needs to confirm)"
                    .to_string(),
            );
        }
        String::new()
    });
    let ip = var("IOTSTACK_ACCEPTANCE_IP").unwrap_or_default();
    let valid_ip = ip.parse::<IpAddr>().is_ok() || ip.parse::<ipnet::IpNet>().is_ok();
    if deploys && !valid_ip {
        problems.push(format!(
            "IOTSTACK_ACCEPTANCE_IP is {}: give the public address your requests reach AWS from \
             (e.g. what `curl https://checkip.amazonaws.com` prints); the suite reads the app \
             secret, which only that address may read",
            if ip.is_empty() {
                "not set".to_string()
            } else {
                format!("`{ip}`, not an address or CIDR")
            }
        ));
    }
    for (name, _) in std::env::vars() {
        if name == "AWS_ENDPOINT_URL" || name.starts_with("AWS_ENDPOINT_URL_") {
            problems.push(format!(
                "{name} is set: this suite runs against real AWS only (unset it; the emulator \
                 has its own tests)"
            ));
        }
    }
    let sweep_after_hours = match var("IOTSTACK_ACCEPTANCE_SWEEP_HOURS") {
        None => 3,
        Some(h) => match h.parse::<u64>() {
            Ok(n) if n >= 1 => n,
            _ => {
                problems.push(format!(
                    "IOTSTACK_ACCEPTANCE_SWEEP_HOURS is `{h}`: give a whole number of hours, 1 or more"
                ));
                3
            }
        },
    };
    if !problems.is_empty() {
        return Gate::Misconfigured(problems);
    }
    Gate::Run(Settings {
        profile,
        email,
        ip,
        keep: var("IOTSTACK_ACCEPTANCE_KEEP").as_deref() == Some("1"),
        sweep_after_hours,
    })
}
