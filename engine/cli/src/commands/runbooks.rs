//! `lifeboat runbooks`: the bundled runbooks, each with its title and
//! parameters (required ones first), as `lifeboat plan NAME` takes them.

use crate::error::{CmdResult, Exit};
use lifeboat_dsl::bundled;
use lifeboat_dsl::compiler;
use lifeboat_dsl::loader::BundledLoader;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// One JSON object per runbook (name, title, params with type and default).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> CmdResult {
    let mut out = Vec::new();
    for name in bundled::names() {
        let Some(path) = bundled::resolve(name) else {
            continue;
        };
        let c = match compiler::compile(path, &BundledLoader) {
            Ok(c) if !c.has_errors() => c,
            _ => {
                return Err(format!(
                    "the bundled runbook {name} does not compile (run `lifeboat check {name}`)"
                )
                .into())
            }
        };
        for plan in &c.plans {
            let mut params: Vec<_> = plan.params.iter().collect();
            params.sort_by_key(|p| p.default.is_some());
            if args.json {
                let ps: Vec<_> = params
                    .iter()
                    .map(|p| serde_json::json!({"name": p.name, "type": p.ty.to_string(), "required": p.default.is_none(), "default": p.default}))
                    .collect();
                out.push(
                    serde_json::json!({"name": name, "title": plan.title, "params": ps})
                        .to_string(),
                );
            } else {
                out.push(format!("{name:<18} {}", plan.title));
                let ps: Vec<String> = params
                    .iter()
                    .map(|p| match &p.default {
                        None => format!("{}: {} (required)", p.name, p.ty),
                        Some(d) => format!("{}: {} = {d}", p.name, p.ty),
                    })
                    .collect();
                out.push(format!("{:<18} {}", "", ps.join(", ")));
            }
        }
    }
    println!("{}", out.join("\n"));
    Ok(Exit::Ok)
}
