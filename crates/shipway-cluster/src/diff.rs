//! Placeholder for the diff module (being written).
