//! Two versions of a document side by side, line against line: what a reviewer reads to see
//! what an edit or a new rendering changed. The stored record of a change stays the unified
//! diff (`domain::document::diff`); this is only how a page lays it out.

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

/// How a row differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Same,
    /// Only on the left: taken out.
    Removed,
    /// Only on the right: put in.
    Added,
    /// Different text on each side.
    Changed,
}

/// One row: a line of each side (numbered from 1), either of which may be absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub left_no: Option<usize>,
    pub left: Option<String>,
    pub right_no: Option<usize>,
    pub right: Option<String>,
    pub change: Change,
}

/// The rows of `left` against `right`. Runs of unchanged lines longer than twice `context`
/// are cut to `context` lines each side of a change, with a `None` row for the cut (so a
/// long report shows its changes, not pages of sameness).
pub fn side_by_side(left: &str, right: &str, context: usize) -> Vec<Option<Row>> {
    let diff = TextDiff::from_lines(left, right);
    let mut rows: Vec<Row> = Vec::new();
    for op in diff.ops() {
        let mut removed = Vec::new();
        let mut added = Vec::new();
        for change in diff.iter_changes(op) {
            let text = change.value().trim_end_matches(['\n', '\r']).to_string();
            match change.tag() {
                ChangeTag::Equal => rows.push(Row {
                    left_no: change.old_index().map(|i| i + 1),
                    left: Some(text.clone()),
                    right_no: change.new_index().map(|i| i + 1),
                    right: Some(text),
                    change: Change::Same,
                }),
                ChangeTag::Delete => removed.push((change.old_index().map(|i| i + 1), text)),
                ChangeTag::Insert => added.push((change.new_index().map(|i| i + 1), text)),
            }
        }
        // A replacement pairs its removed and added lines, row by row.
        let pairs = removed.len().max(added.len());
        for i in 0..pairs {
            let l = removed.get(i).cloned();
            let r = added.get(i).cloned();
            let change = match (&l, &r) {
                (Some(_), Some(_)) => Change::Changed,
                (Some(_), None) => Change::Removed,
                _ => Change::Added,
            };
            rows.push(Row {
                left_no: l.as_ref().and_then(|(n, _)| *n),
                left: l.map(|(_, t)| t),
                right_no: r.as_ref().and_then(|(n, _)| *n),
                right: r.map(|(_, t)| t),
                change,
            });
        }
    }
    fold(rows, context)
}

/// Keeps `context` unchanged rows around each change; a `None` marks each cut.
fn fold(rows: Vec<Row>, context: usize) -> Vec<Option<Row>> {
    let near: Vec<bool> = (0..rows.len())
        .map(|i| {
            let from = i.saturating_sub(context);
            let to = (i + context + 1).min(rows.len());
            rows[from..to].iter().any(|r| r.change != Change::Same)
        })
        .collect();
    let mut out = Vec::new();
    let mut cut = false;
    for (row, keep) in rows.into_iter().zip(near) {
        if keep {
            out.push(Some(row));
            cut = false;
        } else if !cut {
            out.push(None);
            cut = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(rows: &[Option<Row>]) -> Vec<Option<Change>> {
        rows.iter().map(|r| r.as_ref().map(|r| r.change)).collect()
    }

    #[test]
    fn a_changed_line_sits_beside_its_replacement_with_both_numbers() {
        let rows = side_by_side("a\nb\nc\n", "a\nB\nc\nd\n", 3);
        assert_eq!(
            changes(&rows),
            vec![
                Some(Change::Same),
                Some(Change::Changed),
                Some(Change::Same),
                Some(Change::Added)
            ]
        );
        let b = rows[1].as_ref().unwrap();
        assert_eq!((b.left_no, b.right_no), (Some(2), Some(2)));
        assert_eq!(
            (b.left.as_deref(), b.right.as_deref()),
            (Some("b"), Some("B"))
        );
        let d = rows[3].as_ref().unwrap();
        assert_eq!(
            (d.left_no, d.right_no, d.left.as_deref()),
            (None, Some(4), None)
        );
    }

    #[test]
    fn long_unchanged_runs_are_cut_to_the_context() {
        let left: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let right = left.replace("line 10\n", "line ten\n");
        let rows = side_by_side(&left, &right, 2);
        // A cut, two before, the change, two after, a cut.
        assert_eq!(rows.len(), 7, "{rows:?}");
        assert!(rows[0].is_none() && rows[6].is_none());
        assert_eq!(rows[3].as_ref().unwrap().right.as_deref(), Some("line ten"));
        assert_eq!(rows[1].as_ref().unwrap().left_no, Some(8));
    }

    #[test]
    fn identical_texts_have_no_changed_row() {
        let rows = side_by_side("same\n", "same\n", 3);
        assert!(rows.iter().all(|r| r.is_none()));
    }
}
