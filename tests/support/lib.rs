//! Shared helpers for the end-to-end tests.

/// The site mapping the re-IP tests recover by (docs/mapping.md): site-a's
/// networks onto site-b's own `<name>-dr` networks (the emulator tests make
/// them, the real harness's seed.py too), each address to the same offset
/// (10.N.0.0/16 → 172.(15+N).0.0/16); the gateways are checked.
pub const REIP: &str = "\
version: 1
source: site-a
target: site-b
networks:
  - {from: mgmt, to: mgmt-dr}
  - {from: signalling, to: signalling-dr}
  - {from: media, to: media-dr}
reip:
  - {from: 10.1.0.0/16, to: 172.16.0.0/16, gateway: 172.16.0.1}
  - {from: 10.2.0.0/16, to: 172.17.0.0/16, gateway: 172.17.0.1}
  - {from: 10.3.0.0/16, to: 172.18.0.0/16, gateway: 172.18.0.1}
";

/// Lines of a network identity listing (`net=NAME … ips=["A", …] …`) as
/// they read after [`REIP`], sorted: every address of a re-IP'd network
/// (one that starts after a character that is not part of a number).
pub fn re_ipd(lines: &[String]) -> Vec<String> {
    fn moved(l: &str, from: &str, to: &str) -> String {
        let mut out = String::with_capacity(l.len());
        let mut rest = l;
        while let Some(i) = rest.find(from) {
            let starts = !out
                .chars()
                .chain(rest[..i].chars())
                .last()
                .is_some_and(|c| c.is_ascii_digit() || c == '.');
            out.push_str(&rest[..i]);
            out.push_str(if starts { to } else { from });
            rest = &rest[i + from.len()..];
        }
        out.push_str(rest);
        out
    }
    let mut out: Vec<String> = lines
        .iter()
        .map(|l| {
            let l = l
                .replace("net=mgmt ", "net=mgmt-dr ")
                .replace("net=signalling ", "net=signalling-dr ")
                .replace("net=media ", "net=media-dr ");
            let l = moved(&l, "10.1.", "172.16.");
            let l = moved(&l, "10.2.", "172.17.");
            moved(&l, "10.3.", "172.18.")
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn re_ipd_moves_whole_addresses_only() {
        let got = super::re_ipd(&[
            "nic a#0 net=mgmt ips=[\"10.1.0.5\"] pairs=[\"10.3.0.4@x\"]".into(),
            "fip 203.0.113.10 on vip 10.3.0.4".into(),
            "sg a [\"ingress IPv4 tcp 22-22 10.0.0.0/8 \", \"x 110.1.2.3\"]".into(),
        ]);
        assert_eq!(
            got,
            vec![
                "fip 203.0.113.10 on vip 172.18.0.4",
                "nic a#0 net=mgmt-dr ips=[\"172.16.0.5\"] pairs=[\"172.18.0.4@x\"]",
                "sg a [\"ingress IPv4 tcp 22-22 10.0.0.0/8 \", \"x 110.1.2.3\"]",
            ]
        );
    }
}
