//! How far each bot has confirmed its updates (the pts below which nothing is delivered
//! again), kept in memory and, when given a file, written there after each advance so that
//! a restarted server (even after SIGKILL) does not deliver confirmed updates again.
//!
//! The file has one `BOT_ID PTS` line per bot, replaced whole (written beside it, then
//! renamed over it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Confirmed positions per bot.
#[derive(Debug, Default)]
pub struct Offsets {
    confirmed: Arc<Mutex<HashMap<i64, i32>>>,
    file: Option<PathBuf>,
    /// One write at a time, each of the newest state.
    writing: Arc<Mutex<()>>,
}

/// A file of offsets that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("bot api offsets {path}: {source}")]
pub struct OffsetsError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

impl Offsets {
    /// Offsets kept in `path` (read now if it exists; lines that are not `BOT_ID PTS` are
    /// skipped).
    pub fn load(path: &Path) -> Result<Self, OffsetsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(OffsetsError {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let confirmed = parse(&text);
        Ok(Offsets {
            confirmed: Arc::new(Mutex::new(confirmed)),
            file: Some(path.to_owned()),
            writing: Arc::default(),
        })
    }

    /// The bot's confirmed pts (0: nothing confirmed).
    pub fn get(&self, bot: i64) -> i32 {
        let confirmed = self
            .confirmed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        confirmed.get(&bot).copied().unwrap_or(0)
    }

    /// Raises the bot's confirmed pts to `pts` (never lowers it); whether it moved.
    pub fn raise(&self, bot: i64, pts: i32) -> bool {
        let mut confirmed = self
            .confirmed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = confirmed.entry(bot).or_insert(0);
        if pts > *entry {
            *entry = pts;
            true
        } else {
            false
        }
    }

    /// Writes the current state to the file (if any), off the async threads. A failure is
    /// logged: confirmed updates may then come again after a restart, nothing else.
    pub async fn save(&self) {
        let Some(path) = self.file.clone() else {
            return;
        };
        let (confirmed, writing) = (self.confirmed.clone(), self.writing.clone());
        let written = tokio::task::spawn_blocking(move || {
            let _one = writing.lock().unwrap_or_else(PoisonError::into_inner);
            let text = {
                let confirmed = confirmed.lock().unwrap_or_else(PoisonError::into_inner);
                format_offsets(&confirmed)
            };
            let temporary = path.with_extension("new");
            std::fs::write(&temporary, text)?;
            std::fs::rename(&temporary, &path)
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("bot api: writing the offsets: {e}"),
            Err(e) => tracing::warn!("bot api: writing the offsets: {e}"),
        }
    }
}

/// `BOT_ID PTS` lines, sorted by bot.
fn format_offsets(confirmed: &HashMap<i64, i32>) -> String {
    let mut lines: Vec<(i64, i32)> = confirmed.iter().map(|(b, p)| (*b, *p)).collect();
    lines.sort_unstable();
    lines.iter().map(|(b, p)| format!("{b} {p}\n")).collect()
}

/// The inverse of [`format_offsets`], skipping malformed lines.
fn parse(text: &str) -> HashMap<i64, i32> {
    text.lines()
        .filter_map(|line| {
            let (bot, pts) = line.trim().split_once(' ')?;
            Some((bot.parse().ok()?, pts.trim().parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_only_rise() {
        let offsets = Offsets::default();
        assert_eq!(offsets.get(5), 0);
        assert!(offsets.raise(5, 10));
        assert!(!offsets.raise(5, 7));
        assert_eq!(offsets.get(5), 10);
    }

    #[tokio::test]
    async fn offsets_survive_in_their_file() {
        let dir = std::env::temp_dir().join(format!("botapi-offsets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("offsets");
        let _ = std::fs::remove_file(&path);
        let offsets = Offsets::load(&path).unwrap();
        offsets.raise(100_001, 42);
        offsets.raise(100_000, 7);
        offsets.save().await;
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "100000 7\n100001 42\n"
        );
        let again = Offsets::load(&path).unwrap();
        assert_eq!((again.get(100_001), again.get(100_000)), (42, 7));
        std::fs::write(&path, "garbage\n3 x\n9 4\n").unwrap();
        let odd = Offsets::load(&path).unwrap();
        assert_eq!((odd.get(3), odd.get(9)), (0, 4));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
