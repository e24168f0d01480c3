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

/// Keeps the server's memory bounded under glibc's allocator: blocks of
/// 1 MiB or more (argon2's 19 MiB per password check, large responses) are
/// always mapped and unmapped on their own instead of staying in a per-thread
/// arena once freed. (glibc otherwise raises that threshold after the first
/// large free, and a burst of logins on many blocking threads left 2.9 GiB
/// resident.) The number of arenas is left alone: limiting it to 4 cost 10 %
/// of the minutes throughput and saved no memory. Called once, first thing,
/// by the binary.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
