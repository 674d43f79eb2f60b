//! Background work on a smol executor with async-io timers: flush every
//! `flush_interval_seconds` and whenever the memtable reaches its share of
//! the memory budget; sync every `sync_interval_ms` in `interval` mode;
//! retention and capacity after each flush that wrote tables and every
//! `maintenance_interval_seconds`, each time waking the compaction thread.
//!
//! Compactions run on their own thread, so a long merge never holds up a
//! flush (and, through it, writers waiting for memory). They wait for a
//! pause in the writes (a second without one, at most half a minute):
//! during a burst the two cores go to ingestion, and the merge comes after.
//!
//! The work itself is blocking I/O on this dedicated thread; the executor
//! only multiplexes the timers, the "flush now" channel and the stop signal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use smol::future::FutureExt;

use crate::config::SyncMode;
use crate::engine::Engine;

/// The running maintenance thread.
#[derive(Debug)]
pub struct Maintenance {
    stop: smol::channel::Sender<()>,
    stopping: Arc<AtomicBool>,
    thread: JoinHandle<()>,
    compactor: JoinHandle<()>,
}

/// Compaction waits for writes to pause this long...
const QUIET: Duration = Duration::from_secs(1);
/// ...but not longer than this.
const MAX_DEFER: Duration = Duration::from_secs(30);

enum Event {
    Tick,
    Kick,
    Stop,
}

impl Maintenance {
    /// Starts the thread.
    pub fn start(engine: Arc<Engine>) -> Result<Maintenance, String> {
        let (stop, stop_rx) = smol::channel::bounded::<()>(1);
        let stopping = Arc::new(AtomicBool::new(false));
        let kick = engine
            .take_kick_receiver()
            .ok_or("maintenance already started")?;
        let (wake, wake_rx) = std::sync::mpsc::sync_channel::<()>(1);
        let flag = Arc::clone(&stopping);
        let e = Arc::clone(&engine);
        let compactor = std::thread::Builder::new()
            .name("pulsardb-compact".into())
            .spawn(move || compactor(&e, &wake_rx, &flag))
            .map_err(|e| format!("cannot start the compaction thread: {e}"))?;
        let thread = std::thread::Builder::new()
            .name("pulsardb-maint".into())
            .spawn(move || smol::block_on(run(engine, kick, stop_rx, wake)))
            .map_err(|e| format!("cannot start the maintenance thread: {e}"))?;
        Ok(Maintenance {
            stop,
            stopping,
            thread,
            compactor,
        })
    }

    /// Stops after the work in progress.
    pub fn stop(self) {
        self.stopping.store(true, Ordering::Release);
        let _ = self.stop.try_send(());
        // The maintenance thread drops the compactor's channel when it ends.
        let _ = self.thread.join();
        let _ = self.compactor.join();
    }
}

async fn run(
    engine: Arc<Engine>,
    kick: smol::channel::Receiver<()>,
    stop: smol::channel::Receiver<()>,
    compact: std::sync::mpsc::SyncSender<()>,
) {
    let cfg = engine.config().clone();
    let flush_every = Duration::from_secs(cfg.flush_interval_seconds.max(1));
    let house_every = Duration::from_secs(cfg.maintenance_interval_seconds.max(1));
    // The first round right away: retention and room after a restart.
    let mut next_house = Instant::now();
    let sync_every = (cfg.sync == SyncMode::Interval)
        .then(|| Duration::from_millis(cfg.sync_interval_ms.max(1)));
    let mut next_flush = Instant::now() + flush_every;
    let mut next_sync = sync_every.map(|d| Instant::now() + d);
    loop {
        let wake = next_sync
            .map_or(next_flush, |s| s.min(next_flush))
            .min(next_house);
        let tick = async {
            smol::Timer::at(wake).await;
            Event::Tick
        };
        let kicked = async {
            match kick.recv().await {
                Ok(()) => Event::Kick,
                Err(_) => Event::Stop,
            }
        };
        let stopped = async {
            let _ = stop.recv().await;
            Event::Stop
        };
        let now = match tick.or(kicked).or(stopped).await {
            Event::Stop => return,
            Event::Kick => {
                // A full memtable, or tables flushed by `POST /flush`: then
                // retention and compaction right away.
                flush(&engine);
                next_house = Instant::now();
                next_flush = Instant::now() + flush_every;
                continue;
            }
            Event::Tick => Instant::now(),
        };
        if now >= next_flush {
            if flush(&engine) {
                next_house = now;
            }
            next_flush = Instant::now() + flush_every;
        }
        if now >= next_house {
            engine.enforce();
            // Full: a wake-up is already pending.
            let _ = compact.try_send(());
            next_house = Instant::now() + house_every;
        }
        if let (Some(at), Some(every)) = (next_sync, sync_every)
            && now >= at
        {
            if let Err(e) = engine.sync_now() {
                crate::error!("periodic sync failed: {e}");
            }
            next_sync = Some(Instant::now() + every);
        }
    }
}

/// The compaction thread: on each wake-up, waits for a pause in the writes,
/// then compacts until nothing is due.
fn compactor(engine: &Engine, wake: &std::sync::mpsc::Receiver<()>, stopping: &AtomicBool) {
    while wake.recv().is_ok() {
        let asked = Instant::now();
        while !stopping.load(Ordering::Acquire)
            && engine.last_write().elapsed() < QUIET
            && asked.elapsed() < MAX_DEFER
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        if stopping.load(Ordering::Acquire) {
            return;
        }
        engine.compact(stopping);
    }
}

/// Flushes; whether tables were written.
fn flush(engine: &Engine) -> bool {
    if engine.failure().is_some() {
        return false;
    }
    match engine.flush() {
        Ok(n) => n > 0,
        Err(e) => {
            crate::error!("flush failed: {e}");
            false
        }
    }
}
