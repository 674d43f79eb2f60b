//! Math functions on each value of a projection, as InfluxDB 1.6 has them:
//! `abs`, `floor`, `ceil`, `round` (integers stay integers), the
//! trigonometric functions, `exp`, `ln`, `log(x, b)`, `log2`, `log10`,
//! `sqrt`, `pow(x, y)` and `atan2(y, x)` (floats). They apply to fields,
//! aggregates and transforms alike (`round(mean(v))`); a value that is no
//! number (a boolean, a string, null) gives null, and so does a result that
//! is not finite (`sqrt(-1)`): JSON has no NaN.

use super::super::result::Cell;

/// The math functions and how many arguments each takes.
pub const MATH: [(&str, usize); 18] = [
    ("abs", 1),
    ("sin", 1),
    ("cos", 1),
    ("tan", 1),
    ("asin", 1),
    ("acos", 1),
    ("atan", 1),
    ("atan2", 2),
    ("exp", 1),
    ("log", 2),
    ("ln", 1),
    ("log2", 1),
    ("log10", 1),
    ("sqrt", 1),
    ("pow", 2),
    ("floor", 1),
    ("ceil", 1),
    ("round", 1),
];

/// How many arguments `name` takes, if it is a math function.
pub fn arity(name: &str) -> Option<usize> {
    MATH.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

/// Go's `math.Round`'s rule as InfluxDB writes it: halves away from zero.
fn round(x: f64) -> f64 {
    let t = x.trunc();
    if (x - t).abs() >= 0.5 {
        t + 1f64.copysign(x)
    } else {
        t
    }
}

/// `name(args)` on one row's values.
pub fn apply(name: &str, args: &[Cell]) -> Cell {
    let float = |c: Option<&Cell>| c.and_then(Cell::as_f64);
    let out = match (name, args) {
        ("abs", [Cell::Int(i)]) => return Cell::Int(i.wrapping_abs()),
        ("floor" | "ceil" | "round" | "abs", [c @ (Cell::Int(_) | Cell::UInt(_))]) => {
            return c.clone();
        }
        ("abs", [Cell::Float(x)]) => x.abs(),
        ("floor", [Cell::Float(x)]) => x.floor(),
        ("ceil", [Cell::Float(x)]) => x.ceil(),
        ("round", [Cell::Float(x)]) => round(*x),
        ("atan2" | "log" | "pow", [a, b]) => {
            let (Some(a), Some(b)) = (float(Some(a)), float(Some(b))) else {
                return Cell::Null;
            };
            match name {
                "atan2" => a.atan2(b),
                "log" => a.ln() / b.ln(),
                _ => a.powf(b),
            }
        }
        (_, [a]) => {
            let Some(x) = float(Some(a)) else {
                return Cell::Null;
            };
            match name {
                "sin" => x.sin(),
                "cos" => x.cos(),
                "tan" => x.tan(),
                "asin" => x.asin(),
                "acos" => x.acos(),
                "atan" => x.atan(),
                "exp" => x.exp(),
                "ln" => x.ln(),
                "log2" => x.log2(),
                "log10" => x.log10(),
                "sqrt" => x.sqrt(),
                _ => return Cell::Null,
            }
        }
        _ => return Cell::Null,
    };
    if out.is_finite() {
        Cell::Float(out)
    } else {
        Cell::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_types() {
        assert_eq!(apply("abs", &[Cell::Int(-5)]), Cell::Int(5));
        assert_eq!(apply("abs", &[Cell::Int(i64::MIN)]), Cell::Int(i64::MIN));
        assert_eq!(apply("round", &[Cell::Float(-2.5)]), Cell::Float(-3.0));
        assert_eq!(apply("round", &[Cell::Float(2.49)]), Cell::Float(2.0));
        assert_eq!(apply("floor", &[Cell::UInt(7)]), Cell::UInt(7));
        assert_eq!(apply("ceil", &[Cell::Float(1.2)]), Cell::Float(2.0));
        assert_eq!(apply("sqrt", &[Cell::Int(16)]), Cell::Float(4.0));
        assert_eq!(
            apply("log", &[Cell::Float(8.0), Cell::Int(2)]),
            Cell::Float(8f64.ln() / 2f64.ln())
        );
        assert_eq!(
            apply("pow", &[Cell::Int(3), Cell::Float(2.0)]),
            Cell::Float(9.0)
        );
        // Not numbers, or no finite answer: null.
        assert_eq!(apply("sqrt", &[Cell::Float(-1.0)]), Cell::Null);
        assert_eq!(apply("ln", &[Cell::Int(0)]), Cell::Null);
        assert_eq!(apply("sin", &[Cell::Bool(true)]), Cell::Null);
        assert_eq!(apply("abs", &[Cell::Null]), Cell::Null);
        assert_eq!(apply("pow", &[Cell::Null, Cell::Int(2)]), Cell::Null);
        assert_eq!(arity("atan2"), Some(2));
        assert_eq!(arity("mean"), None);
    }
}
