//! The compile pipeline for one runbook file.
//!
//! stdlib + the file + its imports are read ([`Loader`]) and parsed; the
//! declarations make the [`Catalogue`]; procedures are collected from every
//! file; each procedure is checked on its own; each runbook of the file is
//! lowered ([`Lowerer`]) into a [`Plan`]. All diagnostics are gathered, in
//! the order found; a plan is only trustworthy when there is no error.

use crate::ast::{self, Item};
use crate::catalogue::Catalogue;
use crate::diagnostic::{Declared, Diagnostic, Diagnostics, Kind, Literal};
use crate::loader::Loader;
use crate::lower::Lowerer;
use crate::parser;
use crate::plan::{Plan, PLAN_SCHEMA_VERSION};
use crate::source::{FileId, SourceMap};
use crate::stdlib;
use rustc_hash::FxHashMap;

/// The result of compiling one file.
#[derive(Debug, Clone)]
pub struct Compilation {
    pub sources: SourceMap,
    pub diagnostics: Diagnostics,
    /// One plan per runbook of the file, in file order.
    pub plans: Vec<Plan>,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.has_errors()
    }

    /// The plan of the runbook named `name`, or the only one.
    pub fn plan(&self, name: Option<&str>) -> Result<&Plan, String> {
        match name {
            Some(n) => self.plans.iter().find(|p| p.runbook == n).ok_or_else(|| {
                format!(
                    "no runbook `{n}` in the file (it has: {})",
                    self.plans
                        .iter()
                        .map(|p| p.runbook.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }),
            None => match self.plans.as_slice() {
                [one] => Ok(one),
                [] => Err("the file holds no runbook".into()),
                many => Err(format!(
                    "the file holds several runbooks, pick one with --runbook: {}",
                    many.iter()
                        .map(|p| p.runbook.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            },
        }
    }
}

/// Compile the file at `path`, read with `loader`. `Err` when the file itself
/// cannot be read.
pub fn compile(path: &str, loader: &dyn Loader) -> Result<Compilation, String> {
    let text = loader.load(path)?;
    Ok(compile_text(path, &text, loader))
}

/// Compile `text` as if it were the file at `path`; imports go to `loader`.
pub fn compile_text(path: &str, text: &str, loader: &dyn Loader) -> Compilation {
    let mut sources = SourceMap::default();
    let mut diags = Diagnostics::default();
    let mut parsed: Vec<(FileId, ast::File)> = Vec::new();
    for (p, t) in stdlib::FILES {
        // Checking a stdlib file itself: its text on disk stands in for the embedded one.
        if path == *p || path.ends_with(&format!("/{p}")) {
            continue;
        }
        let id = sources.add(*p, *t);
        parse_into(id, &sources, &mut parsed, &mut diags);
    }
    let stdlib_count = parsed.len();
    let main = sources.add(path, text);
    parse_into(main, &sources, &mut parsed, &mut diags);
    // Imports, breadth first; each file once.
    let mut i = stdlib_count;
    while i < parsed.len() {
        let (fid, _) = parsed[i];
        let base = sources.get(fid).path.clone();
        let imports: Vec<ast::Import> = parsed[i]
            .1
            .items
            .iter()
            .filter_map(|it| {
                if let Item::Import(im) = it {
                    Some(im.clone())
                } else {
                    None
                }
            })
            .collect();
        for im in imports {
            let Some(rel) = im.path.as_plain_str() else {
                diags.push(Diagnostic::at(
                    im.path.loc,
                    Kind::Interpolated {
                        what: Literal::ImportPath,
                    },
                ));
                continue;
            };
            let target = loader.join(&base, &rel);
            if sources.find(&target).is_some() {
                continue;
            }
            match loader.load(&target) {
                Ok(t) => {
                    let id = sources.add(target, t);
                    parse_into(id, &sources, &mut parsed, &mut diags);
                }
                Err(why) => diags.push(Diagnostic::at(
                    im.path.loc,
                    Kind::Import { path: target, why },
                )),
            }
        }
        i += 1;
    }
    let catalogue = Catalogue::build(parsed.iter().map(|(_, f)| f), &mut diags);

    let mut procs: FxHashMap<String, &ast::Procedure> = FxHashMap::default();
    for (_, f) in &parsed {
        for item in &f.items {
            if let Item::Procedure(p) = item {
                if let Some(first) = procs.get(&p.name.name) {
                    diags.push(
                        Diagnostic::at(
                            p.name.loc,
                            Kind::DuplicateItem {
                                item: Declared::Procedure,
                                name: p.name.name.clone(),
                            },
                        )
                        .related(first.name.loc, "first declaration"),
                    );
                    continue;
                }
                procs.insert(p.name.name.clone(), p);
            }
        }
    }
    for (fid, f) in &parsed {
        if *fid != main {
            continue;
        }
        for item in &f.items {
            if let Item::Procedure(p) = item {
                Lowerer::procedure(&catalogue, &procs, p, &mut diags);
            }
        }
    }
    let mut plans: Vec<Plan> = Vec::new();
    for (fid, f) in &parsed {
        if *fid != main {
            continue;
        }
        for item in &f.items {
            let Item::Runbook(rb) = item else { continue };
            if plans.iter().any(|p| p.runbook == rb.name.name) {
                diags.push(Diagnostic::at(
                    rb.name.loc,
                    Kind::DuplicateItem {
                        item: Declared::Runbook,
                        name: rb.name.name.clone(),
                    },
                ));
                continue;
            }
            let title = match rb.title.as_plain_str() {
                Some(t) => t,
                None => {
                    diags.push(Diagnostic::at(
                        rb.title.loc,
                        Kind::Interpolated {
                            what: Literal::RunbookTitle,
                        },
                    ));
                    String::new()
                }
            };
            let lowered = Lowerer::runbook(&catalogue, &procs, rb, &mut diags);
            plans.push(Plan {
                schema_version: PLAN_SCHEMA_VERSION,
                runbook: rb.name.name.clone(),
                title,
                source_path: path.to_string(),
                params: lowered.params,
                schedule: lowered.schedule,
                retain: lowered.retain,
                commit: lowered.commit,
                quiesce_methods: catalogue.methods.clone(),
                nodes: lowered.nodes,
                body: lowered.body,
            });
        }
    }
    drop(procs);
    drop_aside(parsed, text.len());
    Compilation {
        sources,
        diagnostics: diags,
        plans,
    }
}

/// Drops the syntax trees of a big file on another core: freeing a
/// 10,000-step runbook's tree takes a tenth of its compile, and nothing
/// waits for it. A small file's (or one whose thread cannot start, or on
/// one core) here.
fn drop_aside(parsed: Vec<(FileId, ast::File)>, bytes: usize) {
    if bytes >= parser::MIN_PIECE && parser::cores() > 1 {
        let _ = std::thread::Builder::new()
            .name("drop-ast".into())
            .spawn(move || drop(parsed));
    }
}

fn parse_into(
    id: FileId,
    sources: &SourceMap,
    parsed: &mut Vec<(FileId, ast::File)>,
    diags: &mut Diagnostics,
) {
    match parser::parse(id, sources.get(id)) {
        Ok(f) => parsed.push((id, f)),
        Err(errs) => {
            for e in errs {
                diags.push(e);
            }
            parsed.push((id, ast::File { items: Vec::new() }));
        }
    }
}
