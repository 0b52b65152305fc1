//! The allocator's options for `ec2d serve`. mimalloc reads its options from the environment once, when the
//! process loads (before `main`), and safe code has no other way to set them; so `serve` runs itself again,
//! once, with the options it needs in its environment ([`run_again_with_options`]). Options the caller set
//! stand.
//!
//! **Purge delay.** mimalloc gives memory that emptied back to the system only a second after it emptied
//! (`purge_delay`, 1000 ms), and only when the thread that freed it allocates again. A DescribeInstances of
//! everything writes about 45 MB of answer in 64 KiB pieces, and its first call settles 11,000 instances (a
//! new copy of each, the old ones freed at the commit): a second later, much of what they freed is still
//! resident, so the RSS read after such calls depended on how long ago they ran (60 to 64 MiB with the
//! mixed state on the memory engine, 73 to 91 on the embedded one). With the delay at 0 it is given back
//! as it empties (`ec2d-bench --scenario mixed`: 45.5 to 49 MiB and 62 to 64).
//!
//! **Collect.** A block freed by another thread than the one whose heap holds it waits in its page's list of
//! such frees until that thread collects them, so a page those frees emptied is given back only then: a
//! thread collects a page when it looks for room in that page's size class, and collects its whole heap
//! every `generic_collect` (10,000) allocations that found no room at hand. Records launched on one worker
//! and replaced by a settling on another, and a large answer's pieces made by one thread and freed by
//! another, leave such pages. At 1,000 (the least that counts: mimalloc looks at the count every 1,000)
//! the embedded engine's RSS with the mixed state reads about 1 MiB less (`ec2d-bench --scenario mixed`).

use std::ffi::{OsStr, OsString};

/// mimalloc's environment variable for its purge delay, in milliseconds.
pub const PURGE_DELAY: &str = "MIMALLOC_PURGE_DELAY";

/// The purge delay `ec2d serve` runs with unless its caller chose one: give memory back as it empties.
pub const PURGE_DELAY_MS: &str = "0";

/// mimalloc's environment variable for how many allocations that found no room at hand a thread makes between
/// two collections of its whole heap.
pub const GENERIC_COLLECT: &str = "MIMALLOC_GENERIC_COLLECT";

/// The collection interval `ec2d serve` runs with unless its caller chose one (mimalloc's default: 10,000).
pub const GENERIC_COLLECT_EVERY: &str = "1000";

/// The options `ec2d serve` runs with: (name, value).
pub const OPTIONS: [(&str, &str); 2] = [(PURGE_DELAY, PURGE_DELAY_MS), (GENERIC_COLLECT, GENERIC_COLLECT_EVERY)];

/// The options (name, value) that `current` (an environment lookup) lacks: what a run again must add.
pub fn missing_options(current: impl Fn(&str) -> Option<OsString>) -> Vec<(&'static str, &'static str)> {
    OPTIONS.into_iter().filter(|(name, _)| current(name).is_none()).collect()
}

/// Replaces this process (same id, arguments, standard streams and environment) by a new run of its own
/// program with [`missing_options`] added to the environment, if any is missing. Returns only if none is,
/// or if the program could not be run again (its file gone or replaced since it started, say): the caller
/// then carries on with the allocator's defaults, which change how much memory it holds, not what it does.
/// Call it first thing, while the process has one thread and nothing open.
#[cfg(unix)]
pub fn run_again_with_options() {
    use std::os::unix::process::CommandExt;
    let missing = missing_options(|name| std::env::var_os(name));
    if missing.is_empty() {
        return;
    }
    let Ok(program) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| program.clone().into_os_string());
    let mut command = std::process::Command::new(&program);
    command.arg0(&arg0).args(args);
    for (name, value) in missing {
        command.env(name, OsStr::new(value));
    }
    // `exec` returns only when it failed.
    let _failed = command.exec();
}

/// [`run_again_with_options`] elsewhere than on Unix: the allocator's defaults.
#[cfg(not(unix))]
pub fn run_again_with_options() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_options_the_environment_lacks_are_added() {
        assert_eq!(
            missing_options(|_| None),
            vec![(PURGE_DELAY, PURGE_DELAY_MS), (GENERIC_COLLECT, GENERIC_COLLECT_EVERY)]
        );
        // Set by the caller (any value, even empty) or by ec2d's first run: nothing to add, no run again.
        let both =
            |value: &'static str| move |name: &str| OPTIONS.iter().any(|(o, _)| *o == name).then(|| value.into());
        assert!(missing_options(both("250")).is_empty());
        assert!(missing_options(both("")).is_empty());
        assert_eq!(
            missing_options(|name| (name == PURGE_DELAY).then(|| OsString::from("250"))),
            vec![(GENERIC_COLLECT, GENERIC_COLLECT_EVERY)]
        );
        assert_eq!(missing_options(|name| (name == "MIMALLOC_OTHER").then(OsString::new)).len(), 2);
    }
}
