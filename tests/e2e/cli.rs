//! Command-line behaviour: the confirmation prompt on a terminal, and a failure half-way.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::harness::{repo, write, World};

/// Runs `iotstack <args>` on a pseudo-terminal (util-linux `script`), typing `answer`.
fn on_terminal(w: &World, args: &[String], answer: &str) -> (i32, String) {
    let bin = env!("CARGO_BIN_EXE_iotstack");
    let quoted: Vec<String> = std::iter::once(bin.to_string())
        .chain(args.iter().cloned())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let template = w.cmd(&[]);
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c", &quoted.join(" "), "/dev/null"])
        .current_dir(w.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in template.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let mut child = cmd.spawn().expect("script runs");
    let mut stdin = child.stdin.take().unwrap();
    // Answer once the prompt is up.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let _ = stdin.write_all(answer.as_bytes());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_asks_on_a_terminal_and_only_yes_goes_ahead() {
    let w = World::new();
    let args = w.stack_args("apply", &[]);
    let (code, out) = on_terminal(&w, &args, "no\n");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Apply these changes? Only 'yes' will be accepted:"),
        "{out}"
    );
    assert!(
        out.contains("apply cancelled; nothing was changed"),
        "{out}"
    );
    w.assert_nothing_left().await;

    let (code, out) = on_terminal(&w, &args, "yes\n");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Apply complete: 25 created"), "{out}");
    w.plan_is_clean();

    let (code, out) = on_terminal(&w, &w.stack_args("destroy", &[]), "yes\n");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Destroy these resources?"), "{out}");
    w.assert_nothing_left().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_half_way_names_resource_operation_and_aws_message_and_the_next_apply_completes()
{
    let mut w = World::new();
    let d = w.dir.path().to_path_buf();
    std::fs::create_dir_all(d.join("policies")).unwrap();
    std::fs::copy(
        repo().join("policies/iot-rule-trust.json"),
        d.join("policies/trust.json"),
    )
    .unwrap();
    let stack = |managed: &str| {
        format!(
            "version: 1\nresources:\n  topic:\n    type: sns_topic\n    properties:\n      name: ${{prefix}}-half\n  role:\n    type: iam_role\n    depends_on: [topic]\n    properties:\n      name: ${{prefix}}-half-role\n      assume_role_policy: ../policies/trust.json\n      managed_policy_arns: [{managed}]\n"
        )
    };
    w.stack = write(
        &d,
        "stacks/half.yaml",
        &stack("arn:aws:iam::123456789012:policy/does-not-exist"),
    );
    let r = w.iotstack("apply", &["--yes"]).code(1);
    r.stderr_has("creating iam_role `role`: AttachRolePolicy: NoSuchEntity");
    assert!(
        r.stderr.contains("does-not-exist"),
        "AWS's own message: {}",
        r.stderr
    );
    let json = w.iotstack("apply", &["--yes", "--output", "json"]).code(1);
    let last = json.json_lines().pop().unwrap();
    assert_eq!(last["type"], "error");
    assert_eq!(last["operation"], "AttachRolePolicy");
    assert_eq!(last["code"], "NoSuchEntity");

    // Fixed, the next apply completes what the failed one started, without duplicates.
    w.stack = write(&d, "stacks/half.yaml", &stack(""));
    w.apply();
    w.plan_is_clean();
    let attached = w
        .live()
        .await
        .iam
        .list_attached_role_policies()
        .role_name(format!("{}-half-role", w.prefix))
        .send()
        .await
        .unwrap();
    assert!(attached.attached_policies().is_empty());
    w.destroy_leaves_nothing().await;
}
