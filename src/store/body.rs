//! How an event's body is kept at rest: compressed with zstd against a dictionary of the
//! notification's shape, behind a one-byte format marker, and read back byte for byte.
//!
//! A body is 3.3 KB of JSON (the Cloud Elements envelope around Box's payload, kept as
//! received); alone it compresses to ~1.16 KB (zstd level 3). Most of what is left are the
//! key names of Box's objects, the same in every event but too far apart within one body
//! for the compressor to see it: the dictionary ([`DICTIONARY_V1`], 4 KB) holds those
//! names, the envelope and Box's constant values (`"type":"file"`, `"item_status":"active"`)
//! in compact and indented JSON, and no value of any real event (no id, name, date or
//! hash). With it the spec's payload stores in ~720 bytes.
//!
//! Stored formats, told apart by the first byte (a body is a JSON object, so it starts with
//! `{` or whitespace, never with a control byte):
//! - [`ZSTD_DICT_V1`] (0x01): a zstd frame, with its content size, made with
//!   [`DICTIONARY_V1`];
//! - anything else: the body itself, as stored before compression (and as stored when
//!   compressing fails, which it should not).
//!
//! A dictionary is part of the format: never edit `body_dictionary_v1.txt` (a unit test
//! holds its digest); a better one is a new file with a new marker, and both stay readable.

use std::cell::RefCell;
use std::sync::LazyLock;

use bytes::Bytes;
use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// First byte of a body compressed with zstd and [`DICTIONARY_V1`].
pub const ZSTD_DICT_V1: u8 = 0x01;

/// The raw-content dictionary of format [`ZSTD_DICT_V1`].
pub static DICTIONARY_V1: &[u8] = include_bytes!("body_dictionary_v1.txt");

/// zstd's level 3 (its default): level 1 stores ~5 % more, 19 only ~2 % less at many times
/// the CPU.
const LEVEL: i32 = 3;

/// A stored frame that claims more than this is corrupt (the relay accepts far smaller
/// bodies), not an allocation to attempt.
const MAX_BODY: u64 = 64 * 1024 * 1024;

static ENCODER_V1: LazyLock<EncoderDictionary<'static>> =
    LazyLock::new(|| EncoderDictionary::copy(DICTIONARY_V1, LEVEL));
static DECODER_V1: LazyLock<DecoderDictionary<'static>> =
    LazyLock::new(|| DecoderDictionary::copy(DICTIONARY_V1));

/// Compresses bodies for storage; one per batch (it holds a zstd context).
pub struct Packer {
    compressor: Option<Compressor<'static>>,
}

impl Packer {
    /// A packer with the current format.
    pub fn new() -> Self {
        let compressor = Compressor::with_prepared_dictionary(&ENCODER_V1)
            .map_err(|e| tracing::warn!(error = %e, "zstd unavailable: bodies stored as they are"))
            .ok();
        Self { compressor }
    }

    /// What to store for `body`: compressed, or the body itself should compression fail (it
    /// reads back either way).
    pub fn pack(&mut self, body: &[u8]) -> Vec<u8> {
        let Some(compressor) = self.compressor.as_mut() else {
            return body.to_vec();
        };
        match compressor.compress(body) {
            Ok(frame) => {
                let mut stored = Vec::with_capacity(1 + frame.len());
                stored.push(ZSTD_DICT_V1);
                stored.extend_from_slice(&frame);
                stored
            }
            Err(e) => {
                tracing::warn!(error = %e, "compressing a body failed: stored as it is");
                body.to_vec()
            }
        }
    }
}

impl Default for Packer {
    fn default() -> Self {
        Self::new()
    }
}

/// An event's body, and the bytes it is stored as. Made where the event is made (the ingest
/// handlers, many at a time), so that the group commit, which stores a batch or two at a
/// time, spends its turn on SQL only.
#[derive(Debug, Clone, Default)]
pub struct Body {
    raw: Bytes,
    stored: Bytes,
}

thread_local! {
    /// A zstd context per thread, made once.
    static PACKER: RefCell<Packer> = RefCell::new(Packer::new());
}

impl Body {
    /// `raw`, packed for storage.
    pub fn new(raw: Bytes) -> Self {
        let stored = PACKER.with(|p| p.borrow_mut().pack(&raw)).into();
        Self { raw, stored }
    }

    /// The body as sent.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The body as sent, leaving the stored form.
    pub fn into_raw(self) -> Bytes {
        self.raw
    }

    /// What is stored for it (shared, not copied, when cloned).
    pub fn stored(&self) -> &Bytes {
        &self.stored
    }
}

impl From<Bytes> for Body {
    fn from(raw: Bytes) -> Self {
        Self::new(raw)
    }
}

/// Why a stored body cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("the stored body does not decompress: {0}")]
pub struct Unreadable(String);

/// Reads stored bodies back; one per batch of reads (its zstd context is made on the first
/// compressed body).
#[derive(Default)]
pub struct Unpacker {
    decompressor: Option<Decompressor<'static>>,
}

impl Unpacker {
    /// The body `stored` holds, byte for byte as it was given to [`Packer::pack`].
    pub fn unpack(&mut self, stored: Vec<u8>) -> Result<Bytes, Unreadable> {
        let Some((&ZSTD_DICT_V1, frame)) = stored.split_first() else {
            return Ok(Bytes::from(stored));
        };
        let size = zstd::zstd_safe::get_frame_content_size(frame)
            .map_err(|_| Unreadable("not a zstd frame".into()))?
            .ok_or_else(|| Unreadable("the frame has no content size".into()))?;
        if size > MAX_BODY {
            return Err(Unreadable(format!("the frame claims {size} bytes")));
        }
        let decompressor = match &mut self.decompressor {
            Some(d) => d,
            empty => empty.insert(
                Decompressor::with_prepared_dictionary(&DECODER_V1)
                    .map_err(|e| Unreadable(e.to_string()))?,
            ),
        };
        let body = decompressor
            .decompress(frame, size as usize)
            .map_err(|e| Unreadable(e.to_string()))?;
        if body.len() as u64 != size {
            return Err(Unreadable("the frame is shorter than it claims".into()));
        }
        Ok(Bytes::from(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    const PAYLOAD: &str = include_str!("../../tests/fixtures/box-v2-file-uploaded.json");

    fn envelope(raw: &str) -> Vec<u8> {
        format!(
            r#"{{"severity":"medium","createdDate":"Thu Dec 03 16:50:01 UTC 2026","topic":"instance-7-box-events","action":"create","id":"4829104821","message":{{"elementKey":"box","eventId":"AXBooiL_qrZEur0mJV08abcd","instanceId":7,"instance_id":7,"instanceName":"Acme","instanceTags":["a"],"raw":{raw},"events":[]}},"user":"notifications@cloud-elements.com"}}"#
        )
        .into_bytes()
    }

    #[test]
    fn a_body_comes_back_byte_for_byte_and_smaller() {
        let body = envelope(PAYLOAD);
        let stored = Packer::new().pack(&body);
        assert_eq!(stored[0], ZSTD_DICT_V1);
        assert!(stored.len() < 800, "{} bytes stored", stored.len());
        let back = Unpacker::default().unpack(stored).unwrap();
        assert_eq!(&back[..], &body[..]);
    }

    #[test]
    fn bodies_of_any_shape_round_trip() {
        let mut packer = Packer::new();
        let mut unpacker = Unpacker::default();
        let shapes: [&[u8]; 5] = [
            b"",
            b"{}",
            b" \n{\"a\":1}",
            &[0xff, 0x00, 0x01],
            &[7; 100_000],
        ];
        for body in shapes {
            let back = unpacker.unpack(packer.pack(body)).unwrap();
            assert_eq!(&back[..], body);
        }
    }

    #[test]
    fn a_large_body_round_trips_compressed() {
        // ~140 KB: more than one zstd block (128 KiB). (The events differ only in their
        // ids, so it compresses far below a tenth; the size check is a floor, not a test
        // of the ratio.)
        let events: Vec<String> = (0..50)
            .map(|i| PAYLOAD.trim().replace("11446498", &format!("{i:08}")))
            .collect();
        let body = envelope(&format!("[{}]", events.join(",")));
        assert!(body.len() > 128 * 1024, "{} bytes", body.len());
        let stored = Packer::new().pack(&body);
        assert_eq!(stored[0], ZSTD_DICT_V1);
        assert!(
            stored.len() < body.len() / 10,
            "{} bytes stored",
            stored.len()
        );
        assert_eq!(&Unpacker::default().unpack(stored).unwrap()[..], &body[..]);
    }

    #[test]
    fn a_body_stored_before_compression_reads_as_itself() {
        let body = envelope(PAYLOAD);
        let back = Unpacker::default().unpack(body.clone()).unwrap();
        assert_eq!(&back[..], &body[..]);
    }

    #[test]
    fn a_damaged_frame_is_an_error_not_a_body() {
        let mut stored = Packer::new().pack(&envelope(PAYLOAD));
        stored.truncate(stored.len() / 2);
        assert!(Unpacker::default().unpack(stored).is_err());
        let claims_too_much = [ZSTD_DICT_V1, 0x28, 0xb5, 0x2f, 0xfd, 0x00];
        assert!(Unpacker::default()
            .unpack(claims_too_much.to_vec())
            .is_err());
    }

    #[test]
    fn the_dictionary_of_stored_bodies_never_changes() {
        let digest = Sha256::digest(DICTIONARY_V1);
        assert_eq!(
            hex(&digest),
            "0741cbea5ef24ef90abb6de6c89aea50ef348b4c050dd19c8a552f3c93372aba",
            "bodies stored with format 1 need this exact dictionary: add a version 2 instead"
        );
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
