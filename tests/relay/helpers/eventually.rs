//! The one way a test waits for something that happens in the background: poll until it
//! holds, or fail at [`DEADLINE`] saying what was last seen.

use std::future::Future;
use std::time::Duration;

use super::DEADLINE;

/// Runs `probe` until it gives `Ok`, and returns that value; a probe's `Err` says what it
/// saw instead. Polls every 20 ms at first, backing off to 200 ms; panics at [`DEADLINE`]
/// with `what` and the last thing seen.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut pause = Duration::from_millis(20);
    loop {
        let seen = match probe().await {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {DEADLINE:?}; last seen: {seen}"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}
