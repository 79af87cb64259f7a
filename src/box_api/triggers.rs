//! The Box V2 webhook triggers a webhook may be created with (spec/box-webhooks.md): the one
//! list the relay checks `POST|PUT /webhooks` against, and documents in the README. Box's
//! guide and its OpenAPI disagree on a few names (DocGen, newer Sign triggers); a name not
//! here is refused unless `box.allow_unknown_triggers` lets Box decide.

/// Every trigger Box documents for V2 webhooks (kept beside Box's payloads, where event
/// selection reads it too).
pub use crate::box_webhook::triggers::KNOWN;

/// Whether Box accepts `trigger` on a webhook (exact, upper case, as Box's API).
pub fn is_known(trigger: &str) -> bool {
    KNOWN.contains(&trigger)
}

/// Whether `trigger` has the shape of a Box trigger (`FILE.UPLOADED`): upper-case letters,
/// digits and `_`, in two or more dot-separated words, at most 64 characters. Unknown names
/// must still have it when `box.allow_unknown_triggers` is on.
pub fn is_well_formed(trigger: &str) -> bool {
    let word = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    };
    trigger.len() <= 64 && trigger.contains('.') && trigger.split('.').all(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_trigger_is_well_formed_and_others_are_told_apart() {
        assert!(KNOWN.iter().all(|t| is_well_formed(t)));
        assert!(is_well_formed("DOC_GEN.DOCUMENT_GENERATED"));
        for bad in [
            "file.uploaded",
            "FILE",
            "FILE..X",
            "",
            "FILE.UPLOADED ",
            "A.\u{e9}",
        ] {
            assert!(!is_well_formed(bad), "{bad}");
        }
    }
}
