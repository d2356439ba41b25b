//! The IoT policy attached to every signed-in identity already in an identity pool. (New
//! identities attach themselves through the attach function's URL; `doctor --fix` repairs one.)
//! Guest identities, which have no logins, are left alone: AWS IoT authorizes a guest by its role
//! alone (there is no IoT policy layer for unauthenticated identities), and an app makes a new
//! guest at every launch.
//!
//! Incremental and bounded: a run lists the pool's identities and the policy's targets once (the
//! plan's read), the write attaches only the signed-in identities not attached yet, at most
//! [`ATTACH_BOUND`] of them, and its read-back is what was listed plus what was attached (see
//! [`Lists`]). The rest are named in a note, and the next plan, which lists again, shows the
//! resource to update: each apply goes on where the last one stopped.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use aws_sdk_cognitoidentity::types::IdentityDescription;
use futures::{StreamExt, TryStreamExt};
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
    // Every signed-in identity has the policy, but for those a write that reached its bound
    // left to the next run (counted in a note): the next plan, which lists again, counts them.
    facts: &["all_identities_attached"],
    // The policy's own delete detaches it from every target first, these identities included
    // ("You must detach the policy from all targets before deleting it": AWS IoT API reference,
    // DeletePolicy; see `iot_policy`).
    deleted_with: &["iot_policy"],
};

/// At most this many AttachPolicy calls a run. AttachPolicy is paced at 10 a second with a
/// tenth spare (`crate::aws::rate`: AWS IoT's lowest default control-plane rate, as no default
/// for AttachPolicy is published), so one run's attachments take about a minute at most
/// (500 / 9 a second: 56 s); the identities beyond it are left to the next apply.
pub const ATTACH_BOUND: usize = 500;

/// The environment variable that sets another bound: a whole number of at least 1 (a value
/// that is not is ignored).
pub const ATTACH_BOUND_VAR: &str = "IOTSTACK_ATTACH_BOUND";

/// AttachPolicy calls in flight at once: about a second of its pace, so that no call waits
/// long for its slot inside its attempt (see `crate::aws::rate`).
const IN_FLIGHT: usize = 10;

/// The bound `var` (the value of [`ATTACH_BOUND_VAR`], if set) gives.
pub fn bound_from(var: Option<&str>) -> usize {
    let set = var.and_then(|v| v.trim().parse::<usize>().ok());
    set.filter(|n| *n > 0).unwrap_or(ATTACH_BOUND)
}

/// The bound of this run: [`ATTACH_BOUND`], unless [`ATTACH_BOUND_VAR`] says otherwise.
pub fn bound() -> usize {
    bound_from(std::env::var(ATTACH_BOUND_VAR).ok().as_deref())
}

/// Which identities a listing includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disabled {
    /// Left out: what attaching needs. "HideDisabled: An optional boolean parameter that allows
    /// you to hide disabled identities" (Cognito Identity API reference, ListIdentities). AWS says
    /// no more of a disabled identity; the documented way an identity stops being usable is
    /// losing its last login ("Removing the last linked login will make this identity
    /// inaccessible", UnlinkIdentity), and an identity nobody can use needs no policy.
    Hidden,
    /// Included (ListIdentities' default): what detaching needs, so that the policy an earlier
    /// run attached to an identity since disabled is detached too.
    Shown,
}

/// The identities of the pool, guests included, disabled ones as `disabled` says. ListIdentities
/// has no filter by login and answers at most 60 identities a page ("MaxResults: The maximum
/// number of identities to return. Valid Range: Minimum value of 1. Maximum value of 60",
/// Cognito Identity API reference, ListIdentities,
/// <https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_ListIdentities.html>):
/// a pool of N identities costs N / 60 calls, one after another (each page's token comes from
/// the one before), once a run. (The SDK has no paginator for it: the pages are followed here.)
pub async fn identities(
    ctx: &Ctx,
    pool: &str,
    disabled: Disabled,
) -> Result<Vec<IdentityDescription>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let list = ctx.clients.cognito_identity.list_identities();
        let list = list.identity_pool_id(pool).max_results(60);
        let list = list.hide_disabled(disabled == Disabled::Hidden);
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

/// The policy's targets and the pool's identities, as listed or as a write left them.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub targets: Vec<String>,
    pub identities: Vec<IdentityDescription>,
    /// How many identities one run attaches at most ([`bound`]).
    pub bound: usize,
    /// After a write that reached the bound: the signed-in identities it left to the next run.
    pub left: Vec<String>,
}

impl Fetched {
    /// A listing: nothing left by a write.
    pub fn listed(
        targets: Vec<String>,
        identities: Vec<IdentityDescription>,
        bound: usize,
    ) -> Fetched {
        Fetched {
            targets,
            identities,
            bound,
            left: Vec::new(),
        }
    }

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

    /// The signed-in identities the policy is not attached to that this run still owes: all of
    /// them on a listing; none on the read-back of a write that attached what it set out to
    /// (those beyond the bound are [`Fetched::left`], not owed by this run).
    fn owed(&self) -> Vec<String> {
        let left: BTreeSet<&str> = self.left.iter().map(String::as_str).collect();
        let owed = self.unattached().into_iter();
        owed.filter(|i| !left.contains(i.as_str())).collect()
    }

    /// What a write that attached `attached` and left `left` leaves: its read-back.
    fn after(mut self, attached: Vec<String>, left: Vec<String>) -> Fetched {
        self.targets.extend(attached);
        self.left = left;
        self
    }
}

/// The identities a run attaches, the first `bound` of `unattached`, and those it leaves to the
/// next run.
pub fn split(mut unattached: Vec<String>, bound: usize) -> (Vec<String>, Vec<String>) {
    let left = unattached.split_off(bound.min(unattached.len()));
    (unattached, left)
}

/// "identity" or "identities", as `n` needs.
fn identities_word(n: usize) -> &'static str {
    if n == 1 {
        "identity"
    } else {
        "identities"
    }
}

/// How many identity ids a note names before it only counts the rest.
const NAMED: usize = 10;

/// The notes of an observation: the signed-in identities that lack the policy (some named), and
/// those a run leaves to the next one: the plan's estimate beyond the bound, or what a write
/// left.
fn notes(f: &Fetched, owed: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if !owed.is_empty() {
        let mut named = owed[..owed.len().min(NAMED)].join(", ");
        if owed.len() > NAMED {
            named.push_str(&format!(" and {} more", owed.len() - NAMED));
        }
        out.push(format!(
            "{} of {} signed-in identities lack the policy: {named}",
            owed.len(),
            f.signed_in().count(),
        ));
    }
    let later = owed.len().saturating_sub(f.bound);
    if later > 0 {
        out.push(format!(
            "an apply attaches at most {} a run: {later} {} left to attach after it; run apply again",
            f.bound,
            identities_word(later)
        ));
    }
    if !f.left.is_empty() {
        out.push(format!(
            "{} {} left to attach (at most {} a run); run apply again",
            f.left.len(),
            identities_word(f.left.len()),
            f.bound
        ));
    }
    out
}

/// What AWS answers for the policy and the pool; `None` when either is not there.
async fn links(
    ctx: &Ctx,
    policy: &str,
    pool: &str,
    disabled: Disabled,
) -> Result<Option<Fetched>, AwsError> {
    // Independent reads: one round trip (per page) instead of two.
    let (targets, identities) = futures::join!(
        iot_policy::targets(ctx, policy),
        identities(ctx, pool, disabled)
    );
    let Some(targets) = SPEC.missing.found(targets)? else {
        return Ok(None);
    };
    let identities = Missing::COGNITO.found(identities)?;
    Ok(identities.map(|identities| Fetched::listed(targets, identities, bound())))
}

/// What one run has learnt of each policy and pool, so that the pool is listed once a run: the
/// plan's read lists, the write starts from that listing, and the write's read-back is that
/// listing with what the write attached (AWS IoT answered each of those AttachPolicy calls with
/// success). Kept in the run's [`Ctx`].
#[derive(Debug, Default)]
pub struct Lists(Mutex<HashMap<(String, String), Learnt>>);

#[derive(Debug)]
enum Learnt {
    /// As a read listed them: what the next write starts from.
    Listed(Fetched),
    /// As a write left them: what the next read answers.
    Written(Fetched),
}

impl Lists {
    fn slot(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Learnt>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What a write left of `key`, once: a read after it answers with it.
    fn written(&self, key: &(String, String)) -> Option<Fetched> {
        self.take(key, |l| matches!(l, Learnt::Written(_)))
    }

    /// What a read listed of `key`, once: the write after it starts from it.
    fn listed(&self, key: &(String, String)) -> Option<Fetched> {
        self.take(key, |l| matches!(l, Learnt::Listed(_)))
    }

    /// What is known of `key`, taken, when it is `what`.
    fn take(&self, key: &(String, String), what: fn(&Learnt) -> bool) -> Option<Fetched> {
        let mut slot = self.slot();
        if !slot.get(key).is_some_and(what) {
            return None;
        }
        match slot.remove(key)? {
            Learnt::Listed(f) | Learnt::Written(f) => Some(f),
        }
    }

    fn learn(&self, key: (String, String), l: Learnt) {
        self.slot().insert(key, l);
    }

    fn forget(&self, key: &(String, String)) {
        self.slot().remove(key);
    }
}

/// The policy and the pool `want` names: what [`Lists`] knows them by.
fn key(want: &Desired) -> (String, String) {
    let (policy, pool) = (want.str("policy"), want.str("identity_pool_id"));
    (policy.to_string(), pool.to_string())
}

#[async_trait]
impl Fetch for IotIdentityAttachments {
    module_spec!(Fetched);

    async fn fetch(&self, ctx: &Ctx, want: &Desired) -> FetchResult<Self::Fetched> {
        let key = key(want);
        if let Some(f) = ctx.identity_lists.written(&key) {
            return Ok(Some(f));
        }
        let f = links(ctx, &key.0, &key.1, Disabled::Hidden).await?;
        // Kept for the write only when there is something to attach (a plan with nothing to
        // do makes no write: no copy of a large pool is kept for nothing).
        if let Some(f) = f.as_ref().filter(|f| !f.unattached().is_empty()) {
            ctx.identity_lists.learn(key, Learnt::Listed(f.clone()));
        }
        Ok(f)
    }

    fn observe(&self, f: Fetched, want: &Desired) -> Option<Observed> {
        let (policy, pool) = (want.str("policy"), want.str("identity_pool_id"));
        let owed = f.owed();
        let mut o = Observed::new(
            json!({
                "policy": policy,
                "identity_pool_id": pool,
                "all_identities_attached": owed.is_empty(),
            }),
            json!({ "policy": policy, "identity_pool_id": pool }),
        );
        o.notes = notes(&f, &owed);
        Some(o)
    }
}

impl IotIdentityAttachments {
    /// Attaches the policy to the signed-in identities that lack it, at most the bound of them,
    /// from what the plan's read listed (or a listing now).
    async fn attach_missing(&self, ctx: &Ctx, want: &Desired) -> Result<(), ResourceError> {
        let key = key(want);
        let f = match ctx.identity_lists.listed(&key) {
            Some(f) => Some(f),
            None => links(ctx, &key.0, &key.1, Disabled::Hidden).await?,
        };
        let Some(f) = f else { return Ok(()) };
        let (now, left) = split(f.unattached(), f.bound);
        let policy = key.0.as_str();
        let calls: Vec<_> = now
            .iter()
            .map(|id| iot_policy::attach(ctx, policy, id))
            .collect();
        let calls = futures::stream::iter(calls).buffer_unordered(IN_FLIGHT);
        let _: Vec<()> = calls.try_collect().await?;
        ctx.identity_lists
            .learn(key, Learnt::Written(f.after(now, left)));
        Ok(())
    }
}

#[async_trait]
impl Manage for IotIdentityAttachments {
    /// The attachments have no attributes of their own.
    async fn create(&self, ctx: &Ctx, want: &Desired) -> Result<Created, ResourceError> {
        self.attach_missing(ctx, want).await?;
        Ok(Created::new())
    }

    async fn update(&self, u: Update<'_>) -> Result<(), ResourceError> {
        self.attach_missing(u.ctx, u.want).await
    }

    async fn delete(&self, ctx: &Ctx, have: &Observed) -> Result<Vec<String>, ResourceError> {
        let (policy, pool) = (have.attr("policy"), have.attr("identity_pool_id"));
        ctx.identity_lists
            .forget(&(policy.to_string(), pool.to_string()));
        if let Some(f) = links(ctx, policy, pool, Disabled::Shown).await? {
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

    /// `n` signed-in identities `eu-west-1:s0`... and two guests.
    fn pool(n: usize) -> Vec<IdentityDescription> {
        let signed_in = (0..n).map(|i| identity(&format!("eu-west-1:s{i}"), &[PROVIDER]));
        let guests = [identity("eu-west-1:g0", &[]), identity("eu-west-1:g1", &[])];
        signed_in.chain(guests).collect()
    }

    #[test]
    fn signed_in_identities_without_the_policy_are_named() {
        let f = Fetched::listed(
            vec![
                "arn:aws:iot:eu-west-1:1:cert/c".into(),
                "eu-west-1:a".into(),
            ],
            vec![
                identity("eu-west-1:a", &[PROVIDER]),
                identity("eu-west-1:b", &[PROVIDER]),
            ],
            ATTACH_BOUND,
        );
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
        let f = Fetched::listed(
            vec!["eu-west-1:a".into()],
            vec![
                identity("eu-west-1:a", &[PROVIDER]),
                guest,
                identity("eu-west-1:guest2", &[]),
            ],
            ATTACH_BOUND,
        );
        assert!(f.unattached().is_empty());
        let o = IotIdentityAttachments.observe(f, &want()).unwrap();
        assert_eq!(o.props["all_identities_attached"], json!(true));
        assert!(o.notes.is_empty(), "{:?}", o.notes);
    }

    #[test]
    fn an_empty_pool_is_all_attached() {
        let f = Fetched::listed(Vec::new(), Vec::new(), ATTACH_BOUND);
        let o = IotIdentityAttachments.observe(f, &Desired::from_json("a", json!({})));
        let o = o.unwrap();
        assert_eq!(o.props["all_identities_attached"], json!(true));
        assert!(o.notes.is_empty());
    }

    #[test]
    fn only_signed_in_identities_not_yet_attached_are_attached() {
        let targets = vec!["eu-west-1:s1".into(), "eu-west-1:g0".into()];
        let f = Fetched::listed(targets, pool(4), ATTACH_BOUND);
        assert_eq!(
            f.unattached(),
            ["eu-west-1:s0", "eu-west-1:s2", "eu-west-1:s3"]
        );
    }

    #[test]
    fn a_run_attaches_at_most_the_bound_and_leaves_the_rest() {
        let ids = |n: usize| (0..n).map(|i| format!("i{i}")).collect::<Vec<_>>();
        assert_eq!(
            split(ids(5), 2),
            (ids(2), vec!["i2".into(), "i3".into(), "i4".into()])
        );
        assert_eq!(split(ids(2), 2), (ids(2), vec![]));
        assert_eq!(split(ids(1), 500), (ids(1), vec![]));
        assert_eq!(split(ids(0), 500), (vec![], vec![]));
    }

    #[test]
    fn the_bound_is_a_minute_of_attach_policy_and_the_variable_sets_another() {
        let rate = crate::aws::rate::rate("iot", "AttachPolicy").unwrap();
        let seconds = ATTACH_BOUND as f64 / (rate * crate::aws::rate::HEADROOM);
        assert!((50.0..=60.0).contains(&seconds), "{seconds} s a run");
        assert_eq!(bound_from(None), ATTACH_BOUND);
        assert_eq!(bound_from(Some("3")), 3);
        assert_eq!(bound_from(Some(" 7 ")), 7);
        for ignored in ["0", "-1", "many", ""] {
            assert_eq!(bound_from(Some(ignored)), ATTACH_BOUND, "{ignored:?}");
        }
    }

    #[test]
    fn a_plan_beyond_the_bound_says_what_is_left_after_the_apply() {
        let f = Fetched::listed(Vec::new(), pool(5), 2);
        let o = IotIdentityAttachments.observe(f, &want()).unwrap();
        assert_eq!(o.props["all_identities_attached"], json!(false));
        assert_eq!(
            o.notes,
            [
                "5 of 5 signed-in identities lack the policy: eu-west-1:s0, eu-west-1:s1, \
                 eu-west-1:s2, eu-west-1:s3, eu-west-1:s4",
                "an apply attaches at most 2 a run: 3 identities left to attach after it; run \
                 apply again",
            ]
        );
    }

    #[test]
    fn a_long_list_names_the_first_ten() {
        let f = Fetched::listed(Vec::new(), pool(12), ATTACH_BOUND);
        let o = IotIdentityAttachments.observe(f, &want()).unwrap();
        assert!(
            o.notes[0].starts_with("12 of 12 signed-in identities lack the policy: eu-west-1:s0, "),
            "{:?}",
            o.notes
        );
        assert!(
            o.notes[0].ends_with("eu-west-1:s9 and 2 more"),
            "{:?}",
            o.notes
        );
        assert_eq!(o.notes.len(), 1);
    }

    #[test]
    fn a_write_that_reached_the_bound_reads_back_with_the_rest_in_a_note() {
        let listed = Fetched::listed(vec!["eu-west-1:s0".into()], pool(5), 2);
        let (now, left) = split(listed.unattached(), listed.bound);
        assert_eq!(now, ["eu-west-1:s1", "eu-west-1:s2"]);
        let back = listed.after(now, left);
        let o = IotIdentityAttachments
            .observe(back.clone(), &want())
            .unwrap();
        // What the write set out to attach is attached: the read-back matches the stack.
        assert_eq!(o.props["all_identities_attached"], json!(true));
        assert_eq!(
            o.notes,
            ["2 identities left to attach (at most 2 a run); run apply again"]
        );
        // The next run lists again: the rest are owed, and the one after finishes.
        let next = Fetched::listed(back.targets, pool(5), 2);
        let o = IotIdentityAttachments
            .observe(next.clone(), &want())
            .unwrap();
        assert_eq!(o.props["all_identities_attached"], json!(false));
        assert!(o.notes[0].starts_with("2 of 5 signed-in"), "{:?}", o.notes);
        assert_eq!(o.notes.len(), 1, "within the bound: {:?}", o.notes);
        let (now, left) = split(next.unattached(), next.bound);
        let o = IotIdentityAttachments.observe(next.after(now, left), &want());
        let o = o.unwrap();
        assert_eq!(o.props["all_identities_attached"], json!(true));
        assert!(o.notes.is_empty(), "{:?}", o.notes);
    }

    #[test]
    fn a_read_answers_once_with_what_the_write_left_and_a_write_starts_from_the_read() {
        let lists = Lists::default();
        let key = key(&want());
        let f = || Fetched::listed(Vec::new(), pool(1), 2);
        assert!(lists.written(&key).is_none());
        lists.learn(key.clone(), Learnt::Listed(f()));
        assert!(lists.written(&key).is_none(), "a listing is the write's");
        assert!(lists.listed(&key).is_some());
        assert!(lists.listed(&key).is_none(), "once");
        lists.learn(key.clone(), Learnt::Written(f()));
        assert!(
            lists.listed(&key).is_none(),
            "a write's result is the read's"
        );
        assert!(lists.written(&key).is_some());
        assert!(
            lists.written(&key).is_none(),
            "once: a later read lists again"
        );
    }
}
