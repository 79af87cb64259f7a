//! "Did you mean …?": the known name nearest to a misspelled one, by edit distance. Used for
//! `RELAY__…` variables that name no key, unknown instance configuration keys and unknown
//! fields of admin request bodies. Below everything that names keys, so any module may use it.

use crate::invalid::InvalidValue;

/// Levenshtein distance between `a` and `b`, by character: the fewest insertions, deletions
/// and substitutions that turn one into the other.
pub fn edit_distance(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

/// The candidate nearest to `word` (ignoring case), when close enough to be a likely typo:
/// at most a third of the word's length in edits, and at least 2 (a swapped pair of letters).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// The first of `given` (field names of a request body) not among `known`, naming the field
/// and why: the nearest known field when one is close, else the list of them.
pub fn unknown_field<'a>(
    mut given: impl Iterator<Item = &'a str>,
    known: &[&str],
) -> Option<InvalidValue> {
    let field = given.find(|field| !known.contains(field))?;
    let reason = match nearest(field, known.iter().copied()) {
        Some(near) => format!("unknown field; did you mean `{near}`?"),
        None => format!("unknown field; the known fields are {}", known.join(", ")),
    };
    Some(InvalidValue::new(field, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("name", "name"), 0);
        assert_eq!(edit_distance("nmae", "name"), 2);
        assert_eq!(edit_distance("callbak", "callback"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("äb", "ab"), 1);
    }

    #[test]
    fn only_a_close_candidate_is_suggested() {
        let fields = ["element", "name", "tags", "configuration"];
        assert_eq!(nearest("nmae", fields), Some("name"));
        assert_eq!(nearest("Tags", fields), Some("tags"));
        assert_eq!(nearest("configuraton", fields), Some("configuration"));
        assert_eq!(nearest("owner", fields), None);
    }

    #[test]
    fn the_first_unknown_field_is_named_with_the_nearest_known_one() {
        let known = ["target", "triggers"];
        assert_eq!(
            unknown_field(["target", "triggers"].into_iter(), &known),
            None
        );
        let refused = unknown_field(["target", "trigers"].into_iter(), &known).unwrap();
        assert_eq!(refused.key, "trigers");
        assert!(
            refused.reason.contains("did you mean `triggers`?"),
            "{refused}"
        );
        let refused = unknown_field(["owner"].into_iter(), &known).unwrap();
        assert!(refused.reason.contains("target, triggers"), "{refused}");
    }
}
