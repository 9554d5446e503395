//! Checking one feature's settings against its aggregation.

use lucid_events::Action;
use serde::Deserialize;

use crate::error::SpecError;
use crate::spec::{Actions, Aggregation, FeatureDef, Field};
use crate::window::Window;

use super::check_name;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeature {
    name: String,
    aggregation: String,
    window: String,
    actions: Option<Vec<String>>,
    field: Option<String>,
    numerator: Option<Vec<String>>,
    denominator: Option<Vec<String>>,
}

pub(super) fn check_feature(view_place: &str, raw: RawFeature) -> Result<FeatureDef, SpecError> {
    let place = format!("{view_place}, feature {}", raw.name);
    check_name(&place, &raw.name)?;
    let window = Window::parse(&raw.window)
        .map_err(|problem| SpecError::invalid(&place, format!("window {problem}")))?;
    let filter = raw
        .actions
        .as_deref()
        .map(|a| actions(&place, "actions", a))
        .transpose()?;

    let name = raw.aggregation.as_str();
    let unused = |setting: &str, given: bool| match given {
        true => Err(SpecError::invalid(
            &place,
            format!("{setting} does not apply to {name}"),
        )),
        false => Ok(()),
    };
    let aggregation = match name {
        "count" => {
            unused("field", raw.field.is_some())?;
            unused("numerator", raw.numerator.is_some())?;
            unused("denominator", raw.denominator.is_some())?;
            Aggregation::Count
        }
        "sum" | "mean" | "min" | "max" | "last" => {
            unused("numerator", raw.numerator.is_some())?;
            unused("denominator", raw.denominator.is_some())?;
            let field = field(&place, name, raw.field.as_deref())?;
            match name {
                "sum" => Aggregation::Sum(field),
                "mean" => Aggregation::Mean(field),
                "min" => Aggregation::Min(field),
                "max" => Aggregation::Max(field),
                _ => Aggregation::Last(field),
            }
        }
        "ratio" => {
            unused("field", raw.field.is_some())?;
            unused("actions (use numerator and denominator)", filter.is_some())?;
            let term = |setting: &str, given: Option<&[String]>| match given {
                Some(names) => actions(&place, setting, names),
                None => Err(SpecError::invalid(&place, format!("ratio needs {setting}"))),
            };
            let numerator = term("numerator", raw.numerator.as_deref())?;
            let denominator = term("denominator", raw.denominator.as_deref())?;
            Aggregation::Ratio {
                numerator,
                denominator,
            }
        }
        other => {
            let problem = format!(
                "aggregation {other:?} is not one of count, sum, mean, min, max, last, ratio"
            );
            return Err(SpecError::invalid(&place, problem));
        }
    };
    Ok(FeatureDef {
        name: raw.name,
        aggregation,
        filter,
        window,
    })
}

fn field(place: &str, aggregation: &str, name: Option<&str>) -> Result<Field, SpecError> {
    let name =
        name.ok_or_else(|| SpecError::invalid(place, format!("{aggregation} needs a field")))?;
    Field::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = Field::ALL.iter().map(|f| f.as_str()).collect();
        let problem = format!("field {name:?} is not one of {}", known.join(", "));
        SpecError::invalid(place, problem)
    })
}

fn actions(place: &str, setting: &str, names: &[String]) -> Result<Actions, SpecError> {
    if names.is_empty() {
        return Err(SpecError::invalid(place, format!("{setting} is empty")));
    }
    let mut actions = Vec::with_capacity(names.len());
    for name in names {
        let action = Action::ALL
            .iter()
            .find(|a| a.as_str() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
                let problem = format!("{setting}: {name:?} is not one of {}", known.join(", "));
                SpecError::invalid(place, problem)
            })?;
        actions.push(*action);
    }
    Ok(Actions::of(&actions))
}

#[cfg(test)]
mod tests {
    use crate::spec::Registry;

    /// The error for a view holding one feature with the given settings.
    fn error(feature: &str) -> String {
        let view = "[[view]]\nname = \"v\"\nentity = \"session\"\nmax_age = \"1h\"\n";
        let text = format!("{view}[[view.feature]]\nname = \"f\"\n{feature}\n");
        Registry::from_toml(&text).expect_err("invalid").to_string()
    }

    fn invalid(place: &str, problem: &str) -> String {
        format!("invalid feature definitions: {place}: {problem}")
    }

    #[test]
    fn settings_are_checked_per_aggregation() {
        let place = "view v, feature f";
        let ratio = "aggregation = \"ratio\"\nwindow = \"1h\"";
        assert_eq!(
            error(&format!("{ratio}\ndenominator = [\"play\"]")),
            invalid(place, "ratio needs numerator")
        );
        let with_actions = format!(
            "{ratio}\nnumerator = [\"skip\"]\ndenominator = [\"play\"]\nactions = [\"play\"]"
        );
        assert_eq!(
            error(&with_actions),
            invalid(
                place,
                "actions (use numerator and denominator) does not apply to ratio"
            )
        );
        let count = "aggregation = \"count\"\nwindow = \"1h\"";
        assert_eq!(
            error(&format!("{count}\nfield = \"position\"")),
            invalid(place, "field does not apply to count")
        );
        assert_eq!(
            error("aggregation = \"mean\"\nwindow = \"1h\""),
            invalid(place, "mean needs a field")
        );
        let message = error("aggregation = \"max\"\nwindow = \"1h\"\nfield = \"track.loudness\"");
        assert!(
            message.starts_with(&invalid(
                place,
                "field \"track.loudness\" is not one of listened_ms,"
            )),
            "{message}"
        );
        let message = error(&format!("{count}\nactions = [\"rewind\"]"));
        assert!(
            message.starts_with(&invalid(
                place,
                "actions: \"rewind\" is not one of session_start,"
            )),
            "{message}"
        );
        assert_eq!(
            error(&format!("{count}\nactions = []")),
            invalid(place, "actions is empty")
        );
        let message = error("aggregation = \"median\"\nwindow = \"1h\"");
        assert!(
            message.contains("aggregation \"median\" is not one of count"),
            "{message}"
        );
    }

    #[test]
    fn windows_must_be_whole_seconds_or_lifetime() {
        let problem = "window \"90500ms\" is not a whole number of seconds";
        assert_eq!(
            error("aggregation = \"count\"\nwindow = \"90500ms\""),
            invalid("view v, feature f", problem)
        );
        assert!(
            error("aggregation = \"count\"\nwindow = \"always\"")
                .contains("neither lifetime nor a duration")
        );
    }
}
