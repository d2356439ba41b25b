//! Parse errors of stack files, with their file, line and column.

use std::path::{Path, PathBuf};

use super::*;
use crate::error::{Diagnostic, Origin};
use crate::resources::PropType;

fn parse(settings: &str) -> Result<Stack, Vec<Diagnostic>> {
    let text = format!(
        "version: 1\nsettings:\n{settings}resources:\n  thing:\n    type: iot_thing\n    properties:\n      name: ${{prefix}}-thing\n"
    );
    Stack::parse(Path::new("s.yaml"), &text)
}

fn at(line: usize, col: usize) -> Origin {
    Origin::File {
        path: PathBuf::from("s.yaml"),
        line,
        col,
    }
}

#[test]
fn allow_identity_self_attach_setting() {
    let s = parse("  output_dir: out\n").unwrap_or_else(|d| panic!("{d:?}"));
    assert!(!s.settings.allow_identity_self_attach);
    assert_eq!(s.settings.allow_identity_self_attach_at, Origin::None);

    let s = parse("  allow_identity_self_attach: true\n").unwrap_or_else(|d| panic!("{d:?}"));
    assert!(s.settings.allow_identity_self_attach);
    assert_eq!(s.settings.allow_identity_self_attach_at, at(3, 31));
    let s = parse("  allow_identity_self_attach: false\n").unwrap_or_else(|d| panic!("{d:?}"));
    assert!(!s.settings.allow_identity_self_attach);

    // Not a boolean: an error at the value, with file, line and column.
    for (value, found) in [
        ("\"yes\"", "a string"),
        ("1", "a number"),
        ("[true]", "a list"),
    ] {
        let diags = parse(&format!(
            "  output_dir: out\n  allow_identity_self_attach: {value}\n"
        ))
        .err()
        .expect("invalid");
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].origin, at(4, 31), "{value}");
        assert_eq!(
            diags[0].message,
            format!("`settings.allow_identity_self_attach` must be true or false, found {found}")
        );
        assert!(diags[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("allow_identity_self_attach: true"));
    }

    // A misspelt key is unknown, and the valid keys are listed.
    let diags = parse("  allow_self_attach: true\n").err().expect("invalid");
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].origin, at(3, 3));
    assert_eq!(
        diags[0].message,
        "unknown key `allow_self_attach` in `settings`"
    );
    assert_eq!(
        diags[0].hint.as_deref(),
        Some("valid keys: output_dir, allow_identity_self_attach")
    );
}

/// Every diagnostic of a stack file that does not load, as the user reads them.
fn errors_of(path: &Path, text: &str) -> String {
    match Stack::parse(path, text) {
        Ok(_) => panic!("the stack loaded:\n{text}"),
        Err(diags) => diags
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn errors(text: &str) -> String {
    errors_of(Path::new("stacks/s.yaml"), text)
}

#[test]
fn malformed_yaml() {
    insta::assert_snapshot!(errors(
        "version: 1\nresources:\n  thing:\n    type: [iot_thing\n    properties: {}\n"
    ));
}

#[test]
fn unknown_key() {
    insta::assert_snapshot!(errors(
        "version: 1\nresources:\n  thing:\n    type: iot_thing\n    propertes:\n      name: x\n"
    ));
}

#[test]
fn unknown_type() {
    let out = errors(
        "version: 1\nresources:\n  thing:\n    type: iot_thingy\n    properties:\n      name: x\n",
    );
    // The hint lists every registered type; the snapshot does not follow the registry.
    let types = crate::resources::REGISTRY
        .iter()
        .map(|k| k.type_name())
        .collect::<Vec<_>>()
        .join(", ");
    assert!(out.contains(&format!("valid types: {types}")), "{out}");
    insta::assert_snapshot!(out.replace(&types, "<every type>"));
}

#[test]
fn missing_required_property() {
    insta::assert_snapshot!(errors(
        "version: 1\nresources:\n  thing:\n    type: iot_thing\n    properties: {}\n"
    ));
}

#[test]
fn undefined_reference() {
    insta::assert_snapshot!(errors(
        "version: 1\nresources:\n  thing:\n    type: iot_thing\n    properties:\n      name: ${prefix}-thing\n  link:\n    type: iot_thing_principal\n    properties:\n      thing: ${thing.name}\n      principal: ${cert.arn}\n"
    ));
}

#[test]
fn dependency_cycle() {
    insta::assert_snapshot!(errors(
        "version: 1\nresources:\n  a:\n    type: iot_thing\n    depends_on: [b]\n    properties:\n      name: a\n  b:\n    type: iot_thing\n    depends_on: [a]\n    properties:\n      name: b\n"
    ));
}

#[test]
fn bad_policy_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("stacks")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("policies")).expect("mkdir");
    std::fs::write(
        dir.path().join("policies/p.json"),
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\",}\n  ]\n}\n",
    )
    .expect("write");
    let text = "version: 1\nresources:\n  policy:\n    type: iot_policy\n    properties:\n      name: p\n      document: ../policies/p.json\n";
    let out = errors_of(&dir.path().join("stacks/s.yaml"), text);
    insta::assert_snapshot!(out.replace(&dir.path().display().to_string(), "<dir>"));
}

#[test]
fn every_whole_number_property_has_the_range_aws_accepts() {
    for kind in crate::resources::REGISTRY {
        for p in kind.props().iter().filter(|p| p.ty == PropType::Int) {
            let what = format!("{}.{}", kind.type_name(), p.name);
            let (min, max) = p.range.unwrap_or_else(|| panic!("{what} has no range"));
            assert!(min <= max, "{what}");
            // The SDK takes an i32: every accepted value fits one.
            assert!(
                i32::try_from(min).is_ok() && i32::try_from(max).is_ok(),
                "{what}"
            );
        }
    }
}

#[test]
fn whole_numbers_out_of_the_aws_range_are_refused_at_their_value() {
    let stack = |kind: &str, prop: &str, value: &str| {
        format!("version: 1\nresources:\n  r:\n    type: {kind}\n    properties:\n      name: n\n      {prop}: {value}\n")
    };
    let cases = [
        (
            "cognito_user_pool",
            "password_min_length",
            "5",
            "from 6 to 99",
        ),
        (
            "cognito_user_pool",
            "password_min_length",
            "100",
            "from 6 to 99",
        ),
        // 2^32 + 6 would have been sent as 6.
        (
            "cognito_user_pool",
            "password_min_length",
            "4294967302",
            "from 6 to 99",
        ),
        (
            "cognito_user_pool",
            "temporary_password_validity_days",
            "366",
            "from 1 to 365",
        ),
        (
            "cognito_user_pool",
            "temporary_password_validity_days",
            "-1",
            "from 1 to 365",
        ),
    ];
    for (kind, prop, value, range) in cases {
        let out = errors(&stack(kind, prop, value));
        assert_eq!(
            out,
            format!("stacks/s.yaml:7:{}: error: `r.{prop}` must be {range} (the AWS limit), found {value}", 9 + prop.len()),
        );
    }
    let client = "version: 1\nresources:\n  c:\n    type: cognito_user_pool_client\n    properties:\n      name: n\n      user_pool_id: p\n      refresh_token_validity_days: 3651\n";
    assert!(errors(client).contains(
        "stacks/s.yaml:8:36: error: `c.refresh_token_validity_days` must be from 1 to 3650 (the AWS limit), found 3651"
    ));
    for timeout in ["0", "901"] {
        let f = format!("version: 1\nresources:\n  f:\n    type: lambda_function\n    properties:\n      name: n\n      role: r\n      code: builtin:presignup\n      handler: h.h\n      timeout: {timeout}\n");
        assert!(errors(&f).contains(&format!(
            "stacks/s.yaml:10:16: error: `f.timeout` must be from 1 to 900 (the AWS limit), found {timeout}"
        )));
    }
    // The limits themselves are accepted.
    for (value, days) in [("6", "1"), ("99", "365")] {
        let text = format!("version: 1\nresources:\n  r:\n    type: cognito_user_pool\n    properties:\n      name: n\n      password_min_length: {value}\n      temporary_password_validity_days: {days}\n");
        Stack::parse(Path::new("s.yaml"), &text).unwrap_or_else(|d| panic!("{d:?}"));
    }
}
