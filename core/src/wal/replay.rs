//! WAL replay: walk the chain from the committed head, hand every record above
//! the checkpoint to the caller in LSN order, and find where writing resumes.
//!
//! How the end is told from damage:
//! - Inside a block, replay stops at the first fragment that fails its checks.
//! - If the block's reserved successor has a valid header that links back to
//!   it, the successor's first LSN must be exactly the LSN expected next: a
//!   writer only leaves a block early after a crash, and then continues with
//!   that LSN. Anything else is [`Error::Corrupted`] at the stop position.
//! - In the last block, the bytes after the stop are scanned for valid
//!   fragments. One that claims a durable LSN at or above the record expected
//!   at the stop was written after a completed sync that covered that record:
//!   corruption. Otherwise the stop is a torn tail — records that were never
//!   acknowledged — and is truncated; valid fragments past it (written out of
//!   order before the cut) are counted in the report and ignored.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use super::format::{BlockHeader, FRAG_HEADER_LEN, HEADER_LEN, Kind, decode_fragment};
use super::{ChainBlock, Lsn};
use crate::error::{Error, corrupted};
use crate::manifest::WalHead;
use crate::storage::BlockDevice;

/// What replay found.
#[derive(Debug)]
pub struct ReplayReport {
    /// The live chain, head first; the last entry is the tail.
    pub chain: VecDeque<ChainBlock>,
    /// The LSN the next record gets.
    pub next_lsn: Lsn,
    /// Records handed to the caller (above the checkpoint).
    pub replayed: u64,
    /// Records at or below the checkpoint that were skipped.
    pub skipped: u64,
    /// Offset in the tail block where valid fragments end. Whatever follows
    /// is unwritten or torn: erased bytes are never trusted to tell which.
    pub tail_offset: u32,
    /// Valid fragments found after the torn point of the tail, discarded.
    pub discarded_fragments: u32,
}

struct Partial {
    lsn: Lsn,
    data: Vec<u8>,
    deliver: bool,
}

fn header_of<E>(buf: &[u8]) -> Result<Option<BlockHeader>, Error<E>> {
    BlockHeader::decode(buf.get(..HEADER_LEN as usize).unwrap_or_default()).map_err(|v| {
        Error::UnsupportedVersion {
            what: "WAL block",
            found: u32::from(v),
            supported: u32::from(super::format::VERSION),
        }
    })
}

/// Replays the WAL from `head`. `deliver(lsn, payload)` is called for every
/// complete record with an LSN above `head.checkpoint_lsn`, in order.
pub fn replay<D, F>(
    dev: &mut D,
    head: &WalHead,
    max_record_len: u32,
    mut deliver: F,
) -> Result<ReplayReport, Error<D::Error>>
where
    D: BlockDevice,
    F: FnMut(Lsn, &[u8]) -> Result<(), Error<D::Error>>,
{
    let geo = dev.geometry();
    let bs = geo.block_size;
    let mut buf = vec![0u8; bs as usize];
    let mut block = head.block;
    if block >= geo.block_count {
        corrupted!("WAL head", block, 0);
    }
    dev.read(block, 0, &mut buf).map_err(Error::Device)?;
    let mut hdr = match header_of(&buf)? {
        Some(h) if h.stamp == head.stamp && h.seq == head.seq => h,
        _ => corrupted!("WAL head block header", block, 0),
    };
    let checkpoint = head.checkpoint_lsn;
    let mut report = ReplayReport {
        chain: VecDeque::new(),
        next_lsn: 0,
        replayed: 0,
        skipped: 0,
        tail_offset: 0,
        discarded_fragments: 0,
    };
    let mut expected: Lsn = hdr.first_lsn;
    let mut partial: Option<Partial> = None;
    if hdr.continues() {
        // Its beginning was in a released block, so it is below the checkpoint.
        partial = Some(Partial {
            lsn: hdr.first_lsn,
            data: Vec::new(),
            deliver: false,
        });
        expected = hdr.first_lsn + 1;
    }
    let mut visited = 0u32;
    loop {
        visited += 1;
        if visited > geo.block_count {
            corrupted!("WAL chain (cycle)", block, 0);
        }
        report.chain.push_back(ChainBlock { block, header: hdr });
        let mut pos = HEADER_LEN;
        let mut first_in_block = true;
        let mut stopped_invalid = false;
        while bs - pos >= FRAG_HEADER_LEN {
            let rest = buf.get(pos as usize..).unwrap_or_default();
            let Some((frag, payload)) = decode_fragment(rest, hdr.stamp) else {
                stopped_invalid = true;
                break;
            };
            match frag.kind {
                Kind::Pad => {}
                Kind::Full | Kind::First => {
                    if partial.is_some() || frag.lsn != expected {
                        corrupted!("WAL record sequence", block, pos);
                    }
                    let wanted = frag.lsn > checkpoint;
                    if frag.kind == Kind::Full {
                        if wanted {
                            deliver(frag.lsn, payload)?;
                            report.replayed += 1;
                        } else {
                            report.skipped += 1;
                        }
                    } else {
                        partial = Some(Partial {
                            lsn: frag.lsn,
                            data: if wanted { payload.to_vec() } else { Vec::new() },
                            deliver: wanted,
                        });
                    }
                    expected = frag.lsn + 1;
                }
                Kind::Middle | Kind::Last => {
                    let Some(p) = partial.as_mut() else {
                        corrupted!("WAL record continuation", block, pos);
                    };
                    if p.lsn != frag.lsn || !first_in_block {
                        corrupted!("WAL record continuation", block, pos);
                    }
                    if p.deliver {
                        if p.data.len() + payload.len() > max_record_len as usize {
                            corrupted!("WAL record length", block, pos);
                        }
                        p.data.extend_from_slice(payload);
                    }
                    if frag.kind == Kind::Last {
                        if p.deliver {
                            deliver(p.lsn, &p.data)?;
                            report.replayed += 1;
                        } else {
                            report.skipped += 1;
                        }
                        partial = None;
                    }
                }
            }
            if frag.kind != Kind::Pad {
                first_in_block = false;
            }
            pos += FRAG_HEADER_LEN + frag.len;
        }

        // Does the chain go on?
        let next = hdr.next;
        let mut next_hdr = None;
        if next < geo.block_count && next != block {
            let mut h = [0u8; HEADER_LEN as usize];
            dev.read(next, 0, &mut h).map_err(Error::Device)?;
            if let Some(nh) = header_of(&h)?
                && nh.prev_stamp == hdr.stamp
                && nh.seq == hdr.seq + 1
            {
                next_hdr = Some(nh);
            }
        }
        if let Some(nh) = next_hdr {
            match partial.take() {
                Some(p) if nh.first_lsn == p.lsn => {
                    if nh.continues() {
                        partial = Some(p);
                    } else {
                        // The writer abandoned this record after a crash.
                        expected = p.lsn;
                    }
                }
                Some(_) => corrupted!("WAL record", block, pos),
                None => {
                    if nh.continues() || nh.first_lsn != expected {
                        corrupted!("WAL record", block, pos);
                    }
                }
            }
            dev.read(next, 0, &mut buf).map_err(Error::Device)?;
            block = next;
            hdr = nh;
            continue;
        }

        // `block` is the tail.
        report.tail_offset = pos;
        let damaged = partial.as_ref().map_or(expected, |p| p.lsn);
        if stopped_invalid {
            let mut q = pos + 1;
            while bs - q >= FRAG_HEADER_LEN {
                let rest = buf.get(q as usize..).unwrap_or_default();
                if let Some((frag, _)) = decode_fragment(rest, hdr.stamp)
                    && frag.kind != Kind::Pad
                {
                    if frag.durable_claim().is_some_and(|c| c >= damaged) {
                        corrupted!("WAL record", block, pos);
                    }
                    report.discarded_fragments += 1;
                }
                q += 1;
            }
        }
        report.next_lsn = partial.map_or(expected, |p| p.lsn);
        return Ok(report);
    }
}
