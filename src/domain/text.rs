//! Vietnamese text: NFC normalisation and diacritic-free search keys.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// NFC-normalised, trimmed, inner whitespace collapsed.
pub fn nfc(s: &str) -> String {
    s.nfc().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Search key: lower case, diacritics removed, đ → d.
pub fn fold(s: &str) -> String {
    nfc(s)
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            c => c,
        })
        .collect::<String>()
        .to_lowercase()
}
