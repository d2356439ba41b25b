//! The stack's lock, kept in AWS beside the stack: apply, destroy and `doctor --fix` hold it, so
//! that two runs on one stack (a colleague, CI, a second terminal) never interleave their changes.
//! Plan, output and doctor without `--fix` only read, and take no lock.
//!
//! The lock is an AWS IoT thing named `<prefix>-iotstack-lock` in the stack's account and region.
//! The IoT registry documents the two guarantees a lock needs (AWS IoT API Reference):
//!
//! - CreateThing is atomic on the name: "If this call is made multiple times using the same thing
//!   name and configuration, the call will succeed. If this call is made with the same thing name
//!   but different configuration a ResourceAlreadyExistsException is thrown." Every run writes a
//!   holder id of its own into the thing's attributes, so exactly one run's CreateThing succeeds,
//!   and an SDK retry of our own request (its answer lost on the way) has the same configuration
//!   and succeeds again instead of locking us out. A successful CreateThing is therefore not
//!   read back: the lock is this run's.
//! - A thing record has a version ("To avoid unintentional changes to the information in the
//!   registry, you can pass the version information in the expectedVersion parameter of the
//!   UpdateThing and DeleteThing calls", DescribeThing), and "if the version of the record in the
//!   registry does not match the expected version specified in the request", UpdateThing and
//!   DeleteThing are "rejected with a VersionConflictException". Releasing reads the thing, checks
//!   that it still names this run, and deletes it at the version read (the read may start beside
//!   the command's last write, [`Ending::soon`]; the delete waits for the command's end). Breaking a stale lock
//!   (`--break-lock`) rewrites the holder with UpdateThing at the version the breaker saw: two
//!   breakers cannot both win, and the old holder's release sees another holder (or another
//!   version) and leaves the new lock alone.
//!
//! "DeleteThing returns successfully with no error if the deletion is successful or you specify a
//! thing that doesn't exist", so releasing twice is harmless.
//!
//! A thing without a thing type takes at most three attributes, each value at most 800 characters
//! of `[a-zA-Z0-9_.,@/:#-]` (AttributePayload; newer references also allow `=[]`). The holder is
//! kept as `holder` (a random id), `by` (`user,host,pid`, the user being the caller's ARN from STS
//! GetCallerIdentity) and `op` (`operation,unix-seconds`); other characters are escaped as `#xx`.
//! The lock is taken beside GetCallerIdentity, not after it (a round trip less for every
//! command that locks), so CreateThing writes `by` without the user, and the user is added once
//! STS answers, with an UpdateThing that merges `by` alone into the attributes ("merge:
//! Specifies whether the list of attributes provided in the AttributePayload is merged with the
//! attributes stored in the registry, instead of overwriting them", AttributePayload, AWS IoT API
//! reference). It names no version: a fresh thing's version is not documented. It never touches
//! `holder`, so at worst (the lock broken in the instant between the two calls) the breaker's
//! lock names this run's user for a while; whose lock it is stays the breaker's. Until then a
//! run refused the lock reads the user as "unknown".
//!
//! The lock is not a resource of the stack: plans never show it, destroy does not delete it as
//! one (it goes when destroy releases it, as the last step), and it carries no `iotstack:stack`
//! attribute, so nothing that looks for the stack's mark takes it for part of the stack.
//!
//! The lock is released on every way out of the command: success, error, panic, and Ctrl-C,
//! SIGTERM or SIGHUP (the command stops its work, releases, and exits 130). Only a run killed
//! outright (`kill -9`, a machine lost) leaves it; the next run then names the holder and how old
//! the lock is, and `--break-lock` takes it over.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_iot::types::AttributePayload;
use futures::FutureExt;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::aws::{Clients, Missing, OpExt};
use crate::error::{AwsError, Error, Result};

/// The name of the stack's lock thing. Reserved: a sweep of the stack's things by name must
/// skip it.
pub fn thing_name(prefix: &str) -> String {
    format!("{prefix}-iotstack-lock")
}

/// How often acquiring and releasing look again when the lock changes under them.
const ATTEMPTS: usize = 5;

/// How long the command has to stop on Ctrl-C before the lock is released for it (it is blocked
/// at a prompt, say).
const GRACE: Duration = Duration::from_secs(1);

/// Who holds (or wants) the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Unique per run: what makes CreateThing's configuration this run's own.
    pub id: String,
    /// The caller's ARN (STS GetCallerIdentity).
    pub user: String,
    pub host: String,
    pub pid: u32,
    /// `apply`, `destroy` or `doctor --fix`.
    pub operation: String,
    /// When the lock was taken, in seconds since the Unix epoch (the holder's clock).
    pub since: u64,
}

impl Holder {
    /// This run, its user not yet known (the lock is taken beside asking STS who it is).
    fn new(operation: &str) -> Holder {
        Holder {
            id: format!("{:016x}", rand::random::<u64>()),
            user: String::new(),
            host: hostname(),
            pid: std::process::id(),
            operation: operation.to_string(),
            since: now(),
        }
    }

    /// The thing's attributes for this holder: three, each within AWS's value rules.
    pub fn attributes(&self) -> HashMap<String, String> {
        HashMap::from([
            ("holder".to_string(), escape(&self.id, 64)),
            ("by".to_string(), self.by()),
            (
                "op".to_string(),
                format!("{},{}", escape(&self.operation, 60), self.since),
            ),
        ])
    }

    /// The `by` attribute: `user,host,pid`, escaped.
    fn by(&self) -> String {
        format!(
            "{},{},{}",
            escape(&self.user, 500),
            escape(&self.host, 200),
            self.pid
        )
    }

    /// The holder a lock thing's attributes name; what is missing reads as "unknown".
    pub fn from_attributes(attrs: &HashMap<String, String>) -> Holder {
        let get = |k: &str| attrs.get(k).map(String::as_str).unwrap_or("");
        let mut by = get("by").splitn(3, ',');
        let mut op = get("op").splitn(2, ',');
        let text = |s: Option<&str>| {
            Some(unescape(s.unwrap_or("")))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "unknown".to_string())
        };
        Holder {
            id: unescape(get("holder")),
            user: text(by.next()),
            host: text(by.next()),
            pid: by.next().and_then(|p| p.parse().ok()).unwrap_or(0),
            operation: text(op.next()),
            since: op.next().and_then(|t| t.parse().ok()).unwrap_or(0),
        }
    }

    /// "apply by arn:... on host build-7 (pid 4242), started 3 minutes ago"
    pub fn describe(&self, now: u64) -> String {
        let started = if self.since == 0 {
            "at an unknown time".to_string()
        } else {
            format!("{} ago", age(now.saturating_sub(self.since)))
        };
        format!(
            "{} by {} on host {} (pid {}), started {started}",
            self.operation, self.user, self.host, self.pid
        )
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// "40 seconds", "1 minute", "3 hours", "2 days".
pub fn age(secs: u64) -> String {
    let (n, unit) = match secs {
        0..=119 => (secs, "second"),
        120..=7199 => (secs / 60, "minute"),
        7200..=172_799 => (secs / 3600, "hour"),
        _ => (secs / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// This machine's name, as well as it can be found without asking the OS through FFI.
pub fn hostname() -> String {
    let from_file = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    from_file("/proc/sys/kernel/hostname")
        .or_else(|| from_file("/etc/hostname"))
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| {
            std::process::Command::new("hostname")
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Kept as they are in an attribute value; every other byte (`,` and `#` included) is `#xx`.
fn plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_.@/:-".contains(&b)
}

/// `s` escaped for an attribute value, cut to at most `max` characters (never inside an escape).
fn escape(s: &str, max: usize) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        let piece = if plain(b) {
            (b as char).to_string()
        } else {
            format!("#{b:02x}")
        };
        if out.len() + piece.len() > max {
            break;
        }
        out.push_str(&piece);
    }
    out
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'#', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn payload(h: &Holder) -> AttributePayload {
    AttributePayload::builder()
        .set_attributes(Some(h.attributes()))
        .merge(false)
        .build()
}

fn code_is(e: &AwsError, code: &str) -> bool {
    e.code.as_deref() == Some(code)
}

/// The lock thing's holder and version, or `None` when no one holds the lock.
async fn read(iot: &aws_sdk_iot::Client, name: &str) -> Reading {
    let out = Missing::IOT.found(
        iot.describe_thing()
            .thing_name(name)
            .send()
            .await
            .op("DescribeThing"),
    )?;
    Ok(out.map(|t| {
        let attrs = t.attributes().cloned().unwrap_or_default();
        (Holder::from_attributes(&attrs), t.version())
    }))
}

/// Ctrl-C, `kill` (SIGTERM) and a closed terminal (SIGHUP): listened for from before the lock is
/// taken, so that none of them leaves it behind.
struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl Signals {
    fn listen() -> std::io::Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
        }
    }
}

/// How a release ended.
#[derive(Debug)]
pub enum Released {
    /// The lock is gone.
    Released,
    /// Someone took the lock over with `--break-lock` while this run held it: theirs is left.
    TakenOver(Holder),
}

/// The lock of one stack, held by this run.
pub struct Lock {
    iot: aws_sdk_iot::Client,
    name: String,
    holder: Holder,
    released: tokio::sync::Mutex<bool>,
    /// The UpdateThing that adds this run's user to the lock ([`Held::name`]): the release's
    /// read waits for it, so that it reads the version that update made.
    naming: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The release's read, started ahead of it ([`Ending::soon`]).
    ahead: std::sync::Mutex<Option<tokio::task::JoinHandle<Reading>>>,
}

/// What a read of the lock thing found: its holder and version, or `None` when no one holds it.
type Reading = Result<Option<(Holder, i64)>, AwsError>;

/// A handle on the lock for the command's body: says when the end is near.
#[derive(Clone)]
pub struct Ending(Arc<Lock>);

impl Ending {
    /// The command's last write (the stack's record) is about to start: the release's read of
    /// whose lock it is starts now, beside that write, instead of after it. The lock is still
    /// this run's during the write, so the read answers as it would after it, unless another run
    /// takes the lock over with `--break-lock` in between; then its UpdateThing gives the thing
    /// a new version, and the release's DeleteThing at the version read is refused
    /// (VersionConflictException) and reads again. Only the DeleteThing must wait for the write,
    /// and it does: it is made by the release, once the command's body has ended.
    pub fn soon(&self) {
        let mut ahead = self.0.ahead.lock().expect("the lock's read ahead");
        if ahead.is_none() {
            let (iot, name) = (self.0.iot.clone(), self.0.name.clone());
            let naming = self.0.naming();
            *ahead = Some(tokio::spawn(async move {
                if let Some(naming) = naming {
                    let _ = naming.await;
                }
                read(&iot, &name).await
            }));
        }
    }
}

impl Lock {
    /// The naming update ([`Held::name`]), if it was started and nothing waits for it yet.
    fn naming(&self) -> Option<tokio::task::JoinHandle<()>> {
        self.naming.lock().expect("the lock's naming").take()
    }

    /// Releases the lock if it is still this run's; again and again is harmless.
    pub async fn release(&self) -> Result<Released, AwsError> {
        let mut done = self.released.lock().await;
        if *done {
            return Ok(Released::Released);
        }
        let r = self.release_once().await;
        if r.is_ok() {
            *done = true;
        }
        r
    }

    /// Reads whose lock it is, then deletes it at the version read. Not at the version this
    /// run took it at: a lock broken, released and taken by a third run is a new thing, whose
    /// version starts again, and deleting it by version alone would delete that run's lock.
    async fn release_once(&self) -> Result<Released, AwsError> {
        let mut ahead = self.ahead.lock().expect("the lock's read ahead").take();
        if let Some(naming) = self.naming() {
            let _ = naming.await;
        }
        for _ in 0..ATTEMPTS {
            let reading = match ahead.take() {
                Some(task) => match task.await {
                    Ok(Ok(found)) => Ok(found),
                    // A read ahead that failed (or was stopped) is made again.
                    _ => read(&self.iot, &self.name).await,
                },
                None => read(&self.iot, &self.name).await,
            };
            let Some((h, version)) = reading? else {
                return Ok(Released::Released);
            };
            if h.id != self.holder.id {
                return Ok(Released::TakenOver(h));
            }
            let r = self
                .iot
                .delete_thing()
                .thing_name(&self.name)
                .expected_version(version)
                .send()
                .await
                .op("DeleteThing");
            match r {
                // "Returns successfully with no error if [...] you specify a thing that doesn't
                // exist" (DeleteThing, AWS IoT API reference); a not-found answer means the same.
                Ok(_) => return Ok(Released::Released),
                Err(e) if Missing::IOT.is(&e) => return Ok(Released::Released),
                // Changed since it was read: look again.
                Err(e) if code_is(&e, "VersionConflictException") => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AwsError {
            operation: "DeleteThing",
            code: None,
            message: format!("the lock {} kept changing while it was released", self.name),
        })
    }
}

/// The lock, taken: [`Held::run`] runs the command's work under it.
pub struct Held {
    lock: Arc<Lock>,
    signals: Signals,
    /// The holder whose lock `--break-lock` took over, if it did.
    pub broken: Option<Holder>,
}

/// Takes the lock of stack `prefix` in `region` for `operation` (`apply`, `destroy`,
/// `doctor --fix`). When another run holds it, fails with a message naming that run, unless
/// `break_lock`: then takes it over. Needs no account id: it may run beside the call that finds
/// it; [`Held::name`] adds the user once that call has answered.
pub async fn acquire(
    clients: &Clients,
    prefix: &str,
    region: &str,
    operation: &str,
    break_lock: bool,
) -> Result<Held> {
    // Listen first: from here on, Ctrl-C releases the lock instead of leaving it.
    let signals = Signals::listen().map_err(|e| Error::io("listening for Ctrl-C", e))?;
    let iot = clients.iot.clone();
    let name = thing_name(prefix);
    let aws = |source: AwsError| Error::Resource {
        action: "locking",
        resource: format!("the stack (IoT thing {name})"),
        source: source.into(),
    };
    let me = Holder::new(operation);
    let mut broken = None;
    for _ in 0..ATTEMPTS {
        let created = iot
            .create_thing()
            .thing_name(&name)
            .attribute_payload(payload(&me))
            .send()
            .await
            .op("CreateThing");
        match created {
            // Taken, without reading it back: "If this call is made multiple times using the
            // same thing name and configuration, the call will succeed. If this call is made
            // with the same thing name but different configuration a
            // ResourceAlreadyExistsException is thrown" (CreateThing, AWS IoT API reference,
            // https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThing.html). The
            // configuration carries this run's holder id, which no other run writes: a success
            // means the thing names this run, made now or by an SDK retry of this request.
            Ok(_) => return Ok(held(iot, name, me, signals, broken)),
            Err(e) if code_is(&e, "ResourceAlreadyExistsException") => {
                // Released since: try again.
                let Some((other, version)) = read(&iot, &name).await.map_err(aws)? else {
                    continue;
                };
                if other.id != me.id {
                    if !break_lock {
                        return Err(held_error(clients, prefix, region, &other, operation).await);
                    }
                    let r = iot
                        .update_thing()
                        .thing_name(&name)
                        .attribute_payload(payload(&me))
                        .expected_version(version)
                        .send()
                        .await
                        .op("UpdateThing");
                    match r {
                        Ok(_) => broken = Some(other),
                        // Changed or released since it was read: look again.
                        Err(e)
                            if code_is(&e, "VersionConflictException") || Missing::IOT.is(&e) =>
                        {
                            continue
                        }
                        Err(e) => return Err(aws(e)),
                    }
                }
            }
            Err(e) => return Err(aws(e)),
        }
        // Read back after a run held it (or its holder was rewritten by `--break-lock`): the
        // lock is this run's only if the thing names it.
        match read(&iot, &name).await.map_err(aws)? {
            Some((h, _)) if h.id == me.id => return Ok(held(iot, name, me, signals, broken)),
            Some((other, _)) if !break_lock => {
                return Err(held_error(clients, prefix, region, &other, operation).await)
            }
            _ => continue,
        }
    }
    Err(Error::Other(format!(
        "could not take the lock {name}: other runs kept taking it; try again"
    )))
}

/// The lock, taken by `holder`.
fn held(
    iot: aws_sdk_iot::Client,
    name: String,
    holder: Holder,
    signals: Signals,
    broken: Option<Holder>,
) -> Held {
    let lock = Lock {
        iot,
        name,
        holder,
        released: tokio::sync::Mutex::new(false),
        naming: std::sync::Mutex::new(None),
        ahead: std::sync::Mutex::new(None),
    };
    Held {
        lock: Arc::new(lock),
        signals,
        broken,
    }
}

/// The refusal to run while `other` holds the lock. The account is the caller's, asked beside
/// the lock and answered by now (or asked here, once).
async fn held_error(
    clients: &Clients,
    prefix: &str,
    region: &str,
    other: &Holder,
    operation: &str,
) -> Error {
    let account = match clients.caller_identity().await {
        Ok(c) => c.account().unwrap_or("unknown").to_string(),
        Err(_) => "unknown".to_string(),
    };
    let stale = if other.host == hostname()
        && other.pid != 0
        && !crate::state::process_running(other.pid)
    {
        " That process is no longer running on this host: the lock is stale."
    } else {
        ""
    };
    Error::Refused(format!(
        "the stack {prefix} is locked by another run: {holder}. Nothing was changed.{stale}\n  \
         The lock is the IoT thing {name} (account {account}, region {region}); that run \
         releases it when it ends. If it was killed or its machine is gone, take the lock over \
         with `iotstack {operation} --break-lock` (only then: two runs at once can duplicate or \
         lose resources).",
        holder = other.describe(now()),
        name = thing_name(prefix),
    ))
}

fn interrupted(signal: &str, name: &str, released: &Result<Released, AwsError>) -> String {
    let lock = match released {
        Ok(_) => "the lock is released".to_string(),
        Err(e) => format!(
            "the lock {name} could not be released ({e}): the next run must pass --break-lock"
        ),
    };
    format!(
        "interrupted by {signal}: stopped before finishing; {lock}. What was done stays done: \
         run the command again to carry on from where it stopped."
    )
}

impl Held {
    /// Adds the caller's ARN (`user`, from STS) to the lock's `by` attribute, beside the
    /// command's work (see the module's comment). A failure leaves the user "unknown" to a run
    /// refused the lock, and nothing else: the lock is this run's by its `holder`.
    pub fn name(&self, user: &str) {
        let mut me = self.lock.holder.clone();
        me.user = user.to_string();
        let by = AttributePayload::builder()
            .attributes("by", me.by())
            .merge(true)
            .build();
        let (iot, name) = (self.lock.iot.clone(), self.lock.name.clone());
        let task = tokio::spawn(async move {
            // Its answer changes nothing this run does (the doc comment above).
            let _ = iot
                .update_thing()
                .thing_name(name)
                .attribute_payload(by)
                .send()
                .await;
        });
        *self.lock.naming.lock().expect("the lock's naming") = Some(task);
    }

    /// The handle the command's body tells the end is near with.
    pub fn ending(&self) -> Ending {
        Ending(self.lock.clone())
    }

    /// Runs `body` holding the lock, and releases it however `body` ends: its result, an error,
    /// a panic, or a signal (the work is stopped, the lock released, and the command fails with
    /// [`Error::Interrupted`], exit code 130).
    pub async fn run<F>(self, body: F) -> Result<i32>
    where
        F: Future<Output = Result<i32>>,
    {
        let Held {
            lock, mut signals, ..
        } = self;
        let taken = Arc::new(AtomicBool::new(false));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let watcher = tokio::spawn({
            let (lock, taken) = (lock.clone(), taken.clone());
            async move {
                let first = signals.recv().await;
                let _ = tx.send(first);
                let again = tokio::time::timeout(GRACE, signals.recv()).await;
                if again.is_err() && !taken.load(Ordering::SeqCst) {
                    // The command did not stop: it is blocked (at a prompt, say). Release for it.
                    let released = lock.release().await;
                    eprintln!("error: {}", interrupted(first, &lock.name, &released));
                    std::process::exit(130);
                }
                if again.is_err() {
                    signals.recv().await;
                }
                eprintln!(
                    "error: interrupted again: exiting without releasing the lock {}; the next run must pass --break-lock",
                    lock.name
                );
                std::process::exit(130);
            }
        });
        let mut work = Box::pin(AssertUnwindSafe(body).catch_unwind());
        let ended = tokio::select! {
            r = &mut work => Ok(r),
            Ok(signal) = rx => {
                taken.store(true, Ordering::SeqCst);
                Err(signal)
            }
        };
        // Stop the work before releasing: dropping it aborts the AWS steps it has running.
        drop(work);
        let result = match ended {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => {
                watcher.abort();
                let _ = lock.release().await;
                std::panic::resume_unwind(panic)
            }
            Err(signal) => {
                let released = lock.release().await;
                watcher.abort();
                return Err(Error::Interrupted(interrupted(
                    signal, &lock.name, &released,
                )));
            }
        };
        // A signal from here on is caught and ignored: the release below finishes.
        watcher.abort();
        match (lock.release().await, result) {
            (Ok(Released::Released), result) => result,
            (Ok(Released::TakenOver(h)), result) => {
                eprintln!(
                    "warning: while this run held the lock, another run took it over with --break-lock: {}",
                    h.describe(now())
                );
                result
            }
            (Err(e), Ok(_)) => Err(Error::Other(format!(
                "{} finished, but its lock {} could not be released ({e}); the next run will find it held and must pass --break-lock",
                lock.holder.operation, lock.name
            ))),
            (Err(e), Err(first)) => {
                eprintln!(
                    "warning: the lock {} could not be released ({e}); the next run must pass --break-lock",
                    lock.name
                );
                Err(first)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder() -> Holder {
        Holder {
            id: "0123456789abcdef".into(),
            user: "arn:aws:sts::123456789012:assumed-role/Deploy/alice+ci@example.com".into(),
            host: "build host 7".into(),
            pid: 4242,
            operation: "doctor --fix".into(),
            since: 1_700_000_000,
        }
    }

    #[test]
    fn attributes_round_trip_and_keep_to_aws_rules() {
        let h = holder();
        let attrs = h.attributes();
        assert!(attrs.len() <= 3, "a thing without a type takes three");
        for v in attrs.values() {
            assert!(v.len() <= 800, "{v}");
            assert!(v.bytes().all(|b| plain(b) || b == b'#' || b == b','), "{v}");
        }
        assert_eq!(Holder::from_attributes(&attrs), h);
    }

    #[test]
    fn long_values_are_cut_whole() {
        let mut h = holder();
        h.user = "é".repeat(400);
        let attrs = h.attributes();
        assert!(attrs["by"].len() <= 800);
        let back = Holder::from_attributes(&attrs);
        assert!(back.user.chars().all(|c| c == 'é'), "{}", back.user);
        assert_eq!(back.host, h.host);
        assert_eq!(back.pid, h.pid);
    }

    #[test]
    fn missing_attributes_read_as_unknown() {
        let h = Holder::from_attributes(&HashMap::new());
        assert_eq!(h.user, "unknown");
        assert_eq!(h.since, 0);
        assert_eq!(
            h.describe(100),
            "unknown by unknown on host unknown (pid 0), started at an unknown time"
        );
    }

    #[test]
    fn describes_holder_and_age() {
        let h = holder();
        assert_eq!(
            h.describe(h.since + 3 * 3600 + 5),
            "doctor --fix by arn:aws:sts::123456789012:assumed-role/Deploy/alice+ci@example.com on host build host 7 (pid 4242), started 3 hours ago"
        );
        assert_eq!(age(1), "1 second");
        assert_eq!(age(90), "90 seconds");
        assert_eq!(age(600), "10 minutes");
        assert_eq!(age(3 * 86_400), "3 days");
    }
}
