//! Whether an instance wants a Box delivery, by its selection (`event.metadata`,
//! `event.notification.triggers`, read by `crate::instance::selection`). A delivery is
//! selected when either key that is set selects it: `event.metadata` by the trigger's object
//! and the `eventType` it normalizes to (as [`event_type_for_trigger`] maps it), the
//! trigger list by name. A V1 callback is judged as the V2 trigger it stands for.

use super::normalize::event_type_for_trigger;
use crate::instance::selection::glob;
use crate::instance::Selection;

/// The answer's `reason` for a delivery outside the selection.
pub const NOT_SELECTED: &str =
    "the event is not selected for this instance (event.metadata, event.notification.triggers)";

/// The V2 trigger a V1 callback stands for: `FILE.UPLOADED` for a file's `uploaded`,
/// `FOLDER.CREATED` for a folder's, `FILE.DELETED` for `deleted`, and so on.
pub fn v1_trigger(item_type: Option<&str>, event: Option<&str>) -> String {
    let folder = item_type.is_some_and(|t| t.trim().eq_ignore_ascii_case("folder"));
    let object = if folder { "FOLDER" } else { "FILE" };
    let event = event.unwrap_or("").trim().to_ascii_uppercase();
    let action = match event.as_str() {
        "UPLOADED" | "CREATED" if folder => "CREATED".to_string(),
        "UPLOADED" | "CREATED" => "UPLOADED".to_string(),
        _ => event,
    };
    format!("{object}.{action}")
}

/// Whether `selection` takes a delivery of `trigger`.
pub fn selects(selection: &Selection, trigger: &str) -> bool {
    let trigger = trigger.to_ascii_uppercase();
    let by_name = selection
        .triggers
        .as_ref()
        .is_some_and(|patterns| patterns.iter().any(|p| glob(p, &trigger)));
    let by_type = selection.metadata.as_ref().is_some_and(|objects| {
        let object = trigger.split_once('.').map_or("", |(o, _)| o);
        let event_type = event_type_for_trigger(&trigger).to_ascii_lowercase();
        objects
            .get(&object.to_ascii_lowercase())
            .is_some_and(|types| types.contains(&event_type))
    });
    by_name || by_type
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(triggers: Option<&[&str]>, metadata: Option<&[(&str, &[&str])]>) -> Selection {
        Selection {
            triggers: triggers.map(|t| t.iter().map(|s| s.to_string()).collect()),
            metadata: metadata.map(|m| {
                m.iter()
                    .map(|(o, ts)| (o.to_string(), ts.iter().map(|t| t.to_string()).collect()))
                    .collect()
            }),
        }
    }

    #[test]
    fn event_types_select_by_object_and_normalized_type() {
        let s = selection(
            None,
            Some(&[("file", &["created", "deleted"]), ("folder", &[])]),
        );
        assert!(selects(&s, "FILE.UPLOADED"), "uploaded is created");
        assert!(selects(&s, "FILE.COPIED"));
        assert!(selects(&s, "FILE.TRASHED"), "trashed is deleted");
        assert!(!selects(&s, "FILE.RENAMED"), "renamed is updated");
        assert!(!selects(&s, "FILE.PREVIEWED"), "previewed is no type");
        assert!(!selects(&s, "FOLDER.CREATED"), "no folder types");
        assert!(!selects(&s, "COMMENT.CREATED"), "comments not named");
    }

    #[test]
    fn trigger_patterns_select_by_name_and_either_key_is_enough() {
        let s = selection(Some(&["FILE.*", "FOLDER.CREATED"]), None);
        assert!(selects(&s, "FILE.PREVIEWED"));
        assert!(selects(&s, "folder.created"));
        assert!(!selects(&s, "FOLDER.DELETED"));
        let both = selection(Some(&["COMMENT.*"]), Some(&[("folder", &["deleted"])]));
        assert!(selects(&both, "COMMENT.CREATED"));
        assert!(selects(&both, "FOLDER.TRASHED"));
        assert!(!selects(&both, "FILE.UPLOADED"));
    }

    #[test]
    fn v1_callbacks_stand_for_their_v2_triggers() {
        assert_eq!(v1_trigger(Some("file"), Some("uploaded")), "FILE.UPLOADED");
        assert_eq!(v1_trigger(None, Some("created")), "FILE.UPLOADED");
        assert_eq!(
            v1_trigger(Some("folder"), Some("uploaded")),
            "FOLDER.CREATED"
        );
        assert_eq!(
            v1_trigger(Some("Folder"), Some("deleted")),
            "FOLDER.DELETED"
        );
        assert_eq!(v1_trigger(Some("file"), Some("moved")), "FILE.MOVED");
    }
}
