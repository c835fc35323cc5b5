//! Discovery (`plan --resolve`) is the run's own walk in a read-only mode:
//! reads go out as a run would send them (at once when ready), what is
//! found is shown in the one-at-a-time order whatever answered first,
//! nothing that changes the cloud is called, and what the run would fail
//! at is noted.

mod common;

use common::builder::*;
use common::fake::{Behaviour, FakeCloud};
use lifeboat_dsl::plan::{Effect, Expr, NodeKind, Plan, StepId, Type};
use lifeboat_exec::discover::{discover, Projection, State};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// Nothing is projected: a step not called gives no value.
fn no_projection() -> Projection {
    fn project(_: &str, _: &Type, _: &Map<String, Value>, _: Option<&str>) -> Option<Value> {
        None
    }
    fn never(_: &Value) -> bool {
        false
    }
    Projection {
        project,
        is_projection: never,
    }
}

fn reads(plan: &mut Plan, ids: &[StepId]) {
    for id in ids {
        if let NodeKind::Action(a) = &mut plan.nodes[id.index()].kind {
            a.call.effect = Effect::Read;
        }
    }
}

#[tokio::test]
async fn reads_go_out_together_and_are_shown_in_the_walks_order() {
    let mut b = PlanBuilder::new("r");
    let list = b.action(None, "list", "test.list", vec![]);
    let each = b.for_each(None, "for v", "v", step(list), 4);
    let get = b.action(
        Some(each),
        "get",
        "test.get",
        vec![arg("x", Type::String, Expr::LoopVar(each))],
    );
    let make = b.action(None, "make", "test.create", vec![]);
    b.after(make, list);
    // Its argument is known, but it comes after a change: not called.
    let later = b.action(
        None,
        "later",
        "test.get",
        vec![arg("x", Type::String, s("a"))],
    );
    b.after(later, make);
    let mut plan = b.build();
    reads(&mut plan, &[list, get, later]);
    let fake = FakeCloud::new();
    fake.respond("test.list", |_| json!(["a", "b", "c", "d"]));
    fake.respond("test.get", |c| json!({"name": c.args["x"]}));
    // The first items answer last.
    for (i, ms) in [(0, 90), (1, 60), (2, 30)] {
        let step = format!("get[{i}]");
        fake.rule(
            "test.get",
            Some(&step),
            1,
            Behaviour::Latency(Duration::from_millis(ms)),
        );
    }
    let d = discover(&plan, &Map::new(), fake.as_ref(), no_projection()).await;
    let shown: Vec<(&str, State)> = d
        .instances
        .iter()
        .map(|i| (i.instance.as_str(), i.state))
        .collect();
    assert_eq!(
        shown,
        vec![
            ("list", State::Read),
            ("get[0]", State::Read),
            ("get[1]", State::Read),
            ("get[2]", State::Read),
            ("get[3]", State::Read),
            ("make", State::Planned),
            ("later", State::Planned),
        ]
    );
    assert_eq!(d.instances[1].value, Some(json!({"name": "a"})));
    assert_eq!(d.calls, 5);
    assert_eq!(d.loops[&each][0].count, Some(4));
    assert_eq!(
        d.loops[&each][0].items,
        vec![json!("a"), json!("b"), json!("c"), json!("d")]
    );
    // The walk sent the loop's reads together, as a run would.
    assert_eq!(fake.max_in_flight_action("test.get"), 4);
    // Nothing that changes the cloud was called.
    assert!(fake.calls_of("test.create").is_empty());
    assert_eq!(fake.calls().len(), 5);
}

/// An expression the run would fail at (a field the record does not have)
/// is a finding, not an unknown passed over in silence; the loop's size
/// stays unknown and its body is walked once.
#[tokio::test]
async fn an_expression_the_run_would_fail_at_is_noted() {
    let mut b = PlanBuilder::new("r");
    b.param("p", rec("thing"), None);
    let each = b.for_each(None, "for s", "s", field(param("p"), "nope"), 1);
    let inner = b.action(Some(each), "inner", "test.create", vec![]);
    let plan = b.build();
    let mut params = Map::new();
    params.insert("p".into(), json!({"a": 1}));
    let fake = FakeCloud::new();
    let d = discover(&plan, &params, fake.as_ref(), no_projection()).await;
    assert_eq!(d.invalid.len(), 1, "{:?}", d.invalid);
    assert_eq!(d.invalid[0].instance, "for s");
    assert_eq!(d.invalid[0].what, "its list");
    assert!(d.invalid[0].message.contains("no field `nope`"));
    assert_eq!(d.loops[&each][0].count, None);
    assert_eq!(d.instances.len(), 1);
    assert_eq!(d.instances[0].node, inner);
    assert!(fake.calls().is_empty());
}
