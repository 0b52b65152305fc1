//! The command-line contract of `ec2d serve`. Every flag is also an `EC2D_*` environment variable.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockMode {
    /// Wall-clock timestamps; every transition completes before the next request sees it.
    Instant,
    /// Wall-clock timestamps; transitions take AWS-like durations.
    Realistic,
    /// Time stands still until `POST /_ec2d/clock/advance?seconds=N`.
    Virtual,
}

impl ClockMode {
    pub fn name(self) -> &'static str {
        match self {
            ClockMode::Instant => "instant",
            ClockMode::Realistic => "realistic",
            ClockMode::Virtual => "virtual",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "EC2D_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free one; the chosen port is logged).
    #[arg(long, env = "EC2D_PORT", default_value_t = 4566)]
    pub port: u16,
    /// Keep all state in memory; nothing survives a restart. `EC2D_EPHEMERAL` takes what people
    /// type for a yes/no: 1/0, true/false, yes/no, on/off, y/n, t/f (any case).
    #[arg(long, env = "EC2D_EPHEMERAL", conflicts_with = "data_dir", value_parser = clap::builder::BoolishValueParser::new())]
    pub ephemeral: bool,
    /// Directory of the embedded durable store (the default engine)
    /// [default: $XDG_DATA_HOME/ec2d, or ~/.local/share/ec2d].
    #[arg(long, env = "EC2D_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL database (`postgres://user@host:port/db`) holding the state, shared by every
    /// ec2d process pointed at it.
    #[arg(long, env = "EC2D_STORE", conflicts_with_all = ["ephemeral", "data_dir"])]
    pub store: Option<String>,
    /// How time passes for resource state transitions.
    #[arg(long, env = "EC2D_CLOCK", value_enum, default_value_t = ClockMode::Instant)]
    pub clock: ClockMode,
    /// Where the virtual clock starts (ISO 8601), when it has no stored time yet.
    #[arg(long, env = "EC2D_CLOCK_START", default_value = "2026-01-01T00:00:00Z")]
    pub clock_start: String,
    /// Durations of state transitions for the realistic and virtual clocks, in seconds, as
    /// `name=seconds` pairs separated by commas (launch, start, stop, hibernate, force-stop,
    /// terminate, status-checks, terminated-visible, bundle-pending, bundle-shutdown, bundling,
    /// bundle-storing, bundle-cancel, spot-evaluation, spot-fulfillment, spot-notice, spot-restart,
    /// spot-service-terminate, spot-capacity-retry), e.g. `launch=2,stop=5`.
    #[arg(long, env = "EC2D_TRANSITION_SECONDS", default_value = "")]
    pub transition_seconds: String,
    /// Seed of the ID generator: the same seed and the same requests give the same IDs.
    #[arg(long, env = "EC2D_SEED", default_value_t = 0)]
    pub seed: u64,
    /// Instances one pool (availability zone, instance type) holds, unless the control API sets
    /// the pool's own capacity (`POST /_ec2d/capacity`).
    #[arg(long, env = "EC2D_POOL_CAPACITY", default_value_t = ec2_core::capacity_reservations::pools::DEFAULT_POOL_CAPACITY)]
    pub pool_capacity: u64,
    /// JSON file of the identities that may call (access key, secret, account, IAM-style policy);
    /// read again when it changes. Without it, any access key is accepted and every action allowed.
    #[arg(long, env = "EC2D_CREDENTIALS_FILE")]
    pub credentials_file: Option<PathBuf>,
    /// The largest request body accepted, in bytes (checked while the body arrives, before the
    /// signature): 1 MiB fits EC2's largest requests (16 KB of user data in base64 with hundreds
    /// of tags) many times over.
    #[arg(long, env = "EC2D_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Open connections at most; further ones wait in the listen queue until one closes.
    #[arg(long, env = "EC2D_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (also how long an idle keep-alive
    /// connection stays open); the connection is closed after that.
    #[arg(long, env = "EC2D_HEADER_TIMEOUT", default_value_t = 20.0)]
    pub header_timeout: f64,
    /// Seconds a client has to send a request's body once its headers arrived (408 after that).
    #[arg(long, env = "EC2D_BODY_TIMEOUT", default_value_t = 20.0)]
    pub body_timeout: f64,
    /// Threads at most in the pool that runs requests against the durable stores (which block). The
    /// embedded engine uses at most [`EMBEDDED_BLOCKING_THREADS`] of them ([`Config::blocking_threads`]).
    #[arg(long, env = "EC2D_MAX_BLOCKING_THREADS", default_value_t = 32)]
    pub max_blocking_threads: usize,
    /// What the log shows: `error`, `warn`, `info` (one line per request), `debug`, `trace`, or
    /// a `tracing` filter such as `ec2d=info,ec2d::request=warn`.
    #[arg(long, env = "EC2D_LOG", default_value = "info")]
    pub log_level: String,
    /// Refuse well-formed AMI IDs that name no known image (InvalidAMIID.NotFound, as AWS does)
    /// instead of launching them as a generic Linux image.
    #[arg(long, env = "EC2D_STRICT_IMAGES")]
    pub strict_images: bool,
    /// The account of access keys that are not 12 digits, when no credentials file is given (a
    /// 12-digit key is its own account).
    #[arg(long, env = "EC2D_DEFAULT_ACCOUNT", default_value = crate::identity::DEFAULT_ACCOUNT, value_parser = parse_account)]
    pub default_account: String,
}

/// `--default-account`: an account ID of 12 digits.
fn parse_account(text: &str) -> Result<String, String> {
    if crate::identity::is_account_id(text) {
        Ok(text.to_string())
    } else {
        Err(format!("an account ID is 12 digits, not '{text}'"))
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 0,
            ephemeral: true,
            data_dir: None,
            store: None,
            clock: ClockMode::Instant,
            clock_start: "2026-01-01T00:00:00Z".into(),
            transition_seconds: String::new(),
            seed: 0,
            pool_capacity: ec2_core::capacity_reservations::pools::DEFAULT_POOL_CAPACITY,
            credentials_file: None,
            max_body_bytes: 1024 * 1024,
            max_connections: 1024,
            header_timeout: 20.0,
            body_timeout: 20.0,
            max_blocking_threads: 32,
            log_level: "info".into(),
            strict_images: false,
            default_account: crate::identity::DEFAULT_ACCOUNT.to_string(),
        }
    }
}

/// Where the state lives, as chosen by `--ephemeral`, `--data-dir` and `--store`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    Memory,
    Embedded(PathBuf),
    Postgres(String),
}

/// The most threads tokio's blocking pool holds with the embedded engine (fewer if
/// `--max-blocking-threads` says so). That engine blocks only in short waits (the first read of a (scope,
/// kind) from the file, the engine's lock while another request does one, a control request's commit),
/// each through `block_in_place`, which hands the worker's core to a pool thread. A request that loads a
/// dozen kinds in a row handed it over a dozen times, each time to a new thread (the core taken back before
/// the last thread had started, so none was idle), and the worker's role then moved among them all: 27
/// threads after the first RunInstances, each with its own allocator heap keeping pages of what it had
/// allocated. With the pool capped, a hand-off that finds no thread leaves the core where it is and the
/// request takes it back when its wait ends (the waits depend on the writer thread and the file, never on
/// the runtime, so nothing waits for a pool thread that waits for it).
pub const EMBEDDED_BLOCKING_THREADS: usize = 2;

impl Config {
    /// The size of tokio's blocking pool (besides its async workers): `--max-blocking-threads`, at most
    /// [`EMBEDDED_BLOCKING_THREADS`] with the embedded engine. (PostgreSQL runs every request on that pool;
    /// the memory engine never blocks.)
    pub fn blocking_threads(&self) -> usize {
        match self.store_choice() {
            Ok(StoreChoice::Embedded(_)) => self.max_blocking_threads.min(EMBEDDED_BLOCKING_THREADS),
            _ => self.max_blocking_threads,
        }
    }

    /// The store engine: PostgreSQL with `--store`, memory with `--ephemeral`, and otherwise the
    /// embedded engine in `--data-dir` or the default data directory.
    pub fn store_choice(&self) -> Result<StoreChoice, String> {
        if let Some(url) = &self.store {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(format!(
                    "--store {url:?}: expected a postgres:// URL (--data-dir DIR selects the embedded engine, \
                     --ephemeral the in-memory one)"
                ));
            }
            return Ok(StoreChoice::Postgres(url.clone()));
        }
        if self.ephemeral {
            return Ok(StoreChoice::Memory);
        }
        match &self.data_dir {
            Some(dir) => Ok(StoreChoice::Embedded(dir.clone())),
            None => default_data_dir(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
                .map(StoreChoice::Embedded)
                .ok_or_else(|| "no --data-dir given and neither XDG_DATA_HOME nor HOME is set".to_string()),
        }
    }

    /// The transition durations for the chosen clock: all zero for `instant` (except how long
    /// terminated instances stay visible), AWS-like ones otherwise, with `--transition-seconds`
    /// applied on top.
    pub fn durations(
        &self,
    ) -> Result<
        (ec2_core::instances::Durations, ec2_core::bundle_tasks::BundleDurations, ec2_core::spot::SpotDurations),
        String,
    > {
        use ec2_core::bundle_tasks::BundleDurations;
        use ec2_core::instances::Durations;
        use ec2_core::spot::SpotDurations;
        let (mut d, mut b, mut sp) = match self.clock {
            ClockMode::Instant => (Durations::INSTANT, BundleDurations::INSTANT, SpotDurations::INSTANT),
            ClockMode::Realistic | ClockMode::Virtual => {
                (Durations::REALISTIC, BundleDurations::REALISTIC, SpotDurations::REALISTIC)
            }
        };
        for pair in self.transition_seconds.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, secs) =
                pair.split_once('=').ok_or_else(|| format!("--transition-seconds: '{pair}' is not name=seconds"))?;
            let secs: f64 = secs
                .trim()
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| format!("--transition-seconds: '{secs}' is not a number of seconds"))?;
            let millis = (secs * 1000.0).round() as i64;
            let bundle_slot = match name.trim() {
                "bundle-pending" => Some(&mut b.pending),
                "bundle-shutdown" => Some(&mut b.waiting_for_shutdown),
                "bundling" => Some(&mut b.bundling),
                "bundle-storing" => Some(&mut b.storing),
                "bundle-cancel" => Some(&mut b.cancelling),
                "spot-evaluation" => Some(&mut sp.evaluation),
                "spot-fulfillment" => Some(&mut sp.fulfillment),
                "spot-notice" => Some(&mut sp.notice),
                "spot-restart" => Some(&mut sp.restart),
                "spot-service-terminate" => Some(&mut sp.service_terminate),
                "spot-capacity-retry" => Some(&mut sp.capacity_retry),
                // Storage durations: see `storage_durations`.
                n if ec2_core::volumes::StorageDurations::NAMES.contains(&n) => continue,
                _ => None,
            };
            match bundle_slot {
                Some(slot) => *slot = millis,
                None => d.set(name.trim(), millis).map_err(|e| {
                    format!(
                        "--transition-seconds: {e} (known: {}, {})",
                        Durations::NAMES.join(", "),
                        "bundle-pending, bundle-shutdown, bundling, bundle-storing, bundle-cancel, spot-evaluation, \
                         spot-fulfillment, spot-notice, spot-restart, spot-service-terminate, spot-capacity-retry, \
                         volume-create, volume-attach, volume-detach, volume-delete, volume-modify, volume-optimize, \
                         snapshot, image"
                    )
                })?,
            }
        }
        Ok((d, b, sp))
    }
}

impl Config {
    /// Checks the limits: positive numbers of seconds, connections and threads.
    pub fn check_limits(&self) -> Result<(), String> {
        for (name, secs) in [("--header-timeout", self.header_timeout), ("--body-timeout", self.body_timeout)] {
            if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
                return Err(format!("{name} {secs}: give a number of seconds between 0 and 86400"));
            }
        }
        if self.max_connections == 0 || self.max_blocking_threads == 0 || self.max_body_bytes == 0 {
            return Err("--max-connections, --max-blocking-threads and --max-body-bytes must be at least 1".into());
        }
        Ok(())
    }

    /// Whether `--host` is a loopback address (`127.0.0.0/8`, `::1`, `localhost`).
    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// The durations of volume, snapshot and image steps for the chosen clock, with the storage
    /// names of `--transition-seconds` (`volume-create`, ..., `snapshot`, `image`) applied on top
    /// (`durations` checks the whole list).
    pub fn storage_durations(&self) -> ec2_core::volumes::StorageDurations {
        use ec2_core::volumes::StorageDurations;
        let mut d = match self.clock {
            ClockMode::Instant => StorageDurations::INSTANT,
            ClockMode::Realistic | ClockMode::Virtual => StorageDurations::REALISTIC,
        };
        for pair in self.transition_seconds.split(',').map(str::trim) {
            let Some((name, secs)) = pair.split_once('=') else { continue };
            let Some(secs) = secs.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0) else { continue };
            if let Some(slot) = d.slot(name.trim()) {
                *slot = (secs * 1000.0).round() as i64;
            }
        }
        d
    }
}

/// `$XDG_DATA_HOME/ec2d`, else `$HOME/.local/share/ec2d` (relative XDG paths are ignored, as the
/// XDG spec says).
pub fn default_data_dir(
    xdg_data_home: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    let xdg = xdg_data_home.map(PathBuf::from).filter(|p| p.is_absolute());
    let base = xdg.or_else(|| home.filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join("ec2d"))
}

#[cfg(test)]
mod store_choice_tests {
    use super::*;

    #[test]
    fn the_embedded_engine_caps_the_blocking_pool() {
        let c = |data_dir: Option<&str>, store: Option<&str>, max_blocking_threads| Config {
            ephemeral: data_dir.is_none() && store.is_none(),
            data_dir: data_dir.map(PathBuf::from),
            store: store.map(String::from),
            max_blocking_threads,
            ..Config::default()
        };
        assert_eq!(c(Some("/tmp/x"), None, 32).blocking_threads(), EMBEDDED_BLOCKING_THREADS);
        assert_eq!(c(Some("/tmp/x"), None, 1).blocking_threads(), 1, "a lower --max-blocking-threads still rules");
        assert_eq!(c(None, Some("postgres://h/db"), 32).blocking_threads(), 32, "PostgreSQL runs requests on the pool");
        assert_eq!(c(None, None, 32).blocking_threads(), 32);
    }

    #[test]
    fn the_store_flags_choose_the_engine() {
        let c = |ephemeral, data_dir: Option<&str>, store: Option<&str>| Config {
            ephemeral,
            data_dir: data_dir.map(PathBuf::from),
            store: store.map(String::from),
            ..Config::default()
        };
        assert_eq!(c(true, None, None).store_choice(), Ok(StoreChoice::Memory));
        assert_eq!(c(false, Some("/d"), None).store_choice(), Ok(StoreChoice::Embedded("/d".into())));
        let pg = "postgres://u@127.0.0.1:5432/db";
        assert_eq!(c(false, None, Some(pg)).store_choice(), Ok(StoreChoice::Postgres(pg.into())));
        assert!(c(false, None, Some("mysql://x")).store_choice().unwrap_err().contains("postgres://"));
    }

    #[test]
    fn loopback_hosts_and_limits() {
        let host = |h: &str| Config { host: h.into(), ..Config::default() }.is_loopback();
        assert!(host("127.0.0.1") && host("127.1.2.3") && host("::1") && host("[::1]") && host("localhost"));
        assert!(!host("0.0.0.0") && !host("::") && !host("192.168.1.10") && !host("example.com"));
        assert!(Config::default().check_limits().is_ok());
        assert!(Config { header_timeout: 0.0, ..Config::default() }.check_limits().is_err());
        assert!(Config { max_connections: 0, ..Config::default() }.check_limits().is_err());
    }

    #[test]
    fn the_default_data_directory_follows_xdg() {
        let d = |x: Option<&str>, h: Option<&str>| default_data_dir(x.map(Into::into), h.map(Into::into));
        assert_eq!(d(Some("/x"), Some("/home/u")), Some(PathBuf::from("/x/ec2d")));
        assert_eq!(d(Some("rel"), Some("/home/u")), Some(PathBuf::from("/home/u/.local/share/ec2d")));
        assert_eq!(d(None, Some("/home/u")), Some(PathBuf::from("/home/u/.local/share/ec2d")));
        assert_eq!(d(None, None), None);
    }

    #[test]
    fn boolean_variables_take_what_people_type() {
        use clap::{Args as _, FromArgMatches as _};
        // The only test that reads EC2D_EPHEMERAL (no other test parses the environment).
        let parse = |v: &str| {
            std::env::set_var("EC2D_EPHEMERAL", v);
            let cmd = Config::augment_args(clap::Command::new("t").no_binary_name(true));
            let parsed =
                cmd.try_get_matches_from(Vec::<String>::new()).ok().and_then(|m| Config::from_arg_matches(&m).ok());
            std::env::remove_var("EC2D_EPHEMERAL");
            parsed.map(|c| c.ephemeral)
        };
        for yes in ["1", "true", "TRUE", "yes", "Yes", "on", "y", "t"] {
            assert_eq!(parse(yes), Some(true), "{yes}");
        }
        for no in ["0", "false", "no", "off", "n", "f"] {
            assert_eq!(parse(no), Some(false), "{no}");
        }
        assert_eq!(parse("maybe"), None);
    }
}
