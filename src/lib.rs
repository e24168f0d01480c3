//! kiemtra: the yearly inspection programme of Vietnam's inter-agency "178"
//! inspection teams — registry, verifiable draw, field minutes, coverage.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod startup;
pub mod state;
pub mod web;

/// Keeps the server's memory bounded under glibc's allocator: large blocks
/// (argon2's working memory, large responses) are always mapped and unmapped
/// on their own, because glibc otherwise raises that threshold after the
/// first large free and keeps them in per-thread arenas (see
/// `docs/scaling.md`, "Memory"). Called once, first thing, by the binary.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// The file-descriptor limit (`RLIMIT_NOFILE`) before and after
/// [`raise_fd_limit`]: `(soft before, soft now, hard)`.
pub static FD_LIMIT: std::sync::OnceLock<(u64, u64, u64)> = std::sync::OnceLock::new();

/// Raises the soft limit on open files to the hard one: every connection
/// holds a descriptor, and the usual soft limit of 1,024 is reached by a
/// thousand clients (slow ones included) long before the connection cap.
/// Called once, first thing, by the binary; the result is kept in
/// [`FD_LIMIT`] and logged when the server starts.
pub fn raise_fd_limit() -> Option<(u64, u64, u64)> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct given.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return None;
            }
            let before = lim.rlim_cur;
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim.rlim_cur = lim.rlim_max;
                }
            }
            let got = (before, lim.rlim_cur, lim.rlim_max);
            let _ = FD_LIMIT.set(got);
            Some(got)
        }
    }
    #[cfg(not(unix))]
    None
}

/// The soft limit on open files now (`None` when it cannot be read).
pub fn fd_soft_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct given.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
            return Some(lim.rlim_cur);
        }
    }
    None
}
