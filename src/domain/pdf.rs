//! A small PDF document writer for the service's papers (reports, minutes):
//! text in DejaVu Sans (regular and bold, which cover Vietnamese), lines,
//! wrapped paragraphs, tables whose header repeats on every page, page
//! numbers in the footer. Fonts are embedded as subsets (only the glyphs
//! used) with a `ToUnicode` map, so the text can be searched and
//! extracted. Pure: text in, bytes out.

use std::collections::{BTreeMap, BTreeSet};

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};
use unicode_normalization::UnicodeNormalization;

/// Points per millimetre.
pub const MM: f32 = 72.0 / 25.4;

/// Horizontal placement of a line of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Flush left.
    Left,
    /// Centred.
    Center,
    /// Flush right (numbers).
    Right,
}

enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: String,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
    },
    Image {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        index: usize,
    },
}

struct Font {
    face: ttf_parser::Face<'static>,
    data: &'static [u8],
}

impl Font {
    fn load(data: &'static [u8]) -> Font {
        Font {
            face: ttf_parser::Face::parse(data, 0).expect("the bundled DejaVu font parses"),
            data,
        }
    }

    fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map_or(0, |g| g.0)
    }

    fn advance(&self, gid: u16) -> f32 {
        let upem = f32::from(self.face.units_per_em());
        self.face
            .glyph_hor_advance(ttf_parser::GlyphId(gid))
            .map_or(0.0, |a| f32::from(a) * 1000.0 / upem)
    }
}

/// An image placed on a page (a signature): RGB pixels.
struct Picture {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

/// A document being laid out from the top of the first page down.
pub struct Doc {
    width: f32,
    height: f32,
    margin: f32,
    pages: Vec<Vec<Op>>,
    /// Distance of the cursor from the top of the current page.
    y: f32,
    fonts: [Font; 2],
    pictures: Vec<Picture>,
    footer: String,
}

/// One cell of a table: its text and placement.
pub type Cell = (String, Align);

impl Doc {
    /// An empty A4 document, landscape or portrait, with `footer` printed
    /// left of the page number on every page.
    pub fn a4(landscape: bool, footer: &str) -> Doc {
        let (w, h) = (210.0 * MM, 297.0 * MM);
        let (width, height) = if landscape { (h, w) } else { (w, h) };
        let margin = 15.0 * MM;
        Doc {
            width,
            height,
            margin,
            pages: vec![Vec::new()],
            y: margin,
            fonts: [
                Font::load(dejavu::sans::regular()),
                Font::load(dejavu::sans::bold()),
            ],
            pictures: Vec::new(),
            footer: footer.nfc().collect(),
        }
    }

    /// The width of the text area.
    pub fn content_width(&self) -> f32 {
        self.width - 2.0 * self.margin
    }

    /// The left edge of the text area.
    pub fn left(&self) -> f32 {
        self.margin
    }

    /// The width of `s` at `size` points.
    pub fn text_width(&self, s: &str, size: f32, bold: bool) -> f32 {
        let f = &self.fonts[usize::from(bold)];
        s.chars().map(|c| f.advance(f.glyph(c))).sum::<f32>() * size / 1000.0
    }

    /// Lines of `s` no wider than `width` (words kept whole unless one alone
    /// is too wide); explicit newlines kept.
    pub fn wrap(&self, s: &str, width: f32, size: f32, bold: bool) -> Vec<String> {
        let mut out = Vec::new();
        for para in s.split('\n') {
            let mut line = String::new();
            for word in para.split(' ') {
                let candidate = if line.is_empty() {
                    word.to_string()
                } else {
                    format!("{line} {word}")
                };
                if self.text_width(&candidate, size, bold) <= width || line.is_empty() {
                    line = candidate;
                } else {
                    out.push(std::mem::take(&mut line));
                    line = word.to_string();
                }
            }
            out.push(line);
        }
        out
    }

    fn page(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("a document has a page")
    }

    /// Starts a new page.
    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = self.margin;
    }

    /// Starts a new page unless `h` points still fit on this one.
    pub fn ensure(&mut self, h: f32) {
        if self.y + h > self.height - self.margin - 14.0 {
            self.new_page();
        }
    }

    /// Moves the cursor down `h` points.
    pub fn space(&mut self, h: f32) {
        self.y += h;
    }

    /// Text at `x`, its baseline `baseline` points below the top of the page.
    pub fn text_at(&mut self, x: f32, baseline: f32, size: f32, bold: bool, s: &str) {
        let y = self.height - baseline;
        let text = s.nfc().collect();
        self.page().push(Op::Text {
            x,
            y,
            size,
            bold,
            text,
        });
    }

    /// One line of text placed in the band `[x, x + w]` at the cursor's
    /// baseline (the cursor does not move).
    pub fn line_in(&mut self, x: f32, w: f32, size: f32, bold: bool, align: Align, s: &str) {
        let tw = self.text_width(s, size, bold);
        let x = match align {
            Align::Left => x,
            Align::Center => x + (w - tw) / 2.0,
            Align::Right => x + w - tw,
        };
        let baseline = self.y + size;
        self.text_at(x, baseline, size, bold, s);
    }

    /// A wrapped paragraph across the text area; the cursor moves below it.
    pub fn paragraph(&mut self, s: &str, size: f32, bold: bool, align: Align) {
        let (x, w) = (self.left(), self.content_width());
        self.paragraph_in(x, w, s, size, bold, align);
    }

    /// A wrapped paragraph in the band `[x, x + w]`; the cursor moves below it.
    pub fn paragraph_in(&mut self, x: f32, w: f32, s: &str, size: f32, bold: bool, align: Align) {
        for line in self.wrap(s, w, size, bold) {
            self.ensure(size * 1.35);
            self.line_in(x, w, size, bold, align, &line);
            self.y += size * 1.35;
        }
    }

    /// A horizontal rule from `x1` to `x2` at the cursor.
    pub fn rule(&mut self, x1: f32, x2: f32, width: f32) {
        let y = self.height - self.y;
        self.page().push(Op::Line {
            x1,
            y1: y,
            x2,
            y2: y,
            width,
        });
    }

    fn vline(&mut self, x: f32, top: f32, bottom: f32) {
        let (y1, y2) = (self.height - top, self.height - bottom);
        self.page().push(Op::Line {
            x1: x,
            y1,
            x2: x,
            y2,
            width: 0.5,
        });
    }

    /// A table across the text area: `widths` are relative column widths;
    /// the header row (bold) is repeated at the top of every page the table
    /// runs onto; cells wrap.
    pub fn table(&mut self, headers: &[&str], widths: &[f32], rows: &[Vec<Cell>], size: f32) {
        let total: f32 = widths.iter().sum();
        let cw = self.content_width();
        let cols: Vec<f32> = widths.iter().map(|w| w / total * cw).collect();
        let header: Vec<Cell> = headers
            .iter()
            .map(|h| (h.to_string(), Align::Center))
            .collect();
        let pad = 2.5;
        let line_h = size * 1.3;
        let height_of = |doc: &Doc, row: &[Cell], bold: bool| -> (f32, Vec<Vec<String>>) {
            let lines: Vec<Vec<String>> = row
                .iter()
                .zip(&cols)
                .map(|((s, _), w)| doc.wrap(s, w - 2.0 * pad, size, bold))
                .collect();
            let n = lines.iter().map(Vec::len).max().unwrap_or(1).max(1);
            (n as f32 * line_h + 2.0 * pad, lines)
        };
        let draw = |doc: &mut Doc, row: &[Cell], bold: bool| {
            let (h, lines) = height_of(doc, row, bold);
            let top = doc.y;
            let left = doc.left();
            doc.rule(left, left + cw, 0.5);
            let mut x = left;
            for (((_, align), w), ls) in row.iter().zip(&cols).zip(&lines) {
                let saved = doc.y;
                doc.y = top + pad - 1.0;
                for l in ls {
                    doc.line_in(x + pad, w - 2.0 * pad, size, bold, *align, l);
                    doc.y += line_h;
                }
                doc.y = saved;
                doc.vline(x, top, top + h);
                x += w;
            }
            doc.vline(x, top, top + h);
            doc.y = top + h;
            doc.rule(left, left + cw, 0.5);
        };
        let (hh, _) = height_of(self, &header, true);
        self.ensure(hh * 2.0);
        draw(self, &header, true);
        for row in rows {
            let (h, _) = height_of(self, row, false);
            let before = self.pages.len();
            self.ensure(h);
            if self.pages.len() != before {
                draw(self, &header, true);
            }
            draw(self, row, false);
        }
    }

    /// An RGB image of `width` × `height` pixels drawn `w` × `h` points at
    /// `x`, its top at the cursor (the cursor does not move).
    pub fn image(&mut self, x: f32, w: f32, h: f32, width: u32, height: u32, rgb: Vec<u8>) {
        self.pictures.push(Picture { width, height, rgb });
        let index = self.pictures.len() - 1;
        let y = self.height - self.y - h;
        self.page().push(Op::Image { x, y, w, h, index });
    }

    /// The document's bytes.
    pub fn finish(mut self) -> Vec<u8> {
        // Footer: the document's line and "Trang i/n" on every page.
        let n = self.pages.len();
        for i in 0..n {
            let label = format!("Trang {}/{}", i + 1, n);
            let w = self.text_width(&label, 8.0, false);
            let (y, x_right) = (
                self.height - self.margin + 12.0,
                self.width - self.margin - w,
            );
            let footer = self.footer.clone();
            let left = self.left();
            for (x, s) in [(left, footer), (x_right, label)] {
                self.pages[i].push(Op::Text {
                    x,
                    y: self.height - y,
                    size: 8.0,
                    bold: false,
                    text: s,
                });
            }
        }
        // The glyphs each font uses, old id → char (for ToUnicode).
        let mut used: [BTreeMap<u16, char>; 2] = [BTreeMap::new(), BTreeMap::new()];
        for op in self.pages.iter().flatten() {
            if let Op::Text { bold, text, .. } = op {
                let f = &self.fonts[usize::from(*bold)];
                for c in text.chars() {
                    used[usize::from(*bold)].entry(f.glyph(c)).or_insert(c);
                }
            }
        }
        let remappers: Vec<subsetter::GlyphRemapper> = used
            .iter()
            .map(|u| {
                let gids: Vec<u16> = u.keys().copied().collect();
                subsetter::GlyphRemapper::new_from_glyphs_sorted(&gids)
            })
            .collect();

        let mut pdf = Pdf::new();
        let mut next = 1;
        let mut alloc = || {
            let r = Ref::new(next);
            next += 1;
            r
        };
        let catalog = alloc();
        let tree = alloc();
        let font_refs: Vec<Ref> = (0..2).map(|_| alloc()).collect();
        let page_refs: Vec<(Ref, Ref)> = (0..n).map(|_| (alloc(), alloc())).collect();
        let image_refs: Vec<Ref> = (0..self.pictures.len()).map(|_| alloc()).collect();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(page_refs.iter().map(|(p, _)| *p))
            .count(n as i32);
        let font_names = [Name(b"F0"), Name(b"F1")];
        for (i, ops) in self.pages.iter().enumerate() {
            let (page_ref, content_ref) = page_refs[i];
            let mut page = pdf.page(page_ref);
            page.media_box(Rect::new(0.0, 0.0, self.width, self.height));
            page.parent(tree);
            page.contents(content_ref);
            let mut res = page.resources();
            let mut fonts = res.fonts();
            fonts.pair(font_names[0], font_refs[0]);
            fonts.pair(font_names[1], font_refs[1]);
            fonts.finish();
            if !image_refs.is_empty() {
                let mut xo = res.x_objects();
                for (k, r) in image_refs.iter().enumerate() {
                    xo.pair(Name(format!("Im{k}").as_bytes()), *r);
                }
                xo.finish();
            }
            res.finish();
            page.finish();
            let mut c = Content::new();
            for op in ops {
                match op {
                    Op::Text {
                        x,
                        y,
                        size,
                        bold,
                        text,
                    } => {
                        let b = usize::from(*bold);
                        let f = &self.fonts[b];
                        let mut bytes = Vec::with_capacity(text.len() * 2);
                        for ch in text.chars() {
                            let g = remappers[b].get(f.glyph(ch)).unwrap_or(0);
                            bytes.extend_from_slice(&g.to_be_bytes());
                        }
                        c.begin_text();
                        c.set_font(font_names[b], *size);
                        c.set_text_matrix([1.0, 0.0, 0.0, 1.0, *x, *y]);
                        c.show(Str(&bytes));
                        c.end_text();
                    }
                    Op::Line {
                        x1,
                        y1,
                        x2,
                        y2,
                        width,
                    } => {
                        c.set_line_width(*width);
                        c.move_to(*x1, *y1);
                        c.line_to(*x2, *y2);
                        c.stroke();
                    }
                    Op::Image { x, y, w, h, index } => {
                        c.save_state();
                        c.transform([*w, 0.0, 0.0, *h, *x, *y]);
                        c.x_object(Name(format!("Im{index}").as_bytes()));
                        c.restore_state();
                    }
                }
            }
            let data = deflate(&c.finish());
            pdf.stream(content_ref, &data).filter(Filter::FlateDecode);
        }
        for (k, p) in self.pictures.iter().enumerate() {
            let data = deflate(&p.rgb);
            let mut img = pdf.image_xobject(image_refs[k], &data);
            img.filter(Filter::FlateDecode);
            img.width(p.width as i32);
            img.height(p.height as i32);
            img.color_space().device_rgb();
            img.bits_per_component(8);
            img.finish();
        }
        for b in 0..2 {
            let f = &self.fonts[b];
            let remap = &remappers[b];
            let base = if b == 0 {
                Name(b"KTAAAA+DejaVuSans")
            } else {
                Name(b"KTAAAB+DejaVuSans-Bold")
            };
            let (cid, desc, cmap_ref, file) = (alloc(), alloc(), alloc(), alloc());
            pdf.type0_font(font_refs[b])
                .base_font(base)
                .encoding_predefined(Name(b"Identity-H"))
                .descendant_font(cid)
                .to_unicode(cmap_ref);
            let info = SystemInfo {
                registry: Str(b"Adobe"),
                ordering: Str(b"Identity"),
                supplement: 0,
            };
            let mut cf = pdf.cid_font(cid);
            cf.subtype(CidFontType::Type2);
            cf.base_font(base);
            cf.system_info(info);
            cf.font_descriptor(desc);
            cf.default_width(0.0);
            cf.cid_to_gid_map_predefined(Name(b"Identity"));
            let widths: Vec<f32> = remap.remapped_gids().map(|g| f.advance(g)).collect();
            cf.widths().consecutive(0, widths);
            cf.finish();
            let upem = f32::from(f.face.units_per_em());
            let s = |v: i16| f32::from(v) * 1000.0 / upem;
            let bb = f.face.global_bounding_box();
            pdf.font_descriptor(desc)
                .name(base)
                .flags(FontFlags::NON_SYMBOLIC)
                .bbox(Rect::new(
                    s(bb.x_min),
                    s(bb.y_min),
                    s(bb.x_max),
                    s(bb.y_max),
                ))
                .italic_angle(0.0)
                .ascent(s(f.face.ascender()))
                .descent(s(f.face.descender()))
                .cap_height(s(f.face.capital_height().unwrap_or(f.face.ascender())))
                .stem_v(if b == 1 { 140.0 } else { 80.0 })
                .font_file2(file);
            let mut cmap = pdf_writer::types::UnicodeCmap::new(Name(b"Custom"), info);
            for (old, ch) in &used[b] {
                if let Some(new) = remap.get(*old) {
                    cmap.pair(new, *ch);
                }
            }
            pdf.stream(cmap_ref, &cmap.finish());
            // A subset of the font; the whole font if subsetting fails.
            let font_data = subsetter::subset(f.data, 0, remap).unwrap_or_else(|_| f.data.to_vec());
            let compressed = deflate(&font_data);
            pdf.stream(file, &compressed).filter(Filter::FlateDecode);
        }
        pdf.finish()
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

/// The set of characters in `s` the fonts cannot draw (for tests).
pub fn missing_glyphs(s: &str) -> BTreeSet<char> {
    let f = Font::load(dejavu::sans::regular());
    s.nfc()
        .filter(|c| !c.is_whitespace() && f.glyph(*c) == 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_has_every_glyph() {
        assert!(missing_glyphs(
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc ắằẳẵặ ếềểễệ ốồổỗộ ớờởỡợ ứừửữự ỳỷỹỵ đĐ"
        )
        .is_empty());
    }

    #[test]
    fn a_document_is_a_pdf_with_a_subset_font() {
        let mut d = Doc::a4(true, "Báo cáo");
        d.paragraph("BÁO CÁO Kết quả thực hiện", 14.0, true, Align::Center);
        d.table(
            &["Địa bàn", "Số cơ sở"],
            &[3.0, 1.0],
            &[vec![
                ("Hoa Lư".into(), Align::Left),
                ("12".into(), Align::Right),
            ]],
            9.0,
        );
        let bytes = d.finish();
        assert!(bytes.starts_with(b"%PDF-"));
        // Two fonts of a few glyphs, compressed: far below DejaVu's 700 kB.
        assert!(bytes.len() < 120_000, "{}", bytes.len());
    }
}
