//! `${NAME}` references, read from the environment at load. Applied to the merged tree of
//! values (file and `RELAY__…` variables alike) before it is read into [`super::Config`], so
//! every string value is expanded by construction, whatever section or key it sits in.

use config::{Map, Value, ValueKind};

use super::{invalid, ConfigError, Env};

/// Expands every string of a merged configuration tree.
pub(super) fn expand_tree(tree: Map<String, Value>, env: &Env) -> Result<Value, ConfigError> {
    expand_value(Value::new(None, ValueKind::Table(tree)), "", env)
}

fn expand_value(value: Value, path: &str, env: &Env) -> Result<Value, ConfigError> {
    let origin = value.origin().map(str::to_string);
    let kind = match value.kind {
        ValueKind::String(s) => ValueKind::String(expand_string(&s, path, env)?),
        ValueKind::Table(table) => ValueKind::Table(
            table
                .into_iter()
                .map(|(k, v)| {
                    let child = child_path(path, &k);
                    expand_value(v, &child, env).map(|v| (k, v))
                })
                .collect::<Result<_, _>>()?,
        ),
        ValueKind::Array(items) => ValueKind::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| expand_value(v, &format!("{path}[{i}]"), env))
                .collect::<Result<_, _>>()?,
        ),
        other => other,
    };
    Ok(Value::new(origin.as_ref(), kind))
}

/// `server.listen`, `instances[0].configuration."box.webhook.primary.key"`.
fn child_path(parent: &str, key: &str) -> String {
    let key = if key.contains('.') {
        format!("\"{key}\"")
    } else {
        key.to_string()
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

/// Replaces each `${NAME}` in `value` with the environment variable `NAME`; a missing
/// variable is an error naming the key.
fn expand_string(value: &str, key: &str, env: &Env) -> Result<String, ConfigError> {
    if !value.contains("${") {
        return Ok(value.to_string());
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| invalid(key, "unterminated ${…}"))?;
        let name = &after[..end];
        if name.is_empty() {
            return Err(invalid(key, "empty ${} reference"));
        }
        let v = env
            .get(name)
            .ok_or_else(|| invalid(key, format!("environment variable {name} is not set")))?;
        out.push_str(v);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
