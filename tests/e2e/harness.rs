//! Test harness: a fresh emulator per test, the real binary and the verbs a story uses (apply,
//! plan, destroy), and AWS clients to check live state (`live`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::live::{Live, Pool};

/// The entry of `doc[list]` (a plan's `changes`, a doctor report's `checks`) whose `id` is `id`.
pub fn entry<'a>(
    doc: &'a serde_json::Value,
    list: &str,
    id: &str,
) -> Option<&'a serde_json::Value> {
    doc[list].as_array()?.iter().find(|c| c["id"] == id)
}

/// The address `--ip` restricts the app user's secret to in every test world.
pub const IP: &str = "203.0.113.7";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn default_stack() -> PathBuf {
    repo().join("stacks/default.yaml")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The emulator's Python, installed once per test run (`scripts/emulator python` installs the
/// pinned moto into a venv if it is missing).
fn emulator_python() -> &'static str {
    static PY: OnceLock<String> = OnceLock::new();
    PY.get_or_init(|| {
        let out = Command::new(repo().join("scripts/emulator"))
            .arg("python")
            .output()
            .expect("scripts/emulator runs");
        assert!(
            out.status.success(),
            "installing the emulator failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    })
}

/// The strict patches every end-to-end test runs with.
pub const STRICT: &str = "all";

/// How far the emulators' ListSecrets lags behind writes: `IOTSTACK_EMULATOR_LIST_LAG` seconds
/// (default 3, as scripts/moto_ext.py) when the strict patches in force include `list-lag`.
pub fn list_lag() -> std::time::Duration {
    let spec = std::env::var("IOTSTACK_EMULATOR_STRICT").unwrap_or_else(|_| STRICT.into());
    // Read as scripts/moto_ext.py's parse_strict reads it: left to right, a list that starts
    // with a removal starts from every patch.
    let items: Vec<String> = spec.split(',').map(|i| i.trim().to_lowercase()).collect();
    let from_all = items.first().is_some_and(|i| i.starts_with('-'));
    let on = items.iter().fold(from_all, |on, item| match item.as_str() {
        "1" | "all" | "on" | "true" | "list-lag" => true,
        "-list-lag" => false,
        _ => on,
    });
    let seconds = std::env::var("IOTSTACK_EMULATOR_LIST_LAG").ok();
    let seconds = seconds.and_then(|s| s.parse::<f64>().ok()).unwrap_or(3.0);
    std::time::Duration::from_secs_f64(if on { seconds } else { 0.0 })
}

/// `GET <emulator>/<path>` on the emulator's own endpoint: its JSON answer.
pub fn emulator_get(endpoint: &str, path: &str) -> serde_json::Value {
    let host = endpoint.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).expect("the emulator answers");
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("request sent");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer read");
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {answer}"))
}

/// `POST <emulator>/<path>` with a JSON body: the emulator's JSON answer.
pub fn emulator_post(endpoint: &str, path: &str, body: &serde_json::Value) -> serde_json::Value {
    let host = endpoint.trim_start_matches("http://");
    let body = body.to_string();
    let mut s = TcpStream::connect(host).expect("the emulator answers");
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("request sent");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer read");
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {answer}"))
}

/// moto in server mode with the project's extension, on a free loopback port; stopped on drop.
pub struct Emulator {
    child: Child,
    pub endpoint: String,
}

impl Emulator {
    pub fn start() -> Emulator {
        for _ in 0..3 {
            if let Some(emu) = Emulator::start_on(free_port()) {
                return emu;
            }
        }
        panic!("the emulator did not start; see target/emulator-logs/");
    }

    /// An emulator on `port`, if it starts there and answers as itself.
    pub fn start_on(port: u16) -> Option<Emulator> {
        let py = emulator_python();
        let log_dir = repo().join("target/emulator-logs");
        std::fs::create_dir_all(&log_dir).ok();
        let log =
            std::fs::File::create(log_dir.join(format!("moto-{port}.log"))).expect("log file");
        let child = Command::new(py)
            .arg(repo().join("scripts/moto_ext.py"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
            // AWS's documented behaviour where moto forgives (scripts/moto_ext.py, "Strict
            // mode"), unless a run asks for another set.
            .env(
                "IOTSTACK_EMULATOR_STRICT",
                std::env::var("IOTSTACK_EMULATOR_STRICT").unwrap_or_else(|_| STRICT.into()),
            )
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("the emulator starts");
        let mut emu = Emulator {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        if emu.wait_ready(port) {
            return Some(emu);
        }
        let _ = emu.child.kill();
        let _ = emu.child.wait();
        None
    }

    /// The port this emulator listens on.
    pub fn port(&self) -> u16 {
        let port = self
            .endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok());
        port.expect("the endpoint ends with its port")
    }

    /// Whether this emulator answers on `port`: the server there names this child's process.
    /// Another test's emulator may hold the port (it was free when picked, then taken before
    /// this one bound it, and this one exits): that one is not ours, and the start is retried
    /// on another port rather than run against another test's resources.
    fn wait_ready(&mut self, port: u16) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Some(pid) = server_pid(port) {
                return pid == self.child.id();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

/// The process id of the emulator answering on `port` (`GET /moto-api/iotstack/server`); 0 for
/// a server that answers without one (not an emulator of this project); `None` while nothing
/// answers.
fn server_pid(port: u16) -> Option<u32> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(b"GET /moto-api/iotstack/server HTTP/1.0\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let (_, body) = answer.split_once("\r\n\r\n")?;
    let v: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let pid = v.and_then(|v| v["pid"].as_u64()).unwrap_or(0);
    Some(u32::try_from(pid).unwrap_or(0))
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The project's latency proxy in front of an emulator: every request waits `latency_ms`, as a
/// round trip to a real region would; stopped on drop.
pub struct LatencyProxy {
    child: Child,
    pub endpoint: String,
}

impl LatencyProxy {
    pub fn start(upstream: &str, latency_ms: u32) -> LatencyProxy {
        LatencyProxy::with_args(upstream, latency_ms, &[])
    }

    /// The proxy with faults: a share `rate` of requests gets one (extra latency, 503, throttling
    /// in the protocol's shape, an answer dropped after the server carried the request out),
    /// drawn from `seed` (scripts/latency_proxy.py, "Faults").
    pub fn with_faults(upstream: &str, rate: f64, seed: u64) -> LatencyProxy {
        let (rate, seed) = (rate.to_string(), seed.to_string());
        LatencyProxy::with_args(upstream, 0, &["--faults", &rate, "--seed", &seed])
    }

    /// The proxy answering every request of `operations` (`service:Operation`, or
    /// `service:Operation=Code`) with a client error of that code (default `AccessDenied`),
    /// without forwarding it (scripts/latency_proxy.py, `--refuse`).
    pub fn refusing(upstream: &str, operations: &[&str]) -> LatencyProxy {
        LatencyProxy::with_args(upstream, 0, &["--refuse", &operations.join(",")])
    }

    fn with_args(upstream: &str, latency_ms: u32, extra: &[&str]) -> LatencyProxy {
        let mut child = Command::new(emulator_python())
            .arg(repo().join("scripts/latency_proxy.py"))
            .args([
                "--upstream",
                upstream,
                "--latency-ms",
                &latency_ms.to_string(),
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the latency proxy starts");
        let mut line = String::new();
        let out = child.stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).expect("its URL");
        LatencyProxy {
            child,
            endpoint: line.trim().to_string(),
        }
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one run of the binary did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts that stdout contains `text`.
    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Run {
        self.has("stdout", &self.stdout, text)
    }

    /// Asserts that stderr contains `text`.
    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Run {
        self.has("stderr", &self.stderr, text)
    }

    #[track_caller]
    fn has(&self, name: &str, output: &str, text: &str) -> &Run {
        assert!(output.contains(text), "{name} lacks {text:?}:\n{output}");
        self
    }

    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Asserts that `secret` (what it is: `what`) appears in neither stdout nor stderr.
    #[track_caller]
    pub fn hides(&self, secret: &str, what: &str) -> &Run {
        assert!(
            !self.all().contains(secret),
            "{what} must never be printed:\n{}",
            self.all()
        );
        self
    }

    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))
            })
            .collect()
    }
}

/// One test's world: its own emulator, working folder and prefix.
pub struct World {
    pub _proxy: Option<LatencyProxy>,
    pub _emu: Option<Emulator>,
    pub endpoint: String,
    pub dir: tempfile::TempDir,
    pub prefix: String,
    pub stack: PathBuf,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The calls the latency proxy saw: each operation with its count, the most open at once, and
/// the critical path (the longest chain of calls one after another) with its operations.
pub struct ProxyCalls {
    pub operations: std::collections::BTreeMap<String, u64>,
    pub critical_path: u64,
    pub max_in_flight: u64,
    pub chain: Vec<String>,
    /// Each request: its operation, and when it started and ended (seconds), in start order.
    pub requests: Vec<(String, f64, f64)>,
}

impl ProxyCalls {
    /// The requests of `op`, in start order.
    pub fn of(&self, op: &str) -> Vec<&(String, f64, f64)> {
        self.requests.iter().filter(|r| r.0 == op).collect()
    }

    /// When the first request of `op` started and ended; there must be one.
    pub fn first(&self, op: &str) -> (f64, f64) {
        let r = self.of(op);
        r.first()
            .map(|r| (r.1, r.2))
            .unwrap_or_else(|| panic!("no {op}: {:?}", self.operations))
    }
}

impl World {
    pub fn new() -> World {
        let emu = Emulator::start();
        let endpoint = emu.endpoint.clone();
        World::with_endpoint(Some(emu), endpoint)
    }

    /// A fresh world with the default stack applied, and its live state.
    pub async fn applied() -> (World, Live) {
        let w = World::new();
        w.apply();
        let aws = w.live().await;
        (w, aws)
    }

    /// A fresh world with the default stack applied, the app user signed in and applied again
    /// so that its identity has the IoT policy; its live state, pools and that identity's id.
    pub async fn signed_in() -> (World, Live, Pool, String) {
        let (w, aws) = World::applied().await;
        let (pool, identity) = aws.signed_in().await;
        w.apply();
        (w, aws, pool, identity)
    }

    /// A world whose emulator is reached through the latency proxy: every AWS call takes at
    /// least `latency_ms`, so a run lasts long enough to be interrupted at chosen points.
    pub fn with_latency(latency_ms: u32) -> World {
        let emu = Emulator::start();
        let proxy = LatencyProxy::start(&emu.endpoint, latency_ms);
        let endpoint = proxy.endpoint.clone();
        let mut w = World::with_endpoint(Some(emu), endpoint);
        w._proxy = Some(proxy);
        w
    }

    /// From now on, the world's calls go through the latency proxy, whose latency is long beside
    /// the emulator's own time to answer (on a busy machine), so that calls made at once overlap
    /// and a call made after another starts after it: the critical path counts round trips.
    pub fn behind_proxy(&mut self, latency_ms: u32) {
        let emu = self._emu.as_ref().expect("an emulator").endpoint.clone();
        let proxy = LatencyProxy::start(&emu, latency_ms);
        self.endpoint = proxy.endpoint.clone();
        self._proxy = Some(proxy);
    }

    /// From now on, the world's calls go through a proxy that refuses `operations` with a
    /// client error and forwards the rest ([`LatencyProxy::refusing`]); [`World::direct`] undoes it.
    pub fn refusing(&mut self, operations: &[&str]) {
        let emu = self._emu.as_ref().expect("an emulator").endpoint.clone();
        let proxy = LatencyProxy::refusing(&emu, operations);
        self.endpoint = proxy.endpoint.clone();
        self._proxy = Some(proxy);
    }

    /// From now on, the world's calls go to the emulator directly.
    pub fn direct(&mut self) {
        self.endpoint = self._emu.as_ref().expect("an emulator").endpoint.clone();
        self._proxy = None;
    }

    /// What the calls through the proxy since the last call of this were (scripts/latency_proxy.py,
    /// `/__stats`); its counters start again.
    pub fn proxy_calls(&self) -> ProxyCalls {
        let proxy = &self._proxy.as_ref().expect("the latency proxy").endpoint;
        let stats = emulator_get(proxy, "/__stats?requests=1");
        emulator_post(proxy, "/__reset", &serde_json::Value::Null);
        let operations = stats["operations"].as_object().expect("operations");
        let chain = stats["critical_path_ops"].as_array().cloned();
        ProxyCalls {
            operations: operations
                .iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect(),
            critical_path: stats["critical_path"].as_u64().expect("critical_path"),
            max_in_flight: stats["max_in_flight"].as_u64().expect("max_in_flight"),
            chain: chain
                .unwrap_or_default()
                .iter()
                .filter_map(|o| o.as_str().map(str::to_string))
                .collect(),
            requests: {
                let all = stats["requests"].as_array().cloned().unwrap_or_default();
                let mut r: Vec<(String, f64, f64)> = all
                    .iter()
                    .map(|q| {
                        let at = |i: usize| q[i].as_f64().expect("a time");
                        (q[0].as_str().unwrap_or_default().to_string(), at(1), at(2))
                    })
                    .collect();
                r.sort_by(|a, b| a.1.total_cmp(&b.1));
                r
            },
        }
    }

    /// A world whose emulator is reached through the fault proxy ([`LatencyProxy::with_faults`]).
    pub fn with_faults(rate: f64, seed: u64) -> World {
        let emu = Emulator::start();
        let proxy = LatencyProxy::with_faults(&emu.endpoint, rate, seed);
        let endpoint = proxy.endpoint.clone();
        let mut w = World::with_endpoint(Some(emu), endpoint);
        w._proxy = Some(proxy);
        w
    }

    /// A world with no emulator whose AWS endpoint counts the calls made to it.
    pub fn offline() -> (World, CountingEndpoint) {
        let ep = CountingEndpoint::start();
        let w = World::with_endpoint(None, ep.endpoint.clone());
        (w, ep)
    }

    fn with_endpoint(emu: Option<Emulator>, endpoint: String) -> World {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        World {
            _proxy: None,
            _emu: emu,
            endpoint,
            dir: tempfile::tempdir().expect("temp dir"),
            prefix: format!("t{}x{n}", std::process::id() % 10000),
            stack: default_stack(),
        }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_iotstack"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("NO_COLOR", "1")
            .env_remove("AWS_PROFILE")
            .env_remove("IOTSTACK_PREFIX")
            .env_remove("IOTSTACK_EMAIL")
            .env_remove("IOTSTACK_IP")
            .stdin(Stdio::null());
        c
    }

    /// Runs `iotstack <args>` with the world's endpoint, in its folder, without a terminal.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().expect("the binary runs"))
    }

    /// `args` plus `--stack <stack> --prefix <prefix>` and, for plan/apply, the email and, for
    /// plan/apply/doctor, the ip.
    pub fn stack_args(&self, verb: &str, extra: &[&str]) -> Vec<String> {
        let mut v = vec![
            verb.to_string(),
            "--stack".into(),
            self.stack.display().to_string(),
            "--prefix".into(),
            self.prefix.clone(),
        ];
        if matches!(verb, "plan" | "apply") {
            v.extend(["--email".into(), self.email()]);
        }
        if matches!(verb, "plan" | "apply" | "doctor") {
            v.extend(["--ip".into(), IP.into()]);
        }
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }

    pub fn email(&self) -> String {
        format!("ops+{}@example.com", self.prefix)
    }

    pub fn iotstack(&self, verb: &str, extra: &[&str]) -> Run {
        let args = self.stack_args(verb, extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&refs)
    }

    /// `apply --yes`, which succeeds.
    #[track_caller]
    pub fn apply(&self) -> Run {
        self.iotstack("apply", &["--yes"]).ok()
    }

    /// `destroy --yes`, which succeeds.
    #[track_caller]
    pub fn destroy(&self) -> Run {
        self.iotstack("destroy", &["--yes"]).ok()
    }

    /// `plan --detailed-exitcode` exits 0: live state is what the stack says.
    #[track_caller]
    pub fn plan_is_clean(&self) -> Run {
        self.iotstack("plan", &["--detailed-exitcode"]).code(0)
    }

    /// `plan --detailed-exitcode` exits 2: there are changes to make.
    #[track_caller]
    pub fn plan_has_changes(&self) -> Run {
        self.iotstack("plan", &["--detailed-exitcode"]).code(2)
    }

    /// Nothing of the world's prefix is live, as the AWS API shows it.
    pub async fn assert_nothing_left(&self) {
        assert_eq!(self.live().await.leftovers().await, Vec::<String>::new());
    }

    /// `destroy --yes` succeeds and leaves nothing of the prefix.
    pub async fn destroy_leaves_nothing(&self) -> Run {
        let run = self.destroy();
        self.assert_nothing_left().await;
        run
    }

    /// Live state is what the stack says, and `destroy` then leaves nothing: how a story that
    /// converged ends.
    pub async fn is_clean_and_destroys_to_nothing(&self) {
        self.plan_is_clean();
        self.destroy_leaves_nothing().await;
    }

    /// The ARN of the default stack's alert topic.
    pub fn alert_topic_arn(&self) -> String {
        format!(
            "arn:aws:sns:us-east-1:123456789012:{}-iot-notification",
            self.prefix
        )
    }

    /// The name of the default stack's alert rule (topic rule names take no `-`).
    pub fn alert_rule(&self) -> String {
        format!("{}_alerts", self.prefix.replace('-', "_"))
    }

    /// The stack's local folder: `.iotstack/<account>/<region>/<prefix>`.
    pub fn state_dir(&self) -> PathBuf {
        self.dir
            .path()
            .join(".iotstack/123456789012/us-east-1")
            .join(&self.prefix)
    }

    /// The world's live state, read through the AWS API.
    pub async fn live(&self) -> Live {
        Live::new(self.clients().await, &self.prefix)
    }

    /// Confirms every email subscription still pending on `topic_arn`, as its recipient would by
    /// following the link in AWS's confirmation message ("To confirm a pending subscription, call
    /// the ConfirmSubscription action with a confirmation token", Amazon SNS API reference); the
    /// strict emulator hands out the tokens that message would carry.
    pub async fn confirm_subscriptions(&self, topic_arn: &str) {
        let emu = self._emu.as_ref().expect("a world with an emulator");
        let pending = emulator_get(&emu.endpoint, "/moto-api/iotstack/sns/confirmations");
        let aws = self.live().await;
        for c in pending["Confirmations"].as_array().into_iter().flatten() {
            if c["TopicArn"] == topic_arn {
                aws.sns
                    .confirm_subscription()
                    .topic_arn(topic_arn)
                    .token(c["Token"].as_str().expect("a token"))
                    .send()
                    .await
                    .expect("ConfirmSubscription");
            }
        }
    }

    /// The world's live state read from the emulator itself, past any proxy and its faults.
    pub async fn live_direct(&self) -> Live {
        let emu = self._emu.as_ref().expect("a world with an emulator");
        Live::new(self.clients_at(&emu.endpoint).await, &self.prefix)
    }

    /// SDK clients pointed at the emulator, to check live state through the AWS API.
    async fn clients(&self) -> iotstack::aws::Clients {
        self.clients_at(&self.endpoint).await
    }

    async fn clients_at(&self, endpoint: &str) -> iotstack::aws::Clients {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_iot::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .http_client(
                aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https(),
            )
            .load()
            .await;
        iotstack::aws::Clients::from_config(config)
    }
}

/// A TCP listener that counts connections and answers nothing useful: proof that a command made
/// no AWS call.
pub struct CountingEndpoint {
    pub endpoint: String,
    pub hits: Arc<AtomicUsize>,
}

impl CountingEndpoint {
    pub fn start() -> CountingEndpoint {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                h.fetch_add(1, Ordering::SeqCst);
                drop(s);
            }
        });
        CountingEndpoint {
            endpoint: format!("http://127.0.0.1:{port}"),
            hits,
        }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Asserts that no AWS call reached the endpoint (`why` says why none may).
    #[track_caller]
    pub fn assert_no_calls(&self, why: &str) {
        assert_eq!(self.hits(), 0, "{why}");
    }
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&p, text).expect("write");
    p
}

/// A copy of the default stack (and its policies) with `edit` applied, in the world's folder.
pub fn edited_stack(w: &World, edit: impl Fn(String) -> String) -> std::path::PathBuf {
    let dir = w.dir.path();
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::create_dir_all(dir.join("stacks")).unwrap();
    for e in std::fs::read_dir(repo().join("policies")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join("policies").join(e.file_name())).unwrap();
    }
    let text = std::fs::read_to_string(repo().join("stacks/default.yaml")).unwrap();
    let path = dir.join("stacks/edited.yaml");
    std::fs::write(&path, edit(text)).unwrap();
    path
}

/// A test's emulator is its own: one started on a port another emulator took first (it was
/// free when picked) does not take the other for itself, so no test runs against another's
/// resources.
#[test]
fn an_emulator_never_takes_another_for_itself() {
    let first = Emulator::start();
    assert!(Emulator::start_on(first.port()).is_none());
    assert_eq!(server_pid(first.port()), Some(first.child.id()));
}
