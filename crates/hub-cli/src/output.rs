//! Output for people (aligned tables) and for machines (JSON), and the names of the wire
//! enums as both show them.

use std::fmt;

use hub_proto::pb;
use serde_json::Value;

/// How a command prints its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned tables and short lines.
    Text,
    /// One JSON document (or one per line for streams).
    Json,
}

/// Prints a JSON value on one line.
pub fn print_json(value: &Value) {
    println!("{value}");
}

/// A table with a header row, columns padded to their widest cell (wide CJK characters
/// count twice, so Chinese names line up in a terminal).
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new<const N: usize>(header: [&str; N]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; missing cells are blank.
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert!(cells.len() <= self.header.len());
        self.rows.push(cells);
    }

    /// True if no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut widths: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let empty = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = row.get(i).unwrap_or(&empty);
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                if i + 1 < widths.len() {
                    line.extend(std::iter::repeat_n(' ', w - width(cell)));
                }
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Display width of `s` in a terminal: East Asian wide characters take two columns.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let wide = matches!(c as u32,
                0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
                | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
                | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6);
            if wide {
                2
            } else {
                1
            }
        })
        .sum()
}

/// `INDUSTRY_INTEGRATED_CIRCUITS` with prefix `INDUSTRY_` → `integrated_circuits`.
fn short(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix)
        .unwrap_or(full)
        .to_ascii_lowercase()
}

/// Names an enum value the way the JSON event files do; an unknown number shows as such.
macro_rules! enum_names {
    ($($(#[$doc:meta])* $fn:ident, $parse:ident: $ty:ty, $prefix:literal;)*) => {$(
        $(#[$doc])*
        pub fn $fn(raw: i32) -> String {
            <$ty>::try_from(raw)
                .map(|v| short(v.as_str_name(), $prefix))
                .unwrap_or_else(|_| format!("unknown({raw})"))
        }

        /// Parses the snake_case name back to the wire value, listing the names on error.
        pub fn $parse(name: &str) -> Result<i32, String> {
            let full = format!("{}{}", $prefix, name.to_ascii_uppercase());
            match <$ty>::from_str_name(&full) {
                Some(v) if v as i32 != 0 => Ok(v as i32),
                _ => {
                    let names: Vec<String> = (1..32)
                        .filter_map(|n| <$ty>::try_from(n).ok())
                        .map(|v| short(v.as_str_name(), $prefix))
                        .collect();
                    Err(format!("expected one of {}", names.join(", ")))
                }
            }
        }
    )*};
}

enum_names! {
    /// `integrated_circuits`, …
    industry_name, parse_industry: pb::Industry, "INDUSTRY_";
    /// `professional_title`, …
    credential_kind_name, parse_credential_kind: pb::CredentialKind, "CREDENTIAL_KIND_";
    /// `active`, `suspended`, …
    entry_status_name, parse_entry_status: pb::EntryStatus, "ENTRY_STATUS_";
    /// `application_fraud`, …
    category_name, parse_category: pb::BlacklistCategory, "BLACKLIST_CATEGORY_";
    /// `appeal_upheld`, …
    revoke_reason_name, parse_revoke_reason: pb::RevokeReason, "REVOKE_REASON_";
    /// `industry`, `city`, …
    group_by_name, parse_group_by: pb::GroupBy, "GROUP_BY_";
    /// `shown`, `redacted`, `erased`, `key_missing`
    personal_state_name, parse_personal_state: pb::PersonalState, "PERSONAL_STATE_";
    /// `retention_ended`, `order`
    erasure_reason_name, parse_erasure_reason: pb::ErasureReason, "ERASURE_REASON_";
}

/// `-` for an empty cell, so columns stay readable.
pub fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".to_owned()
    } else {
        s.to_owned()
    }
}

/// The footer every query answer ends with.
pub fn basis_line(basis: Option<&pb::AnswerBasis>) -> String {
    match basis {
        Some(b) => format!("(as of position {}, valid on {})", b.position, b.on_date),
        None => "(no answer basis)".to_owned(),
    }
}

/// The basis as JSON.
pub fn basis_json(basis: Option<&pb::AnswerBasis>) -> Value {
    match basis {
        Some(b) => serde_json::json!({"position": b.position, "on_date": b.on_date}),
        None => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_to_the_widest_cell() {
        let mut t = Table::new(["A", "LONG HEADER", "C"]);
        t.row(vec!["wide cell".into(), "x".into(), "last".into()]);
        let text = t.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "A          LONG HEADER  C");
        assert_eq!(lines[1], "wide cell  x            last");
    }

    #[test]
    fn chinese_characters_count_double() {
        assert_eq!(width("张*"), 3);
        assert_eq!(width("abc"), 3);
    }

    #[test]
    fn enums_are_named_like_the_event_files() {
        assert_eq!(industry_name(4), "integrated_circuits");
        assert_eq!(entry_status_name(2), "active");
        assert_eq!(industry_name(99), "unknown(99)");
        assert_eq!(entry_status_name(6), "erased");
        assert_eq!(parse_entry_status("erased"), Ok(6));
        assert_eq!(personal_state_name(1), "shown");
        assert_eq!(personal_state_name(4), "key_missing");
        assert_eq!(parse_personal_state("key_missing"), Ok(4));
        assert_eq!(erasure_reason_name(1), "retention_ended");
        assert_eq!(erasure_reason_name(2), "order");
        assert_eq!(parse_industry("aerospace"), Ok(2));
        assert!(parse_industry("unspecified").is_err());
        let err = parse_group_by("town").expect_err("unknown");
        assert!(err.contains("industry, city, occupation, period"), "{err}");
    }
}
