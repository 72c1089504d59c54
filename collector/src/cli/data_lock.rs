//! One collector per data directory. Two collectors on one directory would append to the same spool and both
//! write it to SQL; `serve` takes an exclusive `flock` on `footfall.lock` in the directory and keeps it while it
//! runs. The kernel releases it when the process ends, however it ends, so a crash leaves no stale lock.
//! `footfall demo` takes no lock: it works in a spool directory of its own, beside a running collector.
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rustix::fs::{flock, FlockOperation};
use rustix::io::Errno;

pub const LOCK_FILE: &str = "footfall.lock";

/// Held for as long as it lives.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    pub fn acquire(dir: &Path) -> anyhow::Result<DataDirLock> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create data directory {}", dir.display()))?;
        let path: PathBuf = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(Errno::WOULDBLOCK) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let by = if holder.is_empty() { String::new() } else { format!(" (process {holder})") };
                bail!(
                    "another collector{by} is already running on the data directory {}; stop it, or give this one \
                     its own FOOTFALL_DATA_DIR",
                    dir.display()
                );
            }
            Err(error) => return Err(error).with_context(|| format!("cannot lock {}", path.display())),
        }
        // The holder's process id, for the message a second collector prints; the lock is the flock, not this.
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| write!(file, "{}", std::process::id()))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(DataDirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_directory_is_locked_once_until_its_holder_lets_go() {
        let dir = std::env::temp_dir().join(format!("footfall-lock-{}", uuid::Uuid::new_v4().simple()));
        let first = DataDirLock::acquire(&dir).expect("the first collector locks it");
        let refused = DataDirLock::acquire(&dir).expect_err("a second one is refused");
        assert!(refused.to_string().contains(&dir.display().to_string()), "{refused}");
        assert!(refused.to_string().contains(&std::process::id().to_string()), "names the holder: {refused}");
        drop(first);
        DataDirLock::acquire(&dir).expect("free again once the first is gone");
        let _ = std::fs::remove_dir_all(dir);
    }
}
