//! The use cases, one function each, called by the JSON API, the command line
//! and the demo alike. They own transactions, the authorisation policy, the
//! audit log, the change counter, the minutes group commit and the imports.

pub mod assignments;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod closing;
pub mod coverage;
pub mod documents;
pub mod establishments;
pub mod evidence;
pub mod indicators;
pub mod inspection_copies;
pub mod inspections;
pub mod minutes_writer;
pub mod org_units;
pub mod plans;
pub mod policy;
pub mod ratelimit;
pub mod reports;
pub mod sessions;
pub mod teams;
pub mod users;
pub mod violation_types;
