//! `webhook-relay box-sign`: the headers Box V2 would send with a body, one `Name: value` per
//! line, ready for `curl -H @file`.

use chrono::{SecondsFormat, Utc};

use crate::box_webhook::verify::sign;

/// The header lines for `body`. `timestamp` defaults to now (RFC 3339, seconds, UTC).
pub fn header_lines(
    body: &[u8],
    primary_key: &str,
    secondary_key: Option<&str>,
    timestamp: Option<&str>,
) -> String {
    let ts = timestamp
        .map(str::to_string)
        .unwrap_or_else(|| Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true));
    let mut out = format!(
        "box-delivery-id: {}\nbox-delivery-timestamp: {ts}\nbox-signature-version: 1\n\
         box-signature-algorithm: HmacSHA256\nbox-signature-primary: {}\n",
        uuid::Uuid::new_v4(),
        sign(primary_key, body, &ts),
    );
    if let Some(key) = secondary_key {
        out.push_str(&format!(
            "box-signature-secondary: {}\n",
            sign(key, body, &ts)
        ));
    }
    out.push_str("content-type: application/json\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_carry_the_spec_signature() {
        let body = br#"{"type":"webhook_event","webhook":{"id":"1234567890"},"trigger":"FILE.UPLOADED","source":{"id":"1234567890","type":"file","name":"Test.txt"}}"#;
        let lines = header_lines(
            body,
            "SamplePrimaryKey",
            Some("SampleSecondaryKey"),
            Some("2020-01-01T00:00:00-07:00"),
        );
        assert!(
            lines.contains("box-signature-primary: 6TfeAW3A1PASkgboxxA5yqHNKOwFyMWuEXny/FPD5hI=\n")
        );
        assert!(lines
            .contains("box-signature-secondary: v+1CD1Jdo3muIcbpv5lxxgPglOqMfsNHPV899xWYydo=\n"));
        assert!(lines.contains("box-delivery-timestamp: 2020-01-01T00:00:00-07:00\n"));
    }
}
