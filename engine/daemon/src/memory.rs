//! How a Lifeboat process takes memory from the kernel.
//!
//! Transparent huge pages are off for the process (`PR_SET_THP_DISABLE`,
//! inherited by the processes it starts). The allocator asks for huge pages
//! on its regions, and the kernel then backs each first touch with 2 MiB
//! zeroed at once; a process that runs a hundred protects at once keeps
//! freeing buffers (answers, manifests, journal records) that the allocator
//! hands back to the kernel and takes again moments later, and every take
//! zeroed 2 MiB for what may be a few KiB used (in a profile of the scale
//! bench every page the kernel zeroed for Lifeboat was a huge one). In that
//! bench (100 VNFs × 100 VMs, four runs each, taking turns) the peak RSS
//! went from 474–485 to 415–427 MiB, steps per second unchanged. Databases
//! that allocate this way give the same advice (Redis, MongoDB: THP off).

/// Turns transparent huge pages off for this process and its children.
/// Harmless where the kernel has none (the call fails and is ignored).
pub fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and
    // touches no memory of the caller.
    unsafe {
        // Every argument as the kernel reads it (unsigned long): a
        // variadic call would leave the upper halves undefined.
        let (one, zero): (libc::c_ulong, libc::c_ulong) = (1, 0);
        libc::prctl(libc::PR_SET_THP_DISABLE, one, zero, zero, zero);
    }
}

#[cfg(test)]
mod tests {
    /// The kernel reports the switch in `/proc/self/status` (Linux 6.x:
    /// `THP_enabled`); where it does not, there is nothing to see.
    #[test]
    fn the_process_has_no_huge_pages_afterwards() {
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
        super::no_huge_pages();
        assert_eq!(field().as_deref(), Some("0"), "was {before}");
    }
}
