//! Pages for people: the supervisors' console and the inspectors' offline
//! field app (its assets, manifest and service worker).

pub mod api_docs;
pub mod field_app;
