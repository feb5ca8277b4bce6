//! Placeholder for the app module (being written).
