//! What `eval` reports: the problem's metric on the evaluation set (its formula is in
//! src/problem.rs).

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub metric: &'static str,
    pub value: f64,
    pub samples: usize,
}

impl Report {
    pub fn markdown(&self) -> String {
        format!(
            "| metric | value | samples |\n|---|---|---|\n| {} | {:.4} | {} |",
            self.metric, self.value, self.samples
        )
    }
}
