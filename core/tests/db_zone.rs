//! Window aggregation on a zone's wall clock (`Aggregation::zone`) against
//! the windows of its points one by one, where the zone rule is least
//! regular: around a change of offset, whole chunks answered from their
//! statistics must not put a point in the wrong window.

use pulsardb_core::query::zone::zoned_start;
use pulsardb_core::query::{SeriesData, Zone};
use pulsardb_core::storage::RamDevice;
use pulsardb_core::{Aggregation, Db, DbConfig, Geometry, Query, Value, WriteBatch};
use std::collections::BTreeMap;

const M: i64 = 60_000_000_000;
const H: i64 = 60 * M;
/// 2023-10-29T01:00Z: London goes from BST (+1 h) back to GMT.
const AUTUMN: i64 = 1_698_541_200_000_000_000;

fn counts(db: &mut Db<RamDevice>, every: i64, zone: &Zone) -> (BTreeMap<i64, u64>, u64) {
    let q = Query {
        aggregation: Some(Aggregation {
            window_ns: Some(every),
            offset_ns: 0,
            zone: Some(zone.clone()),
            group_by: vec![],
        }),
        ..Query::raw("db", "m", Some("v"))
    };
    let r = db.query(&q).expect("query");
    let mut out = BTreeMap::new();
    for s in r.series {
        if let SeriesData::Windows(ws) = s.data {
            for (w, acc) in ws {
                *out.entry(w).or_insert(0) += acc.count;
            }
        }
    }
    (out, r.chunks_from_stats)
}

#[test]
fn chunks_across_a_change_are_bucketed_point_by_point() {
    let london = Zone {
        base_ns: H,
        changes: vec![(AUTUMN, 0)],
    };
    let geo = Geometry {
        block_size: 1024,
        block_count: 4096,
        write_size: 1,
    };
    let mut tried = 0;
    for every in [45 * M, 90 * M, 2 * H, 3 * H, 24 * H] {
        // One series per chunk (a lone chunk is what statistics answer):
        // three points spanning 40 minutes, starting every 3 minutes from
        // three hours before the change to three after, and the same a week
        // later, far from it.
        let mut db = Db::create(RamDevice::new(geo), DbConfig::default()).expect("create");
        db.create_database("db").expect("database");
        let mut want: BTreeMap<i64, u64> = BTreeMap::new();
        let mut b = WriteBatch::new();
        let starts = (-180..=180)
            .step_by(3)
            .flat_map(|k| [AUTUMN + k * M, AUTUMN + 7 * 24 * H + k * M]);
        for (i, start) in starts.enumerate() {
            let tag = i.to_string();
            for d in [0, 20, 40] {
                let t = start + d * M;
                b.push(
                    b"m",
                    &[(b"k", tag.as_bytes())],
                    &[(b"v", Value::Float(1.0))],
                    t,
                );
                *want.entry(zoned_start(t, every, 0, &london)).or_insert(0) += 1;
            }
            tried += 1;
        }
        db.write("db", &b).expect("write");
        db.flush().expect("flush");
        let (have, from_stats) = counts(&mut db, every, &london);
        assert_eq!(have, want, "windows of {} min", every / M);
        // Away from the change, chunks are still answered from statistics.
        assert!(
            from_stats > 0,
            "windows of {} min: no chunk from statistics",
            every / M
        );
    }
    println!(
        "zoned windows: {tried} lone chunks near and far from a change, all bucketed as their points"
    );
}
