//! The fixed "world" of the demo shop: channels, regions, products, seasonality and the planted
//! effects the analytic functions are expected to find. Changing a number here changes the data,
//! so bump `DATASET_VERSION` in `mod.rs` when you do.

use chrono::{Datelike, NaiveDate};

pub const START: NaiveDate = match NaiveDate::from_ymd_opt(2024, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};
/// Exclusive end of the simulated period (two full years).
pub const END: NaiveDate = match NaiveDate::from_ymd_opt(2026, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};
/// The planted regional conversion dip: purchases in `DIP_REGION` convert at `DIP_FACTOR` of the
/// usual rate from `DIP_START` (inclusive) to `DIP_END` (exclusive).
pub const DIP_REGION: usize = 1; // "South"
pub const DIP_START: NaiveDate = match NaiveDate::from_ymd_opt(2025, 11, 17) {
    Some(d) => d,
    None => panic!("valid date"),
};
pub const DIP_END: NaiveDate = match NaiveDate::from_ymd_opt(2025, 12, 15) {
    Some(d) => d,
    None => panic!("valid date"),
};
pub const DIP_FACTOR: f64 = 0.5;

pub fn day_index(date: NaiveDate) -> i64 {
    (date - START).num_days()
}

pub fn days_total() -> i64 {
    day_index(END)
}

/// Days since 1970-01-01 of day index `d` (Arrow Date32).
pub fn epoch_day(d: i64) -> i32 {
    const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
        Some(d) => d,
        None => panic!("valid date"),
    };
    ((START - EPOCH).num_days() + d) as i32
}

pub struct Channel {
    pub name: &'static str,
    pub short: &'static str,
    /// Share of new customers acquired through the channel.
    pub acquisition: f64,
    /// Share of later sessions arriving through the channel.
    pub visits: f64,
    /// Multiplier on add-to-cart probability.
    pub conversion: f64,
    /// Multiplier on the chance a customer stops buying after a purchase.
    pub dropout: f64,
    /// Cost of one click (0 for unpaid channels; `organic` has no touchpoints).
    pub cpc: f64,
    /// Cost of one tracked impression, for channels that buy impressions.
    pub cpm_each: Option<f64>,
}

pub const CHANNELS: [Channel; 8] = [
    Channel {
        name: "paid_search",
        short: "ps",
        acquisition: 0.22,
        visits: 0.20,
        conversion: 1.30,
        dropout: 1.15,
        cpc: 1.20,
        cpm_each: None,
    },
    Channel {
        name: "short_video",
        short: "sv",
        acquisition: 0.20,
        visits: 0.18,
        conversion: 0.80,
        dropout: 1.35,
        cpc: 0.45,
        cpm_each: Some(0.008),
    },
    Channel {
        name: "qa_community",
        short: "qa",
        acquisition: 0.10,
        visits: 0.08,
        conversion: 1.50,
        dropout: 0.60,
        cpc: 0.60,
        cpm_each: None,
    },
    Channel {
        name: "social",
        short: "so",
        acquisition: 0.14,
        visits: 0.14,
        conversion: 0.90,
        dropout: 1.10,
        cpc: 0.50,
        cpm_each: Some(0.006),
    },
    Channel {
        name: "email",
        short: "em",
        acquisition: 0.04,
        visits: 0.12,
        conversion: 1.60,
        dropout: 0.55,
        cpc: 0.02,
        cpm_each: None,
    },
    Channel {
        name: "display",
        short: "di",
        acquisition: 0.10,
        visits: 0.08,
        conversion: 0.60,
        dropout: 1.20,
        cpc: 0.30,
        cpm_each: Some(0.004),
    },
    Channel {
        name: "affiliate",
        short: "af",
        acquisition: 0.08,
        visits: 0.06,
        conversion: 1.20,
        dropout: 0.90,
        cpc: 0.90,
        cpm_each: None,
    },
    Channel {
        name: "organic",
        short: "or",
        acquisition: 0.12,
        visits: 0.14,
        conversion: 1.10,
        dropout: 0.80,
        cpc: 0.0,
        cpm_each: None,
    },
];
pub const ORGANIC: usize = 7;

/// Campaign themes; `campaign_theme` picks the one running on a day.
pub const THEMES: [&str; 5] = [
    "always_on",
    "spring_sale",
    "mid_year",
    "singles_day",
    "holiday",
];

pub fn campaign_theme(date: NaiveDate) -> usize {
    match (date.month(), date.day()) {
        (3, _) | (4, 1..=15) => 1,
        (6, 1..=18) => 2,
        (11, 1..=11) => 3,
        (12, _) => 4,
        _ => 0,
    }
}

pub const REGIONS: [(&str, f64); 5] = [
    ("North", 0.22),
    ("South", 0.24),
    ("East", 0.26),
    ("West", 0.16),
    ("Central", 0.12),
];
pub const CITY_TIERS: [(i32, f64); 4] = [(1, 0.20), (2, 0.35), (3, 0.30), (4, 0.15)];
pub const AGE_BANDS: [(&str, f64); 5] = [
    ("18-24", 0.18),
    ("25-34", 0.34),
    ("35-44", 0.25),
    ("45-54", 0.14),
    ("55+", 0.09),
];
pub const DEVICES: [(&str, f64); 3] = [("mobile", 0.62), ("desktop", 0.30), ("tablet", 0.08)];
pub const EVENT_TYPES: [&str; 5] = ["view", "search", "add_to_cart", "checkout", "purchase"];

pub struct Category {
    pub name: &'static str,
    pub weight: f64,
    pub median_price: f64,
    pub brands: [&'static str; 4],
    pub noun: &'static str,
}

pub const PRODUCTS_PER_CATEGORY: usize = 50;
pub const CATEGORIES: [Category; 8] = [
    Category {
        name: "electronics",
        weight: 0.14,
        median_price: 180.0,
        brands: ["Voltix", "Nordtech", "Pixelon", "Ampere"],
        noun: "Gadget",
    },
    Category {
        name: "apparel",
        weight: 0.18,
        median_price: 45.0,
        brands: ["Linea", "Threadly", "Urbanwear", "Kite"],
        noun: "Tee",
    },
    Category {
        name: "beauty",
        weight: 0.15,
        median_price: 28.0,
        brands: ["Glowe", "Purelab", "Aurelle", "Mistral"],
        noun: "Serum",
    },
    Category {
        name: "home",
        weight: 0.12,
        median_price: 55.0,
        brands: ["Hearth", "Casavia", "Oakly", "Nestwell"],
        noun: "Lamp",
    },
    Category {
        name: "grocery",
        weight: 0.16,
        median_price: 12.0,
        brands: ["Harvest", "Bean&Co", "Pantry", "Fieldday"],
        noun: "Coffee",
    },
    Category {
        name: "sports",
        weight: 0.10,
        median_price: 60.0,
        brands: ["Stride", "Peakform", "Rallye", "Corefit"],
        noun: "Shoe",
    },
    Category {
        name: "books",
        weight: 0.08,
        median_price: 18.0,
        brands: ["Inkwell", "Paperleaf", "Northpress", "Quillon"],
        noun: "Guide",
    },
    Category {
        name: "toys",
        weight: 0.07,
        median_price: 32.0,
        brands: ["Playmo", "Tinker", "Brightkid", "Jumbl"],
        noun: "Kit",
    },
];

/// Complementary category pairs: the first few products of the first category are often bought
/// with a product of the second (see `affinity_partner`).
const AFFINITY: [(usize, usize); 6] = [(0, 0), (2, 2), (4, 4), (5, 1), (7, 6), (3, 3)];
pub const AFFINITY_ANCHORS_PER_PAIR: usize = 4;
pub const AFFINITY_PROBABILITY: f64 = 0.5;

/// Product id (1-based) of product `idx` within category `cat`.
pub fn product_id(cat: usize, idx: usize) -> i64 {
    (cat * PRODUCTS_PER_CATEGORY + idx + 1) as i64
}

/// The product usually bought together with `(cat, idx)`, if it is an affinity anchor.
pub fn affinity_partner(cat: usize, idx: usize) -> Option<(usize, usize)> {
    if idx >= AFFINITY_ANCHORS_PER_PAIR {
        return None;
    }
    AFFINITY
        .iter()
        .find(|(a, _)| *a == cat)
        .map(|(_, b)| (*b, 20 + idx))
}

const WEEKLY: [f64; 7] = [0.90, 0.88, 0.93, 0.98, 1.08, 1.25, 1.20]; // Monday first
pub const HOURLY: [f64; 24] = [
    0.6, 0.35, 0.2, 0.15, 0.15, 0.25, 0.5, 0.9, 1.2, 1.3, 1.35, 1.5, 1.8, 1.6, 1.3, 1.25, 1.3, 1.4,
    1.6, 1.9, 2.2, 2.3, 1.8, 1.1,
];

/// Relative traffic on day index `d`: weekly cycle, yearly cycle peaking in December with a
/// mid-June trough, shopping-festival spikes, and mild growth.
pub fn season(d: i64) -> f64 {
    let date = START + chrono::Duration::days(d);
    let weekly = WEEKLY[date.weekday().num_days_from_monday() as usize];
    let doy = f64::from(date.ordinal0());
    let yearly = 1.0 + 0.25 * (2.0 * std::f64::consts::PI * (doy - 345.0) / 365.25).cos();
    let festival = match (date.month(), date.day()) {
        (11, 9..=11) => 1.8,
        (6, 16..=18) => 1.4,
        _ => 1.0,
    };
    let trend = 1.0 + 0.15 * d as f64 / days_total() as f64;
    weekly * yearly * festival * trend
}

/// An upper bound of `season`, for thinning.
pub const SEASON_MAX: f64 = 1.25 * 1.25 * 1.8 * 1.15;
