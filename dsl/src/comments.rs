//! Comments, found in the text (the grammar skips them).
//!
//! The parser uses them to end a node's span at its last token rather than
//! after the blanks and comments pest consumed behind it; the formatter
//! re-attaches them to the lines it prints.

/// A `#` comment: its byte range (without the newline) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Every comment outside string literals, in order.
pub fn scan(text: &str) -> Vec<Comment> {
    #[derive(PartialEq)]
    enum Mode {
        Code,
        Str,
    }
    let mut out = Vec::new();
    let mut stack = vec![Mode::Code];
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match stack.last() {
            Some(Mode::Str) => match c {
                '\\' => {
                    it.next();
                }
                '"' | '\n' => {
                    stack.pop();
                }
                '{' => stack.push(Mode::Code),
                _ => {}
            },
            _ => match c {
                '#' => {
                    let mut end = text.len();
                    while let Some(&(j, d)) = it.peek() {
                        if d == '\n' {
                            end = j;
                            break;
                        }
                        it.next();
                    }
                    out.push(Comment {
                        start: i,
                        end,
                        text: text[i..end].trim_end().to_string(),
                    });
                }
                '"' => stack.push(Mode::Str),
                '}' if stack.len() > 1 => {
                    stack.pop();
                }
                _ => {}
            },
        }
    }
    out
}

/// `end` moved back over trailing blanks and comments.
pub fn trim_end(text: &str, comments: &[Comment], start: usize, end: usize) -> usize {
    let bytes = text.as_bytes();
    let mut pos = end.min(text.len());
    loop {
        while pos > start && matches!(bytes[pos - 1], b' ' | b'\t' | b'\r' | b'\n') {
            pos -= 1;
        }
        // Inside (or at the end of) a comment?
        let i = comments.partition_point(|c| c.start < pos);
        match i.checked_sub(1).map(|k| &comments[k]) {
            Some(c) if c.start >= start && pos <= c.end => pos = c.start,
            _ => return pos,
        }
    }
}
