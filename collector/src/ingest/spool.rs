//! The spool: where an accepted event becomes durable before its beacon is answered 202.
//!
//! Beacon handlers hand encoded events to one spool thread, which appends everything waiting to the active
//! segment file with a single write and a single `fdatasync` (group commit), then acknowledges every waiting
//! handler at once. Segments are sealed by size or age and handed to the SQL writer, which deletes a segment
//! only after its events are committed. Segments left on disk by a crash are replayed at start.
//!
//! Record framing: `len: u32 LE | crc32(payload): u32 LE | payload`. A torn tail (a crash mid-write, never
//! acknowledged) fails its length or checksum and ends the replay of that segment.
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc as tokio_mpsc, oneshot};

use crate::settings::SpoolSettings;

const HEADER: usize = 8;
/// Commands drained into one group commit at most; bounds the latency a single fsync adds.
const MAX_GROUP: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the spool is full ({used} of {max} bytes); the database is behind")]
    Full { used: u64, max: u64 },
    #[error("spool write failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the spool thread has stopped")]
    Stopped,
}

/// A segment file whose records are all durable and which no longer grows.
#[derive(Debug)]
pub struct Sealed {
    pub path: PathBuf,
    pub bytes: u64,
}

struct Append {
    payload: Vec<u8>,
    ack: oneshot::Sender<Result<(), String>>,
}

/// The handle beacon handlers append through. Cheap to clone.
#[derive(Clone)]
pub struct Spool {
    tx: mpsc::Sender<Append>,
    shared: Arc<Shared>,
    max_bytes: u64,
}

/// Accounting shared by the spool thread, the handlers and the SQL writer.
pub struct Shared {
    /// Bytes in segments not yet committed to SQL (sealed, active, and reserved by appends in flight).
    used: AtomicU64,
    alive: AtomicBool,
}

impl Shared {
    /// Called by the writer after a segment's events are committed and its file deleted.
    pub fn release(&self, bytes: u64) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }
}

impl Spool {
    /// Opens the spool directory: segments already there are sealed and queued for replay, a new thread writes
    /// new ones. Sealed segments arrive on the returned receiver, in order.
    pub fn open(
        dir: &Path,
        settings: &SpoolSettings,
    ) -> Result<(Spool, tokio_mpsc::UnboundedReceiver<Sealed>), SpoolError> {
        fs::create_dir_all(dir)?;
        let (sealed_tx, sealed_rx) = tokio_mpsc::unbounded_channel();
        let mut existing = list_segments(dir)?;
        existing.sort();
        let mut used = 0;
        let mut next_seq = 0;
        for (seq, path) in existing {
            let bytes = fs::metadata(&path)?.len();
            used += bytes;
            next_seq = seq + 1;
            if bytes == 0 {
                fs::remove_file(&path)?;
                continue;
            }
            // The receiver is returned below; it cannot have been dropped yet.
            let _ = sealed_tx.send(Sealed { path, bytes });
        }
        let shared = Arc::new(Shared { used: AtomicU64::new(used), alive: AtomicBool::new(true) });
        let (tx, rx) = mpsc::channel();
        let thread = SpoolThread {
            dir: dir.to_owned(),
            rx,
            sealed: sealed_tx,
            active: None,
            next_seq,
            segment_bytes: settings.segment_bytes,
            max_age: Duration::from_millis(settings.segment_max_age_ms),
            shared: shared.clone(),
        };
        std::thread::Builder::new().name("footfall-spool".into()).spawn(move || thread.run())?;
        Ok((Spool { tx, shared, max_bytes: settings.max_bytes }, sealed_rx))
    }

    /// Refuses early when the spool is already full, before a request does any other work (`append` still
    /// decides for the bytes it brings).
    pub fn check_room(&self) -> Result<(), SpoolError> {
        let used = self.shared.used();
        match used >= self.max_bytes {
            true => Err(SpoolError::Full { used, max: self.max_bytes }),
            false => Ok(()),
        }
    }

    /// Appends records and returns once they are on disk (fsynced). All or nothing for the caller: on error
    /// the caller answers non-2xx, so a sender retries and nothing it was told is stored is lost.
    pub async fn append(&self, records: Vec<Vec<u8>>) -> Result<(), SpoolError> {
        let framed: Vec<u8> = records.iter().flat_map(|r| frame(r)).collect();
        let size = framed.len() as u64;
        let before = self.shared.used.fetch_add(size, Ordering::AcqRel);
        if before + size > self.max_bytes {
            self.shared.used.fetch_sub(size, Ordering::AcqRel);
            return Err(SpoolError::Full { used: before, max: self.max_bytes });
        }
        let (ack, done) = oneshot::channel();
        if self.tx.send(Append { payload: framed, ack }).is_err() {
            self.shared.used.fetch_sub(size, Ordering::AcqRel);
            return Err(SpoolError::Stopped);
        }
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => {
                self.shared.used.fetch_sub(size, Ordering::AcqRel);
                Err(SpoolError::Io(std::io::Error::other(message)))
            }
            Err(_) => Err(SpoolError::Stopped),
        }
    }

    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    pub fn used_bytes(&self) -> u64 {
        self.shared.used()
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Usable: the thread runs and there is room for at least one more beacon.
    pub fn is_ready(&self) -> bool {
        self.shared.alive.load(Ordering::Acquire) && self.shared.used() < self.max_bytes
    }
}

pub(crate) fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Reads a segment's complete records; a torn or corrupt tail ends it (and is reported as discarded bytes).
pub fn read_segment(path: &Path) -> std::io::Result<(Vec<Vec<u8>>, usize)> {
    let data = fs::read(path)?;
    let mut records = Vec::new();
    let mut at = 0;
    while data.len() - at >= HEADER {
        let len = u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
        let crc = u32::from_le_bytes([data[at + 4], data[at + 5], data[at + 6], data[at + 7]]);
        let Some(payload) = data.get(at + HEADER..at + HEADER + len) else { break };
        if crc32fast::hash(payload) != crc {
            break;
        }
        records.push(payload.to_vec());
        at += HEADER + len;
    }
    Ok((records, data.len() - at))
}

fn list_segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let seq = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("seg-"))
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(seq) = seq {
            out.push((seq, path));
        }
    }
    Ok(out)
}

struct Active {
    file: File,
    path: PathBuf,
    bytes: u64,
    opened: Instant,
}

struct SpoolThread {
    dir: PathBuf,
    rx: mpsc::Receiver<Append>,
    sealed: tokio_mpsc::UnboundedSender<Sealed>,
    active: Option<Active>,
    next_seq: u64,
    segment_bytes: u64,
    max_age: Duration,
    shared: Arc<Shared>,
}

impl SpoolThread {
    fn run(mut self) {
        loop {
            let wait = match &self.active {
                Some(a) => self.max_age.saturating_sub(a.opened.elapsed()),
                None => Duration::from_secs(3600),
            };
            match self.rx.recv_timeout(wait) {
                Ok(first) => {
                    let mut group = vec![first];
                    while group.len() < MAX_GROUP {
                        match self.rx.try_recv() {
                            Ok(next) => group.push(next),
                            Err(_) => break,
                        }
                    }
                    self.commit(group);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => self.seal(),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.seal();
                    break;
                }
            }
            if self.active.as_ref().is_some_and(|a| a.bytes >= self.segment_bytes || a.opened.elapsed() >= self.max_age)
            {
                self.seal();
            }
        }
        self.shared.alive.store(false, Ordering::Release);
    }

    /// One write and one fsync for the whole group, then every waiting handler is answered.
    fn commit(&mut self, group: Vec<Append>) {
        let mut buffer = Vec::with_capacity(group.iter().map(|a| a.payload.len()).sum());
        for append in &group {
            buffer.extend_from_slice(&append.payload);
        }
        let result = self.write(&buffer);
        let outcome = result.as_ref().map(|_| ()).map_err(|e| e.to_string());
        if let Err(error) = &result {
            tracing::error!(%error, "spool write failed; answering 503 to this group");
        }
        for append in group {
            // A handler that gave up waiting is gone; its records are durable regardless.
            let _ = append.ack.send(outcome.clone());
        }
    }

    fn write(&mut self, buffer: &[u8]) -> std::io::Result<()> {
        if self.active.is_none() {
            self.active = Some(self.create()?);
        }
        let Some(active) = self.active.as_mut() else { return Err(std::io::Error::other("no active segment")) };
        let good_len = active.bytes;
        let result = active.file.write_all(buffer).and_then(|_| active.file.sync_data());
        match result {
            Ok(()) => {
                active.bytes += buffer.len() as u64;
                Ok(())
            }
            Err(error) => {
                // Cut what may have been half written, so later records never sit behind garbage, and start a
                // fresh segment for the next group.
                let _ = active.file.set_len(good_len).and_then(|_| active.file.sync_data());
                self.seal();
                Err(error)
            }
        }
    }

    fn create(&mut self) -> std::io::Result<Active> {
        let path = self.dir.join(format!("seg-{:020}.log", self.next_seq));
        self.next_seq += 1;
        let file = OpenOptions::new().create_new(true).append(true).open(&path)?;
        // The new name must survive a crash too, not only the data written under it.
        File::open(&self.dir)?.sync_all()?;
        Ok(Active { file, path, bytes: 0, opened: Instant::now() })
    }

    fn seal(&mut self) {
        let Some(active) = self.active.take() else { return };
        if active.bytes == 0 {
            let _ = fs::remove_file(&active.path);
            return;
        }
        if self.sealed.send(Sealed { path: active.path, bytes: active.bytes }).is_err() {
            tracing::warn!("SQL writer is gone; sealed segment stays on disk for the next start");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(max_bytes: u64) -> SpoolSettings {
        SpoolSettings { max_bytes, segment_bytes: 1 << 20, segment_max_age_ms: 50 }
    }

    #[tokio::test]
    async fn appended_records_come_back_in_order_from_sealed_segments() {
        let dir = tempdir();
        let (spool, mut sealed) = Spool::open(&dir, &settings(1 << 20)).unwrap();
        spool.append(vec![b"one".to_vec(), b"two".to_vec()]).await.unwrap();
        spool.append(vec![b"three".to_vec()]).await.unwrap();
        let segment = sealed.recv().await.unwrap();
        let (records, torn) = read_segment(&segment.path).unwrap();
        assert_eq!(records, vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]);
        assert_eq!(torn, 0);
        assert_eq!(spool.used_bytes(), segment.bytes);
    }

    #[tokio::test]
    async fn a_full_spool_refuses_and_reserves_nothing() {
        let dir = tempdir();
        let (spool, _sealed) =
            Spool::open(&dir, &SpoolSettings { max_bytes: 40, segment_bytes: 40, segment_max_age_ms: 50 }).unwrap();
        spool.append(vec![vec![0; 20]]).await.unwrap();
        assert!(matches!(spool.append(vec![vec![0; 20]]).await, Err(SpoolError::Full { .. })));
        assert_eq!(spool.used_bytes(), 28);
        assert!(spool.check_room().is_ok(), "room for a smaller request is still there");
        spool.append(vec![vec![0; 4]]).await.unwrap();
        assert!(matches!(spool.check_room(), Err(SpoolError::Full { used: 40, max: 40 })));
    }

    #[tokio::test]
    async fn segments_left_by_a_crash_are_replayed_and_a_torn_tail_is_ignored() {
        let dir = tempdir();
        let mut bytes = frame(b"kept");
        bytes.extend_from_slice(&frame(b"torn")[..6]);
        fs::write(dir.join("seg-00000000000000000007.log"), &bytes).unwrap();
        let (spool, mut sealed) = Spool::open(&dir, &settings(1 << 20)).unwrap();
        let segment = sealed.recv().await.unwrap();
        assert_eq!(read_segment(&segment.path).unwrap(), (vec![b"kept".to_vec()], 6));
        spool.append(vec![b"new".to_vec()]).await.unwrap();
        let next = sealed.recv().await.unwrap();
        assert!(next.path.ends_with("seg-00000000000000000008.log"));
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("footfall-spool-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
