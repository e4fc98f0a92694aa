//! [`Floor`]: what a demo's metric must reach.

use serde::Serialize;

/// What a demo's metric must reach: typed, so a floor cannot be mistyped in an app; written
/// as `>=x` / `<=x` in `info --json` and parsed back (with an error) by the demo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Floor {
    /// Higher is better: met at or above the value.
    AtLeast(f64),
    /// Lower is better: met at or below the value.
    AtMost(f64),
}

impl Floor {
    /// Whether `value` meets the floor (a NaN never does).
    pub fn met(self, value: f64) -> bool {
        match self {
            Floor::AtLeast(b) => value >= b,
            Floor::AtMost(b) => value <= b,
        }
    }
}

impl std::fmt::Display for Floor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Floor::AtLeast(b) => write!(f, ">={b}"),
            Floor::AtMost(b) => write!(f, "<={b}"),
        }
    }
}

impl std::str::FromStr for Floor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("floor {s:?}: expected `>=NUMBER` or `<=NUMBER`");
        let (make, rest): (fn(f64) -> Floor, &str) = match s.trim() {
            t if t.starts_with(">=") => (Floor::AtLeast, &t[2..]),
            t if t.starts_with("<=") => (Floor::AtMost, &t[2..]),
            _ => return Err(bad()),
        };
        match rest.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(make(v)),
            _ => Err(bad()),
        }
    }
}

impl Serialize for Floor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
