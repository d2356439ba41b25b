//! The IoT policy on every signed-in identity of the pool, incrementally and a bounded number a
//! run: each apply attaches only what is not attached yet, at most `IOTSTACK_ATTACH_BOUND` of
//! them, says how many are left, and the next apply goes on; guests never get it. One listing of
//! the pool and of the policy's targets serves the plan's read, the write and its read-back.

use std::collections::BTreeMap;

use crate::harness::{Run, World};
use crate::stacks::signed_in_identity;

/// `iotstack <verb>` with at most `bound` attachments a run.
fn bounded(w: &World, bound: usize, verb: &str, extra: &[&str]) -> Run {
    let args = w.stack_args(verb, extra);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = w.cmd(&refs);
    cmd.env("IOTSTACK_ATTACH_BOUND", bound.to_string());
    Run::from(cmd.output().expect("the binary runs"))
}

#[tokio::test(flavor = "multi_thread")]
async fn each_apply_attaches_at_most_the_bound_and_the_next_goes_on() {
    let (mut w, c) = World::applied().await;
    let pool = c.pool().await;
    // Five signed-in identities (the app user and four more) and two guests.
    let mut signed_in = vec![c.sign_in(&pool).await.1];
    for user in ["ana", "ben", "cai", "dev"] {
        signed_in.push(signed_in_identity(&w, &pool, user).await);
    }
    let mut guests = Vec::new();
    for _ in 0..2 {
        let got = c.cognito_identity.get_id();
        let got = got.identity_pool_id(&pool.identity_pool_id).send().await;
        guests.push(got.unwrap().identity_id().unwrap().to_string());
    }
    let policy = format!("{}-cognito-iot-policy", w.prefix);
    let attached = |targets: Vec<String>| -> (usize, usize) {
        let n = |ids: &[String]| ids.iter().filter(|i| targets.contains(i)).count();
        (n(&signed_in), n(&guests))
    };

    // Behind the proxy, which counts each operation.
    w.behind_proxy(5);
    let plan = bounded(&w, 3, "plan", &["--detailed-exitcode"]).code(2);
    plan.stdout_has("5 of 5 signed-in identities lack the policy")
        .stdout_has("an apply attaches at most 3 a run: 2 identities left to attach after it");
    let read = w.proxy_calls().operations;
    let first = bounded(&w, 3, "apply", &["--yes"]).ok();
    first.stdout_has("2 identities left to attach (at most 3 a run); run apply again");
    assert_eq!(attached(c.policy_targets(&policy).await), (3, 0));
    let calls = w.proxy_calls().operations;
    let count = |calls: &BTreeMap<String, u64>, op: &str| calls.get(op).copied().unwrap_or(0);
    assert_eq!(count(&calls, "iot:AttachPolicy"), 3, "{calls:?}");
    // The apply's read lists the pool and the policy's targets as the plan does; the write and
    // its read-back list nothing again.
    assert_eq!(
        count(&read, "cognito-identity:ListIdentities"),
        1,
        "{read:?}"
    );
    for op in [
        "cognito-identity:ListIdentities",
        "iot:ListTargetsForPolicy",
    ] {
        assert_eq!(count(&calls, op), count(&read, op), "{op}: {calls:?}");
    }

    // Still to update: the next plan lists again and finds the two left.
    let plan = bounded(&w, 3, "plan", &["--detailed-exitcode"]).code(2);
    plan.stdout_has("~ update   identity-attachments")
        .stdout_has("2 of 5 signed-in identities lack the policy");
    assert!(!plan.stdout.contains("left to attach"), "{}", plan.stdout);
    w.proxy_calls();

    let second = bounded(&w, 3, "apply", &["--yes"]).ok();
    assert!(
        !second.stdout.contains("left to attach"),
        "{}",
        second.stdout
    );
    assert_eq!(attached(c.policy_targets(&policy).await), (5, 0));
    let calls = w.proxy_calls().operations;
    assert_eq!(count(&calls, "iot:AttachPolicy"), 2, "{calls:?}");

    bounded(&w, 3, "plan", &["--detailed-exitcode"]).code(0);
    // Without the variable, the bound is 500: nothing is left either.
    w.plan_is_clean();
    w.destroy_leaves_nothing().await;
}
