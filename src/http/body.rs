//! Request bodies of the Box routes, read under a budget: every byte held in memory counts
//! against `server.body_budget_bytes` until the request is answered, so a crowd of
//! unauthenticated clients sending large unfinished bodies holds at most the budget. Bodies
//! over [`SMALL_BODY`] may use only three quarters of it: ordinary Box deliveries (a few KB)
//! still get through while large uploads hold the rest.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;

/// Bodies up to this size may use the whole budget; larger ones leave a quarter free.
pub const SMALL_BODY: usize = 64 * 1024;

/// The shared budget of body bytes in flight.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    /// What large bodies must leave free.
    reserve: usize,
}

/// A body read under the budget; its bytes count until this is dropped.
#[derive(Debug)]
pub struct Held {
    /// The body.
    pub bytes: Bytes,
    _permit: Option<OwnedSemaphorePermit>,
}

impl BodyBudget {
    /// A budget of `total` bytes.
    pub fn new(total: usize) -> Self {
        let total = total.min(Semaphore::MAX_PERMITS);
        Self {
            bytes: Arc::new(Semaphore::new(total)),
            reserve: total / 4,
        }
    }

    /// Bytes not held by any request now.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }

    /// Takes `n` more bytes for a body that will then hold `total`, or says the relay is full.
    fn take(
        &self,
        held: &mut Option<OwnedSemaphorePermit>,
        n: usize,
        total: usize,
    ) -> Result<(), ApiError> {
        if n == 0 {
            return Ok(());
        }
        if total > SMALL_BODY && self.available().saturating_sub(n) < self.reserve {
            return Err(ApiError::Overloaded);
        }
        let n = u32::try_from(n).map_err(|_| ApiError::Overloaded)?;
        let permit = self
            .bytes
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| ApiError::Overloaded)?;
        match held {
            Some(p) => p.merge(permit),
            None => *held = Some(permit),
        }
        Ok(())
    }

    /// Reads `body` up to `limit` bytes (413 beyond; a `Content-Length` over it is refused
    /// before anything is read). A declared length is reserved whole before reading, the
    /// rest as it arrives; over the budget: 503 `overloaded` with `Retry-After`.
    pub async fn read(
        &self,
        headers: &HeaderMap,
        body: Body,
        limit: usize,
    ) -> Result<Held, ApiError> {
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(ApiError::TooLarge(limit));
        }
        let declared = declared.unwrap_or(0) as usize;
        let mut permit = None;
        self.take(&mut permit, declared, declared)?;
        let mut reserved = declared;
        let mut buf = BytesMut::with_capacity(declared);
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| ApiError::BadRequest(format!("could not read the body: {e}")))?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers
            };
            let total = buf.len() + data.len();
            if total > limit {
                return Err(ApiError::TooLarge(limit));
            }
            if total > reserved {
                self.take(&mut permit, total - reserved, total)?;
                reserved = total;
            }
            buf.extend_from_slice(&data);
        }
        Ok(Held {
            bytes: buf.freeze(),
            _permit: permit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(len: Option<usize>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(n) = len {
            h.insert(header::CONTENT_LENGTH, n.into());
        }
        h
    }

    #[tokio::test]
    async fn bodies_hold_the_budget_until_dropped() {
        let budget = BodyBudget::new(1000);
        let a = budget
            .read(&headers(Some(600)), Body::from(vec![1u8; 600]), 1000)
            .await
            .unwrap();
        assert_eq!(a.bytes.len(), 600);
        assert_eq!(budget.available(), 400);
        let refused = budget
            .read(&headers(None), Body::from(vec![1u8; 500]), 1000)
            .await;
        assert!(matches!(refused, Err(ApiError::Overloaded)));
        assert_eq!(budget.available(), 400, "a refused body holds nothing");
        drop(a);
        assert_eq!(budget.available(), 1000);
    }

    #[tokio::test]
    async fn large_bodies_leave_a_quarter_for_small_ones() {
        let budget = BodyBudget::new(4 * SMALL_BODY * 4);
        let big = 2 * SMALL_BODY;
        let mut held = Vec::new();
        while let Ok(h) = budget
            .read(&headers(Some(big)), Body::from(vec![0u8; big]), usize::MAX)
            .await
        {
            held.push(h);
        }
        assert!(budget.available() >= budget.reserve, "the reserve is kept");
        let small = budget
            .read(
                &headers(Some(3000)),
                Body::from(vec![0u8; 3000]),
                usize::MAX,
            )
            .await;
        assert!(small.is_ok(), "an ordinary delivery still gets through");
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let budget = BodyBudget::new(1 << 20);
        let r = budget.read(&headers(Some(2000)), Body::empty(), 1000).await;
        assert!(matches!(r, Err(ApiError::TooLarge(1000))));
        let r = budget
            .read(&headers(None), Body::from(vec![0u8; 1001]), 1000)
            .await;
        assert!(matches!(r, Err(ApiError::TooLarge(1000))));
    }
}
