//! Bundle tasks: a Windows instance-store instance's root volume bundled into an S3 image.
//!
//! A task moves `pending -> waiting-for-shutdown -> bundling -> storing -> complete`, each phase
//! taking its duration from [`BundleDurations`] (all zero in instant mode), so its state and
//! progress at any moment are a pure function of its start and of `now`. A cancel moves a task in
//! progress to `cancelling`, which ends in `failed` with the error `Client.Cancelled` (the model has
//! no `cancelled` state; spec 9.3); a failure injected by the control API ends it in `failed` with
//! the given error at once.

use ec2_time::UnixMillis;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BundleState {
    Pending,
    WaitingForShutdown,
    Bundling,
    Storing,
    Cancelling,
    Complete,
    Failed,
}

impl BundleState {
    pub fn name(self) -> &'static str {
        match self {
            BundleState::Pending => "pending",
            BundleState::WaitingForShutdown => "waiting-for-shutdown",
            BundleState::Bundling => "bundling",
            BundleState::Storing => "storing",
            BundleState::Cancelling => "cancelling",
            BundleState::Complete => "complete",
            BundleState::Failed => "failed",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, BundleState::Complete | BundleState::Failed)
    }
}

/// How long each phase lasts, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleDurations {
    pub pending: i64,
    pub waiting_for_shutdown: i64,
    pub bundling: i64,
    pub storing: i64,
    pub cancelling: i64,
}

impl BundleDurations {
    pub const INSTANT: BundleDurations =
        BundleDurations { pending: 0, waiting_for_shutdown: 0, bundling: 0, storing: 0, cancelling: 0 };
    pub const REALISTIC: BundleDurations = BundleDurations {
        pending: 5_000,
        waiting_for_shutdown: 30_000,
        bundling: 120_000,
        storing: 60_000,
        cancelling: 5_000,
    };
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleError {
    pub code: String,
    pub message: String,
}

/// How a task left its normal course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Interruption {
    /// Cancelled at this time (then `cancelling` until the cancel completes).
    Cancelled { at: UnixMillis },
    /// Failed at this time with this error.
    Failed { at: UnixMillis, error: BundleError },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleTask {
    pub id: String,
    pub instance_id: String,
    pub bucket: String,
    pub prefix: String,
    pub start_time: UnixMillis,
    /// The phase durations the task was created with (so a restart with other settings does not
    /// rewrite its history).
    pub durations: [i64; 5],
    pub interruption: Option<Interruption>,
}

/// What a task looks like at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleView {
    pub state: BundleState,
    /// Time of the last state change.
    pub update_time: UnixMillis,
    /// Percent done, absent while `pending`.
    pub progress: Option<u8>,
    pub error: Option<BundleError>,
}

impl BundleTask {
    pub fn new(
        id: String,
        instance_id: String,
        bucket: String,
        prefix: String,
        now: UnixMillis,
        d: &BundleDurations,
    ) -> Self {
        BundleTask {
            id,
            instance_id,
            bucket,
            prefix,
            start_time: now,
            durations: [d.pending, d.waiting_for_shutdown, d.bundling, d.storing, d.cancelling],
            interruption: None,
        }
    }

    /// When each normal phase starts: pending, waiting-for-shutdown, bundling, storing, complete.
    fn phase_starts(&self) -> [UnixMillis; 5] {
        let mut t = self.start_time;
        let mut out = [t; 5];
        for (i, d) in self.durations[..4].iter().enumerate() {
            t = t.plus_millis(*d);
            out[i + 1] = t;
        }
        out
    }

    /// The task's normal course at `t`, ignoring any interruption.
    fn course(&self, t: UnixMillis) -> BundleView {
        let starts = self.phase_starts();
        let states = [
            BundleState::Pending,
            BundleState::WaitingForShutdown,
            BundleState::Bundling,
            BundleState::Storing,
            BundleState::Complete,
        ];
        let phase = (0..5).rev().find(|&i| starts[i] <= t).unwrap_or(0);
        let state = states[phase];
        // Progress: 0% waiting for shutdown, 10% -> 70% while bundling, 70% -> 99% while storing.
        let within = |lo: u8, hi: u8| {
            let span = self.durations[phase].max(1);
            let done = (t.0 - starts[phase].0).clamp(0, span);
            lo + ((i64::from(hi - lo) * done) / span) as u8
        };
        let progress = match state {
            BundleState::Pending => None,
            BundleState::WaitingForShutdown => Some(0),
            BundleState::Bundling => Some(within(10, 70)),
            BundleState::Storing => Some(within(70, 99)),
            _ => Some(100),
        };
        BundleView { state, update_time: starts[phase], progress, error: None }
    }

    /// What the task looks like at `now`.
    pub fn view(&self, now: UnixMillis) -> BundleView {
        match &self.interruption {
            None => self.course(now),
            Some(Interruption::Failed { at, error }) if *at <= now => {
                let before = self.course(*at);
                BundleView {
                    state: BundleState::Failed,
                    update_time: *at,
                    progress: before.progress,
                    error: Some(error.clone()),
                }
            }
            Some(Interruption::Cancelled { at }) if *at <= now => {
                let before = self.course(*at);
                let done = at.plus_millis(self.durations[4]);
                if done <= now {
                    BundleView {
                        state: BundleState::Failed,
                        update_time: done,
                        progress: before.progress,
                        error: Some(BundleError {
                            code: "Client.Cancelled".into(),
                            message: "The bundle task was cancelled.".into(),
                        }),
                    }
                } else {
                    BundleView {
                        state: BundleState::Cancelling,
                        update_time: *at,
                        progress: before.progress,
                        error: None,
                    }
                }
            }
            Some(_) => self.course(now),
        }
    }

    /// What BundleInstance answers at `now`, the moment the task starts: `pending` with no
    /// progress, as every family's action shows the state it starts, even when instant durations
    /// have it complete by the next read.
    pub fn started(&self) -> BundleView {
        BundleView { state: BundleState::Pending, update_time: self.start_time, progress: None, error: None }
    }

    /// Every state the task has been in by `now`, in order, each as it looked when it began
    /// (phases of zero length are passed over).
    pub fn transitions(&self, now: UnixMillis) -> Vec<BundleView> {
        let mut times: Vec<UnixMillis> = self.phase_starts().to_vec();
        match &self.interruption {
            Some(Interruption::Failed { at, .. }) => times.push(*at),
            Some(Interruption::Cancelled { at }) => times.extend([*at, at.plus_millis(self.durations[4])]),
            None => {}
        }
        times.retain(|t| *t <= now);
        times.sort();
        times.dedup();
        let mut out: Vec<BundleView> = Vec::new();
        for t in times {
            let v = self.view(t);
            if out.last().is_none_or(|last| last.state != v.state) {
                out.push(v);
            }
        }
        out
    }

    /// Whether the task still holds its instance (not complete or failed).
    pub fn in_progress(&self, now: UnixMillis) -> bool {
        !self.view(now).state.is_terminal()
    }

    /// Cancels the task. `Err(state)` when it has already ended; a second cancel changes nothing.
    pub fn cancel(&mut self, now: UnixMillis) -> Result<(), BundleState> {
        let v = self.view(now);
        match v.state {
            BundleState::Complete | BundleState::Failed => Err(v.state),
            BundleState::Cancelling => Ok(()),
            BundleState::Pending | BundleState::WaitingForShutdown | BundleState::Bundling | BundleState::Storing => {
                self.interruption = Some(Interruption::Cancelled { at: now });
                Ok(())
            }
        }
    }

    /// Fails the task now with `error`. `Err(state)` when it has already ended.
    pub fn fail(&mut self, now: UnixMillis, error: BundleError) -> Result<(), BundleState> {
        let v = self.view(now);
        if v.state.is_terminal() {
            return Err(v.state);
        }
        self.interruption = Some(Interruption::Failed { at: now, error });
        Ok(())
    }

    /// While the guest is shut down for bundling (waiting-for-shutdown and bundling), the instance
    /// is unreachable; it comes back when storing starts. Returns that window.
    pub fn shutdown_window(&self) -> (UnixMillis, UnixMillis) {
        let s = self.phase_starts();
        (s[1], s[3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: UnixMillis = UnixMillis(1_000_000);

    fn task() -> BundleTask {
        BundleTask::new("bun-1".into(), "i-1".into(), "b".into(), "p".into(), T0, &BundleDurations::REALISTIC)
    }

    #[test]
    fn walks_through_every_phase_with_progress() {
        let t = task();
        let d = BundleDurations::REALISTIC;
        assert_eq!(t.view(T0).state, BundleState::Pending);
        assert_eq!(t.view(T0).progress, None);
        let shutdown = T0.plus_millis(d.pending);
        assert_eq!(t.view(shutdown).state, BundleState::WaitingForShutdown);
        assert_eq!(t.view(shutdown).update_time, shutdown);
        let bundling = shutdown.plus_millis(d.waiting_for_shutdown);
        assert_eq!(t.view(bundling).progress, Some(10));
        assert_eq!(t.view(bundling.plus_millis(d.bundling / 2)).progress, Some(40));
        let storing = bundling.plus_millis(d.bundling);
        assert_eq!(t.view(storing).state, BundleState::Storing);
        let done = storing.plus_millis(d.storing);
        assert_eq!(t.view(done.plus_millis(-1)).state, BundleState::Storing);
        assert_eq!(t.view(done).state, BundleState::Complete);
        assert_eq!(t.view(done).progress, Some(100));
    }

    #[test]
    fn transitions_list_each_state_reached_with_its_time() {
        let mut t = task();
        let d = BundleDurations::REALISTIC;
        let shutdown = T0.plus_millis(d.pending);
        let states = |t: &BundleTask, now| t.transitions(now).iter().map(|v| v.state).collect::<Vec<_>>();
        assert_eq!(states(&t, T0), [BundleState::Pending]);
        assert_eq!(states(&t, shutdown), [BundleState::Pending, BundleState::WaitingForShutdown]);
        assert_eq!(t.transitions(shutdown)[1].update_time, shutdown);
        let cancel_at = shutdown.plus_millis(1);
        t.cancel(cancel_at).unwrap();
        let end = cancel_at.plus_millis(d.cancelling);
        assert_eq!(
            states(&t, end),
            [BundleState::Pending, BundleState::WaitingForShutdown, BundleState::Cancelling, BundleState::Failed]
        );
        assert_eq!(t.transitions(end)[3].update_time, end);
    }

    #[test]
    fn instant_durations_complete_at_once() {
        let t = BundleTask::new("bun-1".into(), "i-1".into(), "b".into(), "p".into(), T0, &BundleDurations::INSTANT);
        assert_eq!(t.view(T0).state, BundleState::Complete);
        // ...yet the action itself answers the state it starts, as other families do.
        assert_eq!(t.started().state, BundleState::Pending);
        assert_eq!((t.started().progress, t.started().update_time), (None, T0));
    }

    #[test]
    fn cancel_goes_through_cancelling_to_failed() {
        let mut t = task();
        let mid = T0.plus_seconds(60);
        let before = t.view(mid);
        t.cancel(mid).unwrap();
        let v = t.view(mid);
        assert_eq!((v.state, v.progress), (BundleState::Cancelling, before.progress));
        assert_eq!(t.cancel(mid.plus_millis(1)), Ok(()), "a second cancel is harmless");
        let end = t.view(mid.plus_seconds(5));
        assert_eq!(end.state, BundleState::Failed);
        assert_eq!(end.error.unwrap().code, "Client.Cancelled");
        assert_eq!(t.cancel(mid.plus_seconds(6)), Err(BundleState::Failed));
    }

    #[test]
    fn finished_tasks_cannot_be_cancelled_or_failed() {
        let mut t = task();
        let late = T0.plus_seconds(3600);
        assert_eq!(t.cancel(late), Err(BundleState::Complete));
        let e = BundleError { code: "X".into(), message: "y".into() };
        assert_eq!(t.fail(late, e), Err(BundleState::Complete));
    }

    #[test]
    fn injected_failures_carry_their_error() {
        let mut t = task();
        let at = T0.plus_seconds(40);
        t.fail(at, BundleError { code: "Client.S3Error".into(), message: "denied".into() }).unwrap();
        let v = t.view(at);
        assert_eq!(v.state, BundleState::Failed);
        assert_eq!(v.error.unwrap().message, "denied");
        assert!(!t.in_progress(at));
    }
}
