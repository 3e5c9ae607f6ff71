//! Text into HTML: the one escaping function, for listings (file and folder names) and the
//! redirect page (the `Location`, query included). Every byte that came from a request or a
//! file name goes through it before it reaches an HTML body.

/// Escapes the five characters that can end text or an attribute in HTML.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_five_are_escaped_and_nothing_else() {
        assert_eq!(escape_html("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
        assert_eq!(escape_html("/d/?a=1&amp;"), "/d/?a=1&amp;amp;");
        assert_eq!(escape_html("\u{65e5} %20 plain"), "\u{65e5} %20 plain");
    }
}
