//! The command line.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Startup, idle memory and the throughput of each --workload
    Default,
    /// Launch --instances instances, then DescribeInstances (by ID, all, first page) and Stop/StartInstances
    Instances,
    /// Issue 12's targets: light and write phases on an almost empty and on a mixed state, per engine, beside a
    /// bare hyper server
    Mixed,
    /// CreateFleet of type instant, --fleets times --fleet-size instances: instances launched per second
    Fleet,
    /// Issue 12's PostgreSQL targets: two ec2d nodes on the database of --store; RunInstances of --launch-count
    /// from both at once, then conflicting Stop/Start of --shared instances from both
    Postgres,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Default => "default",
            Scenario::Instances => "instances",
            Scenario::Mixed => "mixed",
            Scenario::Fleet => "fleet",
            Scenario::Postgres => "postgres",
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    about = "Benchmarks a real ec2d binary over loopback: startup, idle memory, throughput and latency",
    after_help = "Workloads (default scenario): describe-regions, describe-availability-zones, or any raw form body \
                  containing '=' (e.g. 'Action=DescribeVpcs&Version=2016-11-15').\n\
                  Instances scenario: launches --instances instances (RunInstances of 1000 at a time, round-robin \
                  over the us-east-1 zones but 1e), then runs describe-instances-by-id (a random launched ID per request), \
                  describe-instances-all (--all-connections, --all-seconds), describe-instances-page (MaxResults=1000) \
                  and stop-start (per connection: StopInstances i, StartInstances i, for a random i).\n\
                  Mixed scenario (issue 12's targets; --engines, default memory,embedded): per engine, the light phase \
                  (DescribeInstances of one instance by ID) and the write phase (StopInstances then StartInstances of \
                  one instance) on an almost empty state and on the mixed state (--instances instances, \
                  --spot-requests, --reservations, --bundle-tasks), DescribeInstances of everything, RSS and restarts; \
                  and the light phase's load on a bare hyper server answering 4 KB; the reference and both states' \
                  phases take turns --rounds times, and each ratio is the median of the rounds'.\n\
                  Postgres scenario (--store postgres://...): two ec2d nodes on that database (reset first); \
                  RunInstances of --launch-count from --connections connections split over both nodes, then \
                  StopInstances/StartInstances of --shared instances shared by every connection.\n\
                  Exit status: 0 clean, 1 the run saw errors or non-200 answers, 2 the bench could not run."
)]
pub struct Args {
    /// What to measure
    #[arg(long, value_enum, default_value_t = Scenario::Default)]
    pub scenario: Scenario,
    /// The ec2d binary to start [default: `ec2d` next to this executable]
    #[arg(long)]
    pub ec2d: Option<PathBuf>,
    /// How many times to start the server to time its startup (0 skips the startup phase)
    /// [default: 20; 0 with --scenario instances]
    #[arg(long)]
    pub startup_runs: Option<usize>,
    /// Measured seconds of each throughput run
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Warm-up seconds before each throughput run (not counted)
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Concurrent keep-alive connections; one throughput run per value
    /// [default: 16,64; 16 with --scenario instances]
    #[arg(long, value_delimiter = ',')]
    pub connections: Option<Vec<usize>>,
    /// Workload to run (repeatable, default scenario); see below
    #[arg(long = "workload", default_value = "describe-regions")]
    pub workloads: Vec<String>,
    /// Instances to launch (--scenario instances)
    #[arg(long, default_value_t = 10_000)]
    pub instances: usize,
    /// Connections of the DescribeInstances-of-everything run (--scenario instances); its answers are large
    #[arg(long, default_value_t = 2)]
    pub all_connections: usize,
    /// Measured seconds of the DescribeInstances-of-everything run (--scenario instances)
    #[arg(long, default_value_t = 3.0)]
    pub all_seconds: f64,
    /// Seed of the bench's own choice of instances (--scenario instances; --seed is the server's)
    #[arg(long, default_value_t = 1)]
    pub rng_seed: u64,
    /// Passed to `ec2d serve --clock` (instant, realistic or virtual)
    #[arg(long)]
    pub clock: Option<String>,
    /// Passed to `ec2d serve --seed`
    #[arg(long)]
    pub seed: Option<u64>,
    /// Extra argument appended to `ec2d serve` (repeatable)
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
    /// Store engine of the servers it starts: `memory` (--ephemeral), `embedded` (--data-dir, a fresh
    /// temporary directory), or a `postgres://` URL (--store URL; best an empty database)
    #[arg(long, default_value = "memory")]
    pub store: String,
    /// Tokio worker threads of the load generator [default: number of CPUs]
    #[arg(long)]
    pub client_threads: Option<usize>,
    /// Spot requests of the mixed state (--scenario mixed)
    #[arg(long, default_value_t = 1000)]
    pub spot_requests: usize,
    /// Capacity reservations of the mixed state (--scenario mixed)
    #[arg(long, default_value_t = 200)]
    pub reservations: usize,
    /// Bundle tasks of the mixed state (--scenario mixed)
    #[arg(long, default_value_t = 100)]
    pub bundle_tasks: usize,
    /// Alternated rounds of the mixed scenario's phases: each engine's almost empty and mixed servers (and the
    /// reference) take turns, each run lasting --seconds / --rounds after --warmup / --rounds, so that the
    /// ratios compare runs next to each other in time
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rounds: u32,
    /// Store engines the mixed scenario measures, one after the other (memory, embedded, postgres://...)
    #[arg(long, value_delimiter = ',', default_value = "memory,embedded")]
    pub engines: Vec<String>,
    /// Serve as the bare reference server on this port (the mixed scenario starts the bench again with it)
    #[arg(long, hide = true)]
    pub reference_server: Option<u16>,
    /// Instant fleets to create (--scenario fleet)
    #[arg(long, default_value_t = 20)]
    pub fleets: usize,
    /// Instances of each fleet (--scenario fleet): half On-Demand, half Spot, over five us-east-1 zones
    #[arg(long, default_value_t = 100)]
    pub fleet_size: usize,
    /// Instances per RunInstances call of the launch phase (--scenario postgres)
    #[arg(long, default_value_t = 10)]
    pub launch_count: usize,
    /// Instances every connection of both nodes stops and starts (--scenario postgres)
    #[arg(long, default_value_t = 16)]
    pub shared: usize,
    /// Print one JSON object with every number on stdout (the table then goes to stderr)
    #[arg(long)]
    pub json: bool,
}
