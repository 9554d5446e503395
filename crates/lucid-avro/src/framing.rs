//! The two byte layouts around an Avro body.

use apache_avro::{Schema, rabin::Rabin};

use crate::DecodeError;

/// First two bytes of a single-object encoded record.
pub const SINGLE_OBJECT_MAGIC: [u8; 2] = [0xC3, 0x01];
/// First byte of a Confluent-framed record.
pub const CONFLUENT_MAGIC: u8 = 0x00;

const SINGLE_OBJECT_HEADER: usize = 10;
const CONFLUENT_HEADER: usize = 5;

/// The CRC-64-AVRO (Rabin) fingerprint of a schema's parsing canonical form, little-endian,
/// as single-object encoding writes it.
pub fn fingerprint(schema: &Schema) -> [u8; 8] {
    let print = schema.fingerprint::<Rabin>();
    let mut out = [0u8; 8];
    out.copy_from_slice(&print.bytes[..8]);
    out
}

/// Writes the single-object header for `fingerprint`.
pub(crate) fn single_object_header(fingerprint: &[u8; 8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&SINGLE_OBJECT_MAGIC);
    out.extend_from_slice(fingerprint);
    out
}

/// Splits a single-object record into fingerprint and body.
pub(crate) fn split_single_object(bytes: &[u8]) -> Result<([u8; 8], &[u8]), DecodeError> {
    if bytes.len() >= 2 && bytes[..2] != SINGLE_OBJECT_MAGIC {
        return Err(bad_magic(&bytes[..2], &SINGLE_OBJECT_MAGIC));
    }
    if bytes.len() < SINGLE_OBJECT_HEADER {
        return Err(DecodeError::Truncated {
            len: bytes.len(),
            needed: SINGLE_OBJECT_HEADER,
        });
    }

    let mut print = [0u8; 8];
    print.copy_from_slice(&bytes[2..SINGLE_OBJECT_HEADER]);
    Ok((print, &bytes[SINGLE_OBJECT_HEADER..]))
}

/// Writes the Confluent header for `id`.
pub(crate) fn confluent_header(id: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.push(CONFLUENT_MAGIC);
    out.extend_from_slice(&id.to_be_bytes());
    out
}

/// Splits a Confluent record into schema id and body.
pub(crate) fn split_confluent(bytes: &[u8]) -> Result<(u32, &[u8]), DecodeError> {
    if let Some(first) = bytes.first()
        && *first != CONFLUENT_MAGIC
    {
        return Err(bad_magic(&bytes[..1], &[CONFLUENT_MAGIC]));
    }
    if bytes.len() < CONFLUENT_HEADER {
        return Err(DecodeError::Truncated {
            len: bytes.len(),
            needed: CONFLUENT_HEADER,
        });
    }

    let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    Ok((id, &bytes[CONFLUENT_HEADER..]))
}

fn bad_magic(found: &[u8], expected: &[u8]) -> DecodeError {
    DecodeError::BadMagic {
        found: hex::encode(found),
        expected: hex::encode(expected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_matches_the_avro_spec_test_vector() {
        // The Avro project's test vectors give CRC-64-AVRO("\"null\"") as the signed long
        // 7195948357588979594; single-object encoding writes it little-endian.
        let schema = Schema::parse_str(r#""null""#).expect("valid schema");
        assert_eq!(
            fingerprint(&schema),
            7_195_948_357_588_979_594_i64.to_le_bytes()
        );
    }

    #[test]
    fn short_single_object_record_is_truncated() {
        let error = split_single_object(&[0xC3, 0x01, 1, 2]).expect_err("too short");
        assert!(matches!(
            error,
            DecodeError::Truncated { len: 4, needed: 10 }
        ));
    }

    #[test]
    fn single_object_magic_is_checked_before_length() {
        let error = split_single_object(&[0x00, 0x00, 0, 0, 1]).expect_err("wrong magic");
        assert_eq!(error.to_string(), "wrong magic bytes 0000, expected c301");
    }

    #[test]
    fn confluent_header_round_trips_the_id() {
        let mut bytes = confluent_header(0x0102_0304);
        bytes.push(42);
        let (id, body) = split_confluent(&bytes).expect("valid header");
        assert_eq!((id, body), (0x0102_0304, &[42u8][..]));
    }

    #[test]
    fn confluent_wrong_magic_and_truncation_are_errors() {
        assert!(matches!(
            split_confluent(&[1, 0, 0, 0, 1]),
            Err(DecodeError::BadMagic { .. })
        ));
        assert!(matches!(
            split_confluent(&[0, 0, 0]),
            Err(DecodeError::Truncated { len: 3, .. })
        ));
        assert!(matches!(
            split_confluent(&[]),
            Err(DecodeError::Truncated { len: 0, .. })
        ));
    }
}
