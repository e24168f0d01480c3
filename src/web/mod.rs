//! Pages for people: the supervisors' console and the inspectors' offline
//! field app (its assets, manifest and service worker).

pub mod field_app;
pub mod api_docs;
