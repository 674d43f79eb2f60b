//! `NorFlashDevice` over an emulated NOR flash that behaves like the real
//! thing: 4 KiB erase sectors, a program unit, reads aligned to `READ_SIZE`,
//! and programming refused unless every target byte is erased (write-once).

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use pulsardb_core::storage::NorFlashDevice;
use pulsardb_core::{Store, StoreConfig};

#[derive(Debug, PartialEq)]
enum EmuError {
    NotAligned,
    OutOfBounds,
    NotErased(u32),
}

impl NorFlashError for EmuError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            EmuError::NotAligned => NorFlashErrorKind::NotAligned,
            EmuError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            EmuError::NotErased(_) => NorFlashErrorKind::Other,
        }
    }
}

/// RAM-backed NOR flash with `R`-byte reads and `W`-byte programs.
struct EmuNor<const R: usize, const W: usize> {
    mem: Vec<u8>,
    erases: Vec<u32>,
}

impl<const R: usize, const W: usize> EmuNor<R, W> {
    fn new(sectors: usize) -> Self {
        Self {
            mem: vec![0xFF; sectors * 4096],
            erases: vec![0; sectors],
        }
    }
}

impl<const R: usize, const W: usize> ErrorType for EmuNor<R, W> {
    type Error = EmuError;
}

impl<const R: usize, const W: usize> ReadNorFlash for EmuNor<R, W> {
    const READ_SIZE: usize = R;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), EmuError> {
        let o = offset as usize;
        if o % R != 0 || bytes.len() % R != 0 {
            return Err(EmuError::NotAligned);
        }
        let src = self
            .mem
            .get(o..o + bytes.len())
            .ok_or(EmuError::OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.mem.len()
    }
}

impl<const R: usize, const W: usize> NorFlash for EmuNor<R, W> {
    const WRITE_SIZE: usize = W;
    const ERASE_SIZE: usize = 4096;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), EmuError> {
        if from % 4096 != 0 || to % 4096 != 0 {
            return Err(EmuError::NotAligned);
        }
        let r = self
            .mem
            .get_mut(from as usize..to as usize)
            .ok_or(EmuError::OutOfBounds)?;
        r.fill(0xFF);
        for s in from / 4096..to / 4096 {
            self.erases[s as usize] += 1;
        }
        Ok(())
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), EmuError> {
        let o = offset as usize;
        if o % W != 0 || bytes.len() % W != 0 {
            return Err(EmuError::NotAligned);
        }
        let dst = self
            .mem
            .get_mut(o..o + bytes.len())
            .ok_or(EmuError::OutOfBounds)?;
        if let Some(i) = dst.iter().position(|&b| b != 0xFF) {
            return Err(EmuError::NotErased(offset + i as u32));
        }
        dst.copy_from_slice(bytes);
        Ok(())
    }
}

fn payload(i: u32) -> Vec<u8> {
    let len = (i * 97 % 9000) as usize;
    (0..len).map(|j| (i as usize * 31 + j) as u8).collect()
}

fn exercise<const R: usize, const W: usize>() {
    let flash = EmuNor::<R, W>::new(64);
    let mut store =
        Store::format(NorFlashDevice::new(flash), StoreConfig::default()).expect("format");
    let mut written = Vec::new();
    for i in 0..300u32 {
        let lsn = store.append(&payload(i)).expect("append");
        written.push((lsn, payload(i)));
        if i % 5 == 4 {
            store.sync().expect("sync");
        }
        if i % 16 == 15 {
            // Records below the newest 10 "went to a table".
            let cp = written[written.len() - 10].0;
            store.checkpoint(cp).expect("checkpoint");
        }
    }
    store.sync().expect("sync");
    let cp = store.manifest().wal.checkpoint_lsn;
    let flash = store.into_device().into_inner();
    assert!(
        flash.erases.iter().all(|&e| e > 0),
        "next-fit spreads erases over every sector: {:?}",
        flash.erases
    );
    let mut got = Vec::new();
    let (store, report) = Store::open(
        NorFlashDevice::new(flash),
        StoreConfig::default(),
        |lsn, p| {
            got.push((lsn, p.to_vec()));
            Ok(())
        },
    )
    .expect("reopen");
    let want: Vec<_> = written.into_iter().filter(|(l, _)| *l > cp).collect();
    assert_eq!(got, want);
    assert_eq!(report.discarded_fragments, 0);
    println!(
        "NOR R={R} W={W}: {} records replayed after reopen, checkpoint {cp}, erases per sector {:?}",
        got.len(),
        store.into_device().into_inner().erases
    );
}

#[test]
fn store_on_emulated_nor_flash() {
    exercise::<1, 4>();
    exercise::<4, 8>();
    exercise::<8, 32>();
}
