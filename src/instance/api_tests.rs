//! Instance bodies read into types: configuration values as given, wrong fields named.

use super::*;
use serde_json::json;

#[test]
fn configuration_values_are_kept_as_given_and_numbers_as_json_writes_them() {
    let body = json!({
        "element": {"key": "box"},
        "name": "Typed",
        "configuration": {"a": 1.0, "b": 2, "c": true, "d": "text", "e": null},
    });
    let stored = new_instance(&InstanceRequest::from_json(&body).unwrap()).unwrap();
    let conf = &stored.configuration;
    assert_eq!(conf["a"], json!("1.0"));
    assert_eq!(conf["b"], json!("2"));
    assert_eq!(conf["c"], json!(true));
    assert_eq!(conf["d"], json!("text"));
    assert!(!conf.contains_key("e"));
}

#[test]
fn an_element_of_any_other_shape_is_named_by_its_key() {
    for element in [json!(null), json!("box"), json!({}), json!({"key": 5})] {
        let body = json!({"element": element, "name": "x"});
        let refused = new_instance(&InstanceRequest::from_json(&body).unwrap()).unwrap_err();
        assert_eq!(refused.key, "element.key", "{element}");
    }
}

#[test]
fn wrong_fields_are_named_as_a_whole_with_what_they_must_be() {
    for (field, value, reason) in [
        ("tags", json!(["a", 1]), "must be an array of strings"),
        ("tags", json!("docs"), "must be an array of strings"),
        ("disabled", json!("yes"), "must be true or false"),
        ("name", json!(7), "must be a non-empty string"),
        ("name", json!("  "), "must be a non-empty string"),
    ] {
        let body = json!({"element": {"key": "box"}, "name": "x", field: value});
        let refused = InstanceRequest::from_json(&body).unwrap_err();
        assert_eq!(
            (refused.key.as_str(), refused.reason.as_str()),
            (field, reason)
        );
    }
    let tags = json!({"tags": null});
    assert_eq!(InstanceRequest::from_json(&tags).unwrap().tags, None);
}
