//! `iotstack output --device-bundle DIR`: the device's certificate, key, root CA, endpoint,
//! client id and connect command in one folder, checked against the AWS API.

use std::os::unix::fs::PermissionsExt;

use crate::harness::{Run, World};

/// The lines of a PEM's body, any of which would betray the key if printed.
fn body_lines(pem: &str) -> Vec<&str> {
    pem.lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 16)
        .collect()
}

#[track_caller]
fn assert_key_not_printed(run: &Run, key: &str) {
    for line in body_lines(key) {
        assert!(
            !run.all().contains(line),
            "the private key must never be printed:\n{}",
            run.all()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn output_writes_a_device_bundle_that_matches_aws() {
    let w = World::new();
    let p = w.prefix.clone();

    // Before anything exists: a bundle needs the certificate, and the error says so.
    let early = w.iotstack("output", &["--device-bundle", "early"]).code(1);
    assert!(
        early.stderr.contains("run `iotstack apply` first"),
        "{}",
        early.all()
    );

    w.iotstack("apply", &["--yes"]).ok();
    let key = std::fs::read_to_string(w.state_dir().join("device-cert.private.key")).unwrap();

    // A folder that holds something else is refused, and left as it was.
    let mine = w.dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "my notes").unwrap();
    let refused = w.iotstack("output", &["--device-bundle", "mine"]).code(1);
    assert!(
        refused.stderr.contains("--device-bundle")
            && refused
                .stderr
                .contains("is not empty and is not a device bundle"),
        "{}",
        refused.all()
    );
    let names: Vec<String> = std::fs::read_dir(&mine)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["notes.txt"]);

    // A new folder: every file is there, and the output names where.
    let run = w.iotstack("output", &["--device-bundle", "device"]).ok();
    let dir = w.dir.path().join("device").canonicalize().unwrap();
    run.stdout_has(&format!("Device bundle written to {}", dir.display()));
    assert_key_not_printed(&run, &key);
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();

    // The key: a copy of the local one, mode 0600.
    assert_eq!(read("private.pem.key"), key);
    let mode = |name: &str| {
        std::fs::metadata(dir.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("private.pem.key"), 0o600);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o077,
        0,
        "the folder holding the key is the owner's only"
    );

    // The certificate: exactly what DescribeCertificate returns.
    let c = w.live().await;
    let certs = c.iot.list_certificates().send().await.unwrap();
    let cert_id = certs.certificates()[0]
        .certificate_id()
        .unwrap()
        .to_string();
    let described = c
        .iot
        .describe_certificate()
        .certificate_id(&cert_id)
        .send()
        .await
        .unwrap();
    let pem = described
        .certificate_description()
        .unwrap()
        .certificate_pem()
        .unwrap();
    assert_eq!(read("certificate.pem.crt"), pem);

    // Amazon Root CA 1, the client id (the thing name), the ATS endpoint.
    let ca = read("AmazonRootCA1.pem");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----\nMIIDQTCCAimgAwIBAgITBmyfz5m/jAo54vB4ikPmljZbyjANBgkqhkiG9w0BAQsF"));
    assert_eq!(read("client-id.txt").trim(), format!("{p}-thing"));
    c.iot
        .describe_thing()
        .thing_name(read("client-id.txt").trim())
        .send()
        .await
        .expect("the client id is the thing's name");
    let endpoint = read("endpoint.txt").trim().to_string();
    assert!(endpoint.contains("-ats.iot."), "{endpoint}");

    // One connect command, with the bundle's files, on port 8883.
    let readme = read("README.txt");
    let commands: Vec<&str> = readme
        .lines()
        .filter(|l| l.contains("mosquitto_pub"))
        .collect();
    assert_eq!(commands.len(), 1, "{readme}");
    for want in [
        "--cafile AmazonRootCA1.pem --cert certificate.pem.crt --key private.pem.key".to_string(),
        format!("-h {endpoint} -p 8883 -i {p}-thing"),
    ] {
        assert!(readme.contains(&want), "{want}:\n{readme}");
    }

    // The same folder again (a previous bundle): replaced; JSON names it too.
    let json = w
        .iotstack("output", &["--device-bundle", "device", "--output", "json"])
        .ok();
    assert_key_not_printed(&json, &key);
    let v = json.json();
    let b = &v["device_bundle"];
    assert_eq!(b["path"], dir.display().to_string());
    assert_eq!(b["client_id"], format!("{p}-thing"));
    assert_eq!(b["certificate_id"], cert_id);
    assert_eq!(b["port"], 8883);
    assert_eq!(b["files"]["private_key"], "private.pem.key");
    assert_eq!(read("private.pem.key"), key);
    assert_eq!(mode("private.pem.key"), 0o600);

    // Without the flag, output has no bundle entry.
    let plain = w.iotstack("output", &["--output", "json"]).ok();
    assert!(plain.json().get("device_bundle").is_none());

    w.iotstack("destroy", &["--yes"]).ok();
    w.assert_nothing_left().await;
}
