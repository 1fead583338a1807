//! SQL fuzzing over the wire: each input is either raw SQL text or, when it starts with a
//! marker byte, a call of one of Sightline's own functions (scalar, aggregate, window or table)
//! with arguments drawn from hostile values (NULLs, empty strings, NaN, huge and negative
//! numbers, wrong types, columns of the demo tables, nested arrays, named arguments). Every
//! statement must end in rows or a proper error: no panic, no XX000, no dropped connection.
#![no_main]

use std::sync::Mutex;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;

#[path = "harness.rs"]
mod harness;

const HOSTILE: &[&str] = &[
    "NULL",
    "0",
    "1",
    "-1",
    "2",
    "7",
    "365",
    "-9223372036854775808",
    "9223372036854775807",
    "1e308",
    "-1e308",
    "'NaN'::DOUBLE",
    "'Infinity'::DOUBLE",
    "0.5",
    "''",
    "'x'",
    "'auto'",
    "'D'",
    "'last_touch'",
    "'a=1,b'",
    "'min_support=0'",
    "'2025-01-01'",
    "TIMESTAMP '1970-01-01 00:00:00'",
    "TIMESTAMP '9999-12-31 23:59:59'",
    "DATE '2025-02-30'",
    "INTERVAL '1 day'",
    "ARRAY[]",
    "ARRAY[NULL]",
    "ARRAY[1,2,3]",
    "ARRAY['a','b']",
    "make_array(make_array(1))",
    "true",
    "(SELECT 1)",
    "'orders'",
    "'(SELECT * FROM orders)'",
    "'no_such_table'",
];

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn next(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn pick<'b, T>(&mut self, items: &'b [T]) -> Option<&'b T> {
        if items.is_empty() {
            None
        } else {
            Some(&items[self.next() as usize % items.len()])
        }
    }
}

fn generated(h: &harness::Harness, data: &[u8]) -> Option<String> {
    let mut b = Bytes(data);
    let kind = b.next() % 4;
    let (table, columns) = b.pick(&h.tables)?;
    let argc = b.next() % 9;
    let mut args = Vec::new();
    for i in 0..argc {
        let arg = if b.next() % 2 == 0 {
            b.pick(columns).cloned().unwrap_or_else(|| "NULL".into())
        } else {
            b.pick(HOSTILE).map(|s| s.to_string()).unwrap_or_default()
        };
        if i > 0 && b.next() % 8 == 0 {
            args.push(format!("arg{i} => {arg}"));
        } else {
            args.push(arg);
        }
    }
    let args = args.join(", ");
    let order = b.pick(columns).cloned().unwrap_or_default();
    let part = b.pick(columns).cloned().unwrap_or_default();
    Some(match kind {
        0 => format!(
            "SELECT {}({args}) FROM {table} LIMIT 50",
            b.pick(&h.scalars)?
        ),
        1 => format!(
            "SELECT {part}, {}({args}) FROM {table} GROUP BY {part} LIMIT 50",
            b.pick(&h.aggregates)?
        ),
        2 => format!(
            "SELECT {}({args}) OVER (PARTITION BY {part} ORDER BY {order}) FROM {table} LIMIT 50",
            b.pick(&h.windows)?
        ),
        _ => {
            let names: Vec<&str> = sightline_udfs::table_functions()
                .into_iter()
                .map(|(n, _, _)| n)
                .collect();
            format!("SELECT * FROM {}({args}) LIMIT 50", b.pick(&names)?)
        }
    })
}

fuzz_target!(|data: &[u8]| {
    static CLIENT: Mutex<Option<tokio_postgres::Client>> = Mutex::new(None);
    let h = harness::harness();
    let sql = match data.split_first() {
        Some((0xF0..=0xFF, rest)) => match generated(h, rest) {
            Some(sql) => sql,
            None => return,
        },
        _ => String::from_utf8_lossy(&data[..data.len().min(4096)]).into_owned(),
    };
    h.runtime.block_on(async {
        let mut guard = CLIENT.lock().unwrap_or_else(|p| p.into_inner());
        if guard.as_ref().is_none_or(|c| c.is_closed()) {
            *guard = Some(h.connect().await);
        }
        let Some(client) = guard.as_ref() else { return };
        let outcome =
            tokio::time::timeout(Duration::from_secs(30), client.simple_query(&sql)).await;
        match outcome {
            Err(_) => panic!("statement ran past statement_timeout (2 s) by 28 s: {sql}"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                if let Some(db) = e.as_db_error() {
                    assert_ne!(
                        db.code().code(),
                        "XX000",
                        "internal error for {sql}: {}",
                        db.message()
                    );
                } else if client.is_closed() {
                    panic!("the server closed the connection after: {sql}\n{e}");
                }
            }
        }
    });
});
