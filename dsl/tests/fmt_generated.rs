//! `fmt` on generated files: a property test. Each case is a file built at
//! random from the grammar (`dsl/src/grammar.pest`) — imports, runbooks,
//! procedures, type, action and method declarations; every statement, step
//! attribute and expression form; names that are nearly reserved words;
//! strings with escapes, `#` and interpolations; comments after any token
//! of a line's end and on lines of their own; odd spacing and line breaks.
//! For every case: the formatted text parses to the same AST, formatting it
//! again changes nothing, and no comment is lost or reordered. A failure
//! prints the case's seed and text (`FMT_SEED=N` replays one case).

use lifeboat_dsl::fmt;
use lifeboat_dsl::parser;
use lifeboat_dsl::source::{FileId, SourceFile};

/// xorshift64*: a small PRNG, so that a seed names a case forever.
struct Gen {
    state: u64,
    out: String,
    comments: u32,
}

const NAMES: &[&str] = &[
    "vnf",
    "servers",
    "s",
    "v",
    "x9",
    "_t",
    "a_b",
    "Site",
    "format",
    "inline",
    "notify",
    "order",
    "andy",
    "bye",
    "retryable",
    "parameters",
    "runbooks",
    "fork",
    "instance",
    "nothing",
    "within_x",
    "timeouts",
    "imports",
    "used",
    "afterwards",
    "kindly",
    "undone",
    "each",
    "commit",
    "default",
    "one",
    "at",
    "a",
    "time",
    "list",
    "site",
    "string",
    "none",
    "read",
];
const FIELDS: &[&str] = &[
    "id", "name", "in", "for", "not", "volumes", "site", "size_gb", "when",
];
const QNAMES: &[&str] = &[
    "nova.find_servers",
    "cinder.create_group_snapshot",
    "lifeboat.in",
    "x.for",
    "a.b.c",
    "neutron.capture",
    "swift.not",
];
const TYPES: &[&str] = &[
    "string", "int", "bool", "duration", "site", "volume", "server",
];

/// Whether a list may end with a comma.
#[derive(PartialEq)]
enum Trailing {
    Maybe,
    Never,
}

impl Gen {
    fn new(seed: u64) -> Gen {
        Gen {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            out: String::new(),
            comments: 0,
        }
    }
    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
    fn put(&mut self, s: &str) {
        self.out.push_str(s);
    }
    /// `n` items, each written by `item`, separated by commas; where the
    /// grammar allows one, sometimes a trailing comma.
    fn items(&mut self, n: usize, trailing: Trailing, mut item: impl FnMut(&mut Gen)) {
        for i in 0..n {
            if i > 0 {
                self.put(",");
                self.thin();
            }
            item(self);
        }
        if trailing == Trailing::Maybe && n > 0 && self.chance(30) {
            self.put(",");
        }
    }

    /// Whitespace between two tokens: a space, several, a line break with
    /// an indent, and sometimes a comment that ends the line.
    fn gap(&mut self) {
        match self.below(10) {
            0..=5 => self.put(" "),
            6 => self.put("   "),
            7 => self.put("\n    "),
            8 => self.put("\n\n\t"),
            _ => self.comment(),
        }
    }
    /// Where a token may touch the next (punctuation): sometimes nothing.
    fn thin(&mut self) {
        if !self.chance(40) {
            self.gap();
        }
    }
    fn comment(&mut self) {
        self.comments += 1;
        let n = self.comments;
        let text = match self.below(4) {
            0 => format!(" # note {n}"),
            1 => format!("# {n}: a \"quoted\" {{brace}} and # again"),
            2 => format!("  #{n}"),
            _ => format!(" # {n} é ü"),
        };
        self.put(&text);
        self.put("\n  ");
    }
    /// Between statements: a newline, blank lines, a comment line.
    fn line(&mut self) {
        match self.below(6) {
            0 => self.put("\n\n\n  "),
            1 => {
                self.put("\n  ");
                self.comment();
            }
            2 => self.put(" "),
            _ => self.put("\n  "),
        }
    }

    fn name(&mut self) {
        let n = self.pick(NAMES);
        self.put(n);
    }
    fn ty(&mut self) {
        if self.chance(20) {
            self.put("list<");
            self.ty();
            self.put(">");
        } else {
            let t = self.pick(TYPES);
            self.put(t);
        }
    }
    fn duration(&mut self) {
        let d = self.pick(&["30s", "5m", "1h", "250ms", "2d", "90s"]);
        self.put(d);
    }
    fn int(&mut self) {
        let i = self.pick(&["0", "3", "-7", "42", "1000"]);
        self.put(i);
    }
    fn string(&mut self, depth: u32) {
        self.put("\"");
        for _ in 0..self.below(4) {
            match self.below(8) {
                0 if depth < 2 => {
                    self.put("{");
                    self.expr(depth + 1);
                    self.put("}");
                }
                1 => {
                    let e = self.pick(&["\\\"", "\\\\", "\\{", "\\}", "\\n", "\\t"]);
                    self.put(e);
                }
                2 => self.put(" # not a comment "),
                3 => self.put("ünïcode"),
                _ => {
                    let w = self.pick(&["site-a", "lb-", "x y", "a,b", "(", "]", "="]);
                    self.put(w);
                }
            }
        }
        self.put("\"");
    }
    fn primary(&mut self, depth: u32) {
        match self.below(if depth > 3 { 6 } else { 9 }) {
            0 => self.put("true"),
            1 => self.put("false"),
            2 | 3 => self.name(),
            4 => self.string(depth),
            5 => {
                if self.chance(50) {
                    self.duration()
                } else {
                    self.int()
                }
            }
            6 => {
                self.put("[");
                let n = self.below(4);
                self.items(n, Trailing::Maybe, |g| g.expr(depth + 1));
                self.put("]");
            }
            _ => {
                self.put("(");
                self.thin();
                self.expr(depth + 1);
                self.thin();
                self.put(")");
            }
        }
        for _ in 0..self.below(3) {
            self.put(".");
            let f = self.pick(FIELDS);
            self.put(f);
        }
    }
    fn cmp(&mut self, depth: u32) {
        for _ in 0..self.below(3).saturating_sub(1) {
            self.put("not");
            self.gap();
        }
        self.primary(depth);
        if self.chance(25) {
            self.thin();
            let op = self.pick(&["==", "!="]);
            self.put(op);
            self.thin();
            self.primary(depth);
        }
    }
    fn expr(&mut self, depth: u32) {
        self.cmp(depth);
        if depth < 3 {
            for _ in 0..self.below(3).saturating_sub(1) {
                self.gap();
                let op = self.pick(&["and", "or"]);
                self.put(op);
                self.gap();
                self.cmp(depth + 1);
            }
        }
    }
    fn call(&mut self, depth: u32) {
        let q = self.pick(QNAMES);
        self.put(q);
        self.put("(");
        let n = self.below(5);
        self.items(n, Trailing::Maybe, |g| {
            if g.chance(80) {
                g.name();
                g.put(":");
                g.thin();
            }
            g.expr(depth + 1);
        });
        self.thin();
        self.put(")");
    }
    fn names(&mut self) {
        let n = 1 + self.below(3);
        self.items(n, Trailing::Never, Gen::name);
    }
    fn when_after(&mut self) {
        if self.chance(30) {
            self.gap();
            self.put("when");
            self.gap();
            self.expr(1);
        }
        if self.chance(20) {
            self.gap();
            self.put("after");
            self.gap();
            self.names();
        }
    }
    fn retry(&mut self) {
        self.put("retry");
        self.gap();
        self.int();
        if self.chance(50) {
            self.gap();
            self.put("backoff");
            self.gap();
            self.duration();
        }
    }
    fn step(&mut self, depth: u32) {
        if self.chance(70) {
            self.name();
            self.thin();
            self.put("=");
            self.thin();
        }
        if self.chance(10) {
            self.put("use");
            self.gap();
        }
        self.call(depth);
        for _ in 0..self.below(4) {
            self.gap();
            match self.below(6) {
                0 => self.retry(),
                1 => {
                    self.put("timeout");
                    self.gap();
                    self.duration();
                }
                2 => {
                    self.put("compensate");
                    self.gap();
                    if self.chance(30) {
                        self.put("none");
                    } else {
                        self.call(depth + 1);
                    }
                }
                3 => {
                    self.put("cleanup");
                    self.gap();
                    self.call(depth + 1);
                }
                4 => {
                    self.put("when");
                    self.gap();
                    self.expr(1);
                }
                _ => {
                    self.put("after");
                    self.gap();
                    self.names();
                }
            }
        }
    }
    fn block(&mut self, depth: u32, top: bool) {
        self.thin();
        self.put("{");
        self.line();
        let n = if depth > 2 {
            self.below(2)
        } else {
            self.below(6)
        };
        for _ in 0..n {
            self.stmt(depth, top);
            self.line();
        }
        self.put("}");
    }
    fn stmt(&mut self, depth: u32, top: bool) {
        let k = self.below(if depth > 2 { 3 } else { 12 });
        match k {
            0 | 1 => self.step(depth),
            2 => {
                self.put("return");
                self.gap();
                self.expr(1);
            }
            3 | 4 => {
                self.put("for");
                self.gap();
                self.name();
                self.gap();
                self.put("in");
                self.gap();
                self.expr(1);
                if self.chance(40) {
                    self.gap();
                    self.put("parallel");
                    self.gap();
                    self.int();
                }
                self.when_after();
                self.block(depth + 1, false);
            }
            5 => {
                self.put("quiesce");
                self.gap();
                self.expr(1);
                self.gap();
                self.put("by");
                self.gap();
                self.name();
                self.gap();
                self.put("in");
                self.gap();
                self.expr(1);
                if self.chance(30) {
                    self.put(" one at a time");
                }
                self.gap();
                self.put("via");
                self.gap();
                if self.chance(50) {
                    self.string(1)
                } else {
                    self.name()
                }
                if self.chance(40) {
                    self.put("(");
                    let n = self.below(3);
                    self.items(n, Trailing::Never, |g| {
                        g.name();
                        g.put(":");
                        g.thin();
                        g.expr(2);
                    });
                    self.put(")");
                }
                self.gap();
                self.put("within");
                self.gap();
                self.duration();
                if self.chance(40) {
                    self.gap();
                    self.retry();
                }
                self.when_after();
                self.block(depth + 1, false);
            }
            6 => {
                self.put("approve");
                self.gap();
                self.string(1);
                self.when_after();
            }
            7 if top => {
                self.put("param");
                self.gap();
                self.name();
                self.thin();
                self.put(":");
                self.thin();
                self.ty();
                if self.chance(40) {
                    self.thin();
                    self.put("=");
                    self.thin();
                    self.expr(1);
                }
            }
            8 if top => {
                self.put("schedule \"*/10 * * * *\"");
                if self.chance(50) {
                    self.put(" tz \"Europe/Paris\"");
                }
            }
            9 if top => {
                self.put("retain");
                self.gap();
                let parts = ["last 3", "hourly 24", "daily 7", "weekly 4", "monthly 12"];
                let n = 1 + self.below(3);
                self.items(n, Trailing::Never, |g| {
                    let p = g.pick(&parts);
                    g.put(p);
                });
            }
            10 if top => {
                self.put("commit within ");
                self.duration();
                let d = self.pick(&[" default rollback", " default commit"]);
                self.put(d);
            }
            _ => self.step(depth),
        }
    }
    fn params(&mut self) {
        let n = self.below(4);
        self.items(n, Trailing::Maybe, |g| {
            g.name();
            g.put(":");
            g.thin();
            g.ty();
            if g.chance(30) {
                g.put(" = ");
                g.expr(2);
            }
        });
    }
    fn item(&mut self) {
        match self.below(8) {
            0 => self.put("import \"lib/common.dr\""),
            1 => {
                self.put("procedure ");
                self.name();
                self.put("(");
                self.params();
                self.put(")");
                if self.chance(50) {
                    self.put(" -> ");
                    self.ty();
                }
                self.block(0, false);
            }
            2 => {
                self.put("type ");
                self.name();
                self.put(" {");
                for _ in 0..self.below(4) {
                    self.line();
                    self.name();
                    self.put(": ");
                    self.ty();
                    if self.chance(40) {
                        self.put(",");
                    }
                }
                self.line();
                self.put("}");
            }
            3 => {
                self.put("action ");
                let q = self.pick(QNAMES);
                self.put(q);
                self.put("(");
                self.params();
                self.put(")");
                if self.chance(60) {
                    self.put(" -> ");
                    self.ty();
                }
                self.put(" {");
                for _ in 0..self.below(5) {
                    self.line();
                    match self.below(5) {
                        0 => {
                            let k = self.pick(&["kind read", "kind mutate", "kind destroy"]);
                            self.put(k);
                        }
                        1 => {
                            self.put("undo ");
                            if self.chance(30) {
                                self.put("none");
                            } else {
                                self.call(1);
                            }
                        }
                        2 => self.retry(),
                        3 => {
                            self.put("timeout ");
                            self.duration();
                        }
                        _ => {
                            self.put("estimate ");
                            self.duration();
                        }
                    }
                }
                self.line();
                self.put("}");
            }
            4 => self.put("quiesce method \"pause\" freeze nova.pause thaw nova.unpause"),
            _ => {
                self.put("runbook ");
                self.name();
                self.gap();
                self.string(1);
                self.block(0, true);
            }
        }
    }
    fn file(mut self) -> String {
        if self.chance(30) {
            self.comment();
        }
        for _ in 0..1 + self.below(3) {
            self.item();
            self.put("\n");
            if self.chance(30) {
                self.put("\n");
            }
        }
        self.out
    }
}

fn comments(s: &str) -> Vec<String> {
    lifeboat_dsl::comments::scan(s)
        .into_iter()
        .map(|c| c.text)
        .collect()
}

#[test]
fn fmt_round_trips_generated_files() {
    let seeds: Vec<u64> = match std::env::var("FMT_SEED") {
        Ok(s) => vec![s.parse().expect("FMT_SEED is a number")],
        Err(_) => (1..=800).collect(),
    };
    let (mut parsed, mut refused) = (0, Vec::new());
    for seed in seeds {
        let text = Gen::new(seed).file();
        let src = SourceFile::new("gen.dr", &text);
        let before = match parser::parse(FileId(0), &src) {
            Ok(f) => f,
            Err(d) => {
                refused.push((seed, d[0].message().to_string(), text));
                continue;
            }
        };
        parsed += 1;
        let once = fmt::format("gen.dr", &text).unwrap_or_else(|e| {
            panic!("seed {seed}: fmt refused a file that parses: {e:?}\n{text}")
        });
        let after = parser::parse(FileId(0), &SourceFile::new("gen.dr", &once)).unwrap_or_else(
            |e| panic!("seed {seed}: formatted text does not parse: {e:?}\n--- input\n{text}\n--- formatted\n{once}"),
        );
        assert_eq!(
            before, after,
            "seed {seed}: fmt changed the AST\n--- input\n{text}\n--- formatted\n{once}"
        );
        let twice = fmt::format("gen.dr", &once).expect("formats again");
        assert_eq!(
            once, twice,
            "seed {seed}: fmt is not idempotent\n--- input\n{text}"
        );
        assert_eq!(
            comments(&text),
            comments(&once),
            "seed {seed}: fmt lost or reordered comments\n--- input\n{text}\n--- formatted\n{once}"
        );
    }
    // The generator writes what the grammar accepts: a case it refuses is
    // the generator's mistake (or the parser's), shown here.
    assert!(
        refused.is_empty(),
        "{} of {} generated files do not parse; the first: seed {} ({})\n{}",
        refused.len(),
        parsed + refused.len(),
        refused[0].0,
        refused[0].1,
        refused[0].2
    );
}
