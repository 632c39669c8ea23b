//! Writes a generated city as an instance file (for other solvers).
//!
//! `cargo run -p redcell-plan --release --example export -- HOUSEHOLDS OUT.json [SEED] [--churn]`
//!
//! With `--churn` the file is the city after 1 % churn, with the cold
//! optimum as `current`: the re-plan instance of `redcell plan bench`.

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let churned = args.iter().any(|a| a == "--churn");
    args.retain(|a| a != "--churn");
    let (Some(n), Some(out)) = (args.first().and_then(|s| s.replace('_', "").parse::<usize>().ok()), args.get(1))
    else {
        eprintln!("usage: export HOUSEHOLDS OUT.json [SEED] [--churn]");
        std::process::exit(2);
    };
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut inst = redcell_plan::generate_city(n, seed);
    if churned {
        let plan = match redcell_plan::solve(&inst, &redcell_plan::SolveOptions::default()) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        inst = redcell_plan::churn(&inst, &plan, 0.01, seed.wrapping_add(1));
    }
    if let Err(e) = redcell_plan::write_instance_atomically(out, &inst) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    println!("{} households, {} members written to {out}", inst.households.len(), inst.members.len());
}
