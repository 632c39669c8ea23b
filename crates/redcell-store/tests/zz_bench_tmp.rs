use redcell_store::{Args, Db, Arg};
use std::time::Instant;

#[tokio::test]
#[ignore]
async fn bench_insert() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("b.db").display())).await.unwrap();
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, tenant_id BIGINT, a BIGINT, b TEXT, c TEXT, d TEXT, created_at TEXT, updated_at TEXT)", Args::new()).await.unwrap();
    for (rows, anon) in [(25usize, false), (50, false), (100, false), (50, true), (100, true), (500, true), (1000, true)] {
        let mut tx = db.begin().await.unwrap();
        let t0 = Instant::now();
        let mut id = (rows as i64 * 10 + anon as i64) * 1_000_000;
        let total = 50_000;
        for _ in 0..total / rows {
            let mut a = if anon { Args(vec![]) } else { Args(vec![Arg::I64(1), Arg::Text("2026-01-01".into())]) };
            let mut sql = String::from("INSERT INTO t (id, tenant_id, a, b, c, d, created_at, updated_at) VALUES ");
            for r in 0..rows {
                if r > 0 { sql.push(','); }
                let n = a.0.len();
                a.0.push(Arg::I64(id)); id += 1;
                a.0.push(Arg::I64(7));
                a.0.push(Arg::Text("张三丰".into()));
                a.0.push(Arg::Text("990101199001011234".into()));
                a.0.push(Arg::OptText(Some("13812345678".into())));
                if anon {
                    a.0.insert(n + 1, Arg::I64(1));
                    a.0.push(Arg::Text("2026-01-01".into()));
                    a.0.push(Arg::Text("2026-01-01".into()));
                    sql.push_str("(?,?,?,?,?,?,?,?)");
                } else {
                sql.push_str(&format!("(${},$1,${},${},${},${},$2,$2)", n+1, n+2, n+3, n+4, n+5));
                }
            }
            tx.exec(&sql, a).await.unwrap();
        }
        tx.commit().await.unwrap();
        println!("{rows} anon={anon} rows/stmt: {:?} for {total}", t0.elapsed());
    }
}
