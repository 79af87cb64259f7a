//! Operator endpoints.

use crate::helpers::*;

pub async fn health_and_readiness_answer_ok_while_running(engine: Engine) {
    let receiver = Receiver::start().await;
    let app = spawn_app(&engine, &receiver).await;
    let (s, body) = answer(app.http.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!((s, body["status"].as_str()), (200, Some("ok")));
    let (s, body) = answer(app.http.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!((s, body["status"].as_str()), (200, Some("ready")));
    let (s, body) = answer(app.http.get(app.url("/nope")).send().await.unwrap()).await;
    assert_eq!((s, body["code"].as_str()), (404, Some("not_found")));
}

engine_tests!(health_and_readiness_answer_ok_while_running,);
