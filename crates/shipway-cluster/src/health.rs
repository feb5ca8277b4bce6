//! Placeholder for the health module (being written).
