// `sqlx::migrate!` embeds the migration files when the crate compiles, and
// cargo does not watch that folder by itself: rebuild when a migration is
// added or edited, or a new one would silently be left out of the binary.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
