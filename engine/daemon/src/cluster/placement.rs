//! Which live member a job belongs to: rendezvous (highest random weight)
//! hashing — every member computes the same answer from the same list, a
//! member that leaves moves only its own jobs, one that joins takes only
//! its share. A job with a target site (a recover, failover or migrate)
//! goes to a member at that site while one is live: the run then survives
//! the loss of the site it recovers from.
//!
//! A member that joins finds the jobs owned; an owner hands it its share
//! ([`hand_to`]) once it has stayed live for a while, so the jobs spread
//! over the members whichever started first, and a recovery claimed while
//! no member at its target site was live moves there when one is.

use super::MemberInfo;
use sha2::{Digest, Sha256};

/// The weight of `member` for `job`.
fn weight(job: &str, member: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(job.as_bytes());
    h.update([0]);
    h.update(member.as_bytes());
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

/// The member `job` goes to among `live` (members at `prefer_site` first,
/// when any is live); none when no member is live.
pub fn preferred<'a>(
    job: &str,
    live: &'a [MemberInfo],
    prefer_site: Option<&str>,
) -> Option<&'a MemberInfo> {
    let at_site: Vec<&MemberInfo> = match prefer_site {
        Some(site) => live.iter().filter(|m| m.site == site).collect(),
        None => vec![],
    };
    let pool: Vec<&MemberInfo> = if at_site.is_empty() {
        live.iter().collect()
    } else {
        at_site
    };
    pool.into_iter()
        .max_by_key(|m| (weight(job, &m.name), m.name.clone()))
}

/// Whom this member (`me`, owning `job`) is to hand it to: the member
/// placement names among those live since `settled` or before, and `me`
/// — none when that is `me`. A member that just joined (or joined again)
/// is handed nothing until it has stayed live since `settled`: a member
/// that comes and goes moves no job.
pub fn hand_to<'a>(
    job: &str,
    live: &'a [MemberInfo],
    prefer_site: Option<&str>,
    me: &str,
    settled: chrono::DateTime<chrono::Utc>,
) -> Option<&'a MemberInfo> {
    let pool: Vec<MemberInfo> = live
        .iter()
        .filter(|m| {
            m.name == me
                || chrono::DateTime::parse_from_rfc3339(&m.since)
                    .is_ok_and(|since| since <= settled)
        })
        .cloned()
        .collect();
    let to = preferred(job, &pool, prefer_site)?.name.clone();
    live.iter().find(|m| m.name == to && m.name != me)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, site: &str) -> MemberInfo {
        MemberInfo {
            name: name.into(),
            site: site.into(),
            since: String::new(),
        }
    }

    fn since(name: &str, site: &str, at: &str) -> MemberInfo {
        MemberInfo {
            since: at.into(),
            ..m(name, site)
        }
    }

    fn t(at: &str) -> chrono::DateTime<chrono::Utc> {
        at.parse().unwrap()
    }

    #[test]
    fn an_owner_hands_a_settled_member_its_share_and_a_new_one_nothing() {
        let jobs: Vec<String> = (0..300).map(|i| format!("option1/protect#{i}")).collect();
        let a = since("a1", "site-a", "2026-12-07T10:00:00Z");
        let b = since("b1", "site-b", "2026-12-07T10:05:00Z");
        let live = [a.clone(), b.clone()];
        // b joined at 10:05; at 10:05:05 with a 10 s settle it is too new.
        let early = t("2026-12-07T10:04:55Z");
        assert!(jobs
            .iter()
            .all(|j| hand_to(j, &live, None, "a1", early).is_none()));
        // Settled: a hands b exactly the jobs placement gives b.
        let later = t("2026-12-07T10:05:00Z");
        let mut handed = 0;
        for j in &jobs {
            let to = hand_to(j, &live, None, "a1", later).map(|m| m.name.as_str());
            let placed = preferred(j, &live, None).unwrap().name.as_str();
            assert_eq!(to, (placed == "b1").then_some("b1"), "{j}");
            handed += usize::from(to.is_some());
            // b keeps what placement gives it.
            if placed == "b1" {
                assert!(hand_to(j, &live, None, "b1", later).is_none(), "{j}");
            }
        }
        assert!((90..=210).contains(&handed), "{handed} of 300 handed to b");
        // An owner that joined again just now still keeps its own share.
        let a_again = since("a1", "site-a", "2026-12-07T10:06:00Z");
        let live = [a_again, b];
        for j in &jobs {
            let placed = preferred(j, &live, None).unwrap().name.as_str();
            if placed == "a1" {
                assert!(hand_to(j, &live, None, "a1", later).is_none(), "{j}");
            }
        }
    }

    #[test]
    fn a_recovery_moves_to_its_target_site_once_a_member_there_settled() {
        let a = since("a1", "site-a", "2026-12-07T10:00:00Z");
        let b = since("b1", "site-b", "2026-12-07T10:05:00Z");
        let live = [a, b];
        for i in 0..50 {
            let job = format!("option1/recover#{i}");
            assert_eq!(
                hand_to(&job, &live, Some("site-b"), "a1", t("2026-12-07T10:05:10Z"))
                    .unwrap()
                    .name,
                "b1"
            );
            assert!(
                hand_to(&job, &live, Some("site-b"), "a1", t("2026-12-07T10:04:00Z")).is_none()
            );
            assert!(
                hand_to(&job, &live, Some("site-b"), "b1", t("2026-12-07T10:05:10Z")).is_none()
            );
        }
    }

    #[test]
    fn jobs_spread_over_members_and_a_leaving_member_moves_only_its_own() {
        let three = [m("a1", "site-a"), m("b1", "site-b"), m("b2", "site-b")];
        let jobs: Vec<String> = (0..300).map(|i| format!("option1/protect#{i}")).collect();
        let before: Vec<String> = jobs
            .iter()
            .map(|j| preferred(j, &three, None).unwrap().name.clone())
            .collect();
        for n in ["a1", "b1", "b2"] {
            let share = before.iter().filter(|o| *o == n).count();
            assert!((60..=140).contains(&share), "{n}: {share} of 300");
        }
        let two = [three[0].clone(), three[2].clone()];
        for (j, was) in jobs.iter().zip(&before) {
            let now = &preferred(j, &two, None).unwrap().name;
            if was != "b1" {
                assert_eq!(now, was, "{j} moved though its member stayed");
            }
        }
    }

    #[test]
    fn a_recovery_prefers_a_member_at_its_target_site_while_one_is_live() {
        let live = [m("a1", "site-a"), m("b1", "site-b")];
        for i in 0..50 {
            let job = format!("option1/recover#{i}");
            assert_eq!(preferred(&job, &live, Some("site-b")).unwrap().name, "b1");
        }
        let only_a = [m("a1", "site-a")];
        assert_eq!(
            preferred("option1/recover#1", &only_a, Some("site-b"))
                .unwrap()
                .name,
            "a1"
        );
        assert!(preferred("x", &[], None).is_none());
    }
}
