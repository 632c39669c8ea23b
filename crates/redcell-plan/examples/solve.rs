//! Solves an instance file like `redcell plan solve` will:
//! `cargo run -p redcell-plan --release --example solve -- IN.json OUT.json`

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(input), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: solve IN.json OUT.json");
        std::process::exit(2);
    };
    let t = std::time::Instant::now();
    match redcell_plan::cli_solve(input, out) {
        Ok(summary) => println!("{summary}\n(total with reading and writing: {:.3} s)", t.elapsed().as_secs_f64()),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
