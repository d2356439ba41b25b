//! Credentials and region as AWS users have them: the region from the flag, the environment, the
//! profile, and only then the stack file's default (the AWS CLI's order); `credential_process`
//! profiles (aws-vault, granted) and IAM Identity Center (SSO) profiles through their cached token.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::harness::{write, Run, World};

/// `iotstack output --output json` with `HOME` in `home` and no AWS variable but the endpoint
/// (and whatever `env` adds), so only the files under `home/.aws` can say where and as whom.
fn output_with_home(w: &World, home: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let stack = w.stack.display().to_string();
    let mut all = vec![
        "output", "--stack", &stack, "--prefix", &w.prefix, "--output", "json",
    ];
    all.extend_from_slice(args);
    let mut c: Command = w.cmd(&all);
    for v in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ] {
        c.env_remove(v);
    }
    c.env("HOME", home).env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env {
        c.env(k, v);
    }
    Run::from(c.output().expect("the binary runs"))
}

fn region_of(r: Run) -> String {
    r.ok().json()["region"]
        .as_str()
        .expect("output names its region")
        .to_string()
}

const STATIC_CREDENTIALS: &str = "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n\n[other]\naws_access_key_id = testing\naws_secret_access_key = testing\n";

#[test]
fn the_region_comes_from_flag_then_environment_then_profile_then_the_stack() {
    let w = World::new();
    let home = tempfile::tempdir().unwrap();
    write(home.path(), ".aws/credentials", STATIC_CREDENTIALS);
    write(
        home.path(),
        ".aws/config",
        "[default]\nregion = eu-west-1\n\n[profile other]\nregion = ap-south-1\n",
    );
    let h = home.path();
    // The stack file says us-east-1; the profile wins over it when nothing else is set.
    assert_eq!(region_of(output_with_home(&w, h, &[], &[])), "eu-west-1");
    assert_eq!(
        region_of(output_with_home(&w, h, &[("AWS_PROFILE", "other")], &[])),
        "ap-south-1",
        "AWS_PROFILE's region counts"
    );
    assert_eq!(
        region_of(output_with_home(&w, h, &[], &["--profile", "other"])),
        "ap-south-1"
    );
    assert_eq!(
        region_of(output_with_home(
            &w,
            h,
            &[("AWS_REGION", "ca-central-1")],
            &[]
        )),
        "ca-central-1",
        "the environment beats the profile"
    );
    assert_eq!(
        region_of(output_with_home(
            &w,
            h,
            &[("AWS_DEFAULT_REGION", "sa-east-1")],
            &[]
        )),
        "sa-east-1"
    );
    assert_eq!(
        region_of(output_with_home(
            &w,
            h,
            &[("AWS_REGION", "ca-central-1")],
            &["--region", "eu-north-1"]
        )),
        "eu-north-1",
        "the flag beats everything"
    );
    // A profile without a region: the stack file's default.
    write(h, ".aws/config", "[default]\noutput = json\n");
    assert_eq!(region_of(output_with_home(&w, h, &[], &[])), "us-east-1");
}

#[test]
fn a_credential_process_profile_resolves() {
    let w = World::new();
    let home = tempfile::tempdir().unwrap();
    let marker = home.path().join("process-ran");
    let script = write(
        home.path(),
        "creds.sh",
        &format!(
            "#!/bin/sh\ntouch '{}'\nprintf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"AKIDPROCESS\", \"SecretAccessKey\": \"process-secret\", \"SessionToken\": \"process-token\"}}'\n",
            marker.display()
        ),
    );
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    write(
        home.path(),
        ".aws/config",
        &format!(
            "[profile vault]\nregion = eu-west-1\ncredential_process = {}\n",
            script.display()
        ),
    );
    let r = output_with_home(&w, home.path(), &[("AWS_PROFILE", "vault")], &[]);
    assert_eq!(region_of(r), "eu-west-1");
    assert!(marker.exists(), "the credential process ran");
}

/// An IAM Identity Center portal: answers GetRoleCredentials for one bearer token and records
/// what it was asked.
struct SsoPortal {
    endpoint: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl SsoPortal {
    fn start(token: &'static str) -> SsoPortal {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let mut reader = BufReader::new(s.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let authorised = head
                    .to_ascii_lowercase()
                    .contains(&format!("x-amz-sso_bearer_token: {token}"));
                seen.lock().unwrap().push(head);
                // GetRoleCredentials' answer (SSO API reference): expiration in epoch millis.
                let (status, body) = if authorised {
                    ("200 OK", "{\"roleCredentials\":{\"accessKeyId\":\"AKIDSSO\",\"secretAccessKey\":\"sso-secret\",\"sessionToken\":\"sso-token\",\"expiration\":4102444800000}}")
                } else {
                    (
                        "401 Unauthorized",
                        "{\"message\":\"Session token not found or invalid\"}",
                    )
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        SsoPortal {
            endpoint: format!("http://127.0.0.1:{port}"),
            requests,
        }
    }
}

#[test]
fn an_sso_profile_resolves_through_its_cached_token() {
    let w = World::new();
    let home = tempfile::tempdir().unwrap();
    let portal = SsoPortal::start("cached-access-token");
    write(
        home.path(),
        ".aws/config",
        "[profile corp-dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Deployer\nregion = eu-central-1\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n",
    );
    // `aws sso login` caches the token under ~/.aws/sso/cache/<sha1 of the session name>.json
    // (AWS SDKs and Tools reference guide, "SSO token provider configuration").
    let name = hex(&<sha1::Sha1 as sha1::Digest>::digest(b"corp"));
    write(
        home.path(),
        &format!(".aws/sso/cache/{name}.json"),
        "{\"accessToken\":\"cached-access-token\",\"expiresAt\":\"2099-01-01T00:00:00Z\",\"region\":\"us-east-1\",\"startUrl\":\"https://corp.awsapps.com/start\"}",
    );
    let r = output_with_home(
        &w,
        home.path(),
        &[
            ("AWS_PROFILE", "corp-dev"),
            ("AWS_ENDPOINT_URL_SSO", &portal.endpoint),
        ],
        &[],
    );
    assert_eq!(region_of(r), "eu-central-1");
    let asked = portal.requests.lock().unwrap().clone();
    assert!(
        asked.iter().any(|h| h.contains("/federation/credentials")
            && h.contains("role_name=Deployer")
            && h.contains("account_id=111122223333")),
        "GetRoleCredentials was called for the profile's role: {asked:?}"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
