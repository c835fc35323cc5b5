//! Security groups and their rules. Every project has a `default` group
//! (made on first use, with Neutron's four default rules); a group in use
//! by a port cannot be deleted; a rule equal to an existing one is refused
//! with `SecurityGroupRuleExists`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::state::{parse_cidr, Net, Rule, SecurityGroup};
use super::{
    bad, body_of, bool_of, conflict, invalid, list as page, not_found, now, one, standard, str_of,
    tags_of,
};
use crate::errors::Reply;
use crate::routing::Ctx;
use crate::world::new_id;

pub fn rule_view(r: &Rule) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(r.id));
    o.insert("security_group_id".into(), json!(r.security_group_id));
    o.insert("direction".into(), json!(r.direction));
    o.insert("ethertype".into(), json!(r.ethertype));
    o.insert("protocol".into(), json!(r.protocol));
    o.insert("port_range_min".into(), json!(r.port_range_min));
    o.insert("port_range_max".into(), json!(r.port_range_max));
    o.insert("remote_ip_prefix".into(), json!(r.remote_ip_prefix));
    o.insert("remote_group_id".into(), json!(r.remote_group_id));
    o.insert("remote_address_group_id".into(), Value::Null);
    o.insert("normalized_cidr".into(), json!(r.remote_ip_prefix));
    o.insert("description".into(), json!(r.description));
    o.insert("belongs_to_default_sg".into(), json!(false));
    standard(&mut o, &r.project_id, &[], &r.created_at, &r.created_at, 0);
    // Rules are not taggable.
    o.remove("tags");
    Value::Object(o)
}

pub fn view(net: &Net, g: &SecurityGroup) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(g.id));
    o.insert("name".into(), json!(g.name));
    o.insert("description".into(), json!(g.description));
    o.insert("stateful".into(), json!(g.stateful));
    o.insert("shared".into(), json!(false));
    let rules: Vec<Value> = net
        .rules
        .values()
        .filter(|r| r.security_group_id == g.id)
        .map(|r| {
            let mut v = rule_view(r);
            v["belongs_to_default_sg"] = json!(g.name == "default");
            // Embedded in their group, rules show tags (alone, they do not).
            v["tags"] = json!([]);
            v
        })
        .collect();
    o.insert("security_group_rules".into(), json!(rules));
    standard(
        &mut o,
        &g.project_id,
        &g.tags,
        &g.created_at,
        &g.updated_at,
        g.revision,
    );
    Value::Object(o)
}

pub fn list(ctx: &Ctx) -> Reply {
    let mut w = ctx.shared.lock();
    let net = &mut w.site_mut(ctx.site).net;
    net.default_sg(&ctx.token.project_id, &now());
    // Only the asked-for groups are viewed when ids are given (the generic
    // filter then applies as to any list): a site may hold many, each
    // with its rules.
    let ids: std::collections::HashSet<&str> = ctx.q_all("id").collect();
    let items = net
        .security_groups
        .values()
        .filter(|g| g.project_id == ctx.token.project_id)
        .filter(|g| ids.is_empty() || ids.contains(g.id.as_str()))
        .map(|g| view(net, g))
        .collect();
    page(ctx, "security-groups", items)
}

fn nf(id: &str) -> Response {
    not_found(
        "SecurityGroupNotFound",
        format!("Security group {id} does not exist"),
    )
}

pub fn show(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let net = &w.site(ctx.site).net;
    match net.security_groups.get(id) {
        Some(g) if g.project_id == ctx.token.project_id => {
            Ok(one(ctx, "security_group", view(net, g), StatusCode::OK))
        }
        _ => Err(nf(id)),
    }
}

pub fn create(ctx: &Ctx) -> Reply {
    let b = body_of(ctx, "security_group")?;
    let name = str_of(&b, "name")?.unwrap_or_default();
    if name == "default" {
        return Err(conflict(
            "SecurityGroupDefaultAlreadyExists",
            "Default security group already exists.",
        ));
    }
    let project = ctx.token.project_id.clone();
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    super::quotas::check(s, &project, "security_group", 1)?;
    let t = now();
    let g = SecurityGroup {
        id: new_id(),
        name,
        description: str_of(&b, "description")?.unwrap_or_default(),
        project_id: project.clone(),
        stateful: bool_of(&b, "stateful")?.unwrap_or(true),
        tags: tags_of(&b),
        created_at: t.clone(),
        updated_at: t.clone(),
        revision: 1,
    };
    // Neutron gives a new group the two egress rules.
    for eth in ["IPv4", "IPv6"] {
        let r = Rule {
            id: new_id(),
            security_group_id: g.id.clone(),
            direction: "egress".into(),
            ethertype: eth.into(),
            protocol: None,
            port_range_min: None,
            port_range_max: None,
            remote_ip_prefix: None,
            remote_group_id: None,
            description: String::new(),
            project_id: project.clone(),
            created_at: t.clone(),
        };
        s.net.rules.insert(r.id.clone(), r);
    }
    let v = view(&s.net, &g);
    s.net.security_groups.insert(g.id.clone(), g);
    Ok(one(ctx, "security_group", v, StatusCode::CREATED))
}

pub fn delete(ctx: &Ctx, id: &str) -> Reply {
    let mut w = ctx.shared.lock();
    let net = &mut w.site_mut(ctx.site).net;
    match net.security_groups.get(id) {
        Some(g) if g.project_id == ctx.token.project_id => {
            if g.name == "default" {
                return Err(conflict(
                    "SecurityGroupCannotRemoveDefault",
                    "Insufficient rights for removing default security group.",
                ));
            }
        }
        _ => return Err(nf(id)),
    }
    if net
        .ports
        .values_unordered()
        .any(|p| p.security_groups.iter().any(|g| g == id))
    {
        return Err(conflict(
            "SecurityGroupInUse",
            format!("Security Group {id} in use."),
        ));
    }
    net.rules
        .retain(|_, r| r.security_group_id != id && r.remote_group_id.as_deref() != Some(id));
    net.security_groups.remove(id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub fn list_rules(ctx: &Ctx) -> Reply {
    let w = ctx.shared.lock();
    let net = &w.site(ctx.site).net;
    let items = net
        .rules
        .values()
        .filter(|r| r.project_id == ctx.token.project_id)
        .map(rule_view)
        .collect();
    page(ctx, "security-group-rules", items)
}

fn rule_nf(id: &str) -> Response {
    not_found(
        "SecurityGroupRuleNotFound",
        format!("Security group rule {id} does not exist"),
    )
}

pub fn show_rule(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    match w.site(ctx.site).net.rules.get(id) {
        Some(r) if r.project_id == ctx.token.project_id => Ok(one(
            ctx,
            "security_group_rule",
            rule_view(r),
            StatusCode::OK,
        )),
        _ => Err(rule_nf(id)),
    }
}

fn port_of(b: &Map<String, Value>, key: &str) -> Result<Option<u32>, Response> {
    match b.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let n = v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()));
            match n {
                Some(n) if n <= 65535 => Ok(Some(n as u32)),
                _ => Err(invalid(format!("{v} is not a valid port number for {key}"))),
            }
        }
    }
}

pub fn create_rule(ctx: &Ctx) -> Reply {
    let b = body_of(ctx, "security_group_rule")?;
    let Some(sg) = str_of(&b, "security_group_id")? else {
        return Err(bad(
            "Failed to parse request. Required attribute 'security_group_id' not specified",
        ));
    };
    let direction = str_of(&b, "direction")?.unwrap_or_default();
    if direction != "ingress" && direction != "egress" {
        return Err(invalid(format!(
            "'{direction}' is not in ['ingress', 'egress']"
        )));
    }
    let ethertype = str_of(&b, "ethertype")?.unwrap_or_else(|| "IPv4".into());
    if ethertype != "IPv4" && ethertype != "IPv6" {
        return Err(bad(format!("Security group rule for ethertype '{ethertype}' not supported. Allowed values are ['IPv4', 'IPv6'].")));
    }
    let protocol = str_of(&b, "protocol")?.map(|p| p.to_ascii_lowercase());
    let (min, max) = (
        port_of(&b, "port_range_min")?,
        port_of(&b, "port_range_max")?,
    );
    if let (Some(a), Some(z)) = (min, max) {
        if a > z {
            return Err(bad(
                "For TCP/UDP protocols, port_range_min must be <= port_range_max",
            ));
        }
    }
    if (min.is_some() || max.is_some()) && protocol.is_none() {
        return Err(bad("Must also specify protocol if port range is given."));
    }
    let prefix = str_of(&b, "remote_ip_prefix")?;
    if let Some(p) = &prefix {
        if parse_cidr(p).is_none() {
            return Err(invalid(format!("'{p}' is not a valid IP subnet")));
        }
    }
    let remote_group = str_of(&b, "remote_group_id")?;
    if prefix.is_some() && remote_group.is_some() {
        return Err(bad(
            "Only remote_ip_prefix or remote_group_id may be provided.",
        ));
    }
    let project = ctx.token.project_id.clone();
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    if s.net
        .security_groups
        .get(&sg)
        .is_none_or(|g| g.project_id != project)
    {
        return Err(nf(&sg));
    }
    if let Some(rg) = &remote_group {
        if s.net
            .security_groups
            .get(rg)
            .is_none_or(|g| g.project_id != project)
        {
            return Err(nf(rg));
        }
    }
    super::quotas::check(s, &project, "security_group_rule", 1)?;
    let r = Rule {
        id: new_id(),
        security_group_id: sg,
        direction,
        ethertype,
        protocol,
        port_range_min: min,
        port_range_max: max,
        remote_ip_prefix: prefix.map(|p| {
            let (n, l) = parse_cidr(&p).expect("checked");
            format!("{}/{l}", super::state::ip_str(n))
        }),
        remote_group_id: remote_group,
        description: str_of(&b, "description")?.unwrap_or_default(),
        project_id: project,
        created_at: now(),
    };
    if let Some(dup) = s.net.rules.values().find(|x| x.same_as(&r)) {
        return Err(conflict(
            "SecurityGroupRuleExists",
            format!("Security group rule already exists. Rule id is {}.", dup.id),
        ));
    }
    let v = rule_view(&r);
    s.net.rules.insert(r.id.clone(), r);
    Ok(one(ctx, "security_group_rule", v, StatusCode::CREATED))
}

pub fn delete_rule(ctx: &Ctx, id: &str) -> Reply {
    let mut w = ctx.shared.lock();
    let net = &mut w.site_mut(ctx.site).net;
    match net.rules.get(id) {
        Some(r) if r.project_id == ctx.token.project_id => {}
        _ => return Err(rule_nf(id)),
    }
    net.rules.remove(id);
    Ok(StatusCode::NO_CONTENT.into_response())
}
