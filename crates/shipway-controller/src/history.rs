//! The history store: every sync operation the controller ran, and the hooks each revision
//! completed, in an embedded `SQLite` file under `--state`.
//!
//! Rows are written when an operation starts and again when it ends, so a `kill -9` leaves
//! a `Running` row that the next start marks `Interrupted` ([`History::open`]). Hooks are
//! recorded as each completes: after a restart the same revision's completed hooks are not
//! run again. Messages are the engine's, which never hold a Secret's value.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

/// How many operations are kept per app; older ones are deleted as new ones start.
pub const KEEP_PER_APP: i64 = 200;

/// One sync operation as the history keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Row id, increasing.
    pub id: i64,
    /// The app's name.
    pub app: String,
    /// The commit synced (empty for a local source).
    pub revision: String,
    /// What started it: `poll`, `webhook`, `api`, `watch`, `startup`, `rollback`.
    pub trigger: String,
    /// Who: `controller`, or the API token's name.
    pub who: String,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339, empty while running.
    pub finished_at: String,
    /// `Running`, `Succeeded`, `Failed` or `Interrupted`.
    pub phase: String,
    /// Objects created.
    pub created: i64,
    /// Objects updated.
    pub updated: i64,
    /// Objects pruned.
    pub pruned: i64,
    /// The outcome in words.
    pub message: String,
}

impl Operation {
    /// The JSON form of the API's `…/history`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "app": self.app,
            "revision": self.revision,
            "trigger": self.trigger,
            "who": self.who,
            "startedAt": self.started_at,
            "finishedAt": (!self.finished_at.is_empty()).then_some(&self.finished_at),
            "phase": self.phase,
            "created": self.created,
            "updated": self.updated,
            "pruned": self.pruned,
            "message": self.message,
        })
    }
}

/// What an operation changed, recorded when it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `Succeeded` or `Failed`.
    pub phase: &'static str,
    /// Objects created.
    pub created: usize,
    /// Objects updated.
    pub updated: usize,
    /// Objects pruned.
    pub pruned: usize,
    /// The outcome in words.
    pub message: String,
}

/// Why the history store failed.
#[derive(Debug, thiserror::Error)]
#[error("history store {path}: {source}")]
pub struct HistoryError {
    /// The database file.
    pub path: String,
    /// `SQLite`'s error.
    #[source]
    pub source: rusqlite::Error,
}

/// The `SQLite` history of one controller.
#[derive(Debug)]
pub struct History {
    path: String,
    db: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS operations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app TEXT NOT NULL,
    revision TEXT NOT NULL,
    trigger_name TEXT NOT NULL,
    who TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL DEFAULT '',
    phase TEXT NOT NULL,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    pruned INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS operations_by_app ON operations (app, id);
CREATE TABLE IF NOT EXISTS hooks (
    app TEXT NOT NULL,
    revision TEXT NOT NULL,
    phase TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (app, revision, phase, name)
);
";

impl History {
    /// Opens (creating) the store at `path`, and marks operations a previous process left
    /// running as `Interrupted`.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let shown = path.display().to_string();
        let fail = |source| HistoryError {
            path: shown.clone(),
            source,
        };
        let db = Connection::open(path).map_err(fail)?;
        // WAL survives a kill -9 between any two statements; a busy timeout covers a
        // second reader (a CLI) holding the file for a moment.
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        db.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(fail)?;
        db.execute_batch(SCHEMA).map_err(fail)?;
        db.execute(
            "UPDATE operations SET phase = 'Interrupted', finished_at = ?1, \
             message = 'the controller stopped before the operation ended' \
             WHERE phase = 'Running'",
            params![crate::now()],
        )
        .map_err(fail)?;
        Ok(History {
            path: shown,
            db: Mutex::new(db),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, HistoryError> {
        let db = self
            .db
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&db).map_err(|source| HistoryError {
            path: self.path.clone(),
            source,
        })
    }

    /// Records the start of an operation; returns its id. Old rows of the app beyond
    /// [`KEEP_PER_APP`] are deleted.
    pub fn start(
        &self,
        app: &str,
        revision: &str,
        trigger: &str,
        who: &str,
    ) -> Result<i64, HistoryError> {
        self.with(|db| {
            db.execute(
                "INSERT INTO operations (app, revision, trigger_name, who, started_at, phase) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 'Running')",
                params![app, revision, trigger, who, crate::now()],
            )?;
            let id = db.last_insert_rowid();
            db.execute(
                "DELETE FROM operations WHERE app = ?1 AND id <= ?2 - ?3 \
                 AND id NOT IN (SELECT id FROM operations WHERE app = ?1 ORDER BY id DESC LIMIT ?3)",
                params![app, id, KEEP_PER_APP],
            )?;
            Ok(id)
        })
    }

    /// Records how operation `id` ended.
    pub fn finish(&self, id: i64, outcome: &Outcome) -> Result<(), HistoryError> {
        self.with(|db| {
            db.execute(
                "UPDATE operations SET finished_at = ?2, phase = ?3, created = ?4, updated = ?5, \
                 pruned = ?6, message = ?7 WHERE id = ?1",
                params![
                    id,
                    crate::now(),
                    outcome.phase,
                    outcome.created as i64,
                    outcome.updated as i64,
                    outcome.pruned as i64,
                    outcome.message
                ],
            )?;
            Ok(())
        })
    }

    /// The app's operations, newest first, at most `limit`.
    pub fn list(&self, app: &str, limit: i64) -> Result<Vec<Operation>, HistoryError> {
        self.with(|db| {
            let mut statement = db.prepare(
                "SELECT id, app, revision, trigger_name, who, started_at, finished_at, phase, \
                 created, updated, pruned, message FROM operations WHERE app = ?1 \
                 ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = statement.query_map(params![app, limit], |row| {
                Ok(Operation {
                    id: row.get(0)?,
                    app: row.get(1)?,
                    revision: row.get(2)?,
                    trigger: row.get(3)?,
                    who: row.get(4)?,
                    started_at: row.get(5)?,
                    finished_at: row.get(6)?,
                    phase: row.get(7)?,
                    created: row.get(8)?,
                    updated: row.get(9)?,
                    pruned: row.get(10)?,
                    message: row.get(11)?,
                })
            })?;
            rows.collect()
        })
    }

    /// The revision of the app's newest operation when it was interrupted (a restart must
    /// finish that sync: its remaining hooks have not run, even if the objects match).
    pub fn interrupted(&self, app: &str) -> Result<Option<String>, HistoryError> {
        Ok(self
            .list(app, 1)?
            .into_iter()
            .next()
            .filter(|op| op.phase == "Interrupted")
            .map(|op| op.revision))
    }

    /// The revision of the app's last operation that succeeded.
    pub fn last_succeeded(&self, app: &str) -> Result<Option<String>, HistoryError> {
        self.with(|db| {
            db.query_row(
                "SELECT revision FROM operations WHERE app = ?1 AND phase = 'Succeeded' \
                 ORDER BY id DESC LIMIT 1",
                params![app],
                |row| row.get(0),
            )
            .optional()
        })
    }

    /// Records that a hook completed for the app's revision.
    pub fn hook_done(
        &self,
        app: &str,
        revision: &str,
        phase: &str,
        name: &str,
    ) -> Result<(), HistoryError> {
        self.with(|db| {
            db.execute(
                "INSERT OR IGNORE INTO hooks (app, revision, phase, name) VALUES (?1, ?2, ?3, ?4)",
                params![app, revision, phase, name],
            )?;
            Ok(())
        })
    }

    /// The hooks (phase, name) completed for the app's revision.
    pub fn hooks_done(
        &self,
        app: &str,
        revision: &str,
    ) -> Result<Vec<(String, String)>, HistoryError> {
        self.with(|db| {
            let mut statement =
                db.prepare("SELECT phase, name FROM hooks WHERE app = ?1 AND revision = ?2")?;
            let rows = statement
                .query_map(params![app, revision], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_survive_a_reopen_and_running_ones_become_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        {
            let history = History::open(&path).unwrap();
            let done = history.start("web", "abc", "poll", "controller").unwrap();
            history
                .finish(
                    done,
                    &Outcome {
                        phase: "Succeeded",
                        created: 2,
                        message: "synced".into(),
                        ..Outcome::default()
                    },
                )
                .unwrap();
            history
                .start("web", "def", "webhook", "controller")
                .unwrap();
            history
                .hook_done("web", "def", "PreSync", "migrate")
                .unwrap();
            history
                .hook_done("web", "def", "PreSync", "migrate")
                .unwrap();
        }
        let history = History::open(&path).unwrap();
        let ops = history.list("web", 10).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].phase, "Interrupted");
        assert_eq!(ops[0].revision, "def");
        assert!(!ops[0].finished_at.is_empty());
        assert_eq!(ops[1].phase, "Succeeded");
        assert_eq!(ops[1].created, 2);
        assert_eq!(
            history.last_succeeded("web").unwrap().as_deref(),
            Some("abc")
        );
        assert_eq!(history.last_succeeded("other").unwrap(), None);
        assert_eq!(
            history.hooks_done("web", "def").unwrap(),
            vec![("PreSync".to_string(), "migrate".to_string())]
        );
        assert!(history.hooks_done("web", "abc").unwrap().is_empty());
    }

    #[test]
    fn only_the_newest_operations_of_an_app_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::open(&dir.path().join("h.db")).unwrap();
        for _ in 0..(KEEP_PER_APP + 5) {
            history.start("a", "r", "poll", "controller").unwrap();
        }
        history.start("b", "r", "poll", "controller").unwrap();
        assert_eq!(
            history.list("a", 1000).unwrap().len(),
            KEEP_PER_APP as usize
        );
        assert_eq!(history.list("b", 1000).unwrap().len(), 1);
    }
}
