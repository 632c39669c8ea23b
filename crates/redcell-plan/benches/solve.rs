//! Criterion benchmarks: cold solves of generated cities and warm re-plans
//! after 1 % churn. `cargo bench -p redcell-plan`.

use criterion::{Criterion, criterion_group, criterion_main};
use redcell_plan::{SolveOptions, churn, generate_city, solve_with};

fn bench(c: &mut Criterion) {
    let opts = SolveOptions::default();
    let mut g = c.benchmark_group("plan");
    g.sample_size(10);
    for n in [10_000usize, 100_000] {
        let inst = generate_city(n, 1);
        g.bench_function(format!("solve {n}"), |b| b.iter(|| solve_with(&inst, &opts, None).map(|s| s.plan.cost)));
        let Ok(first) = solve_with(&inst, &opts, None) else {
            continue;
        };
        let next = churn(&inst, &first.plan, 0.01, 2);
        g.bench_function(format!("replan 1% churn {n}"), |b| {
            b.iter(|| solve_with(&next, &opts, Some(&first.duals)).map(|s| s.plan.cost))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
