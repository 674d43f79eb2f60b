//! `SimDevice`: a block device that misbehaves on purpose.
//!
//! It keeps two images, the way crash-consistency tests in redb and
//! sequential-storage do: the *live* image (what reads see now) and the
//! *durable* image (what survives a power cut: everything up to the last
//! `sync`). Operations issued since the last sync are pending. When power is
//! cut, each pending operation is kept, dropped, or torn (a prefix applied and
//! the rest garbage) according to a seeded [`CutPolicy`]; the device then
//! refuses every call until [`SimDevice::power_cycle`] brings it back on the
//! durable image.
//!
//! It also enforces the [`BlockDevice`] contract (alignment, program-once per
//! erase), fails the k-th operation on request, flips bits, and counts bytes
//! and per-block erases so tests and benchmarks can read wear and write
//! amplification off it.

use alloc::vec;
use alloc::vec::Vec;

use super::{AccessError, BlockDevice, BlockId, Geometry, check_access};

/// What an erased byte reads as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EraseFill {
    /// `0xFF`, like NOR flash.
    Ones,
    /// `0x00`, like a hole punched in a file.
    Zeros,
    /// The old bytes stay: a file device whose erase only releases space.
    Stale,
}

/// When power is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutTrigger {
    /// While programming: the k-th programmed byte (counting from 1 over the
    /// device's life) is the last one to reach the live image.
    ProgrammedByte(u64),
    /// During the k-th erase (from 1).
    Erase(u64),
    /// During the k-th sync (from 1), before it makes anything durable.
    Sync(u64),
}

/// What happens to the operations issued since the last sync when power is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutPolicy {
    /// Every pending operation reached the media.
    KeepAll,
    /// None did.
    DropAll,
    /// Each one independently (seeded): kept, dropped, or torn — a random
    /// prefix applied and a random stretch after it filled with garbage.
    Random,
}

/// How a [`SimDevice`] behaves.
#[derive(Clone, Copy, Debug)]
pub struct SimConfig {
    /// The device's shape.
    pub geometry: Geometry,
    /// What erased bytes read as.
    pub erase_fill: EraseFill,
    /// When to cut power, if ever.
    pub cut: Option<CutTrigger>,
    /// What a cut does to pending operations.
    pub policy: CutPolicy,
    /// Seed for the policy's choices and garbage bytes.
    pub seed: u64,
    /// Fail the k-th operation (from 1, counting reads, programs, erases and
    /// syncs) with [`SimError::Injected`]; it has no effect.
    pub fail_op: Option<u64>,
}

impl SimConfig {
    /// A well-behaved NOR-like device of this shape.
    pub fn new(geometry: Geometry) -> Self {
        Self {
            geometry,
            erase_fill: EraseFill::Ones,
            cut: None,
            policy: CutPolicy::Random,
            seed: 0,
            fail_op: None,
        }
    }
}

/// Errors of a [`SimDevice`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimError {
    /// Out of range or misaligned.
    Access(AccessError),
    /// A byte was programmed twice without an erase in between.
    ProgramTwice {
        /// Block of the first offending byte.
        block: BlockId,
        /// Offset of the first offending byte.
        offset: u32,
    },
    /// Power is off (a cut happened); call `power_cycle`.
    PowerLost,
    /// The injected failure of [`SimConfig::fail_op`].
    Injected,
}

/// Operation counters of a [`SimDevice`].
#[derive(Clone, Debug, Default)]
pub struct SimStats {
    /// Calls to `read`.
    pub reads: u64,
    /// Bytes returned by `read`.
    pub bytes_read: u64,
    /// Calls to `program`.
    pub programs: u64,
    /// Bytes programmed.
    pub bytes_programmed: u64,
    /// Calls to `erase`.
    pub erases: u64,
    /// Calls to `sync`.
    pub syncs: u64,
    /// Calls to `discard`.
    pub discards: u64,
    /// Erases per block (wear).
    pub erases_per_block: Vec<u32>,
}

impl SimStats {
    /// Bytes erased: erases × block size.
    pub fn bytes_erased(&self, geo: &Geometry) -> u64 {
        self.erases * u64::from(geo.block_size)
    }
}

#[derive(Clone, Debug)]
enum Pending {
    Program { at: usize, data: Vec<u8> },
    Erase { at: usize },
}

#[derive(Clone, Debug)]
struct Image {
    bytes: Vec<u8>,
    /// One bit per byte: programmed since its block's last erase.
    programmed: Vec<u64>,
}

impl Image {
    fn new(len: usize) -> Self {
        Self {
            bytes: vec![0xFF; len],
            programmed: vec![0; len.div_ceil(64)],
        }
    }

    fn is_programmed(&self, i: usize) -> bool {
        self.programmed
            .get(i / 64)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }

    fn set_programmed(&mut self, range: core::ops::Range<usize>, on: bool) {
        let mut i = range.start;
        while i < range.end {
            if i.is_multiple_of(64) && range.end - i >= 64 {
                if let Some(w) = self.programmed.get_mut(i / 64) {
                    *w = if on { !0 } else { 0 };
                }
                i += 64;
                continue;
            }
            if let Some(w) = self.programmed.get_mut(i / 64) {
                if on {
                    *w |= 1u64 << (i % 64);
                } else {
                    *w &= !(1u64 << (i % 64));
                }
            }
            i += 1;
        }
    }

    fn program(&mut self, at: usize, data: &[u8]) {
        if let Some(dst) = self.bytes.get_mut(at..at + data.len()) {
            dst.copy_from_slice(data);
        }
        self.set_programmed(at..at + data.len(), true);
    }

    fn erase(&mut self, at: usize, len: usize, fill: EraseFill) {
        if let Some(dst) = self.bytes.get_mut(at..at + len) {
            match fill {
                EraseFill::Ones => dst.fill(0xFF),
                EraseFill::Zeros => dst.fill(0),
                EraseFill::Stale => {}
            }
        }
        self.set_programmed(at..at + len, false);
    }
}

/// A misbehaving block device for tests. See the module docs.
#[derive(Clone, Debug)]
pub struct SimDevice {
    cfg: SimConfig,
    live: Image,
    durable: Image,
    pending: Vec<Pending>,
    powered: bool,
    rng: u64,
    ops: u64,
    stats: SimStats,
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SimDevice {
    /// A fully erased device.
    pub fn new(cfg: SimConfig) -> Self {
        let len = usize::try_from(cfg.geometry.capacity_bytes()).unwrap_or(0);
        let img = Image::new(len);
        Self {
            stats: SimStats {
                erases_per_block: vec![0; cfg.geometry.block_count as usize],
                ..SimStats::default()
            },
            rng: cfg.seed ^ 0x5EED_0FC0_FFEE,
            live: img.clone(),
            durable: img,
            pending: Vec::new(),
            powered: true,
            ops: 0,
            cfg,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// Replaces the cut trigger, policy, seed and injected failure; counters
    /// keep running, so triggers count from the device's creation.
    pub fn set_faults(
        &mut self,
        cut: Option<CutTrigger>,
        policy: CutPolicy,
        seed: u64,
        fail_op: Option<u64>,
    ) {
        self.cfg.cut = cut;
        self.cfg.policy = policy;
        self.cfg.seed = seed;
        self.cfg.fail_op = fail_op;
        self.rng = seed ^ 0x5EED_0FC0_FFEE;
    }

    /// Counters so far.
    pub fn stats(&self) -> &SimStats {
        &self.stats
    }

    /// Whether a cut has happened and the device is off.
    pub fn is_cut(&self) -> bool {
        !self.powered
    }

    /// Operations issued so far (reads, programs, erases, syncs).
    pub fn ops(&self) -> u64 {
        self.ops
    }

    /// The durable image: what a power cut right now would leave (pending
    /// operations dropped).
    pub fn durable_image(&self) -> &[u8] {
        &self.durable.bytes
    }

    /// The live image.
    pub fn live_image(&self) -> &[u8] {
        &self.live.bytes
    }

    /// Cuts power now, applying the policy to pending operations.
    pub fn cut_now(&mut self) {
        if self.powered {
            self.cut(None);
        }
    }

    /// Restores power on the durable image, with no fault armed and counters
    /// reset. Equivalent to rebooting the machine after the cut (or, if no cut
    /// happened, to a cut with every pending operation dropped).
    pub fn power_cycle(&self) -> SimDevice {
        let mut cfg = self.cfg;
        cfg.cut = None;
        cfg.fail_op = None;
        let mut d = SimDevice::new(cfg);
        d.live = self.durable.clone();
        d.durable = self.durable.clone();
        d
    }

    /// Flips one bit in both images (media decay, a stray cosmic ray).
    pub fn flip_bit(&mut self, block: BlockId, offset: u32, bit: u8) {
        let i = self.index(block, offset);
        for img in [&mut self.live, &mut self.durable] {
            if let Some(b) = img.bytes.get_mut(i) {
                *b ^= 1 << (bit & 7);
            }
        }
    }

    fn index(&self, block: BlockId, offset: u32) -> usize {
        block as usize * self.cfg.geometry.block_size as usize + offset as usize
    }

    fn next_op(&mut self) -> Result<(), SimError> {
        if !self.powered {
            return Err(SimError::PowerLost);
        }
        self.ops += 1;
        if self.cfg.fail_op == Some(self.ops) {
            return Err(SimError::Injected);
        }
        Ok(())
    }

    fn garbage(&mut self, dst: &mut [u8]) {
        for b in dst {
            *b = splitmix(&mut self.rng) as u8;
        }
    }

    /// Applies the cut policy to pending operations (and to `in_flight`, the
    /// partial operation during which power failed) and switches the device off.
    fn cut(&mut self, in_flight: Option<Pending>) {
        let mut pending = core::mem::take(&mut self.pending);
        pending.extend(in_flight);
        let bs = self.cfg.geometry.block_size as usize;
        for op in pending {
            let choice = match self.cfg.policy {
                CutPolicy::KeepAll => 0,
                CutPolicy::DropAll => 1,
                CutPolicy::Random => splitmix(&mut self.rng) % 3,
            };
            match (op, choice) {
                (Pending::Program { at, data }, 0) => self.durable.program(at, &data),
                (Pending::Program { .. }, 1) => {}
                (Pending::Program { at, data }, _) => {
                    let len = data.len();
                    let keep = (splitmix(&mut self.rng) as usize) % (len + 1);
                    let trash = (splitmix(&mut self.rng) as usize) % (len - keep + 1);
                    let mut torn = data;
                    if let Some(t) = torn.get_mut(keep..keep + trash) {
                        let mut g = vec![0u8; t.len()];
                        self.garbage(&mut g);
                        t.copy_from_slice(&g);
                    }
                    // Bytes past the torn stretch keep their old value, but all
                    // of them count as programmed: a half-programmed NOR cell
                    // must not be programmed again.
                    let old: Vec<u8> = self
                        .durable
                        .bytes
                        .get(at + keep + trash..at + len)
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default();
                    if let Some(t) = torn.get_mut(keep + trash..len) {
                        t.copy_from_slice(&old);
                    }
                    self.durable.program(at, &torn);
                }
                (Pending::Erase { at }, 0) => self.durable.erase(at, bs, self.cfg.erase_fill),
                (Pending::Erase { .. }, 1) => {}
                (Pending::Erase { at }, _) => {
                    // A torn erase leaves the block in an undefined state.
                    let mut g = vec![0u8; bs];
                    self.garbage(&mut g);
                    self.durable.erase(at, bs, self.cfg.erase_fill);
                    self.durable.program(at, &g);
                }
            }
        }
        self.powered = false;
        self.live = self.durable.clone();
    }
}

impl BlockDevice for SimDevice {
    type Error = SimError;

    fn geometry(&self) -> Geometry {
        self.cfg.geometry
    }

    fn read(&mut self, block: BlockId, offset: u32, buf: &mut [u8]) -> Result<(), SimError> {
        check_access(&self.cfg.geometry, block, offset, buf.len(), false)
            .map_err(SimError::Access)?;
        self.next_op()?;
        let i = self.index(block, offset);
        let src = self
            .live
            .bytes
            .get(i..i + buf.len())
            .ok_or(SimError::Access(AccessError::OutOfRange))?;
        buf.copy_from_slice(src);
        self.stats.reads += 1;
        self.stats.bytes_read += buf.len() as u64;
        Ok(())
    }

    fn program(&mut self, block: BlockId, offset: u32, data: &[u8]) -> Result<(), SimError> {
        check_access(&self.cfg.geometry, block, offset, data.len(), true)
            .map_err(SimError::Access)?;
        self.next_op()?;
        let at = self.index(block, offset);
        if let Some(k) = (0..data.len()).find(|&k| self.live.is_programmed(at + k)) {
            return Err(SimError::ProgramTwice {
                block,
                offset: offset + k as u32,
            });
        }
        let before = self.stats.bytes_programmed;
        if let Some(CutTrigger::ProgrammedByte(k)) = self.cfg.cut
            && k > before
            && k <= before + data.len() as u64
        {
            let n = (k - before) as usize;
            self.stats.bytes_programmed = k;
            let part = data.get(..n).map(<[u8]>::to_vec).unwrap_or_default();
            self.cut(Some(Pending::Program { at, data: part }));
            return Err(SimError::PowerLost);
        }
        self.live.program(at, data);
        self.pending.push(Pending::Program {
            at,
            data: data.to_vec(),
        });
        self.stats.programs += 1;
        self.stats.bytes_programmed += data.len() as u64;
        Ok(())
    }

    fn erase(&mut self, block: BlockId) -> Result<(), SimError> {
        check_access(&self.cfg.geometry, block, 0, 0, false).map_err(SimError::Access)?;
        self.next_op()?;
        let at = self.index(block, 0);
        self.stats.erases += 1;
        if let Some(w) = self.stats.erases_per_block.get_mut(block as usize) {
            *w += 1;
        }
        if self.cfg.cut == Some(CutTrigger::Erase(self.stats.erases)) {
            self.cut(Some(Pending::Erase { at }));
            return Err(SimError::PowerLost);
        }
        let bs = self.cfg.geometry.block_size as usize;
        self.live.erase(at, bs, self.cfg.erase_fill);
        self.pending.push(Pending::Erase { at });
        Ok(())
    }

    fn sync(&mut self) -> Result<(), SimError> {
        self.next_op()?;
        self.stats.syncs += 1;
        if self.cfg.cut == Some(CutTrigger::Sync(self.stats.syncs)) {
            self.cut(None);
            return Err(SimError::PowerLost);
        }
        let bs = self.cfg.geometry.block_size as usize;
        for op in core::mem::take(&mut self.pending) {
            match op {
                Pending::Program { at, data } => self.durable.program(at, &data),
                Pending::Erase { at } => self.durable.erase(at, bs, self.cfg.erase_fill),
            }
        }
        Ok(())
    }
    fn discard(&mut self, _block: BlockId) -> Result<(), SimError> {
        // Content stays as is: "unspecified" at its most deceptive, stale.
        // Not an operation that faults can target: the engine ignores its
        // outcome.
        if !self.powered {
            return Err(SimError::PowerLost);
        }
        self.stats.discards += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo() -> Geometry {
        Geometry {
            block_size: 512,
            block_count: 8,
            write_size: 4,
        }
    }

    #[test]
    fn enforces_program_once_and_alignment() {
        let mut d = SimDevice::new(SimConfig::new(geo()));
        d.program(1, 0, &[1, 2, 3, 4]).unwrap();
        assert_eq!(
            d.program(1, 0, &[1, 2, 3, 4]),
            Err(SimError::ProgramTwice {
                block: 1,
                offset: 0
            })
        );
        assert_eq!(
            d.program(1, 2, &[1, 2, 3, 4]),
            Err(SimError::Access(AccessError::Misaligned))
        );
        assert_eq!(
            d.program(1, 510, &[1, 2]),
            Err(SimError::Access(AccessError::Misaligned))
        );
        assert_eq!(
            d.program(1, 508, &[0; 8]),
            Err(SimError::Access(AccessError::OutOfRange))
        );
        d.erase(1).unwrap();
        d.program(1, 0, &[1, 2, 3, 4]).unwrap();
    }

    #[test]
    fn unsynced_writes_vanish_on_drop_all_cut() {
        let mut cfg = SimConfig::new(geo());
        cfg.policy = CutPolicy::DropAll;
        cfg.cut = Some(CutTrigger::Sync(2));
        let mut d = SimDevice::new(cfg);
        d.program(0, 0, &[7; 4]).unwrap();
        d.sync().unwrap();
        d.program(0, 4, &[8; 4]).unwrap();
        assert_eq!(d.sync(), Err(SimError::PowerLost));
        assert_eq!(d.read(0, 0, &mut [0; 4]), Err(SimError::PowerLost));
        let mut d = d.power_cycle();
        let mut b = [0; 8];
        d.read(0, 0, &mut b).unwrap();
        assert_eq!(b, [7, 7, 7, 7, 0xFF, 0xFF, 0xFF, 0xFF]);
        // The dropped bytes are programmable again.
        d.program(0, 4, &[9; 4]).unwrap();
    }

    #[test]
    fn cut_at_programmed_byte_keeps_a_prefix() {
        let mut cfg = SimConfig::new(geo());
        cfg.policy = CutPolicy::KeepAll;
        cfg.cut = Some(CutTrigger::ProgrammedByte(6));
        let mut d = SimDevice::new(cfg);
        d.program(0, 0, &[1; 4]).unwrap();
        assert_eq!(d.program(0, 4, &[2; 4]), Err(SimError::PowerLost));
        let mut d = d.power_cycle();
        let mut b = [0; 8];
        d.read(0, 0, &mut b).unwrap();
        assert_eq!(b, [1, 1, 1, 1, 2, 2, 0xFF, 0xFF]);
    }

    #[test]
    fn injected_failure_and_counters() {
        let mut cfg = SimConfig::new(geo());
        cfg.fail_op = Some(2);
        let mut d = SimDevice::new(cfg);
        d.erase(3).unwrap();
        assert_eq!(d.program(3, 0, &[0; 4]), Err(SimError::Injected));
        d.program(3, 0, &[0; 4]).unwrap();
        assert_eq!(d.stats().erases_per_block[3], 1);
        assert_eq!(d.stats().bytes_programmed, 4);
    }

    #[test]
    fn stale_erase_keeps_old_bytes() {
        let mut cfg = SimConfig::new(geo());
        cfg.erase_fill = EraseFill::Stale;
        let mut d = SimDevice::new(cfg);
        d.program(2, 0, &[5; 4]).unwrap();
        d.erase(2).unwrap();
        let mut b = [0; 4];
        d.read(2, 0, &mut b).unwrap();
        assert_eq!(b, [5; 4]);
        d.program(2, 0, &[6; 4]).unwrap();
    }
}
