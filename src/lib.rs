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
