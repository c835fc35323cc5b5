//! The client against the two-site emulator, over HTTP: configuration from
//! the clouds.yaml it writes, auth (password, application credential), token
//! expiry and re-auth, the catalogue, and every call the actions use.

use lifeboat_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Site};
use lifeboat_openstack::{Client, ConfigLoader, ErrorKind, Service};
use std::collections::BTreeMap;

struct Env {
    emu: EmulatorHandle,
    dir: tempfile::TempDir,
}

impl Env {
    async fn start() -> Env {
        Env::start_with(EmulatorConfig::fast()).await
    }

    async fn start_with(config: EmulatorConfig) -> Env {
        let emu = Emulator::start(config).await.expect("emulator starts");
        let dir = tempfile::tempdir().unwrap();
        emu.write_clouds_yaml(&dir.path().join("clouds.yaml"))
            .unwrap();
        Env { emu, dir }
    }

    fn loader(&self) -> ConfigLoader {
        ConfigLoader::new(BTreeMap::new(), vec![self.dir.path().to_path_buf()])
    }

    fn client(&self, site: &str) -> Client {
        let cloud = self
            .loader()
            .load(Some("emulator"))
            .unwrap()
            .with_region(site);
        Client::new(site, cloud).unwrap()
    }
}

#[tokio::test]
async fn auth_catalogue_and_nova_calls() {
    let env = Env::start().await;
    let a = env.client("site-a");
    assert!(!a.project_id().await.unwrap().is_empty());
    for s in [
        Service::Compute,
        Service::BlockStorage,
        Service::Image,
        Service::ObjectStore,
    ] {
        let ep = a.endpoint(s).await.unwrap();
        assert!(ep.starts_with("http://127.0.0.1:"), "{s:?}: {ep}");
    }
    let (_, nova_max) = a
        .microversion_range(Service::Compute)
        .await
        .unwrap()
        .expect("nova publishes versions");
    assert!(
        lifeboat_openstack::versions::parse_version(&nova_max).unwrap() >= (2, 96),
        "{nova_max}"
    );
    let (_, cinder_max) = a
        .microversion_range(Service::BlockStorage)
        .await
        .unwrap()
        .expect("cinder publishes versions");
    assert!(
        lifeboat_openstack::versions::parse_version(&cinder_max).unwrap() >= (3, 43),
        "{cinder_max}"
    );
    assert!(a
        .supports_microversion(Service::BlockStorage, "3.14")
        .await
        .unwrap());
    assert!(!a
        .supports_microversion(Service::BlockStorage, "3.999")
        .await
        .unwrap());
    let servers = a.nova().servers_with_tag("vims").await.unwrap();
    assert_eq!(servers.len(), 6, "demo VNF has six servers");
    let s = &servers[0];
    assert!(!s.flavor_name().is_empty());
    assert!(s.flavor_sizes().is_some(), "2.47+ embeds the flavor");
    assert!(s.metadata.contains_key("role"));
    let atts = a.nova().attachments(&s.id).await.unwrap();
    assert_eq!(atts.len(), 2);
    let flavors = a.nova().flavors().await.unwrap();
    assert!(flavors.iter().any(|f| f.name == "m1.small"));
    // Site B knows nothing of site A's servers.
    let b = env.client("site-b");
    assert!(b.nova().servers_with_tag("vims").await.unwrap().is_empty());
    env.emu.shutdown().await;
}

#[tokio::test]
async fn cinder_glance_swift_calls() {
    let env = Env::start().await;
    let a = env.client("site-a");
    let vols = a.cinder().volumes(&[]).await.unwrap();
    assert_eq!(vols.len(), 12);
    let boot = vols.iter().find(|v| v.name.ends_with("-boot")).unwrap();
    assert!(boot.bootable);
    assert_eq!(a.cinder().volume(&boot.id).await.unwrap().id, boot.id);
    let gt = a.cinder().default_group_type().await.unwrap();
    assert!(gt.is_some());
    assert!(a.cinder().backups(&[]).await.unwrap().is_empty());
    assert!(a.cinder().group_snapshots().await.unwrap().is_empty());
    // Swift: a container is created on demand; listing pages by marker.
    let stored = a
        .swift()
        .put_object(
            "lb-test",
            "x/one.json",
            b"{\"a\":1}".to_vec(),
            "application/json",
        )
        .await
        .unwrap();
    assert_eq!(stored.bytes, 7);
    assert!(!stored.etag.is_empty());
    a.swift()
        .put_object("lb-test", "x/two.json", b"2".to_vec(), "text/plain")
        .await
        .unwrap();
    assert_eq!(
        a.swift().get_object("lb-test", "x/one.json").await.unwrap(),
        b"{\"a\":1}"
    );
    let names: Vec<String> = a
        .swift()
        .list("lb-test", "x/")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(names, vec!["x/one.json", "x/two.json"]);
    a.swift()
        .delete_object("lb-test", "x/two.json")
        .await
        .unwrap();
    let e = a
        .swift()
        .get_object("lb-test", "x/two.json")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    // Glance: no such image → a clear 404.
    let e = a
        .glance()
        .image("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn errors_name_call_resource_site_and_classify() {
    let env = Env::start().await;
    let a = env.client("site-a");
    let e = a.cinder().volume("no-such-volume").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(!e.is_transient());
    let msg = e.to_string();
    assert!(
        msg.contains("GET /volumes/{id}")
            && msg.contains("no-such-volume")
            && msg.contains("site-a")
            && msg.contains("404"),
        "{msg}"
    );
    // Site down: connection refused → transient.
    env.emu.set_site_down(Site::B, true);
    let b = env.client("site-b");
    let e = b.nova().flavors().await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert_eq!(e.kind, ErrorKind::Connection);
    env.emu.set_site_down(Site::B, false);
    // The site's listener comes back asynchronously: transient until then.
    let mut back = b.nova().flavors().await;
    for _ in 0..100 {
        match &back {
            Err(e) if e.is_transient() => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                back = b.nova().flavors().await;
            }
            _ => break,
        }
    }
    assert!(!back.unwrap().is_empty());
    // Unknown region → a catalogue error naming what exists.
    let c = Client::new(
        "site-z",
        env.loader()
            .load(Some("emulator"))
            .unwrap()
            .with_region("site-z"),
    )
    .unwrap();
    let e = c.nova().flavors().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Catalog);
    assert!(e.to_string().contains("site-a/public"), "{e}");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn token_expiry_reauthenticates_once() {
    let env = Env::start().await;
    let a = env.client("site-a");
    assert!(!a.nova().flavors().await.unwrap().is_empty());
    env.emu.expire_tokens();
    // The cached token is now refused (401): the client re-authenticates.
    assert!(!a.nova().flavors().await.unwrap().is_empty());
    env.emu.shutdown().await;
}

/// Tokens renewed by others can be refused again by the time a request
/// sends with them: a request renews its token up to three times in a row,
/// and a service that refuses every fresh token is an answer about the
/// credentials, not a loop.
#[tokio::test]
async fn a_run_of_401s_renews_the_token_three_times_then_fails_with_a_hint() {
    let env = Env::start().await;
    let a = env.client("site-a");
    let refuse = |times: u32| {
        lifeboat_emulator::FaultProfile::from_yaml_str(&format!(
            "rules:\n  - {{site: site-a, service: compute, path_contains: /flavors, error_rate: 1.0, error_status: 401, times: {times}}}\n"
        ))
        .unwrap()
    };
    env.emu.set_faults(refuse(3));
    assert!(!a.nova().flavors().await.unwrap().is_empty());
    env.emu.set_faults(refuse(4));
    let e = a.nova().flavors().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    assert_eq!(e.status, Some(401));
    assert!(!e.is_transient());
    let text = e.to_string();
    assert!(text.contains("3 re-authentications in a row"), "{text}");
    assert!(text.contains("site-a"), "{text}");
    assert!(e.hint().unwrap().contains("credentials"), "{e:?}");
    // The fault spent, the same client carries on.
    assert!(!a.nova().flavors().await.unwrap().is_empty());
    env.emu.shutdown().await;
}

#[tokio::test]
async fn application_credential_and_bad_password() {
    let env = Env::start().await;
    let cloud = env.loader().load(Some("emulator-appcred")).unwrap();
    assert!(!format!("{cloud:?}").contains("lifeboat-secret"));
    let c = Client::new("site-a", cloud).unwrap();
    assert_eq!(c.nova().servers_with_tag("vims").await.unwrap().len(), 6);

    let yaml = std::fs::read_to_string(env.dir.path().join("clouds.yaml")).unwrap();
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(
        bad.path().join("clouds.yaml"),
        yaml.replace("password: lifeboat", "password: wrong-canary-pw"),
    )
    .unwrap();
    let l = ConfigLoader::new(BTreeMap::new(), vec![bad.path().to_path_buf()]);
    let c = Client::new("site-a", l.load(Some("emulator-site-a")).unwrap()).unwrap();
    let e = c.nova().flavors().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert!(!e.is_transient());
    assert!(!e.to_string().contains("wrong-canary-pw"));
    assert!(!format!("{e:?}").contains("wrong-canary-pw"));
    assert!(!format!("{c:?}").contains("wrong-canary-pw"));
    env.emu.shutdown().await;
}

#[tokio::test]
async fn pagination_follows_next_links() {
    let env = Env::start().await;
    let a = env.client("site-a");
    let vols = a.cinder().volumes(&[("limit", "5".into())]).await.unwrap();
    assert_eq!(vols.len(), 12, "three pages of volumes");
    let mut ids: Vec<&str> = vols.iter().map(|v| v.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12, "no page read twice");
    let servers = a
        .request(Service::Compute, reqwest::Method::GET, "servers/detail")
        .microversion(lifeboat_openstack::nova::COMPUTE_MICROVERSION)
        .query("limit", "4")
        .send_paged("servers")
        .await
        .unwrap();
    assert_eq!(servers.len(), 6);
    env.emu.shutdown().await;
}

/// Keystone and the services on a bad day, request by request: token
/// requests answered 503 half the time, reads answered 503, reset or
/// rate-limited with Retry-After — every call still succeeds, no secret in
/// any error; a creating POST is not sent again after a lost answer (the
/// caller looks for what it made), but is after a rate limit; and the site's
/// adaptive limit came down and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stormy_cloud_costs_requests_not_calls() {
    let env = Env::start().await;
    let yaml = "seed: 7\nrules:\n  - {site: keystone, error_rate: 0.5, error_status: 503}\n  - {site: site-a, method: GET, error_rate: 0.3, error_status: 503}\n  - {site: site-a, method: GET, reset_rate: 0.1}\n  - {site: site-a, service: volume, rate_limit: {max_requests: 5, per_seconds: 1, status: 429, retry_after_s: 1}}\n";
    env.emu
        .set_faults(lifeboat_emulator::FaultProfile::from_yaml_str(yaml).unwrap());
    let a = env.client("site-a");
    for _ in 0..5 {
        let servers = a
            .nova()
            .servers_with_tag("vims")
            .await
            .expect("servers through 503s and resets");
        assert_eq!(servers.len(), 6);
        let vols = a
            .cinder()
            .volumes(&[])
            .await
            .expect("volumes through 503s, resets and 429s");
        assert_eq!(vols.len(), 12);
    }
    let p = a.pressure();
    assert!(p.retries > 0 && p.throttled > 0, "{p:?}");
    assert!(
        p.lowest_limit < p.ceiling,
        "the adaptive limit came down: {p:?}"
    );
    // Past the volume service's 5 requests a second, its 429's Retry-After
    // holds the service: the lists wait it out rather than each spending
    // attempts on 429s.
    for _ in 0..8 {
        a.cinder()
            .volumes(&[])
            .await
            .expect("volumes through the rate limit");
    }
    let p = a.pressure();
    assert!(
        p.holds > 0,
        "the rate limit's Retry-After held the volume service: {p:?}"
    );
    // Keystone answered 503 to token requests: a new client still gets a token.
    let b = env.client("site-b");
    assert!(!b
        .project_id()
        .await
        .expect("a token through Keystone's 503s")
        .is_empty());

    // A creating POST whose answer is lost is not sent again blind…
    env.emu.set_faults(lifeboat_emulator::FaultProfile::from_yaml_str("rules:\n  - {site: site-a, method: POST, path_contains: /snapshots, lost_answer_rate: 1.0}\n").unwrap());
    let vol = a.cinder().volumes(&[]).await.unwrap().remove(0);
    let e = a
        .cinder()
        .create_snapshot(&vol.id, "lb-storm-lost", true, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Connection, "{e}");
    env.emu.clear_faults();
    let made = a
        .cinder()
        .snapshots(&[("name", "lb-storm-lost".to_string())])
        .await
        .unwrap();
    assert_eq!(made.len(), 1, "carried out once, not repeated: {made:?}");
    // …but one that was rate-limited (never taken) is.
    env.emu.set_faults(lifeboat_emulator::FaultProfile::from_yaml_str("rules:\n  - {site: site-a, method: POST, path_contains: /snapshots, rate_limit: {max_requests: 0, per_seconds: 1, status: 429, retry_after_s: 1}}\n").unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let emu_faults = env.emu.admin_url();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let _ = tokio::task::spawn_blocking(move || {
            lifeboat_emulator::admin_request(&emu_faults, "DELETE", "/_emulator/faults", None)
        })
        .await;
        let _ = tx.send(());
    });
    let vol2 = a.cinder().volumes(&[]).await.unwrap().remove(1);
    let s = a
        .cinder()
        .create_snapshot(&vol2.id, "lb-storm-limited", true, &Default::default())
        .await
        .expect("sent again after the 429s");
    let _ = rx.await;
    assert_eq!(
        a.cinder()
            .snapshots(&[("name", "lb-storm-limited".to_string())])
            .await
            .unwrap()
            .len(),
        1,
        "{s:?}"
    );
    env.emu.shutdown().await;
}

/// More server groups than Nova answers in one request (its `max_limit`,
/// 1,000): the client reads them all, page by page, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_groups_are_read_past_novas_max_limit() {
    let mut config = EmulatorConfig::fast();
    // One group per VNF and role: 340 × 3.
    config.topology = lifeboat_emulator::Topology::generate(340, 3);
    let env = Env::start_with(config).await;
    let groups = env.client("site-a").nova().server_groups().await.unwrap();
    let ids: std::collections::BTreeSet<&str> = groups.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(groups.len(), 1020);
    assert_eq!(ids.len(), 1020, "each group once");
    assert!(groups.iter().all(|g| g.members.len() == 1));
}

/// Cinder answers at most its `osapi_max_limit` (1,000) manageable volumes
/// a request, with no link: the replicas of more volumes than that at a
/// backup site are read page after page by marker, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manageable_volumes_are_read_past_cinders_max_limit() {
    use futures::stream::{self, StreamExt};
    let mut config = EmulatorConfig::fast();
    config.topology.quotas.volumes = 2000;
    config.topology.quotas.gigabytes = 20000;
    let env = Env::start_with(config).await;
    let a = env.client("site-a");
    let made: Vec<String> = stream::iter(0..1020)
        .map(|i| {
            let a = &a;
            async move {
                let body = serde_json::json!({"size": 1, "name": format!("r{i}"), "volume_type": "replicated"});
                a.cinder().create_volume(body, "a replicated volume").await.unwrap().id
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let b = env.client("site-b");
    let host = "site-b@replica#pool";
    let all = b.cinder().manageable_volumes(host).await.unwrap();
    let refs: std::collections::BTreeSet<String> = all
        .iter()
        .map(|m| m["reference"]["source-name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(all.len(), 1020);
    assert_eq!(refs.len(), 1020, "each replica once");
    assert!(made.iter().all(|id| refs.contains(&format!("volume-{id}"))));
    // A replica past the first page is found; the reading stops there.
    let wanted = all[1010]["reference"].clone();
    let found = b
        .cinder()
        .manageable_volumes_until(host, |page| page.iter().any(|m| m["reference"] == wanted))
        .await
        .unwrap();
    assert_eq!(found.len(), 1020, "the second page is the last");
    let first = all[10]["reference"].clone();
    let early = b
        .cinder()
        .manageable_volumes_until(host, |page| page.iter().any(|m| m["reference"] == first))
        .await
        .unwrap();
    assert_eq!(
        early.len(),
        1000,
        "found on the first page: no second request"
    );
}

/// From 2.35 Nova answers at most its `max_limit` (1,000) key pairs a
/// request, with a link to the next page: a user with more (a raised
/// quota) has every one read, so a recovery does not import one it has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keypairs_are_read_past_novas_max_limit() {
    use futures::stream::{self, StreamExt};
    let mut config = EmulatorConfig::fast();
    config.topology.quotas.key_pairs = 2000;
    let env = Env::start_with(config).await;
    let a = env.client("site-a");
    let key =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHCzFPyOwOP1IMlffiHxzRxEAo7rrkjDDL4/PYlp9QDf ops@dr";
    stream::iter(0..1005)
        .map(|i| {
            let a = &a;
            async move {
                a.nova()
                    .import_keypair(&format!("k{i:04}"), key, "ssh")
                    .await
                    .unwrap()
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let keys = a.nova().keypairs().await.unwrap();
    let mine: Vec<&str> = keys
        .iter()
        .map(|k| k.name.as_str())
        .filter(|n| n.len() == 5 && n.starts_with('k'))
        .collect();
    let names: std::collections::BTreeSet<&str> = mine.iter().copied().collect();
    assert_eq!(mine.len(), 1005);
    assert_eq!(names.len(), 1005, "each once");
}

/// Connections site-a's listener has accepted so far (the emulator's
/// admin status).
async fn accepted_at_site_a(env: &Env) -> u64 {
    let status: serde_json::Value =
        reqwest::get(format!("{}/_emulator/status", env.emu.admin_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    status["sites"]["site-a"]["connections_accepted"]
        .as_u64()
        .expect("the status counts accepted connections")
}

/// How many connections site-a accepted while each of `clients` made one
/// request, one after the other.
async fn one_request_each(env: &Env, clients: Vec<Client>) -> u64 {
    let before = accepted_at_site_a(env).await;
    for c in &clients {
        c.microversion_range(Service::Compute).await.unwrap();
        // The answered connection goes back to its pool.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    accepted_at_site_a(env).await - before
}

/// Five clients of site-a, one request each, one after the other: with one
/// `Connections` they take turns on one connection (each keeps its own
/// token); made alone, each opens its own.
#[tokio::test]
async fn clients_sharing_connections_reuse_one_where_each_alone_opens_its_own() {
    let env = Env::start().await;
    let cloud = || {
        env.loader()
            .load(Some("emulator"))
            .unwrap()
            .with_region("site-a")
    };
    let shared = lifeboat_openstack::Connections::new();
    let sharing: Vec<Client> = (0..5)
        .map(|_| Client::sharing("site-a", cloud(), &shared).unwrap())
        .collect();
    assert_eq!(one_request_each(&env, sharing).await, 1);
    assert_eq!(shared.pools(), 1, "one TLS trust, one pool");
    let alone: Vec<Client> = (0..5)
        .map(|_| Client::new("site-a", cloud()).unwrap())
        .collect();
    assert_eq!(one_request_each(&env, alone).await, 5);
}
