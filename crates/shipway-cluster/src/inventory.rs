//! Placeholder for the inventory module (being written).
