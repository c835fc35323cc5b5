//! The clouds.yaml the emulator writes: one cloud per site, one without a
//! region, and one authenticating with the application credential.

use crate::topology::Topology;

pub fn clouds_yaml(keystone_base: &str, topo: &Topology) -> String {
    let Some(user) = topo.users.first() else {
        return "clouds: {}\n".into();
    };
    let auth = format!(
        "    auth:\n      auth_url: {keystone_base}/v3\n      username: {u}\n      password: {p}\n      project_name: {proj}\n      user_domain_name: {d}\n      project_domain_name: {d}\n",
        u = user.name,
        p = user.password,
        proj = topo.project,
        d = topo.domain
    );
    let common = "    identity_api_version: 3\n    interface: public\n";
    let mut out = String::from("# Written by lifeboat-emulator. Use: export OS_CLIENT_CONFIG_FILE=<this file> OS_CLOUD=emulator-site-a\nclouds:\n");
    out.push_str(&format!("  emulator:\n{auth}{common}"));
    for site in ["site-a", "site-b"] {
        out.push_str(&format!(
            "  emulator-{site}:\n{auth}{common}    region_name: {site}\n"
        ));
    }
    if let Some(c) = user.app_credentials.first() {
        out.push_str(&format!(
            "  emulator-appcred:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: {keystone_base}/v3\n      application_credential_id: {}\n      application_credential_secret: {}\n{common}    region_name: site-a\n",
            c.id, c.secret
        ));
    }
    out
}
