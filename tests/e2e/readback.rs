//! A create tells what AWS answered about the new resource (its id, its ARN), and apply reads it
//! back by that, as the stack's record would give it: a cold apply lists the account's pools no
//! more than discovery must (to find a same-named pool of the stack when there is no record).

use crate::harness::World;

/// The calls that list the account (or a pool) to find a pool or a client by its name.
const LISTINGS: [&str; 3] = [
    "cognito-idp:ListUserPools",
    "cognito-identity:ListIdentityPools",
    "cognito-idp:ListUserPoolClients",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_cold_apply_reads_back_by_the_ids_its_creates_answered() {
    let mut w = World::new();
    w.behind_proxy(20);
    w.proxy_calls();
    w.plan_has_changes();
    let plan = w.proxy_calls();
    w.apply();
    let apply = w.proxy_calls();
    let count = |calls: &crate::harness::ProxyCalls, op: &str| {
        calls.operations.get(op).copied().unwrap_or(0)
    };
    for op in LISTINGS {
        let (planned, applied) = (count(&plan, op), count(&apply, op));
        assert!(
            applied <= planned,
            "{op}: {applied} in apply, {planned} in plan on the same empty account\nplan: {:?}\napply: {:?}",
            plan.operations,
            apply.operations
        );
    }
    // The creates were answered: the read-backs described what they made.
    for described in [
        "cognito-idp:DescribeUserPool",
        "cognito-identity:DescribeIdentityPool",
        "cognito-idp:DescribeUserPoolClient",
    ] {
        assert!(
            count(&apply, described) > 0,
            "{described} was not called: {:?}",
            apply.operations
        );
    }
    w.plan_is_clean();
}
