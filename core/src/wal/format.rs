//! WAL bytes on media: block headers and record fragments
//! (`docs/format/wal.md` has the diagrams).

use crate::crc::Crc32c;

/// Magic of a WAL block header: "PWAL".
pub const MAGIC: [u8; 4] = *b"PWAL";
/// WAL format version.
pub const VERSION: u8 = 1;
/// Bytes of one header copy.
pub const HEADER_COPY_LEN: usize = 48;
/// Bytes before the first fragment: two header copies.
pub const HEADER_LEN: u32 = 2 * HEADER_COPY_LEN as u32;
/// Bytes of a fragment header.
pub const FRAG_HEADER_LEN: u32 = 20;
/// Largest fragment payload the length field can express.
pub const MAX_FRAG_LEN: u32 = (1 << 28) - 1;

/// Block header flag: the first fragment continues a record begun in the previous block.
pub const FLAG_CONTINUES: u8 = 1;

/// What a fragment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A whole record.
    Full = 1,
    /// The first part of a record that continues in the next block.
    First = 2,
    /// A middle part.
    Middle = 3,
    /// The last part.
    Last = 4,
    /// Padding written by a sync to reach the program unit; carries no record.
    Pad = 5,
}

impl Kind {
    fn from_bits(b: u32) -> Option<Self> {
        Some(match b {
            1 => Kind::Full,
            2 => Kind::First,
            3 => Kind::Middle,
            4 => Kind::Last,
            5 => Kind::Pad,
            _ => return None,
        })
    }
}

/// A WAL block header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    /// Position in the chain: the previous block's `seq` + 1.
    pub seq: u64,
    /// Unique forever (epoch << 32 | counter); seeds every fragment's CRC.
    pub stamp: u64,
    /// The previous block's stamp (0 for the first block of a store).
    pub prev_stamp: u64,
    /// LSN of the first fragment in the block.
    pub first_lsn: u64,
    /// The block reserved to follow this one.
    pub next: u32,
    /// [`FLAG_CONTINUES`] or 0.
    pub flags: u8,
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(s) = b.get(i..i + 8) {
        w.copy_from_slice(s);
    }
    u64::from_le_bytes(w)
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = b.get(i..i + 4) {
        w.copy_from_slice(s);
    }
    u32::from_le_bytes(w)
}

impl BlockHeader {
    /// Whether the block begins with the continuation of a record.
    pub fn continues(&self) -> bool {
        self.flags & FLAG_CONTINUES != 0
    }

    /// Both copies, back to back.
    pub fn encode(&self) -> [u8; HEADER_LEN as usize] {
        let mut one = [0u8; HEADER_COPY_LEN];
        one[..4].copy_from_slice(&MAGIC);
        one[4] = VERSION;
        one[5] = self.flags;
        one[8..16].copy_from_slice(&self.seq.to_le_bytes());
        one[16..24].copy_from_slice(&self.stamp.to_le_bytes());
        one[24..32].copy_from_slice(&self.prev_stamp.to_le_bytes());
        one[32..40].copy_from_slice(&self.first_lsn.to_le_bytes());
        one[40..44].copy_from_slice(&self.next.to_le_bytes());
        let mut c = Crc32c::new();
        c.update(&one[..44]);
        one[44..48].copy_from_slice(&c.finish().to_le_bytes());
        let mut both = [0u8; HEADER_LEN as usize];
        both[..HEADER_COPY_LEN].copy_from_slice(&one);
        both[HEADER_COPY_LEN..].copy_from_slice(&one);
        both
    }

    /// Decodes the first valid copy in `b` (the first [`HEADER_LEN`] bytes of a block).
    /// Returns `Err(version)` if a valid copy has a newer version.
    pub fn decode(b: &[u8]) -> Result<Option<Self>, u8> {
        for copy in 0..2 {
            let Some(h) = b.get(copy * HEADER_COPY_LEN..(copy + 1) * HEADER_COPY_LEN) else {
                continue;
            };
            if h.get(..4) != Some(&MAGIC[..]) {
                continue;
            }
            let mut c = Crc32c::new();
            c.update(h.get(..44).unwrap_or_default());
            if c.finish() != u32_at(h, 44) {
                continue;
            }
            let version = h.get(4).copied().unwrap_or(0);
            if version != VERSION {
                return Err(version);
            }
            return Ok(Some(Self {
                flags: h.get(5).copied().unwrap_or(0),
                seq: u64_at(h, 8),
                stamp: u64_at(h, 16),
                prev_stamp: u64_at(h, 24),
                first_lsn: u64_at(h, 32),
                next: u32_at(h, 40),
            }));
        }
        Ok(None)
    }
}

/// A parsed fragment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// What it is.
    pub kind: Kind,
    /// Payload bytes following the header.
    pub len: u32,
    /// The record's LSN (0 for padding).
    pub lsn: u64,
    /// `lsn − back` is an LSN the writer knew to be durable when it wrote
    /// this fragment; 0: no claim. Replay uses it to tell a damaged record
    /// that had been synced (corruption) from a torn, unsynced tail.
    pub back: u32,
}

impl Fragment {
    /// The highest LSN this fragment proves durable, if it claims one.
    pub fn durable_claim(&self) -> Option<u64> {
        (self.back != 0).then(|| self.lsn.saturating_sub(u64::from(self.back)))
    }
}

/// Encodes a fragment header for `payload` into `out` (16 bytes).
pub fn encode_fragment(
    out: &mut [u8; FRAG_HEADER_LEN as usize],
    stamp: u64,
    f: &Fragment,
    payload: &[u8],
) {
    let len_flags = (f.len & MAX_FRAG_LEN) | ((f.kind as u32) << 28);
    out[4..8].copy_from_slice(&len_flags.to_le_bytes());
    out[8..16].copy_from_slice(&f.lsn.to_le_bytes());
    out[16..20].copy_from_slice(&f.back.to_le_bytes());
    let mut c = Crc32c::new();
    c.update(&stamp.to_le_bytes());
    c.update(&out[4..20]);
    c.update(payload);
    out[..4].copy_from_slice(&c.finish().to_le_bytes());
}

/// Parses the fragment at the start of `b` (which extends to the block's end)
/// and checks its CRC against `stamp`. `None` if it is not a valid fragment.
pub fn decode_fragment(b: &[u8], stamp: u64) -> Option<(Fragment, &[u8])> {
    let hdr = b.get(..FRAG_HEADER_LEN as usize)?;
    let len_flags = u32_at(hdr, 4);
    if len_flags >> 31 != 0 {
        return None;
    }
    let kind = Kind::from_bits((len_flags >> 28) & 7)?;
    let len = len_flags & MAX_FRAG_LEN;
    let payload = b.get(FRAG_HEADER_LEN as usize..FRAG_HEADER_LEN as usize + len as usize)?;
    let mut c = Crc32c::new();
    c.update(&stamp.to_le_bytes());
    c.update(hdr.get(4..20)?);
    c.update(payload);
    if c.finish() != u32_at(hdr, 0) {
        return None;
    }
    Some((
        Fragment {
            kind,
            len,
            lsn: u64_at(hdr, 8),
            back: u32_at(hdr, 16),
        },
        payload,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_survives_one_damaged_copy() {
        let h = BlockHeader {
            seq: 7,
            stamp: 3 << 32 | 1,
            prev_stamp: 3 << 32,
            first_lsn: 99,
            next: 12,
            flags: FLAG_CONTINUES,
        };
        let b = h.encode();
        assert_eq!(BlockHeader::decode(&b), Ok(Some(h)));
        for bit in 0..(HEADER_LEN as usize * 8) {
            let mut d = b;
            d[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(BlockHeader::decode(&d), Ok(Some(h)), "bit {bit}");
        }
        let mut both = b;
        both[10] ^= 1;
        both[HEADER_COPY_LEN + 10] ^= 1;
        assert_eq!(BlockHeader::decode(&both), Ok(None));
    }

    #[test]
    fn fragment_crc_is_bound_to_the_stamp() {
        let payload = b"hello";
        let f = Fragment {
            kind: Kind::Full,
            len: 5,
            lsn: 42,
            back: 2,
        };
        assert_eq!(f.durable_claim(), Some(40));
        let mut hdr = [0u8; 20];
        encode_fragment(&mut hdr, 77, &f, payload);
        let mut b = hdr.to_vec();
        b.extend_from_slice(payload);
        b.extend_from_slice(&[0xff; 8]);
        assert_eq!(decode_fragment(&b, 77), Some((f, &payload[..])));
        assert_eq!(
            decode_fragment(&b, 78),
            None,
            "a stale stamp never validates"
        );
        for bit in 0..(b.len() - 8) * 8 {
            let mut d = b.clone();
            d[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(decode_fragment(&d, 77), None, "bit {bit}");
        }
    }
}
