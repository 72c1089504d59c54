//! The beacon body as bytes: content type, content encoding and size limits, before any JSON is read.
//! Decompression is bounded, so a gzip bomb costs at most the cap in memory.
use std::io::Read;
use std::time::Duration;

/// The whole body must arrive within this long after the request's head: a client trickling bytes would
/// otherwise hold its connection for as long as it likes. 64 KiB in 10 s is 52 kbit/s, slower than any
/// mobile network a browser sends beacons over; real beacons are a few hundred bytes.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BodyError {
    #[error("the body is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("content encoding `{0}` is not supported; send identity or gzip")]
    UnsupportedEncoding(String),
    #[error("content type `{0}` is not supported; send text/plain or application/json")]
    UnsupportedMediaType(String),
    #[error("the gzip body is corrupt")]
    CorruptGzip,
    #[error("the body did not arrive within {} seconds", .0.as_secs())]
    Timeout(Duration),
}

impl BodyError {
    pub fn code(&self) -> &'static str {
        match self {
            BodyError::TooLarge { .. } => "payload_too_large",
            BodyError::UnsupportedEncoding(_) => "unsupported_encoding",
            BodyError::UnsupportedMediaType(_) => "unsupported_media_type",
            BodyError::CorruptGzip => "invalid_gzip",
            BodyError::Timeout(_) => "body_timeout",
        }
    }
}

/// sendBeacon with a string sends `text/plain`; `fetch` senders use JSON. No type at all is tolerated.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), BodyError> {
    let Some(raw) = content_type else { return Ok(()) };
    let essence = raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "" | "text/plain" | "application/json" => Ok(()),
        _ => Err(BodyError::UnsupportedMediaType(crate::ingest::beacon::truncate(raw, 100).to_owned())),
    }
}

/// Returns the decoded body, at most `max` bytes.
pub fn decode(encoding: Option<&str>, raw: Vec<u8>, max: usize) -> Result<Vec<u8>, BodyError> {
    let encoding = encoding.map(|e| e.trim().to_ascii_lowercase()).unwrap_or_default();
    match encoding.as_str() {
        "" | "identity" => {
            if raw.len() > max {
                return Err(BodyError::TooLarge { max });
            }
            Ok(raw)
        }
        "gzip" | "x-gzip" => {
            let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(max));
            flate2::read::GzDecoder::new(raw.as_slice())
                .take(max as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|_| BodyError::CorruptGzip)?;
            if out.len() > max {
                return Err(BodyError::TooLarge { max });
            }
            Ok(out)
        }
        other => Err(BodyError::UnsupportedEncoding(crate::ingest::beacon::truncate(other, 40).to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_cap() {
        let bomb = gzip(&vec![b'a'; 50 * 1024 * 1024]);
        assert!(bomb.len() < 100 * 1024);
        assert_eq!(decode(Some("gzip"), bomb, 64 * 1024), Err(BodyError::TooLarge { max: 64 * 1024 }));
    }

    #[test]
    fn gzip_within_the_cap_is_decoded() {
        assert_eq!(decode(Some("gzip"), gzip(b"{}"), 1024).unwrap(), b"{}");
    }

    #[test]
    fn only_identity_and_gzip_are_accepted() {
        assert_eq!(decode(Some("br"), vec![], 10).unwrap_err().code(), "unsupported_encoding");
        assert_eq!(decode(Some("identity"), vec![0; 11], 10).unwrap_err().code(), "payload_too_large");
        assert!(check_content_type(Some("text/plain;charset=UTF-8")).is_ok());
        assert_eq!(check_content_type(Some("multipart/form-data")).unwrap_err().code(), "unsupported_media_type");
    }
}
