//! Helpers for PulsarDB's end-to-end scenarios (run the real binary).
