//! Instance ids that are not instances, replays (verbatim and with a new delivery id), and a
//! V1 callback of 100,000 distinct parameters.

use super::{report, with, Corpus};
use crate::helpers::*;

pub async fn odd_instance_ids_replays_and_huge_v1_callbacks_get_documented_answers(engine: Engine) {
    let mut corpus = Corpus::start(&engine).await;
    odd_instance_ids(&mut corpus).await;
    replays(&mut corpus).await;
    many_v1_parameters(&mut corpus).await;
    // The replayed event once, and the V1 callback under a fresh id.
    corpus.finish("requests", &[Some("replayed"), None]).await;
}

/// Instance ids that are not instances: 404 `not_found`, JSON like any unknown id.
async fn odd_instance_ids(corpus: &mut Corpus) {
    let body = box_payload_with_id("nowhere");
    for id in [
        "abc",
        "0",
        "-1",
        "99999999999999999999999",
        "1.0",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "..%2F1",
        "1%00",
        "%FF%FE",
        "1;drop",
    ] {
        let (status, answer) = corpus
            .post(&format!("/webhooks/box/{id}"), &body, &box_headers(&body))
            .await;
        corpus.check(id, status, 404);
        assert_eq!(answer["code"], "not_found", "{id}");
    }
}

/// Replays, verbatim and with a new `box-delivery-id`, are duplicates of the first.
async fn replays(corpus: &mut Corpus) {
    let body = box_payload_with_id("replayed");
    let headers = box_headers(&body);
    let (status, first) = corpus.post("/webhooks/box/1", &body, &headers).await;
    corpus.check("original", status, 200);
    let (status, again) = corpus.post("/webhooks/box/1", &body, &headers).await;
    corpus.check("verbatim replay", status, 200);
    assert_eq!(
        (again["status"].as_str(), &again["eventId"]),
        (Some("duplicate"), &first["eventId"])
    );
    let renamed = with(&headers, "box-delivery-id", "another-delivery-id");
    let (status, again) = corpus.post("/webhooks/box/1", &body, &renamed).await;
    corpus.check("replay with a new delivery id", status, 200);
    assert_eq!(again["status"], "duplicate");
}

/// A V1 callback of 100,000 distinct parameters is handled in linear time.
async fn many_v1_parameters(corpus: &mut Corpus) {
    let params: String = (0..100_000).map(|i| format!("p{i}=&")).collect();
    let started = std::time::Instant::now();
    let res = reqwest::Client::new()
        .post(
            corpus
                .relay
                .url(&format!("/webhooks/box/1/v1?token={V1_TOKEN}")),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(params)
        .timeout(DEADLINE)
        .send()
        .await
        .expect("answered");
    corpus.check("100,000 V1 parameters", res.status().as_u16(), 200);
    report(&format!(
        "100,000 V1 parameters answered in {:?}",
        started.elapsed()
    ));
}
