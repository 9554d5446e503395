//! Reference data from a file: JSON lines (one object per line) or CSV with a header row.
//!
//! Numeric columns take JSON numbers, or CSV cells parsed as `f64` (`NaN` and `inf` included,
//! so they are counted and left out like in the stream); an empty cell, `null` or a missing key
//! is a missing value. Categorical columns take strings, and numbers or booleans as their text.

use std::{fs::File, io::BufRead, io::BufReader, path::Path};

use lucid_drift::{ColumnKind, Reference, Value, Window};

use crate::spec::ColumnSpec;

/// The file could not be read as reference data.
#[derive(Debug, thiserror::Error)]
#[error("reference file {path}: {problem}")]
pub struct ReferenceError {
    path: String,
    problem: String,
}

/// Reads the reference of each column from `path`.
pub fn load(path: &Path, columns: &[ColumnSpec]) -> Result<Vec<Reference>, ReferenceError> {
    let fail = |problem: String| ReferenceError {
        path: path.display().to_string(),
        problem,
    };
    let file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut windows: Vec<Window> = columns.iter().map(|c| Window::new(c.kind)).collect();
    let csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if csv {
        read_csv(file, columns, &mut windows).map_err(fail)?;
    } else {
        read_json_lines(file, columns, &mut windows).map_err(fail)?;
    }
    if windows.first().is_none_or(|w| w.rows() == 0) {
        return Err(fail("holds no rows".into()));
    }
    Ok(windows.into_iter().map(Reference::new).collect())
}

fn read_json_lines(
    file: File,
    columns: &[ColumnSpec],
    windows: &mut [Window],
) -> Result<(), String> {
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| e.to_string())?;
        if line.trim().is_empty() {
            continue;
        }
        let row: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| format!("line {}: not a JSON object: {e}", number + 1))?;
        for (column, window) in columns.iter().zip(windows.iter_mut()) {
            let cell = row.get(&column.name).unwrap_or(&serde_json::Value::Null);
            push_json(window, column.kind, cell);
        }
    }
    Ok(())
}

fn push_json(window: &mut Window, kind: ColumnKind, cell: &serde_json::Value) {
    let text;
    let value = match (kind, cell) {
        (ColumnKind::Numeric, serde_json::Value::Number(n)) => {
            Value::Number(n.as_f64().unwrap_or(f64::NAN))
        }
        (ColumnKind::Numeric, serde_json::Value::String(s)) => {
            Value::Number(s.parse().unwrap_or(f64::NAN))
        }
        (ColumnKind::Categorical, serde_json::Value::String(s)) => Value::Category(s),
        (ColumnKind::Categorical, serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => {
            text = cell.to_string();
            Value::Category(&text)
        }
        _ => Value::Missing,
    };
    // The window's kind is the column's: a kind mismatch cannot happen.
    let _ = window.push(value);
}

fn read_csv(file: File, columns: &[ColumnSpec], windows: &mut [Window]) -> Result<(), String> {
    let mut reader = csv::Reader::from_reader(file);
    let header = reader.headers().map_err(|e| e.to_string())?.clone();
    let positions: Vec<Option<usize>> = columns
        .iter()
        .map(|c| header.iter().position(|h| h == c.name))
        .collect();
    if positions.iter().all(Option::is_none) {
        return Err("the header names none of the monitor's columns".into());
    }
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        for ((column, window), position) in columns.iter().zip(windows.iter_mut()).zip(&positions) {
            let cell = position.and_then(|p| record.get(p)).unwrap_or("");
            let value = match (cell, column.kind) {
                ("", _) => Value::Missing,
                (text, ColumnKind::Numeric) => Value::Number(text.parse().unwrap_or(f64::NAN)),
                (text, ColumnKind::Categorical) => Value::Category(text),
            };
            let _ = window.push(value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lucid_drift::{Method, Thresholds};

    fn column(name: &str, kind: ColumnKind) -> ColumnSpec {
        ColumnSpec {
            name: name.into(),
            kind,
            method: Method::Auto,
            thresholds: Thresholds::default(),
            min_size: 100,
        }
    }

    #[test]
    fn json_lines_and_csv_give_the_same_reference() {
        let dir = std::env::temp_dir().join(format!("drift-ref-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let json = dir.join("r.jsonl");
        std::fs::write(
            &json,
            "{\"x\": 1.5, \"g\": \"rock\"}\n{\"x\": null, \"g\": \"hiphop\"}\n{\"x\": 3}\n",
        )
        .expect("write");
        let csv = dir.join("r.csv");
        std::fs::write(&csv, "g,x\nrock,1.5\nhiphop,\n,3\n").expect("write");
        let columns = [
            column("x", ColumnKind::Numeric),
            column("g", ColumnKind::Categorical),
        ];
        for path in [&json, &csv] {
            let references = load(path, &columns).expect("loads");
            assert_eq!(references[0].len(), 2, "{}", path.display());
            assert_eq!(references[0].dropped().missing, 1);
            assert_eq!(references[1].len(), 2);
            assert_eq!(references[1].dropped().missing, 1);
        }
        let error = load(&dir.join("none.csv"), &columns).expect_err("missing file");
        assert!(error.to_string().starts_with("reference file"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
