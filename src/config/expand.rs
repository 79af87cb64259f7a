//! `${NAME}` references in string values, read from the environment at load.

use super::{invalid, Config, ConfigError, Env};
use crate::secret::Secret;

impl Config {
    /// Expands `${NAME}` in every string value; a missing variable is an error naming the key.
    pub(super) fn expand_env(&mut self, env: &Env) -> Result<(), ConfigError> {
        expand_string(&mut self.server.listen, "server.listen", env)?;
        expand_secret(&mut self.admin.user_secret, "admin.user_secret", env)?;
        expand_secret(
            &mut self.admin.organization_secret,
            "admin.organization_secret",
            env,
        )?;
        expand_secret(&mut self.storage.url, "storage.url", env)?;
        expand_secret(
            &mut self.secrets.encryption_key,
            "secrets.encryption_key",
            env,
        )?;
        expand_string(&mut self.events.sender, "events.sender", env)?;
        expand_string(&mut self.log.format, "log.format", env)?;
        expand_string(&mut self.log.level, "log.level", env)?;
        for (i, inst) in self.instances.iter_mut().enumerate() {
            expand_string(&mut inst.name, &format!("instances[{i}].name"), env)?;
            for (key, value) in inst.configuration.iter_mut() {
                if let serde_json::Value::String(s) = value {
                    expand_string(s, &format!("instances[{i}].configuration.\"{key}\""), env)?;
                }
            }
        }
        Ok(())
    }
}

fn expand_secret(value: &mut Secret, key: &str, env: &Env) -> Result<(), ConfigError> {
    let mut s = value.expose().to_string();
    expand_string(&mut s, key, env)?;
    *value = Secret::new(s);
    Ok(())
}

/// Replaces each `${NAME}` in `value` with the environment variable `NAME`.
fn expand_string(value: &mut String, key: &str, env: &Env) -> Result<(), ConfigError> {
    if !value.contains("${") {
        return Ok(());
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value.as_str();
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
    *value = out;
    Ok(())
}
