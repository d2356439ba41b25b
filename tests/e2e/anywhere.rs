//! The binary alone, in a folder with nothing else in it: the built-in default stack is used
//! when no `--stack` is given, local files go to the working directory, and `init` writes the
//! stack out for editing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{Run, World};

/// Copies the built binary, alone, into the world's (empty) folder.
fn binary_alone(w: &World) -> PathBuf {
    let dir = w.dir.path();
    assert_eq!(
        std::fs::read_dir(dir).unwrap().count(),
        0,
        "an empty folder"
    );
    let bin = dir.join("iotstack");
    std::fs::copy(env!("CARGO_BIN_EXE_iotstack"), &bin).expect("copy the binary");
    bin
}

/// `w.cmd(args)` (the world's endpoint, credentials and folder), run with the copied binary.
fn run(w: &World, bin: &Path, args: &[&str]) -> Run {
    let like = w.cmd(args);
    let mut c = Command::new(bin);
    c.args(like.get_args());
    for (k, v) in like.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.current_dir(w.dir.path())
        .stdin(std::process::Stdio::null());
    // A test thread that forks while the copy is still open for writing lends the child that
    // descriptor until the child's exec closes it: meanwhile Linux refuses to run the copy
    // (ETXTBSY). The window is short: try again.
    for _ in 0..50 {
        match c.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            r => return Run::from(r.expect("the copied binary runs")),
        }
    }
    panic!("the copied binary stayed busy (ETXTBSY) for a second")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_alone_validates_plans_applies_and_destroys_the_built_in_stack() {
    let w = World::new();
    let bin = binary_alone(&w);
    let p = w.prefix.as_str();
    let email = w.email();
    let params = ["--prefix", p, "--email", &email, "--ip", "203.0.113.7"];

    let r = run(&w, &bin, &["validate"]).ok();
    r.stdout_has("valid: <built-in>/stacks/default.yaml: no problems found");
    let r = run(&w, &bin, &[&["plan"], &params[..]].concat()).ok();
    r.stdout_has("Plan: 25 to create, 0 to update, 0 to replace, 2 unchanged.");
    // Nothing is written by validate and plan.
    assert_eq!(std::fs::read_dir(w.dir.path()).unwrap().count(), 1);

    let r = run(&w, &bin, &[&["apply", "--yes"], &params[..]].concat()).ok();
    r.stdout_has("Apply complete: 25 created");
    // A relative `output_dir` is relative to the working directory.
    assert!(w.state_dir().join("device-cert.private.key").is_file());
    let r = run(
        &w,
        &bin,
        &[&["plan", "--detailed-exitcode"], &params[..]].concat(),
    )
    .ok();
    assert!(r.stdout.contains("No changes."), "{}", r.stdout);

    run(&w, &bin, &["destroy", "--yes", "--prefix", p]).ok();
    w.assert_nothing_left().await;
}

#[test]
fn init_writes_a_stack_that_validates_and_never_overwrites() {
    let (w, ep) = World::offline();
    let bin = binary_alone(&w);

    let r = run(&w, &bin, &["init"]).ok();
    r.stdout_has("wrote stacks/default.yaml\n");
    r.stdout_has("wrote policies/device-policy.json\n");
    let stack = w.dir.path().join("stacks/default.yaml");
    let written = std::fs::read_to_string(&stack).unwrap();
    let r = run(&w, &bin, &["validate", "--stack", "stacks/default.yaml"]).ok();
    r.stdout_has("valid: stacks/default.yaml: no problems found");

    // Again: refused, naming the files, and nothing changed.
    std::fs::write(&stack, format!("{written}\n# edited\n")).unwrap();
    let r = run(&w, &bin, &["init"]).code(1);
    for named in ["stacks/default.yaml", "policies/device-policy.json"] {
        assert!(r.stderr.contains(&format!("`{named}`")), "{}", r.stderr);
    }
    assert!(r.stderr.contains("refusing to overwrite"), "{}", r.stderr);
    assert!(std::fs::read_to_string(&stack)
        .unwrap()
        .ends_with("# edited\n"));

    // Into another folder; the copy, not the built-in stack, is what `--stack` reads.
    run(&w, &bin, &["init", "copy"]).ok();
    let copy = w.dir.path().join("copy/stacks/default.yaml");
    let text = std::fs::read_to_string(&copy).unwrap();
    std::fs::write(&copy, text.replace("version: 1", "version: 1\nversoin: 1")).unwrap();
    let r = run(
        &w,
        &bin,
        &["validate", "--stack", "copy/stacks/default.yaml"],
    )
    .code(1);
    r.stdout_has("copy/stacks/default.yaml:12:1: error[stack-file]: unknown key `versoin`");
    ep.assert_no_calls("init and validate make no AWS call");
}
