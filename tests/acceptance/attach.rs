//! Calling the attach function's URL as an app does: an HTTPS POST whose JSON body carries the
//! caller's user-pool ID token, signed with SigV4 with the temporary credentials of the caller's
//! Cognito identity.
//!
//! AWS documents the call in "Invoking Lambda function URLs"
//! (<https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html>): with the `AWS_IAM`
//! auth type every request must be signed with Signature Version 4; Lambda computes the
//! signature again and processes the request only when the two match. The credential scope
//! names Lambda's signing name, `lambda`, and the function's region. The caller needs
//! `lambda:InvokeFunctionUrl` and, for function URLs created since October 2025, also
//! `lambda:InvokeFunction` ("Control access to Lambda function URLs",
//! <https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html>): the stack's authenticated
//! role grants both on the attach function. The first page's request payload table says a
//! function URL passes no Cognito identity to the function, which is why the caller sends its
//! ID token in the body (`{"idToken": "<jwt>"}`) and the function derives the identity from it
//! with `GetId` (SPEC §3, corrected for issue 8).

use std::time::{Duration, SystemTime};

use aws_sdk_cognitoidentity::config::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_http_client::{tls, Connector};
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_types::error::display::DisplayErrorContext;

/// The function URL's answer.
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.body)
    }
}

/// How a request is signed: the caller's credentials and the function's region.
pub struct Signer<'a> {
    pub credentials: &'a Credentials,
    pub region: &'a str,
}

/// The body the attach function reads: the caller's user-pool ID token.
pub fn body(id_token: &str) -> Vec<u8> {
    serde_json::json!({ "idToken": id_token })
        .to_string()
        .into_bytes()
}

/// POSTs `body` (JSON) to `url`, signed when `signer` is given.
pub async fn post(url: &str, body: &[u8], signer: Option<Signer<'_>>) -> Result<Reply, String> {
    let mut headers = vec![("content-type", "application/json".to_string())];
    if let Some(s) = signer {
        let identity: Identity = s.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(s.region)
            .name("lambda")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("signing parameters: {e}"))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            url,
            headers.iter().map(|(k, v)| (*k, v.as_str())),
            SignableBody::Bytes(body),
        )
        .map_err(|e| format!("a signable request for {url}: {e}"))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| format!("signing: {e}"))?
            .into_parts();
        // x-amz-date, x-amz-security-token (the identity's session token) and authorization.
        let (signed, _query) = instructions.into_parts();
        headers.extend(signed.iter().map(|h| (h.name(), h.value().to_string())));
    }

    let mut request = HttpRequest::new(SdkBody::from(body.to_vec()));
    request
        .set_method("POST")
        .map_err(|e| format!("method: {e}"))?;
    request
        .set_uri(url)
        .map_err(|e| format!("the URL `{url}`: {e}"))?;
    for (k, v) in headers {
        request.headers_mut().insert(k, v);
    }
    let connector = Connector::builder()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build();
    let response = tokio::time::timeout(Duration::from_secs(60), connector.call(request))
        .await
        .map_err(|_| format!("POST {url}: no answer within 60 s"))?
        .map_err(|e| format!("POST {url}: {}", DisplayErrorContext(e)))?;
    let status = response.status().as_u16();
    let bytes = ByteStream::new(response.into_body())
        .collect()
        .await
        .map_err(|e| format!("reading the answer of {url}: {e}"))?
        .into_bytes();
    Ok(Reply {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// Reads one HTTP/1.1 request (headers and a `content-length` body) from `conn`.
fn read_request(conn: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = conn.read(&mut chunk).expect("the request arrives");
        seen.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                return text;
            }
        }
        if n == 0 {
            return String::from_utf8_lossy(&seen).into_owned();
        }
    }
}

/// Checks, on every run (AWS or not), that a signed call leaves this process as the function
/// URL expects it: sent to a listener on this machine, the request must carry the body, the
/// identity's session token and a SigV4 `Authorization` scoped to the region and to `lambda`,
/// with the body's type and the session token among the signed headers.
pub fn self_check() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!("http://{}/", listener.local_addr().expect("its address"));
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("a connection");
        conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let seen = read_request(&mut conn);
        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                      content-length: 2\r\nconnection: close\r\n\r\n{}";
        conn.write_all(answer.as_bytes())
            .expect("the answer is sent");
        seen
    });
    let credentials = Credentials::new(
        "AKIDEXAMPLE",
        "example-secret",
        Some("example-session-token".into()),
        None,
        "self-check",
    );
    let body = body("header.payload.signature");
    let signer = Signer {
        credentials: &credentials,
        region: "eu-west-1",
    };
    let reply = crate::block_on(post(&url, &body, Some(signer))).unwrap_or_else(|e| panic!("{e}"));
    let seen = server.join().expect("the listener thread");
    assert_eq!(reply.to_string(), "HTTP 200: {}");
    let header = |name: &str| -> String {
        seen.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
            .unwrap_or_else(|| panic!("no {name} header in:\n{seen}"))
    };
    assert!(seen.starts_with("POST / HTTP/1.1\r\n"), "{seen}");
    assert!(
        seen.ends_with(r#"{"idToken":"header.payload.signature"}"#),
        "{seen}"
    );
    assert_eq!(header("x-amz-security-token"), "example-session-token");
    let authorization = header("authorization");
    for part in [
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/",
        "/eu-west-1/lambda/aws4_request",
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token",
        "Signature=",
    ] {
        assert!(
            authorization.contains(part),
            "{part} is not in {authorization}"
        );
    }
    println!(
        "SigV4 self-check: ok (a signed POST carries the body, the session token and a \
         lambda-scoped signature)"
    );
}
