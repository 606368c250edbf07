//! `imds-conform spec check|show` (being written).
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Print a spec table.
    Show { api: String },
}

pub fn execute(_cmd: SpecCommand) -> u8 {
    super::exit::USAGE
}
