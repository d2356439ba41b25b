//! Bad input is reported with file, line and column (or the flag), exit code 1, and no AWS call.

use crate::harness::{write, CountingEndpoint, World, IP};

/// `plan` of `stack` with the given parameters.
fn plan<'a>(stack: &'a str, prefix: &'a str, email: &'a str, ip: &'a str) -> [&'a str; 9] {
    [
        "plan", "--stack", stack, "--prefix", prefix, "--email", email, "--ip", ip,
    ]
}

#[track_caller]
fn fails_offline(w: &World, ep: &CountingEndpoint, args: &[&str], expect: &[&str]) -> String {
    let r = w.run(args).code(1);
    for e in expect {
        assert!(r.stderr.contains(e), "expected {e:?} in:\n{}", r.stderr);
    }
    ep.assert_no_calls("no AWS call may be made on bad input");
    r.stderr
}

/// Writes `stacks/<name>.yaml` in the world's folder and runs plan on it, which must fail
/// offline with each of `expect`, where `{f}` stands for the stack file's path.
#[track_caller]
fn stack_fails_offline(
    w: &World,
    ep: &CountingEndpoint,
    name: &str,
    text: &str,
    expect: &[&str],
) -> String {
    let f = write(w.dir.path(), &format!("stacks/{name}.yaml"), text)
        .display()
        .to_string();
    let e: Vec<String> = expect.iter().map(|s| s.replace("{f}", &f)).collect();
    let e: Vec<&str> = e.iter().map(String::as_str).collect();
    fails_offline(w, ep, &plan(&f, "ok", "ops@example.com", IP), &e)
}

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:${region}:${account}:client/${iot:ClientId}"}]}"#;

#[test]
fn bad_parameters_name_the_flag() {
    let (w, ep) = World::offline();
    let stack = w.stack.display().to_string();
    fails_offline(
        &w,
        &ep,
        &plan(&stack, "Bad_Prefix", "ops@example.com", IP),
        &["--prefix: error", "contains `_`"],
    );
    fails_offline(
        &w,
        &ep,
        &plan(&stack, "ok", "ops@example.com", "300.1.2.3"),
        &["--ip: error", "not an IP address or CIDR"],
    );
    fails_offline(
        &w,
        &ep,
        &plan(&stack, "ok", "ops@@example.com", IP),
        &["--email: error", "exactly one `@`"],
    );
    fails_offline(
        &w,
        &ep,
        &["apply", "--stack", &stack, "--prefix", "ok", "--yes"],
        &[
            "--email: error: missing parameter `email`",
            "IOTSTACK_EMAIL",
        ],
    );
    // Every problem is listed at once.
    // A prefix that makes a derived name too long for IAM (roles: at most 64 characters).
    let long = format!("a{}", "b".repeat(31));
    fails_offline(
        &w,
        &ep,
        &plan(&stack, &long, "ops@example.com", IP),
        &[
            "--prefix: error: the name of `presignup-role` (iam_role) is invalid",
            "at most 64",
        ],
    );
    let all = fails_offline(
        &w,
        &ep,
        &plan(&stack, "9x", "x", "nope"),
        &["3 errors found"],
    );
    assert!(all.contains("--prefix") && all.contains("--email") && all.contains("--ip"));
}

#[test]
fn environment_parameters_are_named_when_wrong() {
    let (w, ep) = World::offline();
    let stack = w.stack.display().to_string();
    let r = w
        .cmd(&[
            "plan",
            "--stack",
            &stack,
            "--email",
            "ops@example.com",
            "--ip",
            IP,
        ])
        .env("IOTSTACK_PREFIX", "no spaces")
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("IOTSTACK_PREFIX: error"), "{err}");
    ep.assert_no_calls("no AWS call may be made on bad input");
}

#[test]
fn stack_file_problems_have_file_line_and_column() {
    let (w, ep) = World::offline();
    let d = w.dir.path();
    write(d, "policies/p.json", POLICY);
    let run =
        |name: &str, text: &str, expect: &[&str]| stack_fails_offline(&w, &ep, name, text, expect);

    // Malformed YAML.
    run(
        "malformed",
        "version: 1\nresources:\n  a: [1, 2\n",
        &["{f}:4:1: error: invalid YAML", "expected ',' or ']'"],
    );
    // Unknown key, with the valid ones.
    let e = run("unknown", "version: 1\nresources:\n  t:\n    type: iot_thing\n    properties:\n      name: x\n      colour: red\n", &["{f}:7:7: error: unknown key `colour`"]);
    assert!(e.contains("valid keys: name, attributes"), "{e}");
    // Unknown type.
    run(
        "type",
        "version: 1\nresources:\n  t:\n    type: iot_thingy\n",
        &[
            "{f}:4:11: error: unknown resource type `iot_thingy`",
            "valid types:",
        ],
    );
    // A missing property.
    run(
        "missing",
        "version: 1\nresources:\n  p:\n    type: iot_policy\n    properties:\n      name: x\n",
        &["{f}:3:3: error: resource `p` (iot_policy) is missing the property `document`"],
    );
    // An undefined reference in the stack file and in a policy template.
    run(
        "undef",
        "version: 1\nresources:\n  t:\n    type: iot_thing\n    properties:\n      name: ${nope}\n",
        &["{f}:6:13: error", "undefined reference `${nope}`"],
    );
    write(d, "policies/bad-ref.json", "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"iot:Connect\", \"Resource\": \"${who}\"}]\n}\n");
    let e = run("undef-policy", "version: 1\nresources:\n  p:\n    type: iot_policy\n    properties:\n      name: x\n      document: ../policies/bad-ref.json\n", &[]);
    assert!(
        e.contains("policies/bad-ref.json:3:75: error: undefined reference `${who}`"),
        "{e}"
    );
    // A reference to a resource or attribute that does not exist.
    run("noattr", "version: 1\nresources:\n  t:\n    type: iot_thing\n    properties:\n      name: x\n  u:\n    type: iot_thing\n    properties:\n      name: ${t.colour}\n", &["{f}:10:7: error", "iot_thing has no attribute `colour`", "attributes: name, arn"]);
    // A dependency cycle.
    run("cycle", "version: 1\nresources:\n  a:\n    type: iot_thing\n    properties:\n      name: ${b.name}\n  b:\n    type: iot_thing\n    properties:\n      name: ${a.name}\n", &["{f}:3:3: error: dependency cycle: a -> b -> a"]);
    // A policy that is not valid JSON, with the position in the policy file.
    write(
        d,
        "policies/broken.json",
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n}\n",
    );
    let e = run("broken", "version: 1\nresources:\n  p:\n    type: iot_policy\n    properties:\n      name: x\n      document: ../policies/broken.json\n", &[]);
    assert!(
        e.contains("policies/broken.json:4:1: error: policy document is not valid JSON"),
        "{e}"
    );
    // A missing stack file names the flag.
    fails_offline(
        &w,
        &ep,
        &["plan", "--stack", "nope.yaml", "--prefix", "ok"],
        &["--stack: error: cannot read stack file `nope.yaml`"],
    );
}

#[test]
fn the_default_stack_validates_and_names_derive_from_the_prefix() {
    let (w, ep) = World::offline();
    // Valid input reaches AWS (the counting endpoint), proving the checks above stop earlier.
    let stack = w.stack.display().to_string();
    let r = w.run(&plan(&stack, "acme", "ops@example.com", "203.0.113.0/24"));
    assert_eq!(r.code, 1);
    assert!(ep.hits() > 0, "a valid plan talks to AWS");
}

#[test]
fn an_ip_that_restricts_nothing_is_refused_before_any_aws_call() {
    let (w, ep) = World::offline();
    let stack = w.stack.display().to_string();
    for every in ["0.0.0.0/0", "::/0"] {
        fails_offline(
            &w,
            &ep,
            &[
                "apply",
                "--stack",
                &stack,
                "--prefix",
                "ok",
                "--email",
                "ops@example.com",
                "--ip",
                every,
                "--yes",
            ],
            &["--ip: error", "restrict nothing"],
        );
    }
    // An address AWS never sees as a source is a warning, offline too.
    let r = w
        .run(&[
            "validate",
            "--stack",
            &stack,
            "--prefix",
            "ok",
            "--ip",
            "192.168.1.7",
        ])
        .ok();
    assert!(
        r.all().contains("--ip: warning") && r.all().contains("private network"),
        "{}",
        r.all()
    );
    ep.assert_no_calls("validate is offline");
}

#[test]
fn a_stack_reads_no_file_outside_its_folder() {
    let (w, ep) = World::offline();
    let d = w.dir.path();
    // A secret beside the project, reached by `..`, by its absolute path and through a link.
    let secret = write(
        d,
        "credentials",
        "[default]\naws_secret_access_key = hush\n",
    );
    write(d, "project/policies/p.json", POLICY);
    std::os::unix::fs::symlink(&secret, d.join("project/policies/link.json")).unwrap();
    let f = write(
        d,
        "project/stacks/leak.yaml",
        &format!(
            "version: 1\nresources:\n  p:\n    type: iot_policy\n    properties:\n      name: ${{prefix}}-p\n      document: ../../credentials\n  q:\n    type: iot_policy\n    properties:\n      name: ${{prefix}}-q\n      document: ../policies/link.json\n  f:\n    type: lambda_function\n    properties:\n      name: ${{prefix}}-f\n      role_arn: arn:aws:iam::123456789012:role/r\n      handler: credentials.handler\n      code: {}\n",
            secret.display()
        ),
    )
    .display()
    .to_string();
    let outside = "is outside the stack's folder";
    for verb in ["plan", "apply"] {
        let mut args = plan(&f, "ok", "ops@example.com", IP).to_vec();
        args[0] = verb;
        if verb == "apply" {
            args.push("--yes");
        }
        let e = fails_offline(
            &w,
            &ep,
            &args,
            &[
                &format!("{f}:7:17: error: `p.document`: `"),
                &format!("{f}:12:17: error: `q.document`: `"),
                &format!(
                    "{f}:19:13: error: `f.code`: `{}` {outside}",
                    secret.display()
                ),
                "3 errors found",
                "hint: a stack reads only files inside the folder of its stack file",
            ],
        );
        assert_eq!(e.matches(outside).count(), 3, "{e}");
        assert!(!e.contains("hush"), "{e}");
    }
    // The same files inside the project are read.
    let ok = write(d, "project/stacks/ok.yaml", "version: 1\nresources:\n  p:\n    type: iot_policy\n    properties:\n      name: ${prefix}-p\n      document: ../policies/p.json\n");
    let r = w
        .run(&[
            "validate",
            "--stack",
            &ok.display().to_string(),
            "--prefix",
            "ok",
        ])
        .ok();
    assert!(!r.all().contains(outside), "{}", r.all());
    ep.assert_no_calls("validate is offline");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let (w, ep) = World::offline();
    let deep_block: String = (0..2_000)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    for (name, text, at) in [
        ("flow", "[".repeat(100_000), "1:256"),
        ("sequences", format!("{}x\n", "- ".repeat(100_000)), "1:129"),
        ("mappings", deep_block, "65:65"),
    ] {
        let expect = format!(
            "{{f}}:{at}: error: invalid YAML: lists and mappings nest more than 64 levels deep"
        );
        stack_fails_offline(&w, &ep, name, &text, &[&expect]);
    }
}

#[test]
fn whole_numbers_outside_the_aws_limits_are_refused() {
    let (w, ep) = World::offline();
    stack_fails_offline(
        &w,
        &ep,
        "numbers",
        "version: 1\nresources:\n  pool:\n    type: cognito_user_pool\n    properties:\n      name: ${prefix}-pool\n      password_min_length: 4294967302\n  fn:\n    type: lambda_function\n    properties:\n      name: ${prefix}-fn\n      role_arn: arn:aws:iam::123456789012:role/r\n      code: builtin:presignup\n      handler: presignup.handler\n      timeout: 901\n",
        &[
            "{f}:7:28: error: `pool.password_min_length` must be from 6 to 99 (the AWS limit), found 4294967302",
            "{f}:15:16: error: `fn.timeout` must be from 1 to 900 (the AWS limit), found 901",
        ],
    );
}
