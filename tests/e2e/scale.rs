//! What a no-op plan costs does not depend on what else the account holds: with many other user
//! pools, identity pools and certificates, it makes the same calls as in an empty account, none
//! of them a listing of the account, and its reads form two waves after connecting.

use serde_json::json;

use crate::harness::{emulator_post, ProxyCalls, World};

/// Other resources put in the account: the 1,000 user pools, 1,000 identity pools and
/// 5,000 certificates, seeded straight into the emulator (scripts/moto_ext.py, patch N).
const USER_POOLS: usize = 1000;
const IDENTITY_POOLS: usize = 1000;
const CERTIFICATES: usize = 5000;

fn no_op_plan(w: &World) -> ProxyCalls {
    w.proxy_calls();
    w.plan_is_clean();
    w.proxy_calls()
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
    w.behind_proxy(250);
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
    // Connecting (GetCallerIdentity) beside the record, then every read at once: what names
    // find, and the rest by what the record says.
    for (plan, calls) in [("empty", &empty), ("crowded", &crowded)] {
        assert!(
            calls.critical_path <= 2,
            "{plan}: connect and the record, then the reads: {} calls one after another: {}",
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
        fresh.critical_path <= 2,
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
