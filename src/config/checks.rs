//! The checks of the config file's instances that [`Config::validate`] cannot make (they need
//! the network), run by `serve` before it starts and by `check-config`: a callback the
//! destination guard would refuse stops the relay (else every event would be accepted, then
//! retried until it fails); unknown configuration keys and instances whose events are off are
//! reported, since an instance with a misspelled key answers every Box delivery `ignored`.

use std::fmt;

use tokio::task::JoinSet;
use url::Url;

use super::Config;
use crate::destination::{check_destination, DestinationPolicy, REFUSED};
use crate::instance::{keys, Instance};

/// What the checks found, each line naming the instance.
#[derive(Debug, Default)]
pub struct InstanceChecks {
    /// Callbacks the destination policy refuses: the relay must not start.
    pub refusals: Vec<String>,
    /// Unknown keys, callbacks whose host does not resolve now (DNS may be down).
    pub warnings: Vec<String>,
    /// Instances whose Box deliveries will be answered `ignored`.
    pub events_off: Vec<String>,
}

impl InstanceChecks {
    /// `Err` with every refusal, one a line, when there is any.
    pub fn refused(&self) -> Result<(), String> {
        if self.refusals.is_empty() {
            Ok(())
        } else {
            Err(self.refusals.join("\n"))
        }
    }
}

/// How an instance is named: its place in the file and its id.
struct Named<'a>(usize, &'a Instance);

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Named(index, instance) = self;
        write!(
            f,
            "instances[{index}] (id {}, {:?})",
            instance.id, instance.name
        )
    }
}

impl Config {
    /// Checks the file's `instances` (in file order, as [`Config::validate`] returned them)
    /// against this configuration's destination policy.
    pub async fn check_instances(&self, instances: &[Instance]) -> InstanceChecks {
        check_file_instances(instances, &self.delivery.destination_policy()).await
    }
}

/// Checks the config file's `instances` (in file order) against the destination `policy`.
/// Literal addresses are judged as given, names by what they resolve to now.
pub async fn check_file_instances(
    instances: &[Instance],
    policy: &DestinationPolicy,
) -> InstanceChecks {
    let mut checks = InstanceChecks::default();
    // Resolved together: an instance whose DNS times out does not delay the others.
    let mut lookups = JoinSet::new();
    for (index, instance) in instances.iter().enumerate() {
        if let (Some(url), true) = (&instance.callback_url, instance.events_enabled) {
            let (url, policy) = (url.clone(), policy.clone());
            lookups.spawn(async move { (index, check_destination(&url, &policy).await) });
        }
    }
    let mut destinations = vec![None; instances.len()];
    while let Some(joined) = lookups.join_next().await {
        if let Ok((index, result)) = joined {
            destinations[index] = Some(result);
        }
    }
    for (index, (instance, destination)) in instances.iter().zip(destinations).enumerate() {
        let named = Named(index, instance);
        for unknown in keys::unknown_keys(&instance.configuration) {
            checks.warnings.push(format!("{named}: {unknown}"));
        }
        if let (Some(Err(reason)), Some(url)) = (destination, &instance.callback_url) {
            let shown = shown_url(url);
            if reason.starts_with(REFUSED) {
                checks.refusals.push(format!(
                    "{named}: configuration key `{}` = {shown}: {reason}",
                    keys::CALLBACK_URL
                ));
            } else {
                checks.warnings.push(format!(
                    "{named}: configuration key `{}` = {shown}: {reason} now (DNS may be \
                     down); each delivery checks it again",
                    keys::CALLBACK_URL
                ));
            }
        }
        if instance.disabled {
            checks.events_off.push(format!(
                "instance {} {:?}: disabled: Box deliveries will be answered \"ignored\"",
                instance.id, instance.name
            ));
        } else if !instance.events_enabled {
            checks.events_off.push(format!(
                "instance {} {:?}: events off ({} is not true): Box deliveries will be \
                 answered \"ignored\"",
                instance.id,
                instance.name,
                keys::EVENTS_ENABLED
            ));
        }
    }
    checks
}

/// The URL with its password masked, for a message.
fn shown_url(url: &Url) -> String {
    crate::secret::mask_url_password(url.as_str(), "***").unwrap_or_else(|| url.to_string())
}
