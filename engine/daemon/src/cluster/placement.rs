//! Which live member a job belongs to: rendezvous (highest random weight)
//! hashing — every member computes the same answer from the same list, a
//! member that leaves moves only its own jobs, one that joins takes only
//! its share of the unowned ones. A job with a target site (a recover,
//! failover or migrate) goes to a member at that site while one is live:
//! the run then survives the loss of the site it recovers from.

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
