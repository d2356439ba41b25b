//! Destroy at the limit AWS sets: every resource's delete starts at once (each kind's delete
//! first removes what AWS requires gone before it), and what AWS deletes with its parent (a
//! topic's subscriptions, a user pool's app client and users, an identity pool's roles, a
//! function's permission) makes no call of its own.

use crate::harness::World;

#[tokio::test(flavor = "multi_thread")]
async fn destroy_deletes_at_once_and_leaves_what_goes_with_its_parent_to_it() {
    let mut w = World::new();
    w.apply();
    w.behind_proxy(250);
    let out = w.destroy();
    let calls = w.proxy_calls();
    w.assert_nothing_left().await;
    let ops = &calls.operations;
    for gone in [
        "sns:Unsubscribe",
        "cognito-idp:DeleteUserPoolClient",
        "cognito-idp:AdminDeleteUser",
        "cognito-identity:SetIdentityPoolRoles",
        "lambda:RemovePermission",
    ] {
        assert!(!ops.contains_key(gone), "{gone} was called: {ops:?}");
    }
    for deleted in [
        "sns:DeleteTopic",
        "cognito-idp:DeleteUserPool",
        "cognito-identity:DeleteIdentityPool",
        "lambda:DeleteFunction",
        "iam:DeleteRole",
        "iot:DeleteCertificate",
        "iot:DeletePolicy",
    ] {
        assert!(
            ops.contains_key(deleted),
            "{deleted} was not called: {ops:?}"
        );
    }
    // What goes with its parent is still reported as deleted, and says with what.
    let said = out.all();
    assert!(said.contains("deleted with `alert-topic`"), "{said}");
    // All five roles' deletes, and the two functions', ran at the same time: the most
    // requests open at once is at least the deletes that start together.
    let in_flight = calls.max_in_flight;
    assert!(
        in_flight >= 7,
        "at most {in_flight} requests at once: {ops:?}"
    );
    // The chain of calls one after another: the lock's CreateThing, with GetCallerIdentity and
    // the record's read beside it (no read-back of the lock); the reads, every one at once once
    // the lock is taken; the detaches, the certificate's deactivation beside them; the deletes,
    // each made at once; the record's removal with the lock's read beside it; the lock's
    // DeleteThing: 6, and two round trips of room for the conflicts AWS IoT answers while a
    // detach propagates; far below the 28 calls of a destroy in reverse dependency order.
    let (path, chain) = (calls.critical_path, calls.chain.join(" > "));
    assert!(path <= 8, "critical path {path}: {chain}");
}

/// A role's delete removes the policies its read found (one put out of band included), then the
/// role, without listing them again. (When IAM still refuses, the role is listed again: see
/// `tests/mocked.rs`.)
#[tokio::test(flavor = "multi_thread")]
async fn a_role_is_emptied_of_what_its_read_found_and_of_what_iam_still_holds() {
    let (mut w, aws) = World::applied().await;
    let role = format!("{}-iot-rule-sns-role", w.prefix);
    let extra = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sns:ListTopics","Resource":"*"}]}"#;
    aws.iam
        .put_role_policy()
        .role_name(&role)
        .policy_name("added-out-of-band")
        .policy_document(extra)
        .send()
        .await
        .expect("PutRolePolicy");
    // Plain destroy: the read sees the extra policy and deletes it with the declared one.
    w.behind_proxy(20);
    w.destroy();
    let calls = w.proxy_calls();
    w.assert_nothing_left().await;
    let deleted = calls.operations.get("iam:DeleteRolePolicy").copied();
    // Five roles with one inline policy each, and the one added: six, none listed again.
    assert_eq!(deleted, Some(6), "{:?}", calls.operations);
    // Each role's policies are listed once, by its read (beside its GetRole), not again by
    // its delete.
    let ops = &calls.operations;
    assert_eq!(
        ops.get("iam:ListRolePolicies"),
        ops.get("iam:GetRole"),
        "a role's delete listed its policies again: {ops:?}"
    );
    assert_eq!(ops.get("iam:DeleteRole"), Some(&5), "{ops:?}");
}
