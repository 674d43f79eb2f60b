//! Tag predicates: which series of a measurement a query selects.
//!
//! A tag a series does not have compares as the empty string, as in InfluxDB
//! (`host = ''` selects the series without a `host` tag). Regular expressions
//! are resolved by the caller into `In`/`NotIn` sets over the tag's values,
//! so the core needs no regex engine.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// A boolean expression over a series' tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagExpr {
    /// Every series.
    True,
    /// The tag equals the value.
    Eq(String, String),
    /// The tag differs from the value.
    Ne(String, String),
    /// The tag's value is one of these.
    In(String, Vec<String>),
    /// The tag's value is none of these.
    NotIn(String, Vec<String>),
    /// Both.
    And(Box<TagExpr>, Box<TagExpr>),
    /// Either.
    Or(Box<TagExpr>, Box<TagExpr>),
    /// Not.
    Not(Box<TagExpr>),
}

impl TagExpr {
    /// `a AND b`.
    pub fn and(a: TagExpr, b: TagExpr) -> TagExpr {
        match (a, b) {
            (TagExpr::True, x) | (x, TagExpr::True) => x,
            (a, b) => TagExpr::And(Box::new(a), Box::new(b)),
        }
    }

    /// `a OR b`.
    pub fn or(a: TagExpr, b: TagExpr) -> TagExpr {
        TagExpr::Or(Box::new(a), Box::new(b))
    }

    /// Evaluates against a series whose tag lookup is `get`.
    pub fn eval<'a>(&self, get: &impl Fn(&str) -> Option<&'a str>) -> bool {
        // Bounded: the recursion depth is the expression's depth, which the
        // caller's parser limits.
        match self {
            TagExpr::True => true,
            TagExpr::Eq(k, v) => get(k).unwrap_or("") == v,
            TagExpr::Ne(k, v) => get(k).unwrap_or("") != v,
            TagExpr::In(k, vs) => {
                let x = get(k).unwrap_or("");
                vs.iter().any(|v| v == x)
            }
            TagExpr::NotIn(k, vs) => {
                let x = get(k).unwrap_or("");
                !vs.iter().any(|v| v == x)
            }
            TagExpr::And(a, b) => a.eval(get) && b.eval(get),
            TagExpr::Or(a, b) => a.eval(get) || b.eval(get),
            TagExpr::Not(a) => !a.eval(get),
        }
    }

    /// A tag equality every selected series must satisfy, if the expression
    /// has one at its top-level conjunction (used to narrow by the tag index).
    pub fn required_eq(&self) -> Option<(&str, &str)> {
        match self {
            TagExpr::Eq(k, v) if !v.is_empty() => Some((k, v)),
            TagExpr::And(a, b) => a.required_eq().or_else(|| b.required_eq()),
            _ => None,
        }
    }
}
