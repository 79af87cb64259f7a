//! The `webhook-relay` binary: parse the command line, load the configuration, run.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use webhook_relay::config::checks::InstanceChecks;
use webhook_relay::config::{Config, Env};
use webhook_relay::instance::Instance;
use webhook_relay::secret::Secret;
use webhook_relay::{cli, telemetry, Application};

/// jemalloc for the relay's Rust code (the bundled SQLite and zstd keep glibc's malloc):
/// 11 % less CPU per ingested event and 16 % less per delivered one than glibc's malloc under
/// load (BENCHMARKS.md, issue 15), within the memory bound with the options below.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read once when it starts (`_RJEM_MALLOC_CONF` in the environment
/// still overrides them): one arena rather than one per core and more (each keeps its own
/// free pages), and freed pages handed back to the system after half a second rather than
/// ten (decay runs as the relay allocates; there is no background thread), muzzy pages at
/// once (jemalloc's default, written out). Peak RSS with 50,000 events pending: 50 → 46 MiB,
/// for the same CPU per event. A test below checks that jemalloc read them.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: MallocConf =
    MallocConf(c"narenas:1,dirty_decay_ms:500,muzzy_decay_ms:0".as_ptr());

/// A C string pointer jemalloc reads at start; never written.
#[repr(transparent)]
struct MallocConf(*const std::ffi::c_char);

// SAFETY: it points at a static, immutable byte string.
unsafe impl Sync for MallocConf {}

/// Relays Box webhooks to applications as Cloud Elements-style events.
#[derive(Parser)]
#[command(name = "webhook-relay", version)]
struct Args {
    /// Configuration file, for the commands that read one: serve (the default),
    /// check-config, events, secrets. Also accepted after the command.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// `--config`, on the commands that read a configuration (and only on those).
#[derive(clap::Args, Default)]
struct ConfigArg {
    /// Configuration file (else $RELAY_CONFIG, else config/default.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
}

impl ConfigArg {
    /// This command's `--config`, else the one given before the command.
    fn or(self, before: Option<PathBuf>) -> Option<PathBuf> {
        self.config.or(before)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the relay (the default).
    Serve {
        #[command(flatten)]
        file: ConfigArg,
        /// Address and port to listen on, over `server.listen` (e.g. 127.0.0.1:9090).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Load and validate the configuration, print it with secrets redacted.
    CheckConfig {
        #[command(flatten)]
        file: ConfigArg,
    },
    /// Print the Box V2 headers for a body, to test a deployment with curl.
    BoxSign {
        /// The primary signature key.
        #[arg(long)]
        key: String,
        /// Also sign with this secondary key.
        #[arg(long)]
        secondary_key: Option<String>,
        /// The box-delivery-timestamp to sign (default: now).
        #[arg(long)]
        timestamp: Option<String>,
        /// The body file, or - for standard input.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Read the event log and replay events, from the configured store.
    Events {
        #[command(flatten)]
        file: ConfigArg,
        #[command(subcommand)]
        command: cli::events::EventsCommand,
    },
    /// Act on instances in the configured store (safe beside a running relay).
    Instances {
        #[command(flatten)]
        file: ConfigArg,
        #[command(subcommand)]
        command: cli::instances::InstancesCommand,
    },
    /// Manage the key that encrypts stored secrets (the relay must be stopped).
    Secrets {
        #[command(flatten)]
        file: ConfigArg,
        #[command(subcommand)]
        command: cli::secrets::SecretsCommand,
    },
    /// A small callback receiver that prints each event and checks its signature.
    Receive {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: String,
        /// The instance's event.notification.signature.key, to verify signatures.
        #[arg(long)]
        signature_key: Option<String>,
    },
}

fn config_path(flag: Option<PathBuf>, env: &Env) -> Option<PathBuf> {
    flag.or_else(|| env.get("RELAY_CONFIG").map(PathBuf::from))
        .or_else(|| {
            let default = Path::new("config/default.toml");
            default.exists().then(|| default.to_path_buf())
        })
}

fn load(flag: Option<PathBuf>) -> Result<(Config, Vec<Instance>)> {
    let env: Env = std::env::vars().collect();
    let path = config_path(flag, &env);
    Config::load(path.as_deref(), &env).with_context(|| match &path {
        Some(p) => format!("invalid configuration ({})", p.display()),
        None => "invalid configuration (built-in defaults and environment)".to_string(),
    })
}

/// The checks of the file's instances that need the network (`serve` and `check-config`
/// alike): an error when a callback is refused by the destination policy.
async fn check_instances(config: &Config, instances: &[Instance]) -> Result<InstanceChecks> {
    let checks = config.check_instances(instances).await;
    checks
        .refused()
        .map_err(anyhow::Error::msg)
        .context("invalid configuration: a callback the destination policy refuses")?;
    Ok(checks)
}

/// A token cancelled on SIGTERM or SIGINT. The handlers are installed before this returns,
/// not in the task that waits for them: a signal that arrives as soon as the relay says it
/// is listening (a supervisor's quick stop; seen in a test on a loaded machine) must shut
/// it down cleanly, not kill it with the signal's default action.
fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        tokio::spawn(async move {
            tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
            tracing::info!("signal received, shutting down");
            t.cancel();
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("signal received, shutting down");
        t.cancel();
    });
    token
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the context chain on one line, without a backtrace.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    let command = args.command.unwrap_or(Command::Serve {
        file: ConfigArg::default(),
        listen: None,
    });
    if let (Some(_), Command::BoxSign { .. } | Command::Receive { .. }) = (&args.config, &command) {
        bail!("--config is only for serve, check-config, events and secrets: this command reads no configuration");
    }
    match command {
        Command::Serve { file, listen } => {
            let file = file.or(args.config);
            let path = config_path(file.clone(), &std::env::vars().collect());
            let (mut config, instances) = load(file)?;
            if let Some(addr) = listen {
                config.server.listen = addr;
            }
            telemetry::init(&config.log);
            match &path {
                Some(p) => tracing::info!(file = %p.display(), "configuration"),
                None => tracing::info!(
                    "configuration: no file (built-in defaults and RELAY__ variables)"
                ),
            }
            let checks = check_instances(&config, &instances).await?;
            checks.warnings.iter().for_each(|w| tracing::warn!("{w}"));
            checks
                .events_off
                .iter()
                .for_each(|line| tracing::info!("{line}"));
            let app = Application::build(config, instances).await?;
            app.run_until_stopped(shutdown_on_signal()).await?;
        }
        Command::CheckConfig { file } => {
            let (config, instances) = load(file.or(args.config))?;
            let checks = check_instances(&config, &instances).await?;
            println!("{}", serde_json::to_string_pretty(&config.redacted())?);
            for line in checks.warnings.iter().chain(&checks.events_off) {
                eprintln!("{line}");
            }
            eprintln!("configuration is valid: {} instance(s)", instances.len());
        }
        Command::BoxSign {
            key,
            secondary_key,
            timestamp,
            file,
        } => {
            let mut body = Vec::new();
            if file == "-" {
                std::io::stdin().read_to_end(&mut body)?;
            } else {
                body = std::fs::read(&file).with_context(|| format!("cannot read {file}"))?;
            }
            if key.is_empty() {
                bail!("--key must not be empty");
            }
            print!(
                "{}",
                cli::box_sign::header_lines(
                    &body,
                    &key,
                    secondary_key.as_deref(),
                    timestamp.as_deref()
                )
            );
        }
        Command::Events { file, command } => {
            let tool = ToolStore::open(file.or(args.config)).await?;
            let result = cli::events::run(&tool.scope(), command).await;
            tool.store.close().await;
            let (output, next) = result?;
            println!("{}", serde_json::to_string_pretty(&output)?);
            if let Some(cursor) = next {
                eprintln!("more: --cursor {cursor}");
            }
        }
        Command::Instances { file, command } => {
            let tool = ToolStore::open(file.or(args.config)).await?;
            let result = cli::instances::run(&tool.scope(), command).await;
            tool.store.close().await;
            println!("{}", serde_json::to_string_pretty(&result?)?);
        }
        Command::Secrets { file, command } => {
            let (config, _) = load(file.or(args.config))?;
            let done =
                cli::secrets::run(config.storage.url.expose(), config.secrets_key(), command)
                    .await
                    .map_err(anyhow::Error::msg)?;
            println!("{done}");
        }
        Command::Receive {
            listen,
            signature_key,
        } => {
            telemetry::init(&Default::default());
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            println!("receiving events on http://{}", listener.local_addr()?);
            cli::receive::run(
                listener,
                signature_key.map(Secret::new),
                shutdown_on_signal(),
            )
            .await?;
        }
    }
    Ok(())
}

/// The store a store-reading command (`events`, `instances`) works on, with what its
/// answers name: the store's label and the configuration file's instance ids.
struct ToolStore {
    store: webhook_relay::store::Store,
    label: String,
    file_instances: Vec<i64>,
}

impl ToolStore {
    /// Loads the configuration (`flag`, else the usual places) and opens its store.
    async fn open(flag: Option<PathBuf>) -> Result<Self> {
        let config_file = config_path(flag.clone(), &std::env::vars().collect());
        let (config, instances) = load(flag)?;
        let label = cli::events::store_label(&config, config_file.as_deref());
        let store = webhook_relay::store::Store::open_for_tool(config.storage.url.expose())
            .await
            .with_context(|| format!("cannot open the store {label}"))?;
        Ok(Self {
            store,
            label,
            file_instances: instances.iter().map(|i| i.id).collect(),
        })
    }

    fn scope(&self) -> cli::events::Scope<'_> {
        cli::events::Scope {
            store: &self.store,
            file_instances: &self.file_instances,
            label: &self.label,
        }
    }
}

#[cfg(test)]
mod tests {
    /// `MALLOC_CONF` reaches jemalloc: its symbol must be named as the allocator crate
    /// builds jemalloc (prefixed `_rjem_`); a feature that unprefixed jemalloc's symbols
    /// would drop the options without a word.
    #[test]
    fn jemalloc_reads_the_relays_options() {
        let mut narenas: u32 = 0;
        let mut len = std::mem::size_of::<u32>();
        // SAFETY: `opt.narenas` is an `unsigned`, read into a `u32` of that length.
        let rc = unsafe {
            tikv_jemalloc_sys::mallctl(
                c"opt.narenas".as_ptr(),
                (&mut narenas as *mut u32).cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        assert_eq!(rc, 0, "mallctl(opt.narenas) failed");
        assert_eq!(narenas, 1, "jemalloc did not read the relay's options");
    }
}
