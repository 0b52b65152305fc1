//! `ec2d`: a wire-compatible Amazon EC2 API server.

use clap::{Parser, Subcommand};

use ec2d::config::Config;

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
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => {
            if let Err(e) = ec2d::server::run(config) {
                eprintln!("ec2d: {e}");
                std::process::exit(2);
            }
        }
    }
}
