//! Two pools under the stack's name that both carry its mark (a create retried after its answer
//! was lost, two runs before the lock): plan and doctor name the duplicate, apply deletes the
//! one that holds nothing and refuses to delete one that holds users.

use std::collections::HashMap;

use crate::harness::World;
use crate::live::Live;

/// A second user pool and identity pool named as the stack's, tagged with its prefix.
async fn duplicate_pools(aws: &Live, p: &str) -> (String, String) {
    let tags = HashMap::from([("iotstack:stack".to_string(), p.to_string())]);
    let user_pool = aws
        .cognito_idp
        .create_user_pool()
        .pool_name(format!("{p}-user-pool"))
        .set_user_pool_tags(Some(tags.clone()))
        .send()
        .await
        .unwrap()
        .user_pool()
        .and_then(|u| u.id())
        .unwrap()
        .to_string();
    let identity_pool = aws
        .cognito_identity
        .create_identity_pool()
        .identity_pool_name(format!("{p}-edge-identity-pool"))
        .allow_unauthenticated_identities(false)
        .set_identity_pool_tags(Some(tags))
        .send()
        .await
        .unwrap()
        .identity_pool_id()
        .to_string();
    (user_pool, identity_pool)
}

async fn user_pool_ids(aws: &Live, name: &str) -> Vec<String> {
    let mut ids: Vec<String> = aws
        .user_pools()
        .await
        .iter()
        .filter(|u| u.name() == Some(name))
        .filter_map(|u| u.id().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_pools_are_named_and_the_empty_ones_deleted_but_never_a_pool_with_users() {
    let (w, aws) = World::applied().await;
    let p = w.prefix.clone();
    let kept = aws.pool().await;
    let name = format!("{p}-user-pool");
    // Made after the stack's pools: the stack's are older and hold the app user.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (dup_user_pool, dup_identity_pool) = duplicate_pools(&aws, &p).await;

    let plan = w.plan_has_changes();
    assert!(
        plan.stdout.contains(&format!(
            "1 other user pool(s) named `{name}` carry this stack's mark: {dup_user_pool} (0 users); the stack keeps {}",
            kept.id
        )),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains(&dup_identity_pool), "{}", plan.stdout);
    let doctor = w.iotstack("doctor", &[]).code(2);
    assert!(
        doctor.stdout.contains("duplicate-pools"),
        "{}",
        doctor.stdout
    );
    assert!(doctor.stdout.contains(&dup_user_pool), "{}", doctor.stdout);

    w.apply();
    assert_eq!(user_pool_ids(&aws, &name).await, vec![kept.id.clone()]);
    assert_eq!(aws.pool().await, kept, "the stack kept its pools");
    w.plan_is_clean();

    // A duplicate that holds a user is not deleted: apply fails naming it, and the user stays.
    let (dup_user_pool, _) = duplicate_pools(&aws, &p).await;
    aws.cognito_idp
        .admin_create_user()
        .user_pool_id(&dup_user_pool)
        .username("someone")
        .send()
        .await
        .unwrap();
    let run = w.iotstack("apply", &["--yes"]).code(1);
    assert!(
        run.stderr.contains(&format!(
            "the duplicate user pool(s) {dup_user_pool} (1 users)"
        )),
        "{}",
        run.all()
    );
    let mut both = vec![kept.id.clone(), dup_user_pool.clone()];
    both.sort();
    assert_eq!(user_pool_ids(&aws, &name).await, both);
    let users = aws
        .cognito_idp
        .list_users()
        .user_pool_id(&dup_user_pool)
        .send()
        .await
        .unwrap();
    assert_eq!(users.users().len(), 1, "the user is still there");

    aws.cognito_idp
        .delete_user_pool()
        .user_pool_id(&dup_user_pool)
        .send()
        .await
        .unwrap();
    w.apply();
    w.is_clean_and_destroys_to_nothing().await;
}
