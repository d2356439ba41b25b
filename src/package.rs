//! Lambda code packaging: a built-in handler shipped inside the binary (`builtin:<name>`) or a
//! Python file, zipped deterministically so the SHA-256 that Lambda reports compares equal when
//! nothing changed. Used by the stack (to know the code's hash offline) and by the Lambda kind
//! (to upload it).

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use base64::Engine;
use sha2::{Digest, Sha256};

/// Handlers shipped inside iotstack: name -> Python source.
pub static BUILTINS: &[(&str, &str)] = &[
    ("presignup", include_str!("functions/presignup.py")),
    ("attach_policy", include_str!("functions/attach_policy.py")),
];

/// The prefix of a built-in source: `builtin:presignup`.
pub const BUILTIN_PREFIX: &str = "builtin:";

pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// `builtin:presignup, builtin:attach_policy`: for hints.
pub fn builtin_names() -> String {
    BUILTINS
        .iter()
        .map(|(n, _)| format!("{BUILTIN_PREFIX}{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Zips a function source: `builtin:<name>` or a path. Returns the zip and its SHA-256 in the
/// base64 form Lambda reports as `CodeSha256`.
///
/// A run packages each source once: the plan resolves a function several times (discovery,
/// each step of the walk, the record), and the hash it compares must be the hash of the bytes
/// it uploads, even if the file changes while the run goes on.
pub fn package(source: &str) -> Result<(Vec<u8>, String), String> {
    static PACKAGED: OnceLock<Mutex<HashMap<String, Packaged>>> = OnceLock::new();
    let packaged = PACKAGED.get_or_init(Default::default);
    if let Some(p) = packaged.lock().expect("no panic holds it").get(source) {
        return p.clone();
    }
    let p = package_now(source);
    packaged
        .lock()
        .expect("no panic holds it")
        .entry(source.to_string())
        .or_insert(p)
        .clone()
}

type Packaged = Result<(Vec<u8>, String), String>;

fn package_now(source: &str) -> Packaged {
    let (file_name, text) = match source.strip_prefix(BUILTIN_PREFIX) {
        Some(name) => (
            format!("{name}.py"),
            builtin(name)
                .ok_or_else(|| format!("no built-in function `{name}`"))?
                .to_string(),
        ),
        None => {
            let p = std::path::Path::new(source);
            let text = std::fs::read_to_string(p).map_err(|e| format!("{source}: {e}"))?;
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "handler.py".into());
            (name, text)
        }
    };
    let bytes = zip_one(&file_name, &text).map_err(|e| e.to_string())?;
    let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
    Ok((bytes, sha))
}

/// A zip of one file with fixed time and permissions: the same text gives the same bytes.
fn zip_one(file_name: &str, text: &str) -> zip::result::ZipResult<Vec<u8>> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o644);
        z.start_file(file_name, opts)?;
        z.write_all(text.as_bytes())?;
        z.finish()?;
    }
    Ok(buf.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packaging_is_deterministic() {
        let (a, sha_a) = package("builtin:presignup").unwrap();
        let (b, sha_b) = package("builtin:presignup").unwrap();
        assert_eq!(a, b);
        assert_eq!(sha_a, sha_b);
        let (_, other) = package("builtin:attach_policy").unwrap();
        assert_ne!(sha_a, other);
        assert!(package("builtin:nope").is_err());
    }

    #[test]
    fn a_file_is_packaged_once_per_run() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("handler.py");
        std::fs::write(&file, "def handler(event, context):\n    return 1\n").unwrap();
        let source = file.to_str().unwrap();
        let (first, sha) = package(source).unwrap();
        // Changed on disk mid-run: the run keeps comparing and uploading what it packaged.
        std::fs::write(&file, "def handler(event, context):\n    return 2\n").unwrap();
        assert_eq!(package(source).unwrap(), (first, sha.clone()));
        // Not a check that cannot fail: the new text does package to another hash.
        let again = package_now(source).unwrap().1;
        assert_ne!(again, sha, "the file's new text packages differently");
    }
}
