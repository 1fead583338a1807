//! `COPY (query) TO STDOUT` and `COPY table [(columns)] TO STDOUT`, in text or CSV format, as
//! psql's `\copy … to …` and psycopg's `cursor.copy()` send them. The query runs through the
//! normal path (hooks, limits, timeout, cancel); its text-format rows are re-framed as COPY data.

use bytes::{Bytes, BytesMut};
use datafusion::sql::sqlparser::ast::{
    CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget, Statement,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion_postgres::pgwire::api::results::{CopyResponse, QueryResponse};
use datafusion_postgres::pgwire::messages::copy::CopyData;
use futures::StreamExt;

#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    Text {
        delimiter: char,
        null: String,
    },
    Csv {
        delimiter: char,
        null: String,
        quote: char,
        escape: char,
        header: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CopyRequest {
    /// The rows to send, as a query.
    pub select: String,
    pub format: Format,
}

/// `Some` if `sql` is a `COPY … TO STDOUT`: the request, or why it cannot be served.
pub fn parse(sql: &str) -> Option<Result<CopyRequest, String>> {
    let trimmed = sql.trim_start();
    if !trimmed
        .get(..4)
        .is_some_and(|w| w.eq_ignore_ascii_case("copy"))
        || !sql.to_ascii_lowercase().contains("stdout")
    {
        return None;
    }
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    if statements.len() != 1 {
        return None;
    }
    let Statement::Copy {
        source,
        to: true,
        target: CopyTarget::Stdout,
        options,
        legacy_options,
        ..
    } = statements.remove(0)
    else {
        return None;
    };
    let select = match source {
        CopySource::Query(query) => query.to_string(),
        CopySource::Table {
            table_name,
            columns,
        } => {
            let columns = if columns.is_empty() {
                "*".to_string()
            } else {
                columns
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!("SELECT {columns} FROM {table_name}")
        }
    };
    Some(format(&options, &legacy_options).map(|format| CopyRequest { select, format }))
}

fn format(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> Result<Format, String> {
    let mut csv = false;
    let mut delimiter = None;
    let mut null = None;
    let mut quote = '"';
    let mut escape = None;
    let mut header = false;
    for option in options {
        match option {
            CopyOption::Format(name) => match name.value.to_ascii_lowercase().as_str() {
                "text" => csv = false,
                "csv" => csv = true,
                "binary" => {
                    return Err("COPY TO STDOUT supports FORMAT text and csv, not binary".into())
                }
                other => return Err(format!("COPY format \"{other}\" not recognized")),
            },
            CopyOption::Delimiter(c) => delimiter = Some(*c),
            CopyOption::Null(s) => null = Some(s.clone()),
            CopyOption::Header(h) => header = *h,
            CopyOption::Quote(c) => quote = *c,
            CopyOption::Escape(c) => escape = Some(*c),
            CopyOption::Encoding(e)
                if e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8") => {}
            other => return Err(format!("COPY option {other} is not supported")),
        }
    }
    for option in legacy {
        match option {
            CopyLegacyOption::Binary => {
                return Err("COPY TO STDOUT supports FORMAT text and csv, not binary".into())
            }
            CopyLegacyOption::Delimiter(c) => delimiter = Some(*c),
            CopyLegacyOption::Null(s) => null = Some(s.clone()),
            CopyLegacyOption::Csv(csv_options) => {
                csv = true;
                for o in csv_options {
                    match o {
                        CopyLegacyCsvOption::Header => header = true,
                        CopyLegacyCsvOption::Quote(c) => quote = *c,
                        CopyLegacyCsvOption::Escape(c) => escape = Some(*c),
                        other => return Err(format!("COPY option {other} is not supported")),
                    }
                }
            }
            other => return Err(format!("COPY option {other} is not supported")),
        }
    }
    Ok(if csv {
        Format::Csv {
            delimiter: delimiter.unwrap_or(','),
            null: null.unwrap_or_default(),
            quote,
            escape: escape.unwrap_or(quote),
            header,
        }
    } else {
        if header {
            return Err("COPY HEADER is available only in CSV mode".into());
        }
        Format::Text {
            delimiter: delimiter.unwrap_or('\t'),
            null: null.unwrap_or_else(|| "\\N".into()),
        }
    })
}

/// The text-format fields of a DataRow (`None` = NULL).
fn fields(row: &[u8], count: usize) -> Vec<Option<&[u8]>> {
    let mut out = Vec::with_capacity(count);
    let mut at = 0;
    for _ in 0..count {
        let Some(len) = row.get(at..at + 4) else {
            break;
        };
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        at += 4;
        if len < 0 {
            out.push(None);
        } else {
            let end = (at + len as usize).min(row.len());
            out.push(Some(&row[at..end]));
            at = end;
        }
    }
    out
}

fn push_text(line: &mut BytesMut, value: &[u8], delimiter: char) {
    for &b in value {
        match b {
            b'\\' => line.extend_from_slice(b"\\\\"),
            b'\n' => line.extend_from_slice(b"\\n"),
            b'\r' => line.extend_from_slice(b"\\r"),
            b'\t' if delimiter == '\t' => line.extend_from_slice(b"\\t"),
            b if delimiter.is_ascii() && b == delimiter as u8 => {
                line.extend_from_slice(&[b'\\', b]);
            }
            b => line.extend_from_slice(&[b]),
        }
    }
}

fn push_csv(
    line: &mut BytesMut,
    value: &[u8],
    delimiter: char,
    null: &str,
    quote: char,
    escape: char,
) {
    let needs_quotes = value.is_empty() && null.is_empty()
        || value == null.as_bytes()
        || value.iter().any(|&b| {
            b == b'\n'
                || b == b'\r'
                || (delimiter.is_ascii() && b == delimiter as u8)
                || (quote.is_ascii() && b == quote as u8)
        });
    if !needs_quotes {
        line.extend_from_slice(value);
        return;
    }
    let mut buf = [0u8; 4];
    line.extend_from_slice(quote.encode_utf8(&mut buf).as_bytes());
    for &b in value {
        if quote.is_ascii() && b == quote as u8 || escape.is_ascii() && b == escape as u8 {
            line.extend_from_slice(escape.encode_utf8(&mut buf).as_bytes());
        }
        line.extend_from_slice(&[b]);
    }
    line.extend_from_slice(quote.encode_utf8(&mut buf).as_bytes());
}

fn push_char(line: &mut BytesMut, c: char) {
    let mut buf = [0u8; 4];
    line.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// One COPY line for a row of text-format fields.
fn line(values: &[Option<&[u8]>], format: &Format) -> Bytes {
    let mut out = BytesMut::new();
    for (i, value) in values.iter().enumerate() {
        match format {
            Format::Text { delimiter, null } => {
                if i > 0 {
                    push_char(&mut out, *delimiter);
                }
                match value {
                    Some(v) => push_text(&mut out, v, *delimiter),
                    None => out.extend_from_slice(null.as_bytes()),
                }
            }
            Format::Csv {
                delimiter,
                null,
                quote,
                escape,
                ..
            } => {
                if i > 0 {
                    push_char(&mut out, *delimiter);
                }
                match value {
                    Some(v) => push_csv(&mut out, v, *delimiter, null, *quote, *escape),
                    None => out.extend_from_slice(null.as_bytes()),
                }
            }
        }
    }
    out.extend_from_slice(b"\n");
    out.freeze()
}

/// Re-frames a text-format query result as COPY data.
pub fn into_copy(mut result: QueryResponse, format: Format) -> CopyResponse {
    let schema = result.row_schema();
    let columns = schema.len();
    let mut header = match &format {
        Format::Csv { header: true, .. } => {
            let names: Vec<Option<&[u8]>> =
                schema.iter().map(|f| Some(f.name().as_bytes())).collect();
            Some(line(&names, &format))
        }
        _ => None,
    };
    let rows = std::mem::replace(result.data_rows(), Box::pin(futures::stream::empty()));
    let header_only = header.clone();
    let sent_any = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = std::sync::Arc::clone(&sent_any);
    let data = rows
        .map(move |row| {
            row.map(|row| {
                let values = fields(&row.data, row.field_count.max(0) as usize);
                let body = line(&values, &format);
                seen.store(true, std::sync::atomic::Ordering::Relaxed);
                // The header rides on the first row so the COPY row count stays right.
                let data = match header.take() {
                    Some(h) => Bytes::from([h.as_ref(), body.as_ref()].concat()),
                    None => body,
                };
                CopyData::new(data)
            })
        })
        .chain(futures::stream::iter(header_only).filter_map(move |h| {
            // No rows at all: the header alone.
            let none = !sent_any.load(std::sync::atomic::Ordering::Relaxed);
            futures::future::ready(none.then(|| Ok(CopyData::new(h))))
        }));
    CopyResponse::new(0, columns, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_formats() {
        let r = parse("COPY (SELECT 1 AS a) TO STDOUT").unwrap().unwrap();
        assert_eq!(r.select, "SELECT 1 AS a");
        assert!(matches!(
            r.format,
            Format::Text {
                delimiter: '\t',
                ..
            }
        ));
        let r = parse("copy orders (order_id, total) to stdout with (format csv, header)")
            .unwrap()
            .unwrap();
        assert_eq!(r.select, "SELECT order_id, total FROM orders");
        assert!(matches!(
            r.format,
            Format::Csv {
                header: true,
                delimiter: ',',
                ..
            }
        ));
        let r = parse("COPY orders TO STDOUT CSV HEADER").unwrap().unwrap();
        assert!(matches!(r.format, Format::Csv { header: true, .. }));
        assert!(parse("COPY orders TO STDOUT (FORMAT binary)")
            .unwrap()
            .is_err());
        assert!(parse("COPY orders TO '/tmp/x'").is_none());
        assert!(parse("SELECT 'stdout'").is_none());
    }

    #[test]
    fn text_and_csv_escaping() {
        let text = Format::Text {
            delimiter: '\t',
            null: "\\N".into(),
        };
        let values: Vec<Option<&[u8]>> = vec![Some(b"a\tb\\c\nd"), None, Some(b"")];
        assert_eq!(&line(&values, &text)[..], b"a\\tb\\\\c\\nd\t\\N\t\n");
        let csv = Format::Csv {
            delimiter: ',',
            null: String::new(),
            quote: '"',
            escape: '"',
            header: false,
        };
        let values: Vec<Option<&[u8]>> = vec![
            Some(b"x,y"),
            None,
            Some(b""),
            Some(b"say \"hi\""),
            Some(b"plain"),
        ];
        assert_eq!(
            &line(&values, &csv)[..],
            b"\"x,y\",,\"\",\"say \"\"hi\"\"\",plain\n"
        );
    }
}
