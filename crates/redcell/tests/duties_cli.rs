//! The duties commands of the binary against a demo district on SQLite:
//! `cargo test -p redcell --test duties_cli`.

use redcell_testkit::cli;

fn run(db: &str, args: &[&str]) -> (bool, String, String) {
    cli::run(env!("CARGO_BIN_EXE_redcell"), db, args)
}

#[test]
fn duties_check_rules_round_trip_and_user_link() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/rc.db", dir.path().display());
    let (ok, _, err) = run(&db, &["demo", "--households", "200", "--seed", "7", "--admin-password", "ci-Admin-2026"]);
    assert!(ok, "{err}");

    let (ok, out, err) = run(&db, &["duties", "check", "--org", "DEMO"]);
    assert!(ok, "{err}");
    assert!(out.contains("驻格干部每周二网格日") && out.contains("沉默支部"), "{out}");
    let (ok, out, _) = run(&db, &["duties", "check", "--org", "DEMO", "--date", "2026-06-30"]);
    assert!(ok && out.contains("2026-06-30"), "{out}");
    let (ok, _, err) = run(&db, &["duties", "check", "--org", "NOPE"]);
    assert!(!ok && err.contains("NOPE"), "{err}");

    let toml = dir.path().join("rules.toml");
    let t = toml.to_str().unwrap();
    let (ok, _, err) = run(&db, &["duties", "rules", "export", "--out", t]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&toml).unwrap();
    assert!(text.contains("code = \"grid_day\""));
    std::fs::write(&toml, text.replace("weekday = \"tue\"", "weekday = \"wed\"")).unwrap();
    let (ok, out, err) = run(&db, &["duties", "rules", "import", t]);
    assert!(ok && out.contains("20"), "{out}{err}");
    let (_, out, _) = run(&db, &["duties", "check", "--org", "DEMO"]);
    assert!(out.contains("每周三"), "the imported rhythm is in force: {out}");
    std::fs::write(&toml, text.replace("every = \"month\"", "every = \"fortnight\"")).unwrap();
    let (ok, _, err) = run(&db, &["duties", "rules", "import", t]);
    assert!(!ok && err.contains("fortnight"), "a bad file is refused whole: {err}");
    let (_, out, _) = run(&db, &["duties", "check", "--org", "DEMO"]);
    assert!(out.contains("每周三"), "nothing changed by the refused file");

    let (ok, out, err) = run(&db, &["user", "link", "zb0101", "--cadre", "1"]);
    assert!(ok && out.contains("#1"), "{out}{err}");
    let (ok, _, err) = run(&db, &["user", "link", "zb0101", "--member", "99999999"]);
    assert!(!ok && err.contains("党员不存在"), "{err}");
    let (ok, _, err) = run(&db, &["user", "link", "zb0101", "--cadre", "1", "--member", "2"]);
    assert!(!ok && err.contains("cannot be used with"), "{err}");
    let (ok, out, _) = run(&db, &["user", "link", "zb0101", "--clear"]);
    assert!(ok && out.contains("解除"), "{out}");
}
