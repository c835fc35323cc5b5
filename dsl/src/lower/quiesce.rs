//! Pass 2 for `quiesce` scopes: targets (a list of records with the `by`
//! field), the order, the method (a literal, a known bare name or a string
//! variable), the method's arguments (checked against the freeze action;
//! defaults filled for a literal method), `within` and `retry`.

use super::*;

impl<'a> Lowerer<'a> {
    pub(super) fn compile_quiesce(
        &self,
        id: StepId,
        q: &'a ast::QuiesceStmt,
        frame: usize,
        parent: Option<StepId>,
        diags: &mut Diagnostics,
        reads: &mut Vec<(StepId, DepReason, Loc)>,
    ) -> NodeKind {
        let cat = self.cat;
        let (targets, tt) = self.resolve(&q.targets, frame, parent, None, diags);
        collect_steps(&targets, q.targets.loc, reads);
        let record = match &tt {
            Ty::List(inner) => match inner.as_ref() {
                Ty::Record(r) => Some(r.clone()),
                Ty::Any => None,
                other => {
                    diags.push(Diagnostic::at(
                        q.targets.loc,
                        Kind::TargetsNotRecords {
                            item: other.clone(),
                        },
                    ));
                    None
                }
            },
            Ty::Any => None,
            other => {
                diags.push(Diagnostic::at(
                    q.targets.loc,
                    Kind::TargetsNotList {
                        found: other.clone(),
                    },
                ));
                None
            }
        };
        if let Some(r) = &record {
            typecheck::field_type(
                &Ty::Record(r.clone()),
                &q.by,
                q.targets.loc,
                &cat.types,
                diags,
            );
        }
        let (order, ot) = self.resolve(&q.order, frame, parent, None, diags);
        collect_steps(&order, q.order.loc, reads);
        if ot.elem().is_none() {
            diags.push(Diagnostic::at(
                q.order.loc,
                Kind::OrderNotList { found: ot.clone() },
            ));
        }
        // The method: a literal name, a known method by bare name, or a
        // string variable — never a name that is both.
        let (method, literal) = match &q.method.name {
            MethodName::Literal(e) => match e.as_plain_str() {
                Some(n) => (Expr::Str(n.clone()), Some((n, e.loc))),
                None => {
                    let (x, _) = self.resolve(e, frame, parent, None, diags);
                    collect_steps(&x, e.loc, reads);
                    (x, None)
                }
            },
            MethodName::Name(n) => {
                let binds = {
                    At {
                        lw: self,
                        frame,
                        pos: parent,
                        own: None,
                    }
                    .binds(&n.name)
                };
                if binds && cat.method(&n.name).is_some() {
                    diags.push(Diagnostic::at(
                        n.loc,
                        Kind::Ambiguous {
                            name: n.name.clone(),
                        },
                    ));
                    (Expr::Str(n.name.clone()), None)
                } else if binds {
                    let e = ast::Expr {
                        kind: ast::ExprKind::Name(n.name.clone()),
                        loc: n.loc,
                    };
                    let (x, t) = self.resolve(&e, frame, parent, None, diags);
                    expect_ty(&t, &Ty::String, n.loc, Context::MethodVariable, diags);
                    collect_steps(&x, n.loc, reads);
                    (x, None)
                } else {
                    (Expr::Str(n.name.clone()), Some((n.name.clone(), n.loc)))
                }
            }
        };
        let mut freeze_params: Vec<ParamSig> = Vec::new();
        let mut fill_defaults = false;
        match &literal {
            Some((name, loc)) => match cat.method(name) {
                Some(m) => {
                    if let Some(sig) = cat.actions.get(&m.freeze) {
                        freeze_params = sig.params.iter().skip(1).cloned().collect();
                        fill_defaults = true;
                        if let (Some(r), Some(target)) = (&record, sig.params.first()) {
                            if target.ty != Ty::Record(r.clone()) {
                                diags.push(Diagnostic::at(
                                    q.targets.loc,
                                    Kind::MethodTargetType {
                                        method: name.clone(),
                                        freezes: target.ty.clone(),
                                        targets: r.clone(),
                                    },
                                ));
                            }
                        }
                    }
                }
                None => diags.push(Diagnostic::at(
                    *loc,
                    Kind::UnknownQuiesceMethod {
                        name: name.clone(),
                        known: cat.method_names().into_iter().map(str::to_string).collect(),
                    },
                )),
            },
            None => {
                for m in &cat.methods {
                    if let Some(sig) = cat.actions.get(&m.freeze) {
                        for p in sig.params.iter().skip(1) {
                            if !freeze_params.iter().any(|q| q.name == p.name) {
                                freeze_params.push(ParamSig {
                                    default: None,
                                    ..p.clone()
                                });
                            }
                        }
                    }
                }
            }
        }
        let mut method_args = Vec::new();
        if let Some(args) = &q.method.args {
            for a in args {
                let Some(n) = &a.name else { continue };
                match freeze_params.iter().find(|p| p.name == n.name) {
                    Some(p) => {
                        let (x, t) = self.resolve(&a.value, frame, parent, None, diags);
                        collect_steps(&x, a.value.loc, reads);
                        if !t.fits(&p.ty, typecheck::is_literal(&a.value)) {
                            diags.push(Diagnostic::at(
                                a.value.loc,
                                Kind::TypeMismatch {
                                    expected: p.ty.clone(),
                                    found: t,
                                    context: Context::MethodArgument {
                                        param: p.name.clone(),
                                    },
                                },
                            ));
                        }
                        method_args.push(Arg {
                            name: p.name.clone(),
                            ty: p.ty.to_plan(),
                            value: x,
                        });
                    }
                    None => {
                        diags.push(Diagnostic::at(
                            n.loc,
                            Kind::UnknownMethodArgument {
                                name: n.name.clone(),
                                known: freeze_params.iter().map(|p| p.name.clone()).collect(),
                            },
                        ));
                    }
                }
            }
        }
        if fill_defaults {
            for p in &freeze_params {
                if !method_args.iter().any(|a| a.name == p.name) {
                    if let Some(d) = &p.default {
                        method_args.push(Arg {
                            name: p.name.clone(),
                            ty: p.ty.to_plan(),
                            value: d.clone(),
                        });
                    }
                }
            }
            method_args.sort_by_key(|a| freeze_params.iter().position(|p| p.name == a.name));
        }
        let within_ms = catalogue::positive_duration(&q.within, "`within`", diags).unwrap_or(0);
        // Duplicates are reported with the scope's other attributes.
        let retry = q.attrs.iter().find_map(|a| match a {
            Attr::Retry(r) => catalogue::retry_policy(r, diags),
            _ => None,
        });
        let body = self.nodes[id.index()].children.clone();
        NodeKind::Quiesce(QuiesceScope {
            targets,
            by: q.by.name.clone(),
            order,
            one_at_a_time: q.one_at_a_time,
            method,
            method_args,
            within_ms,
            retry,
            body,
        })
    }
}
