//! What a client remembers between runs: auth keys per DC, the signed-in user, the update
//! state and the peers it has seen. A [`SessionStore`] keeps it; [`FileSessionStore`] is the
//! default, [`MemorySessionStore`] forgets everything when dropped.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One data center the client knows.
#[derive(Clone, PartialEq, Eq)]
pub struct DcEntry {
    /// The DC id.
    pub id: i32,
    /// `host:port`.
    pub addr: String,
    /// The auth key made with this DC, if any.
    pub auth_key: Option<[u8; 256]>,
}

impl std::fmt::Debug for DcEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("DcEntry")
            .field("id", &self.id)
            .field("addr", &self.addr)
            .field("auth_key", &self.auth_key.map(|_| "<256 bytes>"))
            .finish()
    }
}

/// The update state: the common box (pts, qts, date, seq) and each channel's pts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateState {
    /// The common message box's pts.
    pub pts: i32,
    /// The secret-chat / bot box's qts.
    pub qts: i32,
    /// The date of the last update applied.
    pub date: i32,
    /// The seq of the last `updates` / `updatesCombined` applied.
    pub seq: i32,
    /// pts per channel id.
    pub channels: HashMap<i64, i32>,
}

/// What kind of peer an id is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeerKind {
    /// A user (or bot).
    User,
    /// A basic group (no access hash).
    Chat,
    /// A channel or megagroup.
    Channel,
}

impl PeerKind {
    fn letter(self) -> char {
        match self {
            PeerKind::User => 'u',
            PeerKind::Chat => 'g',
            PeerKind::Channel => 'c',
        }
    }

    fn from_letter(s: &str) -> Option<Self> {
        match s {
            "u" => Some(PeerKind::User),
            "g" => Some(PeerKind::Chat),
            "c" => Some(PeerKind::Channel),
            _ => None,
        }
    }
}

/// Everything a session keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionData {
    /// The DC the account lives in.
    pub home_dc: i32,
    /// Known DCs, with their keys.
    pub dcs: Vec<DcEntry>,
    /// The signed-in user's id and whether it is a bot.
    pub user: Option<(i64, bool)>,
    /// The update state, once known.
    pub state: Option<UpdateState>,
    /// Access hashes of the peers seen: (kind, id) → hash.
    pub peers: HashMap<(PeerKind, i64), i64>,
    /// Usernames seen, lowercase → (kind, id).
    pub usernames: HashMap<String, (PeerKind, i64)>,
}

/// Why a session could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Reading or writing the file failed.
    #[error("session file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a session this version understands.
    #[error("session file line {line}: {reason}")]
    Format {
        /// The 1-based line.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// Where a client keeps its [`SessionData`]. Implement it to keep sessions in a database.
pub trait SessionStore: Send + Sync + 'static {
    /// The saved session, or `None` for a new one.
    fn load(&self) -> Result<Option<SessionData>, SessionError>;
    /// Replaces the saved session. Called after sign-in, new keys and (debounced) update
    /// state changes; it should be durable when it returns.
    fn save(&self, data: &SessionData) -> Result<(), SessionError>;
}

/// A session kept in memory only.
#[derive(Debug, Default)]
pub struct MemorySessionStore(Mutex<Option<SessionData>>);

impl SessionStore for MemorySessionStore {
    fn load(&self) -> Result<Option<SessionData>, SessionError> {
        Ok(self.0.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    fn save(&self, data: &SessionData) -> Result<(), SessionError> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(data.clone());
        Ok(())
    }
}

/// A session in a text file, replaced atomically (written beside it, synced, renamed), and
/// on Unix readable by its owner only (it holds the auth keys).
///
/// ```
/// use client_sdk::{FileSessionStore, SessionData, SessionStore};
/// let path = std::env::temp_dir().join(format!("doc-{}.session", std::process::id()));
/// let store = FileSessionStore::new(&path);
/// assert_eq!(store.load().unwrap(), None);
/// let data = SessionData { home_dc: 2, user: Some((42, false)), ..Default::default() };
/// store.save(&data).unwrap();
/// assert_eq!(store.load().unwrap(), Some(data));
/// # std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct FileSessionStore {
    path: PathBuf,
}

impl FileSessionStore {
    /// A store at `path` (created on the first save).
    pub fn new(path: impl AsRef<Path>) -> Self {
        FileSessionStore {
            path: path.as_ref().to_path_buf(),
        }
    }

    fn io(&self, source: std::io::Error) -> SessionError {
        SessionError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

const MAGIC: &str = "mtproto-toolkit-session 1";

impl SessionStore for FileSessionStore {
    fn load(&self) -> Result<Option<SessionData>, SessionError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => parse(&text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }

    fn save(&self, data: &SessionData) -> Result<(), SessionError> {
        use std::io::Write as _;
        let text = render(data);
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        // The file holds auth keys: readable by its owner only.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(|e| self.io(e))?;
        file.write_all(text.as_bytes()).map_err(|e| self.io(e))?;
        file.sync_all().map_err(|e| self.io(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The text form: one record per line, fields separated by spaces.
fn render(data: &SessionData) -> String {
    let mut out = format!("{MAGIC}\nhome {}\n", data.home_dc);
    for dc in &data.dcs {
        let key = dc.auth_key.map(|k| hex(&k)).unwrap_or_else(|| "-".into());
        let _ = writeln!(out, "dc {} {} {key}", dc.id, dc.addr);
    }
    if let Some((id, bot)) = data.user {
        let _ = writeln!(out, "user {id} {}", u8::from(bot));
    }
    if let Some(s) = &data.state {
        let _ = writeln!(out, "state {} {} {} {}", s.pts, s.qts, s.date, s.seq);
        let mut channels: Vec<_> = s.channels.iter().collect();
        channels.sort();
        for (id, pts) in channels {
            let _ = writeln!(out, "channel {id} {pts}");
        }
    }
    let mut peers: Vec<_> = data.peers.iter().collect();
    peers.sort();
    for ((kind, id), hash) in peers {
        let _ = writeln!(out, "peer {} {id} {hash}", kind.letter());
    }
    let mut names: Vec<_> = data.usernames.iter().collect();
    names.sort();
    for (name, (kind, id)) in names {
        let _ = writeln!(out, "username {name} {} {id}", kind.letter());
    }
    out
}

fn parse(text: &str) -> Result<SessionData, SessionError> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, MAGIC)) => {}
        _ => {
            return Err(SessionError::Format {
                line: 1,
                reason: format!("expected {MAGIC:?}"),
            });
        }
    }
    let mut data = SessionData::default();
    for (index, line) in lines {
        let fail = |reason: &str| SessionError::Format {
            line: index + 1,
            reason: reason.to_string(),
        };
        let fields: Vec<&str> = line.split(' ').collect();
        let int = |i: usize| -> Result<i64, SessionError> {
            fields
                .get(i)
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| fail(&format!("field {} is not a number", i + 1)))
        };
        let int32 = |i: usize| -> Result<i32, SessionError> {
            i32::try_from(int(i)?).map_err(|_| fail("number out of range"))
        };
        match fields[0] {
            "" => {}
            "home" => data.home_dc = int32(1)?,
            "dc" => {
                let addr = fields.get(2).ok_or_else(|| fail("missing address"))?;
                let key = match fields.get(3) {
                    Some(&"-") => None,
                    Some(k) => Some(
                        unhex(k)
                            .and_then(|k| <[u8; 256]>::try_from(k).ok())
                            .ok_or_else(|| fail("auth key is not 256 hex bytes"))?,
                    ),
                    None => return Err(fail("missing auth key")),
                };
                data.dcs.push(DcEntry {
                    id: int32(1)?,
                    addr: addr.to_string(),
                    auth_key: key,
                });
            }
            "user" => data.user = Some((int(1)?, int(2)? != 0)),
            "state" => {
                data.state = Some(UpdateState {
                    pts: int32(1)?,
                    qts: int32(2)?,
                    date: int32(3)?,
                    seq: int32(4)?,
                    channels: HashMap::new(),
                })
            }
            "channel" => {
                let state = data
                    .state
                    .as_mut()
                    .ok_or_else(|| fail("channel before state"))?;
                state.channels.insert(int(1)?, int32(2)?);
            }
            "peer" => {
                let kind = fields
                    .get(1)
                    .and_then(|k| PeerKind::from_letter(k))
                    .ok_or_else(|| fail("unknown peer kind"))?;
                data.peers.insert((kind, int(2)?), int(3)?);
            }
            "username" => {
                let name = fields.get(1).ok_or_else(|| fail("missing username"))?;
                let kind = fields
                    .get(2)
                    .and_then(|k| PeerKind::from_letter(k))
                    .ok_or_else(|| fail("unknown peer kind"))?;
                data.usernames.insert(name.to_string(), (kind, int(3)?));
            }
            other => return Err(fail(&format!("unknown record {other:?}"))),
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_session_round_trips_through_the_text_form() {
        let mut data = SessionData {
            home_dc: 4,
            dcs: vec![
                DcEntry {
                    id: 4,
                    addr: "127.0.0.1:4430".into(),
                    auth_key: Some([7; 256]),
                },
                DcEntry {
                    id: 2,
                    addr: "[::1]:443".into(),
                    auth_key: None,
                },
            ],
            user: Some((1234567, true)),
            state: Some(UpdateState {
                pts: 10,
                qts: -1,
                date: 1700000000,
                seq: 3,
                channels: HashMap::from([(77, 5), (-5, 9)]),
            }),
            ..Default::default()
        };
        data.peers.insert((PeerKind::Channel, 77), -99);
        data.peers.insert((PeerKind::User, 5), 123);
        data.usernames
            .insert("somebody".into(), (PeerKind::User, 5));
        assert_eq!(parse(&render(&data)).unwrap(), data);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!("private-{}.session", std::process::id()));
        FileSessionStore::new(&path)
            .save(&SessionData::default())
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn damaged_files_are_errors_with_their_line() {
        let bad = [
            ("not a session", 1),
            ("mtproto-toolkit-session 1\nhome x", 2),
            ("mtproto-toolkit-session 1\nhome 2\ndc 2 a:1 abcd", 3),
            ("mtproto-toolkit-session 1\nchannel 1 2", 2),
            ("mtproto-toolkit-session 1\npeer z 1 2", 2),
            ("mtproto-toolkit-session 1\nwhat 1", 2),
            ("mtproto-toolkit-session 1\nstate 1 2 3 99999999999", 2),
        ];
        for (text, line) in bad {
            match parse(text) {
                Err(SessionError::Format { line: l, .. }) => assert_eq!(l, line, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
