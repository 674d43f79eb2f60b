//! InfluxQL's technical-analysis transforms, as InfluxDB 1.x computes them:
//! `exponential_moving_average`, `double_exponential_moving_average`,
//! `triple_exponential_moving_average`, `triple_exponential_derivative`,
//! `relative_strength_index`, `chande_momentum_oscillator`,
//! `kaufmans_efficiency_ratio`, `kaufmans_adaptive_moving_average`.
//!
//! Each runs down one column (a field's raw values, or the windows of an
//! aggregate) like `moving_average`, and takes `(x, period[, hold_period[,
//! warmup_type]])` (the Kaufman functions take no warm-up type):
//!
//! - Null inputs (windows without points under `fill(null)`) are skipped:
//!   they change no state and count toward nothing. Filled numbers count.
//! - The state is updated at every input; the hold only hides the first
//!   `hold_period` outputs (a row per input `i >= hold_period`, at that
//!   input's time). `-1` (the default) derives the hold from the function
//!   and warm-up (EMA `p - 1`, ...; see [`Ta::hold`]).
//! - EMA warm-up: `'exponential'` (the default) starts at the first value
//!   with `alpha = 2 / (min(n, p) + 1)` for the `n`-th value; `'simple'`
//!   takes the running mean of the first `p` values. After it, `alpha = 2 /
//!   (p + 1)`. DEMA is `2 e1 - e2`, TEMA `3 e1 - 3 e2 + e3`, each `e(k+1)` the
//!   EMA of `e(k)`; under `'simple'` a stage is fed only once the stage
//!   above has seen `p` values, and stands in for it until then. TRIX is
//!   the percent change of TEMA's `e3` from one input to the next.
//! - RSI and CMO (with a warm-up) average gains and losses from a virtual
//!   zero before the first value, by the warm-up for the first `p + 1`
//!   changes, then by Wilder's smoothing (`alpha = 1 / p`). CMO's default
//!   `'none'` sums the last `p` real changes.
//! - Kaufman's efficiency ratio is the net change over `p` values by the
//!   sum of the absolute changes (0 when nothing moved), with zeros before
//!   the first value; the adaptive average follows the value with the
//!   smoothing constant `(ER (2/3 - 2/31) + 2/31)^2`.
//! - Results are floats; 0/0 (RSI with no change at all, say) is a row
//!   with a null value, and a TRIX dividing by zero gives no row.
//!
//! These rules were read off InfluxDB 1.6 itself, by comparing its answers
//! on random data for every period from 1 to 10, warm-up type and several
//! hold periods; `tests/compat/influxql_diff.py` keeps comparing them.
//! One difference is kept: `chande_momentum_oscillator(x, 1)` answers here
//! where InfluxDB 1.6 fails with an index-out-of-range panic.

use std::collections::VecDeque;

use super::super::ast::Expr;
use super::super::result::Cell;

/// The functions, by name.
pub(super) const NAMES: [&str; 8] = [
    "exponential_moving_average",
    "double_exponential_moving_average",
    "triple_exponential_moving_average",
    "triple_exponential_derivative",
    "relative_strength_index",
    "chande_momentum_oscillator",
    "kaufmans_efficiency_ratio",
    "kaufmans_adaptive_moving_average",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Func {
    Ema,
    Dema,
    Tema,
    Trix,
    Rsi,
    Cmo,
    Ker,
    Kama,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Warmup {
    Exponential,
    Simple,
    /// CMO's default: plain sums of the last `p` changes.
    None,
}

/// One call's function and arguments, checked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Ta {
    func: Func,
    period: usize,
    /// `None`: derived (`-1` or absent).
    hold: Option<usize>,
    warmup: Warmup,
}

fn func_of(name: &str) -> Option<Func> {
    Some(match name {
        "exponential_moving_average" => Func::Ema,
        "double_exponential_moving_average" => Func::Dema,
        "triple_exponential_moving_average" => Func::Tema,
        "triple_exponential_derivative" => Func::Trix,
        "relative_strength_index" => Func::Rsi,
        "chande_momentum_oscillator" => Func::Cmo,
        "kaufmans_efficiency_ratio" => Func::Ker,
        "kaufmans_adaptive_moving_average" => Func::Kama,
        _ => return None,
    })
}

impl Ta {
    /// Checks a call's arguments in InfluxDB's order and words (count,
    /// period, hold, warm-up); `None` if `name` is no such function.
    pub(super) fn of(name: &str, args: &[Expr]) -> Option<Result<Ta, String>> {
        let func = func_of(name)?;
        Some(Self::check(func, name, args))
    }

    fn check(func: Func, name: &str, args: &[Expr]) -> Result<Ta, String> {
        let kaufman = matches!(func, Func::Ker | Func::Kama);
        let most = if kaufman { 3 } else { 4 };
        if args.len() < 2 || args.len() > most {
            return Err(format!(
                "invalid number of arguments for {name}, expected at least 2 but no more than {most}, got {}",
                args.len()
            ));
        }
        if !matches!(
            args.first(),
            Some(Expr::Var { .. } | Expr::Call { .. } | Expr::Wildcard(_) | Expr::Regex(_))
        ) {
            return Err(format!("expected field argument in {name}()"));
        }
        let period = match args.get(1) {
            Some(Expr::Integer(p)) if *p >= 1 => usize::try_from(*p).unwrap_or(usize::MAX),
            Some(Expr::Integer(_)) => {
                return Err(format!("{name} period must be greater than or equal to 1"));
            }
            _ => return Err(format!("{name} period must be an integer")),
        };
        let least = if func == Func::Trix { 1 } else { 0 };
        let hold = match args.get(2) {
            None | Some(Expr::Integer(-1)) => None,
            Some(Expr::Integer(h)) if *h >= least => {
                Some(usize::try_from(*h).unwrap_or(usize::MAX))
            }
            Some(Expr::Integer(_)) => {
                return Err(format!(
                    "{name} hold period must be greater than or equal to {least}"
                ));
            }
            _ => return Err(format!("{name} hold period must be an integer")),
        };
        let warmup = match args.get(3) {
            None if func == Func::Cmo || kaufman => Warmup::None,
            None => Warmup::Exponential,
            Some(Expr::String(w)) => match (w.as_str(), func) {
                ("exponential", _) => Warmup::Exponential,
                ("simple", _) => Warmup::Simple,
                ("none", Func::Cmo) => Warmup::None,
                (_, Func::Cmo) => {
                    return Err(format!(
                        "{name} warmup type must be one of: 'none' 'exponential' 'simple'"
                    ));
                }
                _ => {
                    return Err(format!(
                        "{name} warmup type must be one of: 'exponential' 'simple'"
                    ));
                }
            },
            Some(_) => return Err(format!("{name} warmup type must be a string")),
        };
        Ok(Ta {
            func,
            period,
            hold,
            warmup,
        })
    }

    /// The hold period: as given, or derived.
    fn hold(&self) -> usize {
        if let Some(h) = self.hold {
            return h;
        }
        // Saturating: a period may be as large as the query says.
        let p = self.period;
        let q = p.saturating_sub(1);
        let simple = self.warmup == Warmup::Simple;
        match self.func {
            Func::Ema => q,
            Func::Dema if simple => q.saturating_mul(2),
            Func::Tema if simple => q.saturating_mul(3),
            Func::Dema | Func::Tema => q,
            Func::Trix if simple => q.saturating_mul(3).saturating_add(1),
            Func::Trix => p,
            Func::Cmo if self.warmup == Warmup::None => q,
            Func::Rsi | Func::Cmo | Func::Ker | Func::Kama => p,
        }
    }

    /// Runs down `values` (time order; backwards with `descending`): a cell
    /// per value, null where no row is due.
    pub(super) fn apply(&self, values: &[(i64, Cell)], descending: bool) -> Vec<Cell> {
        let mut out = vec![Cell::Null; values.len()];
        let n = values.len();
        let order: Vec<usize> = if descending {
            (0..n).rev().collect()
        } else {
            (0..n).collect()
        };
        let hold = self.hold();
        // Everything held back: nothing to compute.
        if values.iter().filter(|(_, c)| c.as_f64().is_some()).count() <= hold {
            return out;
        }
        let mut state = State::new(self);
        let mut seen = 0usize;
        for i in order {
            let Some(x) = values.get(i).and_then(|(_, c)| c.as_f64()) else {
                continue;
            };
            let v = state.push(self, x);
            if seen >= hold
                && let (Some(v), Some(slot)) = (v, out.get_mut(i))
            {
                // NaN prints as null: a row without a value, as InfluxDB.
                *slot = Cell::Float(v);
            }
            seen += 1;
        }
        out
    }
}

/// An EMA with its warm-up.
#[derive(Clone, Debug)]
struct Ema {
    p: usize,
    simple: bool,
    n: usize,
    v: Option<f64>,
    sum: f64,
}

impl Ema {
    fn new(p: usize, simple: bool) -> Ema {
        Ema {
            p,
            simple,
            n: 0,
            v: None,
            sum: 0.0,
        }
    }

    fn push(&mut self, x: f64) -> f64 {
        self.n += 1;
        let v = match self.v {
            Some(v) if self.simple && self.n > self.p => v + 2.0 / (self.p as f64 + 1.0) * (x - v),
            _ if self.simple => {
                self.sum += x;
                self.sum / self.n as f64
            }
            None => x,
            Some(v) => v + 2.0 / (self.n.min(self.p) as f64 + 1.0) * (x - v),
        };
        self.v = Some(v);
        v
    }

    fn warm(&self) -> bool {
        self.n >= self.p
    }
}

/// EMAs fed one into the next (DEMA, TEMA, TRIX).
#[derive(Clone, Debug)]
struct Chain(Vec<Ema>);

impl Chain {
    /// Each stage's value; a stage not fed yet stands in with the one above.
    fn push(&mut self, x: f64) -> [f64; 3] {
        let mut out = [x; 3];
        let mut feed = Some(x);
        let mut last = x;
        for (k, st) in self.0.iter_mut().enumerate() {
            if let Some(v) = feed {
                let e = st.push(v);
                // Under 'simple', the next stage waits for this one's p values.
                feed = (!st.simple || st.warm()).then_some(e);
            }
            last = st.v.unwrap_or(last);
            if let Some(slot) = out.get_mut(k) {
                *slot = last;
            }
        }
        out
    }
}

/// Average gains and losses (RSI; CMO with a warm-up).
#[derive(Clone, Debug, Default)]
struct Moves {
    n: usize,
    prev: f64,
    gain: f64,
    loss: f64,
    sum_gain: f64,
    sum_loss: f64,
}

impl Moves {
    fn push(&mut self, x: f64, p: usize, simple: bool) -> (f64, f64) {
        let c = x - self.prev;
        self.prev = x;
        let (g, l) = (c.max(0.0), (-c).max(0.0));
        self.n += 1;
        let n = self.n;
        if n > p.saturating_add(1) {
            let a = 1.0 / p as f64;
            self.gain += a * (g - self.gain);
            self.loss += a * (l - self.loss);
        } else if simple {
            self.sum_gain += g;
            self.sum_loss += l;
            self.gain = self.sum_gain / n as f64;
            self.loss = self.sum_loss / n as f64;
        } else if n == 1 {
            (self.gain, self.loss) = (g, l);
        } else {
            let a = 2.0 / (n as f64 + 1.0);
            self.gain += a * (g - self.gain);
            self.loss += a * (l - self.loss);
        }
        (self.gain, self.loss)
    }
}

/// The sum of a sliding window of non-negative numbers, O(1) amortized
/// per step and without subtracting (no cancellation: a large value that
/// left the window leaves no residue). Two stacks: the newest values with
/// their running sum, the oldest with sums from each to the newest of them.
#[derive(Clone, Debug, Default)]
struct WindowSum {
    /// Oldest last; each with the sum of itself and those below it.
    old: Vec<(f64, f64)>,
    new: Vec<f64>,
    new_sum: f64,
}

impl WindowSum {
    fn len(&self) -> usize {
        self.old.len() + self.new.len()
    }

    fn push(&mut self, v: f64) {
        self.new.push(v);
        self.new_sum += v;
    }

    /// Drops the oldest value.
    fn pop(&mut self) {
        if self.old.is_empty() {
            let mut acc = 0.0;
            while let Some(v) = self.new.pop() {
                acc += v;
                self.old.push((v, acc));
            }
            self.new_sum = 0.0;
        }
        self.old.pop();
    }

    fn sum(&self) -> f64 {
        self.old.last().map_or(0.0, |o| o.1) + self.new_sum
    }
}

/// Kaufman's efficiency ratio over the last `p` values, zeros before the
/// first.
#[derive(Clone, Debug, Default)]
struct Efficiency {
    /// The last `p + 1` values, the oldest first (zeros before the start).
    recent: VecDeque<f64>,
    /// The absolute changes between them.
    moves: WindowSum,
}

impl Efficiency {
    fn push(&mut self, x: f64, p: usize) -> f64 {
        let before = self.recent.back().copied().unwrap_or(0.0);
        if self.recent.is_empty() {
            self.recent.push_back(0.0);
        }
        self.recent.push_back(x);
        self.moves.push((x - before).abs());
        if self.moves.len() > p {
            self.moves.pop();
            self.recent.pop_front();
        }
        let first = self.recent.front().copied().unwrap_or(0.0);
        let moved = self.moves.sum();
        if moved == 0.0 {
            0.0
        } else {
            (x - first).abs() / moved
        }
    }
}

/// The running state of one call.
#[derive(Clone, Debug)]
enum State {
    Ema(Ema),
    Chain(Chain, Option<f64>),
    Moves(Moves),
    /// CMO without warm-up: the rises and falls of the last `p` changes,
    /// and the value before.
    Changes(WindowSum, WindowSum, Option<f64>),
    Efficiency(Efficiency),
    Adaptive(Efficiency, f64, usize),
}

impl State {
    fn new(ta: &Ta) -> State {
        let simple = ta.warmup == Warmup::Simple;
        let chain = |k: usize| Chain((0..k).map(|_| Ema::new(ta.period, simple)).collect());
        match ta.func {
            Func::Ema => State::Ema(Ema::new(ta.period, simple)),
            Func::Dema => State::Chain(chain(2), None),
            Func::Tema | Func::Trix => State::Chain(chain(3), None),
            Func::Rsi => State::Moves(Moves::default()),
            Func::Cmo if ta.warmup == Warmup::None => {
                State::Changes(WindowSum::default(), WindowSum::default(), None)
            }
            Func::Cmo => State::Moves(Moves::default()),
            Func::Ker => State::Efficiency(Efficiency::default()),
            Func::Kama => State::Adaptive(Efficiency::default(), 0.0, 0),
        }
    }

    /// The next input; the output due for it (`None`: no row at all).
    fn push(&mut self, ta: &Ta, x: f64) -> Option<f64> {
        let p = ta.period;
        let simple = ta.warmup == Warmup::Simple;
        match self {
            State::Ema(e) => Some(e.push(x)),
            State::Chain(c, prev) => {
                let [e1, e2, e3] = c.push(x);
                match ta.func {
                    Func::Dema => Some(2.0 * e1 - e2),
                    Func::Tema => Some(3.0 * e1 - 3.0 * e2 + e3),
                    _ => {
                        let before = prev.replace(e3)?;
                        let r = 100.0 * (e3 - before) / before;
                        // x/0 gives no row; 0/0 a row without a value.
                        (!r.is_infinite()).then_some(r)
                    }
                }
            }
            State::Moves(m) => {
                let (g, l) = m.push(x, p, simple);
                Some(if g + l == 0.0 {
                    f64::NAN
                } else if l == 0.0 {
                    100.0
                } else if ta.func == Func::Cmo {
                    100.0 * (g - l) / (g + l)
                } else {
                    100.0 * g / (g + l)
                })
            }
            State::Changes(ups, downs, prev) => {
                if let Some(before) = prev.replace(x) {
                    let c = x - before;
                    ups.push(c.max(0.0));
                    downs.push((-c).max(0.0));
                    if ups.len() > p {
                        ups.pop();
                        downs.pop();
                    }
                }
                let (up, down) = (ups.sum(), downs.sum());
                Some(if up + down == 0.0 {
                    0.0
                } else {
                    100.0 * (up - down) / (up + down)
                })
            }
            State::Efficiency(e) => Some(e.push(x, p)),
            State::Adaptive(e, k, seen) => {
                const FAST: f64 = 2.0 / 3.0;
                const SLOW: f64 = 2.0 / 31.0;
                let er = e.push(x, p);
                let sc = (er * (FAST - SLOW) + SLOW).powi(2);
                let v = *k + sc * (x - *k);
                *k = if *seen >= p { v } else { x };
                *seen += 1;
                Some(v)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, args: &[Expr], xs: &[f64]) -> Vec<Option<f64>> {
        let mut all = vec![Expr::Var {
            name: "v".into(),
            kind: None,
        }];
        all.extend_from_slice(args);
        let ta = Ta::of(name, &all).expect("a TA function").expect("valid");
        let values: Vec<(i64, Cell)> = xs
            .iter()
            .enumerate()
            .map(|(i, x)| (i as i64, Cell::Float(*x)))
            .collect();
        ta.apply(&values, false)
            .into_iter()
            .map(|c| match c {
                Cell::Float(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn ema_warms_up_then_holds() {
        // 0, 1.5, 3, 4.5, 6 with period 3: InfluxDB 1.6 answers 2, 3.25,
        // 4.625 from the third point.
        let r = run(
            "exponential_moving_average",
            &[Expr::Integer(3)],
            &[0.0, 1.5, 3.0, 4.5, 6.0],
        );
        assert_eq!(r, vec![None, None, Some(2.0), Some(3.25), Some(4.625)]);
        // 'simple': the mean of the first three, then alpha 1/2.
        let r = run(
            "exponential_moving_average",
            &[
                Expr::Integer(3),
                Expr::Integer(0),
                Expr::String("simple".into()),
            ],
            &[0.0, 1.5, 3.0, 4.5],
        );
        assert_eq!(r, vec![Some(0.0), Some(0.75), Some(1.5), Some(3.0)]);
    }

    #[test]
    fn oscillators_on_flat_and_rising_inputs() {
        // No change at all (after the virtual zero's first "gain"): RSI
        // stays at 100; from zero, 0/0 is a row without a value.
        let r = run("relative_strength_index", &[Expr::Integer(2)], &[0.0; 4]);
        assert!(
            r.iter().skip(2).all(|v| v.is_some_and(f64::is_nan)),
            "{r:?}"
        );
        let r = run(
            "chande_momentum_oscillator",
            &[Expr::Integer(2)],
            &[1.0, 2.0, 3.0],
        );
        assert_eq!(r, vec![None, Some(100.0), Some(100.0)]);
        let r = run(
            "kaufmans_efficiency_ratio",
            &[Expr::Integer(2)],
            &[1.0, 1.0, 1.0, 4.0],
        );
        assert_eq!(r, vec![None, None, Some(0.0), Some(1.0)]);
        // TRIX divides by the previous value: from zero, no row.
        // Third EMA: 0, 8/27, 8/9; from 0 to 8/27 is no row (held anyway),
        // then +200 %.
        let r = run(
            "triple_exponential_derivative",
            &[Expr::Integer(2)],
            &[0.0, 1.0, 2.0],
        );
        assert_eq!(r.len(), 3);
        assert!(r[0].is_none() && r[1].is_none(), "{r:?}");
        assert!(r[2].is_some_and(|v| (v - 200.0).abs() < 1e-9), "{r:?}");
        let r = run(
            "triple_exponential_derivative",
            &[Expr::Integer(2), Expr::Integer(1)],
            &[0.0, 1.0, 2.0],
        );
        assert!(r[1].is_none(), "division by zero gives no row: {r:?}");
    }

    #[test]
    fn window_sums_forget_what_left() {
        let mut w = WindowSum::default();
        let mut naive: VecDeque<f64> = VecDeque::new();
        let mut x = 1u64;
        for i in 0..2000 {
            // Values from 1e-6 to 1e12, and runs of zeros.
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = if i % 97 < 20 {
                0.0
            } else {
                (x >> 40) as f64 * 10f64.powi((x % 19) as i32 - 6)
            };
            w.push(v);
            naive.push_back(v);
            if w.len() > 7 {
                w.pop();
                naive.pop_front();
            }
            let want: f64 = naive.iter().sum();
            let got = w.sum();
            assert!((got - want).abs() <= want * 1e-12, "{i}: {got} vs {want}");
            assert_eq!(got == 0.0, want == 0.0, "{i}");
        }
    }

    #[test]
    fn huge_periods_hold_everything_back() {
        for name in NAMES {
            let warmups: &[&str] = match name {
                "kaufmans_efficiency_ratio" | "kaufmans_adaptive_moving_average" => &[],
                "chande_momentum_oscillator" => &["none", "simple", "exponential"],
                _ => &["simple", "exponential"],
            };
            let mut calls = vec![vec![Expr::Integer(i64::MAX)]];
            for w in warmups {
                calls.push(vec![
                    Expr::Integer(i64::MAX),
                    Expr::Integer(-1),
                    Expr::String((*w).into()),
                ]);
            }
            for args in calls {
                let r = run(name, &args, &[1.0, 5.0, 2.0, 8.0]);
                assert!(r.iter().all(Option::is_none), "{name} {args:?}: {r:?}");
            }
        }
    }

    #[test]
    fn argument_errors_name_the_rule() {
        let v = || Expr::Var {
            name: "v".into(),
            kind: None,
        };
        let err = |name: &str, args: Vec<Expr>| Ta::of(name, &args).unwrap().unwrap_err();
        let ema = "exponential_moving_average";
        assert_eq!(
            err(ema, vec![v()]),
            "invalid number of arguments for exponential_moving_average, expected at least 2 but no more than 4, got 1"
        );
        assert_eq!(
            err(
                "kaufmans_efficiency_ratio",
                vec![
                    v(),
                    Expr::Integer(2),
                    Expr::Integer(1),
                    Expr::String("simple".into())
                ]
            ),
            "invalid number of arguments for kaufmans_efficiency_ratio, expected at least 2 but no more than 3, got 4"
        );
        assert_eq!(
            err(ema, vec![v(), Expr::Number(2.5)]),
            "exponential_moving_average period must be an integer"
        );
        assert_eq!(
            err(ema, vec![v(), Expr::Integer(0)]),
            "exponential_moving_average period must be greater than or equal to 1"
        );
        assert_eq!(
            err(ema, vec![v(), Expr::Integer(2), Expr::Integer(-2)]),
            "exponential_moving_average hold period must be greater than or equal to 0"
        );
        assert_eq!(
            err(
                "triple_exponential_derivative",
                vec![v(), Expr::Integer(2), Expr::Integer(0)]
            ),
            "triple_exponential_derivative hold period must be greater than or equal to 1"
        );
        assert_eq!(
            err(
                ema,
                vec![
                    v(),
                    Expr::Integer(2),
                    Expr::Integer(1),
                    Expr::String("none".into())
                ]
            ),
            "exponential_moving_average warmup type must be one of: 'exponential' 'simple'"
        );
        assert_eq!(
            err(
                ema,
                vec![v(), Expr::Integer(2), Expr::Integer(1), Expr::Integer(3)]
            ),
            "exponential_moving_average warmup type must be a string"
        );
        assert_eq!(
            err(ema, vec![Expr::Integer(1), Expr::Integer(2)]),
            "expected field argument in exponential_moving_average()"
        );
        assert!(Ta::of("moving_average", &[v(), Expr::Integer(2)]).is_none());
    }
}
