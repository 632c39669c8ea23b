//! Background import jobs.
