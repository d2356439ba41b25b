//! Where a stack file and the files it names are read from: the disk, or the default stack built
//! into the binary.
//!
//! The built-in stack is `stacks/default.yaml` and the policy files it uses, as shipped in the
//! repository. Its files are named `<built-in>/stacks/default.yaml`,
//! `<built-in>/policies/device-policy.json`, ..., so a diagnostic about them reads
//! `<built-in>/stacks/default.yaml:12:3`, and relative paths inside it resolve as they do on
//! disk. `iotstack init` writes the same files out.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The folder the built-in files are named under.
pub const BUILT_IN_ROOT: &str = "<built-in>";

/// The built-in stack file, inside `BUILT_IN_ROOT`.
pub const DEFAULT_STACK: &str = "stacks/default.yaml";

/// `(path, text)` of each shipped file, read from the repository at build time.
macro_rules! shipped {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $path)))),*]
    };
}

/// The default stack, every policy file it uses and the stack file's JSON Schema (its first
/// line points YAML editors at it), by their paths in the repository.
pub static BUILT_IN: &[(&str, &str)] = shipped![
    "stacks/default.yaml",
    "schema/stack.schema.json",
    "policies/app-secret-policy.json",
    "policies/attach-function.json",
    "policies/cognito-iot-policy.json",
    "policies/device-policy.json",
    "policies/identity-auth-role.json",
    "policies/identity-trust-authenticated.json",
    "policies/identity-trust-unauthenticated.json",
    "policies/identity-unauth-role.json",
    "policies/iot-rule-sns-publish.json",
    "policies/iot-rule-trust.json",
    "policies/lambda-trust.json",
    "policies/presignup-logs.json",
];

/// Where a stack's files are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Disk,
    /// Files held in memory (the built-in stack), named under `BUILT_IN_ROOT`.
    Embedded(&'static [(&'static str, &'static str)]),
}

impl Source {
    /// The built-in default stack: its source and the path of its stack file.
    pub fn built_in() -> (Source, PathBuf) {
        (
            Source::Embedded(BUILT_IN),
            Path::new(BUILT_IN_ROOT).join(DEFAULT_STACK),
        )
    }

    /// The stack file `--stack` names, or the built-in one when it names none.
    pub fn of(stack: Option<&Path>) -> (Source, PathBuf) {
        match stack {
            Some(p) => (Source::Disk, p.to_path_buf()),
            None => Source::built_in(),
        }
    }

    pub fn read(self, path: &Path) -> std::io::Result<String> {
        match self {
            Source::Disk => std::fs::read_to_string(path),
            Source::Embedded(files) => embedded(files, path).map(str::to_string).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not a file of the built-in stack",
                )
            }),
        }
    }

    pub fn is_file(self, path: &Path) -> bool {
        match self {
            Source::Disk => path.is_file(),
            Source::Embedded(files) => embedded(files, path).is_some(),
        }
    }
}

/// The text of `<built-in>/<name>`.
fn embedded(files: &[(&str, &'static str)], path: &Path) -> Option<&'static str> {
    let rel = path.strip_prefix(BUILT_IN_ROOT).ok()?;
    files
        .iter()
        .find(|(name, _)| Path::new(name) == rel)
        .map(|(_, text)| *text)
}

/// Writes the built-in stack and its policy files into `dir`, keeping their relative paths
/// (`stacks/default.yaml`, `policies/*.json`), and returns what it wrote. Refuses, writing
/// nothing, when any of them exists already.
pub fn write_built_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let targets: Vec<(PathBuf, &str)> = BUILT_IN
        .iter()
        .map(|(name, text)| (under(dir, name), *text))
        .collect();
    let existing: Vec<String> = targets
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| format!("`{}`", p.display()))
        .collect();
    if !existing.is_empty() {
        let them = if existing.len() == 1 { "it" } else { "them" };
        return Err(Error::Refused(format!(
            "refusing to overwrite {}; nothing was written. Remove {them} or choose another folder.",
            existing.join(", ")
        )));
    }
    let mut written = Vec::new();
    for (path, text) in targets {
        write_new(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

/// `dir/name`, without a leading `./` when `dir` is the working directory.
fn under(dir: &Path, name: &str) -> PathBuf {
    if dir.components().all(|c| c == Component::CurDir) {
        PathBuf::from(name)
    } else {
        dir.join(name)
    }
}

/// Creates `path` (and its folder) with `text`; never replaces a file.
fn write_new(path: &Path, text: &str) -> Result<()> {
    let context = || format!("writing `{}`", path.display());
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(context(), e))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| Error::io(context(), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::{PropValue, Stack};

    #[test]
    fn the_built_in_stack_loads_and_uses_every_built_in_file() {
        let stack = Stack::open(None).unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(stack.path, Path::new("<built-in>/stacks/default.yaml"));
        let mut read: Vec<PathBuf> = vec![stack.path.clone()];
        for r in &stack.resources {
            for p in &r.props {
                match &p.value {
                    PropValue::Policy(path, _) => read.push(path.clone()),
                    PropValue::PolicyMap(items) => {
                        read.extend(items.iter().map(|(_, path, _)| path.clone()))
                    }
                    _ => {}
                }
            }
        }
        read.sort();
        read.dedup();
        let mut shipped: Vec<PathBuf> = BUILT_IN
            .iter()
            .filter(|(name, _)| !name.starts_with("schema/"))
            .map(|(name, _)| Path::new(BUILT_IN_ROOT).join(name))
            .collect();
        shipped.sort();
        assert_eq!(read, shipped);
    }

    static BROKEN: &[(&str, &str)] = &[
        (
            "stacks/s.yaml",
            "version: 1\nresources:\n  policy:\n    type: iot_policy\n    properties:\n      name: p\n      document: ../policies/p.json\n      extra: 1\n",
        ),
        ("policies/p.json", "{\n  \"Version\": 2012\n  }\n}\n"),
    ];

    #[test]
    fn built_in_files_are_named_under_the_built_in_root() {
        let diags = Stack::load_from(
            Source::Embedded(BROKEN),
            Path::new("<built-in>/stacks/s.yaml"),
        )
        .err()
        .expect("invalid");
        let shown: Vec<String> = diags.iter().map(|d| d.origin.to_string()).collect();
        assert_eq!(
            shown,
            [
                "<built-in>/stacks/s.yaml:8:7",
                "<built-in>/policies/p.json:4:1"
            ]
        );
        // Only the built-in files can be read, and nothing on disk.
        let s = Source::Embedded(BROKEN);
        assert!(s.is_file(Path::new("<built-in>/policies/p.json")));
        assert!(!s.is_file(Path::new("policies/p.json")));
        assert!(!s.is_file(Path::new("<built-in>/../Cargo.toml")));
        assert!(s.read(Path::new("Cargo.toml")).is_err());
    }

    #[test]
    fn init_writes_the_built_in_files_and_never_overwrites() {
        let dir = tempfile::tempdir().expect("temp dir");
        let written = write_built_in(dir.path()).expect("written");
        assert_eq!(written.len(), BUILT_IN.len());
        for (name, text) in BUILT_IN {
            let p = dir.path().join(name);
            assert_eq!(std::fs::read_to_string(&p).expect("written"), *text);
        }
        Stack::load(&dir.path().join(DEFAULT_STACK)).unwrap_or_else(|d| panic!("{d:?}"));

        // One file there already: refused, naming it, and nothing else written.
        let again = tempfile::tempdir().expect("temp dir");
        let taken = again.path().join("policies/device-policy.json");
        std::fs::create_dir_all(taken.parent().unwrap()).unwrap();
        std::fs::write(&taken, "mine").unwrap();
        let e = write_built_in(again.path())
            .expect_err("refused")
            .to_string();
        assert!(e.contains(&format!("`{}`", taken.display())), "{e}");
        assert!(!again.path().join(DEFAULT_STACK).exists());
        assert_eq!(std::fs::read_to_string(&taken).unwrap(), "mine");
    }

    #[test]
    fn the_working_directory_is_not_repeated() {
        assert_eq!(under(Path::new("."), "a/b"), Path::new("a/b"));
        assert_eq!(under(Path::new("out"), "a/b"), Path::new("out/a/b"));
    }
}
