//! Prints the benchmark table of `cli_bench`.
//!
//! `cargo run -p redcell-plan --release --example bench -- [SIZES...] [--seed N]`
//! (default sizes 10000 100000 1000000, seed 1).

fn main() {
    let mut sizes = Vec::new();
    let mut seed = 1u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--seed" {
            match args.next().and_then(|s| s.parse().ok()) {
                Some(s) => seed = s,
                None => {
                    eprintln!("--seed needs a number");
                    std::process::exit(2);
                }
            }
        } else {
            match a.replace('_', "").parse() {
                Ok(n) => sizes.push(n),
                Err(_) => {
                    eprintln!("not a size: {a}");
                    std::process::exit(2);
                }
            }
        }
    }
    if sizes.is_empty() {
        sizes = vec![10_000, 100_000, 1_000_000];
    }
    print!("{}", redcell_plan::cli_bench(&sizes, seed));
}
