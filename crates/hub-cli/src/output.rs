//! Output for people (tables) and for machines (JSON), and the names of the wire
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

/// A table for people, laid out by `comfy-table`: a header row (or none, for a block of
/// named fields), columns two spaces apart and as wide as their widest cell (East Asian
/// wide characters count twice, so Chinese names line up), numbers aligned right. No
/// borders, colours or escape codes, so the text reads the same on a terminal, in a pipe
/// or in a file, and `awk` can split its rows on whitespace.
#[derive(Debug, Clone)]
pub struct Table {
    header: Option<Vec<String>>,
    columns: usize,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new<const N: usize>(header: [&str; N]) -> Self {
        Self {
            header: Some(header.iter().map(|h| (*h).to_owned()).collect()),
            columns: N,
            rows: Vec::new(),
        }
    }

    /// A block of named fields, one `name  value` row each, with no header.
    pub fn fields() -> Self {
        Self {
            header: None,
            columns: 2,
            rows: Vec::new(),
        }
    }

    /// Appends a row; missing cells are blank.
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert!(cells.len() <= self.columns);
        self.rows.push(cells);
    }

    /// Appends a named field of a [`Table::fields`] block.
    pub fn field(&mut self, name: &str, value: impl fmt::Display) {
        self.row(vec![name.to_owned(), value.to_string()]);
    }

    /// True if no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// True if every filled cell of column `i` is a number (or `-`, the empty mark), so the
    /// column reads best aligned right.
    fn numeric(&self, i: usize) -> bool {
        let mut any = false;
        for cell in self.rows.iter().filter_map(|r| r.get(i)) {
            match cell.as_str() {
                "" | "-" => {}
                c if is_number(c) => any = true,
                _ => return false,
            }
        }
        any
    }

    fn layout(&self) -> comfy_table::Table {
        let mut t = comfy_table::Table::new();
        t.load_style(comfy_table::presets::NOTHING)
            .set_content_arrangement(comfy_table::ContentArrangement::Disabled);
        if let Some(header) = &self.header {
            t.set_header(header.clone());
        }
        for row in &self.rows {
            let mut row = row.clone();
            row.resize(self.columns, String::new());
            t.add_row(row);
        }
        for (i, column) in t.column_iter_mut().enumerate() {
            // Two spaces between columns, none before the first or after the last.
            column.set_padding((0, if i + 1 < self.columns { 2 } else { 0 }));
            if self.header.is_some() && self.numeric(i) {
                column.set_cell_alignment(comfy_table::CellAlignment::Right);
            }
        }
        t
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.layout().lines() {
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// `12`, `-3`, `+81.0`, `12.5%`: a cell that is a number.
fn is_number(cell: &str) -> bool {
    let digits = cell
        .strip_suffix('%')
        .unwrap_or(cell)
        .trim_start_matches(['-', '+']);
    !digits.is_empty()
        && digits.chars().any(|c| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
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
    /// `a`, `b`, `c`
    tier_name, parse_tier: pb::WhitelistTier, "WHITELIST_TIER_";
    /// `talent_programme`, `research_project`
    award_category_name, parse_award_category: pb::AwardCategory, "AWARD_CATEGORY_";
    /// `national`, `provincial`, `municipal`, `district`
    award_level_name, parse_award_level: pb::AwardLevel, "AWARD_LEVEL_";
    /// `withdrawn`, `clawed_back`
    award_outcome_name, parse_award_outcome: pb::AwardOutcome, "AWARD_OUTCOME_";
    /// `pending`, `active`, `expired`, `removed`, `erased`
    whitelist_status_name, parse_whitelist_status: pb::WhitelistStatus, "WHITELIST_STATUS_";
    /// `pending`, `active`, `completed`, `withdrawn`, `clawed_back`, `erased`
    award_status_name, parse_award_status: pb::AwardStatus, "AWARD_STATUS_";
    /// `clear`, `conflict`, `barred`
    verdict_name, parse_verdict: pb::Verdict, "VERDICT_";
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
        assert_eq!(
            lines,
            ["A          LONG HEADER  C", "wide cell  x            last"]
        );
    }

    #[test]
    fn numbers_are_aligned_right_and_blanks_filled() {
        let mut t = Table::new(["CITY", "OPEN", "NOTE"]);
        t.row(vec!["310000".into(), "7".into(), "-".into()]);
        t.row(vec!["320100".into(), "1425".into()]);
        let text = t.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            ["  CITY  OPEN  NOTE", "310000     7  -", "320100  1425"],
            "{text}"
        );
    }

    #[test]
    fn chinese_characters_count_double() {
        let mut t = Table::new(["NAME", "CODE"]);
        t.row(vec!["上海".into(), "a".into()]);
        t.row(vec!["abcde".into(), "b".into()]);
        let text = t.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines, ["NAME   CODE", "上海   a", "abcde  b"], "{text}");
    }

    #[test]
    fn fields_have_no_header() {
        let mut t = Table::fields();
        t.field("position", 59);
        t.field("log head", "59");
        assert_eq!(t.to_string(), "position  59\nlog head  59\n");
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
        assert_eq!(tier_name(1), "a");
        assert_eq!(parse_tier("b"), Ok(2));
        assert_eq!(parse_award_category("research_project"), Ok(2));
        assert_eq!(award_level_name(3), "municipal");
        assert_eq!(parse_award_outcome("clawed_back"), Ok(2));
        assert_eq!(award_status_name(5), "clawed_back");
        assert_eq!(verdict_name(3), "barred");
        let err = parse_award_level("city").expect_err("unknown");
        assert!(
            err.contains("national, provincial, municipal, district"),
            "{err}"
        );
        let err = parse_group_by("town").expect_err("unknown");
        assert!(err.contains("industry, city, occupation, period"), "{err}");
    }
}
