//! Parse errors of stack files, with their file, line and column.

use std::path::{Path, PathBuf};

use super::*;
use crate::error::{Diagnostic, Origin};

fn parse(settings: &str) -> Result<Stack, Vec<Diagnostic>> {
    let text = format!(
        "version: 1\nsettings:\n{settings}resources:\n  thing:\n    type: iot_thing\n    properties:\n      name: ${{prefix}}-thing\n"
    );
    Stack::parse(Path::new("s.yaml"), &text)
}

fn default_stack() -> Stack {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_STACK);
    Stack::load(&path).unwrap_or_else(|d| panic!("{d:?}"))
}

#[test]
fn function_urls_are_refused_offline_in_regions_without_them() {
    let stack = default_stack();
    assert!(stack.check_region("us-east-1").is_ok());
    let diags = stack.check_region("eu-central-2").unwrap_err();
    assert_eq!(diags.len(), 1, "{diags:?}");
    let text = diags[0].to_string();
    assert!(text.contains("stacks/default.yaml:"), "{text}");
    assert!(
        text.contains("`attach-url` (lambda_function_url): Lambda function URLs are not available in eu-central-2"),
        "{text}"
    );
    let without_urls = parse("  output_dir: out\n").unwrap();
    assert!(without_urls.check_region("eu-central-2").is_ok());
}

#[test]
fn the_default_stack_orders_what_aws_needs_first() {
    let stack = default_stack();
    let deps = |id: &str| stack.get(id).unwrap().deps.clone();
    // The pre-sign-up trigger may run when the app user is created: Cognito must be allowed
    // to invoke it by then.
    assert!(deps("app-user").contains(&"presignup-permission".to_string()));
    // The certificate is looked for among its thing's principals.
    assert!(deps("device-cert").contains(&"device-thing".to_string()));
}

#[test]
fn apply_does_not_wait_for_a_name_given_in_advance_and_used_as_text() {
    let text = "version: 1\nresources:\n  policy:\n    type: iot_policy\n    properties:\n      name: ${prefix}-p\n      document: p.json\n  thing:\n    type: iot_thing\n    properties:\n      name: ${prefix}-t\n  group:\n    type: iot_thing_group\n    depends_on: [thing]\n    properties:\n      name: g\n      tags:\n        Policy: ${policy.name}\n        Thing: ${thing.name}\n  attached:\n    type: iot_policy_attachment\n    properties:\n      policy: ${policy.name}\n      target: ${thing.arn}\n";
    let dir = tempdir();
    std::fs::write(
        dir.join("p.json"),
        r#"{"Version":"2012-10-17","Statement":[]}"#,
    )
    .unwrap();
    std::fs::write(dir.join("s.yaml"), text).unwrap();
    let stack = Stack::load(&dir.join("s.yaml")).unwrap_or_else(|d| panic!("{d:?}"));
    let deps = stack.apply_deps();
    // A tag naming the policy needs no policy yet; `depends_on` always waits.
    assert_eq!(deps["group"], vec!["thing".to_string()]);
    // Attaching the policy needs it to exist.
    let mut attached = deps["attached"].clone();
    attached.sort();
    assert_eq!(attached, vec!["policy".to_string(), "thing".to_string()]);
    let values: std::collections::BTreeMap<String, String> =
        [("prefix".to_string(), "p".to_string())].into();
    assert_eq!(
        stack.ahead("policy", "name", &values).as_deref(),
        Some("p-p")
    );
    assert_eq!(stack.ahead("policy", "arn", &values), None);
    // What every plan does: the default stack's app secret names the identities' IoT policy in
    // a tag, and the attach function in its environment; neither waits for it.
    let stack = default_stack();
    let deps = stack.apply_deps();
    let waits = |id: &str, on: &str| deps[id].iter().any(|d| d == on);
    assert!(!waits("app-secret", "identity-iot-policy"));
    assert!(!waits("attach-function", "identity-iot-policy"));
    assert!(waits("app-secret", "identity-pool"));
    assert!(waits("identity-attachments", "identity-iot-policy"));
    // Attaching the identities' IoT policy needs the policy and the pool whose identities it
    // lists (AttachPolicy's target is an identity id), not the roles the pool hands out: it
    // goes beside the roles and SetIdentityPoolRoles, off apply's critical path.
    assert!(waits("identity-attachments", "identity-pool"));
    assert!(!waits("identity-attachments", "identity-pool-roles"));
    // The signed-in role's policy grants the attach function by its ARN, which AWS forms from
    // its name: it does not wait for the function. It waits for the secret, whose ARN AWS
    // ends with random characters, and for the identity pool its trust policy names (AWS
    // checks a trust policy's principals, so it is not text only).
    assert!(!waits("auth-role", "attach-function"));
    assert!(waits("auth-role", "app-secret"));
    assert!(waits("auth-role", "identity-pool"));
    let values: std::collections::BTreeMap<String, String> = [
        ("prefix", "p"),
        ("account", "123456789012"),
        ("region", "cn-north-1"),
        ("partition", "aws-cn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let arn = |id: &str| stack.ahead(id, "arn", &values);
    assert_eq!(
        arn("attach-function").as_deref(),
        Some("arn:aws-cn:lambda:cn-north-1:123456789012:function:p-attach-iot-policy")
    );
    assert_eq!(
        arn("alert-topic").as_deref(),
        Some("arn:aws-cn:sns:cn-north-1:123456789012:p-iot-notification")
    );
    assert_eq!(
        arn("device-policy").as_deref(),
        Some("arn:aws-cn:iot:cn-north-1:123456789012:policy/p-device-policy")
    );
    // A role's ARN holds its path; a secret's ends with random characters; a pool's holds its id.
    assert_eq!(arn("rule-role"), None);
    assert_eq!(arn("app-secret"), None);
    assert_eq!(arn("user-pool"), None);
    // Not without an account id.
    let mut offline = values.clone();
    offline.insert("account".into(), "{account}".into());
    assert_eq!(stack.ahead("attach-function", "arn", &offline), None);
}

#[test]
fn a_create_goes_before_what_only_its_tags_name_and_writes_the_tags_known() {
    let stack = default_stack();
    let later = stack.later_deps(&stack.apply_deps());
    // The secret's name holds the pool's id: it waits for the pool. Its tags name the app
    // client, the identity pool and the IoT endpoint, and nothing else of it does. Nothing
    // else of the stack names a resource in its tags alone (the user, say, waits for the
    // secret, which its properties name, and for the permission in its `depends_on`). The
    // pool's trigger is the other property written after a create (below).
    let mut secret = later["app-secret"].clone();
    secret.sort();
    assert_eq!(secret, ["app-client", "identity-pool", "iot-endpoint"]);
    assert_eq!(later.len(), 2, "{later:?}");

    let decl = stack.get("app-secret").unwrap();
    let values: std::collections::BTreeMap<String, String> = [
        ("prefix", "p"),
        ("email", "ops@example.com"),
        ("ip", "203.0.113.7"),
        ("region", "eu-west-1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    // What apply knows once the pool is made: its id, and the names given in advance.
    let lookup = |r: &str, a: &str| {
        let pool = (r == "user-pool" && a == "id").then(|| "eu-west-1_X".to_string());
        pool.or_else(|| stack.ahead(r, a, &values))
    };
    let mut want = decl.resolve(&values, &lookup);
    assert!(!want.is_known("tags"));
    let pending = ["app-client", "identity-pool", "iot-endpoint"].map(String::from);
    decl.hold_later(&mut want, &values, &lookup, &pending);
    assert!(want.is_known("tags"));
    let tags = want.tags();
    let keys: Vec<&str> = tags.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["EmailAddress", "IoTPolicy", "UserPoolId", "iotstack:stack"]
    );
    assert_eq!(tags["UserPoolId"], "eu-west-1_X");
    assert_eq!(tags["iotstack:stack"], "p");
    assert_eq!(want.str("name"), "eu-west-1_X_p-app-user");
}

/// The user pool goes before its trigger's function, with no trigger and no self sign-up (so
/// that no sign-up passes without the trigger), and its user waits for it whole.
#[test]
fn a_pool_goes_before_its_trigger_and_its_user_waits_for_it() {
    let stack = default_stack();
    let later = stack.later_deps(&stack.apply_deps());
    assert_eq!(later["user-pool"], ["presignup-function"]);
    assert_eq!(stack.whole_refs("app-user"), ["user-pool"]);
    assert!(stack.whole_refs("app-client").is_empty());

    let decl = stack.get("user-pool").unwrap();
    let values: std::collections::BTreeMap<String, String> = [
        ("prefix", "p"),
        ("email", "ops@example.com"),
        ("region", "eu-west-1"),
        ("partition", "aws"),
        ("account", "123456789012"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let lookup = |r: &str, a: &str| stack.ahead(r, a, &values);
    let mut want = decl.resolve(&values, &lookup);
    // Its ARN is known in advance; the pool still does not name it before it exists.
    assert!(want
        .str("pre_sign_up_lambda_arn")
        .ends_with(":function:p-cognito-presignup-lambda"));
    assert!(want.bool("self_sign_up", false));
    decl.hold_later(
        &mut want,
        &values,
        &lookup,
        &["presignup-function".to_string()],
    );
    assert_eq!(want.str("pre_sign_up_lambda_arn"), "");
    assert!(!want.bool("self_sign_up", true));
    assert!(want.is_known("pre_sign_up_lambda_arn"));
    assert_eq!(want.tags()["iotstack:stack"], "p");

    // Made already: written with the create.
    let mut want = decl.resolve(&values, &lookup);
    decl.hold_later(&mut want, &values, &lookup, &[]);
    assert!(want
        .str("pre_sign_up_lambda_arn")
        .ends_with("p-cognito-presignup-lambda"));
    assert!(want.bool("self_sign_up", false));
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("iotstack-deps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
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
fn parse_errors_match_their_snapshots() {
    for (name, text) in [
        (
            "malformed_yaml",
            "version: 1\nresources:\n  thing:\n    type: [iot_thing\n    properties: {}\n",
        ),
        (
            "unknown_key",
            "version: 1\nresources:\n  thing:\n    type: iot_thing\n    propertes:\n      name: x\n",
        ),
        (
            "missing_required_property",
            "version: 1\nresources:\n  thing:\n    type: iot_thing\n    properties: {}\n",
        ),
        (
            "undefined_reference",
            "version: 1\nresources:\n  thing:\n    type: iot_thing\n    properties:\n      name: ${prefix}-thing\n  link:\n    type: iot_thing_principal\n    properties:\n      thing: ${thing.name}\n      principal: ${cert.arn}\n",
        ),
        (
            "dependency_cycle",
            "version: 1\nresources:\n  a:\n    type: iot_thing\n    depends_on: [b]\n    properties:\n      name: a\n  b:\n    type: iot_thing\n    depends_on: [a]\n    properties:\n      name: b\n",
        ),
    ] {
        insta::assert_snapshot!(name, errors(text));
    }
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
    // Read from the schema, which shows each property's range: every kind, every property.
    let schema = super::schema::json_schema();
    let mut seen = 0;
    for (kind, def) in schema["$defs"].as_object().expect("$defs") {
        for (name, p) in def["properties"].as_object().into_iter().flatten() {
            if p["type"] != "integer" {
                continue;
            }
            seen += 1;
            let what = format!("{kind}.{name}");
            let (Some(min), Some(max)) = (p["minimum"].as_i64(), p["maximum"].as_i64()) else {
                panic!("{what} has no range: give its PropSpec `.range(min, max)`");
            };
            assert!(min <= max, "{what}");
            // The SDK takes an i32: every accepted value fits one.
            assert!(
                i32::try_from(min).is_ok() && i32::try_from(max).is_ok(),
                "{what}"
            );
        }
    }
    // At least password_min_length, temporary_password_validity_days, refresh_token_validity_days
    // and timeout.
    assert!(seen >= 4, "{seen} whole-number properties");
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
        let f = format!("version: 1\nresources:\n  f:\n    type: lambda_function\n    properties:\n      name: n\n      role_arn: r\n      code: builtin:presignup\n      handler: h.h\n      timeout: {timeout}\n");
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

/// The errors of the stack file `stacks/s.yaml` in `dir` with `text`, the folder (as named and
/// resolved) shown as `<dir>`.
fn errors_in(dir: &Path, text: &str) -> String {
    let real = dir.canonicalize().expect("resolves").display().to_string();
    errors_of(&dir.join("stacks/s.yaml"), text)
        .replace(&real, "<dir>")
        .replace(&dir.display().to_string(), "<dir>")
}

#[test]
fn files_a_stack_names_stay_inside_its_folder() {
    let outside = tempfile::tempdir().expect("temp dir");
    let secret = outside.path().join("credentials");
    std::fs::write(&secret, "[default]\naws_secret_access_key = hush\n").expect("write");
    let project = tempfile::tempdir().expect("temp dir");
    let d = project.path();
    for sub in ["stacks", "policies", "functions", ".aws"] {
        std::fs::create_dir_all(d.join(sub)).expect("mkdir");
    }
    let policy = r#"{"Version": "2012-10-17", "Statement": []}"#;
    std::fs::write(d.join("policies/p.json"), policy).expect("write");
    std::fs::write(d.join("functions/f.py"), "def h(e, c): pass\n").expect("write");
    std::fs::write(d.join(".aws/credentials"), policy).expect("write");
    std::os::unix::fs::symlink(&secret, d.join("policies/link.json")).expect("symlink");
    std::os::unix::fs::symlink(&secret, d.join("functions/link.py")).expect("symlink");
    let doc = |path: &str| {
        format!("version: 1\nresources:\n  p:\n    type: iot_policy\n    properties:\n      name: p\n      document: {path}\n")
    };
    let code = |path: &str| {
        format!("version: 1\nresources:\n  f:\n    type: lambda_function\n    properties:\n      name: f\n      role_arn: r\n      handler: f.h\n      code: {path}\n")
    };
    // Inside the project (the stack file's `stacks/` folder and its parent): read.
    let project_stack = d.join("stacks/s.yaml");
    Stack::parse(&project_stack, &doc("../policies/p.json")).unwrap_or_else(|e| panic!("{e:?}"));
    Stack::parse(&project_stack, &code("../functions/f.py")).unwrap_or_else(|e| panic!("{e:?}"));

    let outside_hint = "hint: a stack reads only files inside the folder of its stack file (for a stack file in a `stacks/` folder, the folder that holds it): copy the file there";
    let secret_path = secret.display().to_string();
    let up = format!(
        "../../{}",
        outside.path().file_name().unwrap().to_string_lossy()
    );
    // An absolute path, a path up and out, and a link inside that points out.
    for (path, shown) in [
        (secret_path.clone(), secret_path.clone()),
        (
            format!("{up}/credentials"),
            format!("{}/credentials", outside.path().display()),
        ),
        (
            "../policies/link.json".to_string(),
            "<dir>/policies/link.json".to_string(),
        ),
    ] {
        let out = errors_in(d, &doc(&path));
        assert_eq!(
            out,
            format!("<dir>/stacks/s.yaml:7:17: error: `p.document`: `{shown}` is outside the stack's folder `<dir>`\n  {outside_hint}"),
        );
        assert!(!out.contains("hush"));
    }
    let out = errors_in(d, &code("../functions/link.py"));
    assert_eq!(
        out,
        format!("<dir>/stacks/s.yaml:9:13: error: `f.code`: `<dir>/functions/link.py` is outside the stack's folder `<dir>`\n  {outside_hint}"),
    );
    // A hidden folder inside the project is refused too.
    assert_eq!(
        errors_in(d, &doc("../.aws/credentials")),
        "<dir>/stacks/s.yaml:7:17: error: `p.document`: `<dir>/.aws/credentials` is a hidden file or in a hidden folder\n  hint: a stack reads no hidden files or folders (such as `.aws` or `.ssh`): move the file out of it",
    );
    // A stack file in any other folder reads only below that folder.
    std::fs::create_dir_all(d.join("elsewhere")).expect("mkdir");
    let e = errors_of(&d.join("elsewhere/s.yaml"), &doc("../policies/p.json"));
    assert!(
        e.contains("`p.document`: `") && e.contains("is outside the stack's folder"),
        "{e}"
    );
}

/// Every shipped policy writes its ARNs with `${partition}`: `arn:aws:` would be wrong in the
/// China (`aws-cn`) and GovCloud (`aws-us-gov`) partitions.
#[test]
fn shipped_policies_follow_the_region_partition() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("policies/") {
        let path = entry.expect("an entry").path();
        let text = std::fs::read_to_string(&path).expect("a policy file");
        assert!(
            !text.contains("arn:aws:"),
            "{} writes arn:aws:",
            path.display()
        );
        checked += 1;
    }
    assert!(checked > 10, "{checked} policy files");
}

fn counted(count: &str, extra: &str) -> Result<Stack, Vec<Diagnostic>> {
    let text = format!(
        "version: 1\nresources:\n  group:\n    type: iot_thing_group\n    properties:\n      name: ${{prefix}}-fleet\n  thing:\n    type: iot_thing\n    count: {count}\n    properties:\n      name: ${{prefix}}-device-${{index}}\n  member:\n    type: iot_thing_group_member\n    count: {count}\n    properties:\n      thing: ${{thing.name}}\n      thing_group: ${{group.name}}\n{extra}"
    );
    Stack::parse(Path::new("s.yaml"), &text)
}

#[test]
fn a_counted_resource_is_expanded_into_numbered_copies_that_refer_index_by_index() {
    let stack = counted("12", "").unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(stack.resources.len(), 1 + 12 + 12);
    let thing = stack.get("thing-007").expect("copy 7");
    assert_eq!(thing.copy_of.as_deref(), Some("thing"));
    let name = thing.name_template().unwrap();
    assert_eq!(name.parts.last(), Some(&template::Part::Lit("007".into())));
    let member = stack.get("member-012").expect("copy 12");
    let mut deps = member.deps.clone();
    deps.sort();
    assert_eq!(deps, vec!["group".to_string(), "thing-012".to_string()]);
    assert!(stack.get("thing").is_none() && stack.get("thing-000").is_none());
    assert!(stack.get("thing-013").is_none());
}

fn refused(r: Result<Stack, Vec<Diagnostic>>) -> Vec<Diagnostic> {
    match r {
        Ok(_) => panic!("the stack was accepted"),
        Err(d) => d,
    }
}

#[test]
fn a_bad_count_is_reported_where_it_is_written() {
    let diags = refused(counted("0", ""));
    assert_eq!(diags.len(), 2, "{diags:?}");
    assert_eq!(diags[0].origin, at(9, 12));
    assert!(diags[0]
        .message
        .contains("`thing.count` must be from 1 to 10000, found 0"));
    let diags = refused(counted("many", ""));
    assert_eq!(diags[0].origin, at(9, 12));
    assert!(diags[0]
        .message
        .contains("must be a whole number or `${devices}`"));
    let diags = refused(counted("${devices}", ""));
    assert!(
        diags[0].message.contains("no device count is given"),
        "{diags:?}"
    );
}

#[test]
fn counted_resources_refer_only_to_copies_of_the_same_count() {
    let other = "  other:\n    type: iot_thing_group_member\n    count: 3\n    properties:\n      thing: ${thing.name}\n      thing_group: ${group.name}\n";
    let diags = refused(counted("2", other));
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].origin, at(22, 7));
    assert!(diags[0]
        .message
        .contains("refers to `thing` (count 2), but `other` has count 3"));
    let whole = "  whole:\n    type: iot_thing_group_member\n    properties:\n      thing: ${thing.name}\n      thing_group: x-${index}\n";
    let diags = refused(counted("2", whole));
    assert_eq!(diags.len(), 2, "{diags:?}");
    assert!(diags[0]
        .message
        .contains("refers to the counted resource `thing`"));
    assert!(diags[1]
        .message
        .contains("uses `${index}`, but `whole` has no `count`"));
}

#[test]
fn the_fleet_stack_has_its_default_device_count() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/fleet.yaml");
    let stack = Stack::load(&path).unwrap_or_else(|d| panic!("{d:?}"));
    // The group, the policy and its attachment to the group; four resources per device.
    assert_eq!(stack.resources.len(), 3 + 4 * 500);
    assert!(stack.get("device-member-500").is_some());
}
