//! Submission throughput of resident requests on SQLite: each submission is
//! the full service path (category lookup, calendar, routing by grid, insert,
//! history row, audit row, one `BEGIN IMMEDIATE` transaction with
//! `synchronous=FULL`).
//!
//! With READERS > 0, as many tasks read the request list meanwhile (a list
//! query of 50 rows, one after the other), and the writes' p50/p99 are
//! reported. `shared` as the fourth argument runs the same on one pool of 8
//! connections for reads and writes (how redcell ran before the single
//! writer), for comparison.
//!
//! `cargo run --release -p redcell-store --example bench_requests -- [COUNT] [TASKS] [READERS] [shared]`

use redcell_domain::requests::RawRequest;
use redcell_store::demo::{DemoOptions, generate};
use redcell_store::requests::{self, Source};
use redcell_store::{Db, args};
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut argv = std::env::args().skip(1);
    let count: usize = argv.next().and_then(|x| x.parse().ok()).unwrap_or(2000);
    let tasks: usize = argv.next().and_then(|x| x.parse().ok()).unwrap_or(4).max(1);
    let readers: usize = argv.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    let shared = argv.next().as_deref() == Some("shared");
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let mut db = Db::connect(&url).await?;
    if shared {
        let Db::Sqlite(lite) = &db else { unreachable!("a sqlite:// URL") };
        // The pool of 8 that served reads and writes alike.
        let one = redcell_store::db::Lite::one(lite.read.clone());
        db = Db::Sqlite(one);
    }
    db.migrate().await?;
    let s = generate(&db, &DemoOptions { households: 200, seed: 1, admin_password: None, replace: false }, &|_, _| {})
        .await?;
    let grids: Vec<(redcell_domain::GridId,)> =
        db.all("SELECT id FROM grids WHERE tenant_id = $1", args![s.tenant_id]).await?;
    let cats = ["facility", "environment", "neighbour", "fire", "benefit", "certificate"];
    let before = db.int("SELECT COUNT(*) FROM requests", args![]).await?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut reading = Vec::new();
    for _ in 0..readers {
        let (db, stop) = (db.clone(), stop.clone());
        reading.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let rows: Vec<(i64, String)> = db
                    .all("SELECT id, description FROM requests ORDER BY id DESC LIMIT 50", args![])
                    .await
                    .expect("read");
                std::hint::black_box(rows);
                n += 1;
            }
            n
        }));
    }
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let db = db.clone();
        let grids = grids.clone();
        let tenant = s.tenant_id;
        handles.push(tokio::spawn(async move {
            let mut i = t;
            let mut took = Vec::new();
            while i < count {
                let one = Instant::now();
                let raw = RawRequest {
                    category: Some(cats[i % cats.len()].to_string()),
                    description: Some(format!("压力测试诉求 {i}：楼道灯不亮")),
                    grid_id: Some(grids[i % grids.len()].0.to_string()),
                    contact_phone: Some(format!("139{:08}", i)),
                    ..RawRequest::default()
                };
                let n = raw.validate().expect("valid");
                requests::submit(&db, tenant, n, Source::Resident, None, None).await.expect("submit");
                took.push(one.elapsed());
                i += tasks;
            }
            took
        }));
    }
    let mut took = Vec::new();
    for h in handles {
        took.extend(h.await?);
    }
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut reads = 0;
    for r in reading {
        reads += r.await?;
    }
    took.sort();
    let at = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)].as_secs_f64() * 1000.0;
    let after = db.int("SELECT COUNT(*) FROM requests", args![]).await?;
    assert_eq!((after - before) as usize, count);
    println!(
        "{count} submissions with {tasks} tasks in {secs:.2} s: {:.0} submissions/s, p50 {:.1} ms, p99 {:.1} ms \
         (SQLite, synchronous=FULL, {}); {readers} readers meanwhile: {:.0} list reads/s",
        count as f64 / secs,
        at(0.5),
        at(0.99),
        if shared { "one shared pool of 8" } else { "one writer beside 8 readers" },
        reads as f64 / secs
    );
    Ok(())
}
