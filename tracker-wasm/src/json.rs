//! A tiny JSON writer. `serde_json` and `core::fmt` would each cost more bytes than the whole tracker is
//! allowed, so numbers and strings are written by hand.

/// Builds one JSON object, field by field.
pub struct Object {
    buf: String,
}

impl Object {
    pub fn new() -> Object {
        Object { buf: String::from("{") }
    }

    fn key(&mut self, key: &str) {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        push_str(&mut self.buf, key);
        self.buf.push(':');
    }

    pub fn str(mut self, key: &str, value: &str) -> Object {
        self.key(key);
        push_str(&mut self.buf, value);
        self
    }

    pub fn opt_str(self, key: &str, value: Option<&str>) -> Object {
        match value {
            Some(v) => self.str(key, v),
            None => self,
        }
    }

    pub fn int(mut self, key: &str, value: i64) -> Object {
        self.key(key);
        push_int(&mut self.buf, value);
        self
    }

    pub fn flag(mut self, key: &str, value: bool) -> Object {
        if value {
            self.key(key);
            self.buf.push_str("true");
        }
        self
    }

    /// `value` must already be JSON.
    pub fn raw(mut self, key: &str, value: &str) -> Object {
        self.key(key);
        self.buf.push_str(value);
        self
    }

    pub fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

impl Default for Object {
    fn default() -> Self {
        Object::new()
    }
}

/// Writes `s` as a JSON string literal.
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

pub fn push_int(out: &mut String, value: i64) {
    if value < 0 {
        out.push('-');
    }
    let mut n = value.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(d as char);
    }
}

/// `[a,b,c]` from already-encoded JSON values.
pub fn array(items: &[String]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_numbers_exact() {
        let json = Object::new().str("a", "q\"\\\n\u{1}é").int("n", -1234567890123).int("z", 0).flag("t", true).flag("f", false).finish();
        assert_eq!(json, r#"{"a":"q\"\\\n\u0001é","n":-1234567890123,"z":0,"t":true}"#);
        assert_eq!(array(&[json.clone(), "{}".into()]), format!("[{json},{{}}]"));
    }
}
