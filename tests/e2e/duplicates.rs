//! Two pools under the stack's name that both carry its mark (a create retried after its answer
//! was lost, two runs before the lock). Before the stack's record exists, plan lists the pools
//! under the stack's names: it names the duplicate and apply deletes it. Once the record gives
//! the pools' ids, plan reads them by id and lists nothing (its cost does not grow with the
//! account): doctor, which still lists them, names a duplicate made since, and `doctor --fix`
//! deletes the one that holds nothing and refuses to delete one that holds users.

use std::collections::HashMap;

use crate::harness::World;
use crate::live::{Live, Pool};

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

async fn identity_pool_ids(aws: &Live, name: &str) -> Vec<String> {
    let pools = aws.identity_pools().await;
    let named = pools
        .iter()
        .filter(|p| p.identity_pool_name() == Some(name));
    named
        .filter_map(|p| p.identity_pool_id().map(str::to_string))
        .collect()
}

/// The default stack applied, its pools, then a duplicate of each made after them (so the
/// stack's are older and hold the app user): the duplicates' ids.
async fn applied_with_duplicates() -> (World, Live, Pool, (String, String)) {
    let (w, aws) = World::applied().await;
    let kept = aws.pool().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let duplicates = duplicate_pools(&aws, &w.prefix).await;
    (w, aws, kept, duplicates)
}

/// Forgets the stack's record, in AWS and in the local cache: what a run killed before it wrote
/// the record leaves.
async fn forget_record(w: &World, aws: &Live) {
    let record = format!("{}-iotstack-record", w.prefix.to_ascii_lowercase());
    aws.secrets
        .delete_secret()
        .secret_id(record)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    fn remove_cache(dir: &std::path::Path) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                remove_cache(&path);
            } else if path.file_name().is_some_and(|n| n == "applied.json") {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }
    remove_cache(w.dir.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_record_plan_names_the_duplicates_and_apply_deletes_the_empty_ones() {
    let (w, aws, kept, (dup_user_pool, dup_identity_pool)) = applied_with_duplicates().await;
    let (p, name) = (w.prefix.clone(), format!("{}-user-pool", w.prefix));
    forget_record(&w, &aws).await;

    // No record gives the pools' ids: plan lists the pools under the stack's names.
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

    w.apply();
    assert_eq!(user_pool_ids(&aws, &name).await, vec![kept.id.clone()]);
    let identity_name = format!("{p}-edge-identity-pool");
    assert_eq!(
        identity_pool_ids(&aws, &identity_name).await,
        vec![kept.identity_pool_id.clone()]
    );
    assert_eq!(aws.pool().await, kept, "the stack kept its pools");
    w.plan_is_clean();
    w.is_clean_and_destroys_to_nothing().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicates_made_since_the_record_are_found_by_doctor_and_only_the_empty_ones_deleted() {
    let (w, aws, kept, (dup_user_pool, dup_identity_pool)) = applied_with_duplicates().await;
    let (p, name) = (w.prefix.clone(), format!("{}-user-pool", w.prefix));

    // Plan reads the recorded pools by id: a pool made out of band is not its concern.
    w.plan_is_clean();
    let doctor = w.iotstack("doctor", &[]).code(2);
    assert!(
        doctor.stdout.contains("duplicate-pools"),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor.stdout.contains(&format!(
            "1 other user pool(s) named `{name}` carry this stack's mark: {dup_user_pool} (0 users); the stack keeps {}",
            kept.id
        )),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor.stdout.contains(&dup_identity_pool),
        "{}",
        doctor.stdout
    );

    w.iotstack("doctor", &["--fix"]).ok();
    assert_eq!(user_pool_ids(&aws, &name).await, vec![kept.id.clone()]);
    assert_eq!(aws.pool().await, kept, "the stack kept its pools");
    w.plan_is_clean();
    w.iotstack("doctor", &[]).ok();

    // A duplicate that holds a user is not deleted: the repair fails naming it, and the user
    // stays.
    let (dup_user_pool, _) = duplicate_pools(&aws, &p).await;
    aws.cognito_idp
        .admin_create_user()
        .user_pool_id(&dup_user_pool)
        .username("someone")
        .send()
        .await
        .unwrap();
    let run = w.iotstack("doctor", &["--fix"]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(
        run.all().contains(&format!(
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
    w.iotstack("doctor", &["--fix"]).ok();
    w.is_clean_and_destroys_to_nothing().await;
}
