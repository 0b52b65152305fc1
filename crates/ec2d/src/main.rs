//! `ec2d`: a wire-compatible Amazon EC2 API server.

use clap::{Parser, Subcommand};

use ec2d::config::Config;
use ec2d::control_client::ControlArgs;

/// mimalloc rather than glibc's malloc: with a large state in memory, glibc's heap fragments and
/// every request's allocations pay for walking its free lists (issue 12: the light phase on the
/// mixed state spent a seventh of the server's CPU in `_int_malloc`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "ec2d", version, about = "A wire-compatible Amazon EC2 API server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the EC2 query API (and the /_ec2d/ control endpoints).
    Serve(Config),
    /// Call a control endpoint of a running ec2d, signed with the given credentials (SigV4).
    Control(ControlArgs),
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => {
            // Once, before any thread: the allocator's options (see the module), then this same code again.
            ec2d::allocator::run_again_with_options();
            let guard = match ec2d::logging::init(&config.log_level) {
                Ok(guard) => guard,
                Err(e) => {
                    eprintln!("ec2d: {e}");
                    std::process::exit(2);
                }
            };
            let result = ec2d::server::run(config);
            match &result {
                Ok(()) => tracing::info!("stopped"),
                Err(e) => tracing::error!("stopped: {e}"),
            }
            drop(guard);
            if let Err(e) = result {
                eprintln!("ec2d: {e}");
                std::process::exit(2);
            }
        }
        Command::Control(args) => match ec2d::control_client::run(&args) {
            Ok((status, body)) => {
                println!("{}", body.trim_end());
                if !(200..300).contains(&status) {
                    std::process::exit(1);
                }
            }
            Err(e) => {
                eprintln!("ec2d control: {e}");
                std::process::exit(2);
            }
        },
    }
}
