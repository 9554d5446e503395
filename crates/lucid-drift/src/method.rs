//! Which statistic compares a window with its reference, and how `auto` picks one.
//!
//! [`Method`] is what a caller asks for; [`Measure`] is what was computed. `auto` resolves the
//! way Evidently 0.7 does (`_get_default_stattest`), from the number of finite reference rows and
//! the number of distinct values in reference and current together:
//!
//! | reference rows | numeric, > 5 values | numeric, 3-5 | numeric, <= 2 | categorical, > 2 | categorical, <= 2 |
//! |---|---|---|---|---|---|
//! | <= 1000 | KS | chi-square | Z-test | chi-square | Z-test |
//! | > 1000 | Wasserstein | Jensen-Shannon | Jensen-Shannon | Jensen-Shannon | Jensen-Shannon |

use std::fmt;
use std::str::FromStr;

use crate::error::DriftError;

/// Reference rows up to which `auto` picks a statistical test rather than a distance.
pub const AUTO_SMALL_REFERENCE_ROWS: u64 = 1000;

/// Distinct values above which `auto` treats a numeric column as continuous.
pub(crate) const AUTO_FEW_VALUES: usize = 5;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// Real numbers (`f64`); NaN and infinities are counted and left out.
    Numeric,
    /// Strings; a missing value is counted and left out.
    Categorical,
}

impl fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnKind::Numeric => "numeric",
            ColumnKind::Categorical => "categorical",
        })
    }
}

/// The drift method asked for; `Auto` is resolved per check into a [`Measure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Method {
    /// Evidently's default choice (see the module docs).
    #[default]
    Auto,
    /// Population stability index over bins.
    Psi,
    /// Two-sample Kolmogorov-Smirnov test (numeric only).
    Ks,
    /// Wasserstein-1 distance divided by the reference standard deviation (numeric only).
    Wasserstein,
    /// Jensen-Shannon distance (natural logarithm) over bins.
    JensenShannon,
    /// Pearson's chi-square test over the union of categories.
    ChiSquare,
    /// Z-test for two proportions: the first category (in sorted order) against the rest.
    ZTest,
}

/// A resolved method: the statistic a [`crate::ColumnResult`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    /// See [`Method::Psi`].
    Psi,
    /// See [`Method::Ks`].
    Ks,
    /// See [`Method::Wasserstein`].
    Wasserstein,
    /// See [`Method::JensenShannon`].
    JensenShannon,
    /// See [`Method::ChiSquare`].
    ChiSquare,
    /// See [`Method::ZTest`].
    ZTest,
}

/// What a measure's score is, which decides the direction of its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScoreKind {
    /// A p-value: drift when it is small.
    PValue,
    /// A distance: drift when it is large.
    Distance,
}

impl Method {
    /// Every method, `Auto` first.
    pub const ALL: [Method; 7] = [
        Method::Auto,
        Method::Psi,
        Method::Ks,
        Method::Wasserstein,
        Method::JensenShannon,
        Method::ChiSquare,
        Method::ZTest,
    ];

    /// Evidently's name for the method (`auto` for [`Method::Auto`]).
    pub fn name(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::Psi => Measure::Psi.name(),
            Method::Ks => Measure::Ks.name(),
            Method::Wasserstein => Measure::Wasserstein.name(),
            Method::JensenShannon => Measure::JensenShannon.name(),
            Method::ChiSquare => Measure::ChiSquare.name(),
            Method::ZTest => Measure::ZTest.name(),
        }
    }

    /// The measure to compute for a column of `kind` with `reference_rows` finite reference rows
    /// and `distinct_values` distinct values in reference and current together.
    pub fn resolve(
        self,
        kind: ColumnKind,
        reference_rows: u64,
        distinct_values: usize,
    ) -> Result<Measure, DriftError> {
        let measure = match self {
            Method::Auto => return Ok(auto(kind, reference_rows, distinct_values)),
            Method::Psi => Measure::Psi,
            Method::Ks => Measure::Ks,
            Method::Wasserstein => Measure::Wasserstein,
            Method::JensenShannon => Measure::JensenShannon,
            Method::ChiSquare => Measure::ChiSquare,
            Method::ZTest => Measure::ZTest,
        };
        if !measure.applies_to(kind) {
            return Err(DriftError::MethodNotApplicable { method: self, kind });
        }
        Ok(measure)
    }
}

/// Evidently's `_get_default_stattest` for numeric and categorical columns.
fn auto(kind: ColumnKind, reference_rows: u64, distinct_values: usize) -> Measure {
    let small = reference_rows <= AUTO_SMALL_REFERENCE_ROWS;
    match (kind, small) {
        (ColumnKind::Numeric, _) if distinct_values > AUTO_FEW_VALUES && small => Measure::Ks,
        (ColumnKind::Numeric, _) if distinct_values > AUTO_FEW_VALUES => Measure::Wasserstein,
        (_, true) if distinct_values > 2 => Measure::ChiSquare,
        (_, true) => Measure::ZTest,
        (_, false) => Measure::JensenShannon,
    }
}

impl Measure {
    /// Evidently's name for the statistical test or distance.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Psi => "psi",
            Measure::Ks => "ks",
            Measure::Wasserstein => "wasserstein",
            Measure::JensenShannon => "jensenshannon",
            Measure::ChiSquare => "chisquare",
            Measure::ZTest => "z",
        }
    }

    /// Whether the score is a p-value or a distance.
    pub fn score_kind(self) -> ScoreKind {
        match self {
            Measure::Ks | Measure::ChiSquare | Measure::ZTest => ScoreKind::PValue,
            Measure::Psi | Measure::Wasserstein | Measure::JensenShannon => ScoreKind::Distance,
        }
    }

    /// Whether the measure is defined for a column of `kind`. Chi-square and the Z-test treat
    /// each distinct number as a category, as Evidently's `auto` does for numeric columns.
    pub fn applies_to(self, kind: ColumnKind) -> bool {
        match self {
            Measure::Ks | Measure::Wasserstein => kind == ColumnKind::Numeric,
            _ => true,
        }
    }

    /// Whether `score` is on the drift side of `threshold`, with Evidently's comparisons:
    /// `p <= t` for KS, `p < t` for chi-square and Z, `d >= t` for the distances.
    pub fn crosses(self, score: f64, threshold: f64) -> bool {
        match self {
            Measure::Ks => score <= threshold,
            Measure::ChiSquare | Measure::ZTest => score < threshold,
            Measure::Psi | Measure::Wasserstein | Measure::JensenShannon => score >= threshold,
        }
    }
}

impl From<Measure> for Method {
    fn from(measure: Measure) -> Self {
        match measure {
            Measure::Psi => Method::Psi,
            Measure::Ks => Method::Ks,
            Measure::Wasserstein => Method::Wasserstein,
            Measure::JensenShannon => Method::JensenShannon,
            Measure::ChiSquare => Method::ChiSquare,
            Measure::ZTest => Method::ZTest,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = DriftError;

    /// Parses Evidently's names (`psi`, `ks`, `wasserstein`, `jensenshannon`, `chisquare`, `z`)
    /// and `auto`.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|method| method.name() == name)
            .ok_or_else(|| DriftError::UnknownMethod(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_follows_evidently_table() {
        use ColumnKind::{Categorical, Numeric};
        let cases = [
            (Numeric, 1000, 6, Measure::Ks),
            (Numeric, 1000, 5, Measure::ChiSquare),
            (Numeric, 1000, 3, Measure::ChiSquare),
            (Numeric, 1000, 2, Measure::ZTest),
            (Numeric, 1001, 6, Measure::Wasserstein),
            (Numeric, 1001, 5, Measure::JensenShannon),
            (Categorical, 1000, 3, Measure::ChiSquare),
            (Categorical, 1000, 2, Measure::ZTest),
            (Categorical, 1000, 1, Measure::ZTest),
            (Categorical, 1001, 40, Measure::JensenShannon),
        ];
        for (kind, rows, distinct, expected) in cases {
            let got = Method::Auto
                .resolve(kind, rows, distinct)
                .expect("auto always resolves");
            assert_eq!(got, expected, "{kind} {rows} rows {distinct} values");
        }
    }

    #[test]
    fn numeric_only_methods_refuse_categorical_columns() {
        let refused = Method::Ks.resolve(ColumnKind::Categorical, 10, 3);
        assert!(matches!(
            refused,
            Err(DriftError::MethodNotApplicable { .. })
        ));
        assert!(
            Method::ChiSquare
                .resolve(ColumnKind::Numeric, 10, 3)
                .is_ok()
        );
    }

    #[test]
    fn names_round_trip() {
        for method in Method::ALL {
            assert_eq!(method.name().parse::<Method>(), Ok(method));
        }
        assert!("kolmogorov".parse::<Method>().is_err());
    }
}
