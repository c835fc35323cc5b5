//! `fmt` on every `.dr` file of the repository (stdlib, workflows, test
//! inputs that parse): the output parses to the same AST as the input, and
//! formatting it again changes nothing.

use lifeboat_dsl::fmt;
use lifeboat_dsl::parser;
use lifeboat_dsl::source::{FileId, SourceFile};
use std::path::{Path, PathBuf};

fn dr_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() && !p.ends_with("target") && !p.ends_with(".git") {
            dr_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "dr") {
            out.push(p);
        }
    }
}

#[test]
fn fmt_is_idempotent_and_preserves_the_ast() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for d in ["stdlib", "workflows", "dsl/tests"] {
        dr_files(&root.join(d), &mut files);
    }
    assert!(files.len() >= 16, "found {} .dr files", files.len());
    let mut formatted_count = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read");
        let shown = path.display().to_string();
        let Ok(before) = parser::parse(FileId(0), &SourceFile::new(&shown, &text)) else {
            // Malformed on purpose: fmt must refuse it, not mangle it.
            assert!(
                fmt::format(&shown, &text).is_err(),
                "{shown}: fmt accepted a file that does not parse"
            );
            continue;
        };
        let once = fmt::format(&shown, &text).unwrap_or_else(|e| panic!("{shown}: {:?}", e));
        let after = parser::parse(FileId(0), &SourceFile::new(&shown, &once))
            .unwrap_or_else(|e| panic!("{shown}: formatted text does not parse: {:?}\n{once}", e));
        assert_eq!(before, after, "{shown}: fmt changed the AST");
        let twice = fmt::format(&shown, &once).expect("formats again");
        assert_eq!(once, twice, "{shown}: fmt is not idempotent");
        let comments = |s: &str| {
            lifeboat_dsl::comments::scan(s)
                .into_iter()
                .map(|c| c.text)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            comments(&text),
            comments(&once),
            "{shown}: fmt lost or reordered comments"
        );
        formatted_count += 1;
    }
    assert!(formatted_count >= 16);
}

#[test]
fn fmt_canonicalises_layout() {
    let messy = "runbook  r \"t\"{param vnf:string # the VNF\n\n\n  s=nova.find_servers(site:\"site-a\",tag:vnf)   retry 2 backoff 1s\n when not (vnf==\"x\" or vnf != \"y\")}\n";
    let want = "runbook r \"t\" {\n  param vnf: string  # the VNF\n\n  s = nova.find_servers(site: \"site-a\", tag: vnf)\n    retry 2 backoff 1s\n    when not (vnf == \"x\" or vnf != \"y\")\n}\n";
    assert_eq!(fmt::format("m.dr", messy).expect("formats"), want);
}

#[test]
fn fmt_wraps_what_does_not_fit_in_100_columns() {
    let long = "action x.long_action_name(site: site, first_parameter: string, second_parameter: list<string>, third: int = 3) -> string {\n  kind read\n}\nrunbook r \"t\" {\n  param vnf: string\n  result_of_a_long_call = nova.find_servers(site: \"site-a\", tag: vnf, # the tag\n    name: \"a-rather-long-name-{vnf}-that-pushes-the-line-past-the-limit\") retry 2 timeout 30s\n  short = nova.find_servers(site: \"site-a\", tag: vnf)\n}\n";
    let want = "action x.long_action_name(\n  site: site,\n  first_parameter: string,\n  second_parameter: list<string>,\n  third: int = 3,\n) -> string {\n  kind read\n}\nrunbook r \"t\" {\n  param vnf: string\n  result_of_a_long_call = nova.find_servers(\n    site: \"site-a\",\n    tag: vnf,  # the tag\n    name: \"a-rather-long-name-{vnf}-that-pushes-the-line-past-the-limit\",\n  ) retry 2 timeout 30s\n  short = nova.find_servers(site: \"site-a\", tag: vnf)\n}\n";
    let once = fmt::format("long.dr", long).expect("formats");
    assert_eq!(once, want);
    assert_eq!(fmt::format("long.dr", &once).expect("formats"), once);
    assert!(once.lines().all(|l| l.chars().count() <= 100), "{once}");
}

/// The bundled runbooks and the catalogue are as `lifeboat fmt` writes
/// them (run `lifeboat fmt FILE` after editing one).
#[test]
fn the_bundled_files_are_formatted() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for d in ["stdlib", "workflows"] {
        dr_files(&root.join(d), &mut files);
    }
    assert!(files.len() >= 16, "found {} .dr files", files.len());
    let unformatted: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).expect("read");
            fmt::format(&path.display().to_string(), &text)
                .ok()
                .as_deref()
                != Some(text.as_str())
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        unformatted.is_empty(),
        "not formatted (run `lifeboat fmt` on them): {unformatted:?}"
    );
}
