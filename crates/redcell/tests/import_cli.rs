//! The import commands of the binary against a demo district on SQLite:
//! `redcell import KIND FILE`, `redcell import batches`, `redcell import undo`.
//! `cargo test -p redcell --test import_cli`.

use redcell_testkit::{cli, date, synth_id};
use std::path::Path;

fn run(db: &str, args: &[&str]) -> (bool, String, String) {
    cli::run(env!("CARGO_BIN_EXE_redcell"), db, args)
}

/// The batch id in "已导入，批次 #N".
fn batch_of(out: &str) -> String {
    let at = out.find("批次 #").unwrap_or_else(|| panic!("no batch in: {out}")) + "批次 #".len();
    out[at..].chars().take_while(char::is_ascii_digit).collect()
}

/// The line of batch `id` in the listing.
fn line_of<'a>(list: &'a str, id: &str) -> &'a str {
    let tag = format!("#{id}\t");
    list.lines().find(|l| l.starts_with(&tag)).unwrap_or_else(|| panic!("batch #{id} not listed: {list}"))
}

/// How many residents named like `name` an export of the district finds.
fn residents_named(db: &str, dir: &Path, name: &str) -> u64 {
    let out_file = dir.join("residents.csv");
    let q = format!("q={name}");
    let (ok, out, err) = run(
        db,
        &[
            "export",
            "residents",
            "--org",
            "DEMO",
            "--format",
            "csv",
            "--filter",
            &q,
            "--out",
            out_file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    // "居民：N 行写入 ..."
    let n: String = out.split('：').nth(1).unwrap_or("").chars().take_while(char::is_ascii_digit).collect();
    n.parse().unwrap_or_else(|_| panic!("no count in: {out}"))
}

#[test]
fn import_list_and_undo_batches() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/rc.db", dir.path().display());
    let (ok, _, err) = run(&db, &["demo", "--households", "200", "--seed", "7"]);
    assert!(ok, "{err}");
    let (ok, out, _) = run(&db, &["import", "batches"]);
    assert!(ok && out.contains("尚无导入批次"), "{out}");

    // A grid with one building, then two residents of one household in it.
    let grids = dir.path().join("网格.csv");
    std::fs::write(
        &grids,
        "网格编码,网格名称,所属组织编码,楼栋名称,楼栋地址\nCLI-WG1,命令行网格,DEMO-SQ01,1幢,测试路1号\n",
    )
    .unwrap();
    let (ok, out, err) = run(&db, &["import", "grids", grids.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let grid_batch = batch_of(&out);
    let id = |seq| synth_id(date(1925, 2, 3), seq);
    let households = dir.path().join("住户.csv");
    std::fs::write(
        &households,
        format!(
            "网格编码,楼栋名称,单元,房号,姓名,身份证号\nCLI-WG1,1幢,1,101,命令行甲,{}\nCLI-WG1,1幢,1,101,命令行乙,{}\n",
            id(987),
            id(988)
        ),
    )
    .unwrap();
    let (ok, out, err) = run(&db, &["import", "households", households.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("新增 2"), "{out}");
    let batch = batch_of(&out);
    assert_eq!(residents_named(&db, dir.path(), "命令行"), 2);

    // Listed newest first, with kind, file, counts, who and state.
    let (ok, list, err) = run(&db, &["import", "batches", "--org", "DEMO"]);
    assert!(ok, "{err}");
    let line = line_of(&list, &batch);
    assert!(line.contains("住户.csv") && line.contains("\t2/0/0\t") && line.contains("命令行"), "{line}");
    assert!(line.ends_with("有效"), "{line}");
    assert!(list.find(&format!("#{batch}\t")) < list.find(&format!("#{grid_batch}\t")), "newest first: {list}");
    let (ok, list, _) = run(&db, &["import", "batches", "--limit", "1"]);
    assert!(ok && list.lines().count() == 2 && !list.contains(&format!("#{grid_batch}\t")), "{list}");

    // Out of the organisation's subtree: not there for it, nothing changed.
    let (ok, _, err) = run(&db, &["import", "undo", &grid_batch, "--org", "DEMO-SQ02"]);
    assert!(!ok && err.contains("撤销未执行") && err.contains("该批次不存在"), "{err}");
    let (ok, _, err) = run(&db, &["import", "undo", "999999"]);
    assert!(!ok && err.contains("该批次不存在"), "{err}");
    // The grid batch cannot go while the households batch stands on it.
    let (ok, _, err) = run(&db, &["import", "undo", &grid_batch]);
    assert!(!ok && err.contains("依赖"), "{err}");

    let (ok, out, err) = run(&db, &["import", "undo", &batch]);
    assert!(ok && out.contains(&format!("批次 #{batch} 已撤销")), "{out}{err}");
    assert_eq!(residents_named(&db, dir.path(), "命令行"), 0, "the residents are gone");
    let (ok, _, err) = run(&db, &["import", "undo", &batch]);
    assert!(!ok && err.contains("撤销未执行") && err.contains("该批次已撤销"), "{err}");
    let (_, list, _) = run(&db, &["import", "batches"]);
    assert!(line_of(&list, &batch).contains("\t已撤销（"), "{list}");
    assert!(line_of(&list, &grid_batch).ends_with("有效"), "{list}");
    let (ok, out, err) = run(&db, &["import", "undo", &grid_batch]);
    assert!(ok, "{out}{err}");

    // The file form is unchanged: errors named, exit code 1, nothing written.
    let (ok, out, err) = run(&db, &["import", "households", households.to_str().unwrap(), "--dry-run"]);
    assert!(!ok && out.contains("网格编码") && err.contains("导入未执行"), "{out}{err}");
}
