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
///
/// Scanned byte by byte: every character that matters here is ASCII, and a
/// UTF-8 continuation byte never looks like one.
pub fn scan(text: &str) -> Vec<Comment> {
    #[derive(PartialEq)]
    enum Mode {
        Code,
        Str,
    }
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut stack = vec![Mode::Code];
    let mut i = 0;
    while i < b.len() {
        // Jump to the next byte that matters where we are.
        let in_str = stack.last() == Some(&Mode::Str);
        let next = b[i..].iter().position(|&c| match in_str {
            true => matches!(c, b'\\' | b'"' | b'\n' | b'{'),
            false => matches!(c, b'#' | b'"' | b'}'),
        });
        match next {
            Some(n) => i += n,
            None => break,
        }
        let c = b[i];
        match stack.last() {
            Some(Mode::Str) => match c {
                b'\\' => i += 1,
                b'"' | b'\n' => {
                    stack.pop();
                }
                b'{' => stack.push(Mode::Code),
                _ => {}
            },
            _ => match c {
                b'#' => {
                    let end = b[i..]
                        .iter()
                        .position(|&d| d == b'\n')
                        .map_or(b.len(), |n| i + n);
                    out.push(Comment {
                        start: i,
                        end,
                        text: text[i..end].trim_end().to_string(),
                    });
                    i = end;
                    continue;
                }
                b'"' => stack.push(Mode::Str),
                b'}' if stack.len() > 1 => {
                    stack.pop();
                }
                _ => {}
            },
        }
        i += 1;
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
