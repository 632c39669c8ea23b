//! Writes a generated city as an instance file (for other solvers).
//!
//! `cargo run -p redcell-plan --release --example export -- HOUSEHOLDS OUT.json [SEED]`

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), Some(out)) = (args.first().and_then(|s| s.replace('_', "").parse::<usize>().ok()), args.get(1))
    else {
        eprintln!("usage: export HOUSEHOLDS OUT.json [SEED]");
        std::process::exit(2);
    };
    let seed = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let inst = redcell_plan::generate_city(n, seed);
    if let Err(e) = redcell_plan::write_instance_atomically(out, &inst) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    println!("{} households, {} members written to {out}", inst.households.len(), inst.members.len());
}
