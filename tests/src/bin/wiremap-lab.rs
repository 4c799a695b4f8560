//! `wiremap-lab`: brings the simulated three-node cluster up and down,
//! shows its state and runs scripted traffic with exact counts.
//! A thin shell over `wiremap_e2e::lab`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use wiremap_e2e::lab::{Lab, LabOptions};

#[derive(Parser, Debug)]
#[command(
    name = "wiremap-lab",
    about = "A simulated 3-node cluster of real services in network namespaces"
)]
struct Cli {
    /// Configs, logs and topology.yaml (default: the system temp folder's wiremap-lab).
    #[arg(long, global = true, env = "WIREMAP_LAB_STATE")]
    state_dir: Option<PathBuf>,
    /// Downloaded tools: Tansu, kafkajs (default: ~/.cache/wiremap-lab).
    #[arg(long, global = true, env = "WIREMAP_LAB_CACHE")]
    cache_dir: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Install what is missing, build the cluster, start servers and client loops.
    Up {
        /// Start only the servers (no background client traffic).
        #[arg(long)]
        no_steady_traffic: bool,
    },
    /// Remove every namespace, link and process of the lab (idempotent).
    Down,
    /// Show pods, interfaces, addresses, services and process counts.
    Status,
    /// Run exactly COUNT calls per protocol from qa/tester; print the counts as JSON.
    Traffic {
        #[arg(long, default_value_t = 20)]
        count: u32,
    },
    /// Print the interfaces a probe on NODE captures, comma-separated.
    Interfaces { node: String },
    /// Print the topology file's path.
    Topology,
    /// Print the arguments for a wiremap-probe on NODE (--node, --interface…, --topology).
    ProbeArgs { node: String },
}

fn options(cli: &Cli) -> LabOptions {
    let mut o = LabOptions::default();
    if let Some(d) = &cli.state_dir {
        o.state_dir = d.clone();
    }
    if let Some(d) = &cli.cache_dir {
        o.cache_dir = d.clone();
    }
    o
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut opts = options(&cli);
    match &cli.cmd {
        Cmd::Up { no_steady_traffic } => {
            opts.steady_traffic = !no_steady_traffic;
            let lab = Lab::up(opts)?;
            for node in lab.node_names() {
                println!("{node}: {}", lab.node_interfaces(&node)?.join(","));
            }
            println!("topology: {}", lab.topology_path().display());
            lab.detach();
        }
        Cmd::Down => {
            let r = Lab::teardown_all()?;
            println!(
                "lab down: removed {} processes, {} namespaces, {} links",
                r.processes, r.namespaces, r.links
            );
        }
        Cmd::Status => {
            opts.verbose = false;
            match Lab::attach(opts) {
                Ok(lab) => print!("{}", lab.status()),
                Err(wiremap_e2e::lab::LabError::NotUp) => println!("lab is down"),
                Err(e) => return Err(e.into()),
            }
        }
        Cmd::Traffic { count } => {
            let lab = Lab::attach(opts)?;
            println!("{}", lab.run_scripted_traffic(*count)?.to_json());
        }
        Cmd::Interfaces { node } => {
            opts.verbose = false;
            let lab = Lab::attach(opts)?;
            println!("{}", lab.node_interfaces(node)?.join(","));
        }
        Cmd::ProbeArgs { node } => {
            opts.verbose = false;
            let lab = Lab::attach(opts)?;
            println!("{}", lab.probe_args(node)?.join(" "));
        }
        Cmd::Topology => {
            let lab = Lab::attach(opts)?;
            println!("{}", lab.topology_path().display());
        }
    }
    Ok(())
}
