//! What a no-op plan costs does not depend on what else the account holds: with many other user
//! pools, identity pools and certificates, it makes the same calls as in an empty account, none
//! of them a listing of the account, and its reads form two waves after connecting.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::harness::{emulator_get, emulator_post, LatencyProxy, World};

/// Other resources put in the account: the 1,000 user pools, 1,000 identity pools and
/// 5,000 certificates, seeded straight into the emulator (scripts/moto_ext.py, patch N).
const USER_POOLS: usize = 1000;
const IDENTITY_POOLS: usize = 1000;
const CERTIFICATES: usize = 5000;

/// What one no-op plan asked of AWS: each operation with its count, and the critical path.
struct Calls {
    operations: BTreeMap<String, u64>,
    critical_path: u64,
    chain: Vec<String>,
}

fn no_op_plan(w: &World) -> Calls {
    let proxy = &w._proxy.as_ref().expect("the latency proxy").endpoint;
    emulator_post(proxy, "/__reset", &Value::Null);
    w.plan_is_clean();
    let stats = emulator_get(proxy, "/__stats");
    let operations = stats["operations"]
        .as_object()
        .expect("operations")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
        .collect();
    let chain = stats["critical_path_ops"].as_array().cloned();
    Calls {
        operations,
        critical_path: stats["critical_path"].as_u64().expect("critical_path"),
        chain: chain
            .unwrap_or_default()
            .iter()
            .filter_map(|o| o.as_str().map(str::to_string))
            .collect(),
    }
}

/// Fills the account with pools and certificates that are not the stack's.
fn crowd(w: &World) {
    let emu = &w._emu.as_ref().expect("an emulator").endpoint;
    let body = json!({
        "account": "123456789012",
        "region": "us-east-1",
        "prefix": "other",
        "user_pools": USER_POOLS,
        "identity_pools": IDENTITY_POOLS,
        "certificates": CERTIFICATES,
    });
    let counts = emulator_post(emu, "/moto-api/iotstack/seed", &body);
    for (k, n) in [
        ("user_pools", USER_POOLS),
        ("identity_pools", IDENTITY_POOLS),
        ("certificates", CERTIFICATES),
    ] {
        assert!(counts[k].as_u64() > Some(n as u64), "{k}: {counts}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_no_op_plan_costs_the_same_in_a_crowded_account_and_reads_in_two_waves() {
    let mut w = World::new();
    w.apply();
    // The plans go through the latency proxy, whose latency is long beside the emulator's own
    // time to answer (on a busy machine), so that the calls of one wave overlap and a wave
    // starts only after the one it waits for: the critical path counts round trips.
    let emu = w._emu.as_ref().expect("an emulator").endpoint.clone();
    let proxy = LatencyProxy::start(&emu, 250);
    w.endpoint = proxy.endpoint.clone();
    w._proxy = Some(proxy);
    let empty = no_op_plan(&w);

    crowd(&w);
    let crowded = no_op_plan(&w);

    assert_eq!(
        crowded.operations, empty.operations,
        "the same calls in a crowded account as in an empty one"
    );
    for listing in [
        "cognito-idp:ListUserPools",
        "cognito-identity:ListIdentityPools",
        "iot:ListCertificates",
    ] {
        assert!(
            !crowded.operations.contains_key(listing),
            "a stack with a record lists nothing of the account: {:?}",
            crowded.operations
        );
    }
    // Connecting (GetCallerIdentity), then the two waves of reads: the record beside what names
    // find, then the rest by what the record says.
    for (plan, calls) in [("empty", &empty), ("crowded", &crowded)] {
        assert!(
            calls.critical_path <= 3,
            "{plan}: connect, then two waves of reads: {} calls one after another: {}",
            calls.critical_path,
            calls.chain.join(" > ")
        );
    }
    // A machine that never applied (CI, a colleague's laptop): no local certificate id, no
    // cached record. The record in AWS gives the ids: the same calls again.
    std::fs::remove_dir_all(w.dir.path().join(".iotstack")).expect("the local folder");
    let fresh = no_op_plan(&w);
    assert_eq!(
        fresh.operations, empty.operations,
        "the same calls from a machine that never applied"
    );
    assert!(
        fresh.critical_path <= 3,
        "fresh machine: {}",
        fresh.chain.join(" > ")
    );
    let per_resource: u64 = crowded.operations.values().sum();
    eprintln!(
        "no-op plan: {per_resource} calls, critical path {}: {}",
        crowded.critical_path,
        crowded.chain.join(" > ")
    );
}
