//! Sightline's own optimizer rules: `BuildSmallerSide` runs right after DataFusion's
//! `join_selection`, the others after all of DataFusion's rules.

mod dynamic_filter;
mod filter_order;
mod interval_arith;
mod join_sides;
mod progressive_filter;
#[cfg(test)]
mod test_util;
mod unused_order;

pub use dynamic_filter::FilterScansByJoinKeys;
pub use filter_order::OrderFilterConjuncts;
pub use interval_arith::FixedIntervalsAsDurations;
pub use join_sides::BuildSmallerSide;
pub use progressive_filter::FilterProgressively;
pub use unused_order::ScanUnusedOrderFreely;
