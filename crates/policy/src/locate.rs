//! Where a JSON pointer (RFC 6901, e.g. `/Statement/0/Resource/1`) points in a document's text.
//!
//! Lint findings carry pointers into the parsed document; this maps them back to the line and
//! column of the value in the file as written (a policy template: valid JSON with `${...}` inside
//! strings), so a finding can be reported as `policies/x.json:12:20`.

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub col: usize,
}

/// The position of the value `pointer` names in `text`. When the pointer names something that is
/// not there (a missing `Effect`, say), the position of the deepest element that is: where it
/// should be added. `None` only when `text` is not valid JSON up to that point.
pub fn locate(text: &str, pointer: &str) -> Option<Position> {
    let tokens: Vec<String> = if pointer.is_empty() {
        Vec::new()
    } else {
        pointer
            .strip_prefix('/')?
            .split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect()
    };
    let mut s = Scanner {
        chars: text.chars().collect(),
        i: 0,
        line: 1,
        col: 1,
    };
    s.find(&tokens)
}

struct Scanner {
    chars: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
}

impl Scanner {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn pos(&self) -> Position {
        Position {
            line: self.line,
            col: self.col,
        }
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn expect(&mut self, c: char) -> Option<()> {
        self.ws();
        (self.bump()? == c).then_some(())
    }

    /// Finds `path` inside the value that starts here (after white space).
    fn find(&mut self, path: &[String]) -> Option<Position> {
        self.ws();
        let start = self.pos();
        let Some((first, rest)) = path.split_first() else {
            return Some(start);
        };
        match self.peek()? {
            '{' => {
                self.bump();
                self.ws();
                if self.peek() == Some('}') {
                    return Some(start);
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.expect(':')?;
                    if key == *first {
                        return self.find(rest);
                    }
                    self.skip()?;
                    self.ws();
                    match self.bump()? {
                        ',' => continue,
                        '}' => return Some(start),
                        _ => return None,
                    }
                }
            }
            '[' => {
                let Ok(index) = first.parse::<usize>() else {
                    return Some(start);
                };
                self.bump();
                self.ws();
                if self.peek() == Some(']') {
                    return Some(start);
                }
                for _ in 0..index {
                    self.skip()?;
                    self.ws();
                    match self.bump()? {
                        ',' => {}
                        ']' => return Some(start),
                        _ => return None,
                    }
                }
                self.find(rest)
            }
            _ => Some(start),
        }
    }

    /// A string starting here (after white space), decoded.
    fn string(&mut self) -> Option<String> {
        self.ws();
        let from = self.i;
        if self.bump()? != '"' {
            return None;
        }
        loop {
            match self.bump()? {
                '\\' => {
                    self.bump()?;
                }
                '"' => break,
                _ => {}
            }
        }
        let raw: String = self.chars[from..self.i].iter().collect();
        serde_json::from_str(&raw).ok()
    }

    /// Skips the value starting here (after white space).
    fn skip(&mut self) -> Option<()> {
        self.ws();
        match self.peek()? {
            '"' => self.string().map(|_| ()),
            '{' | '[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        '"' => {
                            self.string()?;
                            continue;
                        }
                        '{' | '[' => depth += 1,
                        '}' | ']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.bump();
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.bump();
                }
            }
            _ => {
                while self
                    .peek()
                    .is_some_and(|c| !matches!(c, ',' | '}' | ']') && !c.is_whitespace())
                {
                    self.bump();
                }
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "iot:*",
      "Resource": "*"
    },
    {
      "Sid": "a/b~c \"q\"",
      "Effect": "Allow",
      "Action": ["iot:Publish", "iot:Receive"],
      "Resource": [
        "arn:aws:iot:${region}:${account}:topic/${prefix}/{x}/[y]",
        "arn:aws:iot:${region}:${account}:topic/${prefix}/+"
      ],
      "Condition": {"StringEquals": {"a/b": "x", "c~d": 1}}
    }
  ]
}"#;

    fn at(pointer: &str) -> (usize, usize) {
        let p = locate(POLICY, pointer).unwrap_or_else(|| panic!("{pointer} not found"));
        (p.line, p.col)
    }

    #[test]
    fn values_by_pointer() {
        assert_eq!(at(""), (1, 1));
        assert_eq!(at("/Version"), (2, 14));
        assert_eq!(at("/Statement"), (3, 16));
        assert_eq!(at("/Statement/0"), (4, 5));
        assert_eq!(at("/Statement/0/Action"), (6, 17));
        assert_eq!(at("/Statement/0/Resource"), (7, 19));
        assert_eq!(at("/Statement/1/Sid"), (10, 14));
        assert_eq!(at("/Statement/1/Action/0"), (12, 18));
        assert_eq!(at("/Statement/1/Action/1"), (12, 33));
        assert_eq!(at("/Statement/1/Resource/0"), (14, 9));
        assert_eq!(at("/Statement/1/Resource/1"), (15, 9));
    }

    #[test]
    fn escaped_keys_and_brackets_inside_strings() {
        // `~1` is `/` and `~0` is `~` in a pointer.
        assert_eq!(at("/Statement/1/Condition/StringEquals/a~1b"), (17, 45));
        assert_eq!(at("/Statement/1/Condition/StringEquals/c~0d"), (17, 57));
        let text = "{\"a\\\"b\": [\"}]\", {\"k\": 2}]}";
        assert_eq!(
            locate(text, "/a\"b/1/k"),
            Some(Position { line: 1, col: 23 })
        );
    }

    #[test]
    fn missing_elements_point_at_their_parent() {
        // A statement without Effect: where it should be added.
        assert_eq!(at("/Statement/0/Effect2"), (4, 5));
        assert_eq!(at("/Statement/5"), (3, 16));
        assert_eq!(at("/Version/0"), (2, 14));
        assert_eq!(
            locate("{}", "/Statement"),
            Some(Position { line: 1, col: 1 })
        );
        assert_eq!(locate("[]", "/0"), Some(Position { line: 1, col: 1 }));
    }

    #[test]
    fn columns_count_characters() {
        let text = "{\"Sid\": \"é\", \"Action\": \"iot:*\"}";
        assert_eq!(locate(text, "/Action"), Some(Position { line: 1, col: 24 }));
        assert_eq!(locate("{\"a\" 1}", "/a"), None);
        assert_eq!(locate("{\"a\": 1}", "a"), None);
    }
}
