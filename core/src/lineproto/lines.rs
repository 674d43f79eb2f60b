//! Parsing a whole buffer (an HTTP body) line by line.

use super::parser::{self, Options, Step};
use super::{Limits, Line, ParseError, Precision};

/// The lines of one input buffer, parsed one at a time into a reused [`Line`].
///
/// ```
/// use pulsardb_core::lineproto::{Line, Lines, Precision};
///
/// let body = b"cpu,host=a usage=0.5 1700000000\ncpu,host=b usage=0.5.1 1700000000\n";
/// let mut lines = Lines::new(body, Precision::Seconds);
/// let mut line = Line::new();
/// let mut errors = Vec::new();
/// while let Some(result) = lines.next_into(&mut line) {
///     match result {
///         Ok(()) => assert_eq!(line.timestamp_ns, Some(1_700_000_000_000_000_000)),
///         Err(e) => errors.push(e.to_string()),
///     }
/// }
/// assert_eq!(errors, ["line 2, column 18: invalid float value \"0.5.1\" for field \"usage\" \
///                      (expected a decimal number such as -1.5e3)"]);
/// ```
#[derive(Clone, Debug)]
pub struct Lines<'a> {
    data: &'a [u8],
    pos: usize,
    line_no: usize,
    opts: Options,
}

impl<'a> Lines<'a> {
    /// Parses `data` with timestamps in `precision`, within [`Limits::DEFAULT`].
    pub fn new(data: &'a [u8], precision: Precision) -> Self {
        Lines {
            data,
            pos: 0,
            line_no: 1,
            opts: Options {
                precision,
                limits: Limits::DEFAULT,
            },
        }
    }

    /// The same, within `limits`.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.opts.limits = limits;
        self
    }

    /// Parses the next line into `out`; `None` once the input is used up.
    ///
    /// Blank lines and `#` comments are skipped. On `Err`, the bad line has
    /// been skipped (up to its newline) and `out` holds nothing useful; call
    /// again for the next line.
    pub fn next_into(&mut self, out: &mut Line<'a>) -> Option<Result<(), ParseError>> {
        match parser::step(&self.opts, self.data, self.pos, self.line_no, true, out) {
            Step::Line {
                next,
                lines,
                result,
            } => {
                debug_assert!(next > self.pos, "every line consumes input");
                self.pos = next;
                self.line_no += lines;
                Some(result)
            }
            Step::End { next, lines } | Step::NeedMore { next, lines } => {
                self.pos = next.max(self.data.len());
                self.line_no += lines;
                None
            }
        }
    }

    /// 1-based number of the input line the next call starts at.
    pub fn line_no(&self) -> usize {
        self.line_no
    }

    /// Bytes of the input consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }
}
