//! Table reading of arbitrary bytes: opening a table and reading its whole
//! index and every chunk must end in a value or `Error::Corrupted`, never a
//! panic or a runaway allocation.
//!
//! The first input byte picks the table: odd, the rest of the input is the
//! table's bytes; even, a valid table of four series (float, integer,
//! unsigned, boolean; a few chunks each) with the rest of the input applied
//! as (offset u16, xor u8) mutations. With bit 1 of that byte set, every
//! checksum (chunks, index pages, top index, footer) is then recomputed, so
//! the damage reaches the decoders behind the CRCs instead of stopping at
//! them. An unmutated table must read back exactly.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pulsardb_core::layout::stream::Preallocated;
use pulsardb_core::manifest::{Extent, TableEntry};
use pulsardb_core::sstable::reader::ChunkScratch;
use pulsardb_core::sstable::{TableReader, TableWriter, format};
use pulsardb_core::storage::RamDevice;
use pulsardb_core::{FieldType, Geometry};

const BLOCK: u32 = 512;
const BLOCKS: u32 = 64;

fn geo() -> Geometry {
    Geometry {
        block_size: BLOCK,
        block_count: BLOCKS,
        write_size: 1,
    }
}

/// Series of the valid table: (id, type, timestamps, value bits).
type Series = (u64, FieldType, Vec<i64>, Vec<u64>);

fn series() -> Vec<Series> {
    let ts = |n: i64, step: i64| {
        (0..n)
            .map(|i| 1_700_000_000_000_000_000 + i * step)
            .collect()
    };
    vec![
        (
            1,
            FieldType::Float,
            ts(300, 10_000_000_000),
            (0..300)
                .map(|i| (f64::from(i % 50) / 4.0).to_bits())
                .collect(),
        ),
        (
            2,
            FieldType::Integer,
            ts(40, 1_000_000_007),
            (0..40).map(|i| (i * i - 400) as u64).collect(),
        ),
        (
            5,
            FieldType::Unsigned,
            ts(130, 60_000_000_000),
            (0..130).map(|i| i * 1000 + 7).collect(),
        ),
        (
            9,
            FieldType::Boolean,
            ts(20, 5_000_000_000),
            (0..20).map(|i| u64::from(i % 3 == 0)).collect(),
        ),
    ]
}

/// The valid table's bytes and its checksummed parts (offset, length with
/// the CRC).
fn valid() -> &'static (Vec<u8>, Vec<(u64, u32)>) {
    static BYTES: OnceLock<(Vec<u8>, Vec<(u64, u32)>)> = OnceLock::new();
    BYTES.get_or_init(|| {
        let mut dev = RamDevice::new(geo());
        let mut src = Preallocated {
            blocks: (0..BLOCKS).collect(),
        };
        let mut w = TableWriter::new(1, BLOCK).with_chunk_points(64);
        for (id, ty, ts, bits) in series() {
            w.add_series(&mut dev, &mut src, id, ty, &ts, &bits)
                .expect("write");
        }
        let sum = w.finish(&mut dev, &mut src).expect("finish");
        assert_eq!(sum.extents.first().map(|e| e.start), Some(0));
        let entry = entry(sum.len);
        let t = TableReader::open(&mut dev, &entry, BLOCK).expect("open");
        let mut parts = t.index_parts();
        let mut buf = Vec::new();
        for p in 0..t.index_pages() {
            for sc in t.index_page(&mut dev, p, &mut buf).expect("index") {
                parts.extend(sc.chunks.iter().map(|m| (m.offset, m.len)));
            }
        }
        (dev.image()[..sum.len as usize].to_vec(), parts)
    })
}

fn entry(len: u64) -> TableEntry {
    TableEntry {
        id: 1,
        level: 0,
        window_start: 0,
        min_ts: i64::MIN,
        max_ts: i64::MAX,
        max_lsn: 0,
        points: 0,
        len,
        extents: vec![Extent {
            start: 0,
            count: len.div_ceil(u64::from(BLOCK)).max(1) as u32,
        }],
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let mut bytes = if mode & 1 == 1 {
        rest.to_vec()
    } else {
        let (valid, parts) = valid();
        let mut b = valid.clone();
        for m in rest.chunks_exact(3) {
            let at = usize::from(u16::from_le_bytes([m[0], m[1]])) % b.len();
            b[at] ^= m[2];
        }
        if mode & 2 != 0 {
            for &(off, len) in parts {
                let (off, len) = (off as usize, len as usize);
                if let Some(part) = b.get_mut(off..off + len) {
                    let (body, crc) = part.split_at_mut(len - 4);
                    crc.copy_from_slice(&format::crc(1, body).to_le_bytes());
                }
            }
        }
        b
    };
    bytes.truncate((BLOCK * BLOCKS) as usize);
    let pristine = mode & 1 == 0 && rest.len() < 3;
    let len = bytes.len() as u64;
    let mut image = bytes;
    image.resize((BLOCK * BLOCKS) as usize, 0xff);
    let mut dev = RamDevice::from_image(geo(), image).expect("image size");
    let got = read_all(&mut dev, &entry(len));
    if pristine {
        let want: Vec<Series> = series();
        assert_eq!(got.expect("the valid table reads"), want);
    }
});

fn read_all(dev: &mut RamDevice, entry: &TableEntry) -> Result<Vec<Series>, ()> {
    let t = TableReader::open(dev, entry, BLOCK).map_err(|_| ())?;
    let mut out: Vec<Series> = Vec::new();
    let mut buf = Vec::new();
    let mut scratch = ChunkScratch::default();
    for p in 0..t.index_pages() {
        for sc in t.index_page(dev, p, &mut buf).map_err(|_| ())? {
            let (mut ts, mut bits) = (Vec::new(), Vec::new());
            for m in &sc.chunks {
                t.read_chunk(dev, sc.ty, m, &mut ts, &mut bits, &mut scratch)
                    .map_err(|_| ())?;
            }
            match out.last_mut() {
                Some((id, _, lt, lb)) if *id == sc.id => {
                    lt.extend(ts);
                    lb.extend(bits);
                }
                _ => out.push((sc.id, sc.ty, ts, bits)),
            }
        }
    }
    Ok(out)
}
