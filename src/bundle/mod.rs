//! A device bundle (`iotstack output --device-bundle DIR`): everything a device needs to connect
//! to AWS IoT Core over MQTT with the stack's certificate, in one folder.
//!
//! DIR gets the certificate PEM (as DescribeCertificate returns it), a copy of the private key
//! (mode 0600; its content is never printed), Amazon Root CA 1, the ATS data endpoint, the client
//! id (the thing name: the device policy lets a certificate connect only as its thing) and a
//! README.txt with one `mosquitto_pub` command. A manifest, `bundle.json` (no secrets), marks the
//! folder as a bundle. iotstack writes into a folder that does not exist, an empty one, or a
//! previous bundle (replacing only its own files); it refuses any other folder before calling AWS.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};

use crate::aws::OpExt;
use crate::discover::Live;
use crate::error::{Diagnostic, Error, Origin, Result};
use crate::resources::{iot_certificate, Ctx};
use crate::stack::Stack;
use crate::state;

/// Amazon Root CA 1, the public root that signs AWS IoT's ATS endpoints
/// (<https://www.amazontrust.com/repository/AmazonRootCA1.pem>).
pub const AMAZON_ROOT_CA_1: &str = include_str!("AmazonRootCA1.pem");

pub const CERTIFICATE: &str = "certificate.pem.crt";
pub const PRIVATE_KEY: &str = "private.pem.key";
pub const ROOT_CA: &str = "AmazonRootCA1.pem";
pub const ENDPOINT: &str = "endpoint.txt";
pub const CLIENT_ID: &str = "client-id.txt";
pub const README: &str = "README.txt";
/// Marks a folder as a bundle iotstack wrote (and may therefore write again).
pub const MANIFEST: &str = "bundle.json";
const FORMAT: &str = "iotstack-device-bundle";
/// MQTT over TLS with a client certificate.
pub const MQTT_PORT: u16 = 8883;
/// The endpoint type devices with certificates connect to.
pub const ENDPOINT_TYPE: &str = "iot:Data-ATS";

/// What was written, and where: shown by `output` (never the key itself).
#[derive(Debug, Clone, Serialize)]
pub struct Bundle {
    /// The folder, absolute.
    pub path: PathBuf,
    pub client_id: String,
    pub endpoint: String,
    pub port: u16,
    pub certificate_id: String,
    /// File names in the folder, by role: `certificate`, `private_key`, `root_ca`, `endpoint`,
    /// `client_id`, `readme`.
    pub files: BTreeMap<&'static str, &'static str>,
}

fn flag_error(message: String, hint: &str) -> Error {
    Error::Invalid(vec![Diagnostic::error(
        Origin::Flag("--device-bundle".into()),
        message,
    )
    .hint(hint)])
}

fn is_bundle(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(MANIFEST))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .is_some_and(|v| v["format"] == FORMAT)
}

/// Whether a bundle may be written to `dir`: it does not exist, is empty, or holds a bundle
/// iotstack wrote before. Checked before any AWS call.
pub fn check_target(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(flag_error(
            format!("`{}` exists and is not a folder", dir.display()),
            "give a new folder, an empty one, or a previous device bundle",
        ));
    }
    let mut entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    if entries.next().is_none() || is_bundle(dir) {
        return Ok(());
    }
    Err(flag_error(
        format!(
            "`{}` is not empty and is not a device bundle iotstack wrote ({MANIFEST} is missing): nothing was written",
            dir.display()
        ),
        "give a new folder, an empty one, or a previous device bundle (its files are replaced)",
    ))
}

fn type_of<'a>(stack: &'a Stack, l: &Live) -> &'a str {
    stack
        .get(&l.desired.id)
        .map(|r| r.kind.type_name())
        .unwrap_or_default()
}

/// The stack's one certificate.
fn certificate<'a>(stack: &Stack, live: &'a [Live]) -> Result<&'a Live> {
    let certs: Vec<&Live> = live
        .iter()
        .filter(|l| type_of(stack, l) == "iot_certificate")
        .collect();
    match certs.as_slice() {
        [one] => Ok(one),
        [] => Err(flag_error(
            format!(
                "the stack `{}` has no iot_certificate: a device bundle holds a device certificate",
                stack.path.display()
            ),
            "use a stack with a device certificate, such as the default stack",
        )),
        many => Err(flag_error(
            format!(
                "the stack has {} certificates ({}); a device bundle holds one",
                many.len(),
                many.iter()
                    .map(|l| l.desired.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "keep one iot_certificate in the stack",
        )),
    }
}

/// The client id: the name of the thing the stack attaches the certificate to.
fn thing_name(stack: &Stack, live: &[Live], cert_arn: &str) -> Option<String> {
    let attached = live
        .iter()
        .filter(|l| type_of(stack, l) == "iot_thing_principal")
        .find(|l| l.desired.str("principal") == cert_arn)
        .map(|l| l.desired.str("thing").to_string());
    attached.or_else(|| {
        let things: Vec<&Live> = live
            .iter()
            .filter(|l| type_of(stack, l) == "iot_thing")
            .collect();
        match things.as_slice() {
            [one] => Some(one.desired.str("name").to_string()),
            _ => None,
        }
    })
}

fn readme(prefix: &str, region: &str, b: &Bundle) -> String {
    let thing = &b.client_id;
    format!(
        "Device bundle for thing {thing} (iotstack stack {prefix}, {region})

  {CERTIFICATE}   the device certificate ({cert})
  {PRIVATE_KEY}       its private key: keep it secret (mode 0600, never sent anywhere)
  {ROOT_CA}     Amazon Root CA 1, which signs the AWS IoT endpoint's certificate
  {ENDPOINT}          the AWS IoT data endpoint (ATS): {endpoint}
  {CLIENT_ID}         the MQTT client id, which is the thing name: {thing}

Connect and publish one message, from this folder (MQTT over TLS on port {port}):

  mosquitto_pub --cafile {ROOT_CA} --cert {CERTIFICATE} --key {PRIVATE_KEY} \\
    -h {endpoint} -p {port} -i {thing} \\
    -t '{prefix}/devices/{thing}/hello' -m 'hello from {thing}' -d

The client id must be the thing name: the device policy lets a certificate connect only as the
thing it is attached to. The default stack's device policy allows the topics under
{prefix}/devices/{thing}/ and {prefix}/alerts; a message to {prefix}/alerts is emailed.
",
        cert = b.certificate_id,
        endpoint = b.endpoint,
        port = b.port,
    )
}

/// Writes the bundle of the stack's certificate to `dir`.
pub async fn write(ctx: &Ctx, stack: &Stack, live: &[Live], dir: &Path) -> Result<Bundle> {
    check_target(dir)?;
    let cert = certificate(stack, live)?;
    let id = &cert.desired.id;
    let Some(o) = &cert.observed else {
        return Err(Error::Other(format!(
            "the certificate `{id}` does not exist yet: run `iotstack apply` first"
        )));
    };
    let key_path = match o.attrs.get("private_key").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => {
            return Err(Error::Other(format!(
                "the private key of the certificate `{id}` is not on this machine (expected at {}): a bundle can only be made where the key was generated",
                ctx.state_dir.join(iot_certificate::key_file(id)).display()
            )))
        }
    };
    let Some(client_id) = thing_name(stack, live, o.attr("arn")) else {
        return Err(Error::Other(format!(
            "no thing is attached to the certificate `{id}` in the stack: the bundle's client id is that thing's name"
        )));
    };
    let described = ctx
        .clients
        .iot
        .describe_certificate()
        .certificate_id(o.attr("id"))
        .send()
        .await
        .op("DescribeCertificate")?;
    let Some(pem) = described
        .certificate_description()
        .and_then(|d| d.certificate_pem())
        .map(str::to_string)
    else {
        return Err(Error::Other(format!(
            "AWS IoT returned no PEM for certificate {}",
            o.attr("id")
        )));
    };
    let endpoint = ctx
        .clients
        .iot
        .describe_endpoint()
        .endpoint_type(ENDPOINT_TYPE)
        .send()
        .await
        .op("DescribeEndpoint")?
        .endpoint_address()
        .unwrap_or_default()
        .to_string();
    let key = std::fs::read(&key_path)
        .map_err(|e| Error::io(format!("reading {}", key_path.display()), e))?;

    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let path = dir
        .canonicalize()
        .map_err(|e| Error::io(format!("resolving {}", dir.display()), e))?;
    let bundle = Bundle {
        path: path.clone(),
        client_id,
        endpoint,
        port: MQTT_PORT,
        certificate_id: o.attr("id").to_string(),
        files: BTreeMap::from([
            ("certificate", CERTIFICATE),
            ("private_key", PRIVATE_KEY),
            ("root_ca", ROOT_CA),
            ("endpoint", ENDPOINT),
            ("client_id", CLIENT_ID),
            ("readme", README),
        ]),
    };
    let manifest = json!({
        "format": FORMAT,
        "prefix": ctx.prefix,
        "region": ctx.region,
        "certificate_id": bundle.certificate_id,
        "client_id": bundle.client_id,
        "endpoint": bundle.endpoint,
        "port": bundle.port,
        "files": bundle.files,
    });
    let io = |name: &str| {
        let p = path.join(name);
        move |e| Error::io(format!("writing {}", p.display()), e)
    };
    // The key first, so that a folder holding it is never left readable by others.
    state::write_secret(&path, PRIVATE_KEY, &key).map_err(io(PRIVATE_KEY))?;
    for (name, text) in [
        (CERTIFICATE, pem),
        (ROOT_CA, AMAZON_ROOT_CA_1.to_string()),
        (ENDPOINT, format!("{}\n", bundle.endpoint)),
        (CLIENT_ID, format!("{}\n", bundle.client_id)),
        (README, readme(&ctx.prefix, &ctx.region, &bundle)),
        (
            MANIFEST,
            serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n",
        ),
    ] {
        state::write(&path, name, text.as_bytes(), 0o644).map_err(io(name))?;
    }
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    #[test]
    fn the_shipped_root_is_amazon_root_ca_1() {
        let (_, pem) = x509_parser::pem::parse_x509_pem(AMAZON_ROOT_CA_1.as_bytes()).unwrap();
        let cert = pem.parse_x509().unwrap();
        let cn = cert.subject().iter_common_name().next().unwrap();
        assert_eq!(cn.as_str().unwrap(), "Amazon Root CA 1");
        assert_eq!(cert.subject(), cert.issuer(), "a self-signed root");
        // The SHA-256 fingerprint Amazon Trust Services publishes for Amazon Root CA 1.
        let digest = Sha256::digest(&pem.contents);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e"
        );
    }

    #[test]
    fn only_new_empty_or_bundle_folders_are_written() {
        let d = tempfile::tempdir().unwrap();
        assert!(check_target(&d.path().join("new")).is_ok());
        assert!(check_target(d.path()).is_ok(), "an empty folder");

        std::fs::write(d.path().join("notes.txt"), "mine").unwrap();
        let e = check_target(d.path()).unwrap_err().to_string();
        assert!(e.contains("is not empty and is not a device bundle"), "{e}");
        assert!(e.contains("--device-bundle"), "{e}");
        assert!(check_target(&d.path().join("notes.txt"))
            .unwrap_err()
            .to_string()
            .contains("is not a folder"));

        // A manifest of something else is not a bundle; iotstack's own is.
        std::fs::write(d.path().join(MANIFEST), r#"{"format": "other"}"#).unwrap();
        assert!(check_target(d.path()).is_err());
        std::fs::write(
            d.path().join(MANIFEST),
            format!(r#"{{"format": "{FORMAT}"}}"#),
        )
        .unwrap();
        assert!(check_target(d.path()).is_ok());
    }

    #[test]
    fn readme_has_one_connect_command() {
        let b = Bundle {
            path: PathBuf::from("/tmp/b"),
            client_id: "acme-thing".into(),
            endpoint: "a1example-ats.iot.us-east-1.amazonaws.com".into(),
            port: MQTT_PORT,
            certificate_id: "abc123".into(),
            files: BTreeMap::new(),
        };
        let text = readme("acme", "us-east-1", &b);
        assert_eq!(text.matches("mosquitto_pub ").count(), 1, "{text}");
        for want in [
            "--cafile AmazonRootCA1.pem",
            "--cert certificate.pem.crt",
            "--key private.pem.key",
            "-h a1example-ats.iot.us-east-1.amazonaws.com -p 8883 -i acme-thing",
            "-t 'acme/devices/acme-thing/hello'",
        ] {
            assert!(text.contains(want), "{want}:\n{text}");
        }
    }
}
