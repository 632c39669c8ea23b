//! Bulk writes: multi-row `INSERT`s and id reservations, shared by every
//! path that writes many rows (the roster import, the demo generator) and the
//! one-row writes of the services (the same statements with one row).

use super::{Arg, Args, Backend, Tx};
use crate::args;
use crate::error::StoreError;
use std::collections::HashSet;

/// Rows per statement when a caller does not choose.
pub const BATCH_ROWS: usize = 500;

/// One piece of a row template.
enum Slot<'t> {
    Text(&'t str),
    /// The next value of the row.
    Row,
    /// A value shared by every row (`$1` = index 0).
    Shared(usize),
}

/// Split a row template: `?` is the next row value, `$n` the n-th shared value.
fn parse_template(tpl: &str) -> Vec<Slot<'_>> {
    let mut out = Vec::new();
    let b = tpl.as_bytes();
    let (mut i, mut lit) = (0, 0);
    while i < b.len() {
        match b[i] {
            b'?' => {
                out.push(Slot::Text(&tpl[lit..i]));
                out.push(Slot::Row);
                i += 1;
                lit = i;
            }
            b'$' => {
                out.push(Slot::Text(&tpl[lit..i]));
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                let k: usize = tpl[i + 1..j].parse().unwrap_or(1);
                out.push(Slot::Shared(k.max(1) - 1));
                i = j;
                lit = i;
            }
            _ => i += 1,
        }
    }
    out.push(Slot::Text(&tpl[lit..]));
    out
}

/// Insert `rows` with multi-row statements of at most [`BATCH_ROWS`] rows.
/// `tpl` is one row's tuple where `?` stands for the next value `bind` pushes
/// and `$1`, `$2`, ... for the `shared` values (tenant, timestamp).
///
/// PostgreSQL gets `$n` placeholders (the shared values bound once). SQLite gets
/// anonymous `?` placeholders with every value bound where it appears: binding
/// numbered parameters looks each name up in a linear list, which makes a
/// 500-row statement about ten times slower per row than with `?`.
pub async fn bulk<T>(
    tx: &mut Tx,
    head: &str,
    tpl: &str,
    shared: &[Arg],
    rows: &[T],
    bind: impl Fn(&T, &mut Args),
) -> Result<(), StoreError> {
    for (sql, a) in bulk_statements(tx.backend(), head, tpl, shared, rows, BATCH_ROWS, bind) {
        tx.exec(&sql, a).await?;
    }
    Ok(())
}

/// The statements [`bulk`] runs, of at most `per_statement` rows each (for a
/// caller that runs them itself, e.g. while it prepares the next rows). At
/// most 32,766 values per statement on SQLite, 65,535 on PostgreSQL.
pub fn bulk_statements<T>(
    backend: Backend,
    head: &str,
    tpl: &str,
    shared: &[Arg],
    rows: &[T],
    per_statement: usize,
    bind: impl Fn(&T, &mut Args),
) -> Vec<(String, Args)> {
    let slots = parse_template(tpl);
    let sqlite = backend == Backend::Sqlite;
    // SQLite repeats the shared values in every row: put them in the form
    // SQLite stores once, not once per row.
    let shared_sqlite: Vec<Arg> =
        if sqlite { shared.iter().cloned().map(super::sqlite_form).collect() } else { Vec::new() };
    let mut row_values = Args::new();
    let mut out = Vec::new();
    for batch in rows.chunks(per_statement.max(1)) {
        let mut a = if sqlite { Args(Vec::with_capacity(batch.len() * slots.len())) } else { Args(shared.to_vec()) };
        let mut sql = String::with_capacity(head.len() + batch.len() * (tpl.len() + 40));
        sql.push_str(head);
        for (i, row) in batch.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            row_values.0.clear();
            bind(row, &mut row_values);
            let mut values = row_values.0.drain(..);
            for slot in &slots {
                match slot {
                    Slot::Text(t) => sql.push_str(t),
                    Slot::Row => {
                        let v = values.next().unwrap_or(Arg::OptText(None));
                        if sqlite {
                            sql.push('?');
                            a.0.push(v);
                        } else {
                            sql.push_str(&a.push(v));
                        }
                    }
                    Slot::Shared(k) => {
                        if sqlite {
                            sql.push('?');
                            a.0.push(shared_sqlite[*k].clone());
                        } else {
                            sql.push('$');
                            sql.push_str(&(k + 1).to_string());
                        }
                    }
                }
            }
            debug_assert!(values.next().is_none(), "template of {head} does not match its values");
        }
        out.push((sql, a));
    }
    out
}

/// Reserve `n` consecutive ids of `table` and return the first (inside the
/// write transaction). SQLite: the write lock is held; ids start past both
/// MAX(id) and the table's high-water mark in `id_marks`, which moves past
/// them, so an id removed by an undo is never handed out again. PostgreSQL:
/// the ids come from the identity sequence itself (`nextval`, atomic), retried
/// until one run of them is consecutive and above every stored id.
pub async fn reserve_ids(tx: &mut Tx, table: &str, n: usize) -> Result<i64, StoreError> {
    Reserver::default().reserve(tx, table, n).await
}

/// Repeated reservations ([`reserve_ids`]) in one transaction, e.g. one per
/// chunk. On PostgreSQL the stored ids are compared with the sequence only
/// at a table's first reservation: afterwards every id written came from the
/// sequence, and `MAX(id)` over a table that grew inside the transaction is
/// planned from statistics taken before it grew, as a full scan, once per
/// chunk. (SQLite answers `MAX(id)` of a rowid table from the b-tree's end.)
#[derive(Default)]
pub struct Reserver {
    pg_checked: HashSet<String>,
}

impl Reserver {
    pub async fn reserve(&mut self, tx: &mut Tx, table: &str, n: usize) -> Result<i64, StoreError> {
        let max_sql = format!("SELECT COALESCE(MAX(id), 0) FROM {table}");
        if tx.backend() == Backend::Postgres {
            let mut max = None;
            if !self.pg_checked.contains(table) {
                max = Some(tx.int(&max_sql, Args::new()).await?);
                self.pg_checked.insert(table.to_string());
            }
            let seq = format!("pg_get_serial_sequence('{table}', 'id')");
            if n == 0 {
                return Ok(max.unwrap_or(0) + 1);
            }
            loop {
                let got: Vec<(i64,)> =
                    tx.all(&format!("SELECT nextval({seq}) FROM generate_series(1, $1)"), args![n as i64]).await?;
                let first = got.iter().map(|(v,)| *v).min().unwrap_or(0);
                let last = got.iter().map(|(v,)| *v).max().unwrap_or(0);
                if let Some(max) = max
                    && first <= max
                {
                    // Rows were written with explicit ids past the sequence: move it on.
                    tx.exec(&format!("SELECT setval({seq}, GREATEST($1, nextval({seq})))"), args![max]).await?;
                    continue;
                }
                if last - first + 1 == n as i64 {
                    return Ok(first);
                }
            }
        }
        let max = tx.int(&max_sql, Args::new()).await?;
        let mark = tx.int("SELECT COALESCE(MAX(high), 0) FROM id_marks WHERE table_name = $1", args![table]).await?;
        let base = max.max(mark);
        if n > 0 {
            raise_mark(tx, table, base + n as i64).await?;
        }
        Ok(base + 1)
    }
}

/// Move `table`'s high-water mark up to `high` (SQLite only).
pub async fn raise_mark(tx: &mut Tx, table: &str, high: i64) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO id_marks (table_name, high) VALUES ($1, $2) \
         ON CONFLICT (table_name) DO UPDATE SET high = MAX(id_marks.high, excluded.high)",
        args![table, high],
    )
    .await?;
    Ok(())
}
