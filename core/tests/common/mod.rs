//! Shared pieces of the core's crash, corruption and model tests.

#![allow(dead_code)]

use pulsardb_core::Geometry;
use pulsardb_core::storage::{CutPolicy, CutTrigger, EraseFill, SimConfig, SimDevice};

/// splitmix64: a tiny seeded PRNG, so failures replay from their seed.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

pub fn sim(geo: Geometry, fill: EraseFill) -> SimDevice {
    let mut c = SimConfig::new(geo);
    c.erase_fill = fill;
    SimDevice::new(c)
}

pub fn fill_for(k: u64) -> EraseFill {
    match k % 3 {
        0 => EraseFill::Ones,
        1 => EraseFill::Zeros,
        _ => EraseFill::Stale,
    }
}

pub fn policy_for(k: u64) -> CutPolicy {
    match k % 5 {
        0 => CutPolicy::KeepAll,
        1 => CutPolicy::DropAll,
        _ => CutPolicy::Random,
    }
}

/// Every cut point of a run that programmed `bytes`, erased `erases` times and
/// synced `syncs` times.
pub fn all_cuts(bytes: u64, erases: u64, syncs: u64) -> Vec<CutTrigger> {
    let mut v: Vec<CutTrigger> = (1..=bytes).map(CutTrigger::ProgrammedByte).collect();
    v.extend((1..=erases).map(CutTrigger::Erase));
    v.extend((1..=syncs).map(CutTrigger::Sync));
    v
}
