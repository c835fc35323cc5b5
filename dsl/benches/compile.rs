//! Check and plan a generated runbook of 10,000 steps: parse, analyse,
//! lower to a plan, build the graph and render it as text.

use criterion::{criterion_group, criterion_main, Criterion};
use lifeboat_dsl::compiler;
use lifeboat_dsl::graph::PlanGraph;
use lifeboat_dsl::loader::FsLoader;
use lifeboat_dsl::render::{self, Format};
use std::fmt::Write;
use std::time::Duration;

/// A runbook of `steps` action steps: chains of reads, loops with cleanups,
/// quiesce scopes, an approval and guarded destroys.
fn generate(steps: usize) -> String {
    let mut s = String::from("runbook big \"generated\" {\n  param vnf: string\n  param from: site = \"site-a\"\n  approve \"go\"\n");
    let mut n = 0;
    let mut i = 0;
    while n < steps {
        let _ = writeln!(
            s,
            "  s{i} = nova.find_servers(site: from, tag: \"{{vnf}}-{i}\") retry 2 timeout 1m"
        );
        let _ = writeln!(s, "  v{i} = cinder.volumes_of(s{i})");
        let _ = writeln!(
            s,
            "  quiesce s{i} by role in [\"db\", \"app\"] via pause within 30s {{"
        );
        let _ = writeln!(
            s,
            "    g{i} = cinder.ensure_group(site: from, name: \"lb-{i}\", volumes: v{i})"
        );
        let _ = writeln!(s, "  }}");
        let _ = writeln!(s, "  for x{i} in s{i} parallel 4 {{");
        let _ = writeln!(s, "    img{i} = nova.create_image(x{i}, name: \"lb-{{vnf}}-{{run.id}}-{i}\") cleanup glance.delete_image(img{i})");
        let _ = writeln!(
            s,
            "    snaps{i} = glance.image_snapshots(img{i}) when x{i}.role != \"lb\""
        );
        let _ = writeln!(s, "    gone{i} = nova.delete_server(x{i}) after snaps{i}");
        let _ = writeln!(s, "  }}");
        n += 6;
        i += 1;
    }
    s.push_str("}\n");
    s
}

fn bench(c: &mut Criterion) {
    let text = generate(10_000);
    let once = compiler::compile_text("big.dr", &text, &FsLoader);
    assert!(!once.has_errors(), "{:?}", once.diagnostics.list.first());
    let steps = once.plans[0].action_steps().count();
    assert!(steps >= 10_000, "{steps} steps");
    c.bench_function("check+plan 10k-step runbook", |b| {
        b.iter(|| {
            let c = compiler::compile_text("big.dr", &text, &FsLoader);
            let g = PlanGraph::build(&c.plans[0]);
            render::render(&g, Format::Text).len()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(10));
    targets = bench
}
criterion_main!(benches);
