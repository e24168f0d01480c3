//! Rebuilds the binary when a migration is added: `embed_migrations!` reads
//! the `migrations/` folders at compile time, and cargo does not see a new
//! folder there as a change to any source file.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
