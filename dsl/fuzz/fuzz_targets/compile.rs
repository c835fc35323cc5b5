//! Any text through the whole pipeline (stdlib, analysis, plan, graph,
//! renderers): diagnostics or a plan, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeboat_dsl::compiler;
use lifeboat_dsl::graph::PlanGraph;
use lifeboat_dsl::loader::BundledLoader;
use lifeboat_dsl::render::{self, Format};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let c = compiler::compile_text("workflows/fuzz.dr", text, &BundledLoader);
    for d in &c.diagnostics.list {
        let _ = d.one_line(&c.sources);
    }
    if !c.has_errors() {
        for plan in &c.plans {
            let g = PlanGraph::build(plan);
            for (_, f) in Format::ALL {
                let _ = render::render(&g, f);
            }
        }
    }
});
