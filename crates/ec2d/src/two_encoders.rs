//! A large DescribeInstances answer written by two encoders at once and sent in order: the
//! connection's task and a helper thread each claim the next piece nobody has claimed yet, a run of
//! [`PIECE_INSTANCES`] instances ([`Listing::write_range`]), write it, and leave it for the sender;
//! the connection's task sends the pieces in order. Whichever encoder is free takes the next piece,
//! so neither waits for the other while there is a piece to write (when a core is busy with other
//! work, its encoder falls behind and the other writes more of the answer). No piece is claimed more
//! than [`AHEAD`] pieces after the one to send next, so the answer is still never held whole.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::service::instances::{Listing, ListingPieces};

/// Instances per piece: about 64 KiB of XML.
pub const PIECE_INSTANCES: usize = 16;
/// A page of fewer instances is written by the connection's task alone: a thread would cost more
/// than it saves.
pub const MIN_INSTANCES: usize = 128;
/// How many pieces after the one to send next may be claimed (written, or being written).
const AHEAD: usize = 4;

/// What the two encoders share: the page, and the pieces claimed and written.
struct Shared {
    listing: Listing,
    request_id: String,
    /// How many pieces the answer has.
    count: usize,
    state: Mutex<State>,
    /// Signalled when the helper may claim again (a piece was sent) or must stop.
    room: Condvar,
}

#[derive(Default)]
struct State {
    /// The next piece nobody has claimed.
    claimed: usize,
    /// The next piece to send.
    next: usize,
    /// Pieces written and not yet sent, by number.
    written: BTreeMap<usize, String>,
    /// The piece the helper is writing.
    helper_writing: Option<usize>,
    /// A piece the helper claimed and did not write (it ended early): the sender writes it.
    abandoned: Option<usize>,
    /// The helper waits for room to claim.
    helper_waiting: bool,
    /// The sender waits for a piece the helper is writing.
    sender: Option<Waker>,
    /// The answer was dropped (the client went away): the helper stops.
    dropped: bool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Claims the next piece if one is left within [`AHEAD`] of the one to send.
    fn claim(&self, state: &mut State) -> Option<usize> {
        let n = state.claimed;
        (n < self.count && n <= state.next + AHEAD).then(|| {
            state.claimed += 1;
            n
        })
    }

    /// Piece `n`: instances `n * PIECE_INSTANCES` up to the next piece's first.
    fn write(&self, n: usize) -> String {
        let mut w = Listing::piece_writer(PIECE_INSTANCES);
        self.listing.write_range(&mut w, &self.request_id, n * PIECE_INSTANCES, (n + 1) * PIECE_INSTANCES, usize::MAX);
        w.finish()
    }
}

/// The answer's pieces in order, written here when asked for or by the helper.
pub struct TwoEncoders {
    shared: Arc<Shared>,
}

impl TwoEncoders {
    /// Starts the helper for a page of at least [`MIN_INSTANCES`] instances; gives `pieces` back for a
    /// smaller page.
    pub fn start(pieces: Box<ListingPieces>) -> Result<TwoEncoders, Box<ListingPieces>> {
        let two = TwoEncoders::without_helper(pieces)?;
        let shared = Arc::clone(&two.shared);
        // On a helper thread of its own rather than tokio's blocking pool: a client that reads slowly
        // holds its helper (waiting for room) as long as it takes, and must not hold a thread
        // PostgreSQL's transactions need. Should no thread start, every piece is written here.
        on_helper(Box::new(move || help(&shared)));
        Ok(two)
    }

    /// The pieces of a page of at least [`MIN_INSTANCES`] instances, with no helper yet.
    fn without_helper(pieces: Box<ListingPieces>) -> Result<TwoEncoders, Box<ListingPieces>> {
        if !pieces.from_the_start() || pieces.listing().len() < MIN_INSTANCES {
            return Err(pieces);
        }
        let (listing, request_id) = pieces.into_parts();
        let count = listing.len().div_ceil(PIECE_INSTANCES);
        let shared = Shared { listing, request_id, count, state: Mutex::new(State::default()), room: Condvar::new() };
        Ok(TwoEncoders { shared: Arc::new(shared) })
    }

    /// The next piece: `Pending` while the helper is still writing it and there is no other piece to
    /// write here meanwhile.
    pub fn poll_piece(&mut self, cx: &mut Context<'_>) -> Poll<Option<String>> {
        let shared = &*self.shared;
        let mut state = shared.state();
        loop {
            let next = state.next;
            if next == shared.count {
                return Poll::Ready(None);
            }
            if let Some(piece) = state.written.remove(&next) {
                state.next += 1;
                if state.helper_waiting {
                    shared.room.notify_one();
                }
                return Poll::Ready(Some(piece));
            }
            let mine = if state.abandoned == Some(next) {
                state.abandoned = None;
                Some(next)
            } else {
                shared.claim(&mut state)
            };
            let Some(n) = mine else {
                // The next piece is the helper's, and every piece within reach is claimed.
                state.sender = Some(cx.waker().clone());
                return Poll::Pending;
            };
            drop(state);
            let piece = shared.write(n);
            state = shared.state();
            if n == state.next {
                state.next += 1;
                if state.helper_waiting {
                    shared.room.notify_one();
                }
                return Poll::Ready(Some(piece));
            }
            state.written.insert(n, piece);
        }
    }
}

impl Drop for TwoEncoders {
    fn drop(&mut self) {
        self.shared.state().dropped = true;
        self.shared.room.notify_all();
    }
}

/// The helper's share of an answer: claims and writes pieces until none is left (waiting for room
/// when it is [`AHEAD`] pieces ahead of the one to send) or the answer is dropped.
fn help(shared: &Shared) {
    let _abandon = Abandon(shared);
    let mut state = shared.state();
    loop {
        if state.dropped {
            return;
        }
        let Some(n) = shared.claim(&mut state) else {
            if state.claimed == shared.count {
                return;
            }
            state.helper_waiting = true;
            state = shared.room.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
            state.helper_waiting = false;
            continue;
        };
        state.helper_writing = Some(n);
        drop(state);
        let piece = shared.write(n);
        state = shared.state();
        state.helper_writing = None;
        state.written.insert(n, piece);
        if n == state.next {
            if let Some(sender) = state.sender.take() {
                sender.wake();
            }
        }
    }
}

/// Should the helper end while it writes a piece (a panic), the sender writes that piece.
struct Abandon<'a>(&'a Shared);

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        if let Some(n) = state.helper_writing.take() {
            state.abandoned = Some(n);
            if let Some(sender) = state.sender.take() {
                sender.wake();
            }
        }
    }
}

/// A helper's work: its share of one answer.
type Job = Box<dyn FnOnce() + Send>;

/// How long a helper thread waits for another answer before it ends.
const HELPER_IDLE: Duration = Duration::from_millis(100);

/// The helper threads waiting for work, by number: one is reused rather than a thread started per
/// answer (which also keeps their CPU time among the process's threads, where a profile or the bench
/// reads it). There are at most as many as answers were written at once.
static IDLE: Mutex<Vec<(u64, Sender<Job>)>> = Mutex::new(Vec::new());
static NEXT_HELPER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn idle() -> std::sync::MutexGuard<'static, Vec<(u64, Sender<Job>)>> {
    IDLE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `job` on an idle helper thread, or on a new one.
fn on_helper(mut job: Job) {
    {
        // Taken off the list and handed its job under the list's lock, which a helper that ends holds
        // while it looks for a job one last time: no job is left in the channel of a helper gone.
        let mut idle = idle();
        while let Some((_, helper)) = idle.pop() {
            match helper.send(job) {
                Ok(()) => return,
                Err(std::sync::mpsc::SendError(back)) => job = back,
            }
        }
    }
    let number = NEXT_HELPER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let _ = std::thread::Builder::new().name("ec2d-encoder".into()).spawn(move || helper(number, job, &tx, &rx));
}

/// A helper thread: runs `job`, then waits idle for the next until [`HELPER_IDLE`] passes.
fn helper(number: u64, mut job: Job, tx: &Sender<Job>, rx: &Receiver<Job>) {
    loop {
        job();
        idle().push((number, tx.clone()));
        job = match rx.recv_timeout(HELPER_IDLE) {
            Ok(next) => next,
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {
                // Off the idle list under its lock, unless a job came in the meantime.
                let mut idle = idle();
                match rx.try_recv() {
                    Ok(next) => {
                        idle.retain(|(n, _)| *n != number);
                        next
                    }
                    Err(_) => {
                        idle.retain(|(n, _)| *n != number);
                        return;
                    }
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::instances::tests::page_of;

    /// Polls every piece, in order, joined.
    fn all_pieces(two: &mut TwoEncoders) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let mut all = String::new();
            while let Some(piece) = std::future::poll_fn(|cx| two.poll_piece(cx)).await {
                all.push_str(&piece);
            }
            all
        })
    }

    /// A page written by the two encoders is the page written by one, the pieces joined; a page too small for
    /// them is written by the connection's task alone.
    #[test]
    fn two_encoders_write_what_one_writes() {
        for n in [MIN_INSTANCES - 1, MIN_INSTANCES, 333] {
            let one = page_of(n).encode("req-2");
            let joined: String = match TwoEncoders::start(page_of(n).pieces("req-2")) {
                Ok(mut two) => {
                    assert!(n >= MIN_INSTANCES);
                    all_pieces(&mut two)
                }
                Err(pieces) => {
                    assert!(n < MIN_INSTANCES);
                    pieces.collect()
                }
            };
            assert_eq!(joined, one, "{n} instances");
        }
    }

    /// Waits (without a timed sleep) until `done` holds of the shared state.
    fn wait_until(shared: &Shared, done: impl Fn(&State) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while !done(&shared.state()) {
            assert!(std::time::Instant::now() < deadline, "the helper never got there");
            std::thread::yield_now();
        }
    }

    #[test]
    fn without_a_helper_the_sender_writes_every_piece() {
        let listing = page_of(MIN_INSTANCES * 2 + 3);
        let whole = page_of(MIN_INSTANCES * 2 + 3).encode("req-3");
        let mut two = TwoEncoders::without_helper(listing.pieces("req-3")).ok().unwrap();
        assert_eq!(all_pieces(&mut two), whole);
        assert!(TwoEncoders::without_helper(page_of(MIN_INSTANCES - 1).pieces("req-3")).is_err());
    }

    #[test]
    fn the_helper_claims_no_more_than_ahead_of_the_sender_and_the_sender_takes_its_pieces() {
        let whole = page_of(500).encode("req-4");
        let mut two = TwoEncoders::without_helper(page_of(500).pieces("req-4")).ok().unwrap();
        let shared = Arc::clone(&two.shared);
        let helper = std::thread::spawn(move || help(&shared));
        // Nothing sent yet: the helper writes the pieces within reach and waits.
        wait_until(&two.shared, |s| s.helper_waiting);
        {
            let state = two.shared.state();
            assert_eq!(state.claimed, AHEAD + 1);
            assert_eq!(state.written.keys().copied().collect::<Vec<_>>(), (0..=AHEAD).collect::<Vec<_>>());
        }
        assert_eq!(all_pieces(&mut two), whole);
        helper.join().unwrap();
        assert!(two.shared.state().written.is_empty());
    }

    #[test]
    fn a_dropped_answer_ends_its_helper() {
        let two = TwoEncoders::without_helper(page_of(500).pieces("req-5")).ok().unwrap();
        let shared = Arc::clone(&two.shared);
        let helper = std::thread::spawn(move || help(&shared));
        wait_until(&two.shared, |s| s.helper_waiting);
        drop(two);
        helper.join().unwrap();
    }

    #[test]
    fn a_piece_the_helper_abandons_is_written_by_the_sender() {
        let whole = page_of(300).encode("req-6");
        let mut two = TwoEncoders::without_helper(page_of(300).pieces("req-6")).ok().unwrap();
        {
            // The helper claimed the first two pieces, wrote the second, and ended writing the first.
            let mut state = two.shared.state();
            state.claimed = 2;
            state.written.insert(1, two.shared.write(1));
            state.helper_writing = Some(0);
        }
        drop(Abandon(&two.shared));
        assert_eq!(two.shared.state().abandoned, Some(0));
        assert_eq!(all_pieces(&mut two), whole);
    }
}
