//! Domain types and pure logic, with no I/O. Input is parsed into these types
//! at the edge (parse, don't validate); the draw lives in [`draw`].

pub mod calendar;
pub mod draw;
pub mod establishment;
pub mod imports;
pub mod indicators;
pub mod json;
pub mod labels;
pub mod minutes;
pub mod org_unit;
pub mod page;
pub mod pdf;
pub mod proxies;
pub mod seed;
pub mod status;
pub mod synth;
pub mod text;
pub mod values;

/// Business types of the API contract, in their wire spelling.
pub const BUSINESS_TYPES: [&str; 14] = [
    "karaoke",
    "dance_hall",
    "bar",
    "massage",
    "sauna",
    "spa",
    "hotel",
    "guest_house",
    "motel",
    "rental_apartment",
    "restaurant",
    "hair_salon",
    "cafe",
    "other",
];

/// Levels of the administrative tree (and of teams).
pub const LEVELS: [&str; 3] = ["province", "district", "commune"];

/// Rank of a level: province 0, district 1, commune 2.
pub fn level_rank(level: &str) -> Option<usize> {
    LEVELS.iter().position(|l| *l == level)
}
