//! How a transaction waits when it must. An engine that answers from memory (the embedded one) can run a
//! transaction on the caller's thread, even an async runtime's worker, saving the hand-off to another thread,
//! provided that every wait that may take long (its lock while another transaction reads the file, a read
//! of the file, the commit of what it wrote or read) goes through the thread's hook, which tells the runtime
//! that the thread is about to block (tokio's `block_in_place`). Without a hook a wait simply blocks.
//!
//! The wait for a commit can also be deferred ([`deferring`]): the transaction then returns once it has run,
//! and the caller awaits the commit ([`Durable`]) before it sends anything, without holding a thread.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::StoreError;

/// Runs a wait (the closure) so that blocking in it is harmless.
pub type Hook = fn(&mut dyn FnMut());

thread_local! {
    static HOOK: Cell<Option<Hook>> = const { Cell::new(None) };
    /// `Some` while [`deferring`]: the commits deferred so far.
    static DEFERRED: RefCell<Option<Vec<Box<dyn Commit>>>> = const { RefCell::new(None) };
}

/// A commit that a transaction's answer waits for.
pub trait Commit: Send + Sync {
    /// Ready with `Ok` once the commit is durable, or with the failure that lost it; otherwise `cx`'s waker is
    /// woken when that may have changed.
    fn poll_durable(&self, cx: &mut Context<'_>) -> Poll<Result<(), StoreError>>;
}

/// The commits that [`deferring`] deferred: a future ready once all are durable (or one failed).
pub struct Durable(Vec<Box<dyn Commit>>);

impl Future for Durable {
    type Output = Result<(), StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        while let Some(commit) = self.0.last() {
            match commit.poll_durable(cx) {
                Poll::Ready(Ok(())) => {
                    self.0.pop();
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// Puts the previous deferral state back when dropped.
struct RestoreDeferred(Option<Vec<Box<dyn Commit>>>);

impl Drop for RestoreDeferred {
    fn drop(&mut self) {
        DEFERRED.set(self.0.take());
    }
}

/// Runs `f`, whose transactions do not wait for their commits but hand them back: `f`'s result must not be
/// shown to anyone before the [`Durable`] (if any) is ready with `Ok`. With `Err`, the commit was lost, and
/// with it what the transactions wrote: answer as a transaction that failed with that error. A panic of `f`
/// is caught and handed back with the commits deferred before it.
pub fn deferring<T>(f: impl FnOnce() -> T) -> (std::thread::Result<T>, Option<Durable>) {
    let restore = RestoreDeferred(DEFERRED.replace(Some(Vec::new())));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let deferred = DEFERRED.replace(None).unwrap_or_default();
    drop(restore);
    (out, Some(Durable(deferred)).filter(|d| !d.0.is_empty()))
}

/// Defers the wait for `commit` if this thread is [`deferring`]; `false`: the engine must wait itself.
pub(crate) fn defer(commit: impl FnOnce() -> Box<dyn Commit>) -> bool {
    DEFERRED.with_borrow_mut(|deferred| match deferred {
        Some(list) => {
            list.push(commit());
            true
        }
        None => false,
    })
}

/// Puts `previous` back when dropped (also when the closure panics).
struct Restore(Option<Hook>);

impl Drop for Restore {
    fn drop(&mut self) {
        HOOK.set(self.0);
    }
}

/// Runs `f` with `hook` as this thread's way to wait.
pub fn with_hook<T>(hook: Hook, f: impl FnOnce() -> T) -> T {
    let _restore = Restore(HOOK.replace(Some(hook)));
    f()
}

/// Whether this thread has a hook: it must not block outside [`blocking`].
pub(crate) fn hooked() -> bool {
    HOOK.get().is_some()
}

/// Runs `f`, which may block, through this thread's hook if it has one (without the hook inside `f`).
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    let Some(hook) = HOOK.get() else {
        return f();
    };
    let _restore = Restore(HOOK.replace(None));
    let mut f = Some(f);
    let mut out = None;
    hook(&mut || {
        if let Some(f) = f.take() {
            out = Some(f());
        }
    });
    match out {
        Some(out) => out,
        // A hook that never ran its closure is a bug of the hook: run it here rather than lose the wait.
        None => f.take().map(|f| f()).expect("the closure ran or is still here"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    fn counting(f: &mut dyn FnMut()) {
        CALLS.fetch_add(1, Ordering::SeqCst);
        f();
    }

    #[test]
    fn waits_go_through_the_hook_once_and_only_while_it_is_set() {
        assert!(!hooked());
        assert_eq!(blocking(|| 1), 1);
        assert_eq!(CALLS.load(Ordering::SeqCst), 0);
        let got = with_hook(counting, || {
            assert!(hooked());
            // A wait inside a wait does not go through the hook again.
            blocking(|| {
                assert!(!hooked());
                blocking(|| 2)
            })
        });
        assert_eq!(got, 2);
        assert_eq!(CALLS.load(Ordering::SeqCst), 1);
        assert!(!hooked());
    }

    struct Ready(Option<StoreError>);

    impl Commit for Ready {
        fn poll_durable(&self, _: &mut Context<'_>) -> Poll<Result<(), StoreError>> {
            Poll::Ready(self.0.clone().map_or(Ok(()), Err))
        }
    }

    fn poll_once(d: &mut Durable) -> Poll<Result<(), StoreError>> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        Pin::new(d).poll(&mut cx)
    }

    #[test]
    fn deferred_commits_are_handed_back_and_awaited_together() {
        assert!(!defer(|| Box::new(Ready(None))), "nothing defers outside `deferring`");
        let (out, none) = deferring(|| 7);
        assert_eq!(out.ok(), Some(7));
        assert!(none.is_none());
        let (_, some) = deferring(|| {
            assert!(defer(|| Box::new(Ready(None))));
            assert!(defer(|| Box::new(Ready(Some(StoreError::Engine("lost".into()))))));
        });
        let mut durable = some.expect("two commits deferred");
        assert_eq!(poll_once(&mut durable), Poll::Ready(Err(StoreError::Engine("lost".into()))));
        assert!(!defer(|| Box::new(Ready(None))), "deferring ended with its closure");
        let (out, after_panic) = deferring(|| {
            assert!(defer(|| Box::new(Ready(None))));
            panic!("boom")
        });
        assert!(out.is_err());
        let mut durable = after_panic.expect("the commit deferred before the panic is handed back");
        assert_eq!(poll_once(&mut durable), Poll::Ready(Ok(())));
        assert!(!defer(|| Box::new(Ready(None))), "deferring ended with the panic");
    }

    #[test]
    fn the_hook_is_removed_when_the_closure_panics() {
        let caught = std::panic::catch_unwind(|| with_hook(counting, || panic!("boom")));
        assert!(caught.is_err());
        assert!(!hooked());
    }
}
