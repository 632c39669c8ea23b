// Placeholder until the solver benchmark lands.
fn main() {}
