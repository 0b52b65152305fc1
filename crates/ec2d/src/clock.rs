//! The one clock of the server, chosen at startup.
//!
//! `instant` and `realistic` read the wall clock; `virtual` keeps its time in the store (so that a
//! restart, or another node, sees the same time) and only moves when advanced. The domain core never
//! sees this type: the pipeline reads `now` once per request and passes it down.

use ec2_store::{Record, StoreError, Txn, GLOBAL};
use ec2_time::UnixMillis;
use serde::{Deserialize, Serialize};

use crate::config::ClockMode;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub mode: ClockMode,
    /// Where the virtual clock starts when the store holds no time yet.
    pub virtual_start: UnixMillis,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct VirtualTime {
    id: String,
    now: i64,
}

impl Record for VirtualTime {
    const KIND: &'static str = "clock";
    fn id(&self) -> &str {
        &self.id
    }
}

const VIRTUAL_ID: &str = "virtual";

/// The wall clock: the only place the server reads real time for resource state.
#[allow(clippy::disallowed_methods)]
pub fn wall_now() -> UnixMillis {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    UnixMillis(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdvanceError {
    NotVirtual(ClockMode),
    Store(StoreError),
}

impl From<StoreError> for AdvanceError {
    fn from(e: StoreError) -> Self {
        AdvanceError::Store(e)
    }
}

impl Clock {
    /// The current time, read inside the request's transaction.
    ///
    /// The wall clock is read only after the transaction has read from the store, so that its
    /// snapshot is taken first: every change the transaction can see was then committed before
    /// `now`, and a transition another node scheduled at its own `now` is never seen as in the
    /// future (with PostgreSQL the snapshot is taken at the first statement, not at `BEGIN`). An
    /// engine that runs one transaction at a time (`Txn::concurrent` false) needs no such read.
    pub fn now(&self, tx: &mut Txn<'_>) -> Result<UnixMillis, StoreError> {
        match self.mode {
            ClockMode::Instant | ClockMode::Realistic => {
                // Only where transactions run side by side (PostgreSQL) does the snapshot wait for a first
                // read; an engine that runs one at a time sees every commit before it from its start.
                if tx.concurrent() {
                    tx.get_shared::<VirtualTime>(GLOBAL, VIRTUAL_ID)?;
                }
                Ok(wall_now())
            }
            ClockMode::Virtual => {
                Ok(tx.get_shared::<VirtualTime>(GLOBAL, VIRTUAL_ID)?.map_or(self.virtual_start, |t| UnixMillis(t.now)))
            }
        }
    }

    /// Moves the virtual clock forward by `millis` and returns the new time.
    pub fn advance(&self, tx: &mut Txn<'_>, millis: i64) -> Result<UnixMillis, AdvanceError> {
        if self.mode != ClockMode::Virtual {
            return Err(AdvanceError::NotVirtual(self.mode));
        }
        let now = self.now(tx)?.plus_millis(millis);
        tx.put(GLOBAL, &VirtualTime { id: VIRTUAL_ID.into(), now: now.0 })?;
        Ok(now)
    }
}
