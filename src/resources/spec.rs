//! What a kind is, as data: its type name, its properties, the attributes others may refer to,
//! its AWS naming rule, how it carries the stack's mark and the codes AWS answers when it is not
//! there. Offline validation, plans and doctor read it; no AWS call needs it to be a trait.

use serde_json::Value;

use crate::aws::Missing;

/// The description of one kind of resource (or data source).
#[derive(Debug, Clone, Copy)]
pub struct KindSpec {
    /// The name used as `type:` in the stack file.
    pub type_name: &'static str,
    pub props: &'static [PropSpec],
    /// Attributes other resources may refer to as `${id.attr}`.
    pub attrs: &'static [&'static str],
    /// The AWS naming rule for the `name` property, checked offline.
    pub name_rule: Option<NameRule>,
    /// How a live resource is known to be this stack's.
    pub ownership: Ownership,
    /// What AWS answers when the resource is not there: a read gives `None`, a delete is done.
    pub missing: Missing,
    /// Facts the kind always wants true, whatever the stack says (a user confirmed, its
    /// password in its secret): properties compared like any other.
    pub facts: &'static [&'static str],
    /// Kinds whose deletion removes this resource with it (an SNS topic its subscriptions): when
    /// destroy deletes the parent this resource belongs to, it makes no call of its own.
    pub deleted_with: &'static [&'static str],
}

impl KindSpec {
    /// Whether the kind carries the stack tag, as its `tags` property (and may be given extra
    /// tags in the stack file).
    /// A kind AWS names by its `name` property and whose resources carry the stack tag: its
    /// attributes are the name and the ARN, and it states no facts.
    pub const fn tagged(
        type_name: &'static str,
        props: &'static [PropSpec],
        name_rule: NameRule,
        missing: Missing,
    ) -> KindSpec {
        KindSpec {
            type_name,
            props,
            attrs: &["name", "arn"],
            name_rule: Some(name_rule),
            ownership: Ownership::Tag,
            missing,
            facts: &[],
            deleted_with: &[],
        }
    }

    pub fn taggable(&self) -> bool {
        matches!(
            self.ownership,
            Ownership::Tag | Ownership::FoundByTag | Ownership::Attribute
        )
    }

    /// The naming rule's verdict on `name`: `Some(problem)` if it is broken.
    pub fn check_name(&self, name: &str) -> Option<String> {
        self.name_rule.and_then(|r| r.check(name))
    }

    /// The [`facts`](Self::facts) as properties, each wanted `true`.
    pub fn fixed_props(&self) -> impl Iterator<Item = (&'static str, Value)> {
        self.facts.iter().map(|f| (*f, Value::Bool(true)))
    }

    pub fn prop(&self, name: &str) -> Option<&'static PropSpec> {
        self.props.iter().find(|p| p.name == name)
    }
}

/// How a live resource carries the stack's mark. Only the pools, whose names AWS does not keep
/// unique, are found by it; the others are found by their name or by what they belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Carries the `iotstack:stack` tag (the `tags` property).
    Tag,
    /// Carries the tag and is found by it: of the resources listed under its name, the stack's
    /// is the one tagged with its prefix (user pools, identity pools).
    FoundByTag,
    /// Carries the stack tag as an attribute (IoT things cannot carry tags).
    Attribute,
    /// Known by its local private key (device certificates, whose subject AWS writes itself):
    /// the id recorded when it was issued, or the public key of the local key among the
    /// certificates of the stack's thing.
    LocalKey,
    /// Belongs to a resource of the stack that it names: a client of its user pool, an
    /// attachment of its policy, a permission of its function.
    Parent,
    /// Not marked: a data source.
    None,
}

/// An AWS naming rule: the length and the characters allowed.
#[derive(Debug, Clone, Copy)]
pub struct NameRule {
    pub max: usize,
    /// Characters allowed besides ASCII letters and digits.
    pub also: &'static str,
    /// Letters and digits of any script, and white space, are allowed too (Cognito pools).
    pub any_script: bool,
    /// What the name is, for messages: "an IoT policy name".
    pub what: &'static str,
}

impl NameRule {
    pub const fn ascii(max: usize, also: &'static str, what: &'static str) -> Self {
        NameRule {
            max,
            also,
            any_script: false,
            what,
        }
    }

    pub const fn any_script(mut self) -> Self {
        self.any_script = true;
        self
    }

    fn allows(&self, c: char) -> bool {
        c.is_ascii_alphanumeric()
            || self.also.contains(c)
            || self.any_script && (c.is_alphanumeric() || c.is_whitespace())
    }

    pub fn check(&self, name: &str) -> Option<String> {
        let (max, what) = (self.max, self.what);
        if name.is_empty() {
            return Some("the name is empty".into());
        }
        let len = name.chars().count();
        if len > max {
            return Some(format!(
                "`{name}` is {len} characters long; {what} allows at most {max}"
            ));
        }
        let c = name.chars().find(|c| !self.allows(*c))?;
        Some(format!(
            "`{name}` contains `{c}`, which {what} does not allow"
        ))
    }
}

/// Extra tags a taggable resource may be given in the stack file; the stack tag is added to them.
/// Tags are text: a tag that names a resource needs it to exist no more than any other string,
/// and every taggable kind's update writes them.
pub static TAGS: PropSpec =
    PropSpec::optional("tags", PropType::StrMap, "extra tags: key -> value")
        .by_value()
        .later();

/// The tag every taggable resource carries; its value is the prefix.
pub const STACK_TAG: &str = "iotstack:stack";

/// The shape of one property's value in the stack file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropType {
    /// A string; `${...}` allowed.
    Str,
    Bool,
    /// A policy document: the path of a JSON template (relative to the stack file).
    Policy,
    /// A mapping of names to policy document paths.
    PolicyMap,
    /// A list of strings.
    StrList,
    /// A mapping of strings to strings.
    StrMap,
    /// A whole number.
    Int,
    /// Function source: `builtin:<name>` (shipped inside iotstack) or a path relative to the
    /// stack file. Compared by the SHA-256 of the deterministic zip iotstack builds from it.
    Code,
}

#[derive(Debug, Clone, Copy)]
pub struct PropSpec {
    pub name: &'static str,
    pub ty: PropType,
    pub required: bool,
    /// A change to this property cannot be made in place: the resource is replaced.
    pub force_new: bool,
    /// The value is never shown.
    pub sensitive: bool,
    /// The property holds what it refers to as text only (tags, environment variables, the
    /// resources an identity-based policy grants): the resource it names need not exist first,
    /// so apply does not wait for a resource whose name or ARN is known in advance (see
    /// `Stack::apply_deps`, `Stack::ahead`). Not for a trust or resource policy: AWS checks
    /// that the principals they name exist.
    pub by_value: bool,
    /// The kind's update can write this property right after the create: a create that would
    /// wait only for what this property names goes first, without it, and the property is
    /// written once those resources are made (tags; a user pool's trigger). See
    /// `Stack::later_deps`, [`crate::resources::Manage::hold_back`].
    pub later: bool,
    /// What this property names must be whole before this resource is created: made, and its
    /// [`PropSpec::later`] properties written (a user: AdminCreateUser runs its pool's
    /// pre-sign-up trigger).
    pub whole: bool,
    pub doc: &'static str,
    /// The smallest and largest value AWS accepts, for an `Int` property; checked offline, so a
    /// value always fits the `i32` the SDK takes.
    pub range: Option<(i64, i64)>,
}

impl PropSpec {
    pub const fn required(name: &'static str, ty: PropType, doc: &'static str) -> Self {
        PropSpec {
            name,
            ty,
            required: true,
            force_new: false,
            sensitive: false,
            by_value: false,
            later: false,
            whole: false,
            doc,
            range: None,
        }
    }

    pub const fn optional(name: &'static str, ty: PropType, doc: &'static str) -> Self {
        PropSpec {
            required: false,
            ..Self::required(name, ty, doc)
        }
    }

    pub const fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }

    /// See [`PropSpec::by_value`].
    pub const fn by_value(mut self) -> Self {
        self.by_value = true;
        self
    }

    /// See [`PropSpec::later`].
    pub const fn later(mut self) -> Self {
        self.later = true;
        self
    }

    /// See [`PropSpec::whole`].
    pub const fn whole(mut self) -> Self {
        self.whole = true;
        self
    }

    /// The values AWS accepts for an `Int` property, `min..=max`.
    pub const fn range(mut self, min: i64, max: i64) -> Self {
        self.range = Some((min, max));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules_name_the_length_and_the_character() {
        let rule = NameRule::ascii(8, "-_", "a test name");
        assert_eq!(rule.check("ok-name_"), None);
        assert_eq!(rule.check("").as_deref(), Some("the name is empty"));
        assert_eq!(
            rule.check("much-too-long").as_deref(),
            Some("`much-too-long` is 13 characters long; a test name allows at most 8")
        );
        assert_eq!(
            rule.check("a.b").as_deref(),
            Some("`a.b` contains `.`, which a test name does not allow")
        );
        let cognito = NameRule::ascii(128, "+=,.@-_", "a pool name").any_script();
        assert_eq!(cognito.check("Pool Ü 1"), None);
        assert!(NameRule::ascii(128, "+=,.@-_", "x")
            .check("Pool Ü")
            .is_some());
    }
}
