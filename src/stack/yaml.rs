//! A YAML document tree that remembers where every node came from.
//!
//! The stack file is parsed with `saphyr` (maintained, pure Rust, keeps positions) into this small
//! tree, so every later check can point at the file, line and column it is about.
//!
//! saphyr's own loader recurses once per nesting level, so a document nested a hundred thousand
//! levels deep (`- - - ...` on one line, or `[[[...`) overflows the stack before any check runs.
//! Here the parser's events are fed to saphyr's loader one by one, counting how deep they nest,
//! and a document deeper than [`MAX_DEPTH`] stops at the first event past it.

use saphyr::{MarkedYamlOwned, ScalarOwned, ScanError, YamlDataOwned, YamlLoader};
use saphyr_parser::{BufferedInput, Event, Parser, SpannedEventReceiver};

/// How deep collections may nest in a stack file. A stack needs about six levels (resources,
/// a resource, its properties, a mapping or list of strings); every recursive walk of the tree
/// stays far from the stack's limit at this depth.
pub const MAX_DEPTH: usize = 64;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

impl Node {
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
}

/// Parses one YAML document. An empty document is an empty mapping.
pub fn parse(text: &str) -> Result<Node, (Pos, String)> {
    let docs = load(text)?;
    match docs.len() {
        0 => Ok(Node {
            pos: Pos { line: 1, col: 1 },
            value: Value::Map(Vec::new()),
        }),
        1 => convert(docs.into_iter().next().expect("one document")),
        _ => {
            let m = docs[1].span.start;
            Err((
                Pos {
                    line: m.line(),
                    col: m.col() + 1,
                },
                "a stack file holds one YAML document; found a second one".to_string(),
            ))
        }
    }
}

/// The documents of `text`, as saphyr's loader builds them, refusing nesting deeper than
/// [`MAX_DEPTH`] before it is built.
fn load(text: &str) -> Result<Vec<MarkedYamlOwned>, (Pos, String)> {
    let too_deep = || {
        format!("lists and mappings nest more than {MAX_DEPTH} levels deep here; a stack file needs only a few")
    };
    let scan_error = |e: ScanError| {
        let m = e.marker();
        let pos = Pos {
            line: m.line(),
            col: m.col() + 1,
        };
        // The scanner reads flow collections (`[[[...`) ahead of the parser and stops them
        // itself at 256 levels.
        match e.info() {
            "recursion limit exceeded" => (pos, too_deep()),
            info => (pos, info.to_string()),
        }
    };
    let mut loader = YamlLoader::<MarkedYamlOwned>::default();
    let mut depth = 0usize;
    // The input saphyr's `load_from_str` reads through, so errors read as they always have.
    for event in Parser::new(BufferedInput::new(text.chars())) {
        let (event, span) = event.map_err(scan_error)?;
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    let pos = Pos {
                        line: span.start.line(),
                        col: span.start.col() + 1,
                    };
                    return Err((pos, too_deep()));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
        loader.on_event(event, span);
    }
    if let Some(e) = loader.error() {
        return Err(scan_error(e.clone()));
    }
    Ok(loader.into_documents())
}

fn pos_of(node: &MarkedYamlOwned) -> Pos {
    Pos {
        line: node.span.start.line(),
        col: node.span.start.col() + 1,
    }
}

fn convert(node: MarkedYamlOwned) -> Result<Node, (Pos, String)> {
    let pos = pos_of(&node);
    let value = match node.data {
        YamlDataOwned::Value(s) => scalar(s),
        YamlDataOwned::Representation(s, _, _) => Value::Str(s),
        YamlDataOwned::Sequence(items) => {
            Value::Seq(items.into_iter().map(convert).collect::<Result<_, _>>()?)
        }
        YamlDataOwned::Mapping(map) => {
            let mut out = Vec::with_capacity(map.len());
            for (k, v) in map {
                let kpos = pos_of(&k);
                let name = match k.data {
                    YamlDataOwned::Value(ScalarOwned::String(s)) => s,
                    YamlDataOwned::Value(ScalarOwned::Integer(i)) => i.to_string(),
                    YamlDataOwned::Value(ScalarOwned::Boolean(b)) => b.to_string(),
                    _ => return Err((kpos, "mapping keys must be plain strings".to_string())),
                };
                out.push((Key { name, pos: kpos }, convert(v)?));
            }
            Value::Map(out)
        }
        YamlDataOwned::Tagged(_, inner) => return convert(*inner),
        YamlDataOwned::Alias(_) => {
            return Err((
                pos,
                "YAML aliases are not supported in stack files".to_string(),
            ))
        }
        YamlDataOwned::BadValue => return Err((pos, "this value is not valid YAML".to_string())),
    };
    Ok(Node { pos, value })
}

fn scalar(s: ScalarOwned) -> Value {
    match s {
        ScalarOwned::Null => Value::Null,
        ScalarOwned::Boolean(b) => Value::Bool(b),
        ScalarOwned::Integer(i) => Value::Int(i),
        ScalarOwned::FloatingPoint(f) => Value::Float(f.into_inner()),
        ScalarOwned::String(s) => Value::Str(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let n = parse("a: 1\nb:\n  c: hello\n").unwrap();
        let m = n.as_map().unwrap();
        assert_eq!(m[1].0.name, "b");
        assert_eq!(m[1].0.pos, Pos { line: 2, col: 1 });
        let inner = m[1].1.as_map().unwrap();
        assert_eq!(inner[0].1.pos, Pos { line: 3, col: 6 });
        assert_eq!(inner[0].1.as_str(), Some("hello"));
    }

    #[test]
    fn syntax_error_has_position() {
        let (pos, msg) = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(pos.line >= 1, "{pos:?}");
        assert!(!msg.is_empty());
    }

    #[test]
    fn deep_nesting_is_refused_where_it_passes_the_limit() {
        // Flow collections, a hundred thousand levels deep: refused, not a stack overflow (the
        // scanner, reading ahead, stops them at its own limit of 256 levels).
        for text in [
            "[".repeat(100_000),
            format!("a: {}", "{b: ".repeat(100_000)),
        ] {
            let (pos, msg) = parse(&text).unwrap_err();
            assert_eq!(pos.line, 1);
            assert!(msg.contains("more than 64 levels deep"), "{msg}");
        }
        // Nested flow collections that the scanner accepts stop at the limit.
        let (pos, _) = parse(&format!("{}]", "[".repeat(100))).unwrap_err();
        assert_eq!(
            pos,
            Pos {
                line: 1,
                col: MAX_DEPTH + 1
            }
        );
        // Block sequences on one line, and block mappings by indentation.
        let (pos, msg) = parse(&format!("{}x\n", "- ".repeat(100_000))).unwrap_err();
        assert_eq!(
            pos,
            Pos {
                line: 1,
                col: 2 * MAX_DEPTH + 1
            }
        );
        assert!(msg.contains("more than 64 levels deep"), "{msg}");
        let deep: String = (0..2_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        let (pos, _) = parse(&deep).unwrap_err();
        assert_eq!(
            pos,
            Pos {
                line: MAX_DEPTH + 1,
                col: MAX_DEPTH + 1
            }
        );
        // Exactly the limit is accepted.
        let ok = format!("{}x{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let (pos, msg) = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(pos.line, 2);
        assert!(msg.contains("duplicate"), "{msg}");
    }
}
