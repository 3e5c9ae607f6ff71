//! Text into JSON: the one string-escaping function, for the JSON listing. File names are
//! arbitrary bytes on disk; the ones that reach here are UTF-8 (the listing leaves the others
//! out), and every one of them becomes a JSON string that parses back to exactly that name.

use std::fmt::Write as _;

/// Appends `text` as a JSON string, quotes included (RFC 8259 §7). `"` and `\` are escaped
/// as the grammar requires, and so is every control character (U+0000–U+001F, and DEL);
/// `<`, `>`, `&`, U+2028 and U+2029 too, so the string can also sit inside an HTML
/// `<script>` or be evaluated as JavaScript without ending it early. Everything else is
/// UTF-8 as it is.
pub fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{0}'..='\u{1f}' | '\u{7f}' | '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                // Writing into a String cannot fail.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> String {
        let mut out = String::new();
        push_json_string(&mut out, text);
        out
    }

    #[test]
    fn quotes_backslashes_and_controls_are_escaped() {
        assert_eq!(json("plain.txt"), "\"plain.txt\"");
        assert_eq!(json("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(json("\n\r\t\u{8}\u{c}"), "\"\\n\\r\\t\\b\\f\"");
        assert_eq!(json("\u{0}\u{1}\u{1f}\u{7f}"), "\"\\u0000\\u0001\\u001f\\u007f\"");
        assert_eq!(json("</script>&"), "\"\\u003c/script\\u003e\\u0026\"");
        assert_eq!(json("\u{2028}\u{2029}"), "\"\\u2028\\u2029\"");
        assert_eq!(json("\u{65e5}\u{e9}\u{1f600}"), "\"\u{65e5}\u{e9}\u{1f600}\"");
    }
}
