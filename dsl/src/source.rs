//! Source files and positions.
//!
//! Every file the compiler reads (the runbook, its imports, the embedded
//! stdlib) gets a [`FileId`] in a [`SourceMap`]. AST nodes carry a [`Loc`]: the
//! file plus a [`plan::Span`] (byte range, 1-based line and column). Spans never
//! take part in AST equality (`Loc == Loc` is always true), so two parses of
//! differently laid-out text compare equal: that is how `fmt` is checked to
//! preserve the AST.

use crate::plan::Span;

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FileId(pub u32);

/// Where an AST node came from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Loc {
    pub file: FileId,
    pub span: Span,
}

impl PartialEq for Loc {
    fn eq(&self, _: &Loc) -> bool {
        true
    }
}

impl Loc {
    /// A location covering both `self` and `other` (same file assumed).
    pub fn to(self, other: Loc) -> Loc {
        Loc {
            file: self.file,
            span: Span {
                start: self.span.start,
                end: other.span.end.max(self.span.end),
                line: self.span.line,
                col: self.span.col,
            },
        }
    }
}

/// One source file: its path as given and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
    line_starts: Vec<usize>,
    /// Per line: only ASCII (a column is then a byte count).
    line_ascii: Vec<bool>,
}

impl SourceFile {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let line_ascii = line_starts
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                let end = line_starts.get(i + 1).copied().unwrap_or(text.len());
                text.as_bytes()[start..end].is_ascii()
            })
            .collect();
        SourceFile {
            path: path.into(),
            text,
            line_starts,
            line_ascii,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        self.line_col_near(offset, &mut 0)
    }

    /// [`SourceFile::line_col`] for a caller that walks the text in order:
    /// `hint` is the 0-based line of its previous offset, checked (with the
    /// next line) before searching, and updated.
    pub fn line_col_near(&self, offset: usize, hint: &mut usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let on = |l: usize| {
            self.line_starts.get(l).is_some_and(|&s| s <= offset)
                && self
                    .line_starts
                    .get(l + 1)
                    .is_none_or(|&next| offset < next)
        };
        let line = if on(*hint) {
            *hint
        } else if on(*hint + 1) {
            *hint + 1
        } else {
            match self.line_starts.binary_search(&offset) {
                Ok(i) => i,
                Err(i) => i - 1,
            }
        };
        *hint = line;
        let start = self.line_starts[line];
        let col = if self.line_ascii[line] {
            offset - start
        } else {
            self.text
                .get(start..offset)
                .map(|s| s.chars().count())
                .unwrap_or(offset - start)
        };
        (line as u32 + 1, col as u32 + 1)
    }

    pub fn span(&self, start: usize, end: usize) -> Span {
        self.span_near(start, end, &mut 0)
    }

    /// [`SourceFile::span`] with a line hint (see [`SourceFile::line_col_near`]).
    pub fn span_near(&self, start: usize, end: usize, hint: &mut usize) -> Span {
        let (line, col) = self.line_col_near(start, hint);
        Span {
            start,
            end,
            line,
            col,
        }
    }
}

/// Every file read during one compilation.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, path: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile::new(path, text));
        FileId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn find(&self, path: &str) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.path == path)
            .map(|i| FileId(i as u32))
    }
}
