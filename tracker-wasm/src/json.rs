//! A tiny JSON writer. `serde_json` and `core::fmt` would each cost more bytes than the whole tracker is
//! allowed, so numbers and strings are written by hand — and only ever through `push_str` and ASCII
//! constants, since pushing a computed `char` pulls in UTF-8 encoding code.

const HEX: &str = "0123456789abcdef";

/// Appends `s`. Every write goes through this one function: `push_str` inlined at each call site (capacity
/// check, growth, copy) would repeat the same code dozens of times in the module.
#[inline(never)]
pub fn push(out: &mut String, s: &str) {
    out.push_str(s);
}

/// Writes `s` as a JSON string literal. Runs of plain bytes are copied whole; only `"`, `\` and control
/// characters are escaped (other characters, multi-byte ones included, are valid inside JSON strings).
pub fn push_str(out: &mut String, s: &str) {
    push(out, "\"");
    let bytes = s.as_bytes();
    let mut plain = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x20 || b == b'"' || b == b'\\' {
            push(out, &s[plain..i]);
            if b < 0x20 {
                push(out, if b < 0x10 { "\\u000" } else { "\\u001" });
                hex_digit(out, b);
            } else {
                push(out, if b == b'"' { "\\\"" } else { "\\\\" });
            }
            plain = i + 1;
        }
        i += 1;
    }
    push(out, &s[plain..]);
    push(out, "\"");
}

/// The hexadecimal digit of the low four bits of `b`.
pub fn hex_digit(out: &mut String, b: u8) {
    let i = (b & 15) as usize;
    push(out, &HEX[i..i + 1]);
}

pub fn push_int(out: &mut String, value: i64) {
    if value < 0 {
        push(out, "-");
    }
    push_digits(out, value.unsigned_abs());
}

fn push_digits(out: &mut String, n: u64) {
    if n >= 10 {
        push_digits(out, n / 10);
    }
    hex_digit(out, (n % 10) as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_read_back_unchanged() {
        let text = "q\"\\\n\u{1}\u{1f}é✓ <tab>\t";
        let mut out = String::new();
        push_str(&mut out, text);
        assert_eq!(out, r#""q\"\\\u000a\u0001\u001fé✓ <tab>\u0009""#);
        assert_eq!(serde_json::from_str::<String>(&out).unwrap(), text);
    }

    #[test]
    fn integers_are_exact() {
        for n in [0, 7, 10, 99, 100, -1, -1234567890123, i64::MAX, i64::MIN] {
            let mut out = String::new();
            push_int(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }
}
