//! Vietnamese text: NFC normalisation, diacritic-free search keys and a
//! collation key following Vietnamese alphabetical order.
//!
//! Collation ([`vi_sort_key`]) follows the CLDR Vietnamese tailoring:
//! - primary level: the letters `a ă â b c d đ e ê (f) g h i (j) k l m n o ô ơ
//!   p q r s t u ư v (w) x y (z)`, case-insensitive; ă â đ ê ô ơ ư are letters
//!   of their own, not a or d with a mark. Digraphs (ch, gh, ng, nh, …) sort
//!   letter by letter, as in current dictionaries. Before letters come spaces,
//!   then punctuation and symbols, then numbers (a run of digits compares by
//!   its numeric value, so "Phường 2" < "Phường 10"); after them, letters of
//!   other scripts by code point.
//! - secondary level: the tones, left to right, in the order ngang (none),
//!   huyền (grave), hỏi (hook above), ngã (tilde), sắc (acute), nặng (dot
//!   below): ma < mà < mả < mã < má < mạ. A tone only decides between strings
//!   whose letters are all the same: "mạ" < "mai" and "Án" < "Anh".
//! - tertiary level: lower case before upper case.
//! - last, the NFC code points, so that different strings never tie.

use std::cmp::Ordering;

use unicode_normalization::char::{decompose_canonical, is_combining_mark};
use unicode_normalization::UnicodeNormalization;

/// Why text holding U+0000 is refused (PostgreSQL text cannot store it).
pub const NUL_MESSAGE: &str = "may not contain U+0000 (NUL)";

/// NFC-normalised, trimmed, inner whitespace runs collapsed to one space.
pub fn nfc(s: &str) -> String {
    s.nfc()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Search key: lower case, diacritics removed, đ/Đ → d ("Hà Nội" → "ha noi").
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

/// Compares two strings in Vietnamese alphabetical order (see [`vi_sort_key`]).
pub fn vi_cmp(a: &str, b: &str) -> Ordering {
    vi_sort_key(a).cmp(&vi_sort_key(b))
}

/// Sort key in Vietnamese alphabetical order: letters, then tones, then case.
pub fn vi_sort_key(s: &str) -> Vec<u32> {
    let s = nfc(s);
    let mut primary = Vec::with_capacity(s.len() + 1);
    let mut secondary = Vec::with_capacity(s.len() + 1);
    let mut tertiary = Vec::with_capacity(s.len() + 1);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            primary.push(W_SPACE);
        } else if c.is_ascii_digit() {
            let mut digits = vec![c];
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                digits.push(d);
            }
            let significant: Vec<u32> = digits
                .iter()
                .skip_while(|d| **d == '0')
                .map(|d| u32::from(*d) - u32::from('0') + 1)
                .collect();
            primary.push(W_NUMBER);
            primary.push(significant.len() as u32 + 1);
            primary.extend(significant);
        } else {
            let g = Grapheme::of(c);
            match g.letter {
                Some(w) => {
                    primary.push(w);
                    secondary.push(g.tone);
                    tertiary.push(if g.upper { 2 } else { 1 });
                }
                None => primary.push(W_PUNCT + u32::from(c)),
            }
        }
    }
    let mut key = primary;
    key.push(0);
    key.extend(secondary);
    key.push(0);
    key.extend(tertiary);
    key.push(0);
    key.extend(s.chars().map(|c| u32::from(c) + 1));
    key
}

/// The Vietnamese alphabet, with the foreign letters f j w z in Latin order.
const ALPHABET: [char; 33] = [
    'a', 'ă', 'â', 'b', 'c', 'd', 'đ', 'e', 'ê', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
    'ô', 'ơ', 'p', 'q', 'r', 's', 't', 'u', 'ư', 'v', 'w', 'x', 'y', 'z',
];

// Primary weights: 0 ends a level, so every weight is at least 1.
const W_SPACE: u32 = 1;
const W_PUNCT: u32 = 2; // + code point, at most 0x0011_0001
const W_NUMBER: u32 = 0x0020_0000; // then length + 1, then each digit + 1
const W_LETTER: u32 = 0x0030_0000; // + index in ALPHABET
const W_OTHER: u32 = 0x0040_0000; // + code point of the lower-case base letter

/// One character, decomposed into the collation's letter, tone and case.
struct Grapheme {
    letter: Option<u32>,
    tone: u32,
    upper: bool,
}

impl Grapheme {
    fn of(c: char) -> Self {
        let mut base = None;
        let (mut breve, mut circumflex, mut horn) = (false, false, false);
        let mut tone = 1;
        decompose_canonical(c, |d| match d {
            '\u{0306}' => breve = true,
            '\u{0302}' => circumflex = true,
            '\u{031B}' => horn = true,
            '\u{0300}' | '\u{0309}' | '\u{0303}' | '\u{0301}' | '\u{0323}' if tone == 1 => {
                tone = match d {
                    '\u{0300}' => 2, // huyền
                    '\u{0309}' => 3, // hỏi
                    '\u{0303}' => 4, // ngã
                    '\u{0301}' => 5, // sắc
                    _ => 6,          // nặng
                }
            }
            d if base.is_none() && !is_combining_mark(d) => base = Some(d),
            _ => {}
        });
        let Some(base) = base.filter(|b| b.is_alphanumeric()) else {
            return Grapheme {
                letter: None,
                tone: 1,
                upper: false,
            };
        };
        let upper = base.is_uppercase();
        let lower = base.to_lowercase().next().unwrap_or(base);
        let vietnamese = match (lower, breve, circumflex, horn) {
            ('a', true, _, _) => 'ă',
            ('a', _, true, _) => 'â',
            ('e', _, true, _) => 'ê',
            ('o', _, true, _) => 'ô',
            ('o', _, _, true) => 'ơ',
            ('u', _, _, true) => 'ư',
            (l, ..) => l,
        };
        let letter = match ALPHABET.iter().position(|a| *a == vietnamese) {
            Some(i) => W_LETTER + i as u32,
            None => W_OTHER + u32::from(lower),
        };
        Grapheme {
            letter: Some(letter),
            tone,
            upper,
        }
    }
}

/// A text cell for a CSV file as a spreadsheet will open it: text that
/// starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading
/// `'` (OWASP's advice against CSV injection), so that it reads as text and
/// never runs as a formula. Numbers are written as they are, not through this.
pub fn csv_text_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

/// A `LIKE` pattern matching `s` anywhere: `\`, `%` and `_` in `s` are
/// escaped with `\`, so the query must say `ESCAPE '\'` (the user's text is
/// never a wildcard).
pub fn like_contains(s: &str) -> String {
    let mut p = String::with_capacity(s.len() + 2);
    p.push('%');
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(words: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        v.sort_by_key(|s| vi_sort_key(s));
        v
    }

    /// Every element strictly before the next one, whatever the input order.
    fn assert_order(expected: &[&str]) {
        for w in expected.windows(2) {
            assert_eq!(
                vi_cmp(w[0], w[1]),
                Ordering::Less,
                "{:?} < {:?}",
                w[0],
                w[1]
            );
        }
        let mut reversed = expected.to_vec();
        reversed.reverse();
        assert_eq!(sorted(&reversed), expected);
        let mut rotated = expected.to_vec();
        rotated.rotate_left(expected.len() / 2);
        assert_eq!(sorted(&rotated), expected);
    }

    #[test]
    fn nfc_composes_trims_and_collapses() {
        let decomposed = "  Ha\u{0300}   No\u{0302}\u{0323}i\t\n";
        assert_eq!(nfc(decomposed), "Hà Nội");
        assert_eq!(nfc("Hà Nội").chars().count(), 6);
        assert_eq!(nfc("Tràng\u{00A0}\u{00A0}An"), "Tràng An");
        assert_eq!(nfc("   "), "");
        assert_eq!(nfc(""), "");
        assert_eq!(nfc(&nfc(decomposed)), nfc(decomposed));
    }

    #[test]
    fn csv_text_cells_that_look_like_formulas_are_quoted() {
        for s in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(csv_text_cell(s), format!("'{s}"));
        }
        assert_eq!(csv_text_cell("Hoa Lư"), "Hoa Lư");
        assert_eq!(csv_text_cell(""), "");
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_contains("50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(like_contains("ha noi"), "%ha noi%");
    }

    #[test]
    fn fold_strips_tones_letters_marks_and_case() {
        assert_eq!(fold("Hà Nội"), "ha noi");
        assert_eq!(fold("ĐƯỜNG Láng"), "duong lang");
        assert_eq!(fold("Nguyễn Thị Bích"), "nguyen thi bich");
        assert_eq!(fold("Tỉnh Đắk Lắk"), "tinh dak lak");
        assert_eq!(fold("ăâêôơư ĂÂÊÔƠƯ đĐ"), "aaeoou aaeoou dd");
        assert_eq!(fold("  Karaoke   Hoàng\tGia "), "karaoke hoang gia");
        assert_eq!(fold("Ha\u{0300} No\u{0302}\u{0323}i"), "ha noi");
        assert_eq!(fold("Massage 24/7"), "massage 24/7");
        assert_eq!(fold(&fold("Thừa Thiên Huế")), fold("Thừa Thiên Huế"));
    }

    #[test]
    fn surnames_in_dictionary_order() {
        assert_order(&[
            "Anh", "Ân", "Âu", "Bùi", "Cao", "Chu", "Dương", "Đàm", "Đặng", "Đinh", "Đỗ", "Giang",
            "Hà", "Hoàng", "Hồ", "Huỳnh", "Khổng", "Lã", "Lê", "Lương", "Lý", "Mạc", "Ngô",
            "Nguyễn", "Ông", "Phạm", "Phan", "Quách", "Tạ", "Tăng", "Trần", "Trịnh", "Uông", "Ứng",
            "Vũ", "Vương", "Yên",
        ]);
    }

    #[test]
    fn special_letters_are_primary_letters() {
        // đ after d whatever follows; ă and â after a.
        assert_eq!(vi_cmp("Đông", "Dương"), Ordering::Greater);
        assert_eq!(vi_cmp("Đa", "Dzung"), Ordering::Greater);
        assert_eq!(vi_cmp("Ân", "Anh"), Ordering::Greater);
        assert_order(&["Áo", "Ăn", "Ẩn"]);
        assert_order(&["an", "anh", "ăn", "ân"]);
        assert_order(&["co", "cô", "cơ", "cu", "cư"]);
        assert_order(&["Thu", "Thư", "Thưa"]);
    }

    #[test]
    fn tones_in_order_ngang_huyen_hoi_nga_sac_nang() {
        assert_order(&["ma", "mà", "mả", "mã", "má", "mạ"]);
        assert_order(&["Ưng", "Ừng", "Ửng", "Ững", "Ứng", "Ựng"]);
        assert_order(&["Anh", "Ảnh", "Ánh"]);
    }

    #[test]
    fn tone_is_secondary_to_every_letter() {
        // A tone never outweighs a letter further on.
        assert_order(&["mạ", "mai", "màn", "mạnh"]);
        assert_order(&["An", "Án", "Anh", "Ảnh", "Ánh"]);
        assert_order(&["Bà Rịa", "Ba Vì", "Bắc Ninh"]);
        // Tones compare left to right.
        assert_order(&["Ba Ria", "Ba Rịa", "Bà Ria", "Bà Rịa"]);
    }

    #[test]
    fn case_is_tertiary() {
        assert_order(&["an", "An", "AN", "án", "Án"]);
        assert_eq!(vi_cmp("hà nội", "HÀ NỘI"), Ordering::Less);
        assert_eq!(vi_cmp("HÀ NỘI", "hà nội x"), Ordering::Less);
        assert_eq!(vi_cmp("Đông", "đông"), Ordering::Greater);
        assert_eq!(vi_cmp("ĐÔNG", "đông a"), Ordering::Less);
    }

    #[test]
    fn spaces_numbers_and_punctuation() {
        assert_order(&["An Bình", "An-Bình", "Anh"]);
        assert_order(&[
            "Phường 1",
            "Phường 2",
            "Phường 9",
            "Phường 10",
            "Phường 12",
            "Phường An",
        ]);
        assert_order(&["Số 007", "Số 7", "Số 8"]);
        assert_order(&["Ninh", "Ninh Bình", "Ninh Giang", "Ninh Thuận"]);
    }

    #[test]
    fn real_place_names() {
        assert_eq!(
            sorted(&[
                "Yên Mô",
                "Yên Khánh",
                "Kim Sơn",
                "Gia Viễn",
                "Nho Quan",
                "Hoa Lư",
                "Tam Điệp"
            ]),
            [
                "Gia Viễn",
                "Hoa Lư",
                "Kim Sơn",
                "Nho Quan",
                "Tam Điệp",
                "Yên Khánh",
                "Yên Mô"
            ]
        );
        assert_order(&[
            "An Giang",
            "Bà Rịa - Vũng Tàu",
            "Bạc Liêu",
            "Bắc Giang",
            "Bắc Kạn",
            "Bắc Ninh",
            "Bến Tre",
            "Bình Định",
            "Cà Mau",
            "Cao Bằng",
            "Cần Thơ",
            "Đà Nẵng",
            "Đắk Lắk",
            "Đắk Nông",
            "Điện Biên",
            "Đồng Nai",
            "Đồng Tháp",
            "Gia Lai",
            "Hà Giang",
            "Hà Nam",
            "Hà Nội",
            "Hà Tĩnh",
            "Hải Dương",
            "Hải Phòng",
            "Hậu Giang",
            "Hòa Bình",
            "Hồ Chí Minh",
            "Hưng Yên",
        ]);
    }

    #[test]
    fn equal_only_when_nfc_equal() {
        assert_eq!(
            vi_sort_key("Ha\u{0300} No\u{0302}\u{0323}i"),
            vi_sort_key("Hà Nội")
        );
        assert_eq!(vi_sort_key("  Hà   Nội "), vi_sort_key("Hà Nội"));
        assert_ne!(vi_sort_key("Hoà"), vi_sort_key("Hòa"));
        assert_eq!(vi_sort_key(""), vec![0, 0, 0]);
        assert_eq!(vi_cmp("", "a"), Ordering::Less);
    }

    #[test]
    fn other_scripts_and_symbols_do_not_panic() {
        assert_order(&["!", "1", "a", "z", "ß", "Ω", "漢"]);
        assert_order(&["Cafe", "Cafè", "Café"]);
        let _ = vi_sort_key("İstanbul ǅ ﬁ \u{0301}");
    }
}
