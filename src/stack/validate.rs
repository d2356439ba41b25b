//! The offline checks behind `iotstack validate`: the stack file, its parameters and derived
//! names, and a lint of every policy template. No AWS call, no AWS configuration.
//!
//! Templates are rendered for the lint with placeholder values (prefix `example`, account
//! `123456789012`, a plausible ARN for `${id.arn}`, ...); policy variables pass through. Each
//! finding names the policy file, line and column of the offending value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use iotstack_policy::lint::{self, Severity};
use iotstack_policy::{iot_arn, locate, partition_for_region};
use serde_json::Value;

use super::params::{self, ParamInput, Params, Sourced};
use super::source::Source;
use super::template::{Part, Template};
use super::{PropValue, ResourceDecl, Stack};
use crate::error::{Diagnostic, Origin};

/// The account id policies are rendered with.
pub const PLACEHOLDER_ACCOUNT: &str = "123456789012";
const PLACEHOLDER_PREFIX: &str = "example";
const PLACEHOLDER_ID: &str = "example-id";
const PLACEHOLDER_EMAIL: &str = "ops@example.com";
const PLACEHOLDER_IP: &str = "203.0.113.7/32";
const DEFAULT_REGION: &str = "us-east-1";

/// The stack sets `settings.allow_identity_self_attach: true`.
pub const RULE_SELF_ATTACH_OPT_IN: &str = "self-attach-opt-in";

/// The stack uses what AWS does not offer in the region (function URLs).
pub const RULE_REGION_SUPPORT: &str = "region-support";

/// A problem in the stack file, a parameter, a derived name (rules `stack-file`, `parameter`,
/// `resource-name`), what the region does not offer (`region-support`), a policy (the lint
/// rules), or the self-attach opt-in (`self-attach-opt-in`).
#[derive(Debug, Clone)]
pub struct Finding {
    pub origin: Origin,
    pub severity: Severity,
    pub rule: String,
    pub message: String,
    pub hint: Option<String>,
    /// The resource and property the policy belongs to.
    pub resource: Option<String>,
    pub property: Option<String>,
}

impl Finding {
    fn from_diagnostic(d: Diagnostic, rule: &str) -> Finding {
        Finding {
            origin: d.origin,
            severity: if d.warning {
                Severity::Warning
            } else {
                Severity::Error
            },
            rule: rule.to_string(),
            message: d.message,
            hint: d.hint,
            resource: None,
            property: None,
        }
    }
}

/// What validate found.
pub struct Report {
    pub stack: PathBuf,
    pub findings: Vec<Finding>,
    /// How many policy templates were linted.
    pub policies: usize,
}

impl Report {
    pub fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }

    /// No errors (and, when `strict`, no warnings either).
    pub fn passes(&self, strict: bool) -> bool {
        self.count(Severity::Error) == 0 && (!strict || self.count(Severity::Warning) == 0)
    }
}

/// Every offline check of the stack file `stack` (the built-in stack when `None`).
pub fn check(stack: Option<&Path>, input: &ParamInput, region: Option<&str>) -> Report {
    let (source, path) = Source::of(stack);
    let mut report = Report {
        stack: path.clone(),
        findings: Vec::new(),
        policies: 0,
    };
    let stack = match Stack::load_from(source, &path) {
        Ok(s) => s,
        Err(diags) => {
            report.findings.extend(
                diags
                    .into_iter()
                    .map(|d| Finding::from_diagnostic(d, "stack-file")),
            );
            return report;
        }
    };
    let region = region
        .map(str::to_string)
        .or_else(|| stack.defaults.get("region").map(|r| r.value.clone()))
        .unwrap_or_else(|| DEFAULT_REGION.to_string());

    // Parameters are optional here: what is not given is a placeholder.
    let given_prefix = input.prefix.is_some() || stack.defaults.contains_key("prefix");
    let mut with_prefix = input.clone();
    if !given_prefix {
        with_prefix.prefix = Some(Sourced {
            value: PLACEHOLDER_PREFIX.into(),
            origin: Origin::None,
        });
    }
    let validated = params::validate(&with_prefix, &stack.defaults, &[]);
    // A valid prefix is checked against the naming rules even when another parameter is wrong.
    let for_names = validated.clone().or_else(|_| {
        let only_prefix = ParamInput {
            prefix: with_prefix.prefix.clone(),
            ..Default::default()
        };
        let defaults = stack
            .defaults
            .iter()
            .filter(|(k, _)| k.as_str() == "prefix")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        params::validate(&only_prefix, &defaults, &[])
    });
    if let Err(diags) = stack.check_region(&region) {
        report.findings.extend(
            diags
                .into_iter()
                .map(|d| Finding::from_diagnostic(d, RULE_REGION_SUPPORT)),
        );
    }
    if let (true, Ok(p)) = (given_prefix, &for_names) {
        if let Err(diags) = stack.check_names(p) {
            report.findings.extend(
                diags
                    .into_iter()
                    .map(|d| Finding::from_diagnostic(d, "resource-name")),
            );
        }
    }
    let mut values = match validated {
        Ok(p) => {
            report.findings.extend(
                p.warnings
                    .iter()
                    .cloned()
                    .map(|d| Finding::from_diagnostic(d, "parameter")),
            );
            p.values(&region, PLACEHOLDER_ACCOUNT)
        }
        Err(diags) => {
            report.findings.splice(
                0..0,
                diags
                    .into_iter()
                    .map(|d| Finding::from_diagnostic(d, "parameter")),
            );
            let mut v = BTreeMap::new();
            v.insert("prefix".to_string(), PLACEHOLDER_PREFIX.to_string());
            v.insert(
                "prefix_underscore".to_string(),
                PLACEHOLDER_PREFIX.to_string(),
            );
            v.insert("region".to_string(), region.clone());
            v.insert("account".to_string(), PLACEHOLDER_ACCOUNT.to_string());
            let partition = partition_for_region(&region);
            v.insert("partition".to_string(), partition.to_string());
            v
        }
    };
    if !values.contains_key("email") {
        values.insert("email".into(), PLACEHOLDER_EMAIL.into());
        values.insert("email_domain".into(), "example.com".into());
    }
    values.entry("ip".into()).or_insert(PLACEHOLDER_IP.into());

    // The opt-in is always visible, whether a policy uses it or not.
    let opted_in = stack.settings.allow_identity_self_attach;
    if opted_in {
        report.findings.push(Finding {
            origin: stack.settings.allow_identity_self_attach_at.clone(),
            severity: Severity::Warning,
            rule: RULE_SELF_ATTACH_OPT_IN.to_string(),
            message: "the stack opts in to identities attaching AWS IoT policies themselves: with iot:AttachPolicy in an identity pool role, any signed-in identity can attach any AWS IoT policy to any target, e.g. an iot:* policy to its own identity id".into(),
            hint: Some("remove the setting (and iot:AttachPolicy from the authenticated role) to let only the stack's attach function attach the IoT policy, to the calling identity".into()),
            resource: None,
            property: None,
        });
    }

    let lookup = |id: &str, attr: &str| Some(placeholder(&stack, &values, id, attr, 0));
    for r in &stack.resources {
        let identity = is_identity_role(r, &values, &lookup);
        for p in &r.props {
            let policies: Vec<(String, &PathBuf, &Template)> = match &p.value {
                PropValue::Policy(path, t) => vec![(p.spec.name.to_string(), path, t)],
                PropValue::PolicyMap(items) => items
                    .iter()
                    .map(|(k, path, t)| (format!("{}.{k}", p.spec.name), path, t))
                    .collect(),
                _ => continue,
            };
            let lint_fn: fn(&Value) -> Vec<lint::Finding> = match (r.kind.type_name(), p.spec.name)
            {
                ("iot_policy", _) => lint::lint_iot_policy,
                ("iam_role", "assume_role_policy") => lint::lint_trust_policy,
                ("iam_role", _) if identity => lint::lint_identity_policy,
                ("secretsmanager_secret", "resource_policy") => lint::lint_resource_policy,
                _ => lint::lint_common,
            };
            for (property, path, t) in policies {
                report.policies += 1;
                let (text, _) = t.render(&values, &lookup, true);
                let doc = Value::String(text);
                let raw = stack.source.read(path).unwrap_or_else(|_| source_text(t));
                let mut found: Vec<Finding> = lint_fn(&doc)
                    .into_iter()
                    .map(|f| {
                        if opted_in {
                            lint::self_attach_opted_in(f)
                        } else {
                            f
                        }
                    })
                    .map(|f| {
                        let pos = locate::locate(&raw, &f.pointer)
                            .unwrap_or(locate::Position { line: 1, col: 1 });
                        Finding {
                            origin: Origin::File {
                                path: path.clone(),
                                line: pos.line,
                                col: pos.col,
                            },
                            severity: f.severity,
                            rule: f.rule.to_string(),
                            message: f.message,
                            hint: None,
                            resource: Some(r.id.clone()),
                            property: Some(property.clone()),
                        }
                    })
                    .collect();
                found.sort_by_key(|f| match &f.origin {
                    Origin::File { line, col, .. } => (*line, *col),
                    _ => (0, 0),
                });
                report.findings.extend(found);
            }
        }
    }
    report
}

impl Stack {
    /// What the stack uses that AWS does not offer in `region` (function URLs in the regions
    /// without them), known before any AWS call.
    pub fn check_region(&self, region: &str) -> Result<(), Vec<Diagnostic>> {
        let url = crate::resources::lambda_function_url::SPEC.type_name;
        let problem = crate::resources::lambda_function_url::region_problem(region);
        let diags: Vec<Diagnostic> = problem
            .iter()
            .flat_map(|problem| {
                let urls = self.resources.iter().filter(|r| r.kind.type_name() == url);
                urls.map(move |r| {
                    Diagnostic::error(r.origin.clone(), format!("`{}` ({url}): {problem}", r.id))
                        .hint("choose another region (--region, AWS_REGION, the profile's region or `parameters.region`)")
                })
            })
            .collect();
        if diags.is_empty() {
            Ok(())
        } else {
            Err(diags)
        }
    }

    /// Offline checks that need the parameters: every derived name must follow its AWS rule.
    /// The copies of a counted resource are reported once: the first copy whose name breaks the
    /// rule, and how many others do.
    pub fn check_names(&self, p: &Params) -> Result<(), Vec<Diagnostic>> {
        let values = p.values("us-east-1", "000000000000");
        let mut diags: Vec<Diagnostic> = Vec::new();
        let mut copies: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for r in &self.resources {
            let Some(d) = name_problem(r, p, &values) else {
                continue;
            };
            match r.copy_of.as_deref().map(|c| (c, copies.get_mut(c))) {
                Some((_, Some((_, more)))) => *more += 1,
                Some((c, None)) => {
                    copies.insert(c, (diags.len(), 0));
                    diags.push(d);
                }
                None => diags.push(d),
            }
        }
        for (declared, (at, more)) in copies {
            if more > 0 {
                let d = &mut diags[at];
                d.message = format!("{} (and {more} other copies of `{declared}`)", d.message);
            }
        }
        if diags.is_empty() {
            Ok(())
        } else {
            Err(diags)
        }
    }
}

/// The problem with `r`'s name, when it is known offline and breaks the kind's rule.
fn name_problem(
    r: &ResourceDecl,
    p: &Params,
    values: &BTreeMap<String, String>,
) -> Option<Diagnostic> {
    let t = r.name_template()?;
    if t.refs().next().is_some() {
        return None;
    }
    let (name, _) = t.render(values, &|_, _| None, false);
    let problem = r.kind.spec().check_name(&name)?;
    let uses_prefix = t
        .parts
        .iter()
        .any(|p| matches!(p, Part::Param(n) if n.starts_with("prefix")));
    let origin = if uses_prefix {
        p.prefix.origin.clone()
    } else {
        r.origin.clone()
    };
    let mut d = Diagnostic::error(
        origin,
        format!(
            "the name of `{}` ({}) is invalid: {problem}",
            r.id,
            r.kind.type_name()
        ),
    );
    if uses_prefix {
        d = d.hint(format!(
            "the name is derived from the prefix `{}`: choose a shorter or simpler prefix",
            p.prefix.value
        ));
    }
    Some(d)
}

/// A role is an identity pool role when its trust policy lets Cognito identities assume it.
fn is_identity_role(
    r: &ResourceDecl,
    values: &BTreeMap<String, String>,
    lookup: &dyn Fn(&str, &str) -> Option<String>,
) -> bool {
    let Some(t) = r.props.iter().find_map(|p| match (&p.value, p.spec.name) {
        (PropValue::Policy(_, t), "assume_role_policy") => Some(t),
        _ => None,
    }) else {
        return false;
    };
    let (text, _) = t.render(values, lookup, true);
    let Ok(doc) = serde_json::from_str::<Value>(&text) else {
        return false;
    };
    let statements = match &doc["Statement"] {
        Value::Array(items) => items.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => Vec::new(),
    };
    statements.into_iter().any(|s| {
        s["Effect"] == "Allow"
            && match &s["Principal"]["Federated"] {
                Value::String(p) => p == "cognito-identity.amazonaws.com",
                Value::Array(ps) => ps.iter().any(|p| p == "cognito-identity.amazonaws.com"),
                _ => false,
            }
    })
}

/// A plausible value for `${id.attr}`: an ARN of the right service, a name, or `example-id`.
fn placeholder(
    stack: &Stack,
    values: &BTreeMap<String, String>,
    id: &str,
    attr: &str,
    depth: usize,
) -> String {
    let region = values.get("region").map_or(DEFAULT_REGION, String::as_str);
    let account = values
        .get("account")
        .map_or(PLACEHOLDER_ACCOUNT, String::as_str);
    let partition = partition_for_region(region);
    let Some(r) = stack.get(id) else {
        return PLACEHOLDER_ID.to_string();
    };
    let name = || match r.name_template() {
        Some(t) if depth < 4 => {
            let inner = |i: &str, a: &str| Some(placeholder(stack, values, i, a, depth + 1));
            t.render(values, &inner, false).0
        }
        _ => format!("{PLACEHOLDER_PREFIX}-{id}"),
    };
    let iot = |kind: &str, n: &str| iot_arn(region, account, kind, n);
    match (r.kind.type_name(), attr) {
        (_, "name" | "username") => name(),
        ("iam_role", "arn") => format!("arn:{partition}:iam::{account}:role/{}", name()),
        ("iot_policy", "arn") => iot("policy", &name()),
        ("iot_thing", "arn") => iot("thing", &name()),
        ("iot_topic_rule", "arn") => iot("rule", &name()),
        ("iot_certificate", "arn") => iot("cert", PLACEHOLDER_ID),
        ("sns_topic", "arn") => format!("arn:{partition}:sns:{region}:{account}:{}", name()),
        ("lambda_function", "arn") => {
            format!("arn:{partition}:lambda:{region}:{account}:function:{}", name())
        }
        ("secretsmanager_secret", "arn") => format!(
            "arn:{partition}:secretsmanager:{region}:{account}:secret:{}-AbCdEf",
            name()
        ),
        ("cognito_user_pool", "arn") => format!(
            "arn:{partition}:cognito-idp:{region}:{account}:userpool/{region}_{PLACEHOLDER_ID}"
        ),
        ("cognito_user_pool", "provider_name") => {
            format!("cognito-idp.{region}.amazonaws.com/{region}_{PLACEHOLDER_ID}")
        }
        ("cognito_identity_pool", "arn") => format!(
            "arn:{partition}:cognito-identity:{region}:{account}:identitypool/{region}:{PLACEHOLDER_ID}"
        ),
        ("iot_endpoint", "address") => {
            format!("{PLACEHOLDER_ID}-ats.iot.{region}.amazonaws.com")
        }
        ("lambda_function_url", "url") => {
            format!("https://{PLACEHOLDER_ID}.lambda-url.{region}.on.aws/")
        }
        (_, "arn") => format!("arn:{partition}:{}:{region}:{account}:{id}", r.kind.type_name()),
        _ => PLACEHOLDER_ID.to_string(),
    }
}

/// The template's text as written (when its file cannot be read again).
fn source_text(t: &Template) -> String {
    t.parts
        .iter()
        .map(|p| match p {
            Part::Lit(s) => s.clone(),
            Part::Param(n) => format!("${{{n}}}"),
            Part::Ref { id, attr } => format!("${{{id}.{attr}}}"),
        })
        .collect()
}
