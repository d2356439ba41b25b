//! The stack's record in AWS: resources removed from the stack file or renamed are found from any
//! machine, and deleting one that holds data needs `--allow-data-loss`, after its replacement
//! exists.

use serde_json::Value;

use crate::harness::{edited_stack, entry, World};

/// The user pools named `name`: their ids.
async fn pools_named(aws: &crate::live::Live, name: &str) -> Vec<String> {
    aws.user_pools()
        .await
        .iter()
        .filter(|p| p.name() == Some(name))
        .filter_map(|p| p.id().map(str::to_string))
        .collect()
}

async fn usernames(aws: &crate::live::Live, pool_id: &str) -> Vec<String> {
    let out = aws
        .cognito_idp
        .list_users()
        .user_pool_id(pool_id)
        .send()
        .await
        .expect("ListUsers");
    out.users()
        .iter()
        .filter_map(|u| u.username().map(str::to_string))
        .collect()
}

/// The `(action, id, resource_type)` of each step an apply's JSON lines report starting.
fn started(run: &crate::harness::Run) -> Vec<(String, String)> {
    run.json_lines()
        .iter()
        .filter(|l| l["type"] == "start")
        .map(|l| {
            (
                l["action"].as_str().unwrap_or_default().to_string(),
                l["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn renaming_a_pool_with_users_is_refused_without_consent_and_the_new_pool_comes_first() {
    let (mut w, aws) = World::applied().await;
    let p = w.prefix.clone();
    let old = aws.pool().await.id;
    let user = format!("{p}-app-user");
    assert_eq!(usernames(&aws, &old).await, std::slice::from_ref(&user));

    w.stack = edited_stack(&w, |t| {
        t.replace("name: ${prefix}-user-pool", "name: ${prefix}-renamed-pool")
    });
    let plan = w.iotstack("plan", &[]).ok();
    assert!(
        plan.stdout.contains("delete") && plan.stdout.contains("1 user(s)"),
        "{}",
        plan.stdout
    );

    let refused = w.iotstack("apply", &["--yes"]).code(1);
    let why = refused.stderr.clone();
    assert!(
        why.contains("refusing to delete")
            && why.contains("user-pool (cognito_user_pool")
            && why.contains("1 user(s)")
            && why.contains("--allow-data-loss"),
        "{why}"
    );
    assert!(why.contains("Nothing was changed"), "{why}");
    assert_eq!(
        pools_named(&aws, &format!("{p}-user-pool")).await,
        std::slice::from_ref(&old)
    );
    assert!(pools_named(&aws, &format!("{p}-renamed-pool"))
        .await
        .is_empty());
    assert_eq!(
        usernames(&aws, &old).await,
        std::slice::from_ref(&user),
        "the user is kept"
    );

    let run = w
        .iotstack("apply", &["--yes", "--allow-data-loss", "--output", "json"])
        .ok();
    let steps = started(&run);
    let create = steps
        .iter()
        .position(|s| *s == ("create".to_string(), "user-pool".to_string()))
        .unwrap_or_else(|| panic!("the new pool is created: {steps:?}"));
    let delete = steps
        .iter()
        .position(|s| *s == ("delete".to_string(), "user-pool".to_string()))
        .unwrap_or_else(|| panic!("the old pool is deleted: {steps:?}"));
    assert!(create < delete, "the new pool comes first: {steps:?}");
    assert!(pools_named(&aws, &format!("{p}-user-pool"))
        .await
        .is_empty());
    let new = pools_named(&aws, &format!("{p}-renamed-pool")).await;
    assert_eq!(new.len(), 1);
    assert_eq!(usernames(&aws, &new[0]).await, [user]);
    w.plan_is_clean();
    w.destroy_leaves_nothing().await;
}

/// The default stack without its alert rule, keeping local files in another folder (as a machine
/// that never applied the stack).
fn without_rule(text: String) -> String {
    let start = text.find("  alert-rule:").expect("the rule");
    let end = start + text[start..].find("\n\n").expect("its end");
    let mut t = text.clone();
    t.replace_range(start..end + 1, "");
    t.replace("output_dir: .iotstack", "output_dir: .elsewhere")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_machine_that_never_applied_finds_what_was_removed_from_the_stack() {
    let (mut w, aws) = World::applied().await;
    let p = w.prefix.clone();
    let record = format!("{p}-iotstack-record");
    let tags = aws.secret_tags(&record).await;
    assert_eq!(tags.get("iotstack:stack"), Some(&p), "{tags:?}");
    assert_eq!(aws.topic_rules().await, [w.alert_rule()]);

    w.stack = edited_stack(&w, without_rule);
    let plan = w.iotstack("plan", &["--output", "json"]).ok();
    let doc: Value = plan.json();
    let rule = entry(&doc, "changes", "alert-rule")
        .unwrap_or_else(|| panic!("the removed rule is in the plan: {doc}"));
    assert_eq!(rule["action"], "delete", "{rule}");
    assert_eq!(doc["summary"]["delete"], 1, "{doc}");

    w.apply();
    assert!(aws.topic_rules().await.is_empty());
    w.plan_is_clean();
    w.destroy_leaves_nothing().await;
}

/// Every name in the account the default stack could have written: roles, user pools, things,
/// IoT policies and secrets.
async fn account_names(aws: &crate::live::Live) -> Vec<String> {
    let roles = aws.iam.list_roles().send().await.unwrap();
    let things = aws.iot.list_things().send().await.unwrap();
    let policies = aws.iot.list_policies().send().await.unwrap();
    let mut names: Vec<String> = roles
        .roles()
        .iter()
        .map(|r| format!("role {}", r.role_name()))
        .chain(
            things
                .things()
                .iter()
                .filter_map(|t| t.thing_name())
                .map(|n| format!("thing {n}")),
        )
        .chain(
            policies
                .policies()
                .iter()
                .filter_map(|p| p.policy_name())
                .map(|n| format!("policy {n}")),
        )
        .collect();
    names.extend(
        aws.user_pools()
            .await
            .iter()
            .filter_map(|p| p.name())
            .map(|n| format!("pool {n}")),
    );
    names.extend(
        aws.secrets()
            .await
            .iter()
            .filter_map(|s| s.name())
            .map(|n| format!("secret {n}")),
    );
    names.sort();
    names
}

/// IAM names ignore case (a role `Demo-x` is the role `demo-x`), so a stack whose prefix differs
/// from one already applied only in case is refused by plan, apply and destroy, before anything is
/// written; the first stack is untouched.
#[tokio::test(flavor = "multi_thread")]
async fn a_prefix_that_differs_only_in_case_from_an_applied_stack_is_refused() {
    let (mut w, aws) = World::applied().await;
    let lower = w.prefix.clone();
    let before = account_names(&aws).await;
    w.prefix = lower.to_uppercase();
    for (verb, extra) in [
        ("plan", &[][..]),
        ("apply", &["--yes"][..]),
        ("destroy", &["--yes"][..]),
    ] {
        let r = w.iotstack(verb, extra).code(1);
        let expect = format!(
            "the stack `{lower}` is already in this account and region, and IAM names ignore case"
        );
        assert!(r.stderr.contains(&expect), "{verb}: {}", r.stderr);
    }
    assert_eq!(
        account_names(&aws).await,
        before,
        "nothing was written or deleted"
    );
    w.prefix = lower;
    w.is_clean_and_destroys_to_nothing().await;
}
