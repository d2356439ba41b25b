//! Faults between iotstack and AWS: answers lost after AWS carried the request out, 503s,
//! throttling in each protocol's error shape, latency. Apply and destroy converge with exactly one
//! of each resource. `IOTSTACK_FAULT_SEEDS=1,2,3` and `IOTSTACK_FAULT_RATE=0.2` change the runs.

use serde_json::json;

use crate::harness::{emulator_post, World};
use crate::live::Live;

/// Exactly one of each resource AWS would let a retried create duplicate.
async fn one_of_each(aws: &Live, prefix: &str) {
    let pools = aws.user_pools().await;
    assert_eq!(pools.len(), 1, "one user pool: {pools:?}");
    assert_eq!(aws.identity_pools().await.len(), 1, "one identity pool");
    assert_eq!(crate::lock::app_clients(aws).await, 1, "one app client");
    assert_eq!(aws.certificates().await.len(), 1, "one certificate");
    let record = format!("{prefix}-iotstack-record");
    let secrets = aws.secrets().await;
    let app = secrets.iter().filter(|s| s.name() != Some(record.as_str()));
    assert_eq!(app.count(), 1, "one app secret");
}

#[tokio::test(flavor = "multi_thread")]
async fn creates_whose_answer_is_lost_are_made_once() {
    let w = World::new();
    let emu = w._emu.as_ref().expect("an emulator").endpoint.clone();
    // The non-idempotent creates, and name-unique ones the SDK retries into AlreadyExists.
    let lost = [
        "CreateUserPool",
        "CreateIdentityPool",
        "CreateUserPoolClient",
        "CreateCertificateFromCsr",
        "CreateRole",
        "CreatePolicy",
        "CreateSecret",
    ];
    for action in lost {
        emulator_post(
            &emu,
            "/moto-api/iotstack/lose-answer",
            &json!({"action": action, "count": 1}),
        );
    }
    w.apply();
    let armed = crate::harness::emulator_get(&emu, "/moto-api/iotstack/lose-answer");
    assert_eq!(armed["armed"], json!({}), "every answer was lost once");
    let aws = w.live().await;
    one_of_each(&aws, &w.prefix).await;
    w.plan_is_clean();
    w.destroy_leaves_nothing().await;
}

/// The seeds of the fault runs: `IOTSTACK_FAULT_SEEDS` (a comma list), else three fixed ones.
fn seeds() -> Vec<u64> {
    std::env::var("IOTSTACK_FAULT_SEEDS")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .filter(|v: &Vec<u64>| !v.is_empty())
        .unwrap_or_else(|| vec![7, 21, 1234])
}

/// The share of requests given a fault: `IOTSTACK_FAULT_RATE`, else 0.12.
fn rate() -> f64 {
    std::env::var("IOTSTACK_FAULT_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0.12)
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_and_destroy_converge_under_faults() {
    for seed in seeds() {
        let w = World::with_faults(rate(), seed);
        let r = w.iotstack("apply", &["--yes", "-v"]);
        assert_eq!(r.code, 0, "seed {seed}: apply\n{}", r.all());
        let aws = w.live_direct().await;
        one_of_each(&aws, &w.prefix).await;
        let p = w.iotstack("plan", &["--detailed-exitcode"]);
        assert_eq!(p.code, 0, "seed {seed}: a clean plan\n{}", p.all());
        let d = w.iotstack("destroy", &["--yes"]);
        assert_eq!(d.code, 0, "seed {seed}: destroy\n{}", d.all());
        assert_eq!(aws.leftovers().await, Vec::<String>::new(), "seed {seed}");
        let proxy = w._proxy.as_ref().expect("the proxy");
        let stats = crate::harness::emulator_get(&proxy.endpoint, "/__stats");
        eprintln!("seed {seed}: faults {}", stats["faults"]);
        assert!(
            stats["faults"].as_object().is_some_and(|f| f.len() >= 2),
            "seed {seed}: faults were injected: {}",
            stats["faults"]
        );
    }
}
