//! `webhook-relay secrets rotate`: re-seals every stored secret under a new key. The new key
//! is read from a file or an environment variable, never from the command line (it would
//! show in `ps`); the current key is the configuration's, as the relay reads it.

use std::path::PathBuf;

use clap::Subcommand;

use crate::secret::{key_file, Cipher, EncryptionKey, Secret};
use crate::store::secrets::{resolve_key, KeySource, SecretsReport};

/// The `secrets` subcommands.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Re-encrypt every instance configuration and Box token under a new key, in one
    /// transaction. The relay must be stopped (every replica): the command refuses to run
    /// while a relay uses the database, and a relay started during it waits, then refuses
    /// the old key. Afterwards, give the relay the new key (printed instructions).
    #[command(group = clap::ArgGroup::new("new").required(true))]
    Rotate {
        /// A file holding the new key: 32 random bytes, standard base64 (`openssl rand
        /// -base64 32 > new.key`).
        #[arg(long, value_name = "PATH", group = "new")]
        new_key_file: Option<PathBuf>,
        /// The name of an environment variable holding the new key.
        #[arg(long, value_name = "NAME", group = "new")]
        new_key_env: Option<String>,
    },
}

/// Runs one subcommand against the store at `url` whose configured key is `configured`;
/// returns what to tell the operator.
pub async fn run(
    url: &str,
    configured: Option<&EncryptionKey>,
    command: SecretsCommand,
) -> Result<String, String> {
    let SecretsCommand::Rotate {
        new_key_file,
        new_key_env,
    } = command;
    let (new_text, from) = match (new_key_file, new_key_env) {
        (Some(path), _) => (
            std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
            path.display().to_string(),
        ),
        (None, Some(name)) => (
            std::env::var(&name).map_err(|_| format!("environment variable {name} is not set"))?,
            format!("${name}"),
        ),
        (None, None) => return Err("give --new-key-file or --new-key-env".into()),
    };
    let new_text = Secret::new(new_text.trim());
    let new = Cipher::from_base64(new_text.expose()).map_err(|r| format!("the new key {r}"))?;
    let (old, source) = resolve_key(url, configured, false)?;
    // The same key opens what the other seals.
    if old.open(0, &new.seal(0, "probe")).is_some() {
        return Err("the new key is the current key".into());
    }
    let report = crate::store::Store::rotate_secrets(url, &old, &new)
        .await
        .map_err(|e| e.to_string())?;
    let done = summary(report);
    match source {
        KeySource::KeyFile(path) | KeySource::Generated(path) => {
            key_file::replace(&path, &new_text).map_err(|e| {
                format!(
                    "{done}, but the key file could not be replaced ({e}): copy the new key \
                     ({from}) into {} before starting the relay",
                    path.display()
                )
            })?;
            Ok(format!(
                "{done}.\nThe key file {} now holds the new key; start the relay as before.",
                path.display()
            ))
        }
        KeySource::Configured => Ok(format!(
            "{done}.\nNow set secrets.encryption_key (environment: \
             RELAY__SECRETS__ENCRYPTION_KEY) to the new key ({from}) on every replica, and \
             remove box.token_key if it is set; then start the relay. It refuses to start \
             with the old key."
        )),
    }
}

fn summary(report: SecretsReport) -> String {
    format!(
        "Re-encrypted {} instance(s) and the Box tokens of {} instance(s) under the new key",
        report.instances, report.box_tokens
    )
}
