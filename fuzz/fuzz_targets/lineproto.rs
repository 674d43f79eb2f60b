//! Line protocol: the server's parse path (parser plus batch building) must
//! not panic, must account for every line, and the streaming parser fed
//! the same bytes in arbitrary pieces must give the same lines and errors
//! (up to a line longer than the limit, see below).

#![no_main]

use libfuzzer_sys::fuzz_target;
use pulsardb_core::lineproto::{Limits, Line, Lines, Precision, StreamParser};
use pulsardb_server::config::StringFields;
use pulsardb_server::http::write::parse_lines;

const PRECISIONS: [Precision; 6] = [
    Precision::Nanoseconds,
    Precision::Microseconds,
    Precision::Milliseconds,
    Precision::Seconds,
    Precision::Minutes,
    Precision::Hours,
];

/// Hands out the body `piece` bytes at a time.
struct Pieces<'a> {
    data: &'a [u8],
    piece: usize,
}

impl embedded_io::ErrorType for Pieces<'_> {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.piece.min(buf.len()).min(self.data.len());
        let (now, rest) = self.data.split_at(n);
        buf[..n].copy_from_slice(now);
        self.data = rest;
        Ok(n)
    }
}

fn describe(l: &Line<'_>) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {}",
        l.measurement, l.tags, l.fields, l.timestamp_ns, l.line_no
    )
}

fuzz_target!(|input: &[u8]| {
    let Some((&mode, body)) = input.split_first() else {
        return;
    };
    let precision = PRECISIONS[usize::from(mode % 6)];
    let limits = if mode & 0x80 != 0 {
        Limits {
            max_line_bytes: 64,
            max_tags: 3,
            max_fields: 3,
        }
    } else {
        Limits::DEFAULT
    };
    let lines_in_body = body.iter().filter(|&&b| b == b'\n').count() + 1;

    // The server's path.
    let parsed = parse_lines(
        body,
        precision,
        limits,
        1_700_000_000_000_000_000,
        StringFields::Reject,
    );
    assert_eq!(
        parsed.line_of.len(),
        parsed.batch.len(),
        "a point per good line"
    );
    for &(line, _) in &parsed.errors {
        assert!(
            line >= 1 && line <= lines_in_body,
            "error on line {line} of {lines_in_body}"
        );
    }

    // Whole-buffer parser against the streaming one, same limits; the
    // stream's buffer holds the longest allowed line and its newline.
    let mut whole = Vec::new();
    let mut it = Lines::new(body, precision).with_limits(limits);
    let mut line = Line::new();
    while let Some(r) = it.next_into(&mut line) {
        whole.push(r.map(|()| describe(&line)).map_err(|e| format!("{e:?}")));
    }
    let piece = usize::from(mode >> 3 & 0x0f) + 1;
    let mut buf = vec![0u8; limits.max_line_bytes.min(body.len()) + 1];
    let mut sp =
        StreamParser::new(Pieces { data: body, piece }, &mut buf, precision).with_limits(limits);
    let mut streamed = Vec::new();
    while let Some(r) = sp.next_with(describe) {
        streamed.push(r.map_err(|e| match e {
            pulsardb_core::lineproto::StreamError::Parse(p) => format!("{p:?}"),
            pulsardb_core::lineproto::StreamError::Read(_) => unreachable!(),
        }));
    }
    // A line longer than the limit or the buffer is where the two may
    // legitimately differ (the stream cannot see past its buffer, so it
    // reports the length before a syntax error further on): compare up to
    // the first such line.
    let too_long = |v: &[Result<String, String>]| {
        v.iter()
            .position(|r| r.as_ref().is_err_and(|e| e.contains("LineTooLong")))
            .unwrap_or(v.len())
    };
    // (A comment line longer than the buffer is reported by the stream
    // only: the whole-buffer parser skips comments of any length.)
    let (tw, ts) = (too_long(&whole), too_long(&streamed));
    if tw == whole.len() && ts == streamed.len() {
        assert_eq!(whole, streamed, "whole and streamed parses differ");
    } else {
        let n = tw.min(ts);
        assert_eq!(
            whole.get(..n),
            streamed.get(..n),
            "whole and streamed parses differ"
        );
    }
});
