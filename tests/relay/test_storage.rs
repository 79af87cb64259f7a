//! The suite's own storage stays small: a PostgreSQL test's database is dropped once the test
//! is over (its temporary directory gone), even while a connection to it is still open. A
//! full run that kept them left ~150 databases, 1.1 GB, and filled a CI machine's disk.

use sqlx::Connection;

use crate::helpers::*;

async fn exists(admin: &str, name: &str) -> bool {
    let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await
        .unwrap();
    found.is_some()
}

#[tokio::test]
#[cfg_attr(
    not(relay_postgres),
    ignore = "set RELAY_TEST_POSTGRES_URL to run the PostgreSQL suite"
)]
async fn a_tests_database_is_dropped_once_its_directory_is_gone() {
    let Some(engine) = Engine::postgres() else {
        return;
    };
    let Engine::Postgres(admin) = &engine else {
        unreachable!("Engine::postgres is PostgreSQL");
    };
    let dir = tempfile::tempdir().unwrap();
    let url = engine.fresh_url(dir.path()).await;
    let name = url.rsplit('/').next().unwrap().to_owned();
    assert!(exists(admin, &name).await, "{name} was created");
    // A relay that outlived its test would still hold a connection.
    let held = sqlx::PgConnection::connect(&url).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(
        exists(admin, &name).await,
        "{name} stays while its directory does"
    );
    drop(dir);
    eventually("the test database dropped", || async {
        match exists(admin, &name).await {
            false => Ok(()),
            true => Err(format!("{name} still exists")),
        }
    })
    .await;
    drop(held);
}
