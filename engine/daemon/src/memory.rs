//! How a Lifeboat process takes memory from the kernel.
//!
//! A process that carries out runs (or serves a cloud) for its whole life
//! runs without transparent huge pages (`PR_SET_THP_DISABLE`). The
//! allocator asks for huge pages on its regions, and the kernel then backs
//! each first touch with 2 MiB zeroed at once; a process running a hundred
//! protects keeps freeing buffers (answers, manifests, journal records) that
//! the allocator hands back to the kernel and takes again moments later,
//! and every take zeroed 2 MiB for what may be a few KiB used (in a profile
//! of the scale bench every page the kernel zeroed for Lifeboat was a huge
//! one). In that bench (100 VNFs × 100 VMs, four runs each, taking turns)
//! the peak RSS went from 474–485 to 415–427 MiB, steps per second
//! unchanged. Databases that allocate this way give the same advice
//! (Redis, MongoDB: THP off).
//!
//! A process that compiles, prints and exits grows one way, which huge
//! pages serve well: without them the fresh-process compile of the
//! 10,002-step runbook took 100.7 ms instead of 75.8 (some 30,000 small
//! page faults for its ~117 MiB instead of ~60 huge ones). So each process
//! says which it is; the setting is inherited by the processes it starts,
//! and set again by each.

/// Allows or forbids transparent huge pages for this process (and, until
/// they set it themselves, the processes it starts). Harmless where the
/// kernel has none (the call fails and is ignored).
pub fn transparent_huge_pages(allowed: bool) {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and
    // touches no memory of the caller.
    unsafe {
        // Every argument as the kernel reads it (unsigned long): a
        // variadic call would leave the upper halves undefined.
        let disable: libc::c_ulong = if allowed { 0 } else { 1 };
        let zero: libc::c_ulong = 0;
        libc::prctl(libc::PR_SET_THP_DISABLE, disable, zero, zero, zero);
    }
}

#[cfg(test)]
mod tests {
    /// The kernel reports the switch in `/proc/self/status` (Linux 6.x:
    /// `THP_enabled`); where it does not, there is nothing to see.
    #[test]
    fn a_process_forbids_and_allows_huge_pages() {
        let field = || {
            std::fs::read_to_string("/proc/self/status")
                .ok()?
                .lines()
                .find_map(|l| l.strip_prefix("THP_enabled:").map(|v| v.trim().to_string()))
        };
        let Some(before) = field() else {
            eprintln!("skipped: this kernel does not report THP_enabled");
            return;
        };
        super::transparent_huge_pages(false);
        assert_eq!(field().as_deref(), Some("0"), "was {before}");
        super::transparent_huge_pages(true);
        assert_eq!(field().as_deref(), Some(before.as_str()));
    }
}
