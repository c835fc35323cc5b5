//! One walk over a file's bytes before pest reads it: how deep it nests
//! (past [`MAX_NESTING`] the file is refused rather than parsed, which
//! could overflow the stack), and the lines of its biggest top-level block
//! (where `split` may cut it). Strings and comments are stepped over; a
//! string's `{…}` is code again, and counts as a bracket.

use super::MAX_NESTING;

/// What the walk found.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Prescan {
    /// The byte offset where nesting first goes past [`MAX_NESTING`]:
    /// brackets and braces (strings' `{…}` included) and runs of the
    /// keyword `not`. The walk stops there.
    pub too_deep: Option<usize>,
    /// The top-level `{…}` with the most text.
    pub block: Option<Block>,
}

/// A top-level `{…}`: where it opens and closes, and where each of its
/// own lines starts (a line break outside any bracket or string in it).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Block {
    pub open: usize,
    pub close: usize,
    pub lines: Vec<usize>,
}

pub(super) fn prescan(text: &str) -> Prescan {
    let mut lex = Lex::new(text);
    let mut nots = 0;
    let mut block: Option<Block> = None;
    let mut best: Option<Block> = None;
    while let Some((at, token)) = lex.next() {
        match token {
            Token::Word(end) => nots = if &text[at..end] == "not" { nots + 1 } else { 0 },
            Token::Close | Token::Other => nots = 0,
            Token::Open(_) | Token::Newline | Token::Quote => {}
        }
        if lex.depth() + nots > MAX_NESTING {
            return Prescan {
                too_deep: Some(at),
                block: None,
            };
        }
        match token {
            Token::Open(b'{') if lex.depth() == 1 => {
                block = Some(Block {
                    open: at,
                    close: at,
                    lines: Vec::new(),
                })
            }
            Token::Close if lex.depth() == 0 => {
                if let Some(mut b) = block.take() {
                    b.close = at;
                    if best
                        .as_ref()
                        .is_none_or(|w| b.close - b.open > w.close - w.open)
                    {
                        best = Some(b);
                    }
                }
            }
            Token::Newline if lex.depth() == 1 => {
                if let Some(b) = block.as_mut() {
                    b.lines.push(at + 1);
                }
            }
            _ => {}
        }
    }
    Prescan {
        too_deep: None,
        block: best,
    }
}

/// What the walk meets outside strings and comments, with its offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// `{`, `(` or `[`; `"` for a string's `{`, which opens code in it.
    Open(u8),
    /// Any closing bracket (a string's `}` goes back into the string).
    Close,
    /// A line break.
    Newline,
    /// A word (letters, digits, `_`): where it ends.
    Word(usize),
    /// A string's opening quote.
    Quote,
    /// Any other byte but a blank.
    Other,
}

struct Lex<'t> {
    b: &'t [u8],
    i: usize,
    /// Open brackets, innermost last: `true` for a string's `{…}`, which
    /// returns to the string when it closes.
    open: Vec<bool>,
    in_str: bool,
}

impl<'t> Lex<'t> {
    fn new(text: &'t str) -> Self {
        Lex {
            b: text.as_bytes(),
            i: 0,
            open: Vec::new(),
            in_str: false,
        }
    }

    /// The brackets open after the last token.
    fn depth(&self) -> usize {
        self.open.len()
    }
}

/// The bytes a string's walk stops at.
static IN_STRING: [bool; 256] = {
    let mut t = [false; 256];
    t[b'\\' as usize] = true;
    t[b'"' as usize] = true;
    t[b'{' as usize] = true;
    t
};

/// Bytes of a word: letters, digits and `_`.
static WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'_';
        c += 1;
    }
    t
};

/// Blanks a walk steps over: every ASCII white space but the line break.
static BLANK: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_whitespace() && b != b'\n';
        c += 1;
    }
    t
};

impl Iterator for Lex<'_> {
    type Item = (usize, Token);

    fn next(&mut self) -> Option<(usize, Token)> {
        let b = self.b;
        loop {
            if self.in_str {
                // Straight to the next byte that matters in a string.
                self.i += b
                    .get(self.i..)?
                    .iter()
                    .position(|&c| IN_STRING[c as usize])?;
                let at = self.i;
                self.i += 1;
                match b[at] {
                    b'\\' => self.i += 1,
                    b'"' => self.in_str = false,
                    _ => {
                        self.open.push(true);
                        self.in_str = false;
                        return Some((at, Token::Open(b'"')));
                    }
                }
                continue;
            }
            let at = self.i;
            let c = *b.get(at)?;
            self.i += 1;
            return Some(match c {
                b'"' => {
                    self.in_str = true;
                    (at, Token::Quote)
                }
                b'#' => {
                    // To the line break, which is the next token.
                    self.i = b[at..]
                        .iter()
                        .position(|&d| d == b'\n')
                        .map_or(b.len(), |n| at + n);
                    continue;
                }
                b'{' | b'(' | b'[' => {
                    self.open.push(false);
                    (at, Token::Open(c))
                }
                b'}' | b')' | b']' => {
                    if self.open.pop() == Some(true) {
                        self.in_str = true;
                    }
                    (at, Token::Close)
                }
                b'\n' => (at, Token::Newline),
                c if WORD[c as usize] => {
                    self.i += b[self.i..]
                        .iter()
                        .position(|&d| !WORD[d as usize])
                        .unwrap_or(b.len() - self.i);
                    (at, Token::Word(self.i))
                }
                c if BLANK[c as usize] => {
                    // The rest of a run of blanks (indentation) at once.
                    self.i += b[self.i..]
                        .iter()
                        .position(|&d| !BLANK[d as usize])
                        .unwrap_or(b.len() - self.i);
                    continue;
                }
                _ => (at, Token::Other),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_biggest_top_level_block_and_its_own_lines() {
        let text = "runbook a \"t\" {\n  x = y()\n}\nrunbook b \"{\n}\" {\n  q = r(\n  s)\n  # c\n  t = \"\n\"\n  p {\n    u\n  }\n}\n";
        let b = prescan(text).block.expect("a block");
        assert_eq!(
            &text[b.open..=b.close],
            &text[text.find("\" {\n  q").unwrap() + 2..text.len() - 1]
        );
        let starts: Vec<&str> = b
            .lines
            .iter()
            .map(|&l| text[l..].lines().next().unwrap_or(""))
            .collect();
        // Not inside `r(…)`, the string or the inner block; a comment's
        // line break counts.
        assert_eq!(starts, ["  q = r(", "  # c", "  t = \"", "  p {", "}"]);
    }
}
