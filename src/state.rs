//! Local files of a stack under `<output_dir>/<prefix>/`: device keys (mode 0600), CSRs,
//! certificates and the few identifiers AWS cannot list back. Writes are atomic (temp + rename),
//! so a run killed half-way never leaves a torn file.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// Writes `contents` atomically with the given mode.
pub fn write(dir: &Path, name: &str, contents: &[u8], mode: u32) -> std::io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
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
