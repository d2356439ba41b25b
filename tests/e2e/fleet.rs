//! `stacks/fleet.yaml` with a small fleet (IOTSTACK_DEVICES=5): every device's thing,
//! certificate and group membership, and the device policy attached once, to the group, checked
//! through the AWS API; a clean plan; destroy leaves nothing of the prefix, thing group included.
//! And the counts the loader refuses, offline, where they are written.

use crate::harness::{emulator_get, repo, write, Run, World};

const DEVICES: usize = 5;

fn fleet(w: &World, verb: &str, extra: &[&str]) -> Run {
    fleet_of(w, DEVICES, verb, extra)
}

fn fleet_of(w: &World, devices: usize, verb: &str, extra: &[&str]) -> Run {
    let args = w.stack_args(verb, extra);
    let mut cmd = w.cmd(&args.iter().map(String::as_str).collect::<Vec<_>>());
    Run::from(
        cmd.env("IOTSTACK_DEVICES", devices.to_string())
            .output()
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_applies_in_its_group_plans_clean_and_destroys_to_nothing() {
    let mut w = World::new();
    w.stack = repo().join("stacks/fleet.yaml");
    let p = w.prefix.clone();
    fleet(&w, "apply", &["--yes"]).ok();

    let c = w.live().await;
    let group = format!("{p}-fleet");
    let g = c
        .iot
        .describe_thing_group()
        .thing_group_name(&group)
        .send()
        .await
        .unwrap();
    let group_arn = g.thing_group_arn().unwrap().to_string();
    let tags = c
        .iot
        .list_tags_for_resource()
        .resource_arn(&group_arn)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "iotstack:stack" && t.value() == Some(p.as_str())),
        "the group carries the stack mark: {tags:?}"
    );
    // The device policy is attached once, to the group, and to no certificate.
    let policy = format!("{p}-device-policy");
    let targets = c
        .iot
        .list_targets_for_policy()
        .policy_name(&policy)
        .send()
        .await
        .unwrap();
    assert_eq!(targets.targets(), std::slice::from_ref(&group_arn));

    let members = c
        .iot
        .list_things_in_thing_group()
        .thing_group_name(&group)
        .send()
        .await
        .unwrap();
    let mut members = members.things().to_vec();
    members.sort();
    let names: Vec<String> = (1..=DEVICES)
        .map(|i| format!("{p}-device-{i:03}"))
        .collect();
    assert_eq!(members, names);
    let mut certs = Vec::new();
    for name in &names {
        let principals = c
            .iot
            .list_thing_principals()
            .thing_name(name)
            .send()
            .await
            .unwrap();
        let [cert] = principals.principals() else {
            panic!("{name} has one certificate: {principals:?}");
        };
        let id = cert.rsplit('/').next().unwrap();
        let d = c
            .iot
            .describe_certificate()
            .certificate_id(id)
            .send()
            .await
            .unwrap();
        let status = d.certificate_description().and_then(|d| d.status());
        assert_eq!(status.map(|s| s.as_str()), Some("ACTIVE"), "{name}");
        let policies = c
            .iot
            .list_attached_policies()
            .target(cert)
            .send()
            .await
            .unwrap();
        assert!(
            policies.policies().is_empty(),
            "{name}'s policy comes from the group"
        );
        certs.push(cert.clone());
    }
    certs.sort();
    certs.dedup();
    assert_eq!(certs.len(), DEVICES, "a certificate per device");

    fleet(&w, "plan", &["--detailed-exitcode"]).code(0);
    fleet(&w, "destroy", &["--yes"]).ok();
    w.assert_nothing_left().await;
    let left = c.iot.list_thing_groups().send().await.unwrap();
    assert!(left.thing_groups().is_empty(), "{left:?}");
}

/// When each request of `operation` (`iot:CreateThing`...) started, seen at the proxy, in order.
fn starts(requests: &serde_json::Value, operation: &str) -> Vec<f64> {
    let mut at: Vec<f64> = requests
        .as_array()
        .expect("the proxy's requests")
        .iter()
        .filter(|r| r[0] == operation)
        .filter_map(|r| r[1].as_f64())
        .collect();
    at.sort_by(f64::total_cmp);
    at
}

/// The certificates' creates are paced at 10 per second (`aws::rate`), so 20 of them take two
/// seconds whatever the machine; the devices' group memberships, at 100 per second, do not wait
/// for them: with few slots (`--parallelism 8`), the certificates waiting for their turns leave
/// slots to the other kinds of resource, which run beside them instead of after them.
#[tokio::test(flavor = "multi_thread")]
async fn the_paced_certificates_do_not_hold_up_the_other_devices_calls() {
    let devices = 20;
    let mut w = World::new();
    w.stack = repo().join("stacks/fleet.yaml");
    w.behind_proxy(20);
    fleet_of(&w, devices, "apply", &["--yes", "--parallelism", "8"]).ok();
    let stats = emulator_get(&w.endpoint, "/__stats?requests=1");
    let creates = starts(&stats["requests"], "iot:CreateCertificateFromCsr");
    let members = starts(&stats["requests"], "iot:AddThingToThingGroup");
    let attaches = starts(&stats["requests"], "iot:AttachThingPrincipal");
    assert_eq!((creates.len(), members.len()), (devices, devices));
    assert_eq!(attaches.len(), devices);
    let last_create = creates[devices - 1];
    assert!(
        members[0] < last_create && attaches[0] < last_create,
        "the memberships ({members:?}) and the thing principals ({attaches:?}) started during the \
         certificates' creates ({creates:?})"
    );
    fleet_of(&w, devices, "destroy", &["--yes"]).ok();
    w.assert_nothing_left().await;
}

#[test]
fn a_bad_count_is_refused_offline_where_it_is_written() {
    let (w, endpoint) = World::offline();
    let text = std::fs::read_to_string(repo().join("stacks/fleet.yaml"))
        .unwrap()
        .replace(
            "count: ${devices}\n    properties:\n      name:",
            "count: -3\n    properties:\n      name:",
        );
    let policy = std::fs::read_to_string(repo().join("policies/device-policy.json")).unwrap();
    write(
        &w.dir.path().join("policies"),
        "device-policy.json",
        &policy,
    );
    let stack = write(&w.dir.path().join("stacks"), "fleet.yaml", &text);
    let line = text.lines().position(|l| l.contains("count: -3")).unwrap() + 1;
    let run = w.run(&[
        "validate",
        "--stack",
        stack.to_str().unwrap(),
        "--prefix",
        "acme",
    ]);
    let run = run.code(1);
    run.stdout_has(&format!(
        "fleet.yaml:{line}:12: error[stack-file]: `device-thing.count` must be from 1 to 10000, found -3"
    ));
    let big = std::process::Command::new(env!("CARGO_BIN_EXE_iotstack"))
        .args([
            "validate",
            "--stack",
            repo().join("stacks/fleet.yaml").to_str().unwrap(),
        ])
        .args(["--prefix", "acme"])
        .env("IOTSTACK_DEVICES", "20000")
        .output()
        .unwrap();
    let big = Run::from(big).code(1);
    big.stdout_has("IOTSTACK_DEVICES: error[stack-file]: `device-thing.count` must be from 1 to 10000, found 20000");
    endpoint.assert_no_calls("validation is offline");
}
