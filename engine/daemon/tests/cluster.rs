//! The daemons' cluster against a REAL etcd (Debian's `etcd-server`, which
//! `.ci/run` installs): members share jobs, a dead member's jobs move to the
//! others within its lease, a deposed owner's writes are refused, and the
//! cluster rides out the loss of one etcd member of three and pauses (claims
//! nothing) without a quorum.
//!
//! Without `etcd` on the PATH these tests skip with a line saying so; under
//! CI (`CI` set) they fail instead.

use lifeboat_daemon::cluster::etcd::Etcd;
use lifeboat_daemon::cluster::local::{self, LocalEtcd};
use lifeboat_daemon::cluster::{Claim, ClusterError, Member};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn etcd_or_skip() -> bool {
    let found = local::installed();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "etcd is not installed; .ci/run installs Debian's etcd-server"
        );
        eprintln!("skipped: etcd is not installed (apt install etcd-server)");
    }
    found
}

/// Every member tries every job once; job → the member that may run it.
async fn claim_round(members: &[&Member], jobs: &[String]) -> BTreeMap<String, String> {
    let mut mine = BTreeMap::new();
    for m in members {
        for j in jobs {
            if m.claim(j, None).await.unwrap().token().is_some() {
                assert!(
                    mine.insert(j.clone(), m.info.name.clone()).is_none(),
                    "{j} is claimed twice"
                );
            }
        }
    }
    mine
}

#[tokio::test]
async fn members_share_the_jobs_and_a_dead_members_move_to_the_others_within_its_lease() {
    if !etcd_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let etcd = LocalEtcd::start(1, dir.path());
    let ttl = 2;
    let a = Member::join(&etcd.config("a", "site-a", ttl))
        .await
        .unwrap();
    let b = Member::join(&etcd.config("b", "site-b", ttl))
        .await
        .unwrap();
    let c = Member::join(&etcd.config("c", "site-b", ttl))
        .await
        .unwrap();
    // A second daemon with a live member's name is refused.
    assert!(matches!(
        Member::join(&etcd.config("b", "site-b", ttl)).await,
        Err(ClusterError::NameTaken(n)) if n == "b"
    ));
    let jobs: Vec<String> = (0..60).map(|i| format!("option1/protect#{i:02}")).collect();
    let owned = claim_round(&[&a, &b, &c], &jobs).await;
    assert_eq!(owned.len(), 60, "every job owned once: {owned:?}");
    for n in ["a", "b", "c"] {
        let share = owned.values().filter(|o| *o == n).count();
        assert!((8..=35).contains(&share), "{n} owns {share} of 60");
    }
    assert_eq!(a.owners().await.unwrap(), owned);
    let b_had: Vec<String> = owned
        .iter()
        .filter(|(_, o)| *o == "b")
        .map(|(j, _)| j.clone())
        .collect();

    // b dies (no more renewals): its jobs wait out its lease, then move.
    let died = Instant::now();
    b.abandon();
    let moved = loop {
        let now = claim_round(&[&a, &c], &jobs).await;
        if b_had.iter().all(|j| now.contains_key(j)) {
            break died.elapsed();
        }
        assert!(
            died.elapsed() < Duration::from_secs(ttl + 5),
            "b's jobs still unowned {:?} after its lease",
            died.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!(
        "b's {} jobs moved {:.1} s after it died (lease {ttl} s)",
        b_had.len(),
        moved.as_secs_f64()
    );
    let after = a.owners().await.unwrap();
    assert_eq!(after.len(), 60);
    assert!(after.values().all(|o| o == "a" || o == "c"), "{after:?}");
    // Nobody else's job moved.
    for (j, o) in &owned {
        if o != "b" {
            assert_eq!(&after[j], o, "{j} moved though its owner lives");
        }
    }
    assert_eq!(
        a.members()
            .await
            .unwrap()
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>(),
        ["a", "c"]
    );
    a.leave().await.unwrap();
    c.leave().await.unwrap();
}

#[tokio::test]
async fn a_deposed_owner_cannot_write_once_another_took_its_job() {
    if !etcd_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let etcd = LocalEtcd::start(1, dir.path());
    let a = Member::join(&etcd.config("a", "site-a", 2)).await.unwrap();
    let job = "option1/recover#vims";
    let Some(token) = a.claim(job, None).await.unwrap().token() else {
        panic!("the only member owns the job");
    };
    assert!(a
        .write_as_owner(job, token, "/lifeboat/runs/r1/journal/1", b"step 1")
        .await
        .unwrap());
    // Paused past its lease (SIGSTOP), as far as etcd can tell.
    let pending = Member::join(&etcd.config("b", "site-b", 2)).await.unwrap();
    let a_stale = a;
    let (stale_name, stale_token) = (a_stale.info.name.clone(), token);
    a_stale.abandon();
    let t = Instant::now();
    let b_token = loop {
        match pending.claim(job, Some("site-b")).await.unwrap().token() {
            Some(token) => break token,
            None => {
                assert!(t.elapsed() < Duration::from_secs(8), "b never took the job");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert_ne!(b_token, stale_token);
    // The old owner wakes up with its old token: refused, nothing written.
    let woke = Member::join(&etcd.config(&stale_name, "site-a", 2))
        .await
        .unwrap();
    assert!(!woke
        .write_as_owner(
            job,
            stale_token,
            "/lifeboat/runs/r1/journal/2",
            b"step 2 (stale)"
        )
        .await
        .unwrap());
    assert!(matches!(
        woke.claim(job, None).await.unwrap(),
        Claim::Theirs { member } if member == "b"
    ));
    assert!(pending
        .write_as_owner(job, b_token, "/lifeboat/runs/r1/journal/2", b"step 2")
        .await
        .unwrap());
}

#[tokio::test]
async fn one_etcd_member_down_changes_nothing_two_pause_every_claim_until_quorum_returns() {
    if !etcd_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut etcd = LocalEtcd::start(3, dir.path());
    let mut a = Member::join(&etcd.config("a", "site-a", 5)).await.unwrap();
    let jobs: Vec<String> = (0..10).map(|i| format!("option1/protect#{i}")).collect();

    etcd.down(0);
    let owned = claim_round(&[&a], &jobs[..5]).await;
    assert_eq!(
        owned.len(),
        5,
        "claims go on with two etcd members of three"
    );

    etcd.down(1);
    match a.claim(&jobs[5], None).await {
        Err(ClusterError::Etcd(e)) => eprintln!("without quorum: {e}"),
        other => panic!("a claim without quorum must fail, not {other:?}"),
    }

    etcd.up(0);
    etcd.up(1);
    etcd.wait_healthy(Duration::from_secs(30));
    let t = Instant::now();
    let mut rejoined = false;
    loop {
        match a.claim(&jobs[5], None).await {
            Ok(c) if c.token().is_some() => break,
            Ok(other) => panic!("{other:?}"),
            // Without quorum for longer than its lease, the member lost
            // it: it joins again, as the daemon does (its claims went
            // with the lease).
            Err(ClusterError::Lost) => {
                a.rejoin().await.unwrap();
                rejoined = true;
            }
            Err(e) => {
                assert!(
                    t.elapsed() < Duration::from_secs(20),
                    "quorum never returned: {e}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    // What was claimed before stays claimed by its owner — unless its
    // lease ran out meanwhile, and then it claims them again.
    if rejoined {
        eprintln!("the member's lease ran out without quorum: it joined again");
        assert_eq!(claim_round(&[&a], &jobs[..6]).await.len(), 6);
    }
    let owners = a.owners().await.unwrap();
    assert!(
        jobs[..6]
            .iter()
            .all(|j| owners.get(j).map(String::as_str) == Some("a")),
        "{owners:?}"
    );
}

/// A due minute or a sweep asks about every job at once: `claim_many`
/// answers each as `claim` would — another's, not this member's to take,
/// or claimed now (and this member's from then on, under the same token).
#[tokio::test]
async fn claim_many_answers_each_job_as_claim_does() {
    if !etcd_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let etcd = LocalEtcd::start(1, dir.path());
    let a = Member::join(&etcd.config("a", "site-a", 5)).await.unwrap();
    let b = Member::join(&etcd.config("b", "site-b", 5)).await.unwrap();
    let jobs: Vec<String> = (0..40).map(|i| format!("option1/protect#{i:02}")).collect();
    // a claims what placement gives it among the first ten.
    let a_owns = claim_round(&[&a], &jobs[..10]).await;
    assert!(!a_owns.is_empty());
    let asks: Vec<(&str, Option<&str>)> = jobs.iter().map(|j| (j.as_str(), None)).collect();
    let first = b.claim_many(&asks).await.unwrap();
    let mut tokens = BTreeMap::new();
    for (job, claim) in jobs.iter().zip(first) {
        match claim.unwrap() {
            Claim::Theirs { member } => {
                assert!(a_owns.contains_key(job), "{job} is nobody's");
                assert_eq!(member, "a");
            }
            Claim::NotMine { preferred } => {
                assert!(!a_owns.contains_key(job));
                assert_eq!(preferred, "a");
                // Placement names a: a takes it (claim of one agrees).
                assert!(a.claim(job, None).await.unwrap().token().is_some());
            }
            Claim::Claimed { token } => {
                assert!(!a_owns.contains_key(job));
                tokens.insert(job.clone(), token);
            }
            Claim::Mine { .. } => panic!("{job}: b owned nothing before"),
        }
    }
    assert!(tokens.len() >= 10, "b claimed {} of 40", tokens.len());
    // Asked again, one by one and all at once: b's own, under the token
    // it claimed them with; the rest a's.
    let again = b.claim_many(&asks).await.unwrap();
    for (job, claim) in jobs.iter().zip(again) {
        let claim = claim.unwrap();
        assert_eq!(claim, b.claim(job, None).await.unwrap(), "{job}");
        match tokens.get(job) {
            Some(&token) => assert_eq!(claim, Claim::Mine { token }, "{job}"),
            None => assert_eq!(claim, Claim::Theirs { member: "a".into() }, "{job}"),
        }
    }
    let owners = b.owners().await.unwrap();
    assert_eq!(owners.len(), 40, "every job owned once: {owners:?}");
}

/// An etcd member that does not answer is tried once, not before every
/// request: the client stays with the member that answered last.
#[tokio::test]
async fn a_member_that_does_not_answer_costs_one_try_not_one_per_request() {
    if !etcd_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let etcd = LocalEtcd::start(1, dir.path());
    // A member that accepts a connection and closes it at once.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    let tries = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = tries.clone();
    std::thread::spawn(move || {
        for s in dead.incoming() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(s);
        }
    });
    let client = Etcd::new(&[dead_url, etcd.clients[0].clone()]);
    for _ in 0..5 {
        assert_eq!(client.get("/lifeboat/nothing").await.unwrap(), None);
    }
    assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), 1);
}
