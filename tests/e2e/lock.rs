//! The stack's lock in AWS (an IoT thing beside the stack) and the local state folder keyed by
//! account and region: two runs at once, a lock left by a killed run, Ctrl-C, and the same
//! prefix in two regions.

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_iot::types::AttributePayload;

use crate::harness::{repo, write, Run, World};
use crate::live::Live;

/// The name of the world's lock thing.
fn lock_name(w: &World) -> String {
    format!("{}-iotstack-lock", w.prefix)
}

async fn lock_held(w: &World, aws: &Live) -> bool {
    aws.thing_exists(&lock_name(w)).await
}

/// Waits until some run holds the world's lock.
async fn until_locked(w: &World, aws: &Live) {
    let t0 = Instant::now();
    while !lock_held(w, aws).await {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no run took the lock"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The lock's `by` attribute (`user,host,pid`) once it names a user: the lock is taken beside
/// GetCallerIdentity, and the caller's ARN is added to it just after.
async fn named_holder(w: &World, aws: &Live) -> String {
    let t0 = Instant::now();
    loop {
        let thing = aws
            .iot
            .describe_thing()
            .thing_name(lock_name(w))
            .send()
            .await
            .expect("the lock is held");
        let by = thing
            .attributes()
            .and_then(|a| a.get("by"))
            .cloned()
            .unwrap_or_default();
        if !by.starts_with(',') {
            return by;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the lock never named its user: {by}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts `iotstack <verb> <stack args> <extra>` without waiting for it.
fn start(w: &World, verb: &str, extra: &[&str]) -> Child {
    let args = w.stack_args(verb, extra);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    w.cmd(&refs)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

/// Runs `iotstack <verb> ...` against the emulator itself, past the world's latency proxy.
fn direct(w: &World, verb: &str, extra: &[&str]) -> Run {
    let args = w.stack_args(verb, extra);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let emu = &w._emu.as_ref().expect("an emulator").endpoint;
    Run::from(
        w.cmd(&refs)
            .env("AWS_ENDPOINT_URL", emu)
            .output()
            .expect("the binary runs"),
    )
}

fn finish(child: Child) -> Run {
    Run::from(child.wait_with_output().expect("the run ends"))
}

fn signal(child: &Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "kill {sig}");
}

/// Creates the lock a run killed outright would leave: `holder`, `by` (user,host,pid) and `op`
/// (operation,unix seconds) attributes, taken `age_secs` ago.
async fn leave_lock(w: &World, aws: &Live, host: &str, pid: u32, age_secs: u64) {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - age_secs;
    let attrs = AttributePayload::builder()
        .attributes("holder", "00000000deadbeef")
        .attributes(
            "by",
            format!("arn:aws:iam::123456789012:user/ci,{host},{pid}"),
        )
        .attributes("op", format!("apply,{since}"))
        .build();
    aws.iot
        .create_thing()
        .thing_name(lock_name(w))
        .attribute_payload(attrs)
        .send()
        .await
        .expect("CreateThing of the lock");
}

/// The app clients of the stack's user pool.
pub(crate) async fn app_clients(aws: &Live) -> usize {
    let pool = aws.pool().await;
    aws.app_clients(&pool.id).await.len()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_applies_at_once_one_runs_and_the_other_is_refused_naming_it() {
    let w = World::new();
    let (a, b) = (
        start(&w, "apply", &["--yes"]),
        start(&w, "apply", &["--yes"]),
    );
    let pids = (a.id(), b.id());
    let (ra, rb) = (finish(a), finish(b));
    let (winner, loser) = match (ra.code, rb.code) {
        (0, 1) => (pids.0, rb),
        (1, 0) => (pids.1, ra),
        _ => panic!(
            "one apply must succeed and the other fail\nfirst:\n{}\nsecond:\n{}",
            ra.all(),
            rb.all()
        ),
    };
    for part in [
        format!("the stack {} is locked by another run: apply by", w.prefix),
        format!("(pid {winner}), started"),
        "Nothing was changed.".to_string(),
        "--break-lock".to_string(),
    ] {
        assert!(loser.stderr.contains(&part), "{part}\n{}", loser.stderr);
    }

    let aws = w.live().await;
    assert_eq!(aws.user_pools().await.len(), 1, "one user pool");
    assert_eq!(aws.identity_pools().await.len(), 1, "one identity pool");
    assert_eq!(app_clients(&aws).await, 1, "one app client");
    assert!(!lock_held(&w, &aws).await, "the lock is released");
    w.plan_is_clean();
}

/// The lock is taken beside GetCallerIdentity (one round trip): when STS fails with an error the
/// SDK does not retry while IoT answers, the run stops before reading anything, says why, and
/// gives back the lock it took: the next run does not need `--break-lock`. A policy cannot be
/// what fails it ("No permissions are required to perform this operation", GetCallerIdentity,
/// STS API reference); the code the proxy answers stands for such a refusal, here STS's own for
/// a Region where the account has not activated it (`RegionDisabledException`, STS API
/// reference, Errors).
#[tokio::test(flavor = "multi_thread")]
async fn a_run_whose_caller_sts_cannot_name_gives_back_the_lock_it_took() {
    let mut w = World::new();
    w.refusing(&["sts:GetCallerIdentity=RegionDisabledException"]);
    let run = w.iotstack("apply", &["--yes"]);
    assert_ne!(
        run.code,
        0,
        "apply without the caller's account succeeded:\n{}",
        run.all()
    );
    run.stderr_has("RegionDisabledException");
    let calls = w.proxy_calls();
    let count = |op: &str| calls.operations.get(op).copied().unwrap_or(0);
    // The lock was taken (its CreateThing answered) and given back; nothing else was made.
    assert_eq!(count("iot:CreateThing"), 1, "{:?}", calls.operations);
    assert_eq!(count("iot:DeleteThing"), 1, "{:?}", calls.operations);
    let made: Vec<&String> = calls
        .operations
        .keys()
        .filter(|op| op.contains(":Create") && op.as_str() != "iot:CreateThing")
        .collect();
    assert!(made.is_empty(), "made {made:?}");
    w.direct();
    let aws = w.live().await;
    assert!(!lock_held(&w, &aws).await, "the lock is released");
    w.apply();
    w.plan_is_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_started_during_a_destroy_is_refused_while_destroy_holds_the_lock() {
    // The destroy goes through the latency proxy, so it lasts; the rest goes straight to the
    // emulator.
    let w = World::with_latency(100);
    direct(&w, "apply", &["--yes"]).ok();
    let aws = w.live().await;
    let destroy = start(&w, "destroy", &["--yes"]);
    until_locked(&w, &aws).await;
    let refused = direct(&w, "apply", &["--yes"]).code(1);
    assert!(
        refused
            .stderr
            .contains(&format!("(pid {}), started", destroy.id())),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("destroy by"), "{}", refused.stderr);
    finish(destroy).ok();
    w.assert_nothing_left().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_left_by_a_killed_run_blocks_changes_until_broken() {
    let w = World::new();
    let aws = w.live().await;
    leave_lock(&w, &aws, "ci-runner-9", 31337, 2 * 3600).await;

    let holder = "apply by arn:aws:iam::123456789012:user/ci on host ci-runner-9 (pid 31337), started 2 hours ago";
    for (verb, extra) in [
        ("apply", &["--yes"][..]),
        ("destroy", &["--yes"][..]),
        ("doctor", &["--fix"][..]),
    ] {
        let r = w.iotstack(verb, extra).code(1);
        assert!(r.stderr.contains(holder), "{verb}: {}", r.stderr);
        let cmd = if verb == "doctor" {
            "doctor --fix"
        } else {
            verb
        };
        assert!(
            r.stderr.contains(&format!("`iotstack {cmd} --break-lock`")),
            "{verb}: {}",
            r.stderr
        );
    }
    assert!(aws.user_pools().await.is_empty(), "nothing was changed");
    // Reading takes no lock.
    w.plan_has_changes();

    let broke = w.iotstack("apply", &["--yes", "--break-lock"]).ok();
    assert!(
        broke
            .stderr
            .contains(&format!("broke the stack's lock, held by {holder}")),
        "{}",
        broke.stderr
    );
    assert!(!lock_held(&w, &aws).await, "released after the apply");
    w.plan_is_clean();

    // A lock left on this very machine by a process that is gone is called stale.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    if !host.is_empty() {
        leave_lock(&w, &aws, &host, 4_194_999, 60).await;
        let r = w.iotstack("destroy", &["--yes"]).code(1);
        r.stderr_has("That process is no longer running on this host: the lock is stale.");
        w.iotstack("destroy", &["--yes", "--break-lock"]).ok();
        w.assert_nothing_left().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_or_sigterm_stops_the_run_and_releases_the_lock() {
    // Slow calls, so that three of them after the lock (the reads' two waves, and one more)
    // land among the creates or deletes, which take several calls more, even now that destroy
    // deletes everything at once.
    let w = World::with_latency(400);
    let aws = w.live().await;
    let me = aws.sts.get_caller_identity().send().await.unwrap();
    let me = me.arn().expect("the caller's ARN");
    for (verb, sig, name) in [("apply", "-INT", "SIGINT"), ("destroy", "-TERM", "SIGTERM")] {
        let child = start(&w, verb, &["--yes"]);
        until_locked(&w, &aws).await;
        let locked = Instant::now();
        // The lock names who holds it, once STS has said (its escape keeps `:/` as they are).
        let by = named_holder(&w, &aws).await;
        assert!(by.starts_with(&format!("{me},")), "{by}");
        assert!(by.ends_with(&format!(",{}", child.id())), "{by}");
        // Into the work itself: past discovery, among the creates or deletes.
        tokio::time::sleep(Duration::from_millis(1000).saturating_sub(locked.elapsed())).await;
        signal(&child, sig);
        let r = finish(child).code(130);
        r.stderr_has(&format!(
            "interrupted by {name}: stopped before finishing; the lock is released"
        ));
        assert!(!lock_held(&w, &aws).await, "{verb}: the lock is gone");
        // The next run carries on from where this one stopped.
        direct(&w, verb, &["--yes"]).ok();
    }
    w.assert_nothing_left().await;
}

/// A stack of the device chain only (IoT resources are regional; IAM roles are not), with its
/// policy, in the world's folder.
fn device_stack(w: &World) -> PathBuf {
    let dir = w.dir.path();
    let policy = std::fs::read_to_string(repo().join("policies/device-policy.json")).unwrap();
    write(dir, "policies/device-policy.json", &policy);
    write(
        dir,
        "stacks/device.yaml",
        r#"version: 1
description: a device and its certificate
parameters:
  prefix: null
resources:
  device-thing:
    type: iot_thing
    properties:
      name: ${prefix}-thing
  device-policy:
    type: iot_policy
    properties:
      name: ${prefix}-device-policy
      document: ../policies/device-policy.json
  device-cert:
    type: iot_certificate
    properties:
      common_name: ${prefix}-thing
      active: true
  device-cert-policy:
    type: iot_policy_attachment
    properties:
      policy: ${device-policy.name}
      target: ${device-cert.arn}
  device-cert-thing:
    type: iot_thing_principal
    properties:
      thing: ${device-thing.name}
      principal: ${device-cert.arn}
"#,
    )
}

fn region_dir(w: &World, region: &str) -> PathBuf {
    w.dir
        .path()
        .join(".iotstack/123456789012")
        .join(region)
        .join(&w.prefix)
}

const KEY: &str = "device-cert.private.key";

#[tokio::test(flavor = "multi_thread")]
async fn each_region_keeps_its_own_key_and_destroying_one_leaves_the_other() {
    let mut w = World::new();
    w.stack = device_stack(&w);
    w.apply();
    w.iotstack("apply", &["--yes", "--region", "eu-west-1"])
        .ok();
    let (east, west) = (region_dir(&w, "us-east-1"), region_dir(&w, "eu-west-1"));
    let east_key = std::fs::read_to_string(east.join(KEY)).expect("us-east-1's key");
    let west_key = std::fs::read_to_string(west.join(KEY)).expect("eu-west-1's key");
    assert_ne!(
        east_key, west_key,
        "each region's certificate has its own key"
    );

    w.iotstack("destroy", &["--yes", "--region", "eu-west-1"])
        .ok();
    assert!(!west.exists(), "eu-west-1's folder goes with its stack");
    assert_eq!(
        std::fs::read_to_string(east.join(KEY)).expect("us-east-1's key is still there"),
        east_key
    );
    w.is_clean_and_destroys_to_nothing().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn local_state_is_git_ignored_and_killed_runs_leftovers_do_not_outlive_destroy() {
    let mut w = World::new();
    w.stack = device_stack(&w);
    w.apply();
    let out = w.dir.path().join(".iotstack");
    assert_eq!(
        std::fs::read_to_string(out.join(".gitignore")).unwrap(),
        "# Written by iotstack: local state, device private keys included, is never committed.\n*\n"
    );
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(w.dir.path())
            .output()
    };
    if git(&["init", "-q"]).is_ok_and(|o| o.status.success()) {
        let key = w.state_dir().join(KEY);
        let ignored = git(&["check-ignore", "-q", key.to_str().unwrap()]).unwrap();
        assert!(ignored.status.success(), "the private key is git-ignored");
    }

    // A run killed between writing a key and renaming it into place leaves a temporary file: the
    // next run removes it.
    let tmp = w.state_dir().join(format!(".{KEY}.tmp-4194999"));
    std::fs::write(&tmp, "half a key").unwrap();
    w.plan_is_clean();
    assert!(
        !tmp.exists(),
        "the next run removes a killed run's temporary file"
    );

    // Destroy takes what is left with the stack: a killed run's files, a key whose certificate
    // was never made.
    std::fs::write(&tmp, "half a key").unwrap();
    std::fs::write(w.state_dir().join("spare.private.key"), "KEY").unwrap();
    w.destroy_leaves_nothing().await;
    assert!(
        !out.join("123456789012").exists(),
        "destroy leaves no folder of the stack behind"
    );
}

/// The stack's record as it is in the emulator, as text.
async fn record_text(aws: &Live, prefix: &str) -> String {
    let id = format!("{prefix}-iotstack-record");
    let out = aws.secrets.get_secret_value().secret_id(&id).send().await;
    let out = out.expect("GetSecretValue of the record");
    out.secret_string().expect("a string value").to_string()
}

async fn put_record(aws: &Live, prefix: &str, text: &str) {
    let id = format!("{prefix}-iotstack-record");
    let put = aws.secrets.put_secret_value().secret_id(&id);
    put.secret_string(text)
        .send()
        .await
        .expect("PutSecretValue of the record");
}

/// Whether the proxy has answered a request of `operation` since its last reset.
fn answered(w: &World, operation: &str) -> bool {
    let proxy = &w._proxy.as_ref().expect("the latency proxy").endpoint;
    let stats = crate::harness::emulator_get(proxy, "/__stats?requests=1");
    let requests = stats["requests"].as_array().cloned().unwrap_or_default();
    requests.iter().any(|r| r[0] == operation)
}

/// The record is read beside taking the lock, before the lock is this run's: a run that held
/// the lock may save its record in between. The record read again under the lock shows it, and
/// the run works from the record as that run left it: here, the record of a run that made the
/// alert rule, which the stack no longer declares, so destroy deletes it.
#[tokio::test(flavor = "multi_thread")]
async fn a_record_saved_while_the_lock_is_taken_is_the_one_the_run_works_from() {
    let mut w = World::new();
    w.apply();
    let aws = w.live_direct().await;
    let prefix = w.prefix.clone();
    let saved = record_text(&aws, &prefix).await;
    assert!(saved.contains("\"id\":\"alert-rule\""), "{saved}");
    // What the record said before the run holding the lock made the rule: without it.
    let mut before: serde_json::Value = serde_json::from_str(&saved).expect("the record's JSON");
    let resources = before["resources"].as_array_mut().expect("format 1");
    resources.retain(|r| r["id"] != "alert-rule");
    put_record(&aws, &prefix, &before.to_string()).await;
    leave_lock(&w, &aws, "ci-runner-9", 31337, 60).await;
    w.stack = crate::harness::edited_stack(&w, |t| {
        let start = t.find("  alert-rule:").expect("the rule");
        let end = start + t[start..].find("\n\n").expect("its end");
        let mut t = t.clone();
        t.replace_range(start..end + 1, "");
        t
    });

    // Slow round trips: breaking the lock takes three after the record's first read.
    w.behind_proxy(400);
    let destroy = start(&w, "destroy", &["--yes", "--break-lock"]);
    let t0 = Instant::now();
    while !answered(&w, "secretsmanager:GetSecretValue") {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the record was never read"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The run holding the lock saves its record now, while the destroy breaks the lock.
    put_record(&aws, &prefix, &saved).await;
    let run = finish(destroy);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!lock_held(&w, &aws).await, "released after the destroy");
    assert!(aws.topic_rules().await.is_empty(), "{}", run.all());
    w.assert_nothing_left().await;
}
