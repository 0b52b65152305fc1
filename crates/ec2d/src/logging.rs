//! The log: `tracing` events written to stderr by a background thread, so that a slow or full
//! stderr never stalls a request (lines are dropped rather than waited for when the thread falls
//! far behind). `--log-level` / `EC2D_LOG` takes a level or a `tracing` filter.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Installs the log; keep the guard until exit, so that its last lines are written.
pub fn init(level: &str) -> Result<WorkerGuard, String> {
    let filter = EnvFilter::try_new(level)
        .map_err(|e| format!("--log-level {level:?}: {e} (give error, warn, info, debug or trace)"))?;
    let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| format!("cannot start the log: {e}"))?;
    Ok(guard)
}
