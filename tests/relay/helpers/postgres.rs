//! PostgreSQL for tests: fresh databases on the shared server, and a private server that a
//! test may stop and start.

use std::path::PathBuf;
use std::process::Stdio;

/// Creates a new, empty database on the server of `admin_url`; returns its URL.
pub async fn fresh_database(admin_url: &str) -> String {
    webhook_relay::store::postgres::create_database(admin_url)
        .await
        .expect("create a test database through RELAY_TEST_POSTGRES_URL")
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
