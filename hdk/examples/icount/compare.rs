//! The baseline file and the comparison against it: what fails CI (a
//! regression beyond the tolerance, a workload without a baseline) and what
//! only asks for the baseline to be updated (an improvement beyond it).

use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, fmt};

/// A regression beyond this many percent fails; an improvement beyond it
/// asks for the baseline to be updated.
pub(crate) const TOLERANCE_PERCENT: f64 = 3.0;

/// The committed baseline (`hdk/benches/icount-baseline.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Baseline {
    /// How the counts were made and how to remake them, for the reader.
    pub(crate) about: String,
    /// `rustc -V` of the build measured: another compiler shifts counts.
    pub(crate) rustc: String,
    /// `valgrind --version` of the run.
    pub(crate) valgrind: String,
    /// Instructions per unit of work, by workload.
    pub(crate) counts: BTreeMap<String, u64>,
}

/// How one workload compares with its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Within the tolerance either way.
    Within,
    /// More instructions than the baseline beyond the tolerance: fails.
    Regressed,
    /// Fewer instructions beyond the tolerance: the baseline wants updating.
    Improved,
    /// Measured, but the baseline has no count for it: fails (a workload
    /// nobody compares is a workload that can drift).
    NoBaseline,
    /// In the baseline but no longer measured: the baseline wants updating.
    NotMeasured,
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// The workload's name.
    pub(crate) name: String,
    /// Its count in the baseline.
    pub(crate) baseline: Option<u64>,
    /// Its count now.
    pub(crate) now: Option<u64>,
    /// The verdict.
    pub(crate) verdict: Verdict,
}

impl Row {
    /// The change from the baseline in percent, when both counts exist.
    pub(crate) fn change_percent(&self) -> Option<f64> {
        let (baseline, now) = (self.baseline?, self.now?);
        Some(change_percent(baseline, now))
    }
}

fn change_percent(baseline: u64, now: u64) -> f64 {
    if baseline == 0 {
        return if now == 0 { 0.0 } else { f64::INFINITY };
    }
    // Counts stay far below 2^53: the conversions are exact.
    let change = (now as f64 - baseline as f64) / baseline as f64 * 100.0;
    // Shown to two decimals: no "-0.00%" for a change of a few instructions.
    if change.abs() < 0.005 { 0.0 } else { change }
}

/// The comparison of every workload with the baseline.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comparison {
    /// The measured workloads in the order given, then the baseline's
    /// workloads no longer measured.
    pub(crate) rows: Vec<Row>,
    /// The tolerance applied, in percent.
    pub(crate) tolerance_percent: f64,
}

/// Compares `now` (in table order) with `baseline`: beyond
/// `tolerance_percent` either way is a regression or an improvement;
/// exactly at it is within.
pub(crate) fn compare(
    baseline: &BTreeMap<String, u64>,
    now: &[(String, u64)],
    tolerance_percent: f64,
) -> Comparison {
    let mut rows: Vec<Row> = now
        .iter()
        .map(|(name, count)| {
            let base = baseline.get(name).copied();
            let verdict = match base {
                None => Verdict::NoBaseline,
                Some(base) => {
                    let change = change_percent(base, *count);
                    if change > tolerance_percent {
                        Verdict::Regressed
                    } else if change < -tolerance_percent {
                        Verdict::Improved
                    } else {
                        Verdict::Within
                    }
                }
            };
            Row {
                name: name.clone(),
                baseline: base,
                now: Some(*count),
                verdict,
            }
        })
        .collect();
    for (name, count) in baseline {
        if !now.iter().any(|(measured, _)| measured == name) {
            rows.push(Row {
                name: name.clone(),
                baseline: Some(*count),
                now: None,
                verdict: Verdict::NotMeasured,
            });
        }
    }
    Comparison {
        rows,
        tolerance_percent,
    }
}

impl Comparison {
    /// Whether CI fails: a regression, or a workload without a baseline.
    pub(crate) fn failed(&self) -> bool {
        self.rows
            .iter()
            .any(|row| matches!(row.verdict, Verdict::Regressed | Verdict::NoBaseline))
    }

    /// Whether the baseline should be regenerated though nothing failed.
    pub(crate) fn wants_update(&self) -> bool {
        self.rows
            .iter()
            .any(|row| matches!(row.verdict, Verdict::Improved | Verdict::NotMeasured))
    }
}

/// The table: workload, baseline, now, change, verdict.
impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |count: Option<u64>| count.map_or_else(|| "-".to_owned(), group_thousands);
        let width = self
            .rows
            .iter()
            .map(|row| row.name.len())
            .max()
            .unwrap_or(0)
            .max("workload".len());
        writeln!(
            f,
            "{:<width$}  {:>13}  {:>13}  {:>8}  verdict (tolerance ±{}%)",
            "workload", "baseline", "now", "change", self.tolerance_percent
        )?;
        for row in &self.rows {
            let change = row
                .change_percent()
                .map_or_else(|| "-".to_owned(), |change| format!("{change:+.2}%"));
            let verdict = match row.verdict {
                Verdict::Within => "ok",
                Verdict::Regressed => "REGRESSED",
                Verdict::Improved => "improved: update the baseline",
                Verdict::NoBaseline => "NO BASELINE",
                Verdict::NotMeasured => "not measured: update the baseline",
            };
            writeln!(
                f,
                "{:<width$}  {:>13}  {:>13}  {:>8}  {verdict}",
                row.name,
                count(row.baseline),
                count(row.now),
                change
            )?;
        }
        Ok(())
    }
}

/// `1234567` as `1,234,567`.
fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline(counts: &[(&str, u64)]) -> BTreeMap<String, u64> {
        counts.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect()
    }

    fn now(counts: &[(&str, u64)]) -> Vec<(String, u64)> {
        counts.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect()
    }

    fn verdicts(comparison: &Comparison) -> Vec<(&str, Verdict)> {
        comparison
            .rows
            .iter()
            .map(|row| (row.name.as_str(), row.verdict))
            .collect()
    }

    #[test]
    fn a_regression_beyond_the_tolerance_fails() {
        let base = baseline(&[("ping", 100_000), ("load", 1_000)]);
        let comparison = compare(&base, &now(&[("ping", 103_001), ("load", 1_000)]), 3.0);
        assert!(comparison.failed());
        assert_eq!(
            verdicts(&comparison),
            [("ping", Verdict::Regressed), ("load", Verdict::Within)]
        );
    }

    #[test]
    fn changes_within_the_tolerance_pass() {
        let base = baseline(&[("ping", 100_000), ("load", 1_000), ("sieve", 7)]);
        // +3% exactly, -3% exactly, unchanged.
        let measured = now(&[("ping", 103_000), ("load", 970), ("sieve", 7)]);
        let comparison = compare(&base, &measured, 3.0);
        assert!(!comparison.failed());
        assert!(!comparison.wants_update());
        assert!(
            comparison
                .rows
                .iter()
                .all(|row| row.verdict == Verdict::Within)
        );
    }

    #[test]
    fn an_improvement_beyond_the_tolerance_passes_and_asks_for_an_update() {
        let base = baseline(&[("ping", 100_000)]);
        let comparison = compare(&base, &now(&[("ping", 50_000)]), 3.0);
        assert!(!comparison.failed());
        assert!(comparison.wants_update());
        assert_eq!(verdicts(&comparison), [("ping", Verdict::Improved)]);
        assert_eq!(comparison.rows[0].change_percent(), Some(-50.0));
    }

    #[test]
    fn a_workload_without_a_baseline_fails_and_a_dropped_one_does_not() {
        let base = baseline(&[("gone", 5)]);
        let comparison = compare(&base, &now(&[("new", 5)]), 3.0);
        assert!(comparison.failed());
        assert_eq!(
            verdicts(&comparison),
            [("new", Verdict::NoBaseline), ("gone", Verdict::NotMeasured)]
        );
        let dropped = compare(&base, &[], 3.0);
        assert!(!dropped.failed());
        assert!(dropped.wants_update());
    }

    #[test]
    fn growth_from_a_zero_baseline_is_a_regression() {
        let base = baseline(&[("zero", 0), ("still_zero", 0)]);
        let comparison = compare(&base, &now(&[("zero", 1), ("still_zero", 0)]), 3.0);
        assert_eq!(
            verdicts(&comparison),
            [
                ("zero", Verdict::Regressed),
                ("still_zero", Verdict::Within)
            ]
        );
    }

    #[test]
    fn the_table_shows_counts_changes_and_verdicts() {
        let base = baseline(&[("ping", 1_000_000)]);
        let table = compare(&base, &now(&[("ping", 1_050_000)]), 3.0).to_string();
        let line = table.lines().nth(1).unwrap_or_default();
        assert!(
            line.contains("1,000,000") && line.contains("1,050,000"),
            "{table}"
        );
        assert!(
            line.contains("+5.00%") && line.contains("REGRESSED"),
            "{table}"
        );
    }

    #[test]
    fn the_baseline_file_round_trips() {
        let file = Baseline {
            about: "counts".to_owned(),
            rustc: "rustc 1.95.0".to_owned(),
            valgrind: "valgrind-3.19.0".to_owned(),
            counts: baseline(&[("ping", 42)]),
        };
        let text = serde_json::to_string_pretty(&file).unwrap_or_default();
        let read: Baseline = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read, file);
    }
}
