//! One stack's life on a real account: apply, a clean plan, the app user's sign-in, the attach
//! function's URL called with the identity's credentials, the attachment and `doctor`, destroy,
//! and nothing left. A run that fails half-way destroys its stack on the way out (unless
//! `IOTSTACK_ACCEPTANCE_KEEP=1`); what even that cannot remove, `sweep` removes later.

use std::path::PathBuf;
use std::time::SystemTime;

use aws_smithy_types::error::display::DisplayErrorContext;
use serde_json::Value;

use iotstack::aws::{Clients, Missing, OpExt};

use crate::attach::{self, Signer};
use crate::binary::Iotstack;
use crate::settings::Settings;
use crate::signin::{self, AppConfig};
use crate::{block_on, connect, eventually, inventory, prefix, Account};

pub fn run(s: &Settings) {
    block_on(lifecycle(s));
}

fn step(text: &str) {
    println!("\n== {text}");
}

/// Destroys the stack if the lifecycle stops before its own destroy succeeded.
struct Cleanup<'a> {
    bin: &'a Iotstack,
    prefix: String,
    armed: bool,
    keep: bool,
    sweep_after_hours: u64,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let p = &self.prefix;
        let later = format!(
            "`iotstack destroy --prefix {p} --region {} --yes`, or the sweeper \
             (`cargo test --test acceptance -- sweep`) once it is {}h old",
            self.bin.region, self.sweep_after_hours
        );
        if self.keep {
            println!(
                "\nIOTSTACK_ACCEPTANCE_KEEP=1: {p} stays for inspection; remove it with {later}"
            );
            return;
        }
        println!("\n== the lifecycle stopped early: destroying {p}");
        let code = self.bin.run_shown(&["destroy", "--prefix", p, "--yes"]);
        if code != 0 {
            println!("destroying {p} failed (exit {code}); remove it with {later}");
        }
    }
}

/// The targets of an IoT policy (AWS IoT API reference, ListTargetsForPolicy:
/// <https://docs.aws.amazon.com/iot/latest/apireference/API_ListTargetsForPolicy.html>).
async fn targets(aws: &Clients, policy: &str) -> Result<Vec<String>, String> {
    aws.iot
        .list_targets_for_policy()
        .policy_name(policy)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| format!("ListTargetsForPolicy {policy}: {}", DisplayErrorContext(e)))
}

/// A string field of a JSON document, or a failure naming the document.
fn text(doc: &Value, pointer: &str, what: &str) -> String {
    match doc.pointer(pointer).and_then(Value::as_str) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => panic!("{what} has no {pointer}:\n{doc:#}"),
    }
}

async fn lifecycle(s: &Settings) {
    let Account { aws, region, .. } = connect(s).await;
    let p = prefix::new(SystemTime::now());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("acceptance")
        .join(&p);
    std::fs::create_dir_all(&dir).expect("a working folder");
    println!("  stack {p}; working folder {}", dir.display());
    let bin = Iotstack {
        dir: dir.clone(),
        region: region.clone(),
        profile: s.profile.clone(),
    };
    let mut cleanup = Cleanup {
        bin: &bin,
        prefix: p.clone(),
        armed: true,
        keep: s.keep,
        sweep_after_hours: s.sweep_after_hours,
    };
    let params = [
        "--prefix",
        p.as_str(),
        "--email",
        s.email.as_str(),
        "--ip",
        s.ip.as_str(),
    ];

    step("1/7 apply");
    let code = bin.run_shown(&[&["apply", "--yes"], &params[..]].concat());
    assert_eq!(code, 0, "iotstack apply failed; its output is above");

    // IAM, IoT and Secrets Manager do not promise that a read right after a write sees it:
    // IAM user guide, "Changes that I make are not always immediately visible"
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html), and
    // Secrets Manager API reference, ListSecrets: "might not reflect changes from the last five
    // minutes" (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html).
    // iotstack reads back after each write, so the first plan should already be clean (the
    // user pool's pre-sign-up trigger and self sign-up among it: apply sets them with
    // UpdateUserPool once the function exists, merged into CreateUserPool's answer); the
    // retries keep a slow region from failing the run, and each one is reported.
    step("2/7 plan --detailed-exitcode: nothing left to change");
    eventually("a clean plan", &[10, 20, 40, 60], || async {
        let r = bin.run(&[&["plan", "--detailed-exitcode"], &params[..]].concat());
        match r.code {
            0 => Ok(()),
            2 => Err(format!("the plan has changes\n{}", r.shown())),
            c => Err(format!("plan failed with exit {c}\n{}", r.shown())),
        }
    })
    .await
    .unwrap_or_else(|e| panic!("no clean plan after apply: {e}"));

    // The password was set on the new user beside the secret's labels, on the strength of
    // AdminCreateUser answering it FORCE_CHANGE_PASSWORD (Cognito API reference): the secret's
    // current value signing the user in is that path on AWS.
    step("3/7 the app user signs in");
    let exports = bin.run(&["output", "--prefix", &p, "--aws-exports"]);
    assert_eq!(exports.code, 0, "{}", exports.shown());
    let app = AppConfig::from_exports(&exports.json());
    let outputs = bin.run(&["output", "--prefix", &p, "--output", "json"]);
    assert_eq!(outputs.code, 0, "{}", outputs.shown());
    let outputs = outputs.json();
    let secret_arn = text(&outputs, "/resources/app-secret/arn", "iotstack output");
    let cert_id = text(&outputs, "/resources/device-cert/id", "iotstack output");
    assert_eq!(text(&outputs, "/region", "iotstack output"), region);
    let username = format!("{p}-app-user");
    let password = signin::password(&aws, &secret_arn, &username).await;
    let user = signin::sign_in(&aws, &app, &region, &username, &password).await;
    println!(
        "  {username} signed in; Cognito identity {}",
        user.identity_id
    );

    step("4/7 the attach function's URL, signed with the identity's credentials");
    // apply attached the policy to the identities that existed then; this one is newer, so
    // only the call below can attach it.
    let before = targets(&aws, &app.iot_policy)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !before.contains(&user.identity_id),
        "{} is attached to {} before the call",
        app.iot_policy,
        user.identity_id
    );
    let body = attach::body(&user.id_token);
    let unsigned = attach::post(&app.attach_url, &body, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        unsigned.status, 403,
        "an unsigned request must be refused by the AWS_IAM function URL, got {unsigned}"
    );
    println!("  unsigned: refused ({unsigned})");
    // The identity's role is minutes old and IAM is eventually consistent (above): a first
    // signed call may be refused until the role's grants reach the function URL's authorizer.
    let reply = eventually("the signed call", &[5, 10, 20, 40], || async {
        let signer = Signer {
            credentials: &user.credentials,
            region: &region,
        };
        let r = attach::post(&app.attach_url, &body, Some(signer)).await?;
        if r.status == 200 {
            Ok(r)
        } else {
            Err(r.to_string())
        }
    })
    .await
    .unwrap_or_else(|e| panic!("the attach function did not attach: {e}"));
    println!("  signed: {reply}");
    if let Ok(v) = serde_json::from_str::<Value>(&reply.body) {
        if let Some(id) = v.get("identityId").and_then(Value::as_str) {
            assert_eq!(
                id, user.identity_id,
                "the function attached another identity"
            );
        }
    }

    step("5/7 the identity is a target of the IoT policy; doctor agrees");
    eventually("the attachment", &[5, 10, 20], || async {
        let targets = targets(&aws, &app.iot_policy).await?;
        if targets.contains(&user.identity_id) {
            Ok(())
        } else {
            Err(format!("targets of {}: {targets:?}", app.iot_policy))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{} is not attached to the identity: {e}", app.iot_policy));
    println!("  {} is attached to {}", app.iot_policy, user.identity_id);
    // doctor exits 0 when nothing fails; warnings are allowed, and expected: the IoT policies
    // are minutes old (`recent-changes`, AWS IoT's propagation delay) and nobody confirms the
    // alert subscription (`email-subscription`).
    let doctor = eventually("doctor", &[30, 60], || async {
        let r = bin.run(&[
            "doctor",
            "--prefix",
            &p,
            "--identity-id",
            &user.identity_id,
            "--ip",
            &s.ip,
            "--output",
            "json",
        ]);
        if r.code == 0 {
            Ok(r.json())
        } else {
            Err(format!("exit {}\n{}", r.code, r.shown()))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("doctor found a failure: {e}"));
    for c in doctor["checks"].as_array().into_iter().flatten() {
        if c["status"] == "warn" {
            let field = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            println!("  doctor warns: {}: {}", field("id"), field("title"));
        }
    }

    step("6/7 destroy");
    let code = bin.run_shown(&["destroy", "--prefix", &p, "--yes"]);
    assert_eq!(code, 0, "iotstack destroy failed; its output is above");
    cleanup.armed = false;

    step("7/7 nothing of the stack is left");
    // Listings lag behind deletes (ListSecrets by up to five minutes, above), and Secrets
    // Manager deletes a secret "with an asynchronous background process, so there might be a
    // short delay" even without a recovery window (API reference, DeleteSecret,
    // ForceDeleteWithoutRecovery:
    // https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html).
    eventually("nothing left", &[15, 30, 60, 90, 120], || async {
        let mut left: Vec<String> = inventory::all(&aws)
            .await?
            .into_iter()
            .filter(|f| f.stack == p)
            .map(|f| f.to_string())
            .collect();
        // Read by id, which is current (ListSecrets is not): gone means "not found".
        let cert = aws.iot.describe_certificate().certificate_id(&cert_id);
        if Missing::IOT
            .found(cert.send().await.op("DescribeCertificate"))
            .map_err(|e| e.to_string())?
            .is_some()
        {
            left.push(format!("IoT certificate {cert_id}"));
        }
        let secret = aws.secrets.describe_secret().secret_id(&secret_arn);
        if Missing::SECRETS
            .found(secret.send().await.op("DescribeSecret"))
            .map_err(|e| e.to_string())?
            .is_some()
        {
            left.push(format!("secret {secret_arn}"));
        }
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("{} left: {}", left.len(), left.join(", ")))
        }
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "destroy left part of {p}: {e}\nThe sweeper removes it later: \
             `cargo test --test acceptance -- sweep`"
        )
    });
    println!("  nothing of {p} is left (Lambda's log groups stay; see the README)");
    std::fs::remove_dir_all(&dir).ok();
}
