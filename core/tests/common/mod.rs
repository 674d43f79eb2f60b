//! Shared pieces of the core's crash, corruption and model tests.

#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use pulsardb_core::Geometry;
use pulsardb_core::storage::{
    BlockDevice, BlockId, CutPolicy, CutTrigger, EraseFill, RamDevice, SimConfig, SimDevice,
};

/// Device handles sharing one RAM device, like the server's file handles
/// (a flush, a compaction or a query reads and writes through its own).
#[derive(Clone)]
pub struct Shared(pub Rc<RefCell<RamDevice>>);

impl Shared {
    pub fn new(geo: Geometry) -> Self {
        Self(Rc::new(RefCell::new(RamDevice::new(geo))))
    }
}

impl BlockDevice for Shared {
    type Error = <RamDevice as BlockDevice>::Error;
    fn geometry(&self) -> Geometry {
        self.0.borrow().geometry()
    }
    fn read(&mut self, b: BlockId, o: u32, buf: &mut [u8]) -> Result<(), Self::Error> {
        self.0.borrow_mut().read(b, o, buf)
    }
    fn program(&mut self, b: BlockId, o: u32, d: &[u8]) -> Result<(), Self::Error> {
        self.0.borrow_mut().program(b, o, d)
    }
    fn erase(&mut self, b: BlockId) -> Result<(), Self::Error> {
        self.0.borrow_mut().erase(b)
    }
    fn sync(&mut self) -> Result<(), Self::Error> {
        self.0.borrow_mut().sync()
    }
}

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

/// Programmed bytes between two byte cuts of [`all_cuts`]: 1, or
/// `PULSARDB_CUT_STRIDE` (odd, so that over a run the cuts land on every
/// offset within a program unit). CI sets it for the emulated 32-bit run,
/// where a cut costs ten times as much; native runs cut at every byte.
pub fn cut_stride() -> u64 {
    let stride = std::env::var("PULSARDB_CUT_STRIDE")
        .ok()
        .map(|v| v.parse::<u64>().expect("PULSARDB_CUT_STRIDE: a number"))
        .unwrap_or(1);
    assert!(
        stride % 2 == 1,
        "PULSARDB_CUT_STRIDE must be odd (got {stride}): an even stride keeps missing the same offsets of a program unit"
    );
    stride
}

/// Which programmed bytes [`all_cuts`] cuts at, for the tallies.
pub fn stride_text() -> String {
    match cut_stride() {
        1 => "at each".to_string(),
        n => format!("at one in {n} (PULSARDB_CUT_STRIDE)"),
    }
}

/// The cut points of a run that programmed `bytes`, erased `erases` times
/// and synced `syncs` times: every programmed byte (every
/// [`cut_stride`]-th with a stride), every erase and every sync.
pub fn all_cuts(bytes: u64, erases: u64, syncs: u64) -> Vec<CutTrigger> {
    let stride = cut_stride();
    let mut v: Vec<CutTrigger> = (1..=bytes)
        .step_by(stride as usize)
        .map(CutTrigger::ProgrammedByte)
        .collect();
    v.extend((1..=erases).map(CutTrigger::Erase));
    v.extend((1..=syncs).map(CutTrigger::Sync));
    v
}
