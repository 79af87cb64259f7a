//! `RELAY__SECTION__KEY` variables checked before they are merged: one that names no key is
//! an error naming the variable (not the file), with the nearest key when there is one.

use super::{Config, ConfigError, Env};

/// The prefix of configuration variables.
const PREFIX: &str = "RELAY__";

/// Checks that every `RELAY__…` variable of `env` names a key of the configuration.
pub(super) fn check_variables(env: &Env) -> Result<(), ConfigError> {
    let known = serde_json::to_value(Config::default()).unwrap_or_default();
    let mut names: Vec<&String> = env.keys().filter(|k| k.starts_with(PREFIX)).collect();
    names.sort();
    for name in names {
        let path: Vec<String> = name[PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        let mut node = &known;
        for (depth, part) in path.iter().enumerate() {
            let Some(next) = node.get(part) else {
                let dotted = path.join(".");
                let parent = path[..depth].join(".");
                let nearest = node.as_object().and_then(|fields| {
                    fields
                        .keys()
                        .map(|k| (crate::suggest::edit_distance(k, part), k))
                        .filter(|(d, _)| *d <= 3)
                        .min()
                        .map(|(_, k)| {
                            let full = if parent.is_empty() {
                                k.clone()
                            } else {
                                format!("{parent}.{k}")
                            };
                            format!(" (did you mean {PREFIX}{}?)", variable_part(&full))
                        })
                });
                return Err(ConfigError::Variable {
                    variable: name.clone(),
                    reason: format!(
                        "no configuration key `{dotted}`{}",
                        nearest.unwrap_or_default()
                    ),
                });
            };
            node = next;
            // Lists (instances, networks) are read as a whole from here on.
            if node.is_array() {
                break;
            }
        }
        if node.is_object() {
            return Err(ConfigError::Variable {
                variable: name.clone(),
                reason: format!(
                    "`{}` is a section, not a key: name one of its keys",
                    path.join(".")
                ),
            });
        }
    }
    Ok(())
}

/// `server.listen` → `SERVER__LISTEN`.
fn variable_part(dotted: &str) -> String {
    dotted.replace('.', "__").to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_variable_naming_no_key_is_blamed_by_its_name_with_the_nearest_key() {
        let err = Config::from_layers(None, &env(&[("RELAY__SERVER__LISTN", "127.0.0.1:1")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("environment variable RELAY__SERVER__LISTN"),
            "{err}"
        );
        assert!(err.contains("did you mean RELAY__SERVER__LISTEN?"), "{err}");
        assert!(!err.contains("file"), "{err}");
        let err = Config::from_layers(None, &env(&[("RELAY__SERVR__LISTEN", "x")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("RELAY__SERVR__LISTEN") && err.contains("RELAY__SERVER?"),
            "{err}"
        );
        let err = Config::from_layers(None, &env(&[("RELAY__DELIVERY", "x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a section"), "{err}");
    }

    #[test]
    fn known_variables_and_other_variables_pass() {
        let e = env(&[
            ("RELAY__SERVER__LISTEN", "127.0.0.1:1"),
            ("RELAY__BOX__MAX_AGE_SECS", "300"),
            ("RELAY_CONFIG", "elsewhere.toml"),
            ("HOME", "/root"),
        ]);
        assert!(check_variables(&e).is_ok());
    }
}
