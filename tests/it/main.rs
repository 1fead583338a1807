//! Integration tests: the real server on a free loopback port, real Postgres clients.
//! One test binary on purpose (every extra binary re-links DataFusion).

mod attribution;
mod basket;
mod catalog;
mod churn;
mod cli;
mod compat;
mod demo;
mod examples;
mod forecasting;
mod funnels;
mod insights;
mod isolation;
mod limits;
mod psql;
mod read_only;
mod security;
mod segmentation;
mod support;
mod tpch;
mod wire;
