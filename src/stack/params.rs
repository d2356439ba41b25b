//! Stack parameters: prefix, email, ip and region, from flags, `IOTSTACK_*` variables or the
//! stack file's `parameters:` defaults, in that order, each validated with where it came from.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::{Diagnostic, Origin};

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced {
    pub value: String,
    pub origin: Origin,
}

/// Parameter values given on the command line (and the environment, read by the caller).
#[derive(Debug, Clone, Default)]
pub struct ParamInput {
    pub prefix: Option<Sourced>,
    pub email: Option<Sourced>,
    pub ip: Option<Sourced>,
}

/// The validated parameters of one run. `email` and `ip` may be absent for plan and destroy.
#[derive(Debug, Clone)]
pub struct Params {
    pub prefix: Sourced,
    pub email: Option<Sourced>,
    /// Normalised to a CIDR (`203.0.113.7` becomes `203.0.113.7/32`).
    pub ip: Option<Sourced>,
    /// Problems worth telling that do not stop the run (an address AWS never sees).
    pub warnings: Vec<Diagnostic>,
}

impl Params {
    /// The values templates substitute (`${prefix}`, ...). `region` and `account` come from AWS,
    /// `partition` from the region.
    pub fn values(&self, region: &str, account: &str) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("prefix".into(), self.prefix.value.clone());
        m.insert(
            "prefix_underscore".into(),
            self.prefix.value.replace('-', "_"),
        );
        if let Some(e) = &self.email {
            m.insert("email".into(), e.value.clone());
            if let Some((_, domain)) = e.value.rsplit_once('@') {
                m.insert("email_domain".into(), domain.to_ascii_lowercase());
            }
        }
        if let Some(i) = &self.ip {
            m.insert("ip".into(), i.value.clone());
        }
        m.insert("region".into(), region.to_string());
        m.insert("account".into(), account.to_string());
        let partition = iotstack_policy::partition_for_region(region);
        m.insert("partition".into(), partition.to_string());
        m
    }
}

pub const PREFIX_MAX: usize = 32;

pub fn check_prefix(p: &str) -> Result<(), String> {
    let valid =
        "a letter followed by letters, digits and `-` (at most 32 characters), e.g. `acme-dev`";
    if p.is_empty() {
        return Err(format!("the prefix is empty; use {valid}"));
    }
    if p.chars().count() > PREFIX_MAX {
        return Err(format!(
            "the prefix `{p}` is {} characters long; use {valid}",
            p.chars().count()
        ));
    }
    if !p.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(format!(
            "the prefix `{p}` must start with a letter; use {valid}"
        ));
    }
    if let Some(c) = p
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!("the prefix `{p}` contains `{c}`; use {valid}"));
    }
    if p.ends_with('-') || p.contains("--") {
        return Err(format!("the prefix `{p}` has a stray `-`; use {valid}"));
    }
    Ok(())
}

pub fn check_email(e: &str) -> Result<(), String> {
    let valid = "an address such as `ops@example.com`";
    let bad = |why: &str| {
        Err(format!(
            "`{e}` is not a valid email address ({why}); use {valid}"
        ))
    };
    let parts: Vec<&str> = e.split('@').collect();
    if parts.len() != 2 {
        return bad("it needs exactly one `@`");
    }
    let (local, domain) = (parts[0], parts[1]);
    if local.is_empty() || local.len() > 64 {
        return bad("the part before `@` is empty or too long");
    }
    if e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains white space");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels.iter().any(|l| {
            l.is_empty()
                || l.starts_with('-')
                || l.ends_with('-')
                || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
    {
        return bad("the domain is not a valid host name");
    }
    Ok(())
}

/// Accepts an address or a CIDR; returns the CIDR form.
pub fn check_ip(ip: &str) -> Result<String, String> {
    if let Ok(a) = ip.parse::<IpAddr>() {
        return Ok(IpNet::from(a).to_string());
    }
    match ip.parse::<IpNet>() {
        Ok(n) if n.prefix_len() == 0 => Err(format!(
            "`{ip}` is every address: the app secret's policy would restrict nothing; give the \
             public address (or network) the secret is read from, e.g. `203.0.113.7`"
        )),
        Ok(n) if n.trunc() == n => Ok(n.to_string()),
        Ok(n) => Err(format!(
            "`{ip}` has host bits set; the network is `{}`",
            n.trunc()
        )),
        Err(_) => Err(format!(
            "`{ip}` is not an IP address or CIDR; use e.g. `203.0.113.7` or `203.0.113.0/24`"
        )),
    }
}

/// Why an address AWS never sees as a request's source deserves a warning: private, loopback,
/// link-local, shared (CGNAT) or unspecified networks are behind a NAT or never leave the host,
/// so `aws:SourceIp` (the public address AWS receives the request from) cannot match them.
pub fn ip_warning(cidr: &str) -> Option<String> {
    let net: IpNet = cidr.parse().ok()?;
    let inside = |outer: &str| {
        outer
            .parse::<IpNet>()
            .is_ok_and(|o: IpNet| o.contains(&net))
    };
    let what = [
        ("10.0.0.0/8", "a private network"),
        ("172.16.0.0/12", "a private network"),
        ("192.168.0.0/16", "a private network"),
        ("100.64.0.0/10", "a carrier-grade NAT network"),
        ("127.0.0.0/8", "the loopback network"),
        ("169.254.0.0/16", "a link-local network"),
        ("0.0.0.0/8", "the unspecified network"),
        ("fc00::/7", "a private (unique local) network"),
        ("fe80::/10", "a link-local network"),
        ("::1/128", "the loopback address"),
        ("::/128", "the unspecified address"),
    ]
    .into_iter()
    .find(|(range, _)| inside(range))?
    .1;
    Some(format!(
        "`{cidr}` is in {what}: AWS sees requests come from a public address, never from it, so \
         reads of the app secret would be denied from everywhere"
    ))
}

/// Validates every given parameter, collecting every problem.
pub fn validate(
    input: &ParamInput,
    defaults: &BTreeMap<String, Sourced>,
    required: &[&str],
) -> Result<Params, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut warnings = Vec::new();
    let pick = |given: &Option<Sourced>, name: &str| -> Option<Sourced> {
        given.clone().or_else(|| defaults.get(name).cloned())
    };
    let mut prefix = pick(&input.prefix, "prefix");
    let mut email = pick(&input.email, "email");
    let mut ip = pick(&input.ip, "ip");
    for (name, v) in [("prefix", &prefix), ("email", &email), ("ip", &ip)] {
        if v.is_none() && required.contains(&name) {
            diags.push(
                Diagnostic::error(
                    Origin::Flag(format!("--{name}")),
                    format!("missing parameter `{name}`"),
                )
                .hint(format!(
                    "pass --{name}, set IOTSTACK_{}, or give `parameters.{name}` in the stack file",
                    name.to_uppercase()
                )),
            );
        }
    }
    if let Some(p) = &prefix {
        if let Err(m) = check_prefix(&p.value) {
            diags.push(Diagnostic::error(p.origin.clone(), m));
        }
    }
    if let Some(e) = &email {
        if let Err(m) = check_email(&e.value) {
            diags.push(Diagnostic::error(e.origin.clone(), m));
        }
    }
    if let Some(i) = &mut ip {
        match check_ip(&i.value) {
            Ok(cidr) => {
                if let Some(w) = ip_warning(&cidr) {
                    warnings.push(Diagnostic {
                        warning: true,
                        ..Diagnostic::error(i.origin.clone(), w)
                            .hint("pass the public address your requests leave from")
                    });
                }
                i.value = cidr;
            }
            Err(m) => diags.push(Diagnostic::error(i.origin.clone(), m)),
        }
    }
    if let Some(e) = &mut email {
        e.value = e.value.trim().to_string();
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(Params {
        prefix: prefix.take().expect("prefix is always required"),
        email,
        ip,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `check` accepts every one of `good` and refuses every one of `bad`.
    #[track_caller]
    fn sorts(check: fn(&str) -> Result<(), String>, good: &[&str], bad: &[&str]) {
        for g in good {
            assert!(check(g).is_ok(), "{g}");
        }
        for b in bad {
            assert!(check(b).is_err(), "{b}");
        }
    }

    #[test]
    fn prefixes() {
        let long = "a".repeat(33);
        sorts(
            check_prefix,
            &["acme-dev", "a1"],
            &["", "1abc", "a_b", "a/b", "a-", "a--b", "a+b", &long],
        );
    }

    #[test]
    fn emails() {
        sorts(
            check_email,
            &["ops@example.com"],
            &[
                "ops",
                "a@b@example.com",
                "@example.com",
                "ops@localhost",
                "o ps@example.com",
                "ops@-x.com",
            ],
        );
    }

    #[test]
    fn ips() {
        assert_eq!(check_ip("203.0.113.7").unwrap(), "203.0.113.7/32");
        assert_eq!(check_ip("203.0.113.0/24").unwrap(), "203.0.113.0/24");
        assert_eq!(check_ip("2001:db8::1").unwrap(), "2001:db8::1/128");
        assert!(check_ip("203.0.113.7/24").is_err());
        assert!(check_ip("300.1.1.1").is_err());
        assert!(check_ip("example.com").is_err());
        for every in ["0.0.0.0/0", "::/0"] {
            let e = check_ip(every).unwrap_err();
            assert!(e.contains("restrict nothing"), "{e}");
        }
        assert!(
            check_ip("0.0.0.0/1").is_ok(),
            "half the internet still restricts something"
        );
    }

    #[test]
    fn addresses_aws_never_sees_are_warned_about() {
        for private in [
            "10.1.2.3/32",
            "172.20.0.0/16",
            "192.168.1.7/32",
            "127.0.0.1/32",
            "100.64.1.1/32",
            "169.254.169.254/32",
            "fd00::1/128",
            "::1/128",
        ] {
            assert!(ip_warning(private).is_some(), "{private}");
        }
        for public in [
            "203.0.113.7/32",
            "198.51.100.0/24",
            "2001:db8::1/128",
            "8.0.0.0/7",
        ] {
            assert!(ip_warning(public).is_none(), "{public}");
        }
    }

    #[test]
    fn flag_beats_default_and_all_problems_are_listed() {
        let mut defaults = BTreeMap::new();
        defaults.insert(
            "prefix".to_string(),
            Sourced {
                value: "from-file".into(),
                origin: Origin::None,
            },
        );
        let input = ParamInput {
            prefix: Some(Sourced {
                value: "cli".into(),
                origin: Origin::Flag("--prefix".into()),
            }),
            email: Some(Sourced {
                value: "bad".into(),
                origin: Origin::Flag("--email".into()),
            }),
            ip: Some(Sourced {
                value: "nope".into(),
                origin: Origin::Flag("--ip".into()),
            }),
        };
        let diags = validate(&input, &defaults, &["prefix"]).unwrap_err();
        assert_eq!(diags.len(), 2);
        assert_eq!(diags[0].origin, Origin::Flag("--email".into()));
        assert_eq!(diags[1].origin, Origin::Flag("--ip".into()));
        let input = ParamInput {
            prefix: input.prefix,
            ..Default::default()
        };
        let p = validate(&input, &defaults, &["prefix"]).unwrap();
        assert_eq!(p.prefix.value, "cli");
    }
}
