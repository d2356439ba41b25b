//! Local files of a stack under `<output_dir>/<account>/<region>/<prefix>/`: device keys (mode
//! 0600), CSRs, certificates and the few identifiers AWS cannot list back. Writes are atomic
//! (temp + rename), so a run killed half-way never leaves a torn file; the temporary files such a
//! run leaves are removed by the next one.
//!
//! The folder is keyed by account and region as well as prefix: the same prefix applied in a
//! second region (or account) is another stack, and must neither reuse nor delete the first one's
//! device key. Folders of the older `<output_dir>/<prefix>/` layout are moved once, by the first
//! run in the account and region their record names (see [`open`]).
//!
//! The first folder iotstack creates on the way (`.iotstack/` by default) gets a `.gitignore`
//! that ignores everything in it, so private keys never end up in the user's repository; a
//! folder that already exists is never written into.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// What the `.gitignore` iotstack writes holds: everything in its folder is ignored.
pub const GITIGNORE: &str =
    "# Written by iotstack: local state, device private keys included, is never committed.\n*\n";

/// The stack's folder: `<output_dir>/<account>/<region>/<prefix>`.
pub fn stack_dir(output_dir: &Path, account: &str, region: &str, prefix: &str) -> PathBuf {
    // The region comes from a flag or the environment: never let it name another folder.
    let safe = |s: &str| -> String {
        let s: String = s
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if s.is_empty() {
            "_".to_string()
        } else {
            s
        }
    };
    output_dir
        .join(safe(account))
        .join(safe(region))
        .join(prefix)
}

/// Creates `dir` and the folders above it; the first one created gets iotstack's `.gitignore`.
fn create_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let first = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .last()
        .map(Path::to_path_buf);
    fs::create_dir_all(dir)?;
    if let Some(first) = first {
        let _ = fs::write(first.join(".gitignore"), GITIGNORE);
    }
    Ok(())
}

/// Readies the stack's folder at the start of a run: moves a folder of the older layout into it
/// (once), and removes the temporary files of runs that were killed. Returns the folder and what
/// the user should know.
pub fn open(
    output_dir: &Path,
    account: &str,
    region: &str,
    prefix: &str,
) -> (PathBuf, Vec<String>) {
    let dir = stack_dir(output_dir, account, region, prefix);
    let notes = move_legacy(&output_dir.join(prefix), &dir, account, region)
        .into_iter()
        .collect();
    sweep_tmp(&dir);
    (dir, notes)
}

/// Where a folder's record says its stack lives.
#[derive(Debug, PartialEq, Eq)]
enum Recorded {
    Here,
    Elsewhere,
    Unknown,
}

/// Moves `old` (`<output_dir>/<prefix>`, the layout before account and region were part of the
/// path) to `new` when the ARNs it recorded (in `applied.json` and the subscription notes) name
/// this account and region. A folder recorded elsewhere is left for a run there; one that
/// records neither is left in place with a note saying where to move it.
fn move_legacy(old: &Path, new: &Path, account: &str, region: &str) -> Option<String> {
    let entries: Vec<fs::DirEntry> = fs::read_dir(old).ok()?.flatten().collect();
    // The old layout held files only; a folder with folders in it is not one.
    if new.exists() || entries.iter().any(|e| e.path().is_dir()) {
        return None;
    }
    match recorded(old, account, region) {
        Recorded::Here => {
            let moved = new
                .parent()
                .map_or(Ok(()), create_dir)
                .and_then(|_| fs::rename(old, new));
            Some(match moved {
                Ok(()) => format!(
                    "moved this stack's local files from {} to {} (they are now kept per account and region)",
                    old.display(),
                    new.display()
                ),
                Err(e) => format!(
                    "could not move this stack's local files from {} to {}: {e}",
                    old.display(),
                    new.display()
                ),
            })
        }
        Recorded::Elsewhere => None,
        Recorded::Unknown => Some(format!(
            "{} holds local files of an older iotstack that do not say which account and region they belong to; they were left in place. If they belong to account {account}, region {region}, move the folder to {}.",
            old.display(),
            new.display()
        )),
    }
}

fn recorded(dir: &Path, account: &str, region: &str) -> Recorded {
    let mut texts = Vec::new();
    if let Ok(t) = fs::read_to_string(dir.join(APPLIED)) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&t) {
            strings(&v, &mut texts);
        }
    }
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_name()
            .to_string_lossy()
            .ends_with(".subscription-arn")
        {
            texts.extend(fs::read_to_string(e.path()).ok());
        }
    }
    let (mut accounts, mut regions) = (BTreeSet::new(), BTreeSet::new());
    for t in &texts {
        for (a, r) in arns(t) {
            accounts.insert(a);
            regions.extend(Some(r).filter(|r| !r.is_empty()));
        }
    }
    if accounts.is_empty() || regions.is_empty() {
        Recorded::Unknown
    } else if accounts.contains(account) && regions.contains(region) {
        Recorded::Here
    } else {
        Recorded::Elsewhere
    }
}

fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// (account, region) of every ARN in `text` that names a 12-digit account; region may be empty
/// (IAM).
fn arns(text: &str) -> Vec<(String, String)> {
    text.match_indices("arn:")
        .filter_map(|(i, _)| {
            let f: Vec<&str> = text[i..].splitn(6, ':').collect();
            let (region, account) = (*f.get(3)?, *f.get(4)?);
            let ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
            ok.then(|| (account.to_string(), region.to_string()))
        })
        .collect()
}

/// Whether process `pid` runs on this machine (`/proc`, else `kill -0`); when it cannot be told,
/// it is taken to run.
pub fn process_running(pid: u32) -> bool {
    if Path::new("/proc/self").exists() {
        return Path::new(&format!("/proc/{pid}")).exists();
    }
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(true)
}

/// The pid in the name of a temporary file `write` makes (`.<name>.tmp-<pid>`).
fn tmp_pid(file: &str) -> Option<u32> {
    let (head, pid) = file.rsplit_once(".tmp-")?;
    if !head.starts_with('.') {
        return None;
    }
    pid.parse().ok()
}

/// Removes the temporary files of runs that no longer run (killed between write and rename).
pub fn sweep_tmp(dir: &Path) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = tmp_pid(&name) {
            if pid != std::process::id() && !process_running(pid) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// After a destroy: the stack's folder goes, with whatever killed runs left in it (temporary
/// files, a key whose certificate was never made); then the account and region folders above it
/// when nothing else is in them. `output_dir` itself stays.
pub fn remove_after_destroy(output_dir: &Path, dir: &Path) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let running = tmp_pid(&e.file_name().to_string_lossy())
            .is_some_and(|pid| pid != std::process::id() && process_running(pid));
        if e.path().is_file() && !running {
            let _ = fs::remove_file(e.path());
        }
    }
    let mut d = Some(dir);
    while let Some(cur) = d.filter(|c| *c != output_dir && c.starts_with(output_dir)) {
        let left: Vec<String> = fs::read_dir(cur)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let ours = cur.join(".gitignore");
        if left == [".gitignore"] && fs::read_to_string(&ours).is_ok_and(|t| t == GITIGNORE) {
            let _ = fs::remove_file(ours);
        }
        match fs::remove_dir(cur) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => break,
            _ => {}
        }
        d = cur.parent();
    }
}

/// Writes `contents` atomically with the given mode.
pub fn write(dir: &Path, name: &str, contents: &[u8], mode: u32) -> std::io::Result<PathBuf> {
    create_dir(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    let target = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(contents)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &target)?;
    Ok(target)
}

/// Writes a private key or other secret: mode 0600.
pub fn write_secret(dir: &Path, name: &str, contents: &[u8]) -> std::io::Result<PathBuf> {
    write(dir, name, contents, 0o600)
}

/// Best-effort small note (an identifier); losing it only costs a slower lookup.
pub fn write_small(dir: &Path, name: &str, contents: &str) {
    let _ = write(dir, name, contents.as_bytes(), 0o644);
}

pub fn read_small(dir: &Path, name: &str) -> Option<String> {
    fs::read_to_string(dir.join(name))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

pub fn remove(dir: &Path, name: &str) {
    let _ = fs::remove_file(dir.join(name));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_0600() {
        let d = tempfile::tempdir().unwrap();
        let p = write_secret(&d.path().join("x"), "k.pem", b"secret").unwrap();
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read(&p).unwrap(), b"secret");
    }

    /// A pid no process has: above Linux's largest `pid_max`.
    const DEAD: u32 = 4_194_999;

    #[test]
    fn the_folder_is_keyed_by_account_region_and_prefix() {
        let out = Path::new(".iotstack");
        assert_eq!(
            stack_dir(out, "123456789012", "eu-west-1", "demo"),
            Path::new(".iotstack/123456789012/eu-west-1/demo")
        );
        assert_eq!(
            stack_dir(out, "123456789012", "../../etc", "demo"),
            Path::new(".iotstack/123456789012/______etc/demo")
        );
    }

    #[test]
    fn the_first_folder_created_ignores_itself_and_existing_ones_are_left_alone() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join(".iotstack");
        let dir = stack_dir(&out, "123456789012", "us-east-1", "p");
        write_small(&dir, "x", "1");
        assert_eq!(
            fs::read_to_string(out.join(".gitignore")).unwrap(),
            GITIGNORE
        );
        assert!(!dir.join(".gitignore").exists());
        // An output folder of the user's own gets nothing; the account folder made in it does.
        let other = stack_dir(d.path(), "210987654321", "us-east-1", "p");
        write_small(&other, "x", "1");
        assert!(!d.path().join(".gitignore").exists());
        assert!(d.path().join("210987654321/.gitignore").exists());
    }

    fn legacy(out: &Path, arn: &str) -> PathBuf {
        let old = out.join("p");
        fs::create_dir_all(&old).unwrap();
        fs::write(old.join("device-cert.private.key"), "KEY").unwrap();
        let applied = serde_json::json!([{"id": "t", "type": "sns_topic", "props": {"arn": arn}}]);
        fs::write(old.join(APPLIED), applied.to_string()).unwrap();
        old
    }

    #[test]
    fn an_old_folder_moves_once_to_the_account_and_region_it_records() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path();
        let old = legacy(out, "arn:aws:sns:eu-west-1:123456789012:p-iot-notification");
        // Another region's run leaves it for the run it belongs to, and says nothing.
        let (dir, notes) = open(out, "123456789012", "us-east-1", "p");
        assert!(notes.is_empty(), "{notes:?}");
        assert!(old.exists() && !dir.exists());
        let (dir, notes) = open(out, "123456789012", "eu-west-1", "p");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("moved"), "{notes:?}");
        assert!(!old.exists());
        assert_eq!(
            fs::read_to_string(dir.join("device-cert.private.key")).unwrap(),
            "KEY"
        );
        assert!(open(out, "123456789012", "eu-west-1", "p").1.is_empty());
    }

    #[test]
    fn an_old_folder_that_records_no_place_stays_with_a_note() {
        let d = tempfile::tempdir().unwrap();
        let old = legacy(d.path(), "not an arn");
        let (dir, notes) = open(d.path(), "123456789012", "eu-west-1", "p");
        assert!(old.exists() && !dir.exists());
        assert!(notes[0].contains("move the folder to"), "{notes:?}");
    }

    #[test]
    fn temporary_files_of_dead_runs_are_swept_and_destroy_takes_the_rest() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join(".iotstack");
        let dir = stack_dir(&out, "123456789012", "us-east-1", "p");
        write_secret(&dir, "k.pem", b"k").unwrap();
        let dead = format!(".k.pem.tmp-{DEAD}");
        let mine = format!(".k.pem.tmp-{}", std::process::id());
        fs::write(dir.join(&dead), "half").unwrap();
        fs::write(dir.join(&mine), "half").unwrap();
        sweep_tmp(&dir);
        assert!(!dir.join(&dead).exists());
        assert!(
            dir.join(&mine).exists(),
            "this run's own file is its business"
        );
        assert!(dir.join("k.pem").exists());

        // The stack's folder may be gone already (destroy removes it when empty).
        let gone = stack_dir(&out, "123456789012", "us-west-2", "p");
        write_small(&gone, "x", "1");
        fs::remove_file(gone.join("x")).unwrap();
        fs::remove_dir(&gone).unwrap();
        remove_after_destroy(&out, &gone);
        assert!(!out.join("123456789012/us-west-2").exists());

        let sibling = stack_dir(&out, "123456789012", "eu-west-1", "p");
        write_small(&sibling, "x", "1");
        remove_after_destroy(&out, &dir);
        assert!(!dir.exists());
        assert!(!out.join("123456789012/us-east-1").exists());
        assert!(
            sibling.join("x").exists(),
            "another region's stack is not touched"
        );
        remove_after_destroy(&out, &sibling);
        assert!(!out.join("123456789012").exists());
        assert_eq!(
            fs::read_to_string(out.join(".gitignore")).unwrap(),
            GITIGNORE
        );
    }
}

/// What the last successful apply left, resource by resource: its type and its resolved
/// properties (never secrets). Live state stays the truth; this record only lets plan find
/// resources that were removed from the stack file (or renamed) so that they are deleted, not
/// orphaned.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AppliedResource {
    pub id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub props: std::collections::BTreeMap<String, serde_json::Value>,
    /// The attributes AWS gave the resource that find it again without listing the account
    /// (its id, its ARN...), so that the next plan reads it, and what refers to it, at once.
    /// Empty in what an older iotstack recorded.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub attrs: std::collections::BTreeMap<String, String>,
}

pub const APPLIED: &str = "applied.json";

pub fn load_applied(dir: &Path) -> Vec<AppliedResource> {
    fs::read_to_string(dir.join(APPLIED))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

pub fn save_applied(dir: &Path, resources: &[AppliedResource]) {
    if let Ok(text) = serde_json::to_string_pretty(resources) {
        let _ = write(dir, APPLIED, text.as_bytes(), 0o644);
    }
}

pub fn clear_applied(dir: &Path) {
    remove(dir, APPLIED);
}
