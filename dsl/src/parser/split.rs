//! Where a big file may be cut so that its pieces parse on several threads.
//!
//! A generated runbook of 10,000 steps is one block of statements, and pest
//! reads it on one core. The block's statements may be read apart: the file
//! with the block's tail taken out (its head, and everything after the
//! block), and each run of statements of the tail on its own.
//!
//! A cut is made only before a line whose first token, outside any bracket
//! or string of the block, is a step's binding (`name =`, the name not a
//! reserved word). No statement can go on with a name and `=`: `=` is read
//! only in a binding and after a parameter's type (`param x: t = …`), whose
//! text before the cut would be left incomplete, and a piece that does not
//! parse on its own sends the whole file back to the one-thread parse (see
//! `parser::parse_in`). So when every piece parses, the statements are those
//! the whole file gives, spans and all; the differential test and the parse
//! fuzz target hold the two parses to each other.

use super::lex::Block;

/// A big block of the file and where its statements may be cut.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Cuts {
    /// The byte offset of the block's closing `}`.
    pub close: usize,
    /// Byte offsets of statements where a piece starts, ascending, each in
    /// the block; the first piece is the file before `at[0]`.
    pub at: Vec<usize>,
}

/// The cuts into at most `pieces` pieces of about equal length, none under
/// `min_piece` bytes, of `block` (the file's biggest top-level block, as
/// `lex::prescan` found it); `None` when the file is too small to be worth
/// cutting or the block has no such place.
pub(super) fn cuts(text: &str, block: Block, pieces: usize, min_piece: usize) -> Option<Cuts> {
    if pieces < 2 || text.len() < 2 * min_piece.max(1) {
        return None;
    }
    let Block { open, close, lines } = block;
    let b = text.as_bytes();
    // Cut the file about evenly: the first piece is everything before the
    // first cut, the last the block's statements from the last cut on.
    let pieces = pieces.min(text.len() / min_piece.max(1));
    let mut at: Vec<usize> = Vec::with_capacity(pieces);
    let mut prev = 0;
    for k in 1..pieces {
        let target = (text.len() * k / pieces).max(open);
        let from = lines.partition_point(|&l| l < target);
        let Some(cut) = lines[from..].iter().find_map(|&l| binding_at(b, l)) else {
            break;
        };
        if cut - prev < min_piece || close - cut < min_piece {
            continue;
        }
        at.push(cut);
        prev = cut;
    }
    (!at.is_empty()).then_some(Cuts { close, at })
}

/// Where the line starting at `i` starts a step's binding (`name =`, not
/// `==`, the name not reserved): the offset of the name.
fn binding_at(b: &[u8], mut i: usize) -> Option<usize> {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r') {
        i += 1;
    }
    let start = i;
    if !(i < b.len() && (b[i].is_ascii_alphabetic() || b[i] == b'_')) {
        return None;
    }
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    let word = std::str::from_utf8(&b[start..i]).ok()?;
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    let binds = b.get(i) == Some(&b'=') && b.get(i + 1) != Some(&b'=');
    (binds && !super::is_reserved(word)).then_some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cuts of `text` as the parser makes them.
    fn cut(text: &str, pieces: usize, min_piece: usize) -> Option<Cuts> {
        cuts(
            text,
            super::super::lex::prescan(text).block?,
            pieces,
            min_piece,
        )
    }

    fn steps(n: usize) -> String {
        let mut s = String::from("runbook r \"t\" {\n");
        for i in 0..n {
            s.push_str(&format!("  s{i} = nova.find_servers(tag: \"x-{i}\")\n"));
        }
        s.push_str("}\n");
        s
    }

    #[test]
    fn a_small_file_is_not_cut() {
        assert_eq!(cut(&steps(3), 4, 1024), None);
        assert_eq!(cut(&steps(3000), 1, 1024), None);
    }

    #[test]
    fn a_big_block_is_cut_evenly_before_bindings() {
        let text = steps(3000);
        let c = cut(&text, 4, 1024).expect("cut");
        assert_eq!(c.close, text.len() - 2);
        assert_eq!(c.at.len(), 3, "{c:?}");
        for (k, &at) in c.at.iter().enumerate() {
            assert!(text[at..].starts_with('s'), "{}", &text[at..at + 10]);
            let share = at as f64 / text.len() as f64;
            assert!((share - (k + 1) as f64 / 4.0).abs() < 0.01, "{share}");
        }
    }

    #[test]
    fn no_cut_inside_a_nested_block_a_string_or_a_comment_or_before_a_keyword() {
        let mut text = String::from(
            "runbook r \"t\" {\n  quiesce s by role in [\"a\"] via pause within 30s {\n",
        );
        for i in 0..2000 {
            text.push_str(&format!("    s{i} = nova.find_servers(tag: \"x-{i}\")\n"));
        }
        text.push_str("  }\n  n = x.y(a: \"{\n b = 1}\")\n  # c = x.y()\n  retry = x.y()\n}\n");
        let block = super::super::lex::prescan(&text).block.expect("a block");
        let starts: Vec<usize> = block
            .lines
            .iter()
            .filter_map(|&l| binding_at(text.as_bytes(), l))
            .collect();
        assert_eq!(starts, vec![text.find("n = x").unwrap()]);
    }

    /// A runbook of `n` rounds of every kind of statement, laid out as
    /// people write them (attributes on the next line, comments that look
    /// like steps, a string's `{…}` across lines, blocks in blocks), between
    /// two procedures.
    fn varied(n: usize) -> String {
        let mut s = String::from(
            "# x = y()\nprocedure p(a: string) -> string {\n  v = nova.find_servers(site: a, tag: \"t\")\n  return a\n}\n\
             runbook big \"title\" {\n  param vnf: string\n  param from: site = \"site-a\"\n  approve \"go\"\n",
        );
        for i in 0..n {
            s.push_str(&format!(
                "  s{i} = nova.find_servers(site: from, tag: \"{{vnf}}-{i}\") retry 2 backoff 1s timeout 1m\n\
                 \x20 # s{i}x = commented.out()\n\
                 \x20 v{i} = cinder.volumes_of(s{i})\n\
                 \x20   when s{i} != [] and not (vnf == \"x\")\n\
                 \x20 quiesce s{i} by role in [\"db\", \"app\"] via pause within 30s {{\n\
                 \x20   g{i} = cinder.ensure_group(site: from, name: \"lb-{i}\", volumes: v{i})\n\
                 \x20 }}\n\
                 \x20 for x{i} in s{i} parallel 4 {{\n\
                 \x20   img{i} = nova.create_image(x{i}, name: \"lb-{{vnf}}-{{run.id}}-{i}\")\n\
                 \x20     cleanup glance.delete_image(img{i})\n\
                 \x20 }}\n\
                 \x20 n{i} = nova.find_servers(site: from, tag: \"{{\n      vnf}}\")\n\
                 \x20 nova.find_servers(site: from, tag: \"z\") after s{i},\n    v{i}\n\
                 \x20 commit = x.y()\n  use = x.y()\n  tz = x.y()\n"
            ));
        }
        s.push_str("}\nprocedure q() {\n  w = x.y()\n}\n");
        s
    }

    fn both(text: &str, pieces: usize, min_piece: usize) {
        use crate::source::{FileId, SourceFile};
        let src = SourceFile::new("big.dr", text);
        let whole = crate::parser::parse_in(FileId(0), &src, 1, min_piece);
        let cut = crate::parser::parse_in(FileId(0), &src, pieces, min_piece);
        // Debug text: an AST's `==` holds whatever its locations (see `Loc`).
        let (whole, cut) = (format!("{whole:?}"), format!("{cut:?}"));
        assert!(
            whole == cut,
            "{pieces} pieces of {min_piece}:\n{whole:.2000}\n{cut:.2000}"
        );
    }

    #[test]
    fn pieces_parse_to_the_whole_files_tree() {
        let text = varied(60);
        let src = crate::source::SourceFile::new("big.dr", text.as_str());
        let tree = crate::parser::parse_in(crate::source::FileId(0), &src, 1, 1);
        assert!(tree.is_ok(), "{:?}", tree.err());
        let comments = crate::comments::scan(&text);
        for (pieces, min_piece) in [(2, 4096), (3, 1024), (7, 256), (64, 1)] {
            let c = cut(&text, pieces, min_piece).expect("cut");
            assert!(c.at.len() + 1 >= pieces.min(3), "{pieces}: {c:?}");
            // Read in pieces, not sent back to the one-thread parse.
            let cut = super::super::parse_pieces(crate::source::FileId(0), &src, &comments, &c);
            let (cut, tree) = (format!("{:?}", cut), format!("{:?}", tree.as_ref().ok()));
            assert!(cut == tree, "{pieces} pieces of {min_piece}: spans and all");
            both(&text, pieces, min_piece);
        }
    }

    #[test]
    fn a_broken_piece_gives_the_whole_files_errors() {
        let text = varied(12);
        // Every kind of slip, at places spread over the file: the pieces'
        // parse must fail as the whole file's does, with its diagnostics —
        // or, where the slip still parses, agree with it.
        let slips = [
            "", "=", "}", "{", ",", "\"", "\n", "x", "(", "retry", "==", " after ",
        ];
        let mut at = 7;
        for k in 0..120 {
            at = (at * 7919 + 104_729) % text.len();
            let at = (0..=at)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            let slip = slips[k % slips.len()];
            let end = if slip.is_empty() {
                (at + 1).min(text.len())
            } else {
                at
            };
            let broken = format!("{}{slip}{}", &text[..at], &text[end..]);
            both(&broken, 3, 512);
        }
    }

    #[test]
    fn every_runbook_of_the_repository_parses_alike_in_pieces() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut n = 0;
        for dir in [
            "stdlib",
            "workflows",
            "dsl/tests/malformed",
            "dsl/tests/golden",
        ] {
            let mut stack = vec![root.join(dir)];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "dr") {
                        let text = std::fs::read_to_string(&p).expect("readable");
                        both(&text, 4, 1);
                        n += 1;
                    }
                }
            }
        }
        assert!(n >= 40, "{n} files");
    }

    #[test]
    fn the_biggest_of_several_blocks_is_cut() {
        let mut text = steps(10);
        text.push_str(&steps(2000).replace("runbook r", "runbook q"));
        let c = cut(&text, 2, 1024).expect("cut");
        assert!(c.at[0] > text.find("runbook q").unwrap());
        assert_eq!(c.close, text.len() - 2);
    }
}
