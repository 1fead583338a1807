//! `COPY (query) TO STDOUT` and `COPY table [(columns)] TO STDOUT`, in text or CSV format, as
//! psql's `\copy … to …` and psycopg's `cursor.copy()` send them. The query runs through the
//! normal path (hooks, limits, timeout, cancel); its text-format rows are re-framed as COPY data.

use bytes::{Bytes, BytesMut};
use datafusion::sql::sqlparser::ast::{
    CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget, Statement,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion_postgres::pgwire::api::results::{CopyResponse, FieldFormat, QueryResponse, Tag};
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::copy::{CopyData, CopyDone, CopyFail, CopyOutResponse};
use datafusion_postgres::pgwire::messages::PgWireBackendMessage;
use futures::{Sink, SinkExt, StreamExt};

#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    /// PostgreSQL's binary COPY format: a signature, then each row as a field count and
    /// (length, binary value) pairs, then -1.
    Binary,
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
    let mut binary = false;
    let mut delimiter = None;
    let mut null = None;
    let mut quote = '"';
    let mut escape = None;
    let mut header = false;
    for option in options {
        match option {
            CopyOption::Format(name) => match name.value.to_ascii_lowercase().as_str() {
                "text" => (csv, binary) = (false, false),
                "csv" => (csv, binary) = (true, false),
                "binary" => binary = true,
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
            CopyLegacyOption::Binary => binary = true,
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
    if binary {
        if csv || delimiter.is_some() || null.is_some() || header {
            return Err("COPY FORMAT binary takes no CSV, DELIMITER, NULL or HEADER option".into());
        }
        return Ok(Format::Binary);
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
    let special = |b: u8| {
        matches!(b, b'\\' | b'\n' | b'\r') || (delimiter.is_ascii() && b == delimiter as u8)
    };
    // Runs of ordinary bytes are copied whole; most values have no byte to escape.
    let mut start = 0;
    for (i, &b) in value.iter().enumerate() {
        if !special(b) {
            continue;
        }
        line.extend_from_slice(&value[start..i]);
        match b {
            b'\n' => line.extend_from_slice(b"\\n"),
            b'\r' => line.extend_from_slice(b"\\r"),
            b'\t' => line.extend_from_slice(b"\\t"),
            b => line.extend_from_slice(&[b'\\', b]),
        }
        start = i + 1;
    }
    line.extend_from_slice(&value[start..]);
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
    let size: usize = values.iter().map(|v| v.map_or(2, <[u8]>::len) + 1).sum();
    let mut out = BytesMut::with_capacity(size + size / 8);
    for (i, value) in values.iter().enumerate() {
        match format {
            // Binary rows are framed in `into_copy`, never as lines.
            Format::Binary => {}
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

/// PostgreSQL's binary COPY signature, flags (none) and header extension length (0).
const BINARY_SIGNATURE: &[u8; 19] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The binary COPY trailer: a field count of -1.
const BINARY_TRAILER: [u8; 2] = [0xff, 0xff];

/// Re-frames a binary-format query result as binary COPY data: each DataRow's fields are
/// already (length, value) pairs, so a row is its field count followed by them.
fn into_binary_copy(mut result: QueryResponse) -> PgWireResult<CopyResponse> {
    let schema = result.row_schema();
    if schema.iter().any(|f| f.format() != FieldFormat::Binary) {
        return Err(PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".to_owned(),
            "0A000".to_owned(),
            "COPY FORMAT binary is not available for this statement; use FORMAT text or csv"
                .to_owned(),
        ))));
    }
    let columns = schema.len();
    let rows = std::mem::replace(result.data_rows(), Box::pin(futures::stream::empty()));
    // As PostgreSQL frames it (and psycopg expects): the signature rides on the first row,
    // or on the trailer when there are no rows.
    let mut signature = Some(BINARY_SIGNATURE.as_slice());
    let sent_any = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = std::sync::Arc::clone(&sent_any);
    let data = rows
        .map(move |row| {
            row.map(|row| {
                let head = signature.take().unwrap_or_default();
                let mut out = BytesMut::with_capacity(head.len() + row.data.len() + 2);
                out.extend_from_slice(head);
                out.extend_from_slice(&row.field_count.to_be_bytes());
                out.extend_from_slice(&row.data);
                seen.store(true, std::sync::atomic::Ordering::Relaxed);
                CopyData::new(out.freeze())
            })
        })
        .chain(futures::stream::once(async move {
            let trailer = if sent_any.load(std::sync::atomic::Ordering::Relaxed) {
                Bytes::from_static(&BINARY_TRAILER)
            } else {
                Bytes::from([BINARY_SIGNATURE.as_slice(), &BINARY_TRAILER].concat())
            };
            Ok(CopyData::new(trailer))
        }));
    // Built as text and switched: `CopyResponse::new` would append a second trailer.
    let mut response = CopyResponse::new(0, columns, data);
    response.format = 1;
    Ok(response)
}

/// Re-frames a query result as COPY data in `format` (the result must have been produced in
/// binary for `Format::Binary`, in text otherwise).
pub fn into_copy(result: QueryResponse, format: Format) -> PgWireResult<CopyResponse> {
    if format == Format::Binary {
        return into_binary_copy(result);
    }
    Ok(into_text_copy(result, format))
}

fn into_text_copy(mut result: QueryResponse, format: Format) -> CopyResponse {
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

/// Sends a COPY … TO STDOUT response: like pgwire's `send_copy_out_response`, but the binary
/// trailer (with the signature when there are no rows) is never counted in the `COPY n` tag.
pub async fn send_copy_out<C>(client: &mut C, response: CopyResponse) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: std::fmt::Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let column_formats = response.column_formats();
    let CopyResponse {
        format,
        columns,
        mut data_stream,
        ..
    } = response;
    client
        .send(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
            format,
            columns as i16,
            column_formats,
        )))
        .await?;
    let mut rows = 0;
    while let Some(data) = data_stream.next().await {
        match data {
            Ok(data) => {
                let framing = format == 1
                    && (data.data.as_ref() == BINARY_TRAILER
                        || data.data.as_ref().strip_prefix(BINARY_SIGNATURE.as_slice())
                            == Some(BINARY_TRAILER.as_slice()));
                if !framing {
                    rows += 1;
                }
                client.feed(PgWireBackendMessage::CopyData(data)).await?;
            }
            Err(e) => {
                client
                    .send(PgWireBackendMessage::CopyFail(CopyFail::new(e.to_string())))
                    .await?;
                return Err(e);
            }
        }
    }
    client
        .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
        .await?;
    client
        .send(PgWireBackendMessage::CommandComplete(
            Tag::new("COPY").with_rows(rows).into(),
        ))
        .await?;
    Ok(())
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
        assert_eq!(
            parse("COPY orders TO STDOUT (FORMAT binary)")
                .unwrap()
                .unwrap()
                .format,
            Format::Binary
        );
        assert_eq!(
            parse("COPY orders TO STDOUT BINARY")
                .unwrap()
                .unwrap()
                .format,
            Format::Binary
        );
        assert!(parse("COPY orders TO STDOUT (FORMAT binary, HEADER)")
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
