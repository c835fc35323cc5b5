//! Any text: the parser returns an AST or diagnostics, never panics; read in
//! pieces on several threads it gives the same (spans and all); when it
//! parses, formatting it gives text that parses to the same AST and formats
//! to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeboat_dsl::source::{FileId, SourceFile};
use lifeboat_dsl::{fmt, parser};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let src = SourceFile::new("fuzz.dr", text);
    let whole = parser::parse_in(FileId(0), &src, 1, 1);
    // Debug text: an AST's `==` holds whatever its locations.
    let pieces = parser::parse_in(FileId(0), &src, 3, 1);
    assert_eq!(format!("{whole:?}"), format!("{pieces:?}"), "pieces parse differently");
    if let Ok(ast) = whole {
        let once = fmt::format("fuzz.dr", text).expect("a file that parses formats");
        let again = parser::parse(FileId(0), &SourceFile::new("fuzz.dr", once.as_str())).expect("formatted text parses");
        assert_eq!(ast, again, "fmt changed the AST");
        assert_eq!(fmt::format("fuzz.dr", &once).expect("formats again"), once, "fmt is not idempotent");
    }
});
