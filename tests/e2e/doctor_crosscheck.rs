//! doctor asks AWS's own evaluators beside its offline verdict: IoT TestAuthorization for the
//! identity's and the certificate's IoT policies, IAM SimulatePrincipalPolicy for the
//! authenticated role. Where the endpoint cannot answer (the local emulator implements neither
//! call) doctor says so and stands by its own verdict; `--offline-only` does not ask at all.

use serde_json::Value;

use crate::harness::World;

/// The evidence lines of the check `id` in a JSON report.
fn evidence(report: &Value, id: &str) -> Vec<String> {
    let c = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"));
    assert_eq!(c["status"], "pass", "{c:#}");
    c["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_says_what_aws_answered_or_why_it_could_not_ask() {
    let (w, aws) = World::applied().await;
    let (_pool, identity) = aws.signed_in().await;
    w.apply();
    let asked = w
        .iotstack(
            "doctor",
            &["--identity-id", &identity, "--output", "json", "--verbose"],
        )
        .code(0);
    let report = asked.json();
    let access = [
        "access-connect",
        "access-publish",
        "access-subscribe",
        "access-receive",
    ];
    for id in access.iter().chain(&["device-policy-access"]) {
        let lines = evidence(&report, id);
        let aws_lines: Vec<&String> = lines.iter().filter(|l| l.starts_with("AWS's ")).collect();
        let named = |api: &str| {
            aws_lines
                .iter()
                .any(|l| l.starts_with(&format!("AWS's {api} ")))
        };
        assert!(named("TestAuthorization"), "{id}: {lines:#?}");
        if access.contains(id) {
            assert!(named("SimulatePrincipalPolicy"), "{id}: {lines:#?}");
        }
        for l in aws_lines {
            assert!(
                l.contains(" agrees on ") || l.contains(" could not be asked "),
                "{id}: {l}"
            );
        }
    }

    let offline = w
        .iotstack(
            "doctor",
            &[
                "--identity-id",
                &identity,
                "--output",
                "json",
                "--verbose",
                "--offline-only",
            ],
        )
        .code(0);
    assert!(
        !offline.stdout.contains("AWS's "),
        "nothing asked: {}",
        offline.stdout
    );
    // `--verbose` counts the AWS operations: the evaluators were asked, then not.
    let ops = |stderr: &str| -> usize {
        let line = stderr
            .lines()
            .find(|l| l.ends_with(" AWS operations"))
            .unwrap_or_else(|| panic!("no count in {stderr}"));
        line.split(' ').next().unwrap().parse().unwrap()
    };
    assert!(
        ops(&offline.stderr) < ops(&asked.stderr),
        "{}\n{}",
        asked.stderr,
        offline.stderr
    );
    w.destroy();
}
