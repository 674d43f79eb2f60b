//! Background work on a smol executor with async-io timers: flush every
//! `flush_interval_seconds` and whenever the memtable reaches its share of
//! the memory budget; sync every `sync_interval_ms` in `interval` mode.
//! Compaction and retention hook in here.
//!
//! The work itself is blocking I/O on this dedicated thread; the executor
//! only multiplexes the timers, the "flush now" channel and the stop signal.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use smol::future::FutureExt;

use crate::config::SyncMode;
use crate::engine::Engine;

/// The running maintenance thread.
#[derive(Debug)]
pub struct Maintenance {
    stop: smol::channel::Sender<()>,
    thread: JoinHandle<()>,
}

enum Event {
    Tick,
    Kick,
    Stop,
}

impl Maintenance {
    /// Starts the thread.
    pub fn start(engine: Arc<Engine>) -> Result<Maintenance, String> {
        let (stop, stop_rx) = smol::channel::bounded::<()>(1);
        let kick = engine
            .take_kick_receiver()
            .ok_or("maintenance already started")?;
        let thread = std::thread::Builder::new()
            .name("pulsardb-maint".into())
            .spawn(move || smol::block_on(run(engine, kick, stop_rx)))
            .map_err(|e| format!("cannot start the maintenance thread: {e}"))?;
        Ok(Maintenance { stop, thread })
    }

    /// Stops after the work in progress.
    pub fn stop(self) {
        let _ = self.stop.try_send(());
        let _ = self.thread.join();
    }
}

async fn run(
    engine: Arc<Engine>,
    kick: smol::channel::Receiver<()>,
    stop: smol::channel::Receiver<()>,
) {
    let cfg = engine.config().clone();
    let flush_every = Duration::from_secs(cfg.flush_interval_seconds.max(1));
    let sync_every = (cfg.sync == SyncMode::Interval)
        .then(|| Duration::from_millis(cfg.sync_interval_ms.max(1)));
    let mut next_flush = Instant::now() + flush_every;
    let mut next_sync = sync_every.map(|d| Instant::now() + d);
    loop {
        let wake = next_sync.map_or(next_flush, |s| s.min(next_flush));
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
                flush(&engine);
                next_flush = Instant::now() + flush_every;
                continue;
            }
            Event::Tick => Instant::now(),
        };
        if now >= next_flush {
            flush(&engine);
            next_flush = Instant::now() + flush_every;
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

fn flush(engine: &Engine) {
    if engine.failure().is_some() {
        return;
    }
    if let Err(e) = engine.flush() {
        crate::error!("flush failed: {e}");
    }
}
