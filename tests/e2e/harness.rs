//! Test harness: a fresh emulator per test, the real binary, and AWS clients to check live state.

use std::io::{Read, Write};

use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

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

/// moto in server mode with the project's extension, on a free loopback port; stopped on drop.
pub struct Emulator {
    child: Child,
    pub endpoint: String,
}

impl Emulator {
    pub fn start() -> Emulator {
        let py = emulator_python();
        let log_dir = repo().join("target/emulator-logs");
        std::fs::create_dir_all(&log_dir).ok();
        for _ in 0..3 {
            let port = free_port();
            let log =
                std::fs::File::create(log_dir.join(format!("moto-{port}.log"))).expect("log file");
            let child = Command::new(py)
                .arg(repo().join("scripts/moto_ext.py"))
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
                .stdout(Stdio::from(log.try_clone().expect("log")))
                .stderr(Stdio::from(log))
                .spawn()
                .expect("the emulator starts");
            let mut emu = Emulator {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
            };
            if emu.wait_ready(port) {
                return emu;
            }
            let _ = emu.child.kill();
        }
        panic!("the emulator did not start; see target/emulator-logs/");
    }

    fn wait_ready(&mut self, port: u16) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = s.write_all(b"GET /moto-api/ HTTP/1.0\r\n\r\n");
                let mut buf = [0u8; 12];
                if s.read(&mut buf).map(|n| n > 0).unwrap_or(false) {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
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
        let mut child = Command::new(emulator_python())
            .arg(repo().join("scripts/latency_proxy.py"))
            .args([
                "--upstream",
                upstream,
                "--latency-ms",
                &latency_ms.to_string(),
            ])
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

    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
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

impl World {
    pub fn new() -> World {
        let emu = Emulator::start();
        let endpoint = emu.endpoint.clone();
        World::with_endpoint(Some(emu), endpoint)
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

    /// `args` plus `--stack <stack> --prefix <prefix>` and, for plan/apply, the email and ip.
    pub fn stack_args(&self, verb: &str, extra: &[&str]) -> Vec<String> {
        let mut v = vec![
            verb.to_string(),
            "--stack".into(),
            self.stack.display().to_string(),
            "--prefix".into(),
            self.prefix.clone(),
        ];
        if verb == "plan" || verb == "apply" {
            v.extend(["--email".into(), self.email(), "--ip".into(), IP.into()]);
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

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join(".iotstack").join(&self.prefix)
    }

    /// SDK clients pointed at the emulator, to check live state through the AWS API.
    pub async fn clients(&self) -> iotstack::aws::Clients {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
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

/// Every resource of the world's prefix still live, found through the AWS API.
pub async fn leftovers(w: &World) -> Vec<String> {
    let c = w.clients().await;
    let p = w.prefix.as_str();
    let mut left = Vec::new();
    let mut add = |kind: &str, names: Vec<String>| {
        left.extend(
            names
                .into_iter()
                .filter(|n| n.contains(p))
                .map(|n| format!("{kind} {n}")),
        );
    };
    let things = c.iot.list_things().send().await.unwrap();
    add(
        "thing",
        things
            .things()
            .iter()
            .filter_map(|t| t.thing_name().map(str::to_string))
            .collect(),
    );
    let pols = c.iot.list_policies().send().await.unwrap();
    add(
        "iot policy",
        pols.policies()
            .iter()
            .filter_map(|x| x.policy_name().map(str::to_string))
            .collect(),
    );
    let rules = c.iot.list_topic_rules().send().await.unwrap();
    add(
        "rule",
        rules
            .rules()
            .iter()
            .filter_map(|x| x.rule_name().map(str::to_string))
            .collect(),
    );
    let topics = c.sns.list_topics().send().await.unwrap();
    add(
        "topic",
        topics
            .topics()
            .iter()
            .filter_map(|x| x.topic_arn().map(str::to_string))
            .collect(),
    );
    let subs = c.sns.list_subscriptions().send().await.unwrap();
    add(
        "subscription",
        subs.subscriptions()
            .iter()
            .filter_map(|s| s.topic_arn().map(str::to_string))
            .collect(),
    );
    let roles = c.iam.list_roles().send().await.unwrap();
    add(
        "role",
        roles
            .roles()
            .iter()
            .map(|r| r.role_name().to_string())
            .collect(),
    );
    let pools = c
        .cognito_idp
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .unwrap();
    add(
        "user pool",
        pools
            .user_pools()
            .iter()
            .filter_map(|x| x.name().map(str::to_string))
            .collect(),
    );
    let ipools = c
        .cognito_identity
        .list_identity_pools()
        .max_results(60)
        .send()
        .await
        .unwrap();
    add(
        "identity pool",
        ipools
            .identity_pools()
            .iter()
            .filter_map(|x| x.identity_pool_name().map(str::to_string))
            .collect(),
    );
    let fns = c.lambda.list_functions().send().await.unwrap();
    add(
        "function",
        fns.functions()
            .iter()
            .filter_map(|x| x.function_name().map(str::to_string))
            .collect(),
    );
    let secrets = c
        .secrets
        .list_secrets()
        .include_planned_deletion(true)
        .send()
        .await
        .unwrap();
    add(
        "secret",
        secrets
            .secret_list()
            .iter()
            .filter_map(|x| x.name().map(str::to_string))
            .collect(),
    );
    // Certificates carry no name: every test world has an emulator of its own, so any is a leftover.
    let certs = c.iot.list_certificates().send().await.unwrap();
    left.extend(
        certs
            .certificates()
            .iter()
            .filter_map(|x| x.certificate_id())
            .map(|n| format!("certificate {n}")),
    );
    left
}

/// A policy document as IAM returns it (percent-encoded).
pub fn decode(doc: &str) -> Value {
    let d = percent_encoding::percent_decode_str(doc)
        .decode_utf8_lossy()
        .to_string();
    serde_json::from_str(&d).expect("policy JSON")
}

/// The statements of a policy, whether one or a list.
pub fn statements(doc: &Value) -> Vec<Value> {
    match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

/// A string or a list of strings, as a list.
pub fn list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Value::String(s) => vec![s.clone()],
        _ => vec![],
    }
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
