//! A server's network interfaces (`os-interface`): its Neutron ports as
//! Nova shows them; attach a port (or a new one on a network) and detach.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::nf;
use crate::errors::{bad_request, conflict, Flavor as F, Reply};
use crate::microversion::Mv;
use crate::neutron::state::{ip_str, Port};
use crate::routing::Ctx;

fn view(p: &Port, mv: Mv) -> Value {
    let fixed: Vec<Value> = p
        .fixed_ips
        .iter()
        .map(|f| json!({"ip_address": ip_str(f.ip), "subnet_id": f.subnet_id}))
        .collect();
    let mut o = json!({"fixed_ips": fixed, "mac_addr": p.mac, "net_id": p.network_id, "port_id": p.id, "port_state": p.status()});
    if mv.at_least(2, 70) {
        o["tag"] = Value::Null;
    }
    o
}

pub fn list(ctx: &Ctx, mv: Mv, server: &str) -> Reply {
    let w = ctx.shared.lock();
    let s = w.site(ctx.site);
    let srv = s
        .servers
        .get(server)
        .ok_or_else(|| nf("Instance", server))?;
    let items: Vec<Value> = srv
        .ports
        .iter()
        .filter_map(|p| s.net.ports.get(p))
        .map(|p| view(p, mv))
        .collect();
    Ok(Json(json!({"interfaceAttachments": items})).into_response())
}

pub fn show(ctx: &Ctx, mv: Mv, server: &str, port: &str) -> Reply {
    let w = ctx.shared.lock();
    let s = w.site(ctx.site);
    let srv = s
        .servers
        .get(server)
        .ok_or_else(|| nf("Instance", server))?;
    match s
        .net
        .ports
        .get(port)
        .filter(|_| srv.ports.iter().any(|p| p == port))
    {
        Some(p) => Ok(Json(json!({"interfaceAttachment": view(p, mv)})).into_response()),
        None => Err(nf("Port", port)),
    }
}

pub fn attach(ctx: &Ctx, mv: Mv, server: &str) -> Reply {
    let body = ctx.json(F::Nova)?;
    let req = body
        .get("interfaceAttachment")
        .cloned()
        .unwrap_or(json!({}));
    let project = ctx.token.project_id.clone();
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    let srv = s
        .servers
        .get(server)
        .ok_or_else(|| nf("Instance", server))?;
    if srv.status != "ACTIVE" && srv.status != "PAUSED" && srv.status != "SHUTOFF" {
        return Err(conflict(
            F::Nova,
            format!(
                "Cannot 'attach_interface' instance {server} while it is in vm_state {}",
                srv.vm_state
            ),
        ));
    }
    let host = srv.host.clone();
    let (pid, made) = match (
        req.get("port_id").and_then(Value::as_str),
        req.get("net_id").and_then(Value::as_str),
    ) {
        (Some(pid), _) => {
            let Some(p) = s.net.ports.get(pid).filter(|p| p.project_id == project) else {
                return Err(nf("Port", pid));
            };
            if !p.device_id.is_empty() {
                return Err(conflict(F::Nova, format!("Port {pid} is still in use.")));
            }
            (pid.to_string(), false)
        }
        (None, Some(net)) => {
            let ip = req
                .get("fixed_ips")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|f| f.get("ip_address"))
                .and_then(Value::as_str)
                .and_then(crate::neutron::state::parse_ip);
            match crate::neutron::ports::make(s, &project, net, ip) {
                Ok(pid) => (pid, true),
                Err(m) => return Err(bad_request(F::Nova, m)),
            }
        }
        _ => {
            return Err(bad_request(
                F::Nova,
                "Must input network_id when request IP address",
            ))
        }
    };
    if let Some(p) = s.net.ports.get_mut(&pid) {
        p.device_id = server.to_string();
        p.device_owner = "compute:nova".into();
        p.host = host;
        p.revision += 1;
    }
    if let Some(srv) = s.servers.get_mut(server) {
        srv.ports.push(pid.clone());
        if made {
            srv.made_ports.push(pid.clone());
        }
    }
    let p = s.net.ports[&pid].clone();
    Ok(Json(json!({"interfaceAttachment": view(&p, mv)})).into_response())
}

pub fn detach(ctx: &Ctx, server: &str, port: &str) -> Reply {
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    let srv = s
        .servers
        .get_mut(server)
        .ok_or_else(|| nf("Instance", server))?;
    if !srv.ports.iter().any(|p| p == port) {
        return Err(nf("Port", port));
    }
    srv.ports.retain(|p| p != port);
    let made = srv.made_ports.iter().any(|p| p == port);
    srv.made_ports.retain(|p| p != port);
    if made {
        s.net.remove_port(port);
    } else if let Some(p) = s.net.ports.get_mut(port) {
        p.device_id.clear();
        p.device_owner.clear();
        p.host.clear();
        p.revision += 1;
    }
    Ok(StatusCode::ACCEPTED.into_response())
}
