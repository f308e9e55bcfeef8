//! How empty lists are written. In what is stored they are left out, so every event written
//! before a list field existed re-serialises byte-identically and its digest still verifies.
//! In what is shown (`--format json`) they are present: a script reading `"problems": []`
//! need not know which fields may be missing.
//!
//! The choice is per thread: a front end turns showing on around a command that prints JSON
//! ([`showing_empty`]), and the digest and bundle encodings always turn it off ([`storing`]),
//! so what is hashed never depends on how it was asked for.

use std::cell::Cell;

thread_local! {
    static SHOW_EMPTY: Cell<bool> = const { Cell::new(false) };
}

/// For `#[serde(skip_serializing_if = "crate::domain::serial::skip_empty")]` on a list: left
/// out when empty, unless empty lists are being shown.
pub fn skip_empty<T>(list: &[T]) -> bool {
    list.is_empty() && !SHOW_EMPTY.with(Cell::get)
}

/// Runs `f` with empty lists written out (JSON output).
pub fn showing_empty<R>(f: impl FnOnce() -> R) -> R {
    with(true, f)
}

/// Runs `f` with empty lists left out (what is stored or hashed).
pub fn storing<R>(f: impl FnOnce() -> R) -> R {
    with(false, f)
}

fn with<R>(show: bool, f: impl FnOnce() -> R) -> R {
    /// Puts the previous setting back however `f` ends.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SHOW_EMPTY.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(SHOW_EMPTY.with(|s| s.replace(show)));
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Listed {
        #[serde(skip_serializing_if = "skip_empty")]
        items: Vec<u32>,
    }

    #[test]
    fn empty_lists_are_shown_only_when_asked_and_never_when_stored() {
        let v = Listed { items: vec![] };
        assert_eq!(serde_json::to_string(&v).unwrap(), "{}");
        showing_empty(|| {
            assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"items":[]}"#);
            storing(|| assert_eq!(serde_json::to_string(&v).unwrap(), "{}"));
            // Back to showing after the stored part.
            assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"items":[]}"#);
        });
        assert_eq!(serde_json::to_string(&v).unwrap(), "{}");
        let full = Listed { items: vec![1] };
        assert_eq!(serde_json::to_string(&full).unwrap(), r#"{"items":[1]}"#);
    }
}
