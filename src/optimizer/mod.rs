//! Sightline's own optimizer rules, added after DataFusion's.

mod dynamic_filter;
mod filter_order;

pub use dynamic_filter::FilterScansByJoinKeys;
pub use filter_order::OrderFilterConjuncts;
