use crate::sample::default_source;
use crate::track::{track_with, OperationReport};
use crate::{Analyzer, MemoryEvent, MonitorConfig, MonitorError, Sample, Sampler};
use crossbeam_channel::{Receiver, Select, Sender, TrySendError};
#[cfg(feature = "breaker")]
use heapguard_breaker::BreakerEvent;
use heapguard_reading::MemorySource;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::SystemTime;

/// A running memory monitor: a sampler thread, its window of samples, the
/// leak detector and the subscribers of its events. Start one with
/// [`start`](Self::start) (or [`start_with_source`](Self::start_with_source));
/// dropping it stops the sampler thread and waits for it.
///
/// Every method may be called from any thread.
#[derive(Debug)]
pub struct MemoryMonitor {
    shared: Arc<Shared>,
    control: Sender<Control>,
    thread: Option<JoinHandle<()>>,
}

/// The former name of [`MemoryMonitor`], when a separate empty type
/// started it.
#[deprecated(note = "use `MemoryMonitor`: `MemoryMonitor::start` returns the running monitor")]
pub type MonitorHandle = MemoryMonitor;

impl MemoryMonitor {
    /// Validates `config` and starts a sampler thread reading the counting
    /// allocator when it is installed, else RSS.
    pub fn start(config: MonitorConfig) -> Result<MemoryMonitor, MonitorError> {
        Self::start_with_source(config, default_source()?)
    }

    /// Like [`start`](Self::start), reading live bytes from `source`.
    pub fn start_with_source(
        config: MonitorConfig,
        source: Arc<dyn MemorySource>,
    ) -> Result<MemoryMonitor, MonitorError> {
        let analyzer = Analyzer::new(&config)?;
        let shared = Arc::new(Shared {
            sampler: Sampler::new(source),
            started_at: SystemTime::now(),
            budget_bytes: config.budget_bytes,
            state: Mutex::new(State {
                dropped_events: 0,
                window: VecDeque::new(),
                capacity: config.window,
                analyzer,
                subscribers: Vec::new(),
                idle: false,
                samples_taken: 0,
                #[cfg(feature = "attribution")]
                attribution: None,
                #[cfg(feature = "attribution")]
                unresolved: Vec::new(),
                #[cfg(feature = "attribution")]
                observer: None,
            }),
        });
        let (control, control_rx) = crossbeam_channel::unbounded();
        let thread_shared = Arc::clone(&shared);
        let interval = config.interval;
        let thread = std::thread::Builder::new()
            .name("heapguard-monitor".into())
            .spawn(move || run(&thread_shared, interval, &control_rx))
            .map_err(MonitorError::Spawn)?;
        Ok(MemoryMonitor {
            shared,
            control,
            thread: Some(thread),
        })
    }
}

#[derive(Debug)]
enum Control {
    Stop,
    #[cfg(feature = "breaker")]
    Watch(Receiver<BreakerEvent>),
}

#[derive(Debug)]
struct Shared {
    sampler: Sampler,
    /// The origin of breaker events' times and of the metrics' clock.
    #[cfg_attr(not(any(feature = "breaker", feature = "metrics")), allow(dead_code))]
    started_at: SystemTime,
    budget_bytes: Option<u64>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    window: VecDeque<Sample>,
    capacity: usize,
    analyzer: Analyzer,
    subscribers: Vec<Sender<MemoryEvent>>,
    idle: bool,
    samples_taken: u64,
    dropped_events: u64,
    #[cfg(feature = "attribution")]
    attribution: Option<crate::attribution::MonitorAttribution>,
    /// Leak alarms whose sites are still to be symbolised, with the alarm's
    /// time: done by `record` once it has let go of the lock.
    #[cfg(feature = "attribution")]
    unresolved: Vec<(f64, crate::attribution::UnresolvedAttribution)>,
    /// Where symbolising reserves its memory, when set.
    #[cfg(feature = "attribution")]
    observer: Option<crate::observer::Observer>,
}

impl MemoryMonitor {
    /// Takes a sample now (as the thread does at each tick), records it and
    /// raises its events. It is quiescent when [`set_idle`](Self::set_idle)
    /// said so.
    pub fn sample_now(&self) -> Result<Sample, MonitorError> {
        let idle = self.shared.lock().idle;
        self.shared.record(idle)
    }

    /// Sets the `metrics` feature's heap gauges (`heapguard_live_bytes`,
    /// `heapguard_peak_bytes`, `heapguard_rss_bytes`) from a reading taken
    /// now, for a `/metrics` handler to call before it renders: the scrape
    /// then shows the heap as it is, not as it was at the last sample (up
    /// to `interval` ago, 60 s by default), and the detector's gauges exist
    /// from the first scrape (warming up until its first samples). Reads the
    /// memory source once and changes nothing else: no sample is recorded
    /// and the detector sees nothing.
    #[cfg(feature = "metrics")]
    pub fn record_metrics(&self) -> Result<(), MonitorError> {
        let sampler = &self.shared.sampler;
        let sample = catch_unwind(AssertUnwindSafe(|| sampler.sample(false)))
            .map_err(|panic| MonitorError::SourcePanicked(panic_message(panic.as_ref())))??;
        crate::metrics_export::record_sample(&sample);
        let gauges = self.shared.lock().analyzer.gauges(sample.t_secs);
        if let Some(gauges) = gauges {
            crate::metrics_export::record_detector(&gauges, self.shared.origin_secs());
        }
        Ok(())
    }

    /// Takes a sample marked quiescent: call it between jobs, when the
    /// service holds only what it keeps for good. From the first quiescent
    /// sample on, the trend detector looks only at quiescent samples.
    pub fn mark_quiescent(&self) -> Result<Sample, MonitorError> {
        self.shared.record(true)
    }

    /// Declares that what the service keeps starts over now, without a
    /// restart of the process: a cache flushed and filling again, a reload,
    /// a new tenant's data. The trend detector forgets its points and warms
    /// up again, as at the monitor's start, so growth from here must show
    /// that it keeps its slope, unlike a filling cache, before it alarms (a
    /// cache that starts to fill after the warm-up otherwise alarms like a
    /// leak until it bends; see the README). A suspected leak is cleared: a
    /// [`MemoryEvent::Recovered`] is published.
    pub fn declare_restart(&self) {
        let mut state = self.shared.lock();
        // Read under the lock: every sample recorded before is older.
        let t_secs = self.shared.sampler.elapsed_secs();
        for event in state.analyzer.declare_restart(t_secs) {
            state.publish(event);
        }
        #[cfg(feature = "metrics")]
        if let Some(gauges) = state.analyzer.gauges(t_secs) {
            crate::metrics_export::record_detector(&gauges, self.shared.origin_secs());
        }
    }

    /// Says whether the service is between jobs: while idle, the thread's
    /// samples are quiescent.
    pub fn set_idle(&self, idle: bool) {
        self.shared.lock().idle = idle;
    }

    /// The samples in the window, oldest first (at most `window`).
    pub fn samples(&self) -> Vec<Sample> {
        self.shared.lock().window.iter().cloned().collect()
    }

    /// The newest sample.
    pub fn latest(&self) -> Option<Sample> {
        self.shared.lock().window.back().cloned()
    }

    /// Samples taken since the start (by the thread and by the handle).
    pub fn samples_taken(&self) -> u64 {
        self.shared.lock().samples_taken
    }

    /// A new subscriber: it gets every event from now on, on its own channel
    /// of [`SUBSCRIBER_QUEUE`] events. Dropping the receiver unsubscribes; a
    /// subscriber never blocks the monitor: an event that finds a
    /// subscriber's queue full is dropped for it and counted in
    /// [`dropped_events`](Self::dropped_events).
    pub fn subscribe(&self) -> Receiver<MemoryEvent> {
        let (sender, receiver) = crossbeam_channel::bounded(SUBSCRIBER_QUEUE);
        self.shared.lock().subscribers.push(sender);
        receiver
    }

    /// Forwards a breaker's events (from
    /// [`MemoryBreaker::subscribe`](heapguard_breaker::MemoryBreaker::subscribe))
    /// as [`MemoryEvent::BreakerTripped`] and [`MemoryEvent::Recovered`]
    /// (feature `breaker`).
    #[cfg(feature = "breaker")]
    pub fn watch_breaker(&self, events: Receiver<BreakerEvent>) {
        // A send fails only once the thread is gone, when nothing is watched.
        let _ = self.control.send(Control::Watch(events));
    }

    /// Runs `work` and reports its memory use (see [`crate::track`]), with
    /// percentages of this monitor's budget.
    pub fn track<R>(&self, name: &str, work: impl FnOnce() -> R) -> (R, OperationReport) {
        track_with(
            name,
            Some(self.shared.sampler.source().as_ref()),
            self.shared.budget_bytes,
            work,
        )
    }

    /// Events dropped because a subscriber's queue was full, over all
    /// subscribers since the start.
    pub fn dropped_events(&self) -> u64 {
        self.shared.lock().dropped_events
    }

    /// Whether the sampler thread is still running (it ends when the handle
    /// is dropped, and only then: a panicking memory source is caught).
    pub fn is_sampling(&self) -> bool {
        self.thread
            .as_ref()
            .is_some_and(|thread| !thread.is_finished())
    }

    /// The budget from the config.
    pub fn budget_bytes(&self) -> Option<u64> {
        self.shared.budget_bytes
    }

    /// The name of the source of live bytes.
    pub fn source_name(&self) -> &'static str {
        self.shared.sampler.source_name()
    }

    /// Attributes suspected leaks to allocation sites from now on: heap
    /// profiles are taken at the samples the trend detector sees (every
    /// sample, or only the quiescent ones once any is marked), paced to
    /// `config.max_time_share` of the time and kept within `config`'s
    /// bounds; each [`MemoryEvent::LeakSuspected`] is followed by a
    /// [`MemoryEvent::LeakAttributed`] naming the sites that grew over the
    /// tested span. A watched breaker's trip and its cancel line also take a
    /// profile ([`trip_profile`](Self::trip_profile),
    /// [`cancel_line_profile`](Self::cancel_line_profile)).
    ///
    /// Takes the first profile now, so call it while the service holds only
    /// what it keeps for good. Fails, and changes nothing, on a setting out
    /// of range or when no profile can be taken (see
    /// [`heapguard_alloc::profile::take`]).
    #[cfg(feature = "attribution")]
    pub fn attribute_leaks(
        &self,
        config: crate::attribution::AttributionConfig,
    ) -> Result<(), crate::attribution::AttributionError> {
        let started = crate::attribution::MonitorAttribution::start(
            config,
            self.shared.sampler.elapsed_secs(),
        )?;
        self.shared.lock().attribution = Some(started);
        Ok(())
    }

    /// Symbolises the sites of each [`MemoryEvent::LeakAttributed`] inside
    /// `observer`'s reservation and account: when the reservation does not
    /// fit, the event comes without sites, its `symbolization_refused`
    /// saying why, and the breaker is left alone. Without an observer,
    /// symbolising reserves nothing.
    #[cfg(feature = "attribution")]
    pub fn symbolize_within(&self, observer: crate::observer::Observer) {
        self.shared.lock().observer = Some(observer);
    }

    /// The heap profile taken when a watched breaker last tripped, with its
    /// time (addresses only; [`HeapProfile::top_sites`] symbolises it).
    ///
    /// [`HeapProfile::top_sites`]: heapguard_alloc::profile::HeapProfile::top_sites
    #[cfg(feature = "attribution")]
    pub fn trip_profile(&self) -> Option<(f64, heapguard_alloc::profile::HeapProfile)> {
        let state = self.shared.lock();
        state.attribution.as_ref()?.trip_profile().cloned()
    }

    /// The heap profile taken when a watched breaker last reached its cancel
    /// line ([`PressureLevel::Cancel`]), with its time (addresses only).
    ///
    /// [`PressureLevel::Cancel`]: heapguard_breaker::PressureLevel::Cancel
    #[cfg(feature = "attribution")]
    pub fn cancel_line_profile(&self) -> Option<(f64, heapguard_alloc::profile::HeapProfile)> {
        let state = self.shared.lock();
        state.attribution.as_ref()?.cancel_line_profile().cloned()
    }

    /// Writes the two profiles behind `attribution` (a
    /// [`MemoryEvent::LeakAttributed`]'s) as pprof files in `dir`; `None`
    /// without attribution or profiles.
    #[cfg(feature = "attribution")]
    pub fn write_leak_profiles(
        &self,
        attribution: &crate::attribution::Attribution,
        dir: &std::path::Path,
    ) -> Result<
        Option<(std::path::PathBuf, std::path::PathBuf)>,
        heapguard_alloc::profile::ProfileError,
    > {
        // Copies taken under the lock, written (encoded, compressed, synced)
        // after it is released.
        let span = {
            let state = self.shared.lock();
            state
                .attribution
                .as_ref()
                .and_then(|kept| kept.profiles().span_profiles(attribution))
        };
        match span {
            Some(span) => crate::attribution::write_span(&span, dir).map(Some),
            None => Ok(None),
        }
    }

    /// Stops the sampler thread and waits for it (what dropping does).
    pub fn stop(self) {}
}

impl Drop for MemoryMonitor {
    fn drop(&mut self) {
        let _ = self.control.send(Control::Stop);
        if let Some(thread) = self.thread.take() {
            // Dropped on the sampler thread itself (from a memory source, a
            // `tracing` layer or a metrics recorder that owned the handle):
            // it cannot wait for itself; it ends at its next `select`.
            if thread.thread().id() == std::thread::current().id() {
                return;
            }
            // A panic in the thread has already been reported by its hook.
            let _ = thread.join();
        }
    }
}

/// Events each subscriber's queue holds, as the breaker's.
pub const SUBSCRIBER_QUEUE: usize = 1024;

fn run(shared: &Shared, interval: std::time::Duration, control: &Receiver<Control>) {
    let ticker = crossbeam_channel::tick(interval);
    #[cfg(feature = "breaker")]
    let mut breakers: Vec<Receiver<BreakerEvent>> = Vec::new();
    loop {
        let mut select = Select::new();
        let tick = select.recv(&ticker);
        let stop = select.recv(control);
        #[cfg(feature = "breaker")]
        for breaker in &breakers {
            select.recv(breaker);
        }
        let operation = select.select();
        match operation.index() {
            index if index == tick => {
                let _ = operation.recv(&ticker);
                let idle = shared.lock().idle;
                if let Err(error) = shared.record(idle) {
                    tracing::warn!(target: "heapguard_monitor", %error, "memory sample failed");
                }
            }
            index if index == stop => match operation.recv(control) {
                #[cfg(feature = "breaker")]
                Ok(Control::Watch(events)) => breakers.push(events),
                Ok(Control::Stop) | Err(_) => return,
            },
            #[cfg(not(feature = "breaker"))]
            _ => unreachable!("only the ticker and the control channel are selected"),
            #[cfg(feature = "breaker")]
            index => {
                let slot = index - (stop + 1);
                match operation.recv(&breakers[slot]) {
                    // Trips and resets only: pressure levels and cancelled
                    // jobs have no monitor event.
                    Ok(event) if event.is_trip() || event.is_reset() => {
                        let event = MemoryEvent::from_breaker(&event, shared.started_at);
                        shared.lock().publish(event);
                    }
                    #[cfg(feature = "attribution")]
                    Ok(BreakerEvent::Level {
                        to: heapguard_breaker::PressureLevel::Cancel,
                        snapshot,
                        ..
                    }) => {
                        let t_secs = crate::event::secs_since(snapshot.time, shared.started_at);
                        if let Some(attribution) = &mut shared.lock().attribution {
                            attribution.on_cancel_line(t_secs);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => {
                        breakers.swap_remove(slot);
                    }
                }
            }
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic in a subscriber-free
        // section, so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The monitor's start as Unix seconds: the origin of its clock.
    #[cfg(feature = "metrics")]
    fn origin_secs(&self) -> f64 {
        self.started_at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64())
    }

    fn record(&self, quiescent: bool) -> Result<Sample, MonitorError> {
        let sample = match catch_unwind(AssertUnwindSafe(|| self.sampler.sample(quiescent))) {
            Ok(sample) => sample?,
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                tracing::error!(
                    target: "heapguard_monitor",
                    source = self.sampler.source_name(),
                    panic = %message,
                    "memory source panicked"
                );
                let t_secs = self.sampler.elapsed_secs();
                self.lock().publish(MemoryEvent::SourceFailed {
                    t_secs,
                    source: self.sampler.source_name().to_owned(),
                    message: message.clone(),
                });
                return Err(MonitorError::SourcePanicked(message));
            }
        };
        #[cfg(feature = "metrics")]
        crate::metrics_export::record_sample(&sample);
        let mut state = self.lock();
        state.samples_taken += 1;
        if state.window.len() == state.capacity {
            state.window.pop_front();
        }
        state.window.push_back(sample.clone());
        #[cfg(feature = "attribution")]
        if let Some(attribution) = &mut state.attribution {
            attribution.on_sample(sample.t_secs, sample.quiescent);
        }
        for event in state.analyzer.observe(sample.point()) {
            state.publish(event);
        }
        #[cfg(feature = "metrics")]
        if let Some(gauges) = state.analyzer.gauges(sample.t_secs) {
            crate::metrics_export::record_detector(&gauges, self.origin_secs());
        }
        #[cfg(feature = "attribution")]
        {
            // Symbolising loads the binary's line tables (tens of
            // milliseconds at least): never while holding the lock that
            // every other call of the monitor takes.
            let unresolved = std::mem::take(&mut state.unresolved);
            let observer = state.observer.clone();
            drop(state);
            for (t_secs, growth) in unresolved {
                let attribution = match &observer {
                    Some(observer) => observer
                        .run(|| growth.resolve())
                        .unwrap_or_else(|refused| growth.unsymbolized(Some(refused.to_string()))),
                    None => growth.resolve(),
                };
                self.lock().publish(MemoryEvent::LeakAttributed {
                    t_secs,
                    attribution,
                });
            }
        }
        Ok(sample)
    }
}

impl State {
    fn publish(&mut self, event: MemoryEvent) {
        tracing::warn!(
            target: "heapguard_monitor",
            event = event.kind(),
            t_secs = event.t_secs(),
            details = ?event,
            "memory event"
        );
        #[cfg(feature = "metrics")]
        crate::metrics_export::record_event(&event);
        #[cfg(feature = "attribution")]
        if let Some(growth) = self
            .attribution
            .as_mut()
            .and_then(|attribution| attribution.on_event(&event))
        {
            self.unresolved.push((event.t_secs(), growth));
        }
        let dropped = &mut self.dropped_events;
        self.subscribers
            .retain(|subscriber| match subscriber.try_send(event.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    *dropped += 1;
                    true
                }
                Err(TrySendError::Disconnected(_)) => false,
            });
    }
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-text payload".to_owned())
}
