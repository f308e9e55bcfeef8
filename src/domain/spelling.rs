//! "Did you mean": the known word closest to a mistyped one (a template name, an obligation id,
//! a value of an input's vocabulary), by edit distance.

/// Levenshtein distance between two words, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The known word closest to `wanted`, if one is close enough to be what was meant: at most
/// three edits (a quarter of a long word), and fewer edits than the word has characters, so a
/// guess never replaces a short word altogether. Ties go to the first known word.
pub fn closest<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &'a str)> = None;
    for word in known {
        let d = edit_distance(wanted, word);
        let len = word.chars().count();
        if d > 0 && d <= 3.max(len / 4) && d < len && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, word));
        }
    }
    best.map(|(_, w)| w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_near_word_is_found_and_a_far_one_is_not() {
        assert_eq!(edit_distance("helth", "health"), 1);
        assert_eq!(
            closest("helth", ["location", "health", "other"]),
            Some("health")
        );
        assert_eq!(
            closest(
                "uk-gdpr-art33/intial",
                ["uk-gdpr-art33/initial", "uk-gdpr-art34/notice"]
            ),
            Some("uk-gdpr-art33/initial")
        );
        assert_eq!(closest("xyz", ["low", "high"]), None);
        assert_eq!(closest("health", ["health"]), None);
        assert_eq!(closest("", ["a"]), None);
    }
}
