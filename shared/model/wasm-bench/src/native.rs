//! The driver proper (native only).

mod browser;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wasm_bench::aggregation::{batches, AggregationBench, ENTRIES};
use wasm_bench::graphs::{suite, BenchGraph};
use wasm_bench::quality::quality;
use wiremap_wire::{EntryView, Protocol};

pub(crate) type Error = String;

#[derive(Debug)]
struct Args {
    site: PathBuf,
    small: bool,
    repeat: usize,
    browser: bool,
    chromium: String,
    sfdp: String,
    timeout: Duration,
}

fn parse_args() -> Result<Args, Error> {
    let mut a = Args {
        site: PathBuf::new(),
        small: false,
        repeat: 3,
        browser: true,
        chromium: "chromium".into(),
        sfdp: "sfdp".into(),
        timeout: Duration::from_secs(1800),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--site" => a.site = PathBuf::from(value("--site")?),
            "--small" => a.small = true,
            "--no-browser" => a.browser = false,
            "--repeat" => {
                a.repeat = value("--repeat")?
                    .parse()
                    .map_err(|e| format!("--repeat: {e}"))?
            }
            "--chromium" => a.chromium = value("--chromium")?,
            "--sfdp" => a.sfdp = value("--sfdp")?,
            "--timeout-s" => {
                a.timeout = Duration::from_secs(
                    value("--timeout-s")?
                        .parse()
                        .map_err(|e| format!("--timeout-s: {e}"))?,
                )
            }
            "--bench" => {} // passed by `cargo bench`-style callers
            other => return Err(format!("unknown argument {other:?} (see src/main.rs)")),
        }
    }
    if a.site.as_os_str().is_empty() {
        return Err("--site DIR is required (run.sh builds it)".into());
    }
    a.repeat = a.repeat.max(1);
    Ok(a)
}

/// CPU seconds of this process (`self`) and of its waited-for children
/// (`children`), from /proc (10 ms resolution): the machine is shared, so
/// wall time also measures the neighbours.
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    let get = |i: usize| f.get(i).copied().unwrap_or(0.0) / 100.0;
    // utime, stime, cutime, cstime are stat fields 14–17: 11–14 after the name.
    (get(11) + get(12), get(13) + get(14))
}

/// One engine's result on one graph.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) graph: String,
    pub(crate) engine: String,
    pub(crate) place: &'static str,
    pub(crate) iterations: f64,
    /// Time in the iterations (None: not separable, sfdp).
    pub(crate) run_ms: Option<f64>,
    pub(crate) total_ms: f64,
    /// CPU time in the iterations.
    pub(crate) run_cpu_ms: Option<f64>,
    pub(crate) total_cpu_ms: Option<f64>,
    pub(crate) all_totals_ms: Vec<f64>,
    pub(crate) all_cpus_ms: Vec<f64>,
    pub(crate) quality: Option<f64>,
    pub(crate) note: String,
}

fn native_ours(g: &BenchGraph, repeat: usize) -> Run {
    let mut best: Option<Run> = None;
    let (mut totals, mut cpus) = (Vec::new(), Vec::new());
    for _ in 0..repeat {
        let t = Instant::now();
        let c0 = cpu_seconds().0;
        let mut layout = wasm_bench::start_layout(g.nodes, &g.edges, &g.xy);
        let setup = t.elapsed().as_secs_f64() * 1e3;
        let c1 = cpu_seconds().0;
        while layout.step(1) {}
        let total = t.elapsed().as_secs_f64() * 1e3;
        let c2 = cpu_seconds().0;
        totals.push(total);
        cpus.push((c2 - c0) * 1e3);
        if best.as_ref().is_none_or(|b| total < b.total_ms) {
            best = Some(Run {
                graph: g.name.clone(),
                engine: "ours".into(),
                place: "native",
                iterations: layout.ticks() as f64,
                run_ms: Some(total - setup),
                total_ms: total,
                run_cpu_ms: Some((c2 - c1) * 1e3),
                total_cpu_ms: Some((c2 - c0) * 1e3),
                all_totals_ms: Vec::new(),
                all_cpus_ms: Vec::new(),
                quality: quality(&g.edges, &wasm_bench::positions(&layout)),
                note: String::new(),
            });
        }
    }
    let mut run = best.expect("repeat >= 1");
    run.all_totals_ms = totals;
    run.all_cpus_ms = cpus;
    run
}

fn dot(g: &BenchGraph) -> String {
    let mut s = String::from("graph G {\nnode [shape=point];\n");
    for (i, &(x, y)) in g.xy.iter().enumerate() {
        let _ = writeln!(s, "{i} [pos=\"{x:.3},{y:.3}\"];");
    }
    for &(a, b) in &g.edges {
        let _ = writeln!(s, "{a} -- {b};");
    }
    s.push_str("}\n");
    s
}

/// Positions from `-Tplain` output (`node NAME X Y …`).
fn parse_plain(text: &str, n: usize) -> Result<Vec<(f64, f64)>, Error> {
    let mut xy = vec![(f64::NAN, f64::NAN); n];
    for line in text.lines() {
        let mut w = line.split_whitespace();
        if w.next() != Some("node") {
            continue;
        }
        let (id, x, y) = (w.next(), w.next(), w.next());
        let parsed = (|| -> Option<(usize, f64, f64)> {
            Some((id?.parse().ok()?, x?.parse().ok()?, y?.parse().ok()?))
        })();
        match parsed {
            Some((i, x, y)) if i < n => xy[i] = (x, y),
            _ => return Err(format!("sfdp: bad line {line:?}")),
        }
    }
    Ok(xy)
}

fn sfdp(g: &BenchGraph, bin: &str, dir: &Path, repeat: usize) -> Result<Run, Error> {
    let path = dir.join(format!("{}.dot", g.name));
    std::fs::write(&path, dot(g)).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut best: Option<Run> = None;
    let (mut totals, mut cpus) = (Vec::new(), Vec::new());
    for _ in 0..repeat {
        let t = Instant::now();
        let c0 = cpu_seconds().1;
        let out = Command::new(bin)
            .args(["-Gmaxiter=300", "-Tplain"])
            .arg(&path)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("{bin}: {e} (apt-get install graphviz)"))?;
        let total = t.elapsed().as_secs_f64() * 1e3;
        let cpu = (cpu_seconds().1 - c0) * 1e3;
        if !out.status.success() {
            return Err(format!("{bin} failed: {}", out.status));
        }
        let xy = parse_plain(&String::from_utf8_lossy(&out.stdout), g.nodes)?;
        totals.push(total);
        cpus.push(cpu);
        if best.as_ref().is_none_or(|b| total < b.total_ms) {
            best = Some(Run {
                graph: g.name.clone(),
                engine: "Graphviz sfdp".into(),
                place: "native",
                iterations: f64::NAN,
                run_ms: None,
                total_ms: total,
                run_cpu_ms: None,
                total_cpu_ms: Some(cpu),
                all_totals_ms: Vec::new(),
                all_cpus_ms: Vec::new(),
                quality: quality(&g.edges, &xy),
                note: "whole process; multilevel, own start (ignores input pos)".into(),
            });
        }
    }
    let mut run = best.expect("repeat >= 1");
    run.all_totals_ms = totals;
    run.all_cpus_ms = cpus;
    Ok(run)
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.filter(|v| v.is_finite())
        .map_or("—".into(), |v| format!("{v:.digits$}"))
}

fn print_layout(runs: &[Run]) {
    println!("| graph | engine | where | iterations | wall ms/iteration | wall total ms | CPU ms/iteration | CPU total ms | all runs: wall / CPU ms | quality |");
    println!("|---|---|---|---:|---:|---:|---:|---:|---|---:|");
    for r in runs {
        let per = r.run_ms.map(|m| m / r.iterations);
        let cpu_per = r.run_cpu_ms.map(|m| m / r.iterations);
        let all: Vec<String> = r
            .all_totals_ms
            .iter()
            .zip(&r.all_cpus_ms)
            .map(|(t, c)| format!("{t:.0} / {c:.0}"))
            .collect();
        println!(
            "| {} | {} | {} | {} | {} | {:.0} | {} | {} | {} | {}{} |",
            r.graph,
            r.engine,
            r.place,
            fmt_opt(Some(r.iterations), 0),
            fmt_opt(per, 2),
            r.total_ms,
            fmt_opt(cpu_per, 2),
            fmt_opt(r.total_cpu_ms, 0),
            all.join("; "),
            fmt_opt(r.quality, 3),
            if r.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", r.note)
            }
        );
    }
    println!();
}

fn native_aggregation() -> Result<(), Error> {
    let mut bench = AggregationBench::new()?;
    let b = batches();
    let c0 = cpu_seconds().0;
    bench.ingest(b);
    let ingest = (cpu_seconds().0 - c0) * 1e3;
    println!("### Aggregation, native ({ENTRIES} entries; ingest {ingest:.0} ms CPU)\n");
    println!("| case | edges | best wall ms (of 10) | mean CPU ms | M entries/s (CPU) |");
    println!("|---|---:|---:|---:|---:|");
    let not_dns = |v: &EntryView| v.entry.protocol != Protocol::DNS;
    let cases = bench.cases.len();
    for i in 0..=cases {
        let mut best = f64::MAX;
        let mut edges = 0;
        let c0 = cpu_seconds().0;
        for _ in 0..10 {
            let t = Instant::now();
            let out = if i < cases {
                bench.run(i)
            } else {
                bench.run_with(0, &not_dns)
            };
            edges = out.map_or(0, |o| o.edges);
            best = best.min(t.elapsed().as_secs_f64() * 1e3);
        }
        let cpu = (cpu_seconds().0 - c0) * 1e3 / 10.0;
        let name = if i < cases {
            bench.cases[i].name.to_string()
        } else {
            format!(
                "{} — Rust closure instead of KFL2 (reference)",
                bench.cases[0].name
            )
        };
        println!(
            "| {name} | {edges} | {best:.1} | {cpu:.1} | {:.2} |",
            ENTRIES as f64 / cpu.max(0.01) / 1e3
        );
    }
    println!();
    Ok(())
}

pub(crate) fn run() -> Result<(), Error> {
    let args = parse_args()?;
    let graphs = suite(args.small);
    let gdir = args.site.join("graphs");
    std::fs::create_dir_all(&gdir).map_err(|e| format!("{}: {e}", gdir.display()))?;
    for g in &graphs {
        let p = gdir.join(format!("{}.json", g.name));
        std::fs::write(&p, g.to_json()).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("## Layout: 300 iterations, same graphs and initial positions\n");
    println!(
        "Load average at start: {}\n",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut runs = Vec::new();
    for g in &graphs {
        let repeat = if g.nodes < 5_000 { args.repeat } else { 1 };
        eprintln!("native: {}", g.name);
        runs.push(native_ours(g, repeat));
        eprintln!("sfdp: {}", g.name);
        runs.push(sfdp(g, &args.sfdp, &gdir, repeat)?);
    }
    let mut agg = None;
    let mut user_agent = String::new();
    if args.browser {
        let names: Vec<&str> = graphs.iter().map(|g| g.name.as_str()).collect();
        let out = browser::run(
            &args.site,
            &args.chromium,
            &names,
            args.repeat,
            args.timeout,
        )?;
        for r in out.runs {
            let g = graphs
                .iter()
                .find(|g| g.name == r.graph)
                .ok_or(format!("unknown graph {:?} from the page", r.graph))?;
            if r.xy.len() != g.nodes {
                return Err(format!(
                    "{} on {}: {} positions for {} nodes",
                    r.engine,
                    r.graph,
                    r.xy.len(),
                    g.nodes
                ));
            }
            runs.push(Run {
                graph: r.graph.clone(),
                engine: r.engine.clone(),
                place: "Chromium",
                iterations: r.iterations,
                run_ms: Some(r.run_ms),
                total_ms: r.setup_ms + r.run_ms,
                run_cpu_ms: Some(r.run_cpu_ms),
                total_cpu_ms: Some(r.setup_cpu_ms + r.run_cpu_ms),
                all_totals_ms: r.totals_ms.clone(),
                all_cpus_ms: r.cpus_ms.clone(),
                quality: quality(&g.edges, &r.xy),
                note: r.note.clone(),
            });
        }
        agg = out.aggregation;
        user_agent = out.user_agent;
    }
    runs.sort_by_key(|r| {
        let g = graphs
            .iter()
            .position(|g| g.name == r.graph)
            .unwrap_or(usize::MAX);
        (g, r.place != "Chromium", r.engine != "ours")
    });
    if !user_agent.is_empty() {
        println!("Browser: {user_agent}\n");
    }
    print_layout(&runs);
    for g in &graphs {
        let initial = quality(&g.edges, &g.xy);
        println!("Initial quality of {}: {}", g.name, fmt_opt(initial, 3));
    }
    println!();
    if let Some(a) = agg {
        println!(
            "### Aggregation in WASM (Chromium; {} entries, generated and ingested in {:.0} ms)\n",
            a.entries, a.fill_ms
        );
        println!("| case | edges | best wall ms (of 10) | median wall ms | mean CPU ms | M entries/s (best wall) | M entries/s (CPU) |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for c in &a.cases {
            let mut t = c.times_ms.clone();
            t.sort_by(f64::total_cmp);
            let (best, median) = (
                t.first().copied().unwrap_or(f64::NAN),
                t.get(t.len() / 2).copied().unwrap_or(f64::NAN),
            );
            println!(
                "| {} | {} | {best:.1} | {median:.1} | {:.1} | {:.2} | {:.2} |",
                c.name,
                c.edges,
                c.cpu_ms_per_run,
                a.entries / best / 1e3,
                a.entries / c.cpu_ms_per_run.max(0.01) / 1e3
            );
        }
        println!();
    }
    native_aggregation()?;
    Ok(())
}
