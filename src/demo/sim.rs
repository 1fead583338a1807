//! The simulation: each customer lives through sessions (thinned Poisson arrivals following the
//! seasonal traffic curve), converts through view → cart → checkout → purchase with channel- and
//! region-dependent odds, and may stop buying after each purchase (BG/NBD-style dropout).
//! Each customer draws from its own ChaCha stream seeded by (seed, customer id), so the output
//! depends only on the seed and the customer count.

use std::collections::BTreeMap;

use rand::distr::weighted::WeightedIndex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma, LogNormal};

use super::model::*;

const MICROS_PER_DAY: i64 = 86_400_000_000;
const MICROS_PER_SEC: i64 = 1_000_000;

#[derive(Default)]
pub struct Customers {
    pub id: Vec<i64>,
    pub signup_day: Vec<i64>,
    pub region: Vec<usize>,
    pub city_tier: Vec<i32>,
    pub age_band: Vec<usize>,
    pub acquisition_channel: Vec<usize>,
    pub device: Vec<usize>,
}

pub struct Products {
    pub id: Vec<i64>,
    pub name: Vec<String>,
    pub category: Vec<usize>,
    pub brand: Vec<&'static str>,
    pub price_cents: Vec<i64>,
}

#[derive(Default)]
pub struct Events {
    pub customer_id: Vec<i64>,
    pub ts: Vec<i64>,
    pub session_id: Vec<i64>,
    pub event_type: Vec<usize>,
    pub product_id: Vec<Option<i64>>,
    pub channel: Vec<usize>,
    pub campaign: Vec<usize>,
    pub device: Vec<usize>,
}

#[derive(Default)]
pub struct Touchpoints {
    pub customer_id: Vec<i64>,
    pub ts: Vec<i64>,
    pub channel: Vec<usize>,
    pub campaign: Vec<usize>,
    pub is_click: Vec<bool>,
    pub cost: Vec<f64>,
}

#[derive(Default)]
pub struct Orders {
    pub order_id: Vec<i64>,
    pub customer_id: Vec<i64>,
    pub ts: Vec<i64>,
    pub session_id: Vec<i64>,
    pub channel: Vec<usize>,
    pub device: Vec<usize>,
    pub items: Vec<i32>,
    pub subtotal_cents: Vec<i64>,
    pub discount_cents: Vec<i64>,
    pub coupon: Vec<Option<&'static str>>,
}

#[derive(Default)]
pub struct OrderItems {
    pub order_id: Vec<i64>,
    pub line: Vec<i32>,
    pub product_id: Vec<i64>,
    pub quantity: Vec<i32>,
    pub unit_price_cents: Vec<i64>,
    pub discount_cents: Vec<i64>,
}

/// Daily spend keyed by (day index, channel, theme): (impressions, clicks, spend).
pub type AdSpend = BTreeMap<(i64, usize, usize), (i64, i64, f64)>;

pub struct Dataset {
    pub customers: Customers,
    pub products: Products,
    pub events: Events,
    pub touchpoints: Touchpoints,
    pub orders: Orders,
    pub order_items: OrderItems,
    pub ad_spend: AdSpend,
}

fn weighted<T>(items: &[(T, f64)]) -> WeightedIndex<f64> {
    WeightedIndex::new(items.iter().map(|(_, w)| *w)).expect("static weights are valid")
}

fn products(seed: u64) -> Products {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5052_4f44);
    let mut p = Products {
        id: vec![],
        name: vec![],
        category: vec![],
        brand: vec![],
        price_cents: vec![],
    };
    for (c, cat) in CATEGORIES.iter().enumerate() {
        let price = LogNormal::new(cat.median_price.ln(), 0.45).expect("valid lognormal");
        for i in 0..PRODUCTS_PER_CATEGORY {
            let brand = cat.brands[rng.random_range(0..cat.brands.len())];
            let cents = (price.sample(&mut rng) * 100.0).round().max(99.0) as i64;
            // Prices end in .99 or .49, as shops' do.
            let cents = (cents / 100) * 100 + if rng.random_bool(0.7) { 99 } else { 49 };
            p.id.push(product_id(c, i));
            p.name.push(format!("{brand} {} {}", cat.noun, i + 1));
            p.category.push(c);
            p.brand.push(brand);
            p.price_cents.push(cents);
        }
    }
    p
}

struct Ids {
    session: i64,
    order: i64,
}

struct Person {
    id: i64,
    region: usize,
    channel: usize,
    device: usize,
    visit_rate: f64,
    propensity: f64,
    dropout: f64,
    coupon_lover: bool,
    favourite: [usize; 2],
    orders: u32,
}

pub fn generate(customers: usize, seed: u64) -> Dataset {
    let products = products(seed);
    let region_w = weighted(&REGIONS);
    let tier_w = weighted(&CITY_TIERS);
    let age_w = weighted(&AGE_BANDS);
    let device_w = weighted(&DEVICES);
    let acq_w = WeightedIndex::new(CHANNELS.iter().map(|c| c.acquisition)).expect("weights");
    let visit_w = WeightedIndex::new(CHANNELS.iter().map(|c| c.visits)).expect("weights");
    let cat_w = WeightedIndex::new(CATEGORIES.iter().map(|c| c.weight)).expect("weights");
    let hour_w = WeightedIndex::new(HOURLY.iter().copied()).expect("weights");
    let rate_dist = Gamma::new(2.0, 0.05).expect("valid gamma");
    let dropout_dist = Beta::new(1.2, 3.0).expect("valid beta");
    let propensity_dist = LogNormal::new(0.0, 0.35).expect("valid lognormal");
    let days = days_total();

    let mut out = Dataset {
        customers: Customers::default(),
        products,
        events: Events::default(),
        touchpoints: Touchpoints::default(),
        orders: Orders::default(),
        order_items: OrderItems::default(),
        ad_spend: AdSpend::new(),
    };
    let mut ids = Ids {
        session: 1,
        order: 1,
    };

    for n in 0..customers {
        let id = n as i64 + 1;
        let mut rng =
            ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ id as u64);
        // More sign-ups later in the period (a growing shop).
        let signup_day = ((rng.random::<f64>().powf(0.8)) * days as f64) as i64;
        let channel = acq_w.sample(&mut rng);
        let mut person = Person {
            id,
            region: region_w.sample(&mut rng),
            channel,
            device: device_w.sample(&mut rng),
            visit_rate: rate_dist.sample(&mut rng),
            propensity: propensity_dist.sample(&mut rng),
            dropout: (dropout_dist.sample(&mut rng) * CHANNELS[channel].dropout).min(0.95),
            coupon_lover: rng.random_bool(0.25),
            favourite: [cat_w.sample(&mut rng), cat_w.sample(&mut rng)],
            orders: 0,
        };
        let c = &mut out.customers;
        c.id.push(id);
        c.signup_day.push(signup_day);
        c.region.push(person.region);
        c.city_tier.push(CITY_TIERS[tier_w.sample(&mut rng)].0);
        c.age_band.push(age_w.sample(&mut rng));
        c.acquisition_channel.push(channel);
        c.device.push(person.device);

        let gap = Exp::new(person.visit_rate * SEASON_MAX).expect("positive rate");
        let mut t = signup_day as f64 + rng.random::<f64>() * 0.5;
        let mut last_ts = i64::MIN;
        let mut first = true;
        while (t as i64) < days {
            let day = t as i64;
            let session_channel = if first || rng.random_bool(0.55) {
                person.channel
            } else {
                visit_w.sample(&mut rng)
            };
            let device = if rng.random_bool(0.8) {
                person.device
            } else {
                device_w.sample(&mut rng)
            };
            let start = (day * MICROS_PER_DAY
                + hour_w.sample(&mut rng) as i64 * 3_600 * MICROS_PER_SEC
                + rng.random_range(0..3_600) * MICROS_PER_SEC)
                .max(last_ts + 1_800 * MICROS_PER_SEC);
            let purchased = session(
                &mut out,
                &mut ids,
                &mut rng,
                &mut person,
                session_channel,
                device,
                start,
                &cat_w,
                &mut last_ts,
            );
            first = false;
            // BG/NBD-style: after a purchase the customer may become inactive for good;
            // browsers who never buy drift away too.
            let stop = if purchased { person.dropout } else { 0.012 };
            if rng.random_bool(stop) {
                break;
            }
            // Next session: thinned Poisson process following the seasonal curve.
            loop {
                t += gap.sample(&mut rng).max(0.02);
                if t as i64 >= days || rng.random::<f64>() < season(t as i64) / SEASON_MAX {
                    break;
                }
            }
        }
    }
    out
}

fn touch(
    out: &mut Dataset,
    customer: i64,
    ts: i64,
    channel: usize,
    theme: usize,
    click: bool,
    cost: f64,
) {
    let t = &mut out.touchpoints;
    t.customer_id.push(customer);
    t.ts.push(ts);
    t.channel.push(channel);
    t.campaign.push(theme);
    t.is_click.push(click);
    t.cost.push(cost);
    let day = ts.div_euclid(MICROS_PER_DAY);
    let entry = out.ad_spend.entry((day, channel, theme)).or_default();
    entry.0 += 1;
    entry.1 += i64::from(click);
    entry.2 += cost;
}

/// One session's identity and clock, shared by its events.
struct Visit {
    customer: i64,
    session_id: i64,
    channel: usize,
    theme: usize,
    device: usize,
    ts: i64,
}

impl Visit {
    /// Appends an event a few seconds to minutes after the previous one; returns its time.
    fn event(
        &mut self,
        out: &mut Dataset,
        rng: &mut ChaCha8Rng,
        kind: usize,
        product: Option<i64>,
    ) -> i64 {
        self.ts += rng.random_range(5..180) * MICROS_PER_SEC;
        let e = &mut out.events;
        e.customer_id.push(self.customer);
        e.ts.push(self.ts);
        e.session_id.push(self.session_id);
        e.event_type.push(kind);
        e.product_id.push(product);
        e.channel.push(self.channel);
        e.campaign.push(self.theme);
        e.device.push(self.device);
        self.ts
    }
}

#[allow(clippy::too_many_arguments)]
fn session(
    out: &mut Dataset,
    ids: &mut Ids,
    rng: &mut ChaCha8Rng,
    p: &mut Person,
    channel: usize,
    device: usize,
    start: i64,
    cat_w: &WeightedIndex<f64>,
    last_ts: &mut i64,
) -> bool {
    let day = start.div_euclid(MICROS_PER_DAY);
    let date = START + chrono::Duration::days(day);
    let theme = if rng.random_bool(0.5) {
        campaign_theme(date)
    } else {
        0
    };
    let session_id = ids.session;
    ids.session += 1;

    // Paid exposures in the days before the visit, then the click that brought the visitor.
    if rng.random_bool(0.45) {
        for _ in 0..rng.random_range(1..=3) {
            let ch = [1usize, 3, 5][rng.random_range(0..3)];
            let back = rng.random_range(60..3 * 86_400) * MICROS_PER_SEC;
            let ts = (start - back).max(0);
            if let Some(each) = CHANNELS[ch].cpm_each {
                touch(out, p.id, ts, ch, theme, false, each);
            }
        }
    }
    if channel != ORGANIC {
        let cpc = CHANNELS[channel].cpc * rng.random_range(0.7..1.3);
        touch(
            out,
            p.id,
            start,
            channel,
            theme,
            true,
            (cpc * 100.0).round() / 100.0,
        );
    }

    let mut visit = Visit {
        customer: p.id,
        session_id,
        channel,
        theme,
        device,
        ts: start,
    };
    if rng.random_bool(0.35) {
        visit.event(out, rng, 1, None);
    }
    let mut viewed = Vec::new();
    let views = 1 + (rng.random::<f64>().powi(2) * 5.0) as usize;
    for _ in 0..views {
        let cat = if rng.random_bool(0.7) {
            p.favourite[rng.random_range(0..2)]
        } else {
            cat_w.sample(rng)
        };
        // Popularity falls off steeply with the index inside a category.
        let idx = ((rng.random::<f64>().powf(2.2)) * PRODUCTS_PER_CATEGORY as f64) as usize;
        let idx = idx.min(PRODUCTS_PER_CATEGORY - 1);
        viewed.push((cat, idx));
        visit.event(out, rng, 0, Some(product_id(cat, idx)));
    }

    let dip = p.region == DIP_REGION && date >= DIP_START && date < DIP_END;
    // Desktop sessions convert a little better than mobile ones.
    let device_boost = if device == 1 { 1.15 } else { 1.0 };
    let p_cart = (0.30 * CHANNELS[channel].conversion * p.propensity * device_boost).min(0.9)
        * if dip { 0.85 } else { 1.0 };
    let mut end_ts = visit.ts;
    let mut purchased = false;
    if rng.random_bool(p_cart.clamp(0.0, 1.0)) {
        let mut cart = vec![viewed[viewed.len() - 1]];
        if viewed.len() > 1 && rng.random_bool(0.3) {
            cart.push(viewed[0]);
        }
        cart.dedup();
        for &(cat, idx) in &cart {
            end_ts = visit.event(out, rng, 2, Some(product_id(cat, idx)));
        }
        if rng.random_bool(0.62) {
            end_ts = visit.event(out, rng, 3, None);
            let p_buy = 0.82 * if dip { DIP_FACTOR } else { 1.0 };
            if rng.random_bool(p_buy) {
                end_ts = visit.event(out, rng, 4, None);
                order(out, ids, rng, p, session_id, channel, device, end_ts, cart);
                purchased = true;
            }
        }
    }
    *last_ts = end_ts;
    purchased
}

#[allow(clippy::too_many_arguments)]
fn order(
    out: &mut Dataset,
    ids: &mut Ids,
    rng: &mut ChaCha8Rng,
    p: &mut Person,
    session_id: i64,
    channel: usize,
    device: usize,
    ts: i64,
    mut cart: Vec<(usize, usize)>,
) {
    for i in 0..cart.len() {
        let (cat, idx) = cart[i];
        if let Some(partner) = affinity_partner(cat, idx) {
            if !cart.contains(&partner) && rng.random_bool(AFFINITY_PROBABILITY) {
                cart.push(partner);
            }
        }
    }
    let (coupon, pct) = if p.orders == 0 && rng.random_bool(0.3) {
        (Some("WELCOME15"), 15)
    } else if p.orders >= 4 && rng.random_bool(0.25) {
        (Some("VIP20"), 20)
    } else if rng.random_bool(if p.coupon_lover { 0.55 } else { 0.06 }) {
        (Some("SAVE10"), 10)
    } else {
        (None, 0)
    };
    let order_id = ids.order;
    ids.order += 1;
    p.orders += 1;
    let (mut subtotal, mut discount) = (0, 0);
    for (line, &(cat, idx)) in cart.iter().enumerate() {
        let pid = product_id(cat, idx);
        let price = out.products.price_cents[(pid - 1) as usize];
        let qty = match rng.random::<f64>() {
            x if x < 0.82 => 1,
            x if x < 0.96 => 2,
            _ => 3,
        };
        let line_total = price * i64::from(qty);
        let line_discount = (line_total * pct + 50) / 100;
        subtotal += line_total;
        discount += line_discount;
        let items = &mut out.order_items;
        items.order_id.push(order_id);
        items.line.push(line as i32 + 1);
        items.product_id.push(pid);
        items.quantity.push(qty);
        items.unit_price_cents.push(price);
        items.discount_cents.push(line_discount);
    }
    let o = &mut out.orders;
    o.order_id.push(order_id);
    o.customer_id.push(p.id);
    o.ts.push(ts);
    o.session_id.push(session_id);
    o.channel.push(channel);
    o.device.push(device);
    o.items.push(cart.len() as i32);
    o.subtotal_cents.push(subtotal);
    o.discount_cents.push(discount);
    o.coupon.push(coupon);
}

/// Simulation timestamps count microseconds from `START`; Arrow wants them from 1970.
pub fn to_epoch_micros(ts: &[i64]) -> Vec<i64> {
    let offset = i64::from(epoch_day(0)) * MICROS_PER_DAY;
    ts.iter().map(|t| t + offset).collect()
}
