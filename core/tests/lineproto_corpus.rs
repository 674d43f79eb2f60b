//! Line-protocol conformance and robustness.
//!
//! `corpus`: every decode case of `testdata/line-protocol-corpus/corpus.json`,
//! judged by the rules of its `SOURCE.md`: an error case passes when the parser
//! reports at least one error for the input; a result case passes when it
//! reports none and yields exactly the expected points (names, tags sorted by
//! key as the corpus lists them, typed field values, times; a line without a
//! timestamp gets `defaultTime` truncated to the precision). Each case is also
//! parsed by the stream parser, in small reads, which must agree exactly.
//!
//! `robustness`: random bytes and mutated corpus inputs through both parsers:
//! nothing panics, every call makes progress, and the two parsers agree.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use std::convert::Infallible;
use std::fmt::Write as _;

use base64::Engine as _;
use pulsardb_core::lineproto::{
    FieldValue, Line, Lines, ParseError, Precision, StreamError, StreamParser,
};
use serde_json::Value;

#[derive(Debug)]
enum Val {
    Float(f64),
    Int(i64),
    UInt(u64),
    Bool(bool),
    Str(Vec<u8>),
}

/// Floats compare by bits, except that the corpus's JSON cannot say -0 (it writes `0`).
impl PartialEq for Val {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Val::Float(a), Val::Float(b)) => {
                a.to_bits() == b.to_bits() || (*a == 0.0 && *b == 0.0)
            }
            (Val::Int(a), Val::Int(b)) => a == b,
            (Val::UInt(a), Val::UInt(b)) => a == b,
            (Val::Bool(a), Val::Bool(b)) => a == b,
            (Val::Str(a), Val::Str(b)) => a == b,
            _ => false,
        }
    }
}

#[derive(Debug, PartialEq)]
struct Point {
    time: i64,
    name: Vec<u8>,
    tags: Vec<(Vec<u8>, Vec<u8>)>,
    fields: Vec<(Vec<u8>, Val)>,
}

#[derive(Debug)]
enum Expected {
    Error(String),
    Points(Vec<Point>),
}

#[derive(Debug)]
struct Case {
    key: String,
    text: Vec<u8>,
    default_time: i64,
    precision: Precision,
    expected: Expected,
}

/// A string, or `{"binary": base64}`.
fn bytes_of(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Object(o) => base64::engine::general_purpose::STANDARD
            .decode(o["binary"].as_str().unwrap())
            .unwrap(),
        other => panic!("not text: {other}"),
    }
}

fn expected_value(v: &Value) -> Val {
    let (kind, x) = v.as_object().unwrap().iter().next().unwrap();
    match kind.as_str() {
        "float" => Val::Float(x.as_f64().unwrap()),
        "int" => Val::Int(x.as_i64().unwrap()),
        "uint" => Val::UInt(x.as_u64().unwrap()),
        "bool" => Val::Bool(x.as_bool().unwrap()),
        "string" => Val::Str(x.as_str().unwrap().as_bytes().to_vec()),
        "binary" => Val::Str(bytes_of(v)),
        other => panic!("unknown value kind {other}"),
    }
}

fn expected_point(p: &Value) -> Point {
    let list = |k: &str| p[k].as_array().cloned().unwrap_or_default();
    Point {
        time: p["time"].as_i64().unwrap(),
        name: bytes_of(&p["name"]),
        tags: list("tags")
            .iter()
            .map(|t| (bytes_of(&t["key"]), bytes_of(&t["value"])))
            .collect(),
        fields: list("fields")
            .iter()
            .map(|f| (bytes_of(&f["key"]), expected_value(&f["value"])))
            .collect(),
    }
}

fn precision_of(s: &str) -> Precision {
    match s {
        "1ns" => Precision::Nanoseconds,
        "1µs" => Precision::Microseconds,
        "1ms" => Precision::Milliseconds,
        "1s" => Precision::Seconds,
        "1m" => Precision::Minutes,
        "1h" => Precision::Hours,
        other => panic!("unknown precision {other}"),
    }
}

fn load() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/line-protocol-corpus/corpus.json"
    );
    let json: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut cases: Vec<Case> = json["decode"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(key, case)| {
            let input = &case["input"];
            let output = &case["output"];
            let expected = match output.get("error") {
                Some(e) => Expected::Error(e.as_str().unwrap().to_owned()),
                None => Expected::Points(
                    output["result"]
                        .as_array()
                        .map(|ps| ps.iter().map(expected_point).collect())
                        .unwrap_or_default(),
                ),
            };
            Case {
                key: key.clone(),
                text: bytes_of(&input["text"]),
                default_time: input["defaultTime"].as_i64().unwrap(),
                precision: precision_of(input["precision"].as_str().unwrap()),
                expected,
            }
        })
        .collect();
    cases.sort_by(|a, b| a.key.cmp(&b.key));
    cases
}

fn point_of(line: &Line<'_>, precision: Precision, default_time: i64) -> Point {
    let mut tags: Vec<_> = line
        .tags
        .iter()
        .map(|(k, v)| (k.to_unescaped().into_owned(), v.to_unescaped().into_owned()))
        .collect();
    tags.sort();
    Point {
        time: line
            .timestamp_ns
            .unwrap_or_else(|| precision.truncate_ns(default_time)),
        name: line.measurement.to_unescaped().into_owned(),
        tags,
        fields: line
            .fields
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    FieldValue::Float(x) => Val::Float(*x),
                    FieldValue::Int(x) => Val::Int(*x),
                    FieldValue::UInt(x) => Val::UInt(*x),
                    FieldValue::Bool(x) => Val::Bool(*x),
                    FieldValue::Str(s) => Val::Str(s.to_unescaped().into_owned()),
                };
                (k.to_unescaped().into_owned(), v)
            })
            .collect(),
    }
}

/// Everything a parser said about an input: its points and its errors, in order.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    points: Vec<Point>,
    errors: Vec<ParseError>,
}

fn parse_slice(text: &[u8], precision: Precision, default_time: i64) -> Outcome {
    let mut out = Outcome::default();
    let mut lines = Lines::new(text, precision);
    let mut line = Line::new();
    let mut calls = 0;
    while let Some(r) = lines.next_into(&mut line) {
        calls += 1;
        assert!(calls <= text.len(), "no progress");
        match r {
            Ok(()) => {
                assert!(!line.measurement.raw().is_empty() && !line.fields.is_empty());
                out.points.push(point_of(&line, precision, default_time));
            }
            Err(e) => out.errors.push(e),
        }
    }
    assert_eq!(lines.position(), text.len());
    out
}

/// Hands out at most `chunk` bytes per read.
struct Chunked<'a> {
    rest: &'a [u8],
    chunk: usize,
}

impl embedded_io::ErrorType for Chunked<'_> {
    type Error = Infallible;
}

impl embedded_io::Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let n = self.chunk.min(buf.len()).min(self.rest.len());
        let (head, tail) = self.rest.split_at(n);
        buf[..n].copy_from_slice(head);
        self.rest = tail;
        Ok(n)
    }
}

fn parse_stream(
    text: &[u8],
    precision: Precision,
    default_time: i64,
    buf_len: usize,
    chunk: usize,
) -> Outcome {
    let mut out = Outcome::default();
    let mut buf = vec![0u8; buf_len];
    let mut parser = StreamParser::new(Chunked { rest: text, chunk }, &mut buf, precision);
    let mut calls = 0;
    while let Some(r) = parser.next_with(|line| point_of(line, precision, default_time)) {
        calls += 1;
        assert!(calls <= text.len() + 1, "no progress");
        match r {
            Ok(p) => out.points.push(p),
            Err(StreamError::Parse(e)) => out.errors.push(e),
            Err(StreamError::Read(e)) => match e {},
        }
    }
    out
}

fn show(text: &[u8]) -> String {
    text.escape_ascii().to_string()
}

#[test]
fn corpus() {
    let cases = load();
    assert_eq!(cases.len(), 6615, "decode cases in the corpus");
    let (mut passed, mut errors_expected, mut results_expected) = (0, 0, 0);
    let mut failures = String::new();
    let mut failed = 0;
    for case in &cases {
        let got = parse_slice(&case.text, case.precision, case.default_time);
        let ok = match &case.expected {
            Expected::Error(_) => {
                errors_expected += 1;
                !got.errors.is_empty()
            }
            Expected::Points(points) => {
                results_expected += 1;
                got.errors.is_empty() && got.points == *points
            }
        };
        let streamed = parse_stream(&case.text, case.precision, case.default_time, 8192, 7);
        let agrees = streamed == got;
        if ok && agrees {
            passed += 1;
            continue;
        }
        failed += 1;
        if failed <= 40 {
            let _ = writeln!(
                failures,
                "--- {} (precision {:?}, defaultTime {})",
                case.key, case.precision, case.default_time
            );
            let _ = writeln!(failures, "input:    \"{}\"", show(&case.text));
            match &case.expected {
                Expected::Error(e) => {
                    let _ = writeln!(failures, "expected: error {e:?}");
                }
                Expected::Points(p) => {
                    let _ = writeln!(failures, "expected: {p:?}");
                }
            }
            let errs: Vec<String> = got.errors.iter().map(ToString::to_string).collect();
            let _ = writeln!(failures, "got:      {:?} errors {errs:?}", got.points);
            if !agrees {
                let _ = writeln!(failures, "stream:   {streamed:?}");
            }
        }
    }
    println!(
        "passed {passed} of {} (errors expected: {errors_expected}, results expected: {results_expected})",
        cases.len()
    );
    assert!(
        failed == 0,
        "{failed} corpus cases failed; the first ones:\n{failures}"
    );
}

/// xorshift64*: a fixed seed makes every run test the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that steer the parser into its branches, and some that are always wrong.
const ALPHABET: &[u8] = b",= \"\\\n\r#-.0123456789eEiutTfFa\tx\x00\x7f\xc3\xa9\xff";

fn random_input(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(200);
    (0..len)
        .map(|_| {
            if rng.below(8) == 0 {
                rng.next() as u8
            } else {
                ALPHABET[rng.below(ALPHABET.len())]
            }
        })
        .collect()
}

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 if at < v.len() => v[at] = ALPHABET[rng.below(ALPHABET.len())],
            1 if at < v.len() => {
                v.remove(at);
            }
            2 => v.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
            3 if at < v.len() => v[at] ^= 1 << rng.below(8),
            _ => {
                // Splice a copy of a slice of the input.
                let from = rng.below(v.len() + 1);
                let to = (from + rng.below(16)).min(v.len());
                let piece = v[from..to].to_vec();
                v.splice(at..at, piece);
            }
        }
    }
    v
}

/// Both parsers on one input: no panic, progress, and the same answers.
fn check(input: &[u8], rng: &mut Rng, stats: &mut (usize, usize)) {
    let whole = parse_slice(input, Precision::Milliseconds, 0);
    stats.0 += whole.points.len();
    stats.1 += whole.errors.len();
    let chunk = 1 + rng.below(5);
    let streamed = parse_stream(input, Precision::Milliseconds, 0, input.len() + 1, chunk);
    assert_eq!(streamed, whole, "input \"{}\"", show(input));
    // A small buffer: lines that do not fit are skipped with an error; no panic, progress.
    let small = parse_stream(input, Precision::Milliseconds, 0, 1 + rng.below(24), chunk);
    if small.errors.is_empty() {
        assert_eq!(small, whole, "input \"{}\"", show(input));
    }
}

#[test]
fn robustness() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let corpus = load();
    let mut stats = (0, 0);
    let random = 50_000;
    for _ in 0..random {
        let input = random_input(&mut rng);
        check(&input, &mut rng, &mut stats);
    }
    // Half from the corpus's good inputs, so that many mutants still parse.
    let good: Vec<&Case> = corpus
        .iter()
        .filter(|c| matches!(c.expected, Expected::Points(_)))
        .collect();
    let mutated = 50_000;
    for i in 0..mutated {
        let base = if i % 2 == 0 {
            &good[(i * 7919) % good.len()].text
        } else {
            &corpus[(i * 7919) % corpus.len()].text
        };
        let input = mutate(&mut rng, base);
        check(&input, &mut rng, &mut stats);
    }
    println!(
        "robustness: ran {} inputs ({random} random, {mutated} mutated corpus inputs) through the buffer parser \
         and two stream parsers: {} lines parsed, {} errors reported, no panic",
        random + mutated,
        stats.0,
        stats.1
    );
}
