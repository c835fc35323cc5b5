//! What the fuzz targets (`dsl/fuzz`, `cargo fuzz` on nightly) check, on the
//! stable toolchain and on every `cargo test`: runbooks mutated at random
//! (seeded, so a failure replays) go through the whole pipeline — parse,
//! `fmt` round trip, compile, plan graph, every renderer — and give a plan
//! or diagnostics, never a panic. Mutations are the ones that break
//! compilers: bytes dropped, duplicated, swapped in from elsewhere, brackets
//! and keywords inserted, spans repeated.

use lifeboat_dsl::bundled::WORKFLOWS;
use lifeboat_dsl::compiler;
use lifeboat_dsl::fmt;
use lifeboat_dsl::graph::PlanGraph;
use lifeboat_dsl::loader::BundledLoader;
use lifeboat_dsl::parser;
use lifeboat_dsl::render::{self, Format};
use lifeboat_dsl::source::{FileId, SourceFile};

/// xorshift64*: small, seeded, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "\"",
    "{x}",
    "not ",
    " and ",
    " or ",
    ".",
    ",",
    ":",
    "=",
    "==",
    "!=",
    "#",
    "\n",
    "for x in xs ",
    "quiesce ",
    " by ",
    " in ",
    " via ",
    "when ",
    "after ",
    "retry 3 ",
    "timeout 0s ",
    "parallel 0 ",
    "approve ",
    "return ",
    "runbook ",
    "procedure ",
    "type ",
    "action ",
    "import ",
    "param ",
    "schedule ",
    "tz ",
    "retain ",
    "list<",
    ">",
    "99999999999999999999",
    "1d",
    "-1",
    "\\",
    "é",
    "\u{0}",
    "one at a time ",
];

fn mutate(rng: &mut Rng, text: &str, donor: &str) -> String {
    let mut b = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(5) {
            0 if !b.is_empty() => {
                let n = 1 + rng.below(40);
                let end = (at + n).min(b.len());
                b.drain(at.min(end)..end);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                b.splice(at..at, t.bytes());
            }
            2 if !b.is_empty() => {
                let start = rng.below(b.len());
                let end = (start + 1 + rng.below(60)).min(b.len());
                let span = b[start..end].to_vec();
                for _ in 0..1 + rng.below(3) {
                    b.splice(at..at, span.iter().copied());
                }
            }
            3 if !donor.is_empty() => {
                let d = donor.as_bytes();
                let start = rng.below(d.len());
                let end = (start + 1 + rng.below(80)).min(d.len());
                b.splice(at..at, d[start..end].iter().copied());
            }
            _ => {
                if let Some(x) = b.get_mut(at) {
                    *x = b"{}()[]\"#.=,:x0 \n"[rng.below(16)];
                }
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn through_the_pipeline(name: &str, text: &str) {
    let src = SourceFile::new(name, text);
    if let Ok(ast) = parser::parse(FileId(0), &src) {
        let once = fmt::format(name, text).expect("a file that parses formats");
        let again = parser::parse(FileId(0), &SourceFile::new(name, once.as_str()))
            .expect("formatted text parses");
        assert_eq!(ast, again, "fmt changed the AST");
        assert_eq!(
            fmt::format(name, &once).expect("formats again"),
            once,
            "fmt is not idempotent"
        );
    }
    let c = compiler::compile_text(name, text, &BundledLoader);
    for d in &c.diagnostics.list {
        let _ = d.one_line(&c.sources);
        let _ = format!("{:?}", d.report(&c.sources));
    }
    if !c.has_errors() {
        for plan in &c.plans {
            let g = PlanGraph::build(plan);
            for (_, f) in Format::ALL {
                let _ = render::render(&g, f);
            }
        }
    }
}

#[test]
fn mutated_runbooks_give_plans_or_diagnostics_never_a_panic() {
    let runs: usize = std::env::var("LIFEBOAT_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let seed: u64 = std::env::var("LIFEBOAT_MUTATION_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x05EE_D1FE_B0A7);
    let mut rng = Rng(seed | 1);
    for i in 0..runs {
        let (path, text) = WORKFLOWS[rng.below(WORKFLOWS.len())];
        let (_, donor) = WORKFLOWS[rng.below(WORKFLOWS.len())];
        let mutated = mutate(&mut rng, text, donor);
        let outcome = std::panic::catch_unwind(|| through_the_pipeline(path, &mutated));
        if outcome.is_err() {
            let keep = std::env::temp_dir().join(format!("lifeboat-mutation-{seed}-{i}.dr"));
            let _ = std::fs::write(&keep, &mutated);
            panic!(
                "mutation {i} of {path} (seed {seed}) panicked; the input is in {}",
                keep.display()
            );
        }
    }
}
