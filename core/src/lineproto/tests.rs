//! Parser behaviour: what each line gives, where errors point, what they say.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::*;

/// Every line of `text`: `Ok(debug form)` or `Err("line:col: message")`.
fn parse(text: &[u8], precision: Precision) -> Vec<Result<String, String>> {
    parse_with(text, precision, Limits::DEFAULT)
}

fn parse_with(text: &[u8], precision: Precision, limits: Limits) -> Vec<Result<String, String>> {
    let mut lines = Lines::new(text, precision).with_limits(limits);
    let mut line = Line::new();
    let mut out = Vec::new();
    while let Some(r) = lines.next_into(&mut line) {
        out.push(match r {
            Ok(()) => Ok(show(&line)),
            Err(e) => Err(alloc::format!("{}:{}: {}", e.line, e.column, e.kind)),
        });
    }
    out
}

fn show(line: &Line<'_>) -> String {
    let mut s = alloc::format!("{}@{}", line.measurement, line.line_no);
    for (k, v) in &line.tags {
        s += &alloc::format!(",{k}={v}");
    }
    for (i, (k, v)) in line.fields.iter().enumerate() {
        s += if i == 0 { " " } else { "," };
        s += &match v {
            FieldValue::Float(x) => alloc::format!("{k}={x:?}"),
            FieldValue::Int(x) => alloc::format!("{k}={x}i"),
            FieldValue::UInt(x) => alloc::format!("{k}={x}u"),
            FieldValue::Bool(x) => alloc::format!("{k}={x}"),
            FieldValue::Str(x) => alloc::format!("{k}={:?}", x.to_str()),
        };
    }
    if let Some(t) = line.timestamp_ns {
        s += &alloc::format!(" {t}");
    }
    s
}

fn one_error(text: &[u8]) -> String {
    let r = parse(text, Precision::Nanoseconds);
    assert_eq!(r.len(), 1, "{text:?} gave {r:?}");
    match r.into_iter().next() {
        Some(Err(e)) => e,
        other => panic!("{text:?}: expected an error, got {other:?}"),
    }
}

#[test]
fn a_full_line() {
    let r = parse(
        br#"weather,site=north\ gate,sensor=t\,1 temp=21.37,count=7i,big=18446744073709551615u,ok=T,note="said \"hi\"\\" 1700000000"#,
        Precision::Seconds,
    );
    assert_eq!(
        r,
        [Ok(r#"weather@1,site=north gate,sensor=t,1 temp=21.37,count=7i,big=18446744073709551615u,ok=true,note="said \"hi\"\\" 1700000000000000000"#.to_string())]
    );
}

#[test]
fn blank_lines_comments_crlf_and_spaces() {
    let text = b"\n  \r\n# a comment\n   # another\r\n  m  f=1   2  \r\nm f=2\r\n\n";
    assert_eq!(
        parse(text, Precision::Nanoseconds),
        [Ok("m@5 f=1.0 2".to_string()), Ok("m@6 f=2.0".to_string())]
    );
    assert_eq!(
        parse(b"m f=1\r", Precision::Nanoseconds),
        [Ok("m@1 f=1.0".to_string())]
    );
    assert!(parse(b"", Precision::Nanoseconds).is_empty());
    assert!(parse(b"   ", Precision::Nanoseconds).is_empty());
    assert!(parse(b"# only", Precision::Nanoseconds).is_empty());
}

#[test]
fn bad_lines_are_reported_and_skipped() {
    let text = b"m f=1 1\nm f= 2\nm,t=a f=2 2\nbad\nm f=\"two\nlines\" 3\nm f=3 x\nm f=4 4";
    let r = parse(text, Precision::Nanoseconds);
    assert_eq!(r.len(), 7);
    assert_eq!(r[0], Ok("m@1 f=1.0 1".to_string()));
    assert!(
        r[1].as_ref()
            .is_err_and(|e| e.starts_with("2:5: expected a value for field \"f\""))
    );
    assert_eq!(r[2], Ok("m@3,t=a f=2.0 2".to_string()));
    assert!(
        r[3].as_ref()
            .is_err_and(|e| e.starts_with("4:4: expected ',' and a tag or ' ' and the fields"))
    );
    assert_eq!(r[4], Ok("m@5 f=\"two\\nlines\" 3".to_string()));
    assert_eq!(
        r[5],
        Err("7:7: invalid timestamp \"x\" (expected a decimal integer)".to_string())
    );
    assert_eq!(r[6], Ok("m@8 f=4.0 4".to_string()));
}

#[test]
fn error_positions_and_messages() {
    let cases: [(&[u8], &str); 31] = [
        (
            &b"\tm f=1"[..],
            "1:1: expected a measurement name, found a tab",
        ),
        (
            &b",m f=1"[..],
            "1:1: expected a measurement name, found ','",
        ),
        (
            &b"m"[..],
            "1:2: expected ',' and a tag or ' ' and the fields, found end of input",
        ),
        (
            &b"m\x0bf=1"[..],
            "1:2: expected ',' and a tag or ' ' and the fields, found byte 0x0B",
        ),
        (
            &b"m, f=1"[..],
            "1:3: expected a tag key after ',', found ' '",
        ),
        (
            &b"m,"[..],
            "1:3: expected a tag key after ',', found end of input",
        ),
        (
            &b"cpu,host=serverA,region value=1i"[..],
            "1:24: expected '=' after tag key \"region\", found ' '",
        ),
        (
            &b"m,k= f=1"[..],
            "1:5: expected a value for tag key \"k\" (tag values cannot be empty), found ' '",
        ),
        (
            &b"m,b=2,c=3,b=1 f=1"[..],
            "1:11: tag key \"b\" appears more than once",
        ),
        (
            &b"m,k=v"[..],
            "1:6: expected ',' and a tag or ' ' and the fields, found end of input",
        ),
        (&b"m "[..], "1:3: expected a field key, found end of input"),
        (
            &b"m f=1,"[..],
            "1:7: expected a field key, found end of input",
        ),
        (
            &b"m f"[..],
            "1:4: expected '=' after field key \"f\", found end of input",
        ),
        (
            &b"m f="[..],
            "1:5: expected a value for field \"f\" (a number such as 1.5, 1i, 1u, \"text\", true or false), found end of input",
        ),
        (
            &b"m f=NaN"[..],
            "1:5: expected a value for field \"f\" (a number such as 1.5, 1i, 1u, \"text\", true or false), found 'N'",
        ),
        (
            &b"m f=-inf"[..],
            "1:5: invalid float value \"-inf\" for field \"f\" (expected a decimal number such as -1.5e3)",
        ),
        (
            &b"m f=1.0i"[..],
            "1:5: invalid integer value \"1.0i\" for field \"f\" (expected a decimal integer followed by 'i')",
        ),
        (
            &b"m f=-1u"[..],
            "1:5: invalid unsigned integer value \"-1u\" for field \"f\" (expected a decimal integer followed by 'u')",
        ),
        (
            &b"m f=yes"[..],
            "1:5: expected a value for field \"f\" (a number such as 1.5, 1i, 1u, \"text\", true or false), found 'y'",
        ),
        (
            &b"m f=tru"[..],
            "1:5: invalid boolean value \"tru\" for field \"f\" (expected t, T, true, True, TRUE, f, F, false, False or FALSE)",
        ),
        (
            &b"m f=1e400"[..],
            "1:5: float value \"1e400\" for field \"f\" is out of the f64 range",
        ),
        (
            &b"m f=9223372036854775808i"[..],
            "1:5: integer value \"9223372036854775808i\" for field \"f\" is out of the i64 range",
        ),
        (
            &b"m f=\"open"[..],
            "1:5: string value of field \"f\" has no closing '\"'",
        ),
        (
            &b"m f=\"a\"b"[..],
            "1:8: expected ',', ' ' or end of line after the value of field \"f\", found 'b'",
        ),
        (
            &b"m f=1 12a"[..],
            "1:7: invalid timestamp \"12a\" (expected a decimal integer)",
        ),
        (
            &b"m f=1 --1"[..],
            "1:7: invalid timestamp \"--1\" (expected a decimal integer)",
        ),
        (
            &b"m f=1 \rx"[..],
            "1:7: invalid timestamp \"\\rx\" (expected a decimal integer)",
        ),
        (
            &b"m f=1 9223372036854775808"[..],
            "1:7: timestamp \"9223372036854775808\" with precision ns is out of range (nanoseconds since 1970 must fit an i64)",
        ),
        (
            &b"m f=1 1 2"[..],
            "1:9: expected end of line after the timestamp, found '2'",
        ),
        (
            &b"#ok\n# bad\x15\n"[..],
            "2:6: comment line holds a control character (byte 0x15)",
        ),
        (
            &b"m\xc3\xa8,k=\xc3\xa8 f\xc3\xa8=\"\xc3\xa8\"\nm\xff f=1"[..],
            "2:2: invalid UTF-8 in measurement name",
        ),
    ];
    for (text, want) in cases {
        let got = parse(text, Precision::Nanoseconds);
        let errors: Vec<_> = got.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(errors, [want], "{:?}", text.escape_ascii().to_string());
    }
    assert_eq!(
        one_error(b"m,k=\xff f=1"),
        "1:5: invalid UTF-8 in tag value"
    );
    assert_eq!(
        one_error(b"m f=\"a\nb\xff\" 1"),
        "2:2: invalid UTF-8 in string field value"
    );
    assert!(
        parse(b"m f=1 9223372037", Precision::Seconds)[0]
            .as_ref()
            .is_err_and(|e| e.contains("precision s is out of range"))
    );
}

#[test]
fn the_display_names_line_and_column() {
    let mut lines = Lines::new(
        b"m f=1\nm f=1\n\ncpu,host=serverA,region value=1i",
        Precision::Nanoseconds,
    );
    let mut line = Line::new();
    assert_eq!(lines.next_into(&mut line), Some(Ok(())));
    assert_eq!(lines.next_into(&mut line), Some(Ok(())));
    let e = lines
        .next_into(&mut line)
        .and_then(Result::err)
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("line 4, column 24: expected '=' after tag key \"region\", found ' '")
    );
    assert_eq!(lines.next_into(&mut line), None);
    assert_eq!(lines.next_into(&mut line), None);
}

#[test]
fn escapes_follow_the_corpus() {
    let r = parse(
        br#"a\ b\,c\=d,k\ 1\=\,=v\ 1\=\,\x f\,\=\ \\x=1 2"#,
        Precision::Nanoseconds,
    );
    assert_eq!(
        r,
        [Ok(r"a b,c\=d@1,k 1=,=v 1=,\x f,= \\x=1.0 2".to_string())]
    );
    // `\\=` in a key is a literal backslash and an escaped `=`, so the key goes on.
    assert!(
        parse(br"m f\\=1", Precision::Nanoseconds)[0]
            .as_ref()
            .is_err_and(|e| e.contains("after field key"))
    );
    // `\\` is not an escape in names: `\\ ` is a backslash and an escaped space.
    assert_eq!(
        parse(br"u,s=t\\  e=1.", Precision::Nanoseconds),
        [Ok(r"u@1,s=t\  e=1.0".to_string())]
    );
    // In strings only `\"` and `\\` are escapes.
    assert_eq!(
        parse(br#"m v="\n\t\\\"""#, Precision::Nanoseconds),
        [Ok(r#"m@1 v="\\n\\t\\\"""#.to_string())]
    );
    // A backslash before the end of a name stays.
    assert_eq!(
        parse(br"m\ f=1", Precision::Nanoseconds),
        [Err(
            "1:7: expected ',' and a tag or ' ' and the fields, found end of input".to_string()
        )]
    );
}

#[test]
fn values_and_timestamps() {
    let r = parse(
        b"m a=-0.,b=.5,c=1e3,d=00012i,e=0u,f=F,g=FALSE,h=\"\" -1",
        Precision::Milliseconds,
    );
    assert_eq!(
        r,
        [Ok(
            "m@1 a=-0.0,b=0.5,c=1000.0,d=12i,e=0u,f=false,g=false,h=\"\" -1000000".to_string()
        )]
    );
    let r = parse(b"m f=1 2", Precision::Hours);
    assert_eq!(r, [Ok("m@1 f=1.0 7200000000000".to_string())]);
    let mut lines = Lines::new(b"m f=1", Precision::Seconds);
    let mut line = Line::new();
    assert_eq!(lines.next_into(&mut line), Some(Ok(())));
    assert_eq!(line.timestamp_ns, None);
    assert_eq!(line.field(b"f"), Some(&FieldValue::Float(1.0)));
}

#[test]
fn duplicate_fields_are_kept_and_the_last_wins() {
    let mut lines = Lines::new(b"m,t=a f=1,f=2i", Precision::Nanoseconds);
    let mut line = Line::new();
    assert_eq!(lines.next_into(&mut line), Some(Ok(())));
    assert_eq!(line.fields.len(), 2);
    assert_eq!(line.field(b"f"), Some(&FieldValue::Int(2)));
    assert_eq!(line.tag(b"t").map(|v| v.raw()), Some(&b"a"[..]));
}

#[test]
fn duplicate_tags_in_wide_lines() {
    let mut text = String::from("m");
    for i in 0..40 {
        text += &alloc::format!(",k{i}=v");
    }
    let ok = text.clone() + " f=1";
    assert!(parse(ok.as_bytes(), Precision::Nanoseconds)[0].is_ok());
    let dup = text.clone() + ",k7=w,k3=x f=1";
    let col = text.len() + 2;
    assert_eq!(
        one_error(dup.as_bytes()),
        alloc::format!("1:{col}: tag key \"k7\" appears more than once")
    );
    // Escaped spellings are compared as written, which is the same as unescaped.
    assert!(one_error(br"m,a\ b=1,a\ b=2 f=1").contains("appears more than once"));
}

#[test]
fn limits_are_enforced_and_named() {
    let limits = Limits {
        max_line_bytes: 20,
        max_tags: 2,
        max_fields: 2,
    };
    let r = parse_with(
        b"m,a=1,b=2 f=1,g=2\nm,a=1,b=2,c=3 f=1\nm f=1,g=2,h=3\nm f=1,g=2 1234567890123",
        Precision::Nanoseconds,
        limits,
    );
    assert_eq!(r[0], Ok("m@1,a=1,b=2 f=1.0,g=2.0".to_string()));
    assert_eq!(
        r[1],
        Err("2:11: more than 2 tags (limit max_tags)".to_string())
    );
    assert_eq!(
        r[2],
        Err("3:11: more than 2 fields (limit max_fields)".to_string())
    );
    assert_eq!(
        r[3],
        Err("4:21: line longer than 20 bytes (limit max_line_bytes); skipped".to_string())
    );
}

#[test]
fn a_line_is_reused_without_growing() {
    let text = b"m,a=1,b=2 f=1,g=2,h=3\nm,a=1 f=1\nm,a=1,b=2 f=1,g=2,h=3\n";
    let mut lines = Lines::new(text, Precision::Nanoseconds);
    let mut line = Line::new();
    assert_eq!(lines.next_into(&mut line), Some(Ok(())));
    let buffers = (line.tags.as_ptr() as usize, line.fields.as_ptr() as usize);
    while let Some(r) = lines.next_into(&mut line) {
        assert_eq!(r, Ok(()));
        assert_eq!(
            (line.tags.as_ptr() as usize, line.fields.as_ptr() as usize),
            buffers
        );
    }
}

/// Gives at most `chunk` bytes per read; fails once at `fail_at` if set.
struct Reader<'a> {
    rest: &'a [u8],
    chunk: usize,
    fail_at: Option<usize>,
    offset: usize,
}

#[derive(Debug, PartialEq)]
struct Broken;

impl core::fmt::Display for Broken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("broken")
    }
}

impl core::error::Error for Broken {}

impl embedded_io::Error for Broken {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

impl embedded_io::ErrorType for Reader<'_> {
    type Error = Broken;
}

impl embedded_io::Read for Reader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
        if self.fail_at.is_some_and(|at| self.offset >= at) {
            self.fail_at = None;
            return Err(Broken);
        }
        let n = self.chunk.min(buf.len()).min(self.rest.len());
        let (head, tail) = self.rest.split_at(n);
        buf[..n].copy_from_slice(head);
        self.rest = tail;
        self.offset += n;
        Ok(n)
    }
}

fn stream(
    text: &[u8],
    buf_len: usize,
    chunk: usize,
    fail_at: Option<usize>,
) -> Vec<Result<String, String>> {
    let mut buf = alloc::vec![0u8; buf_len];
    let reader = Reader {
        rest: text,
        chunk,
        fail_at,
        offset: 0,
    };
    let mut parser = StreamParser::new(reader, &mut buf, Precision::Nanoseconds);
    let mut out = Vec::new();
    while let Some(r) = parser.next_with(show) {
        out.push(match r {
            Ok(s) => Ok(s),
            Err(StreamError::Parse(e)) => {
                Err(alloc::format!("{}:{}: {}", e.line, e.column, e.kind))
            }
            Err(StreamError::Read(e)) => Err(alloc::format!("read: {e:?}")),
        });
    }
    out
}

#[test]
fn streams_parse_like_buffers_at_any_split() {
    let text: &[u8] =
        b"# c\r\nm,t=a f=1 1\r\nm f=\"x\ny\" 2\n\nbad line\nm f=3 3\rm f=4\nm f=5 5\r";
    let whole = parse(text, Precision::Nanoseconds);
    assert_eq!(whole.len(), 5);
    for buf_len in [text.len() + 1, 64, 40] {
        for chunk in [1, 2, 3, 7, 100] {
            assert_eq!(
                stream(text, buf_len, chunk, None),
                whole,
                "buffer {buf_len}, reads of {chunk}"
            );
        }
    }
}

#[test]
fn a_line_longer_than_the_stream_buffer_is_skipped() {
    let text = b"m f=1 1\nm,host=a-very-long-host-name f=2 2\nm f=3 3\n";
    let r = stream(text, 16, 5, None);
    assert_eq!(
        r,
        [
            Ok("m@1 f=1.0 1".to_string()),
            Err("2:17: line longer than 16 bytes (limit max_line_bytes); skipped".to_string()),
            Ok("m@3 f=3.0 3".to_string())
        ]
    );
    // A last line without newline may fill the buffer exactly; with its newline it is too long.
    assert_eq!(
        stream(b"m f=1 1234567890", 16, 5, None),
        [Ok("m@1 f=1.0 1234567890".to_string())]
    );
    assert_eq!(
        stream(b"m f=1 1234567890\nm f=2\n", 16, 5, None),
        [
            Err("1:17: line longer than 16 bytes (limit max_line_bytes); skipped".to_string()),
            Ok("m@2 f=2.0".to_string())
        ]
    );
    // Exactly fits with its newline.
    assert_eq!(
        stream(b"m f=1 123456789\nm f=2", 16, 3, None),
        [
            Ok("m@1 f=1.0 123456789".to_string()),
            Ok("m@2 f=2.0".to_string())
        ]
    );
}

#[test]
fn a_zero_length_buffer_ends_after_one_error() {
    let r = stream(b"m f=1\n", 0, 4, None);
    assert_eq!(
        r,
        [Err(
            "1:1: line longer than 0 bytes (limit max_line_bytes); skipped".to_string()
        )]
    );
}

#[test]
fn read_errors_are_passed_on_and_retried() {
    let text = b"m f=1 1\nm f=2 2\n";
    let r = stream(text, 32, 4, Some(8));
    assert_eq!(
        r,
        [
            Ok("m@1 f=1.0 1".to_string()),
            Err("read: Broken".to_string()),
            Ok("m@2 f=2.0 2".to_string())
        ]
    );
}

#[test]
fn slices_are_readers_too() {
    let input: &[u8] = b"m f=1\n";
    let mut buf = [0u8; 16];
    let mut p: StreamParser<'_, &[u8]> = StreamParser::new(input, &mut buf, Precision::Nanoseconds);
    assert_eq!(p.next_with(|l| l.fields.len()), Some(Ok(1)));
    assert_eq!(p.next_with(|l| l.fields.len()), None);
    assert_eq!(p.line_no(), 2);
    let rest: &[u8] = p.into_inner();
    assert!(rest.is_empty());
}

#[test]
fn random_bytes_never_panic() {
    let mut x: u64 = 0x243F_6A88_85A3_08D3;
    let alphabet = b",= \"\\\n\r#-.0123456789eiutfTF\t\x00\xc3\xa9\xff";
    let mut runs = 0;
    for _ in 0..2000 {
        let mut text = Vec::new();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for _ in 0..(x % 64) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            text.push(alphabet[(x % alphabet.len() as u64) as usize]);
        }
        let whole = parse(&text, Precision::Nanoseconds);
        assert_eq!(
            stream(&text, text.len() + 1, 1 + (x % 3) as usize, None),
            whole
        );
        runs += 1;
    }
    assert_eq!(runs, 2000);
}

#[test]
fn escaped_names_parse_back_to_themselves() {
    let names = ["plain", "a b", "a,b", "a=b", " ,= ", "C:\\dir", "ünï code"];
    let mut checked = 0;
    for m in names {
        for k in names {
            for v in names {
                let mut text = String::new();
                escape_name_into(&mut text, m, true);
                text.push(',');
                escape_name_into(&mut text, k, false);
                text.push('=');
                escape_name_into(&mut text, v, false);
                text.push_str(" f=1 1");
                let mut lines = Lines::new(text.as_bytes(), Precision::Seconds);
                let mut line = Line::new();
                assert_eq!(lines.next_into(&mut line), Some(Ok(())), "{text}");
                assert_eq!(line.measurement.to_str(), m, "{text}");
                let (pk, pv) = line.tags.first().expect("one tag");
                assert_eq!((pk.to_str(), pv.to_str()), (k.into(), v.into()), "{text}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 7 * 7 * 7);
}
