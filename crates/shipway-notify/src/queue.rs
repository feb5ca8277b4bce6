//! The durable delivery queue: one `SQLite` table, `notifications`, in the controller's
//! history database (or a file of its own, or memory for a one-shot command).
//!
//! A row is keyed by (app, revision, trigger, once-per value, service, recipient) and
//! inserted with `INSERT OR IGNORE`, so the same notification is queued at most once however
//! often the event is seen, before or after a restart. A row holds the rendered notification
//! (never a secret: services are signed and authenticated when sent), its state
//! (`pending`, `delivered`, `failed`), the attempts made, when the next is due, and the last
//! error. Pending rows survive a restart and are sent by the next process.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, params};
use serde_json::Value;

/// The queue could not be opened or written.
#[derive(Debug, thiserror::Error)]
#[error("notification queue {path}: {source}")]
pub struct QueueError {
    /// The database file (`:memory:` for an in-memory queue).
    pub path: String,
    /// Why.
    #[source]
    pub source: rusqlite::Error,
}

/// One queued notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Row id, increasing.
    pub id: i64,
    /// The de-duplication key.
    pub key: String,
    /// The app.
    pub app: String,
    /// The trigger.
    pub trigger: String,
    /// The service's name.
    pub service: String,
    /// The recipient.
    pub recipient: String,
    /// The rendered notification.
    pub notification: Value,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error, for a failed or retried row.
    pub last_error: String,
}

/// The queue, shareable between threads.
pub struct Queue {
    connection: Mutex<Connection>,
    path: String,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl Queue {
    /// Opens (creating) the queue table in the database file at `path`.
    pub fn open(path: &Path) -> Result<Queue, QueueError> {
        let name = path.display().to_string();
        let connection = Connection::open(path).map_err(|source| QueueError {
            path: name.clone(),
            source,
        })?;
        Queue::with_connection(connection, name)
    }

    /// A queue in memory, for a one-shot command that waits for delivery before it exits.
    pub fn in_memory() -> Result<Queue, QueueError> {
        let connection = Connection::open_in_memory().map_err(|source| QueueError {
            path: ":memory:".into(),
            source,
        })?;
        Queue::with_connection(connection, ":memory:".into())
    }

    fn with_connection(connection: Connection, path: String) -> Result<Queue, QueueError> {
        // The history store shares the file: wait for its writes rather than fail.
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .and_then(|()| {
                connection.execute_batch(
                    "CREATE TABLE IF NOT EXISTS notifications (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        key TEXT NOT NULL UNIQUE,
                        app TEXT NOT NULL,
                        trigger TEXT NOT NULL,
                        service TEXT NOT NULL,
                        recipient TEXT NOT NULL,
                        notification TEXT NOT NULL,
                        state TEXT NOT NULL DEFAULT 'pending',
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_at INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        finished_at INTEGER,
                        last_error TEXT NOT NULL DEFAULT ''
                    );
                    CREATE INDEX IF NOT EXISTS notifications_due ON notifications(state, next_at);",
                )
            })
            .map_err(|source| QueueError {
                path: path.clone(),
                source,
            })?;
        Ok(Queue {
            connection: Mutex::new(connection),
            path,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn error(&self, source: rusqlite::Error) -> QueueError {
        QueueError {
            path: self.path.clone(),
            source,
        }
    }

    /// Queues a notification; `false` when its key was queued before (it is not again).
    pub fn push(
        &self,
        key: &str,
        app: &str,
        trigger: &str,
        service: &str,
        recipient: &str,
        notification: &Value,
    ) -> Result<bool, QueueError> {
        let now = now_ms();
        let changed = self
            .lock()
            .execute(
                "INSERT OR IGNORE INTO notifications
                 (key, app, trigger, service, recipient, notification, next_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                params![
                    key,
                    app,
                    trigger,
                    service,
                    recipient,
                    notification.to_string(),
                    now
                ],
            )
            .map_err(|e| self.error(e))?;
        Ok(changed == 1)
    }

    /// Pending rows whose next attempt is due, oldest first.
    pub fn due(&self, limit: usize) -> Result<Vec<Row>, QueueError> {
        self.select(
            "WHERE state = 'pending' AND next_at <= ?1 ORDER BY id LIMIT ?2",
            params![now_ms(), limit as i64],
        )
    }

    /// Every row, oldest first (for reports and tests).
    pub fn all(&self) -> Result<Vec<Row>, QueueError> {
        self.select("ORDER BY id", params![])
    }

    /// Whether any row is pending.
    pub fn pending(&self) -> Result<usize, QueueError> {
        self.lock()
            .query_row(
                "SELECT COUNT(*) FROM notifications WHERE state = 'pending'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(|e| self.error(e))
    }

    /// Milliseconds until the next pending row is due (0 when one is due now).
    pub fn next_due_in(&self) -> Result<Option<u64>, QueueError> {
        let next: Option<i64> = self
            .lock()
            .query_row(
                "SELECT MIN(next_at) FROM notifications WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.error(e))?;
        Ok(next.map(|at| (at - now_ms()).max(0) as u64))
    }

    fn select(
        &self,
        tail: &str,
        parameters: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Row>, QueueError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare(&format!(
                "SELECT id, key, app, trigger, service, recipient, notification, state, attempts, last_error
                 FROM notifications {tail}"
            ))
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map(parameters, |r| {
                let text: String = r.get(6)?;
                Ok(Row {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    app: r.get(2)?,
                    trigger: r.get(3)?,
                    service: r.get(4)?,
                    recipient: r.get(5)?,
                    notification: serde_json::from_str(&text).unwrap_or(Value::Null),
                    state: r.get(7)?,
                    attempts: r.get::<_, i64>(8)? as u32,
                    last_error: r.get(9)?,
                })
            })
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.error(e))
    }

    /// Marks a row delivered.
    pub fn delivered(&self, id: i64, attempts: u32) -> Result<(), QueueError> {
        self.lock()
            .execute(
                "UPDATE notifications SET state = 'delivered', attempts = ?2, finished_at = ?3, last_error = '' WHERE id = ?1",
                params![id, attempts, now_ms()],
            )
            .map(|_| ())
            .map_err(|e| self.error(e))
    }

    /// Schedules another attempt after `wait_ms`.
    pub fn retry(
        &self,
        id: i64,
        attempts: u32,
        wait_ms: u64,
        error: &str,
    ) -> Result<(), QueueError> {
        self.lock()
            .execute(
                "UPDATE notifications SET attempts = ?2, next_at = ?3, last_error = ?4 WHERE id = ?1",
                params![id, attempts, now_ms() + wait_ms as i64, error],
            )
            .map(|_| ())
            .map_err(|e| self.error(e))
    }

    /// Postpones a row without counting an attempt (its service's rate limit).
    pub fn postpone(&self, id: i64, wait_ms: u64) -> Result<(), QueueError> {
        self.lock()
            .execute(
                "UPDATE notifications SET next_at = ?2 WHERE id = ?1",
                params![id, now_ms() + wait_ms as i64],
            )
            .map(|_| ())
            .map_err(|e| self.error(e))
    }

    /// Gives a row up, recording why.
    pub fn failed(&self, id: i64, attempts: u32, error: &str) -> Result<(), QueueError> {
        self.lock()
            .execute(
                "UPDATE notifications SET state = 'failed', attempts = ?2, finished_at = ?3, last_error = ?4 WHERE id = ?1",
                params![id, attempts, now_ms(), error],
            )
            .map(|_| ())
            .map_err(|e| self.error(e))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_key_is_queued_once_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        {
            let queue = Queue::open(&path).unwrap();
            assert!(
                queue
                    .push(
                        "k1",
                        "shop",
                        "on-sync-failed",
                        "slack",
                        "ops",
                        &json!({"message": "m"})
                    )
                    .unwrap()
            );
            assert!(
                !queue
                    .push("k1", "shop", "on-sync-failed", "slack", "ops", &json!({}))
                    .unwrap()
            );
            let due = queue.due(10).unwrap();
            assert_eq!(due.len(), 1);
            queue.delivered(due[0].id, 1).unwrap();
        }
        let queue = Queue::open(&path).unwrap();
        assert!(
            !queue
                .push("k1", "shop", "on-sync-failed", "slack", "ops", &json!({}))
                .unwrap()
        );
        assert!(queue.due(10).unwrap().is_empty());
        assert_eq!(queue.all().unwrap()[0].state, "delivered");
        assert_eq!(
            queue.all().unwrap()[0].notification,
            json!({"message": "m"})
        );
    }
}
