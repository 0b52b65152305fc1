//! A large DescribeInstances answer written by two encoders at once and sent in order: the
//! connection's task writes the even pieces itself, a helper thread the odd ones, each piece a run of
//! [`PIECE_INSTANCES`] instances ([`Listing::write_range`]). The helper runs at most [`AHEAD`] pieces
//! ahead of the one being sent, so the answer is still never held whole: on two cores, the XML of one
//! half is written while the other half's is written and sent.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::service::instances::{Listing, ListingPieces};

/// Instances per piece: about 64 KiB of XML.
pub const PIECE_INSTANCES: usize = 16;
/// A page of fewer instances is written by the connection's task alone: a thread would cost more
/// than it saves.
pub const MIN_INSTANCES: usize = 128;
/// How many pieces the helper may have written and not yet handed over.
const AHEAD: usize = 4;

/// The answer's pieces in order: even ones written here when asked for, odd ones received from the
/// helper (or, should the helper be gone, written here too).
pub struct TwoEncoders {
    listing: Arc<Listing>,
    request_id: Arc<str>,
    /// The next piece to send.
    next: usize,
    pieces: usize,
    helper: mpsc::Receiver<String>,
}

impl TwoEncoders {
    /// Starts the helper for a page of at least [`MIN_INSTANCES`] instances; gives `pieces` back for a
    /// smaller page.
    pub fn start(pieces: ListingPieces) -> Result<TwoEncoders, ListingPieces> {
        if !pieces.from_the_start() || pieces.listing().len() < MIN_INSTANCES {
            return Err(pieces);
        }
        let (listing, request_id) = pieces.into_parts();
        let (listing, request_id): (Arc<Listing>, Arc<str>) = (Arc::new(listing), Arc::from(request_id));
        let count = listing.len().div_ceil(PIECE_INSTANCES);
        let (tx, rx) = mpsc::channel(AHEAD);
        let (l, r) = (Arc::clone(&listing), Arc::clone(&request_id));
        // On a helper thread of its own rather than tokio's blocking pool: a client that reads slowly
        // holds its helper (blocked on the full channel) as long as it takes, and must not hold a thread
        // PostgreSQL's transactions need. Should no thread start, the closed channel has every piece
        // written here instead.
        on_helper(Box::new(move || {
            for piece in (1..count).step_by(2) {
                // The answer was dropped (the client went away): nothing more to write.
                if tx.blocking_send(write_piece(&l, &r, piece)).is_err() {
                    return;
                }
            }
        }));
        Ok(TwoEncoders { listing, request_id, next: 0, pieces: count, helper: rx })
    }

    /// The next piece: `Pending` while the helper is still writing it.
    pub fn poll_piece(&mut self, cx: &mut Context<'_>) -> Poll<Option<String>> {
        if self.next == self.pieces {
            return Poll::Ready(None);
        }
        let piece = if self.next.is_multiple_of(2) {
            write_piece(&self.listing, &self.request_id, self.next)
        } else {
            match self.helper.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(piece)) => piece,
                // The helper stopped early (it cannot, short of a panic or a runtime shutting down):
                // the rest is written here.
                Poll::Ready(None) => write_piece(&self.listing, &self.request_id, self.next),
            }
        };
        self.next += 1;
        Poll::Ready(Some(piece))
    }
}

/// Piece `n`: instances `n * PIECE_INSTANCES` up to the next piece's first.
fn write_piece(listing: &Listing, request_id: &str, n: usize) -> String {
    let mut w = Listing::piece_writer(PIECE_INSTANCES);
    listing.write_range(&mut w, request_id, n * PIECE_INSTANCES, (n + 1) * PIECE_INSTANCES, usize::MAX);
    w.finish()
}

/// A helper's work: the odd pieces of one answer.
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
