//! `iotstack validate`: the stack file, parameters, derived names and a lint of every policy,
//! with file, line and column, and never an AWS call (nor any AWS configuration).

use serde_json::Value;

use crate::harness::{edited_stack, repo, write, Run, World};

/// `iotstack validate <args>` from the repository root (so files print as relative paths), with
/// no AWS credentials, region or configuration at all; asserts that no AWS call was made.
fn validate(args: &[&str]) -> Run {
    let (w, ep) = World::offline();
    let run = w
        .cmd(&[&["validate"], args].concat())
        .current_dir(repo())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_REGION")
        .env("AWS_CONFIG_FILE", w.dir.path().join("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            w.dir.path().join("no-credentials"),
        )
        .output()
        .expect("the binary runs");
    ep.assert_no_calls("validate may make no AWS call");
    Run::from(run)
}

/// The default stack with `edit` applied, in the world's folder beside a copy of the shipped
/// policies (a stack reads files only from its own folder); returns the stack's path.
fn default_stack_edited(w: &World, edit: impl Fn(String) -> String) -> String {
    edited_stack(w, edit).display().to_string()
}

/// `(rule, file, line, column, severity)` of every finding of a JSON report.
fn findings(doc: &Value) -> Vec<(String, String, u64, u64, String)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["file"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["column"].as_u64().unwrap_or(0),
                f["severity"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn f(rule: &str, file: &str, line: u64, col: u64, sev: &str) -> (String, String, u64, u64, String) {
    (
        rule.into(),
        format!("tests/fixtures/seeds/policies/{file}"),
        line,
        col,
        sev.into(),
    )
}

#[test]
fn the_default_stack_is_clean() {
    // With no --stack, the built-in copy of stacks/default.yaml.
    let r = validate(&[]).ok();
    r.stdout_has("valid: <built-in>/stacks/default.yaml: no problems found");
    let r = validate(&[
        "--stack",
        "stacks/default.yaml",
        "--prefix",
        "acme-dev",
        "--email",
        "ops@example.com",
        "--ip",
        "203.0.113.0/24",
        "--output",
        "json",
        "--strict",
    ])
    .ok();
    let doc = r.json();
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["findings"], serde_json::json!([]));
    assert_eq!(
        doc["summary"],
        serde_json::json!({"errors": 0, "warnings": 0})
    );
}

#[test]
fn seed_device_policy_allowing_everything() {
    let r = validate(&["--stack", "tests/fixtures/seeds/device-allow-all.yaml"]).code(1);
    r.stdout_has("tests/fixtures/seeds/policies/device-allow-all.json:6:17: error[iot-wildcard-action]: Action \"iot:*\" grants every AWS IoT action");
    r.stdout_has("(resource `device-policy`)");
    let r = validate(&[
        "--stack",
        "tests/fixtures/seeds/device-allow-all.yaml",
        "--output",
        "json",
    ])
    .code(1);
    assert_eq!(
        findings(&r.json()),
        vec![
            f(
                "iot-wildcard-action",
                "device-allow-all.json",
                6,
                17,
                "error"
            ),
            f(
                "iot-wildcard-resource",
                "device-allow-all.json",
                7,
                19,
                "error"
            ),
        ]
    );
}

#[test]
fn seed_authenticated_role_attaching_policies_without_receive() {
    let r = validate(&[
        "--stack",
        "tests/fixtures/seeds/auth-role-self-attach.yaml",
        "--output",
        "json",
    ])
    .code(1);
    let doc = r.json();
    assert_eq!(
        findings(&doc),
        vec![
            f(
                "subscribe-without-receive",
                "auth-role-self-attach.json",
                9,
                9,
                "error"
            ),
            f(
                "identity-attach-policy",
                "auth-role-self-attach.json",
                10,
                9,
                "error"
            ),
            f(
                "iot-wildcard-resource",
                "auth-role-self-attach.json",
                12,
                19,
                "warning"
            ),
        ]
    );
    // The role is an identity pool role because its trust policy says so.
    for finding in doc["findings"].as_array().unwrap() {
        assert_eq!(finding["resource"], "auth-role");
        assert_eq!(finding["property"], "inline_policies.iot");
    }
}

#[test]
fn seed_topic_mistakes() {
    // `topic/` for Subscribe never matches: an error.
    let r = validate(&[
        "--stack",
        "tests/fixtures/seeds/subscribe-on-topic.yaml",
        "--output",
        "json",
    ])
    .code(1);
    assert_eq!(
        findings(&r.json()),
        vec![f(
            "resource-type-mismatch",
            "subscribe-on-topic.json",
            17,
            19,
            "error"
        )]
    );

    // `${iot:ClientId}` without a Connect restriction, and MQTT `+`/`#`: warnings, which fail
    // only with --strict.
    for (stack, expected) in [
        (
            "client-id-topic-filter",
            vec![
                f(
                    "unscoped-client-id-variable",
                    "client-id-topic-filter.json",
                    12,
                    19,
                    "warning",
                ),
                f(
                    "unscoped-client-id-variable",
                    "client-id-topic-filter.json",
                    17,
                    19,
                    "warning",
                ),
            ],
        ),
        (
            "mqtt-wildcards",
            vec![
                f(
                    "mqtt-wildcard-in-resource",
                    "mqtt-wildcards.json",
                    12,
                    19,
                    "warning",
                ),
                f(
                    "mqtt-wildcard-in-resource",
                    "mqtt-wildcards.json",
                    17,
                    19,
                    "warning",
                ),
            ],
        ),
    ] {
        let path = format!("tests/fixtures/seeds/{stack}.yaml");
        let r = validate(&["--stack", &path]).ok();
        assert!(r.stdout.contains("0 errors, 2 warnings"), "{}", r.stdout);
        let r = validate(&["--stack", &path, "--strict"]).code(1);
        assert!(r.stdout.contains("--strict: warnings fail"), "{}", r.stdout);
        let r = validate(&["--stack", &path, "--strict", "--output", "json"]).code(1);
        let doc = r.json();
        assert_eq!(doc["valid"], false);
        assert_eq!(findings(&doc), expected);
    }
}

#[test]
fn json_report_shape() {
    let r = validate(&[
        "--stack",
        "tests/fixtures/seeds/mqtt-wildcards.yaml",
        "--prefix",
        "acme",
        "--output",
        "json",
    ])
    .ok();
    let doc = r.json();
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["stack"], "tests/fixtures/seeds/mqtt-wildcards.yaml");
    assert_eq!(doc["valid"], true);
    assert_eq!(
        doc["summary"],
        serde_json::json!({"errors": 0, "warnings": 2})
    );
    let first = &doc["findings"][0];
    let mut keys: Vec<&str> = first
        .as_object()
        .expect("a finding is an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            "column", "file", "flag", "hint", "line", "message", "property", "resource", "rule",
            "severity"
        ]
    );
    assert_eq!(first["resource"], "device-policy");
    assert_eq!(first["property"], "document");
    // Templates are rendered with the given prefix; policy variables pass through.
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("topic/acme/devices/+/telemetry"),
        "{first}"
    );
}

#[test]
fn prefix_making_a_name_too_long_is_reported_with_the_flag() {
    let long = format!("a{}", "b".repeat(31));
    let r = validate(&["--prefix", &long]).code(1);
    r.stdout_has(
        "--prefix: error[resource-name]: the name of `presignup-role` (iam_role) is invalid",
    );
    let r = validate(&["--prefix", &long, "--output", "json"]).code(1);
    let doc = r.json();
    let named: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "resource-name")
        .collect();
    assert!(!named.is_empty(), "{doc}");
    assert!(named
        .iter()
        .all(|f| f["flag"] == "--prefix" && f["file"].is_null()));
    // Every problem at once: a wrong --ip does not hide the name check.
    let r = validate(&["--prefix", &long, "--ip", "203.0.113.7/24"]).code(1);
    assert!(r.stdout.contains("--ip: error[parameter]"), "{}", r.stdout);
    r.stdout_has("--prefix: error[resource-name]");

    // Bad parameters and a broken stack file are findings too, with the flag or file:line:col.
    let r = validate(&["--prefix", "Bad_Prefix", "--ip", "300.1.2.3"]).code(1);
    r.stdout_has("--prefix: error[parameter]");
    assert!(r.stdout.contains("--ip: error[parameter]"), "{}", r.stdout);
    let (w, _) = World::offline();
    let stack = write(
        w.dir.path(),
        "bad.yaml",
        "version: 1\nresources:\n  p:\n    type: iot_policy\n    properties:\n      name: x\n      documnet: a.json\n",
    );
    let r = validate(&["--stack", &stack.display().to_string(), "--output", "json"]).code(1);
    let doc = r.json();
    let all = doc["findings"].as_array().unwrap();
    assert!(all.iter().all(|f| f["rule"] == "stack-file"), "{doc}");
    assert!(
        all.iter()
            .any(|f| f["line"] == 7 && f["message"].as_str().unwrap().contains("documnet")),
        "{doc}"
    );
}

#[test]
fn the_seed_self_attach_opt_in_is_reported() {
    // The README's opt-in: the seed's policy as an extra inline policy of the authenticated role.
    let (w, _) = World::offline();
    let stack = default_stack_edited(&w, |t| {
        t.replace(
            "        iot-and-secret: ",
            "        seed-self-attach: ../policies/seed-self-attach.json\n        iot-and-secret: ",
        )
    });
    let r = validate(&["--stack", &stack, "--output", "json"]).code(1);
    let doc = r.json();
    let all = doc["findings"].as_array().unwrap();
    assert_eq!(all.len(), 1, "{doc}");
    let finding = &all[0];
    assert_eq!(finding["rule"], "identity-attach-policy");
    assert_eq!(finding["resource"], "auth-role");
    assert_eq!(finding["property"], "inline_policies.seed-self-attach");
    assert_eq!(
        finding["file"],
        w.dir
            .path()
            .join("policies/seed-self-attach.json")
            .display()
            .to_string()
            .as_str()
    );
    assert_eq!(
        (finding["line"].as_u64(), finding["column"].as_u64()),
        (Some(7), Some(17))
    );
    // The default stack does not use it.
    let default = std::fs::read_to_string(repo().join("stacks/default.yaml")).unwrap();
    assert!(!default.contains("seed-self-attach"));
}

#[test]
fn the_seed_fixtures_hold_the_shipped_policies() {
    // A stack reads files only from its own folder, so the seed stacks keep copies of the
    // shipped policies they use: the same text.
    for name in ["seed-self-attach.json", "identity-trust-authenticated.json"] {
        let read = |dir: &str| std::fs::read_to_string(repo().join(dir).join(name)).unwrap();
        assert_eq!(
            read("tests/fixtures/seeds/policies"),
            read("policies"),
            "tests/fixtures/seeds/policies/{name} differs from policies/{name}"
        );
    }
}

#[test]
fn the_seed_self_attach_as_an_explicit_opt_in_is_a_warning() {
    // `settings.allow_identity_self_attach: true` plus the seed's policy in the authenticated
    // role: warnings (the opt-in itself, and the grant), which fail only with --strict.
    let stack = "tests/fixtures/seeds/self-attach-opt-in.yaml";
    let r = validate(&["--stack", stack]).ok();
    r.stdout_has("tests/fixtures/seeds/self-attach-opt-in.yaml:6:31: warning[self-attach-opt-in]: the stack opts in");
    r.stdout_has("policies/seed-self-attach.json:7:17: warning[identity-attach-policy]: the identity pool role is granted iot:AttachPolicy");
    assert!(r.stdout.contains("0 errors, 2 warnings"), "{}", r.stdout);
    let r = validate(&["--stack", stack, "--strict"]).code(1);
    assert!(r.stdout.contains("--strict: warnings fail"), "{}", r.stdout);
    let r = validate(&["--stack", stack, "--strict", "--output", "json"]).code(1);
    let doc = r.json();
    assert_eq!(doc["valid"], false);
    assert_eq!(
        findings(&doc),
        vec![
            (
                "self-attach-opt-in".to_string(),
                stack.to_string(),
                6,
                31,
                "warning".to_string()
            ),
            f(
                "identity-attach-policy",
                "seed-self-attach.json",
                7,
                17,
                "warning"
            ),
        ]
    );
    let grant = &doc["findings"][1];
    assert_eq!(grant["resource"], "auth-role");
    assert_eq!(grant["property"], "inline_policies.seed-self-attach");
    let message = grant["message"].as_str().unwrap();
    assert!(
        message.contains("the stack opts in")
            && message
                .contains("any signed-in identity can attach any AWS IoT policy to any target"),
        "{message}"
    );

    // The setting is reported even when no policy grants iot:AttachPolicy.
    let (w, _) = World::offline();
    let stack = default_stack_edited(&w, |t| {
        t.replace(
            "settings:\n",
            "settings:\n  allow_identity_self_attach: true\n",
        )
    });
    let r = validate(&["--stack", &stack, "--output", "json"]).ok();
    let doc = r.json();
    let all = doc["findings"].as_array().unwrap();
    assert_eq!(all.len(), 1, "{doc}");
    assert_eq!(all[0]["rule"], "self-attach-opt-in");
    assert_eq!(all[0]["severity"], "warning");
    assert_eq!(all[0]["file"], stack.as_str());
    assert_eq!(
        (all[0]["line"].as_u64(), all[0]["column"].as_u64()),
        (Some(21), Some(31))
    );
    validate(&["--stack", &stack, "--strict"]).code(1);
}
