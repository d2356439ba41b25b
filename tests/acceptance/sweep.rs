//! The sweeper: removes what runs of this suite left in the account and region, e.g. after a
//! run was killed or its network went away before it could destroy its stack. It finds every
//! stack of the suite through the names and tags of what exists (`inventory`), and runs
//! `iotstack destroy --prefix P --yes` for each one whose run started at least
//! `IOTSTACK_ACCEPTANCE_SWEEP_HOURS` ago (the start is in the prefix); younger stacks belong to
//! runs that may still be going, and are left alone.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::binary::Iotstack;
use crate::settings::Settings;
use crate::{block_on, connect, eventually, inventory, prefix, Account};

pub fn run(s: &Settings) {
    block_on(sweep(s));
}

async fn sweep(s: &Settings) {
    let Account { aws, region, .. } = connect(s).await;
    let found = inventory::all(&aws)
        .await
        .unwrap_or_else(|e| panic!("listing what is left: {e}"));
    let mut stacks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in found {
        stacks
            .entry(f.stack.clone())
            .or_default()
            .push(f.to_string());
    }
    if stacks.is_empty() {
        println!("  nothing of this suite is left in {region}");
        return;
    }

    let min_age = Duration::from_secs(s.sweep_after_hours * 3600);
    let now = SystemTime::now();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("acceptance-sweep");
    std::fs::create_dir_all(&dir).expect("a working folder");
    let bin = Iotstack {
        dir: dir.clone(),
        region: region.clone(),
        profile: s.profile.clone(),
    };
    let mut swept = Vec::new();
    let mut failed = Vec::new();
    for (p, what) in &stacks {
        let age = prefix::started(p)
            .and_then(|t| now.duration_since(t).ok())
            .unwrap_or_default();
        let age_text = format!("{}h{:02}m", age.as_secs() / 3600, age.as_secs() / 60 % 60);
        if age < min_age {
            println!(
                "  {p}: started {age_text} ago, younger than {}h: left to its run ({} resources)",
                s.sweep_after_hours,
                what.len()
            );
            continue;
        }
        println!(
            "\n== {p}: started {age_text} ago; left: {}",
            what.join(", ")
        );
        match bin.run_shown(&["destroy", "--prefix", p, "--yes"]) {
            0 => swept.push(p.clone()),
            code => {
                println!("  destroying {p} failed (exit {code})");
                failed.push(p.clone());
            }
        }
    }

    if !swept.is_empty() {
        // Listings lag behind deletes (see lifecycle.rs).
        let (swept, aws) = (&swept, &aws);
        eventually(
            "the swept stacks are gone",
            &[15, 30, 60, 90, 120],
            || async move {
                let left: Vec<String> = inventory::all(aws)
                    .await?
                    .into_iter()
                    .filter(|f| swept.contains(&f.stack))
                    .map(|f| f.to_string())
                    .collect();
                if left.is_empty() {
                    Ok(())
                } else {
                    Err(format!("{} left: {}", left.len(), left.join(", ")))
                }
            },
        )
        .await
        .unwrap_or_else(|e| failed.push(e));
        println!("\n  swept: {}", swept.join(", "));
        println!(
            "  Lambda's log groups stay (iotstack does not manage them); remove any that exist with\n    {}",
            swept
                .iter()
                .map(|p| format!(
                    "aws logs delete-log-group --region {region} --log-group-name /aws/lambda/{p}-attach-iot-policy"
                ))
                .collect::<Vec<_>>()
                .join("\n    ")
        );
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        failed.is_empty(),
        "the sweeper could not remove: {}",
        failed.join("; ")
    );
}
