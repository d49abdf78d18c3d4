//! `docs/CALIBRATION.md` states the constants of `config.rs` and the report the current
//! code prints: a recalibration that forgets the document fails here.

use std::fs;
use std::path::Path;

use paraphina::calibration::{self, CalibrationSpec};
use paraphina::config::{MarketParams, Overlay, Profile, SimConfig};
use serde_json::Value;

fn document() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CALIBRATION.md");
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn cells(line: &str) -> Vec<&str> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(str::trim)
        .collect()
}

fn unquote(cell: &str) -> Option<&str> {
    cell.strip_prefix('`')?.strip_suffix('`')
}

/// The JSON object a table row describes: a profile, a venue, or (for a `parameter`
/// table) the effective default configuration.
fn subject(first_header: &str, entity: &str) -> Value {
    if first_header == "parameter" {
        return serde_json::to_value(SimConfig::new(600, &Overlay::default())).unwrap();
    }
    if let Some(p) = Profile::parse(entity) {
        return serde_json::to_value(p.params()).unwrap();
    }
    let venues = MarketParams::default().venues;
    let v = venues
        .iter()
        .find(|v| v.name == entity)
        .unwrap_or_else(|| panic!("unknown row {entity:?}"));
    serde_json::to_value(v).unwrap()
}

fn lookup<'a>(v: &'a Value, dotted: &str) -> &'a Value {
    dotted.split('.').fold(v, |v, key| &v[key])
}

#[test]
fn calibration_md_tables_state_the_constants_of_config_rs() {
    let doc = document();
    let mut header: Option<Vec<&str>> = None;
    let mut checked = 0;
    let mut in_code = false;
    for line in doc.lines() {
        // The pasted report has tables of its own, checked by the other test.
        if line.starts_with("```") {
            in_code = !in_code;
        }
        if in_code || !line.starts_with('|') {
            header = None;
            continue;
        }
        let row = cells(line);
        if row
            .iter()
            .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':')))
        {
            continue;
        }
        let Some(h) = &header else {
            header = Some(row);
            continue;
        };
        let obj = subject(h[0], row[0]);
        // A `parameter` table names the field in its first cell and the value in its
        // second; the other tables name fields in their header.
        let fields: Vec<(&str, &str)> = if h[0] == "parameter" {
            vec![(
                unquote(row[0]).expect("parameter cells are `quoted`"),
                row[1],
            )]
        } else {
            h.iter()
                .skip(1)
                .filter_map(|f| unquote(f))
                .zip(row.iter().skip(1).copied())
                .collect()
        };
        for (field, cell) in fields {
            let want = lookup(&obj, field)
                .as_f64()
                .unwrap_or_else(|| panic!("{field}: not a number in config"));
            let got: f64 = cell
                .parse()
                .unwrap_or_else(|_| panic!("{field} of {}: {cell:?} is not a number", row[0]));
            assert_eq!(
                got, want,
                "{} {field}: the document says {cell}, config.rs {want}",
                row[0]
            );
            checked += 1;
        }
    }
    // 3 profiles x 6 + 5 venues x 8 + 21 parameters: every table was read.
    assert_eq!(checked, 18 + 40 + 21);
}

#[test]
fn calibration_md_holds_the_report_the_current_code_prints() {
    let doc = document();
    let start = doc
        .find("```text\n")
        .expect("a ```text block holds the report")
        + "```text\n".len();
    let len = doc[start..]
        .find("```")
        .expect("the report block is closed");
    let report = calibration::calibrate(&CalibrationSpec::default())
        .unwrap()
        .to_string();
    assert!(
        doc[start..start + len] == report,
        "docs/CALIBRATION.md holds an old report: paste the output of `monte_carlo --calibration-report`"
    );
}
