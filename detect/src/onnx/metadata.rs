//! The metadata Ultralytics writes into its ONNX exports: `names`, the class names as Python
//! writes a dict with `str()` (`{0: 'person', 1: "rock 'n' roll"}`), and `imgsz`, the input
//! size as a list (`[640, 640]`, height then width).

use std::collections::BTreeMap;

/// Why a `names` value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("class names {problem} at character {at}")]
pub struct NamesError {
    pub problem: &'static str,
    /// Character offset into the value.
    pub at: usize,
}

/// Parses a Python dict literal of integer keys and string values, as `str(dict)` writes it:
/// single or double quotes, backslash escapes (`\\ \' \" \n \t \r \xNN \uNNNN \UNNNNNNNN` and
/// the rest of Python's), trailing commas. Keys need not be contiguous.
pub fn parse_names(text: &str) -> Result<BTreeMap<u32, String>, NamesError> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        at: 0,
    };
    parser.names()
}

/// Parses `imgsz`: `[h, w]`, or one number for a square input. Returns `[width, height]`.
pub fn parse_imgsz(text: &str) -> Option<[u32; 2]> {
    let inner = text.trim();
    let inner = inner
        .strip_prefix(['[', '('])
        .and_then(|rest| rest.strip_suffix([']', ')']))
        .unwrap_or(inner);
    let numbers: Vec<u32> = inner
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    match numbers[..] {
        [side] if side > 0 => Some([side, side]),
        [height, width] if height > 0 && width > 0 => Some([width, height]),
        _ => None,
    }
}

/// The character a one-letter escape (`\\n`) stands for.
fn simple_escape(letter: char) -> Option<char> {
    Some(match letter {
        '\\' => '\\',
        '\'' => '\'',
        '"' => '"',
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'v' => '\u{b}',
        _ => return None,
    })
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn names(&mut self) -> Result<BTreeMap<u32, String>, NamesError> {
        let mut names = BTreeMap::new();
        self.expect('{', "do not start with '{'")?;
        loop {
            self.skip_space();
            if self.eat('}') {
                break;
            }
            let key = self.integer()?;
            self.skip_space();
            self.expect(':', "lack a ':' after a key")?;
            self.skip_space();
            let name = self.string()?;
            if names.insert(key, name).is_some() {
                return Err(self.error("repeat a key"));
            }
            self.skip_space();
            if self.eat(',') {
                continue;
            }
            self.expect('}', "lack a ',' or '}' after a name")?;
            break;
        }
        self.skip_space();
        if self.at != self.chars.len() {
            return Err(self.error("continue after the closing '}'"));
        }
        Ok(names)
    }

    fn integer(&mut self) -> Result<u32, NamesError> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        let digits: String = self.chars[start..self.at].iter().collect();
        digits.parse().map_err(|_| NamesError {
            problem: "lack a class number",
            at: start,
        })
    }

    fn string(&mut self) -> Result<String, NamesError> {
        let quote = match self.peek() {
            Some(quote @ ('\'' | '"')) => quote,
            _ => return Err(self.error("lack a quoted name")),
        };
        self.at += 1;
        let mut text = String::new();
        loop {
            let Some(c) = self.next() else {
                return Err(self.error("end inside a name"));
            };
            match c {
                c if c == quote => return Ok(text),
                '\\' => self.escape(&mut text)?,
                c => text.push(c),
            }
        }
    }

    /// One escape sequence after its backslash, as Python reads it in a non-raw string.
    fn escape(&mut self, text: &mut String) -> Result<(), NamesError> {
        let Some(c) = self.next() else {
            return Err(self.error("end inside an escape"));
        };
        match c {
            // A backslash-newline continues the line.
            '\n' => {}
            'x' => text.push(self.hex_char(2)?),
            'u' => text.push(self.hex_char(4)?),
            'U' => text.push(self.hex_char(8)?),
            '0'..='7' => {
                let mut value = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let Some(digit) = self.peek().and_then(|c| c.to_digit(8)) else {
                        break;
                    };
                    value = value * 8 + digit;
                    self.at += 1;
                }
                text.push(
                    char::from_u32(value).ok_or_else(|| self.error("have a bad octal escape"))?,
                );
            }
            other => match simple_escape(other) {
                Some(escaped) => text.push(escaped),
                // Python keeps unknown escapes as they are.
                None => {
                    text.push('\\');
                    text.push(other);
                }
            },
        }
        Ok(())
    }

    fn hex_char(&mut self, digits: usize) -> Result<char, NamesError> {
        let start = self.at;
        let end = start + digits;
        if end > self.chars.len() {
            return Err(self.error("end inside an escape"));
        }
        let hex: String = self.chars[start..end].iter().collect();
        self.at = end;
        Some(hex)
            .filter(|hex| hex.chars().all(|c| c.is_ascii_hexdigit()))
            .and_then(|hex| u32::from_str_radix(&hex, 16).ok())
            .and_then(char::from_u32)
            .ok_or(NamesError {
                problem: "have a bad hex escape",
                at: start,
            })
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        Some(c)
    }

    fn eat(&mut self, expected: char) -> bool {
        let found = self.peek() == Some(expected);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, expected: char, problem: &'static str) -> Result<(), NamesError> {
        if self.eat(expected) {
            Ok(())
        } else {
            Err(self.error(problem))
        }
    }

    fn error(&self, problem: &'static str) -> NamesError {
        NamesError {
            problem,
            at: self.at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_escapes_read_as_python_wrote_them() {
        // What str() of {0: 'person', 1: "rock 'n' roll", 2: 'say "hi"', 3: 'both \' and "',
        // 4: 'back\\slash', 5: 'tab\there', 6: 'café', 7: '\x07bell'} prints.
        let text = r#"{0: 'person', 1: "rock 'n' roll", 2: 'say "hi"', 3: 'both \' and "', 4: 'back\\slash', 5: 'tab\there', 6: 'café', 7: '\x07bell', 8: '\u2603\U0001f600'}"#;
        let names = parse_names(text).unwrap();
        let expected = [
            "person",
            "rock 'n' roll",
            "say \"hi\"",
            "both ' and \"",
            "back\\slash",
            "tab\there",
            "café",
            "\u{7}bell",
            "\u{2603}\u{1f600}",
        ];
        assert_eq!(names.len(), expected.len());
        for (id, name) in expected.iter().enumerate() {
            assert_eq!(names[&(id as u32)], *name);
        }
    }

    #[test]
    fn many_classes_gaps_and_trailing_commas() {
        let text = format!(
            "{{{}}}",
            (0..1000)
                .map(|id| format!("{id}: 'class{id}', "))
                .collect::<String>()
        );
        let names = parse_names(&text).unwrap();
        assert_eq!(names.len(), 1000);
        assert_eq!(names[&999], "class999");
        let sparse = parse_names("{ 3 : 'a' ,\n 10: \"b\" }").unwrap();
        assert_eq!(sparse.keys().copied().collect::<Vec<_>>(), vec![3, 10]);
        assert!(parse_names("{}").unwrap().is_empty());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for garbage in [
            "",
            "{",
            "[0, 1]",
            "{0: person}",
            "{0: 'unterminated}",
            "{0: 'a' 1: 'b'}",
            "{0: 'a', 0: 'b'}",
            "{-1: 'a'}",
            "{99999999999: 'a'}",
            "{0: 'a'} trailing",
            "{0: 'bad \\x4'}",
            "{0: 'bad \\x+4'}",
            "{0: 'bad \\ud800'}",
            "{0: 'ends in \\",
            "{'a': 0}",
        ] {
            assert!(parse_names(garbage).is_err(), "{garbage:?} parsed");
        }
    }

    #[test]
    fn imgsz_is_height_then_width() {
        assert_eq!(parse_imgsz("[640, 640]"), Some([640, 640]));
        assert_eq!(parse_imgsz("[480, 640]"), Some([640, 480]));
        assert_eq!(parse_imgsz("320"), Some([320, 320]));
        assert_eq!(parse_imgsz("[0, 640]"), None);
        assert_eq!(parse_imgsz("[a, b]"), None);
        assert_eq!(parse_imgsz("[1, 2, 3]"), None);
    }
}
