//! A policy document as read once for both the evaluator and lint: `Version`, the statements with
//! their `Effect`, `Action` / `NotAction`, `Resource` / `NotResource` and `Condition`, the JSON
//! pointer (RFC 6901) of every element, and what does not fit the grammar. Each reader decides
//! what a misfit means to it: the evaluator ignores the statement with a note, lint reports it.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value};

/// The policy language version that enables policy variables.
pub const POLICY_VERSION: &str = "2012-10-17";
/// The older version of the policy language, still accepted (without policy variables).
const OLD_POLICY_VERSION: &str = "2008-10-17";

/// The elements a statement may have.
const STATEMENT_ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// The `Effect` of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

impl Effect {
    /// `Allow` or `Deny`, as written in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }

    pub(crate) fn verb(self) -> &'static str {
        match self {
            Effect::Allow => "allows",
            Effect::Deny => "explicitly denies",
        }
    }
}

display_as!(Effect, as_str);

/// The document itself, given as JSON or as a JSON string holding it (as the AWS APIs return
/// policy documents).
pub(crate) fn json(policy: &Value) -> Result<Cow<'_, Value>, serde_json::Error> {
    match policy {
        Value::String(text) => serde_json::from_str(text).map(Cow::Owned),
        other => Ok(Cow::Borrowed(other)),
    }
}

/// Whether any string of `value` (object keys included) holds a `${...}` policy variable.
pub(crate) fn mentions_variables(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains("${"),
        Value::Array(items) => items.iter().any(mentions_variables),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains("${") || mentions_variables(v)),
        _ => false,
    }
}

/// A JSON pointer token for `key` (`~` and `/` escaped).
pub(crate) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A parsed policy document; it borrows the JSON it was read from.
pub(crate) struct Document<'a> {
    /// The whole document.
    pub value: &'a Value,
    /// Top-level elements other than `Version`, `Id` and `Statement`.
    pub unknown: Vec<&'a str>,
    pub version: Version<'a>,
    /// The statements in document order (a single statement object counts as one), or why there
    /// are none to read.
    pub statements: Result<Vec<Result<Statement<'a>, NotAnObject>>, StatementsProblem>,
}

/// The `Version` element.
pub(crate) enum Version<'a> {
    Missing,
    /// `2012-10-17` or `2008-10-17`.
    Valid(&'a str),
    Invalid(&'a Value),
}

/// Why a document has no statements to read.
pub(crate) enum StatementsProblem {
    Missing,
    /// `Statement` is neither an array nor an object.
    NotAList,
}

/// An entry of `Statement` that is not a JSON object.
pub(crate) struct NotAnObject {
    pub index: usize,
    pub pointer: String,
}

impl<'a> Document<'a> {
    /// Reads `value`; `None` when it is not a JSON object.
    pub fn parse(value: &'a Value) -> Option<Document<'a>> {
        let obj = value.as_object()?;
        let unknown = obj
            .keys()
            .map(String::as_str)
            .filter(|k| !matches!(*k, "Version" | "Id" | "Statement"))
            .collect();
        let version = match obj.get("Version") {
            None => Version::Missing,
            Some(Value::String(v)) if v == POLICY_VERSION || v == OLD_POLICY_VERSION => {
                Version::Valid(v)
            }
            Some(other) => Version::Invalid(other),
        };
        let items: Result<Vec<(&Value, String)>, StatementsProblem> = match obj.get("Statement") {
            None => Err(StatementsProblem::Missing),
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| (v, format!("/Statement/{i}")))
                .collect()),
            Some(one @ Value::Object(_)) => Ok(vec![(one, "/Statement".to_string())]),
            Some(_) => Err(StatementsProblem::NotAList),
        };
        let statements = items.map(|items| {
            items
                .into_iter()
                .enumerate()
                .map(|(index, (value, pointer))| match value.as_object() {
                    Some(fields) => Ok(Statement::parse(index, pointer, fields)),
                    None => Err(NotAnObject { index, pointer }),
                })
                .collect()
        });
        Some(Document {
            value,
            unknown,
            version,
            statements,
        })
    }

    /// Whether `${...}` policy variables are substituted (`"Version": "2012-10-17"`).
    pub fn substitutes_variables(&self) -> bool {
        matches!(self.version, Version::Valid(POLICY_VERSION))
    }
}

/// One statement (a JSON object).
pub(crate) struct Statement<'a> {
    /// Zero-based index in `Statement`.
    pub index: usize,
    /// `/Statement/<index>`, or `/Statement` for a single statement object.
    pub pointer: String,
    pub fields: &'a Map<String, Value>,
    pub sid: Option<&'a str>,
    /// The effect, or the value that is not `"Allow"` or `"Deny"` (`None`: no `Effect`).
    pub effect: Result<Effect, Option<&'a Value>>,
    /// `Action` or `NotAction`.
    pub action: List<'a>,
    /// `Resource` or `NotResource`.
    pub resource: List<'a>,
    pub condition: Option<Condition<'a>>,
}

impl<'a> Statement<'a> {
    fn parse(index: usize, pointer: String, fields: &'a Map<String, Value>) -> Statement<'a> {
        let effect = match fields.get("Effect") {
            Some(Value::String(e)) if e == "Allow" => Ok(Effect::Allow),
            Some(Value::String(e)) if e == "Deny" => Ok(Effect::Deny),
            other => Err(other),
        };
        let action = List::parse(fields, &pointer, "Action", "NotAction");
        let resource = List::parse(fields, &pointer, "Resource", "NotResource");
        let condition = fields
            .get("Condition")
            .map(|value| Condition::parse(value, format!("{pointer}/Condition")));
        Statement {
            index,
            sid: fields.get("Sid").and_then(Value::as_str),
            pointer,
            fields,
            effect,
            action,
            resource,
            condition,
        }
    }

    /// The pointer to element `name` of the statement (there or not).
    pub fn at(&self, name: &str) -> String {
        format!("{}/{}", self.pointer, escape(name))
    }

    /// Whether the statement has element `name`.
    pub fn has(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }

    /// The elements that are not part of a statement's grammar.
    pub fn unknown_elements(&self) -> impl Iterator<Item = &'a str> {
        self.fields
            .keys()
            .map(String::as_str)
            .filter(|k| !STATEMENT_ELEMENTS.contains(k))
    }

    /// Whether the effect is `Allow`.
    pub fn allows(&self) -> bool {
        self.effect == Ok(Effect::Allow)
    }
}

/// `Action` / `NotAction` or `Resource` / `NotResource`: a string or an array of strings.
pub(crate) struct List<'a> {
    /// `Action` or `Resource`.
    pub positive: &'static str,
    /// `NotAction` or `NotResource`.
    pub negative: &'static str,
    /// Whether the negative element was read (it was there and the positive one was not).
    pub negated: bool,
    /// The pointer to the element read (to the positive one when neither is there).
    pub pointer: String,
    /// The string entries, in order.
    pub entries: Vec<Entry<'a>>,
    /// What does not fit, in the order found.
    pub problems: Vec<ListProblem<'a>>,
}

/// One string of a [`List`].
pub(crate) struct Entry<'a> {
    pub value: &'a str,
    pub pointer: String,
}

pub(crate) enum ListProblem<'a> {
    /// Both elements are there; the positive one is read.
    Both,
    /// Neither element is there.
    Missing,
    /// An empty array.
    Empty,
    /// An entry of the array that is not a string.
    NotAString { pointer: String, value: &'a Value },
    /// Neither a string nor an array.
    WrongType(&'a Value),
}

/// How a [`List`] covers a value.
pub(crate) enum Cover<'l, 'a> {
    /// Through this entry.
    Entry(&'l Entry<'a>),
    /// Through a negated list none of whose entries matches.
    Negated,
}

impl<'a> List<'a> {
    fn parse(
        fields: &'a Map<String, Value>,
        statement: &str,
        positive: &'static str,
        negative: &'static str,
    ) -> List<'a> {
        let mut list = List {
            positive,
            negative,
            negated: false,
            pointer: format!("{statement}/{positive}"),
            entries: Vec::new(),
            problems: Vec::new(),
        };
        let value = match (fields.get(positive), fields.get(negative)) {
            (Some(v), Some(_)) => {
                list.problems.push(ListProblem::Both);
                v
            }
            (Some(v), None) => v,
            (None, Some(v)) => {
                list.negated = true;
                list.pointer = format!("{statement}/{negative}");
                v
            }
            (None, None) => {
                list.problems.push(ListProblem::Missing);
                return list;
            }
        };
        match value {
            Value::String(s) => list.entries.push(Entry {
                value: s,
                pointer: list.pointer.clone(),
            }),
            Value::Array(items) => {
                if items.is_empty() {
                    list.problems.push(ListProblem::Empty);
                }
                for (i, item) in items.iter().enumerate() {
                    let pointer = format!("{}/{i}", list.pointer);
                    match item {
                        Value::String(s) => list.entries.push(Entry { value: s, pointer }),
                        other => list.problems.push(ListProblem::NotAString {
                            pointer,
                            value: other,
                        }),
                    }
                }
            }
            other => list.problems.push(ListProblem::WrongType(other)),
        }
        list
    }

    /// A list with no entries and nothing wrong, at `pointer`: for an element a kind of policy
    /// does not have.
    pub fn absent(&self, pointer: String) -> List<'a> {
        List {
            positive: self.positive,
            negative: self.negative,
            negated: false,
            pointer,
            entries: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// The name of the element read: `Action`, `NotAction`, ...
    pub fn name(&self) -> &'static str {
        if self.negated {
            self.negative
        } else {
            self.positive
        }
    }

    /// The entries as written.
    pub fn values(&self) -> Vec<&'a str> {
        self.entries.iter().map(|e| e.value).collect()
    }

    /// What makes the list unusable, if anything: every problem but an empty array.
    pub fn error(&self) -> Option<&ListProblem<'a>> {
        self.problems
            .iter()
            .find(|p| !matches!(p, ListProblem::Empty))
    }

    /// How the list covers a value that `matches` tells entries apart for: through its first
    /// matching entry, or, negated, by having no matching entry. `None` when it does not.
    pub fn covers(&self, matches: impl Fn(&str) -> bool) -> Option<Cover<'_, 'a>> {
        let hit = self.entries.iter().find(|e| matches(e.value));
        match (self.negated, hit) {
            (false, Some(entry)) => Some(Cover::Entry(entry)),
            (true, None) => Some(Cover::Negated),
            _ => None,
        }
    }
}

/// The `Condition` element: operator blocks mapping condition keys to values.
pub(crate) struct Condition<'a> {
    pub pointer: String,
    pub value: &'a Value,
    /// The blocks in order; `None` when `Condition` is not an object.
    pub blocks: Option<Vec<Block<'a>>>,
}

/// One operator block of a [`Condition`], e.g. `"StringEquals": {"iot:ClientId": "c1"}`.
pub(crate) struct Block<'a> {
    pub operator: &'a str,
    pub pointer: String,
    /// Condition keys and their values; `None` when the block is not an object.
    pub keys: Option<&'a Map<String, Value>>,
}

impl<'a> Condition<'a> {
    fn parse(value: &'a Value, pointer: String) -> Condition<'a> {
        let blocks = value.as_object().map(|blocks| {
            blocks
                .iter()
                .map(|(operator, block)| Block {
                    operator,
                    pointer: format!("{pointer}/{}", escape(operator)),
                    keys: block.as_object(),
                })
                .collect()
        });
        Condition {
            pointer,
            value,
            blocks,
        }
    }
}
