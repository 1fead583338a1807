//! "Why did this metric move?": contribution analysis of a metric's change across segments.

pub mod explain_change;
#[cfg(test)]
mod oracle_tests;
mod segment_counts;
