//! What the `redcell plan ...` commands call: files in, files out, summaries.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::city::Rng;
use crate::planner::random_change;
use crate::{Instance, Plan, PlanError, Planner, SolveOptions, churn, evaluate, generate_city, solve_with};

fn parse<T: serde::de::DeserializeOwned>(file: &Path, text: &str) -> Result<T, PlanError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let v: T = serde_path_to_error::deserialize(&mut de).map_err(|e| PlanError::Parse {
        file: file.display().to_string(),
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    de.end().map_err(|e| PlanError::Parse {
        file: file.display().to_string(),
        path: String::new(),
        message: e.to_string(),
    })?;
    Ok(v)
}

/// Reads an instance file (JSON, see the contract). Parse errors name the
/// field, e.g. `in.json: members[3].max: invalid type: string "x", expected i64`.
/// The instance is not validated here (see [`crate::validate`]).
pub fn read_instance(path: impl AsRef<Path>) -> Result<Instance, PlanError> {
    let path = path.as_ref();
    let text = fs::read_to_string(path).map_err(|e| PlanError::io(path, &e))?;
    parse(path, &text)
}

/// Reads a plan file (JSON).
pub fn read_plan(path: impl AsRef<Path>) -> Result<Plan, PlanError> {
    let path = path.as_ref();
    let text = fs::read_to_string(path).map_err(|e| PlanError::io(path, &e))?;
    parse(path, &text)
}

fn tmp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "plan.json".into());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes any serialisable value as JSON to a temporary file beside `path`
/// and renames it into place: either the whole file is there or nothing.
fn write_json_atomically<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), PlanError> {
    let tmp = tmp_path(path);
    let result = (|| -> std::io::Result<()> {
        let f = fs::File::create(&tmp)?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        serde_json::to_writer(&mut w, value).map_err(std::io::Error::other)?;
        w.write_all(b"\n")?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(PlanError::io(path, &e));
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(PlanError::io(path, &e));
    }
    Ok(())
}

/// Writes a plan file atomically (temporary file, then rename).
pub fn write_plan_atomically(path: impl AsRef<Path>, plan: &Plan) -> Result<(), PlanError> {
    write_json_atomically(path.as_ref(), plan)
}

/// Writes an instance file atomically (temporary file, then rename).
pub fn write_instance_atomically(path: impl AsRef<Path>, inst: &Instance) -> Result<(), PlanError> {
    write_json_atomically(path.as_ref(), inst)
}

/// `redcell plan solve --instance IN --out OUT`: reads and validates the
/// instance, solves it, writes the plan atomically and returns a summary
/// (several lines, naming the grids left short). On any error no output
/// file is written.
pub fn cli_solve(instance_path: impl AsRef<Path>, out_path: impl AsRef<Path>) -> Result<String, PlanError> {
    let out_path = out_path.as_ref();
    let inst = read_instance(instance_path)?;
    let sol = solve_with(&inst, &SolveOptions::default(), None)?;
    write_plan_atomically(out_path, &sol.plan)?;
    let p = &sol.plan;
    let s = &sol.stats;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} households, {} members, {} components: {} assigned, {} unassigned (max coverage {})",
        inst.households.len(),
        inst.members.len(),
        s.components,
        p.assignments.len(),
        p.unassigned.len(),
        s.max_coverage
    );
    let proof =
        if p.lower_bound == p.cost { "proven optimal".to_string() } else { format!("gap {}", p.cost - p.lower_bound) };
    let _ = writeln!(
        out,
        "cost {} (lower bound {}, {proof}), {} moves, {:.3} s",
        p.cost, p.lower_bound, p.moves, p.seconds
    );
    for g in &s.gaps {
        let _ = writeln!(out, "  {g}");
    }
    let _ = write!(out, "plan written to {}", out_path.display());
    Ok(out)
}

/// Runs the solver on generated cities of the given sizes and returns a
/// table: households, members, arcs, cost, lower bound, seconds of a cold
/// solve; then a re-plan after 1 % churn warm-started from the prices
/// (seconds, moves, cost) and a cold solve of the same churned instance
/// (seconds) for comparison. Every plan is checked with [`evaluate`].
pub fn cli_bench(sizes: &[usize], seed: u64) -> String {
    let opts = SolveOptions::default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "threads: {}; k: {}; seed {seed}; re-plan after 1 % churn (warm) vs cold solve of the churned instance",
        opts.threads, opts.k
    );
    let _ = writeln!(
        out,
        "| households | members | arcs | cost | lower_bound | seconds | replan s | replan moves | replan cost | cold replan s |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let inst = generate_city(n, seed);
        let sol = match solve_with(&inst, &opts, None) {
            Ok(s) => s,
            Err(e) => {
                let _ = writeln!(out, "| {n} | error: {e} |");
                continue;
            }
        };
        let check = |i: &Instance, p: &Plan| match evaluate(i, p) {
            Ok(e) if e.cost == p.cost && e.moves == p.moves => "",
            Ok(_) => " (evaluate disagrees!)",
            Err(_) => " (infeasible!)",
        };
        let mark = check(&inst, &sol.plan);
        let churned = churn(&inst, &sol.plan, 0.01, seed.wrapping_add(1));
        let t = Instant::now();
        let warm = solve_with(&churned, &opts, Some(&sol.duals));
        let warm_wall = t.elapsed().as_secs_f64();
        let cold = solve_with(&churned, &opts, None);
        let (ws, wm, wc, wmark) = match &warm {
            Ok(w) => {
                (format!("{warm_wall:.3}"), w.plan.moves.to_string(), w.plan.cost.to_string(), check(&churned, &w.plan))
            }
            Err(e) => (format!("error: {e}"), String::new(), String::new(), ""),
        };
        let (cs, same) = match (&cold, &warm) {
            (Ok(c), Ok(w)) => (
                format!("{:.3}", c.plan.seconds),
                if c.plan.cost == w.plan.cost && c.plan.lower_bound == w.plan.lower_bound {
                    ""
                } else {
                    " (differs from cold!)"
                },
            ),
            (Err(e), _) => (format!("error: {e}"), ""),
            _ => (String::new(), ""),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.3} | {ws} | {wm} | {wc}{wmark}{same} | {cs} |",
            n,
            inst.members.len(),
            sol.stats.arcs,
            sol.plan.cost,
            sol.plan.lower_bound,
            sol.plan.seconds,
        );
        if !mark.is_empty() {
            let _ = writeln!(out, "  cold plan for {n}{mark}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "incremental planner: {CHANGES} random single changes (household in/out/moved, member in/out/quota), each re-planned with a certified bound; then a cold solve of the resulting instance for comparison"
    );
    let _ = writeln!(
        out,
        "| households | build s | median ms | p99 ms | max ms | CPU ms median / p99 | cost = lower_bound | cold solve of the result: cost, s |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---|---|");
    for &n in sizes {
        let _ = writeln!(out, "{}", bench_changes(n, seed, &opts, CHANGES));
    }
    out
}

/// CPU seconds this thread has run (`CLOCK_THREAD_CPUTIME_ID`), so that
/// single-change times can be told apart from time the thread spent
/// waiting for a core on a loaded machine.
#[cfg(unix)]
fn thread_cpu_seconds() -> Option<f64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (r == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

#[cfg(not(unix))]
fn thread_cpu_seconds() -> Option<f64> {
    None
}

/// Changes per size in [`cli_bench`].
const CHANGES: usize = 1000;

/// One row of the incremental table: `changes` random changes applied to a
/// planner of a generated city of `n` households.
fn bench_changes(n: usize, seed: u64, opts: &SolveOptions, changes: usize) -> String {
    let inst = generate_city(n, seed);
    let t = Instant::now();
    let mut planner = match Planner::new(&inst, opts) {
        Ok(p) => p,
        Err(e) => return format!("| {n} | error: {e} |"),
    };
    let build = t.elapsed().as_secs_f64();
    drop(inst);
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut times = Vec::with_capacity(changes);
    let mut cpu = Vec::with_capacity(changes);
    let mut proven = true;
    for i in 0..changes {
        let change = random_change(&planner, &mut rng, i as u64);
        let c0 = thread_cpu_seconds();
        let r = planner.apply(&change);
        if let (Some(a), Some(b)) = (c0, thread_cpu_seconds()) {
            cpu.push(b - a);
        }
        match r {
            Ok(u) => {
                times.push(u.seconds);
                proven &= u.lower_bound == u.cost;
            }
            Err(e) => return format!("| {n} | error after {i} changes: {e} |"),
        }
    }
    times.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    let at = |v: &[f64], f: f64| v.get(((v.len() as f64 * f) as usize).min(v.len().saturating_sub(1))).copied();
    let q = |f: f64| at(&times, f);
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.3}", v * 1000.0));
    let cpu_ms = format!("{} / {}", ms(at(&cpu, 0.5)), ms(at(&cpu, 0.99)));
    let result = planner.instance();
    let cold = match solve_with(&result, opts, None) {
        Ok(c) => {
            let same = c.plan.cost == planner.cost() && c.plan.lower_bound == planner.lower_bound();
            format!("{}, {:.3}{}", c.plan.cost, c.plan.seconds, if same { "" } else { " (differs!)" })
        }
        Err(e) => format!("error: {e}"),
    };
    format!(
        "| {n} | {build:.3} | {} | {} | {} | {cpu_ms} | {} {} | {cold} |",
        ms(q(0.5)),
        ms(q(0.99)),
        ms(times.last().copied()),
        planner.cost(),
        if proven && planner.lower_bound() == planner.cost() { "proven after every change" } else { "NOT proven" },
    )
}
