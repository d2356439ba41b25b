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
    // Nor is it read: destroy needs nothing of it (its parent's delete takes it along, or
    // destroy leaves its foreign parent, or it went with its parent already). A role is read
    // with GetRole alone: its delete removes the policies the stack declares by name, and
    // lists the role only if IAM refuses (the next test). A topic and a secret are read for
    // their tags alone; the endpoint (a data source) not at all.
    for unread in [
        "sns:ListSubscriptionsByTopic",
        "cognito-idp:DescribeUserPoolClient",
        "cognito-idp:AdminGetUser",
        "secretsmanager:ListSecretVersionIds",
        "cognito-identity:GetIdentityPoolRoles",
        "cognito-identity:ListIdentities",
        "lambda:GetPolicy",
        "iam:GetRolePolicy",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
        "sns:GetTopicAttributes",
        "secretsmanager:GetResourcePolicy",
        "iot:DescribeEndpoint",
    ] {
        assert!(!ops.contains_key(unread), "{unread} was called: {ops:?}");
    }
    // What goes with its parent is still reported as deleted, and says with what.
    let said = out.all();
    assert!(said.contains("deleted with `alert-topic`"), "{said}");
    assert!(
        said.contains("not read: it goes with `user-pool`"),
        "{said}"
    );
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

/// A role's delete removes the policies the stack declares without listing them, then the role;
/// one put out of band makes IAM refuse the DeleteRole (DeleteConflict), and that role alone is
/// then listed, emptied and deleted. (When IAM still refuses after that, the delete is retried:
/// see `tests/mocked.rs`.)
#[tokio::test(flavor = "multi_thread")]
async fn a_role_is_emptied_of_what_the_stack_declares_then_of_what_iam_still_holds() {
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
    // Plain destroy: each role's declared policy goes by name; the extra one is found once
    // IAM refuses to delete its role.
    w.behind_proxy(20);
    w.destroy();
    let calls = w.proxy_calls();
    w.assert_nothing_left().await;
    let ops = &calls.operations;
    // Five roles with one inline policy each, and the one added: six.
    assert_eq!(ops.get("iam:DeleteRolePolicy"), Some(&6), "{ops:?}");
    // Only the role IAM refused is listed (by its delete, after the refusal), and deleted
    // again: the others are read with GetRole alone and deleted at the first attempt.
    assert_eq!(ops.get("iam:ListRolePolicies"), Some(&1), "{ops:?}");
    assert_eq!(ops.get("iam:GetRole"), Some(&5), "{ops:?}");
    assert_eq!(ops.get("iam:DeleteRole"), Some(&6), "{ops:?}");
    assert_eq!(ops.get("iam:GetRolePolicy"), None, "{ops:?}");
}
