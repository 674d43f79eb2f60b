//! An emulated NOR flash in RAM: 1 MiB, 4 KiB erase sectors, programmed in
//! 4-byte units, each unit at most once per erase (a second program of the
//! same unit is an error, as real NOR cannot set bits back to 1).

use core::ptr::addr_of_mut;

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

const SIZE: usize = 1 << 20;
const SECTOR: usize = 4096;
const UNIT: usize = 4;

static mut MEM: [u8; SIZE] = [0; SIZE];
/// One bit per program unit: programmed since the sector's last erase.
static mut PROGRAMMED: [u32; SIZE / UNIT / 32] = [0; SIZE / UNIT / 32];
static mut TAKEN: bool = false;

/// Counters of flash operations.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlashStats {
    /// Bytes programmed.
    pub programmed: u64,
    /// Sector erases.
    pub erases: u64,
}

/// The flash.
pub struct EmuNor {
    mem: &'static mut [u8; SIZE],
    programmed: &'static mut [u32; SIZE / UNIT / 32],
    stats: FlashStats,
}

/// Errors, as a NOR driver reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmuNorError {
    /// Not aligned to the program unit or the erase sector.
    NotAligned,
    /// Past the end of the flash.
    OutOfBounds,
    /// A unit programmed twice without an erase.
    ProgrammedTwice,
}

impl NorFlashError for EmuNorError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            EmuNorError::NotAligned => NorFlashErrorKind::NotAligned,
            EmuNorError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            EmuNorError::ProgrammedTwice => NorFlashErrorKind::Other,
        }
    }
}

impl EmuNor {
    /// The flash, erased (a fresh chip). Once per boot of the firmware; a
    /// "reboot" keeps the value returned here.
    pub fn take() -> Self {
        // SAFETY: single-core firmware, called once from `main` (checked
        // by TAKEN) before any other access: these are the only references.
        let (mem, programmed) = unsafe {
            assert!(!TAKEN, "flash taken twice");
            TAKEN = true;
            (&mut *addr_of_mut!(MEM), &mut *addr_of_mut!(PROGRAMMED))
        };
        mem.fill(0xFF);
        programmed.fill(0);
        Self {
            mem,
            programmed,
            stats: FlashStats::default(),
        }
    }

    /// Operations so far.
    pub fn stats(&self) -> FlashStats {
        self.stats
    }
}

impl ErrorType for EmuNor {
    type Error = EmuNorError;
}

impl ReadNorFlash for EmuNor {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let at = offset as usize;
        let src = self
            .mem
            .get(at..at + bytes.len())
            .ok_or(EmuNorError::OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }

    fn capacity(&self) -> usize {
        SIZE
    }
}

impl NorFlash for EmuNor {
    const WRITE_SIZE: usize = UNIT;
    const ERASE_SIZE: usize = SECTOR;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let (from, to) = (from as usize, to as usize);
        if from % SECTOR != 0 || to % SECTOR != 0 || from > to {
            return Err(EmuNorError::NotAligned);
        }
        self.mem
            .get_mut(from..to)
            .ok_or(EmuNorError::OutOfBounds)?
            .fill(0xFF);
        for unit in from / UNIT..to / UNIT {
            if let Some(w) = self.programmed.get_mut(unit / 32) {
                *w &= !(1 << (unit % 32));
            }
        }
        self.stats.erases += ((to - from) / SECTOR) as u64;
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let at = offset as usize;
        if !at.is_multiple_of(UNIT) || !bytes.len().is_multiple_of(UNIT) {
            return Err(EmuNorError::NotAligned);
        }
        if at + bytes.len() > SIZE {
            return Err(EmuNorError::OutOfBounds);
        }
        for unit in at / UNIT..(at + bytes.len()) / UNIT {
            let w = self
                .programmed
                .get_mut(unit / 32)
                .ok_or(EmuNorError::OutOfBounds)?;
            if *w & (1 << (unit % 32)) != 0 {
                return Err(EmuNorError::ProgrammedTwice);
            }
            *w |= 1 << (unit % 32);
        }
        if let Some(dst) = self.mem.get_mut(at..at + bytes.len()) {
            // NOR programming only clears bits.
            for (d, s) in dst.iter_mut().zip(bytes) {
                *d &= *s;
            }
        }
        self.stats.programmed += bytes.len() as u64;
        Ok(())
    }
}
