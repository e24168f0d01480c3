//! The draw (being written).
