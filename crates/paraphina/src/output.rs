//! What every output file shares: the tool's name and version, and the JSON forms
//! (pretty JSON with a trailing newline, one compact object per line), so that
//! `monte_carlo`, `sim_eval` and the evidence packs write numbers the same way.

use std::fmt::Write as _;

use serde::Serialize;

/// Tool name and version written into outputs and evidence manifests.
pub const TOOL_VERSION: &str = concat!("paraphina ", env!("CARGO_PKG_VERSION"));

/// Pretty JSON with a trailing newline; non-finite numbers become `null`.
pub fn to_json_pretty<T: Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("outputs serialize");
    s.push('\n');
    s
}

/// JSON Lines: one compact object per item, in order, each line ending in a newline.
pub fn to_jsonl<T: Serialize>(items: &[T]) -> String {
    let mut out = String::with_capacity(items.len() * 400);
    for item in items {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string(item).expect("outputs serialize")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_json_ends_in_a_newline_and_non_finite_numbers_are_null() {
        assert_eq!(to_json_pretty(&[1.5, f64::NAN]), "[\n  1.5,\n  null\n]\n");
    }

    #[test]
    fn jsonl_is_one_compact_object_per_line() {
        #[derive(Serialize)]
        struct R {
            a: u32,
            b: Option<f64>,
        }
        let rows = [
            R { a: 1, b: None },
            R {
                a: 2,
                b: Some(0.25),
            },
        ];
        assert_eq!(
            to_jsonl(&rows),
            "{\"a\":1,\"b\":null}\n{\"a\":2,\"b\":0.25}\n"
        );
        assert_eq!(to_jsonl::<R>(&[]), "");
    }
}
