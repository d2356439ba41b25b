//! The IoT policy attached to every identity already in an identity pool, page by page.
//! (New identities attach themselves through the attach function's URL; `doctor --fix` repairs
//! one.)

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde_json::json;

use super::{
    iot_policy, Changes, Ctx, Desired, Fetch, KindSpec, Manage, Observed, Ownership, PropSpec,
    PropType,
};
use crate::aws::{Missing, OpExt};
use crate::error::{AwsError, ResourceError};

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
};

/// Every identity id in the pool. (ListIdentities has no paginator in the SDK: the pages are
/// followed here.)
pub async fn identities(ctx: &Ctx, pool: &str) -> Result<Vec<String>, AwsError> {
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
        let ids = r.identities().iter().filter_map(|i| i.identity_id());
        out.extend(ids.map(str::to_string));
        token = r.next_token().filter(|t| !t.is_empty()).map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// The policy's targets and the pool's identities.
pub struct Fetched {
    pub targets: Vec<String>,
    pub identities: Vec<String>,
}

impl Fetched {
    /// The identities the policy is not attached to.
    fn unattached(&self) -> Vec<String> {
        let attached: BTreeSet<&String> = self.targets.iter().collect();
        let missing = self.identities.iter().filter(|i| !attached.contains(i));
        missing.cloned().collect()
    }
}

/// What AWS answers for the policy and the pool; `None` when either is not there.
async fn links(ctx: &Ctx, policy: &str, pool: &str) -> Result<Option<Fetched>, AwsError> {
    let Some(targets) = SPEC.missing.found(iot_policy::targets(ctx, policy).await)? else {
        return Ok(None);
    };
    let identities = Missing::COGNITO.found(identities(ctx, pool).await)?;
    Ok(identities.map(|identities| Fetched {
        targets,
        identities,
    }))
}

#[async_trait]
impl Fetch for IotIdentityAttachments {
    type Fetched = Fetched;

    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> Result<Option<Fetched>, ResourceError> {
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
            "{} of {} identities lack the policy: {}",
            missing.len(),
            f.identities.len(),
            missing.join(", ")
        );
        Some(o.note((!missing.is_empty()).then_some(note)))
    }
}

#[async_trait]
impl Manage for IotIdentityAttachments {
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        let policy = want.str("policy");
        for id in self
            .fetch(ctx, want)
            .await?
            .map(|f| f.unattached())
            .unwrap_or_default()
        {
            iot_policy::attach(ctx, policy, &id).await?;
        }
        Ok(())
    }

    async fn update(
        &self,
        ctx: &Ctx,
        want: &Desired,
        _have: &Observed,
        _changes: Changes<'_>,
    ) -> Result<(), ResourceError> {
        self.create(ctx, want).await
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let policy = have.attr("policy");
        if let Some(f) = links(ctx, policy, have.attr("identity_pool_id")).await? {
            let identities: BTreeSet<String> = f.identities.into_iter().collect();
            let ours = f.targets.into_iter().filter(|t| identities.contains(t));
            iot_policy::detach(ctx, ours.map(|t| (policy.to_string(), t))).await?;
        }
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_without_the_policy_are_named() {
        let f = Fetched {
            targets: vec![
                "arn:aws:iot:eu-west-1:1:cert/c".into(),
                "eu-west-1:a".into(),
            ],
            identities: vec!["eu-west-1:a".into(), "eu-west-1:b".into()],
        };
        let want = Desired::from_json(
            "attach-all",
            json!({"policy": "p-cognito-iot-policy", "identity_pool_id": "eu-west-1:pool"}),
        );
        let o = IotIdentityAttachments.observe(f, &want).unwrap();
        assert_eq!(o.props["all_identities_attached"], json!(false));
        assert_eq!(o.notes, ["1 of 2 identities lack the policy: eu-west-1:b"]);
        assert_eq!(o.attr("identity_pool_id"), "eu-west-1:pool");
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
