//! Sightline's own optimizer rules, added after DataFusion's.

mod dynamic_filter;
mod filter_order;
mod interval_arith;

pub use dynamic_filter::FilterScansByJoinKeys;
pub use filter_order::OrderFilterConjuncts;
pub use interval_arith::FixedIntervalsAsDurations;
