//! Submission throughput of resident requests on SQLite: each submission is
//! the full service path (category lookup, calendar, routing by grid, insert,
//! history row, audit row, one `BEGIN IMMEDIATE` transaction with
//! `synchronous=FULL`).
//!
//! `cargo run --release -p redcell-store --example bench_requests -- [COUNT] [TASKS]`

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
    let dir = tempfile::tempdir()?;
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("bench.db").display())).await?;
    db.migrate().await?;
    let s = generate(&db, &DemoOptions { households: 200, seed: 1, admin_password: None, replace: false }, &|_, _| {})
        .await?;
    let grids: Vec<(redcell_domain::GridId,)> =
        db.all("SELECT id FROM grids WHERE tenant_id = $1", args![s.tenant_id]).await?;
    let cats = ["facility", "environment", "neighbour", "fire", "benefit", "certificate"];
    let before = db.int("SELECT COUNT(*) FROM requests", args![]).await?;
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let db = db.clone();
        let grids = grids.clone();
        let tenant = s.tenant_id;
        handles.push(tokio::spawn(async move {
            let mut i = t;
            while i < count {
                let raw = RawRequest {
                    category: Some(cats[i % cats.len()].to_string()),
                    description: Some(format!("压力测试诉求 {i}：楼道灯不亮")),
                    grid_id: Some(grids[i % grids.len()].0.to_string()),
                    contact_phone: Some(format!("139{:08}", i)),
                    ..RawRequest::default()
                };
                let n = raw.validate().expect("valid");
                requests::submit(&db, tenant, n, Source::Resident, None, None).await.expect("submit");
                i += tasks;
            }
        }));
    }
    for h in handles {
        h.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    let after = db.int("SELECT COUNT(*) FROM requests", args![]).await?;
    assert_eq!((after - before) as usize, count);
    println!(
        "{count} submissions with {tasks} tasks in {secs:.2} s: {:.0} submissions/s (SQLite, synchronous=FULL)",
        count as f64 / secs
    );
    Ok(())
}
