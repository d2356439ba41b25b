//! The IoT policy attached to every signed-in identity already in an identity pool, page by
//! page. (New identities attach themselves through the attach function's URL; `doctor --fix`
//! repairs one.) Guest identities, which have no logins, are left alone: AWS IoT authorizes a
//! guest by its role alone (there is no IoT policy layer for unauthenticated identities), and an
//! app makes a new guest at every launch.

use std::collections::BTreeSet;

use aws_sdk_cognitoidentity::types::IdentityDescription;
use serde_json::json;

use super::iot_policy;
use super::prelude::*;
use crate::error::AwsError;

pub struct IotIdentityAttachments;

pub static SPEC: KindSpec = KindSpec {
    type_name: "iot_identity_attachments",
    props: &[
        PropSpec::required(
            "policy",
            PropType::Str,
            "the IoT policy, e.g. `${identity-iot-policy.name}`",
        )
        .force_new(),
        PropSpec::required(
            "identity_pool_id",
            PropType::Str,
            "the pool, e.g. `${identity-pool.id}`",
        )
        .force_new(),
    ],
    attrs: &[],
    name_rule: None,
    ownership: Ownership::Parent,
    missing: Missing::IOT,
    facts: &["all_identities_attached"],
    // The policy's own delete detaches it from every target first, these identities included
    // ("You must detach the policy from all targets before deleting it": AWS IoT API reference,
    // DeletePolicy; see `iot_policy`).
    deleted_with: &["iot_policy"],
};

/// Every identity of the pool, guests included. (ListIdentities has no paginator in the SDK: the
/// pages are followed here.)
pub async fn identities(ctx: &Ctx, pool: &str) -> Result<Vec<IdentityDescription>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let list = ctx.clients.cognito_identity.list_identities();
        let list = list.identity_pool_id(pool).max_results(60);
        let r = list
            .set_next_token(token)
            .send()
            .await
            .op("ListIdentities")?;
        out.extend(r.identities.unwrap_or_default());
        token = r.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// Whether an identity has signed in through a provider (a guest has no logins).
fn signed_in(i: &IdentityDescription) -> bool {
    !i.logins().is_empty()
}

/// The policy's targets and the pool's identities.
pub struct Fetched {
    pub targets: Vec<String>,
    pub identities: Vec<IdentityDescription>,
}

impl Fetched {
    /// The signed-in identities.
    fn signed_in(&self) -> impl Iterator<Item = &str> {
        let ids = self.identities.iter().filter(|i| signed_in(i));
        ids.filter_map(|i| i.identity_id())
    }

    /// The signed-in identities the policy is not attached to.
    fn unattached(&self) -> Vec<String> {
        let attached: BTreeSet<&str> = self.targets.iter().map(String::as_str).collect();
        let missing = self.signed_in().filter(|i| !attached.contains(i));
        missing.map(str::to_string).collect()
    }
}

/// What AWS answers for the policy and the pool; `None` when either is not there.
async fn links(ctx: &Ctx, policy: &str, pool: &str) -> Result<Option<Fetched>, AwsError> {
    // Independent reads: one round trip (per page) instead of two.
    let (targets, identities) =
        futures::join!(iot_policy::targets(ctx, policy), identities(ctx, pool));
    let Some(targets) = SPEC.missing.found(targets)? else {
        return Ok(None);
    };
    let identities = Missing::COGNITO.found(identities)?;
    Ok(identities.map(|identities| Fetched {
        targets,
        identities,
    }))
}

#[async_trait]
impl Fetch for IotIdentityAttachments {
    module_spec!(Fetched);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let (policy, pool) = (want.str("policy"), want.str("identity_pool_id"));
        Ok(links(ctx, policy, pool).await?)
    }

    fn observe(&self, f: Fetched, want: &Desired) -> Option<Observed> {
        let (policy, pool) = (want.str("policy"), want.str("identity_pool_id"));
        let missing = f.unattached();
        let o = Observed::new(
            json!({
                "policy": policy,
                "identity_pool_id": pool,
                "all_identities_attached": missing.is_empty(),
            }),
            json!({ "policy": policy, "identity_pool_id": pool }),
        );
        let note = format!(
            "{} of {} signed-in identities lack the policy: {}",
            missing.len(),
            f.signed_in().count(),
            missing.join(", ")
        );
        Some(o.note((!missing.is_empty()).then_some(note)))
    }
}

#[async_trait]
impl Manage for IotIdentityAttachments {
    /// The attachments have no attributes of their own.
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        let policy = want.str("policy");
        for id in self
            .fetch(ctx, want)
            .await?
            .map(|f| f.unattached())
            .unwrap_or_default()
        {
            iot_policy::attach(ctx, policy, &id).await?;
        }
        Ok(Created::new())
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        let (ctx, want) = (u.ctx, u.want);
        self.create(ctx, want).await.map(drop)
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let policy = have.attr("policy");
        if let Some(f) = links(ctx, policy, have.attr("identity_pool_id")).await? {
            // Guests too: an earlier version attached the policy to them.
            let ids = f.identities.iter().filter_map(|i| i.identity_id());
            let identities: BTreeSet<&str> = ids.collect();
            let ours = f.targets.iter().filter(|t| identities.contains(t.as_str()));
            let links: Vec<_> = ours.map(|t| (policy.to_string(), t.clone())).collect();
            iot_policy::detach(ctx, links).await?;
        }
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(id: &str, logins: &[&str]) -> IdentityDescription {
        let logins = logins.iter().map(|l| l.to_string()).collect();
        IdentityDescription::builder()
            .identity_id(id)
            .set_logins(Some(logins))
            .build()
    }

    fn want() -> Desired {
        Desired::from_json(
            "attach-all",
            json!({"policy": "p-cognito-iot-policy", "identity_pool_id": "eu-west-1:pool"}),
        )
    }

    const PROVIDER: &str = "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc";

    #[test]
    fn signed_in_identities_without_the_policy_are_named() {
        let f = Fetched {
            targets: vec![
                "arn:aws:iot:eu-west-1:1:cert/c".into(),
                "eu-west-1:a".into(),
            ],
            identities: vec![
                identity("eu-west-1:a", &[PROVIDER]),
                identity("eu-west-1:b", &[PROVIDER]),
            ],
        };
        let o = IotIdentityAttachments.observe(f, &want()).unwrap();
        assert_eq!(o.props["all_identities_attached"], json!(false));
        assert_eq!(
            o.notes,
            ["1 of 2 signed-in identities lack the policy: eu-west-1:b"]
        );
        assert_eq!(o.attr("identity_pool_id"), "eu-west-1:pool");
    }

    #[test]
    fn guests_are_not_counted() {
        // ListIdentities gives a guest no logins: an empty list, or none at all.
        let guest = IdentityDescription::builder()
            .identity_id("eu-west-1:guest")
            .build();
        let f = Fetched {
            targets: vec!["eu-west-1:a".into()],
            identities: vec![
                identity("eu-west-1:a", &[PROVIDER]),
                guest,
                identity("eu-west-1:guest2", &[]),
            ],
        };
        assert!(f.unattached().is_empty());
        let o = IotIdentityAttachments.observe(f, &want()).unwrap();
        assert_eq!(o.props["all_identities_attached"], json!(true));
        assert!(o.notes.is_empty(), "{:?}", o.notes);
    }

    #[test]
    fn an_empty_pool_is_all_attached() {
        let f = Fetched {
            targets: Vec::new(),
            identities: Vec::new(),
        };
        let o = IotIdentityAttachments.observe(f, &Desired::from_json("a", json!({})));
        let o = o.unwrap();
        assert_eq!(o.props["all_identities_attached"], json!(true));
        assert!(o.notes.is_empty());
    }
}
