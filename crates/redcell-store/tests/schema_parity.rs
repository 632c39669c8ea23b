//! After all migrations, SQLite and PostgreSQL have the same schema:
//! `REDCELL_TEST_PG=postgres://postgres@127.0.0.1:5432 cargo test -p redcell-store --test schema_parity`
//! (without `REDCELL_TEST_PG` the comparison is skipped with a note; the
//! readers and the comparison itself are still checked on SQLite).
//!
//! What is compared, table by table (sqlx's `_sqlx_migrations` and SQLite's
//! own `sqlite_*` tables left out):
//! - every column, with its nullability and a coarse type class (integer,
//!   text, real, boolean, timestamp, date, bytes) that both backends' type
//!   names map to;
//! - the primary key's columns, in order. A rowid `INTEGER PRIMARY KEY` counts
//!   as NOT NULL (it is never NULL), any other SQLite key column as declared;
//! - the unique constraints (`UNIQUE (...)` in a table), by column list: their
//!   indexes are named by each backend (`sqlite_autoindex_t_1`, `t_a_b_key`),
//!   so the names mean nothing;
//! - every index created by `CREATE INDEX`, by name: its table, uniqueness,
//!   whether it is partial (`WHERE ...`, the predicate itself is not compared)
//!   and its column list.
//!
//! Foreign keys, defaults, checks and triggers are not compared.
//!
//! Intended differences are few and listed in [`ALLOWED`] and
//! [`tenant_leads_the_key`], each with its reason. An entry of `ALLOWED` that
//! no longer matches a difference fails the test too, so the list cannot go
//! stale.

use redcell_store::{Args, Db};
use redcell_testkit::TestDb;
use std::collections::{BTreeMap, BTreeSet};

/// Differences that are intended, exactly as the comparison words them, and
/// why. Keep this list as short as possible: fix a difference with a migration
/// pair instead whenever the two backends can agree.
const ALLOWED: &[(&str, &str)] = &[];

/// PostgreSQL keys tenant rows by `(tenant_id, id)` where SQLite uses the rowid
/// `id`: to distribute a table by tenant (Citus), every unique key, the primary
/// key included, must contain the distribution column, and the composite
/// foreign keys `(tenant_id, x_id)` keep references inside one tenant. SQLite
/// keeps the rowid, which is what makes its inserts and lookups cheap. The ids
/// are unique on both backends (one sequence, one rowid per table).
fn tenant_leads_the_key(sqlite: &[String], postgres: &[String]) -> bool {
    sqlite == ["id"] && postgres == ["tenant_id", "id"]
}

// ---------------------------------------------------------------- the model

#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    /// See [`class`].
    class: String,
    nullable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Table {
    columns: BTreeMap<String, Column>,
    primary_key: Vec<String>,
    /// The column lists of the table's unique constraints.
    unique: BTreeSet<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Index {
    table: String,
    unique: bool,
    partial: bool,
    columns: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Schema {
    tables: BTreeMap<String, Table>,
    /// Indexes created by `CREATE INDEX`, by name.
    indexes: BTreeMap<String, Index>,
}

/// The coarse class of a column type, from either backend's name for it.
fn class(declared: &str) -> String {
    let t = declared.trim().to_ascii_lowercase();
    // `character varying(20)`, `numeric(10,2)`: the modifier does not matter.
    let base = t.split('(').next().unwrap_or("").trim();
    let c = match base {
        "integer" | "int" | "bigint" | "smallint" | "int2" | "int4" | "int8" => "integer",
        "text" | "character varying" | "varchar" | "character" | "char" => "text",
        "double precision" | "real" | "float" | "float4" | "float8" | "numeric" | "decimal" => "real",
        "boolean" | "bool" => "boolean",
        "timestamptz" | "timestamp with time zone" | "timestamp" | "timestamp without time zone" | "datetime" => {
            "timestamp"
        }
        "date" => "date",
        "blob" | "bytea" => "bytes",
        _ => return format!("unknown type `{declared}`"),
    };
    c.to_string()
}

fn list(columns: &[String]) -> String {
    format!("({})", columns.join(", "))
}

fn null_word(nullable: bool) -> &'static str {
    if nullable { "nullable" } else { "NOT NULL" }
}

// ---------------------------------------------------------------- readers

async fn sqlite_schema(db: &Db) -> Schema {
    let mut s = Schema::default();
    let tables: Vec<(String,)> = db
        .all(
            "SELECT name FROM sqlite_schema WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations' ORDER BY name",
            Args::new(),
        )
        .await
        .expect("sqlite tables");
    for (name,) in tables {
        let mut t = Table::default();
        let cols: Vec<(String, String, i64, i64)> = db
            .all(
                "SELECT name, type, \"notnull\", pk FROM pragma_table_info($1) ORDER BY cid",
                redcell_store::args![name.clone()],
            )
            .await
            .expect("sqlite columns");
        let mut key: Vec<(i64, String)> = cols.iter().filter(|c| c.3 > 0).map(|c| (c.3, c.0.clone())).collect();
        key.sort();
        t.primary_key = key.into_iter().map(|(_, c)| c).collect();
        for (col, ty, notnull, pk) in &cols {
            // The rowid alias is never NULL, whatever the declaration says.
            let rowid = *pk == 1 && t.primary_key.len() == 1 && ty.eq_ignore_ascii_case("integer");
            t.columns.insert(col.clone(), Column { class: class(ty), nullable: *notnull == 0 && !rowid });
        }
        let indexes: Vec<(String, i64, String, i64)> = db
            .all(
                "SELECT name, \"unique\", origin, partial FROM pragma_index_list($1)",
                redcell_store::args![name.clone()],
            )
            .await
            .expect("sqlite indexes");
        for (index, unique, origin, partial) in indexes {
            let cols: Vec<(Option<String>,)> = db
                .all("SELECT name FROM pragma_index_info($1) ORDER BY seqno", redcell_store::args![index.clone()])
                .await
                .expect("sqlite index columns");
            let columns: Vec<String> =
                cols.into_iter().map(|(c,)| c.unwrap_or_else(|| "<expression>".into())).collect();
            match origin.as_str() {
                // The primary key is read from the columns above.
                "pk" => {}
                "u" => {
                    t.unique.insert(columns);
                }
                _ => {
                    s.indexes.insert(
                        index,
                        Index { table: name.clone(), unique: unique != 0, partial: partial != 0, columns },
                    );
                }
            }
        }
        s.tables.insert(name, t);
    }
    s
}

async fn postgres_schema(db: &Db) -> Schema {
    let mut s = Schema::default();
    let tables: Vec<(String,)> = db
        .all(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> '_sqlx_migrations'",
            Args::new(),
        )
        .await
        .expect("postgres tables");
    for (name,) in tables {
        s.tables.insert(name, Table::default());
    }
    let cols: Vec<(String, String, String, bool)> = db
        .all(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped",
            Args::new(),
        )
        .await
        .expect("postgres columns");
    for (table, col, ty, notnull) in cols {
        if let Some(t) = s.tables.get_mut(&table) {
            t.columns.insert(col, Column { class: class(&ty), nullable: !notnull });
        }
    }
    // Every index with its kind: backing the primary key, a unique constraint,
    // or made by CREATE INDEX.
    let indexes: Vec<(String, String, bool, bool, bool, String, String)> = db
        .all(
            "SELECT t.relname::text, i.relname::text, ix.indisunique, ix.indisprimary, ix.indpred IS NOT NULL, \
                    COALESCE((SELECT con.contype::text FROM pg_constraint con \
                              WHERE con.conindid = ix.indexrelid AND con.conrelid = ix.indrelid \
                                AND con.contype IN ('p', 'u')), ''), \
                    (SELECT string_agg(pg_get_indexdef(ix.indexrelid, k, true), ',' ORDER BY k) \
                     FROM generate_series(1, ix.indnkeyatts::int) k) \
             FROM pg_index ix \
             JOIN pg_class i ON i.oid = ix.indexrelid \
             JOIN pg_class t ON t.oid = ix.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = current_schema() AND t.relkind IN ('r', 'p')",
            Args::new(),
        )
        .await
        .expect("postgres indexes");
    for (table, index, unique, primary, partial, constraint, columns) in indexes {
        let columns: Vec<String> = columns.split(',').map(|c| c.trim().trim_matches('"').to_string()).collect();
        let Some(t) = s.tables.get_mut(&table) else { continue };
        if primary || constraint == "p" {
            t.primary_key = columns;
        } else if constraint == "u" {
            t.unique.insert(columns);
        } else {
            s.indexes.insert(index, Index { table, unique, partial, columns });
        }
    }
    s
}

// ---------------------------------------------------------------- comparison

/// Every difference between the two schemas, one line each, in a stable order.
fn compare(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    let names: BTreeSet<&String> = sqlite.tables.keys().chain(postgres.tables.keys()).collect();
    for name in names {
        let (a, b) = match (sqlite.tables.get(name), postgres.tables.get(name)) {
            (Some(a), Some(b)) => (a, b),
            (Some(_), None) => {
                out.push(format!("table {name}: only on SQLite"));
                continue;
            }
            (None, _) => {
                out.push(format!("table {name}: only on PostgreSQL"));
                continue;
            }
        };
        let cols: BTreeSet<&String> = a.columns.keys().chain(b.columns.keys()).collect();
        for col in cols {
            match (a.columns.get(col), b.columns.get(col)) {
                (Some(x), Some(y)) => {
                    if x.class != y.class {
                        out.push(format!("column {name}.{col}: {} on SQLite, {} on PostgreSQL", x.class, y.class));
                    }
                    if x.nullable != y.nullable {
                        out.push(format!(
                            "column {name}.{col}: {} on SQLite, {} on PostgreSQL",
                            null_word(x.nullable),
                            null_word(y.nullable)
                        ));
                    }
                }
                (Some(_), None) => out.push(format!("column {name}.{col}: only on SQLite")),
                (None, _) => out.push(format!("column {name}.{col}: only on PostgreSQL")),
            }
        }
        if a.primary_key != b.primary_key && !tenant_leads_the_key(&a.primary_key, &b.primary_key) {
            out.push(format!(
                "primary key of {name}: {} on SQLite, {} on PostgreSQL",
                list(&a.primary_key),
                list(&b.primary_key)
            ));
        }
        for u in a.unique.difference(&b.unique) {
            out.push(format!("unique constraint {name} {}: only on SQLite", list(u)));
        }
        for u in b.unique.difference(&a.unique) {
            out.push(format!("unique constraint {name} {}: only on PostgreSQL", list(u)));
        }
    }
    let names: BTreeSet<&String> = sqlite.indexes.keys().chain(postgres.indexes.keys()).collect();
    for name in names {
        match (sqlite.indexes.get(name), postgres.indexes.get(name)) {
            (Some(x), Some(y)) => {
                if x.table != y.table {
                    out.push(format!("index {name}: on {} on SQLite, on {} on PostgreSQL", x.table, y.table));
                }
                if x.unique != y.unique {
                    let word = |u: bool| if u { "unique" } else { "not unique" };
                    out.push(format!("index {name}: {} on SQLite, {} on PostgreSQL", word(x.unique), word(y.unique)));
                }
                if x.partial != y.partial {
                    let word = |p: bool| if p { "partial" } else { "not partial" };
                    out.push(format!("index {name}: {} on SQLite, {} on PostgreSQL", word(x.partial), word(y.partial)));
                }
                if x.columns != y.columns {
                    out.push(format!(
                        "index {name}: columns {} on SQLite, {} on PostgreSQL",
                        list(&x.columns),
                        list(&y.columns)
                    ));
                }
            }
            (Some(x), None) => out.push(format!("index {name} on {} {}: only on SQLite", x.table, list(&x.columns))),
            (None, Some(y)) => {
                out.push(format!("index {name} on {} {}: only on PostgreSQL", y.table, list(&y.columns)))
            }
            (None, None) => unreachable!("the name came from one of the two maps"),
        }
    }
    out
}

/// The differences not in [`ALLOWED`], and the entries of [`ALLOWED`] that
/// matched nothing.
fn judge(differences: &[String]) -> (Vec<String>, Vec<&'static str>) {
    let unexpected = differences.iter().filter(|d| !ALLOWED.iter().any(|(a, _)| a == d)).cloned().collect();
    let stale = ALLOWED.iter().map(|(a, _)| *a).filter(|a| !differences.iter().any(|d| d == a)).collect();
    (unexpected, stale)
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn sqlite_and_postgres_schemas_agree() {
    let Some(pg) = TestDb::postgres("schema parity").await else {
        return;
    };
    let lite = TestDb::sqlite().await;
    let (a, b) = (sqlite_schema(&lite.db).await, postgres_schema(&pg.db).await);
    lite.finish().await;
    pg.finish().await;

    // The readers saw a real schema on both sides (an empty read would agree).
    for (backend, s) in [("SQLite", &a), ("PostgreSQL", &b)] {
        assert!(s.tables.len() > 20, "{backend}: only {} tables read", s.tables.len());
        let orgs_path = s.indexes.get("orgs_path").unwrap_or_else(|| panic!("{backend}: no index orgs_path"));
        assert_eq!(orgs_path.columns, ["tenant_id", "path"], "{backend}");
        assert!(s.tables["orgs"].unique.contains(&vec!["tenant_id".to_string(), "code".to_string()]), "{backend}");
        assert!(!s.tables["orgs"].columns["code"].nullable, "{backend}");
    }

    let differences = compare(&a, &b);
    let (unexpected, stale) = judge(&differences);
    let mut report = String::new();
    if !unexpected.is_empty() {
        report.push_str(&format!(
            "{} difference(s) between the migrated SQLite and PostgreSQL schemas \
             (fix them with a new migration pair, or allow an intended one in ALLOWED with its reason):\n",
            unexpected.len()
        ));
        for d in &unexpected {
            report.push_str(&format!("  {d}\n"));
        }
    }
    if !stale.is_empty() {
        report.push_str("entries of ALLOWED that no longer match a difference (remove them):\n");
        for d in &stale {
            report.push_str(&format!("  {d}\n"));
        }
    }
    assert!(report.is_empty(), "{report}");
}

/// The SQLite reader on its own (runs without PostgreSQL too): the rowid key,
/// unique constraints, named and partial indexes and the type classes.
#[tokio::test]
async fn sqlite_schema_is_read_as_declared() {
    let lite = TestDb::sqlite().await;
    let s = sqlite_schema(&lite.db).await;
    lite.finish().await;
    assert!(!s.tables.contains_key("_sqlx_migrations"));
    assert!(!s.tables.keys().any(|t| t.starts_with("sqlite_")));
    let orgs = &s.tables["orgs"];
    assert_eq!(orgs.primary_key, ["id"]);
    assert_eq!(orgs.columns["id"], Column { class: "integer".into(), nullable: false });
    assert_eq!(orgs.columns["parent_id"], Column { class: "integer".into(), nullable: true });
    assert_eq!(orgs.columns["created_at"].class, "timestamp");
    assert_eq!(s.tables["residents"].columns["birth_date"].class, "date");
    assert_eq!(s.tables["buildings"].columns["x"].class, "real");
    assert_eq!(s.tables["users"].columns["disabled"].class, "boolean");
    assert_eq!(s.tables["grants"].primary_key, ["tenant_id", "user_id", "org_id", "role"]);
    assert!(s.tables["users"].unique.contains(&vec!["username".to_string()]));
    let once = &s.indexes["contacts_once"];
    assert_eq!((once.table.as_str(), once.unique, once.partial), ("contacts", true, true));
    assert_eq!(once.columns, ["tenant_id", "level", "from_id", "to_kind", "to_id"]);
    assert!(!s.indexes.keys().any(|i| i.starts_with("sqlite_autoindex")), "constraint indexes are not named indexes");
}

/// An existing SQLite database, migrated before `0013_schema_parity` and
/// holding a session and an id mark, upgrades: the rebuilt tables keep their
/// rows, their keys refuse NULL now, the index and the cascade from `users`
/// are back. (On PostgreSQL the migration changes nothing.)
#[tokio::test]
async fn sqlite_upgrade_through_0013_keeps_the_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let before_0013 = dir.path().join("migrations");
    std::fs::create_dir(&before_0013).expect("mkdir");
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for e in std::fs::read_dir(&all).expect("migrations") {
        let path = e.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
        if name.as_str() < "0013" {
            std::fs::copy(&path, before_0013.join(&name)).expect("copy migration");
        }
    }
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("old.db").display())).await.expect("connect");
    let Db::Sqlite(pool) = &db else { unreachable!("a sqlite:// URL") };
    let old = sqlx::migrate::Migrator::new(before_0013.as_path()).await.expect("read migrations");
    assert!(old.iter().all(|m| m.version < 13) && old.iter().any(|m| m.version == 12));
    old.run(&pool.write).await.expect("migrate to 0012");

    let at = chrono::Utc::now();
    db.exec(
        "INSERT INTO users (id, tenant_id, username, display_name, password_hash, created_at) \
         VALUES (7, 1, 'u7', 'U7', 'hash', $1)",
        redcell_store::args![at],
    )
    .await
    .expect("user");
    db.exec(
        "INSERT INTO sessions (token_hash, tenant_id, user_id, csrf, created_at, expires_at, last_seen, ip, user_agent) \
         VALUES ('h7', 1, 7, 'c7', $1, $1, $1, '10.0.0.7', 'ua7')",
        redcell_store::args![at],
    )
    .await
    .expect("session");
    db.exec("INSERT INTO id_marks (table_name, high) VALUES ('households', 42)", Args::new()).await.expect("mark");
    type Row = (String, i64, i64, String, String, String, Option<String>, Option<String>, Option<String>);
    let sessions_sql = "SELECT token_hash, tenant_id, user_id, csrf, CAST(created_at AS TEXT), \
                        CAST(expires_at AS TEXT), CAST(last_seen AS TEXT), ip, user_agent FROM sessions";
    let sessions: Vec<Row> = db.all(sessions_sql, Args::new()).await.expect("sessions");
    let marks: Vec<(String, i64)> = db.all("SELECT table_name, high FROM id_marks", Args::new()).await.expect("marks");

    db.migrate().await.expect("upgrade");
    assert_eq!(db.all::<Row>(sessions_sql, Args::new()).await.expect("sessions"), sessions);
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        db.all::<(String, i64)>("SELECT table_name, high FROM id_marks", Args::new()).await.expect("marks"),
        marks
    );
    let s = sqlite_schema(&db).await;
    assert!(!s.tables["sessions"].columns["token_hash"].nullable);
    assert!(!s.tables["id_marks"].columns["table_name"].nullable);
    assert_eq!(s.indexes["sessions_user"].columns, ["user_id"]);
    let null_key = db.exec("INSERT INTO id_marks (table_name, high) VALUES (NULL, 1)", Args::new()).await;
    assert!(null_key.is_err(), "a NULL key is refused: {null_key:?}");
    // The foreign key to users came along: a removed account takes its sessions.
    db.exec("DELETE FROM users WHERE id = 7", Args::new()).await.expect("delete user");
    assert_eq!(db.int("SELECT COUNT(*) FROM sessions", Args::new()).await.expect("count"), 0);
    db.close().await;
}

/// The comparison names every kind of difference, one line each.
#[test]
fn compare_lists_every_difference() {
    let col = |class: &str, nullable: bool| Column { class: class.into(), nullable };
    let mut a = Schema::default();
    let mut t = Table::default();
    t.columns.insert("id".into(), col("integer", false));
    t.columns.insert("tenant_id".into(), col("integer", false));
    t.columns.insert("name".into(), col("text", false));
    t.columns.insert("note".into(), col("text", true));
    t.columns.insert("only_lite".into(), col("text", true));
    t.primary_key = vec!["id".into()];
    t.unique.insert(vec!["tenant_id".into(), "name".into()]);
    a.tables.insert("things".into(), t.clone());
    a.tables.insert("lite_only".into(), Table::default());
    let ix = Index { table: "things".into(), unique: false, partial: false, columns: vec!["tenant_id".into()] };
    a.indexes.insert("things_tenant".into(), ix.clone());
    a.indexes.insert("things_lite".into(), ix.clone());

    let mut b = a.clone();
    b.tables.remove("lite_only");
    let bt = b.tables.get_mut("things").unwrap();
    bt.primary_key = vec!["tenant_id".into(), "id".into()]; // allowed by tenant_leads_the_key
    bt.columns.insert("name".into(), col("integer", true));
    bt.columns.remove("only_lite");
    bt.columns.insert("only_pg".into(), col("date", true));
    bt.unique.clear();
    bt.unique.insert(vec!["name".into()]);
    b.indexes.remove("things_lite");
    b.indexes.insert(
        "things_tenant".into(),
        Index { table: "other".into(), unique: true, partial: true, columns: vec!["tenant_id".into(), "id".into()] },
    );
    b.indexes.insert("things_pg".into(), ix);

    assert_eq!(compare(&a, &a), Vec::<String>::new());
    assert_eq!(
        compare(&a, &b),
        [
            "table lite_only: only on SQLite",
            "column things.name: text on SQLite, integer on PostgreSQL",
            "column things.name: NOT NULL on SQLite, nullable on PostgreSQL",
            "column things.only_lite: only on SQLite",
            "column things.only_pg: only on PostgreSQL",
            "unique constraint things (tenant_id, name): only on SQLite",
            "unique constraint things (name): only on PostgreSQL",
            "index things_lite on things (tenant_id): only on SQLite",
            "index things_pg on things (tenant_id): only on PostgreSQL",
            "index things_tenant: on things on SQLite, on other on PostgreSQL",
            "index things_tenant: not unique on SQLite, unique on PostgreSQL",
            "index things_tenant: not partial on SQLite, partial on PostgreSQL",
            "index things_tenant: columns (tenant_id) on SQLite, (tenant_id, id) on PostgreSQL",
        ]
    );

    // Any other primary-key difference is one.
    let mut c = a.clone();
    c.tables.get_mut("things").unwrap().primary_key = vec!["name".into()];
    assert_eq!(compare(&a, &c), ["primary key of things: (id) on SQLite, (name) on PostgreSQL"]);

    // The type classes of both backends' names.
    for (ty, expected) in [
        ("BIGINT", "integer"),
        ("INTEGER", "integer"),
        ("bigint", "integer"),
        ("TEXT", "text"),
        ("character varying(20)", "text"),
        ("DOUBLE PRECISION", "real"),
        ("double precision", "real"),
        ("BOOLEAN", "boolean"),
        ("TIMESTAMPTZ", "timestamp"),
        ("timestamp with time zone", "timestamp"),
        ("DATE", "date"),
        ("BLOB", "bytes"),
        ("bytea", "bytes"),
    ] {
        assert_eq!(class(ty), expected, "{ty}");
    }
    assert_eq!(class("JSONB"), "unknown type `JSONB`");

    // The allow-list judges exactly its own lines; an entry matching nothing is stale.
    let (unexpected, stale) = judge(&["a difference".to_string()]);
    assert_eq!(unexpected, ["a difference"]);
    assert_eq!(stale.len(), ALLOWED.len());
}
