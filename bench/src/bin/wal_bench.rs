//! WAL append throughput and write amplification on `RamDevice`.
//!
//! For 100-byte and 10 KiB records, with a sync after every record and after
//! every 100, on the server's file geometry (16 KiB blocks, 1-byte program
//! unit; 64 KiB for stores created before) and a NOR-like one (4 KiB sectors,
//! 4-byte program unit). The log is
//! checkpointed whenever it holds a quarter of the device, as the engine does
//! after a flush, so commits are part of the figures.
//!
//! Write amplification = bytes programmed on the device ÷ payload bytes.

use pulsardb_bench::timed;
use pulsardb_core::storage::RamDevice;
use pulsardb_core::{Geometry, Store, StoreConfig};

fn run(name: &str, geo: Geometry, record: usize, sync_every: usize, total_bytes: usize) {
    let dev = RamDevice::new(geo);
    let mut store = Store::format(dev, StoreConfig::default()).expect("format");
    let before = store.device().bytes_programmed;
    let records = total_bytes / record;
    let payload: Vec<u8> = (0..record).map(|i| (i * 7) as u8).collect();
    let quarter = geo.capacity_bytes() / 4;
    let ((), secs) = timed(|| {
        for i in 0..records {
            store.append(&payload).expect("append");
            if (i + 1) % sync_every == 0 {
                store.sync().expect("sync");
            }
            if store.wal_bytes() > quarter {
                let lsn = store.sync().expect("sync");
                store.checkpoint(lsn).expect("checkpoint");
            }
        }
        store.sync().expect("sync");
    });
    let dev = store.device();
    let payload_bytes = (records * record) as f64;
    let programmed = (dev.bytes_programmed - before) as f64;
    println!(
        "| {name} | {record} B | {sync_every} | {:.1} | {:.0} | {:.3} | {} |",
        payload_bytes / secs / 1e6,
        records as f64 / secs,
        programmed / payload_bytes,
        dev.syncs,
    );
}

fn main() {
    let file = Geometry {
        block_size: 16 << 10,
        block_count: 16384,
        write_size: 1,
    };
    let file64 = Geometry {
        block_size: 64 << 10,
        block_count: 4096,
        write_size: 1,
    };
    let nor = Geometry {
        block_size: 4 << 10,
        block_count: 4096,
        write_size: 4,
    };
    println!(
        "| geometry | record | sync every | MB/s | records/s | write amplification | device syncs |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, geo) in [
        ("file 16K/1", file),
        ("file 64K/1", file64),
        ("NOR 4K/4", nor),
    ] {
        for record in [100usize, 10 << 10] {
            for sync_every in [1usize, 100] {
                let total = if sync_every == 1 && record == 100 {
                    20 << 20
                } else {
                    64 << 20
                };
                run(name, geo, record, sync_every, total);
            }
        }
    }
}
