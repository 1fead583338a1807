//! Market-basket analysis: frequent itemsets, association rules and "also bought" lists.

pub mod also_bought;
pub mod association_rules;

mod mining;

#[cfg(test)]
mod oracle_tests;

use datafusion::logical_expr::DocSection;

pub const DOC_SECTION_BASKET: DocSection = DocSection {
    include: true,
    label: "Market-Basket Functions",
    description: Some("Frequent itemsets, association rules and item recommendations"),
};
