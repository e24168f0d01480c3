//! kiemtra: the yearly inspection programme of Vietnam's inter-agency "178"
//! inspection teams — registry, verifiable draw, field minutes, coverage.

pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod http;
pub mod ratelimit;
pub mod routes;
pub mod startup;
