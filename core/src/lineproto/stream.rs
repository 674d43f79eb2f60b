//! Parsing a byte stream (`embedded_io::Read`) through a fixed buffer.

use embedded_io::Read;

use super::parser::{self, Options, Step};
use super::{ErrorKind, Limits, Line, ParseError, Precision, StreamError};

/// Parses line protocol read from `R` through a caller-supplied buffer, for
/// firmware that has no room for a whole body.
///
/// Memory is the buffer plus the widest line's tags and fields. A line must
/// fit in the buffer with its newline; a longer one is reported as
/// [`ErrorKind::LineTooLong`] and skipped up to the next newline (a comment
/// line too). Lines split across reads parse exactly as whole ones. A
/// zero-length buffer reports one `LineTooLong` and ends.
///
/// ```
/// use pulsardb_core::lineproto::{Precision, StreamParser};
///
/// let input: &[u8] = b"m,dev=a t=21.5 1700000000\nm,dev=b t=22 1700000010\n";
/// let mut buf = [0u8; 64];
/// let mut parser = StreamParser::new(input, &mut buf, Precision::Seconds);
/// let mut sum = 0.0;
/// while let Some(r) = parser.next_with(|line| line.fields.len()) {
///     assert_eq!(r, Ok(1));
///     sum += 1.0;
/// }
/// assert_eq!(sum, 2.0);
/// ```
#[derive(Debug)]
pub struct StreamParser<'b, R> {
    reader: R,
    buf: &'b mut [u8],
    /// Unparsed bytes are `buf[start..end]`; `start` is always a line start.
    start: usize,
    end: usize,
    /// The reader reported its end.
    eof: bool,
    /// Discarding a too-long line up to its newline.
    skipping: bool,
    /// Line number at `start`.
    line_no: usize,
    opts: Options,
    /// Storage for the tags and fields, kept between lines.
    line: Line<'static>,
}

impl<'b, R: Read> StreamParser<'b, R> {
    /// Reads from `reader` through `buf`, timestamps in `precision`, within [`Limits::DEFAULT`].
    pub fn new(reader: R, buf: &'b mut [u8], precision: Precision) -> Self {
        StreamParser {
            reader,
            buf,
            start: 0,
            end: 0,
            eof: false,
            skipping: false,
            line_no: 1,
            opts: Options {
                precision,
                limits: Limits::DEFAULT,
            },
            line: Line::new(),
        }
    }

    /// The same, within `limits` (a line is also bounded by the buffer).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.opts.limits = limits;
        self
    }

    /// Parses the next line and hands it to `f`; `None` at the end of the stream.
    ///
    /// `Err(StreamError::Parse)` reports a bad line (skipped; call again for
    /// the next). `Err(StreamError::Read)` passes on the reader's error; calling
    /// again reads again.
    pub fn next_with<T>(
        &mut self,
        f: impl FnOnce(&Line<'_>) -> T,
    ) -> Option<Result<T, StreamError<R::Error>>> {
        loop {
            if self.skipping {
                let unread = self.buf.get(self.start..self.end).unwrap_or_default();
                match unread.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.start += i + 1;
                        self.line_no += 1;
                        self.skipping = false;
                    }
                    None => {
                        self.start = self.end;
                        if self.eof {
                            return None;
                        }
                        if let Err(e) = self.fill() {
                            return Some(Err(StreamError::Read(e)));
                        }
                    }
                }
                continue;
            }

            let data = self.buf.get(..self.end).unwrap_or_default();
            let mut line = core::mem::take(&mut self.line).recycle();
            match parser::step(
                &self.opts,
                data,
                self.start,
                self.line_no,
                self.eof,
                &mut line,
            ) {
                Step::Line {
                    next,
                    lines,
                    result,
                } => {
                    self.start = next;
                    self.line_no += lines;
                    let result = result.map(|()| f(&line)).map_err(StreamError::Parse);
                    self.line = line.recycle();
                    return Some(result);
                }
                Step::End { next, lines } => {
                    self.start = next;
                    self.line_no += lines;
                    self.line = line.recycle();
                    return None;
                }
                Step::NeedMore { next, lines } => {
                    self.start = next;
                    self.line_no += lines;
                    self.line = line.recycle();
                }
            }

            // The line continues past the buffered data.
            if self.start == 0 && self.end == self.buf.len() && !self.buf.is_empty() {
                // No room to read into: one byte tells a last line that fills
                // the buffer exactly (the stream ends) from a longer one.
                let mut probe = [0u8; 1];
                match self.reader.read(&mut probe) {
                    Err(e) => return Some(Err(StreamError::Read(e))),
                    Ok(0) => self.eof = true,
                    Ok(_) => {
                        let error = self.skip_long_line();
                        if probe == [b'\n'] {
                            self.skipping = false;
                            self.line_no += 1;
                        }
                        return Some(Err(StreamError::Parse(error)));
                    }
                }
                continue;
            }
            if self.buf.is_empty() {
                self.eof = true;
                return Some(Err(StreamError::Parse(self.skip_long_line())));
            }
            if let Err(e) = self.fill() {
                return Some(Err(StreamError::Read(e)));
            }
        }
    }

    /// Reports the line that fills the whole buffer and starts skipping it.
    fn skip_long_line(&mut self) -> ParseError {
        let max_bytes = self.buf.len();
        let unread = self.buf.get(..self.end).unwrap_or_default();
        // Newlines inside the line's string values count as lines.
        let newlines = unread.iter().filter(|&&b| b == b'\n').count();
        let last_line_len = unread
            .iter()
            .rev()
            .position(|&b| b == b'\n')
            .unwrap_or(unread.len());
        let error = ParseError {
            line: self.line_no + newlines,
            column: last_line_len + 1,
            kind: ErrorKind::LineTooLong { max_bytes },
        };
        self.line_no += newlines;
        self.start = self.end;
        self.skipping = true;
        error
    }

    /// Moves the unparsed bytes to the front and reads more after them.
    fn fill(&mut self) -> Result<(), R::Error> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let free = self.buf.get_mut(self.end..).unwrap_or_default();
        if free.is_empty() {
            return Ok(());
        }
        let n = self.reader.read(free)?;
        if n == 0 {
            self.eof = true;
        }
        self.end = (self.end + n).min(self.buf.len());
        Ok(())
    }

    /// 1-based number of the input line the next call starts at.
    pub fn line_no(&self) -> usize {
        self.line_no
    }

    /// The reader back.
    pub fn into_inner(self) -> R {
        self.reader
    }
}
