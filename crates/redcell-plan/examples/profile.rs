//! Phase timings of a cold solve and a warm re-plan (development aid).
//!
//! `cargo run -p redcell-plan --release --example profile -- HOUSEHOLDS [K]`
//! Prints wall and CPU seconds (CPU from /proc, so a busy machine shows).

use redcell_plan::{SolveOptions, churn, generate_city, solve_with};

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
    // Fields 14 and 15 of the file (utime, stime) are 11 and 12 here.
    (t(11) + t(12)) / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = args.first().and_then(|s| s.replace('_', "").parse().ok()).unwrap_or(100_000);
    let mut opts = SolveOptions::default();
    if let Some(k) = args.get(1).and_then(|s| s.parse().ok()) {
        opts.k = k;
    }
    let mut inst = generate_city(n, 1);
    // `CROSS=1`: one component (cross_grid), the spatial-index path.
    if std::env::var_os("CROSS").is_some() {
        inst.params.cross_grid = true;
    }
    for round in 0..2 {
        let c0 = cpu();
        let Ok(s) = solve_with(&inst, &opts, None) else {
            return;
        };
        let st = &s.stats;
        println!(
            "cold #{round}: wall {:.3}s cpu {:.2}s | prepare {:.3} components {:.3} output {:.3} | thread-s arcs {:.3} flow {:.3} price {:.3} | arcs {} added {} rounds {} dijkstras {} repairs {} relaxations {}",
            s.plan.seconds,
            cpu() - c0,
            st.seconds_prepare,
            st.seconds_components,
            st.seconds_output,
            st.thread_seconds[0],
            st.thread_seconds[1],
            st.thread_seconds[2],
            st.arcs,
            st.arcs_added,
            st.rounds,
            st.dijkstras,
            st.repairs,
            st.relaxations
        );
        if round == 1 {
            let next = churn(&inst, &s.plan, 0.01, 2);
            for _ in 0..2 {
                let (c0, t0) = (cpu(), std::time::Instant::now());
                let ok = redcell_plan::validate(&next).is_ok();
                println!(
                    "validate (churned, {} current pairs): wall {:.3}s cpu {:.2}s ok {ok}",
                    next.current.len(),
                    t0.elapsed().as_secs_f64(),
                    cpu() - c0
                );
            }
            let c0 = cpu();
            let Ok(w) = solve_with(&next, &opts, Some(&s.duals)) else {
                return;
            };
            let st = &w.stats;
            println!(
                "warm:    wall {:.3}s cpu {:.2}s | prepare {:.3} components {:.3} output {:.3} | thread-s arcs {:.3} flow {:.3} price {:.3} | arcs {} added {} rounds {} dijkstras {} repairs {} relaxations {} | moves {}",
                w.plan.seconds,
                cpu() - c0,
                st.seconds_prepare,
                st.seconds_components,
                st.seconds_output,
                st.thread_seconds[0],
                st.thread_seconds[1],
                st.thread_seconds[2],
                st.arcs,
                st.arcs_added,
                st.rounds,
                st.dijkstras,
                st.repairs,
                st.relaxations,
                w.plan.moves
            );
        }
    }
}
