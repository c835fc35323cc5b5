//! What the compiler makes of well-formed runbooks: dependencies, types of
//! loop results, approvals, compensations, procedures, quiesce methods.

use lifeboat_dsl::compiler::{self, Compilation};
use lifeboat_dsl::loader::{BundledLoader, FsLoader};
use lifeboat_dsl::plan::*;

fn compile(src: &str) -> Compilation {
    compiler::compile_text("test.dr", src, &FsLoader)
}

fn clean(src: &str) -> Plan {
    let c = compile(src);
    let msgs: Vec<String> = c
        .diagnostics
        .list
        .iter()
        .map(|d| d.one_line(&c.sources))
        .collect();
    assert!(
        c.diagnostics.list.is_empty(),
        "unexpected diagnostics:\n{}",
        msgs.join("\n")
    );
    c.plan(None).expect("plan").clone()
}

fn node<'p>(p: &'p Plan, name: &str) -> &'p Node {
    p.nodes.iter().find(|n| n.name == name).unwrap_or_else(|| {
        panic!(
            "no node {name}: {:?}",
            p.nodes.iter().map(|n| &n.name).collect::<Vec<_>>()
        )
    })
}

fn action<'p>(p: &'p Plan, name: &str) -> &'p ActionStep {
    match &node(p, name).kind {
        NodeKind::Action(a) => a,
        other => panic!("{name} is not an action: {other:?}"),
    }
}

/// The plan's one quiesce scope.
fn scope(p: &Plan) -> QuiesceScope {
    p.nodes
        .iter()
        .find_map(|n| match &n.kind {
            NodeKind::Quiesce(q) => Some(q.clone()),
            _ => None,
        })
        .expect("quiesce")
}

fn deps(p: &Plan, name: &str) -> Vec<(String, DepReason)> {
    node(p, name)
        .deps
        .iter()
        .map(|d| (p.node(d.on).name.clone(), d.reason))
        .collect()
}

const HEAD: &str = "runbook r \"t\" {\n  param vnf: string\n  servers = nova.find_servers(site: \"site-a\", tag: vnf)\n";

#[test]
fn dependencies_are_hoisted_to_siblings() {
    let p = clean(&format!(
        "{HEAD}  volumes = cinder.volumes_of(servers)\n  quiesce servers by role in [\"db\"] via pause within 30s {{\n    grp = cinder.ensure_group(site: \"site-a\", name: vnf, volumes: volumes)\n  }}\n  for s in servers {{\n    img = nova.create_image(s, name: grp.name) cleanup glance.delete_image(img)\n  }}\n}}\n"
    ));
    assert_eq!(
        deps(&p, "volumes"),
        vec![("servers".into(), DepReason::Data)]
    );
    // grp (inside the quiesce) reads volumes: the quiesce node waits for it.
    let q = p
        .nodes
        .iter()
        .find(|n| matches!(n.kind, NodeKind::Quiesce(_)))
        .expect("quiesce");
    assert!(q.deps.iter().any(|d| p.node(d.on).name == "volumes"));
    assert!(
        node(&p, "grp").deps.is_empty(),
        "inside the scope nothing is waited for"
    );
    // img (inside the loop) reads grp (inside the quiesce): the loop waits for the quiesce.
    let f = p
        .nodes
        .iter()
        .find(|n| matches!(n.kind, NodeKind::ForEach(_)))
        .expect("for");
    assert!(f.deps.iter().any(|d| d.on == q.id));
    for n in &p.nodes {
        for d in &n.deps {
            assert_eq!(
                p.node(d.on).parent,
                n.parent,
                "{} depends on a non-sibling",
                n.name
            );
        }
    }
}

#[test]
fn loop_results_read_outside_are_lists_flattened_across_nested_loops() {
    let p = clean(&format!(
        "{HEAD}  for s in servers {{\n    img = nova.create_image(s, name: vnf)\n    snaps = glance.image_snapshots(img)\n    for sn in snaps {{\n      v = cinder.volume_from_snapshot(sn, name: vnf)\n    }}\n  }}\n  lifeboat.verify(lifeboat.read_manifest(site: \"site-b\", vnf: vnf), v)\n}}\n"
    ).replace("lifeboat.verify(lifeboat.read_manifest(site: \"site-b\", vnf: vnf), v)", "m = lifeboat.read_manifest(site: \"site-b\", vnf: vnf)\n  ok = lifeboat.verify(m, v)"));
    let ok = action(&p, "ok");
    assert_eq!(ok.call.args[1].value, Expr::Step(node(&p, "v").id));
    let c = compile(&format!("{HEAD}  for s in servers {{\n    img = nova.create_image(s, name: vnf)\n  }}\n  glance.show_image(img)\n}}\n"));
    assert!(c
        .diagnostics
        .list
        .iter()
        .any(|d| d.message().contains("must be `image`, found `list<image>`")));
}

#[test]
fn approve_gates_what_follows_and_allows_destroy() {
    let p = clean(&format!("{HEAD}  approve \"delete {{vnf}}?\"\n  for s in servers {{\n    gone = nova.delete_server(s)\n  }}\n  again = nova.find_servers(site: \"site-a\", tag: vnf)\n}}\n"));
    let appr = p
        .nodes
        .iter()
        .find(|n| matches!(n.kind, NodeKind::Approve(_)))
        .expect("approve");
    let f = p
        .nodes
        .iter()
        .find(|n| matches!(n.kind, NodeKind::ForEach(_)))
        .expect("for");
    assert!(f.deps.contains(&Dep {
        on: appr.id,
        reason: DepReason::After
    }));
    assert!(node(&p, "again").deps.contains(&Dep {
        on: appr.id,
        reason: DepReason::After
    }));
    assert!(
        node(&p, "servers").deps.is_empty(),
        "steps before the approval do not wait"
    );
    assert_eq!(action(&p, "gone").call.effect, Effect::Destroy);
}

#[test]
fn compensation_comes_from_the_catalogue_unless_given_or_cleaned_up() {
    let p = clean(&format!(
        "{HEAD}  for s in servers {{\n    a = nova.create_image(s, name: \"x\")\n    b = nova.create_image(s, name: \"y\") cleanup glance.delete_image(b)\n    c = nova.create_image(s, name: \"z\") compensate glance.delete_image(result)\n    r = cinder.retype(cinder.show_volume(x), volume_type: \"t\")\n  }}\n}}\n"
    ).replace("cinder.retype(cinder.show_volume(x), volume_type: \"t\")", "nova.pause(s)"));
    let a = action(&p, "a");
    assert_eq!(
        a.compensate.as_ref().map(|c| c.action.as_str()),
        Some("glance.delete_image")
    );
    assert_eq!(
        a.compensate.as_ref().map(|c| c.args[0].value.clone()),
        Some(Expr::Result)
    );
    assert!(a.cleanup.is_none());
    let b = action(&p, "b");
    assert!(
        b.compensate.is_none(),
        "a cleanup already takes the resource back"
    );
    assert_eq!(
        b.cleanup.as_ref().map(|c| c.args[0].value.clone()),
        Some(Expr::Result),
        "the step's own name means its result"
    );
    assert_eq!(
        action(&p, "c").compensate.as_ref().map(|c| c.effect),
        Some(Effect::Destroy)
    );
    // undo reading an argument of the step: nova.pause's undo is nova.unpause(server: server).
    let p2 = clean(&format!("{HEAD}  for s in servers {{\n    keep = nova.create_image(s, name: \"k\") compensate none\n  }}\n}}\n"));
    assert!(
        action(&p2, "keep").compensate.is_none(),
        "`compensate none` drops the catalogue's undo"
    );
    let r = action(&p, "r");
    assert_eq!(
        r.compensate.as_ref().map(|c| c.args[0].value.clone()),
        Some(Expr::Input("server".into()))
    );
}

#[test]
fn arguments_are_named_in_signature_order_with_defaults_and_attribute_overrides() {
    let p = clean(&format!("{HEAD}  vols = cinder.volumes_of(servers)\n  g = cinder.ensure_group(name: \"g\", volumes: vols, site: \"site-a\") retry 7 timeout 90s\n}}\n"));
    let g = action(&p, "g");
    let names: Vec<&str> = g.call.args.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["site", "name", "volumes", "group_type"]);
    assert_eq!(g.call.args[3].value, Expr::Str(String::new()));
    assert_eq!(
        g.retry,
        RetryPolicy {
            retries: 7,
            backoff_ms: 2_000
        },
        "retry count overridden, catalogue backoff kept"
    );
    assert_eq!(g.timeout_ms, 90_000);
    assert_eq!(g.result, Type::Record("group".into()));
}

#[test]
fn procedures_are_inlined_with_prefixed_names_and_their_result() {
    let c = compiler::compile("workflows/option2/recover.dr", &BundledLoader).expect("loads");
    assert!(c.diagnostics.list.is_empty());
    let p = c.plan(None).expect("plan");
    let srv = action(p, "srv");
    let vol = node(p, "bvol.vol");
    assert_eq!(
        srv.call
            .args
            .iter()
            .find(|a| a.name == "volume")
            .map(|a| a.value.clone()),
        Some(Expr::Step(vol.id))
    );
    let imp = action(p, "bvol.imp");
    // The procedure's `at` is the runbook's param `at`; `v.record` is the caller's `s.boot_volume.record`.
    assert_eq!(imp.call.args[0].value, Expr::Param("at".into()));
    assert!(
        matches!(&imp.call.args[1].value, Expr::Field(b, f) if f == "record" && matches!(b.as_ref(), Expr::Field(_, g) if g == "boot_volume"))
    );
    assert_eq!(
        deps(p, "srv"),
        vec![("bvol.vol".to_string(), DepReason::Data)]
    );
}

#[test]
fn quiesce_methods_literal_variable_and_with_arguments() {
    let p = clean(&format!("{HEAD}  param hook_url: string = \"http://vnfm\"\n  quiesce servers by role in [\"db\", \"lb\"] via hook(url: hook_url) within 1m {{\n    v = cinder.volumes_of(servers)\n  }}\n}}\n"));
    let q = p
        .nodes
        .iter()
        .find_map(|n| {
            if let NodeKind::Quiesce(q) = &n.kind {
                Some(q)
            } else {
                None
            }
        })
        .expect("quiesce");
    assert_eq!(q.method, Expr::Str("hook".into()));
    assert_eq!(
        q.method_args
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["url", "command"]
    );
    assert_eq!(q.method_args[0].value, Expr::Param("hook_url".into()));
    assert_eq!(q.within_ms, 60_000);
    assert_eq!(q.body.len(), 1);
    assert_eq!(
        p.quiesce_method("hook").map(|m| m.target_param.as_str()),
        Some("server")
    );

    let p = clean(&format!("{HEAD}  param how: string = \"suspend\"\n  quiesce servers by role in [\"db\"] via how within 1m {{\n    v = cinder.volumes_of(servers)\n  }}\n}}\n"));
    let q = p
        .nodes
        .iter()
        .find_map(|n| {
            if let NodeKind::Quiesce(q) = &n.kind {
                Some(q)
            } else {
                None
            }
        })
        .expect("quiesce");
    assert_eq!(q.method, Expr::Param("how".into()));
    assert!(q.method_args.is_empty());

    // A name that is both a variable and a method is not guessed at.
    let c = compile(&format!("{HEAD}  param pause: string = \"suspend\"\n  quiesce servers by role in [\"db\"] via pause within 1m {{\n    v = cinder.volumes_of(servers)\n  }}\n}}\n"));
    let d: Vec<_> = c.diagnostics.list.iter().filter(|d| d.is_error()).collect();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].kind.code(), "lifeboat::ambiguous");
    assert!(d[0].help().unwrap().contains("via \"pause\""));
    // Quoted, it is the method.
    let p = clean(&format!("{HEAD}  param pause: string = \"suspend\"\n  quiesce servers by role in [\"db\"] via \"pause\" within 1m {{\n    v = cinder.volumes_of(servers)\n  }}\n}}\n"));
    assert!(p
        .nodes
        .iter()
        .any(|n| matches!(&n.kind, NodeKind::Quiesce(q) if q.method == Expr::Str("pause".into()))));
}

#[test]
fn unbound_steps_get_unique_names_and_when_after_compile() {
    let p = clean(&format!("{HEAD}  lifeboat.hook(event: \"a\") lifeboat.hook(event: \"b\")\n  lifeboat.hook(event: \"c\", subject: vnf) when vnf != \"x\" and not false after servers\n}}\n"));
    let names: Vec<&str> = p.nodes.iter().map(|n| n.name.as_str()).collect();
    assert!(
        names.contains(&"lifeboat.hook")
            && names.contains(&"lifeboat.hook#2")
            && names.contains(&"lifeboat.hook#3"),
        "{names:?}"
    );
    let n = node(&p, "lifeboat.hook#3");
    assert!(matches!(n.when, Some(Expr::Binary(BinOp::And, _, _))));
    assert_eq!(
        deps(&p, "lifeboat.hook#3"),
        vec![("servers".into(), DepReason::After)]
    );
}

#[test]
fn several_diagnostics_per_file() {
    let c = compile(&format!("{HEAD}  a = nova.nope(x)\n  b = nova.show_server(y)\n  c = nova.show_server(servers, 3)\n}}\n"));
    assert!(c.diagnostics.error_count() >= 3, "{:?}", c.diagnostics.list);
}

#[test]
fn schedule_retain_and_params_reach_the_plan() {
    let c = compiler::compile("workflows/option1/protect.dr", &BundledLoader).expect("loads");
    let p = c.plan(None).expect("plan");
    assert_eq!(
        p.schedule.as_ref().map(|s| s.cron.as_str()),
        Some("0 */4 * * *")
    );
    assert_eq!(
        p.retain,
        Some(Retention {
            last: Some(6),
            hourly: None,
            daily: Some(7),
            weekly: Some(4),
            monthly: None
        })
    );
    assert_eq!(p.params[0].default, None);
    assert_eq!(
        p.params[3].default,
        Some(serde_json::json!(["db", "app", "lb"]))
    );
    assert_eq!(p.quiesce_methods.len(), 4);
}

#[test]
fn damaged_text_never_panics() {
    // A cheap in-tree fuzz: every prefix and many single-character deletions
    // of real runbooks must give diagnostics, never a panic.
    for (path, text) in lifeboat_dsl::bundled::WORKFLOWS.iter().take(4) {
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        for (i, _) in chars.iter().step_by(11) {
            let _ = compiler::compile_text(path, &text[..*i], &BundledLoader);
            let mut s = text.to_string();
            s.remove(*i);
            let _ = compiler::compile_text(path, &s, &BundledLoader);
            let _ = lifeboat_dsl::fmt::format(path, &s);
        }
    }
}

#[test]
fn random_token_soup_never_panics() {
    // Deterministic pseudo-random sequences of the language's tokens.
    const TOKENS: &[&str] = &[
        "runbook",
        "r",
        "\"t\"",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ",",
        ":",
        "=",
        ".",
        "param",
        "vnf",
        "string",
        "list",
        "<",
        ">",
        "for",
        "in",
        "parallel",
        "2",
        "quiesce",
        "by",
        "role",
        "via",
        "pause",
        "within",
        "30s",
        "approve",
        "\"ok {vnf}\"",
        "when",
        "after",
        "not",
        "and",
        "or",
        "==",
        "!=",
        "retry",
        "backoff",
        "timeout",
        "cleanup",
        "compensate",
        "nova.find_servers",
        "site:",
        "\"site-a\"",
        "tag:",
        "s",
        "x",
        "cinder.delete_volume",
        "procedure",
        "p",
        "->",
        "return",
        "import",
        "\"common.dr\"",
        "schedule",
        "tz",
        "\"UTC\"",
        "retain",
        "last",
        "3",
        "#c\n",
        "\n",
        "true",
        "run.id",
        "-1",
        "9x",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..400 {
        let len = (next() % 60) as usize;
        let mut text = String::from("runbook r \"t\" {\n");
        for _ in 0..len {
            text.push_str(TOKENS[(next() % TOKENS.len() as u64) as usize]);
            text.push(' ');
        }
        if next() % 2 == 0 {
            text.push('}');
        }
        let c = compiler::compile_text("workflows/soup.dr", &text, &BundledLoader);
        for d in &c.diagnostics.list {
            let _ = d.one_line(&c.sources);
            let _ = format!("{:?}", d.report(&c.sources));
        }
        let _ = lifeboat_dsl::fmt::format("soup.dr", &text);
    }
}

#[test]
fn a_procedure_returning_a_step_reads_as_that_step_outside_loops() {
    let src = "procedure img(s: server, n: string) -> image {\n  i = nova.create_image(s, name: n)\n  return i\n}\n\nrunbook r \"t\" {\n  param vnf: string\n  servers = nova.find_servers(site: \"site-a\", tag: vnf)\n  for s in servers {\n    x = img(s, \"lb-{s.name}\")\n    one = glance.show_image(x)\n  }\n  all = lifeboat.hook(event: \"done\", subject: \"{vnf}\") after one\n  snaps = glance.image_snapshots(x)\n}\n";
    let c = compile(src);
    // Inside the loop `x` is one image; outside, the list of them (a type error here).
    assert!(
        c.diagnostics.list.iter().any(|d| d
            .message()
            .contains("must be `image`, found `list<image>`")
            && d.loc.span.line == 14),
        "{:?}",
        c.diagnostics.list
    );
    assert_eq!(c.diagnostics.error_count(), 1);
}

#[test]
fn when_and_after_on_a_procedure_call_apply_to_its_statements() {
    let src = "procedure notify(what: string) {\n  a = lifeboat.hook(event: what)\n  for x in [1, 2] {\n    b = lifeboat.hook(event: \"{what}-{x}\") when x != 2\n  }\n}\n\nrunbook r \"t\" {\n  param vnf: string\n  param url: string = \"\"\n  servers = nova.find_servers(site: \"site-a\", tag: vnf)\n  notify(\"done\") when url != \"\" after servers\n}\n";
    let c = compile(src);
    assert!(c.diagnostics.list.is_empty(), "{:?}", c.diagnostics.list);
    let p = c.plan(None).expect("plan");
    let a = node(p, "notify.a");
    assert!(
        matches!(&a.when, Some(Expr::Binary(BinOp::Ne, l, _)) if **l == Expr::Param("url".into()))
    );
    assert_eq!(
        deps(p, "notify.a"),
        vec![("servers".into(), DepReason::After)]
    );
    let f = p
        .nodes
        .iter()
        .find(|n| n.name.starts_with("notify.for x"))
        .expect("inlined loop");
    assert!(f.when.is_some() && f.deps.iter().any(|d| p.node(d.on).name == "servers"));
    // The inner step keeps its own condition only: the loop already carries the call's.
    assert!(
        matches!(&node(p, "notify.b").when, Some(Expr::Binary(BinOp::Ne, l, _)) if matches!(**l, Expr::LoopVar(_)))
    );
    let bad = compile("procedure p() {\n  a = lifeboat.hook(event: \"x\")\n}\n\nrunbook r \"t\" {\n  p() retry 3\n}\n");
    assert!(bad
        .diagnostics
        .list
        .iter()
        .any(|d| d.message().contains("`retry` on a procedure call")));
}

/// `one at a time` asks for the strict order (each target frozen alone);
/// without it the targets of one group are frozen at once. `fmt` keeps it,
/// and the plan says it only when asked (plans without it are unchanged).
#[test]
fn quiesce_one_at_a_time_is_kept_through_plan_and_fmt() {
    let strict = format!("{HEAD}  quiesce servers by role in [\"db\", \"lb\"] one at a time via pause within 1m {{\n    v = cinder.volumes_of(servers)\n  }}\n}}\n");
    let p = clean(&strict);
    assert!(scope(&p).one_at_a_time);
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains("\"one_at_a_time\":true"), "{json}");
    let formatted = lifeboat_dsl::fmt::format("t.dr", &strict).expect("formats");
    assert!(
        formatted.contains("in [\"db\", \"lb\"] one at a time via pause within 1m"),
        "{formatted}"
    );

    let grouped = strict.replace(" one at a time", "");
    let p = clean(&grouped);
    assert!(!scope(&p).one_at_a_time);
    assert!(
        !serde_json::to_string(&p).unwrap().contains("one_at_a_time"),
        "absent when false"
    );

    // A misspelt clause is a syntax error, not a silent change of meaning.
    let c = compile(&strict.replace("one at a time", "one at time"));
    assert!(c.has_errors());
}

/// Step names come from what a step says, not from its line: adding
/// comments and blank lines above renames nothing; two unnamed blocks of
/// the same kind are told apart in order.
#[test]
fn step_names_survive_edits_above_them() {
    let body = r#"
  servers = nova.find_servers(site: "site-a", tag: "v")
  quiesce servers by role in ["db"] via "pause" within 30s {
    snap = lifeboat.hook(event: "frozen")
  }
  quiesce servers by role in ["db"] via "pause" within 30s {
    lifeboat.hook(event: "again")
  }
  for s in servers {
    lifeboat.hook(event: "{s.name}")
  }
"#;
    let names =
        |src: &str| -> Vec<String> { clean(src).nodes.iter().map(|n| n.name.clone()).collect() };
    let before = names(&format!("runbook r \"x\" {{{body}}}\n"));
    let after = names(&format!(
        "# a comment\n\n# and another\nrunbook r \"x\" {{\n  # here too\n{body}}}\n"
    ));
    assert_eq!(before, after);
    for want in [
        "servers",
        "quiesce servers",
        "snap",
        "quiesce servers#2",
        "lifeboat.hook",
        "for s",
        "lifeboat.hook#2",
    ] {
        assert!(before.iter().any(|n| n == want), "{want} in {before:?}");
    }
}

#[test]
fn a_used_procedure_keeps_its_step_names_and_binds_its_result() {
    let src = "procedure img(s: server, n: string) -> image {\n  i = nova.create_image(s, name: n)\n  return i\n}\n\nrunbook r \"t\" {\n  param vnf: string\n  servers = nova.find_servers(site: \"site-a\", tag: vnf)\n  for s in servers {\n    x = use img(s, \"lb-{s.name}\")\n    one = glance.show_image(x)\n    late = lifeboat.hook(event: \"e\") after x\n  }\n}\n";
    let p = clean(src);
    // `i`, not `x.i`: the steps keep their own names.
    assert_eq!(action(&p, "i").call.action, "nova.create_image");
    assert!(p.nodes.iter().all(|n| !n.name.starts_with("x.")));
    assert!(deps(&p, "one").iter().any(|(d, _)| d == "i"));
    // `after x`: after the step the procedure returns.
    assert!(deps(&p, "late")
        .iter()
        .any(|(d, r)| d == "i" && *r == DepReason::After));
    // Two uses of one procedure: the second's steps are numbered.
    let twice = "procedure hook(e: string) {\n  h = lifeboat.hook(event: e)\n}\n\nrunbook r \"t\" {\n  use hook(\"a\")\n  use hook(\"b\")\n}\n";
    let p = clean(twice);
    node(&p, "h");
    node(&p, "h#2");
    // `use` is for procedures; `use` as a name still binds a step.
    let bad = compile("runbook r \"t\" {\n  use lifeboat.hook(event: \"x\")\n}\n");
    assert!(bad
        .diagnostics
        .list
        .iter()
        .any(|d| d.message().contains("`use` before an action")));
    let p = clean("runbook r \"t\" {\n  use = lifeboat.hook(event: \"x\")\n}\n");
    node(&p, "use");
}

#[test]
fn the_results_an_expression_reads_are_known_and_no_others() {
    let c = compiler::compile("workflows/option1/protect.dr", &BundledLoader).expect("loads");
    let p = c.plan(None).expect("plan");
    let read = p.results_read();
    let names = |want: bool| -> Vec<&str> {
        p.nodes
            .iter()
            .filter(|n| read[n.id.index()] == want && matches!(n.kind, NodeKind::Action(_)))
            .map(|n| n.name.as_str())
            .collect()
    };
    let mut kept = names(true);
    kept.sort_unstable();
    // Each read by a later step; `snap` also by its own cleanup's sibling
    // loop, `b` and `rec` from outside their loop by the manifest.
    assert_eq!(
        kept,
        ["b", "grp", "net", "rec", "servers", "snap", "tmp", "volumes"]
    );
    // The manifest is the procedure's return value, which protect drops.
    assert_eq!(names(false), ["manifest"]);
}

/// The sites a run talks to, known before it runs: its `site` parameters'
/// values, then the sites written in calls, each once; a site read from a
/// record is not among them.
#[test]
fn a_plans_sites_are_its_site_parameters_then_the_sites_written_in_calls() {
    let p = clean(
        "runbook r \"t\" {\n  param vnf: string\n  param to: site = \"site-b\"\n  servers = nova.find_servers(site: \"site-a\", tag: vnf)\n  volumes = cinder.volumes_of(servers)\n  grp = cinder.ensure_group(site: \"site-c\", name: vnf, volumes: volumes)\n  ttl = designate.set_ttl(site: to, name: vnf, ttl: 60)\n  again = nova.find_servers(site: \"site-a\", tag: vnf)\n}\n",
    );
    let params = |v: serde_json::Value| v.as_object().cloned().unwrap();
    assert_eq!(
        p.sites(&params(serde_json::json!({"vnf": "x", "to": "site-d"}))),
        ["site-d", "site-a", "site-c"]
    );
    assert_eq!(
        p.sites(&params(serde_json::json!({"vnf": "x", "to": "site-a"}))),
        ["site-a", "site-c"]
    );
}

/// `retry N [backoff D]` on a quiesce scope reaches the plan (and only
/// when written), survives fmt, and is checked like a step's.
#[test]
fn quiesce_retry_is_kept_through_plan_and_fmt_and_checked() {
    let src = format!("{HEAD}  quiesce servers by role in [\"db\", \"lb\"] via pause within 30s retry 2 backoff 15s {{\n    v = cinder.volumes_of(servers)\n  }}\n}}\n");
    let p = clean(&src);
    assert_eq!(
        scope(&p).retry,
        Some(RetryPolicy {
            retries: 2,
            backoff_ms: 15_000
        })
    );
    let formatted = lifeboat_dsl::fmt::format("t.dr", &src).expect("formats");
    assert!(
        formatted.contains("via pause within 30s retry 2 backoff 15s {"),
        "{formatted}"
    );
    assert_eq!(
        scope(&clean(&src.replace(" backoff 15s", ""))).retry,
        Some(RetryPolicy {
            retries: 2,
            backoff_ms: 1_000
        })
    );
    let plain = clean(&src.replace(" retry 2 backoff 15s", ""));
    assert_eq!(scope(&plain).retry, None);
    assert!(!serde_json::to_string(&plain)
        .unwrap()
        .contains("retry\":{\"retries\":2"));

    for (bad, why) in [
        (" retry 200 backoff 15s", "retry out of range"),
        (" retry 2 backoff 0s", "zero backoff"),
        (" retry 2 retry 3", "retry twice"),
    ] {
        let c = compile(&src.replace(" retry 2 backoff 15s", bad));
        assert!(c.has_errors(), "{why}: accepted");
    }
    // Not on a loop: a syntax error, not an attribute ignored.
    let looped =
        format!("{HEAD}  for s in servers retry 2 {{\n    v = cinder.volumes_of([s])\n  }}\n}}\n");
    assert!(compile(&looped).has_errors());
}
