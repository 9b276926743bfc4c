//! The writer: [`AuditLog`] hands events to one dedicated thread that appends them, syncs once
//! per batch (group commit) and only then answers every waiter.

use crate::direct::{self, DirectWriter};
use crate::error::AuditError;
use crate::event::{AuditEvent, EventTime};
use crate::format::{self, DigestFields, GENESIS_PREV, MAX_LINE_BYTES, MAX_SEGMENT};
use crate::keys;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use strongroom_core::time::{Clock, Timestamp};
use strongroom_crypto::random::Random;
use strongroom_crypto::seal::RootKey;
use strongroom_crypto::signing::{Ed25519PublicKey, Ed25519SigningKey};
use tokio::sync::oneshot;

/// The lock file that keeps a second writer out of the directory.
const LOCK_FILE: &str = "lock";
/// The most events one group commit takes from the queue.
const MAX_BATCH: usize = 4096;
/// The fewest requests a group commit must answer for the writer to linger after it.
const LINGER_MIN_BATCH: usize = 4;
/// The longest the writer lingers between group commits.
const MAX_LINGER: Duration = Duration::from_millis(1);
/// Room for the envelope around an event's JSON.
const ENVELOPE_BYTES: usize = 128;
/// The open segment is extended by this many zero bytes at a time (less for small segments),
/// so that an `fdatasync` overwrites allocated blocks and need not commit a new file size.
const PREALLOCATE_BYTES: u64 = 4 * 1024 * 1024;
/// In best-effort mode no request waits for a sync, so the writer syncs at most this often and
/// lets events gather in between: one sync per interval instead of one after another.
const BEST_EFFORT_SYNC_INTERVAL: Duration = Duration::from_millis(5);

/// How the log rotates, digests and answers. [`AuditOptions::default`] gives the documented
/// defaults.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// A segment is closed (with a digest) once it has reached this size. Default 64 MiB. A
    /// segment can exceed it by the event line that crossed it and the digest lines after it.
    pub max_segment_bytes: u64,
    /// A segment is closed once it is this old (by the injected clock). Default 1 hour.
    pub max_segment_age: Duration,
    /// While events arrive, a digest is written at the latest this long after the first event
    /// it will cover. Default 60 seconds.
    pub digest_interval: Duration,
    /// A digest is written after this many events, whatever the time. Default 10,000.
    pub digest_every_records: u64,
    /// At most this many events wait for the writer; beyond it [`AuditLog::record`] fails with
    /// [`AuditError::QueueFull`] at once. Default 100,000.
    pub max_pending: usize,
    /// **Best-effort mode.** `record` returns as soon as the event is queued, before it is
    /// written or synced; write failures are only logged. The writer syncs at most every 5 ms,
    /// whatever the load. Events are lost if the process or the machine stops before the
    /// writer syncs them (within about 5 ms), and a
    /// failed disk is noticed by the log, not by the caller. Default `false`: fail-closed,
    /// `record` returns only once the event is durable and the caller treats an error as
    /// "no answer".
    pub best_effort: bool,
    /// Told how long every `fdatasync` of a segment took (for a latency histogram). Called on
    /// the writer thread: keep it cheap.
    pub on_fsync: Option<FsyncHook>,
    /// Write the open segment with direct I/O (`O_DIRECT | O_DSYNC`: one write per group
    /// commit, durable when it returns) where the file system allows it; otherwise, or when
    /// `false`, buffered writes and `fdatasync`. Default `true`.
    pub direct_io: bool,
}

/// A function the writer calls with the duration of every segment sync.
#[derive(Clone)]
pub struct FsyncHook(pub Arc<dyn Fn(Duration) + Send + Sync>);

impl std::fmt::Debug for FsyncHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FsyncHook")
    }
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            max_segment_bytes: 64 * 1024 * 1024,
            max_segment_age: Duration::from_secs(3600),
            digest_interval: Duration::from_secs(60),
            digest_every_records: 10_000,
            max_pending: 100_000,
            best_effort: false,
            on_fsync: None,
            direct_io: true,
        }
    }
}

/// A snapshot of the writer's counters, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Events queued and not yet taken by the writer.
    pub queue_depth: usize,
    /// How long the most recent `fdatasync` of a segment took, in microseconds.
    pub last_fsync_micros: u64,
    /// `fdatasync` calls on segment files since the log was opened.
    pub fsyncs: u64,
    /// Events written (and synced) since the log was opened.
    pub events: u64,
    /// Group commits (batches) since the log was opened.
    pub batches: u64,
    /// Digest records written since the log was opened.
    pub digests: u64,
    /// Segment files created since the log was opened.
    pub segments_created: u64,
    /// Whether the open segment is written with direct I/O (see [`AuditOptions::direct_io`]).
    pub direct_io: bool,
}

#[derive(Debug, Default)]
struct Shared {
    queue_depth: AtomicUsize,
    last_fsync_micros: AtomicU64,
    fsyncs: AtomicU64,
    events: AtomicU64,
    batches: AtomicU64,
    digests: AtomicU64,
    segments_created: AtomicU64,
    direct_io: AtomicBool,
    failed: AtomicBool,
}

type Reply = oneshot::Sender<Result<(), AuditError>>;

enum Msg {
    Event {
        json: Vec<u8>,
        time: EventTime,
        done: Option<Reply>,
    },
    Flush(Reply),
    Close(Reply),
}

/// Something that wants to see every event the log accepts (the alert engine). It is called
/// on the request path, after the event is durable (fail-closed) or queued (best-effort), so it
/// must not block: hand the event to a bounded queue of its own and return.
pub trait AuditObserver: Send + Sync + std::fmt::Debug {
    /// Sees one recorded event, and may keep it (the log has no further use for it, so
    /// keeping it costs no copy). `bytes` is the size of the event as recorded (its JSON): a
    /// measure of what keeping it costs.
    fn observe(&self, event: AuditEvent, bytes: usize);
}

/// The audit log writer. Cheap to share behind an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct AuditLog {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
    closed: AtomicBool,
    options: AuditOptions,
    public_key: Ed25519PublicKey,
    observer: std::sync::OnceLock<Arc<dyn AuditObserver>>,
    dir: PathBuf,
}

impl AuditLog {
    /// Opens (creating if needed) the log in `dir`, normally `DATA_DIR/audit`.
    ///
    /// On first open this creates the digest signing key (wrapped under `root`) and the public
    /// key file; later opens unwrap the same key. After an unclean shutdown it truncates a torn
    /// final line (logged as a warning: no response was ever sent for it), recovers the
    /// sequence number and chain hash, and writes a digest covering the records the crash left
    /// uncovered. New events always go to a new segment. Takes the directory's lock file, so
    /// one directory has one writer; does blocking file I/O, so call it at start-up or on a
    /// blocking thread.
    pub fn open(
        dir: impl AsRef<Path>,
        root: &RootKey,
        rng: &dyn Random,
        options: AuditOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AuditError> {
        let dir = dir.as_ref().to_owned();
        create_dir(&dir)?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| AuditError::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(AuditError::Locked { path: dir });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(AuditError::io(&lock_path, e)),
        }

        let mut segments = list(&dir)?;
        let key = keys::load_or_create(&dir, root, rng, !segments.is_empty())?;
        let public_key = key.public_key();
        let shared = Arc::new(Shared::default());
        let now = clock.now();
        let mut writer = Writer::new(
            dir.clone(),
            options.clone(),
            clock,
            key,
            Arc::clone(&shared),
            lock,
        );
        writer.recover(&mut segments, now)?;

        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("audit-writer".to_owned())
            .spawn(move || writer.run(rx))
            .map_err(|e| AuditError::io(&dir, e))?;
        Ok(Self {
            tx,
            shared,
            closed: AtomicBool::new(false),
            options,
            public_key,
            observer: std::sync::OnceLock::new(),
            dir,
        })
    }

    /// Attaches the observer that sees every event once it is recorded. Only the first call
    /// takes effect; returns whether this one did.
    pub fn set_observer(&self, observer: Arc<dyn AuditObserver>) -> bool {
        self.observer.set(observer).is_ok()
    }

    /// Records `event`. In the default fail-closed mode this returns only after the event's
    /// line is written and `fdatasync`ed; an error means the event may not be durable and the
    /// request must not be answered. In best-effort mode it returns once the event is queued.
    /// Never blocks the async runtime: the wait is on a oneshot channel.
    pub async fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        // Sized for a typical event, so serializing does not grow the buffer step by step.
        let mut json = Vec::with_capacity(1536);
        serde_json::to_writer(&mut json, &event)
            .map_err(|e| AuditError::Serialize(e.to_string()))?;
        let bytes = json.len();
        if bytes + ENVELOPE_BYTES > MAX_LINE_BYTES {
            return Err(AuditError::EventTooLarge(bytes));
        }
        if self.options.best_effort {
            self.enqueue(json, event.event_time, None)?;
        } else {
            let (done, wait) = oneshot::channel();
            self.enqueue(json, event.event_time, Some(done))?;
            wait.await.unwrap_or(Err(AuditError::Closed))?;
        }
        if let Some(observer) = self.observer.get() {
            observer.observe(event, bytes);
        }
        Ok(())
    }

    fn enqueue(
        &self,
        json: Vec<u8>,
        time: EventTime,
        done: Option<Reply>,
    ) -> Result<(), AuditError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(AuditError::Closed);
        }
        if self.shared.failed.load(Ordering::SeqCst) {
            return Err(AuditError::Failed);
        }
        let depth = self.shared.queue_depth.fetch_add(1, Ordering::SeqCst);
        if depth >= self.options.max_pending {
            self.shared.queue_depth.fetch_sub(1, Ordering::SeqCst);
            return Err(AuditError::QueueFull(depth));
        }
        self.tx.send(Msg::Event { json, time, done }).map_err(|_| {
            self.shared.queue_depth.fetch_sub(1, Ordering::SeqCst);
            AuditError::Closed
        })
    }

    /// Waits until every event queued before this call is durable (useful in best-effort
    /// mode). Also writes a digest if the digest interval has passed.
    pub async fn flush(&self) -> Result<(), AuditError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Msg::Flush(done))
            .map_err(|_| AuditError::Closed)?;
        wait.await.unwrap_or(Err(AuditError::Closed))
    }

    /// Clean shutdown: writes the queued events and a final digest covering everything, syncs,
    /// releases the directory lock and stops the writer thread. Later `record` calls fail with
    /// [`AuditError::Closed`]. A second call returns `Ok` at once. (Dropping the log without
    /// closing it does the same in the background, without waiting.)
    pub async fn close(&self) -> Result<(), AuditError> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Msg::Close(done))
            .map_err(|_| AuditError::Closed)?;
        wait.await.unwrap_or(Err(AuditError::Closed))
    }

    /// The counters for metrics.
    pub fn stats(&self) -> AuditStats {
        let s = &self.shared;
        AuditStats {
            queue_depth: s.queue_depth.load(Ordering::Relaxed),
            last_fsync_micros: s.last_fsync_micros.load(Ordering::Relaxed),
            fsyncs: s.fsyncs.load(Ordering::Relaxed),
            events: s.events.load(Ordering::Relaxed),
            batches: s.batches.load(Ordering::Relaxed),
            digests: s.digests.load(Ordering::Relaxed),
            segments_created: s.segments_created.load(Ordering::Relaxed),
            direct_io: s.direct_io.load(Ordering::Relaxed),
        }
    }

    /// The directory the log lives in (what the reader and the verifier take).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The public key that verifies this log's digests (also in the `public-key` file; keep a
    /// copy elsewhere, see the crate docs).
    pub fn public_key(&self) -> Ed25519PublicKey {
        self.public_key
    }
}

/// Makes a newly created or renamed directory entry durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| AuditError::io(dir, e))
}

fn create_dir(dir: &Path) -> Result<(), AuditError> {
    if dir.is_dir() {
        return Ok(());
    }
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
        .map_err(|e| AuditError::io(dir, e))?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

fn list(dir: &Path) -> Result<Vec<format::SegmentFile>, AuditError> {
    format::list_segments(dir).map_err(|e| match e {
        format::ListError::Io(e) => AuditError::io(dir, e),
        format::ListError::BadName(name) => {
            AuditError::Corrupt(format!("unexpected file {name} in the log directory"))
        }
    })
}

/// Events written since the last digest.
#[derive(Debug, Clone, Copy)]
struct Pending {
    first_seq: u64,
    count: u64,
    from: EventTime,
    to: EventTime,
    /// When (by the clock) the first of them was written.
    started: Timestamp,
}

impl Pending {
    fn add(this: &mut Option<Self>, seq: u64, time: EventTime, now: Timestamp) {
        match this {
            Some(p) => {
                p.count += 1;
                p.from = p.from.min(time);
                p.to = p.to.max(time);
            }
            None => {
                *this = Some(Self {
                    first_seq: seq,
                    count: 1,
                    from: time,
                    to: time,
                    started: now,
                });
            }
        }
    }
}

struct OpenSegment {
    file: File,
    path: PathBuf,
    /// Content length, including lines still in the writer's buffer (what rotation goes by).
    bytes: u64,
    /// Content written to the file.
    written: u64,
    /// The file's length: content, then zero bytes up to here.
    allocated: u64,
    opened: Timestamp,
    /// Set when the file was opened for direct I/O (only segments this writer created).
    direct: Option<DirectWriter>,
}

impl OpenSegment {
    /// Appends `buf` to the content and makes it durable, extending the zero padding first if
    /// needed. Returns how long the sync took (the direct write, or the `fdatasync`).
    fn write_durably(&mut self, buf: &[u8], chunk: u64) -> std::io::Result<Duration> {
        use std::os::unix::fs::FileExt as _;
        let end = self.written + buf.len() as u64;
        if end > self.allocated {
            let target = (end + chunk).next_multiple_of(direct::BLOCK as u64);
            match self.direct {
                Some(_) => direct::write_zeros(&self.file, self.allocated, target)?,
                None => write_zeros(&self.file, self.allocated, target)?,
            }
            self.allocated = target;
        }
        let started = match &mut self.direct {
            Some(direct) => {
                let started = Instant::now();
                direct.append(&self.file, self.written, buf)?;
                started
            }
            None => {
                self.file.write_all_at(buf, self.written)?;
                let started = Instant::now();
                self.file.sync_data()?;
                started
            }
        };
        self.written = end;
        Ok(started.elapsed())
    }

    /// Leaves direct I/O: reopens the file for buffered writes.
    fn reopen_buffered(&mut self) -> std::io::Result<()> {
        let (file, _) = direct::open(&self.path, false, 0, false)?;
        self.file = file;
        self.direct = None;
        Ok(())
    }

    fn new(file: File, path: PathBuf, len: u64, opened: Timestamp) -> Self {
        Self {
            file,
            path,
            bytes: len,
            written: len,
            allocated: len,
            opened,
            direct: None,
        }
    }
}

struct Writer {
    dir: PathBuf,
    options: AuditOptions,
    clock: Arc<dyn Clock>,
    key: Ed25519SigningKey,
    fingerprint: String,
    shared: Arc<Shared>,
    /// Held (locked) for the writer's lifetime; released when the writer is dropped.
    _lock: File,
    next_seq: u64,
    /// Chain hash of the last line written.
    prev: String,
    /// Chain hash of the last digest line.
    last_digest: Option<String>,
    pending: Option<Pending>,
    segment: Option<OpenSegment>,
    next_segment: u32,
    /// Lines appended to the open segment but not yet written to it.
    buf: Vec<u8>,
    failed: bool,
    /// How long the last sync took.
    last_sync: Duration,
    /// How long to let events gather before taking the next batch (fail-closed).
    linger: Duration,
}

/// How long the writer lets events gather after a group commit that answered `waiters`
/// requests and whose sync took `sync`, before it takes the next batch.
///
/// Under load, a writer that syncs again the moment it can writes batches of only the few
/// events that arrived during one sync: on a virtual disk that is thousands of syncs a second,
/// each costing CPU (the flush, its interrupts, the wake-ups) that the requests need. Waiting
/// as long as the last sync took about halves the syncs and doubles the batches, and lets the
/// sync take at most half the writer's time. A batch of fewer than [`LINGER_MIN_BATCH`] is
/// not load: a lone client, or a few, are never delayed. [`MAX_LINGER`] bounds the wait on a
/// slow disk.
fn linger(waiters: usize, sync: Duration) -> Duration {
    if waiters >= LINGER_MIN_BATCH {
        sync.min(MAX_LINGER)
    } else {
        Duration::ZERO
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Writer {
    /// A writer for a log with no records yet (recovery then restores the chain state).
    fn new(
        dir: PathBuf,
        options: AuditOptions,
        clock: Arc<dyn Clock>,
        key: Ed25519SigningKey,
        shared: Arc<Shared>,
        lock: File,
    ) -> Self {
        Self {
            fingerprint: format::hex(&key.public_key().fingerprint()),
            key,
            dir,
            options,
            clock,
            shared,
            _lock: lock,
            next_seq: 1,
            prev: GENESIS_PREV.to_owned(),
            last_digest: None,
            pending: None,
            segment: None,
            next_segment: 1,
            buf: Vec::new(),
            failed: false,
            last_sync: Duration::ZERO,
            linger: Duration::ZERO,
        }
    }

    // ---- recovery -------------------------------------------------------------------------

    /// Restores the chain state from the last segment(s), repairing a torn tail and sealing
    /// records an unclean shutdown left without a digest.
    fn recover(
        &mut self,
        segments: &mut Vec<format::SegmentFile>,
        now: Timestamp,
    ) -> Result<(), AuditError> {
        while let Some(last) = segments.last().cloned() {
            let state = scan_tail_segment(&last)?;
            let Some(state) = state else {
                // Nothing complete in it: a crash right after creating it (or after a torn
                // first line). Remove it and recover from the one before.
                tracing::warn!(segment = %last.name, "removing an audit segment with no complete record");
                std::fs::remove_file(&last.path).map_err(|e| AuditError::io(&last.path, e))?;
                sync_dir(&self.dir)?;
                segments.pop();
                continue;
            };
            self.next_segment = last
                .number
                .checked_add(1)
                .ok_or(AuditError::SegmentsExhausted)?;
            self.next_seq = state.last_seq + 1;
            self.prev = state.last_hash;
            self.last_digest = state.last_digest;
            if let Some(u) = state.uncovered {
                tracing::warn!(
                    segment = %last.name,
                    first_seq = u.first_seq,
                    count = u.count,
                    "sealing audit records left without a digest by an unclean shutdown"
                );
                self.pending = Some(Pending { started: now, ..u });
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&last.path)
                    .map_err(|e| AuditError::io(&last.path, e))?;
                let len = file
                    .metadata()
                    .map_err(|e| AuditError::io(&last.path, e))?
                    .len();
                self.segment = Some(OpenSegment::new(file, last.path.clone(), len, now));
                self.seal_segment()?;
            }
            return Ok(());
        }
        Ok(())
    }

    // ---- the thread -----------------------------------------------------------------------

    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        let tick = self
            .options
            .digest_interval
            .min(self.options.max_segment_age)
            .clamp(Duration::from_millis(10), Duration::from_secs(1));
        let close = loop {
            match rx.recv_timeout(tick) {
                Ok(first) => {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(m) => batch.push(m),
                            Err(_) => break,
                        }
                    }
                    let started = Instant::now();
                    if let Some(close) = self.handle_batch(batch) {
                        break Some(close);
                    }
                    if self.options.best_effort {
                        std::thread::sleep(
                            BEST_EFFORT_SYNC_INTERVAL.saturating_sub(started.elapsed()),
                        );
                    } else if !self.linger.is_zero() {
                        std::thread::sleep(self.linger);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => self.on_idle(),
                Err(mpsc::RecvTimeoutError::Disconnected) => break None,
            }
        };
        let result = self.shutdown();
        if let Err(e) = &result {
            tracing::error!(error = %e, "audit log did not close cleanly");
        }
        // Release the files and the lock before telling the closer we are done.
        drop(self);
        if let Some(reply) = close {
            let _ = reply.send(result);
        }
    }

    /// Writes one batch with one sync, then answers its waiters. Returns the closer's reply
    /// channel if the batch asked to close.
    fn handle_batch(&mut self, batch: Vec<Msg>) -> Option<Reply> {
        let mut waiters: Vec<Reply> = Vec::with_capacity(batch.len());
        let mut close = None;
        let mut written = 0u64;
        let mut result = if self.failed {
            Err(AuditError::Failed)
        } else {
            Ok(())
        };
        for msg in batch {
            match msg {
                Msg::Event { json, time, done } => {
                    self.shared.queue_depth.fetch_sub(1, Ordering::SeqCst);
                    if close.is_some() {
                        if let Some(done) = done {
                            let _ = done.send(Err(AuditError::Closed));
                        }
                        continue;
                    }
                    if result.is_ok() {
                        result = self.append_event(&json, time);
                        written += 1;
                    }
                    if let Some(done) = done {
                        waiters.push(done);
                    }
                }
                Msg::Flush(done) => waiters.push(done),
                Msg::Close(done) => close = Some(done),
            }
        }
        if result.is_ok() {
            result = self.digest_if_due().and_then(|()| self.commit());
        }
        match &result {
            Ok(()) => {
                self.shared.events.fetch_add(written, Ordering::Relaxed);
                self.shared.batches.fetch_add(1, Ordering::Relaxed);
                self.linger = linger(waiters.len(), self.last_sync);
                for w in waiters {
                    let _ = w.send(Ok(()));
                }
            }
            Err(e) => {
                let first_failure = !self.failed;
                self.fail();
                if first_failure {
                    tracing::error!(error = %e, "audit log write failed; refusing further events");
                }
                let message = e.to_string();
                for w in waiters {
                    let _ = w.send(Err(if first_failure {
                        AuditError::Write(message.clone())
                    } else {
                        AuditError::Failed
                    }));
                }
            }
        }
        close
    }

    fn on_idle(&mut self) {
        if self.failed {
            return;
        }
        let now = self.clock.now();
        let aged = self.segment.as_ref().is_some_and(|s| {
            now.0.saturating_sub(s.opened.0) >= millis(self.options.max_segment_age)
        });
        let result = if aged {
            self.seal_segment()
        } else {
            self.digest_if_due().and_then(|()| self.commit())
        };
        if let Err(e) = result {
            self.fail();
            tracing::error!(error = %e, "audit log write failed; refusing further events");
        }
    }

    fn shutdown(&mut self) -> Result<(), AuditError> {
        if self.failed {
            return Err(AuditError::Failed);
        }
        let r = self.seal_segment();
        if r.is_err() {
            self.fail();
        }
        r
    }

    fn fail(&mut self) {
        self.failed = true;
        self.shared.failed.store(true, Ordering::SeqCst);
        self.buf.clear();
    }

    // ---- writing --------------------------------------------------------------------------

    fn append_event(&mut self, json: &[u8], time: EventTime) -> Result<(), AuditError> {
        self.ensure_segment()?;
        let seq = self.next_seq;
        let start = self.buf.len();
        format::write_event_line(&mut self.buf, seq, &self.prev, json);
        self.end_line(start);
        let now = self.clock.now();
        Pending::add(&mut self.pending, seq, time, now);
        if self
            .pending
            .is_some_and(|p| p.count >= self.options.digest_every_records.max(1))
        {
            self.write_digest()?;
        }
        Ok(())
    }

    /// Closes the open segment if it is full or old, and opens a new one if none is open.
    fn ensure_segment(&mut self) -> Result<(), AuditError> {
        if let Some(seg) = &self.segment {
            let now = self.clock.now();
            let full = seg.bytes >= self.options.max_segment_bytes;
            let old = now.0.saturating_sub(seg.opened.0) >= millis(self.options.max_segment_age);
            if full || old {
                self.seal_segment()?;
            }
        }
        if self.segment.is_none() {
            self.create_segment()?;
        }
        Ok(())
    }

    fn create_segment(&mut self) -> Result<(), AuditError> {
        let number = self.next_segment;
        if number > MAX_SEGMENT {
            return Err(AuditError::SegmentsExhausted);
        }
        let path = self.dir.join(format::segment_name(number));
        let (file, direct) = direct::open(&path, true, 0o640, self.options.direct_io)
            .map_err(|e| AuditError::io(&path, e))?;
        sync_dir(&self.dir)?;
        self.next_segment = number + 1;
        self.shared.segments_created.fetch_add(1, Ordering::Relaxed);
        self.shared.direct_io.store(direct, Ordering::Relaxed);
        let mut segment = OpenSegment::new(file, path, 0, self.clock.now());
        segment.direct = direct.then(DirectWriter::new);
        self.segment = Some(segment);
        Ok(())
    }

    /// Writes a digest if events are waiting for one and the interval has passed.
    fn digest_if_due(&mut self) -> Result<(), AuditError> {
        let Some(p) = self.pending else {
            return Ok(());
        };
        let now = self.clock.now();
        if now.0.saturating_sub(p.started.0) >= millis(self.options.digest_interval) {
            self.write_digest()?;
        }
        Ok(())
    }

    /// Appends the digest of the pending events. Needs an open segment.
    fn write_digest(&mut self) -> Result<(), AuditError> {
        let Some(p) = self.pending else {
            return Ok(());
        };
        let seq = self.next_seq;
        let fields = DigestFields {
            seq,
            first_seq: p.first_seq,
            last_seq: seq - 1,
            count: p.count,
            from_time: p.from,
            to_time: p.to,
            head: self.prev.clone(),
            previous_digest: self.last_digest.clone(),
            public_key_fingerprint: self.fingerprint.clone(),
        };
        let signature = self
            .key
            .sign(&fields.signing_bytes())
            .map_err(AuditError::Crypto)?;
        let line = fields.line(&self.prev, STANDARD.encode(signature));
        let hash = self.push_line(line);
        self.last_digest = Some(hash);
        self.pending = None;
        self.shared.digests.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Adds a line to the buffer and advances the chain; returns the line's hash.
    fn push_line(&mut self, line: Vec<u8>) -> String {
        let start = self.buf.len();
        self.buf.extend_from_slice(&line);
        self.end_line(start)
    }

    /// Ends the line the buffer holds from `start` on and advances the chain; returns the
    /// line's hash.
    fn end_line(&mut self, start: usize) -> String {
        let hash = format::line_hash(&self.buf[start..]);
        self.buf.push(b'\n');
        if let Some(seg) = &mut self.segment {
            seg.bytes += (self.buf.len() - start) as u64;
        }
        self.next_seq += 1;
        self.prev.clone_from(&hash);
        hash
    }

    /// Writes the buffer to the open segment and makes it durable.
    ///
    /// The segment is preallocated: the buffer overwrites zero bytes written (and synced)
    /// earlier, so on common file systems the sync writes the data blocks and flushes the
    /// device without a journal commit for a changed file size, about half the work of a sync
    /// after an append. The zeros are extended a chunk at a time, and cut off when the segment
    /// is sealed; readers stop at the first zero byte. With direct I/O the write itself is the
    /// sync (see [`direct`]); otherwise a buffered write is followed by `fdatasync`.
    fn commit(&mut self) -> Result<(), AuditError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = preallocation_chunk(self.options.max_segment_bytes);
        let Some(seg) = &mut self.segment else {
            return Err(AuditError::Write("no open segment".to_owned()));
        };
        let took = match seg.write_durably(&self.buf, chunk) {
            // The file system opened the file for direct I/O but refuses these writes (a
            // stricter alignment than 4 KiB): nothing was written; go on buffered.
            Err(e) if seg.direct.is_some() && e.raw_os_error() == Some(libc::EINVAL) => {
                tracing::warn!(segment = %seg.path.display(), "the audit log's file system refuses direct writes; using buffered writes and fdatasync");
                self.shared.direct_io.store(false, Ordering::Relaxed);
                seg.reopen_buffered()
                    .and_then(|()| seg.write_durably(&self.buf, chunk))
            }
            r => r,
        }
        .map_err(|e| AuditError::io(&seg.path, e))?;
        self.last_sync = took;
        if let Some(hook) = &self.options.on_fsync {
            (hook.0)(took);
        }
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.shared
            .last_fsync_micros
            .store(micros, Ordering::Relaxed);
        self.shared.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.buf.clear();
        Ok(())
    }

    /// Digests what is pending, writes and syncs the open segment, cuts off its zero padding
    /// and closes it.
    fn seal_segment(&mut self) -> Result<(), AuditError> {
        if self.segment.is_none() {
            return Ok(());
        }
        self.write_digest()?;
        self.commit()?;
        if let Some(seg) = self.segment.take()
            && seg.allocated > seg.written
        {
            seg.file
                .set_len(seg.written)
                .and_then(|()| seg.file.sync_all())
                .map_err(|e| AuditError::io(&seg.path, e))?;
        }
        Ok(())
    }
}

/// How far ahead of its content the open segment is zero-filled: [`PREALLOCATE_BYTES`], or
/// the segment size if that is smaller, in whole 4 KiB pages.
fn preallocation_chunk(max_segment_bytes: u64) -> u64 {
    const PAGE: u64 = 4096;
    PREALLOCATE_BYTES
        .min(max_segment_bytes)
        .div_ceil(PAGE)
        .max(1)
        * PAGE
}

/// Writes zero bytes to `file` from `from` up to `to`.
fn write_zeros(file: &File, from: u64, to: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt as _;
    static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];
    let mut at = from;
    while at < to {
        let n = usize::try_from(to - at).map_or(ZEROS.len(), |n| n.min(ZEROS.len()));
        file.write_all_at(&ZEROS[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

/// Before recovery truncates the last segment after its last complete line, keeps what it
/// drops (other than zeros) in `dropped-<segment>-<offset>` next to it, synced: after a crash
/// that is a write that was never acknowledged, but the same bytes could be the sign of damage
/// to acknowledged records, and the evidence is not destroyed. Complete lines among them are
/// logged as an error.
fn keep_dropped(seg: &format::SegmentFile, from: u64) -> Result<(), AuditError> {
    use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
    use std::os::unix::fs::OpenOptionsExt as _;
    let io = |e| AuditError::io(&seg.path, e);
    let mut file = File::open(&seg.path).map_err(io)?;
    file.seek(SeekFrom::Start(from)).map_err(io)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io)?;
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    bytes.truncate(end);
    let stem = seg
        .name
        .strip_suffix(format::SEGMENT_SUFFIX)
        .unwrap_or(&seg.name);
    let kept = seg.path.with_file_name(format!("dropped-{stem}-{from}"));
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o640)
        .open(&kept)
        .map_err(|e| AuditError::io(&kept, e))?;
    out.write_all(&bytes)
        .and_then(|()| out.sync_all())
        .map_err(|e| AuditError::io(&kept, e))?;
    if let Some(dir) = kept.parent() {
        sync_dir(dir)?;
    }
    // Complete lines: a record's `{` (after any zeros of a gap) up to its newline.
    let lines = bytes
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| l.ends_with(b"\n") && l.iter().find(|&&b| b != 0) == Some(&b'{'))
        .count();
    if lines > 0 {
        tracing::error!(
            segment = %seg.name,
            offset = from,
            lines,
            kept = %kept.display(),
            "recovery drops complete audit lines found after the end of the segment's content (zero bytes before them): normally pages of a write a crash interrupted (never acknowledged); if more than one batch of records is there, the disk lost data. The bytes are kept; run `strongroom audit verify`"
        );
    } else {
        tracing::warn!(
            segment = %seg.name,
            offset = from,
            bytes = bytes.len(),
            kept = %kept.display(),
            "recovery drops the unfinished end of the audit segment an unclean shutdown left open (never acknowledged); the bytes are kept"
        );
    }
    Ok(())
}

/// What the scan of the last segment found.
struct TailState {
    last_seq: u64,
    last_hash: String,
    last_digest: Option<String>,
    uncovered: Option<Pending>,
}

/// Scans the last segment: every complete line must parse and chain; a final line without its
/// newline is a torn write, and zero padding (with anything a crash left after it) is not
/// content: both are truncated away. Returns `None` if no complete line remains.
fn scan_tail_segment(seg: &format::SegmentFile) -> Result<Option<TailState>, AuditError> {
    let corrupt = |line: u64, what: String| {
        AuditError::Corrupt(format!(
            "{} line {line}: {what}; run the verifier",
            seg.name
        ))
    };
    let file = File::open(&seg.path).map_err(|e| AuditError::io(&seg.path, e))?;
    let mut reader = format::LineReader::new(BufReader::new(file));
    let mut valid_len = 0u64;
    let mut line_no = 0u64;
    let mut state: Option<TailState> = None;
    let mut torn = 0usize;
    loop {
        let next = reader
            .next_line()
            .map_err(|e| AuditError::io(&seg.path, e))?;
        let line = match next {
            None => break,
            Some(format::Line::Complete(line)) => line,
            Some(format::Line::Torn(n)) => {
                line_no += 1;
                torn = n;
                break;
            }
            Some(format::Line::TooLong) => {
                return Err(corrupt(line_no + 1, "line longer than 16 MiB".to_owned()));
            }
        };
        line_no += 1;
        let n = line.len() + 1;
        let record = format::parse_record(&line).map_err(|e| corrupt(line_no, e))?;
        if record.seq == 0 {
            return Err(corrupt(line_no, "seq 0".to_owned()));
        }
        let hash = format::line_hash(&line);
        let s = match &mut state {
            Some(s) => s,
            None => {
                if seg.number == 1 && (record.seq != 1 || record.prev != GENESIS_PREV) {
                    return Err(corrupt(line_no, "the first record is not seq 1".to_owned()));
                }
                // Every segment before this one ends with a digest, so the line this one
                // chains to is the previous digest.
                let last_digest = (record.seq > 1).then(|| record.prev.clone());
                state.insert(TailState {
                    last_seq: record.seq - 1,
                    last_hash: record.prev.clone(),
                    last_digest,
                    uncovered: None,
                })
            }
        };
        if record.seq != s.last_seq.saturating_add(1) || record.prev != s.last_hash {
            return Err(corrupt(
                line_no,
                format!("seq {} does not follow the record before it", record.seq),
            ));
        }
        match &record.body {
            format::Body::Event(e) => {
                Pending::add(&mut s.uncovered, record.seq, e.event_time, Timestamp(0));
            }
            format::Body::Digest(_) => {
                s.uncovered = None;
                s.last_digest = Some(hash.clone());
            }
        }
        s.last_seq = record.seq;
        s.last_hash = hash;
        valid_len += n as u64;
    }
    let padding = reader.padding();
    if torn > 0 || padding.is_some() {
        if torn > 0 {
            tracing::warn!(
                segment = %seg.name,
                line = line_no,
                bytes = torn,
                "truncating a torn final audit line (a write interrupted by a crash; it was never acknowledged)"
            );
        }
        if torn > 0 || padding.is_some_and(|p| !p.clean) {
            keep_dropped(seg, valid_len)?;
        }
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&seg.path)
            .map_err(|e| AuditError::io(&seg.path, e))?;
        f.set_len(valid_len)
            .and_then(|()| f.sync_all())
            .map_err(|e| AuditError::io(&seg.path, e))?;
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongroom_core::time::ManualClock;
    use strongroom_crypto::random::SystemRandom;

    #[test]
    fn lingers_only_under_load_and_never_long() {
        let sync = Duration::from_micros(300);
        assert_eq!(
            linger(1, sync),
            Duration::ZERO,
            "a lone client is not delayed"
        );
        assert_eq!(linger(LINGER_MIN_BATCH - 1, sync), Duration::ZERO);
        assert_eq!(linger(LINGER_MIN_BATCH, sync), sync);
        assert_eq!(linger(500, Duration::from_secs(2)), MAX_LINGER);
    }

    /// A direct write that is refused with EINVAL (a file system that wants a larger
    /// alignment; here, a misaligned offset) is done again buffered, and the segment stays
    /// buffered.
    #[test]
    fn a_refused_direct_write_falls_back_to_buffered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("segment");
        let (file, is_direct) = direct::open(&path, true, 0o600, true).unwrap();
        assert!(is_direct);
        let mut seg = OpenSegment::new(file, path.clone(), 0, Timestamp(0));
        seg.direct = Some(DirectWriter::new());
        seg.write_durably(b"12345", 4096).unwrap();
        // Corrupt the bookkeeping so the next direct write is misaligned.
        seg.written = 3;
        seg.allocated = 4099;
        let err = seg.write_durably(b"abc\n", 4096).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
        assert_eq!(seg.written, 3, "nothing counted as written");
        let mut writer = Writer::new(
            dir.path().to_owned(),
            AuditOptions::default(),
            Arc::new(ManualClock::new(Timestamp(0))),
            keys::load_or_create(
                dir.path(),
                &RootKey::generate(&SystemRandom).unwrap(),
                &SystemRandom,
                false,
            )
            .unwrap(),
            Arc::new(Shared::default()),
            File::create(dir.path().join(LOCK_FILE)).unwrap(),
        );
        writer.shared.direct_io.store(true, Ordering::Relaxed);
        writer.segment = Some(seg);
        writer.buf.extend_from_slice(b"abc\n");
        writer.commit().unwrap();
        assert!(!writer.shared.direct_io.load(Ordering::Relaxed));
        let seg = writer.segment.as_ref().unwrap();
        assert!(seg.direct.is_none());
        assert_eq!(seg.written, 7);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"123abc\n\0");
    }

    /// Queues events before the writer thread starts, so the first batch must take them all:
    /// group commit writes them with one sync.
    #[test]
    fn one_batch_is_one_sync() {
        let dir = tempfile::tempdir().unwrap();
        let root = RootKey::generate(&SystemRandom).unwrap();
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(Timestamp(1_795_939_200_000)));
        let lock = File::create(dir.path().join(LOCK_FILE)).unwrap();
        let key = keys::load_or_create(dir.path(), &root, &SystemRandom, false).unwrap();
        let shared = Arc::new(Shared::default());
        let hooked = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&hooked);
        let on_fsync = FsyncHook(Arc::new(move |_took: Duration| {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        let writer = Writer::new(
            dir.path().to_owned(),
            AuditOptions {
                on_fsync: Some(on_fsync),
                ..AuditOptions::default()
            },
            clock,
            key,
            Arc::clone(&shared),
            lock,
        );
        let (tx, rx) = mpsc::channel();
        let mut waits = Vec::new();
        let event = crate::event::tests::sample();
        let json = serde_json::to_vec(&event).unwrap();
        for _ in 0..100 {
            let (done, wait) = oneshot::channel();
            shared.queue_depth.fetch_add(1, Ordering::SeqCst);
            tx.send(Msg::Event {
                json: json.clone(),
                time: event.event_time,
                done: Some(done),
            })
            .unwrap();
            waits.push(wait);
        }
        let (closed, close_wait) = oneshot::channel();
        tx.send(Msg::Close(closed)).unwrap();
        let handle = std::thread::spawn(move || writer.run(rx));
        handle.join().unwrap();
        for w in waits {
            w.blocking_recv().unwrap().unwrap();
        }
        close_wait.blocking_recv().unwrap().unwrap();
        // One sync for the batch, one for the segment sealed at close.
        assert_eq!(shared.events.load(Ordering::SeqCst), 100);
        assert_eq!(shared.batches.load(Ordering::SeqCst), 1);
        assert_eq!(shared.fsyncs.load(Ordering::SeqCst), 2);
        assert_eq!(hooked.load(Ordering::SeqCst), 2, "the hook sees every sync");
        assert_eq!(shared.queue_depth.load(Ordering::SeqCst), 0);
    }
}
