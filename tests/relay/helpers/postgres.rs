//! PostgreSQL for tests: fresh databases on the shared server, and a private server that a
//! test may stop and start.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{mpsc, OnceLock};

/// Creates a new, empty database on the server of `admin_url`; returns its URL.
pub async fn fresh_database(admin_url: &str) -> String {
    webhook_relay::store::postgres::create_database(admin_url)
        .await
        .expect("create a test database through RELAY_TEST_POSTGRES_URL")
}

/// Drops the database at `url` (made by [`fresh_database`] on `admin_url`) once `dir` is
/// gone. A test's storage lives as long as its temporary directory (a SQLite file lives in
/// it), so when the directory is removed the test is over. Without this a full run left
/// about 150 databases behind, 1.1 GB on the shared server, enough to fill a small CI disk.
pub fn drop_database_with(dir: &Path, admin_url: &str, url: &str) {
    static REAPER: OnceLock<mpsc::Sender<Doomed>> = OnceLock::new();
    let name = url.rsplit('/').next().unwrap_or_default().to_owned();
    let doomed = Doomed {
        dir: dir.to_owned(),
        admin_url: admin_url.to_owned(),
        name,
    };
    let reaper = REAPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || reap(rx));
        tx
    });
    let _ = reaper.send(doomed);
}

struct Doomed {
    dir: PathBuf,
    admin_url: String,
    name: String,
}

/// The reaper thread: every half second, drops the databases whose directory is gone. What
/// is still pending when the test binary exits stays (a few databases, not a run's worth).
fn reap(rx: mpsc::Receiver<Doomed>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the reaper's runtime");
    let mut pending: Vec<Doomed> = Vec::new();
    loop {
        // The sender is a static: the channel never closes, the thread ends with the process.
        if let Ok(doomed) = rx.recv_timeout(std::time::Duration::from_millis(500)) {
            pending.push(doomed);
        }
        let (gone, alive): (Vec<_>, Vec<_>) = pending.into_iter().partition(|d| !d.dir.exists());
        pending = alive;
        for doomed in gone {
            // A failure only leaves the database behind, as before.
            let _ = runtime.block_on(drop_database(&doomed.admin_url, &doomed.name));
        }
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    conn.close().await
}

/// A private PostgreSQL server for one test (to stop and start it), from the binaries at
/// `RELAY_TEST_PG_BIN` or the newest `/usr/lib/postgresql/*/bin`.
pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl PgCluster {
    pub fn start() -> Self {
        let bin = std::env::var_os("RELAY_TEST_PG_BIN")
            .map(PathBuf::from)
            .or_else(|| {
                let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                    .ok()?
                    .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                    .filter(|p| p.join("initdb").exists())
                    .collect();
                found.sort();
                found.pop()
            })
            .expect("PostgreSQL binaries (set RELAY_TEST_PG_BIN)");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        if is_root() {
            run(std::process::Command::new("chown")
                .arg("postgres:")
                .arg(dir.path()));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self {
            bin,
            data,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            _dir: dir,
        };
        run(cluster
            .pg("initdb")
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "-D"])
            .arg(&cluster.data));
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n",
            cluster._dir.path().display()
        );
        let path = cluster.data.join("postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&conf);
        std::fs::write(&path, text).unwrap();
        cluster.up();
        cluster
    }

    fn pg(&self, tool: &str) -> std::process::Command {
        let exe = self.bin.join(tool);
        if is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            std::process::Command::new(exe)
        }
    }

    /// Starts the server and waits until it accepts connections.
    pub fn up(&self) {
        let log = self._dir.path().join("server.log");
        run(self
            .pg("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(log)
            .args(["-w", "start"]));
    }

    /// Stops the server (fast shutdown: clients are disconnected).
    pub fn down(&self) {
        run(self
            .pg("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"]));
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

fn run(cmd: &mut std::process::Command) {
    let out = cmd.output().expect("run a PostgreSQL tool");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
