//! Downloads of every exportable list (see `redcell_store::export`).
