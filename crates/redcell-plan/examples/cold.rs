//! Repeated cold solves of one generated city (for `perf`).
//!
//! `cargo run -p redcell-plan --release --example cold -- HOUSEHOLDS [RUNS] [K]`

use redcell_plan::{SolveOptions, generate_city, solve_with};

/// User + system CPU seconds of this process so far (Linux), or 0.
fn cpu() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some(rest) = s.rsplit(')').next() else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = args.first().and_then(|s| s.replace('_', "").parse().ok()).unwrap_or(1_000_000);
    let runs: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let inst = generate_city(n, 1);
    let mut opts = SolveOptions::default();
    if let Some(k) = args.get(2).and_then(|s| s.parse().ok()) {
        opts.k = k;
    }
    let mut times = Vec::new();
    let mut cpus = Vec::new();
    for _ in 0..runs {
        let c0 = cpu();
        let Ok(s) = solve_with(&inst, &opts, None) else {
            return;
        };
        let c = cpu() - c0;
        cpus.push(c);
        println!(
            "cpu {c:.2}s wall {:.3}s prepare {:.3} components {:.3} output {:.3} cost {} lb {}",
            s.plan.seconds,
            s.stats.seconds_prepare,
            s.stats.seconds_components,
            s.stats.seconds_output,
            s.plan.cost,
            s.plan.lower_bound
        );
        times.push(s.plan.seconds);
    }
    times.sort_by(f64::total_cmp);
    cpus.sort_by(f64::total_cmp);
    println!(
        "wall best {:.3}s median {:.3}s; cpu best {:.2}s median {:.2}s",
        times[0],
        times[times.len() / 2],
        cpus[0],
        cpus[cpus.len() / 2]
    );
}
