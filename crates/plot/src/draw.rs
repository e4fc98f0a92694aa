//! Annotations on pictures with `imageproc`: boxes with a text label, legends, mask outlines.
//! The text uses the same embedded font as [`crate`].

use ab_glyph::{FontRef, PxScale};
use image::{Rgb, RgbImage};
use imageproc::drawing::{draw_filled_rect_mut, draw_hollow_rect_mut, draw_text_mut, text_size};
use imageproc::rect::Rect;

fn font() -> Option<FontRef<'static>> {
    FontRef::try_from_slice(crate::FONT_BYTES).ok()
}

/// A 2-pixel box `[x0, y0, x1, y1]` with `label` on a filled tab above it (inside the image).
pub fn labelled_box(img: &mut RgbImage, b: [f32; 4], colour: Rgb<u8>, label: &str) {
    let (w, h) = (img.width() as i32, img.height() as i32);
    let x0 = (b[0].round() as i32).clamp(0, w - 1);
    let y0 = (b[1].round() as i32).clamp(0, h - 1);
    let x1 = (b[2].round() as i32).clamp(x0 + 1, w);
    let y1 = (b[3].round() as i32).clamp(y0 + 1, h);
    for k in 0..2 {
        let (bw, bh) = ((x1 - x0 - 2 * k).max(1), (y1 - y0 - 2 * k).max(1));
        draw_hollow_rect_mut(
            img,
            Rect::at(x0 + k, y0 + k).of_size(bw as u32, bh as u32),
            colour,
        );
    }
    if label.is_empty() {
        return;
    }
    let Some(font) = font() else { return };
    let scale = PxScale::from(12.0);
    let (tw, th) = text_size(scale, &font, label);
    let ty = if y0 >= th as i32 + 2 {
        y0 - th as i32 - 2
    } else {
        y0 + 2
    };
    draw_filled_rect_mut(img, Rect::at(x0, ty).of_size(tw + 4, th + 2), colour);
    draw_text_mut(img, Rgb([255, 255, 255]), x0 + 2, ty, scale, &font, label);
}

/// A legend in the top-left corner: a colour swatch and a name per entry.
pub fn legend(img: &mut RgbImage, entries: &[(Rgb<u8>, String)]) {
    let Some(font) = font() else { return };
    let scale = PxScale::from(12.0);
    for (i, (colour, name)) in entries.iter().enumerate() {
        let y = 4 + 16 * i as i32;
        let (tw, _) = text_size(scale, &font, name);
        draw_filled_rect_mut(
            img,
            Rect::at(2, y - 1).of_size(tw + 22, 15),
            Rgb([255, 255, 255]),
        );
        draw_filled_rect_mut(img, Rect::at(4, y + 2).of_size(12, 10), *colour);
        draw_text_mut(img, Rgb([0, 0, 0]), 19, y, scale, &font, name);
    }
}

/// Colours the outline of `mask` (row-major, `img`'s size): pixels of the mask with a
/// neighbour outside it.
pub fn outline(img: &mut RgbImage, mask: &[bool], colour: Rgb<u8>) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if mask.len() != w * h {
        return;
    }
    let at = |x: isize, y: isize| {
        x >= 0
            && y >= 0
            && (x as usize) < w
            && (y as usize) < h
            && mask[y as usize * w + x as usize]
    };
    for y in 0..h as isize {
        for x in 0..w as isize {
            let edge = at(x, y)
                && [(-1, 0), (1, 0), (0, -1), (0, 1)]
                    .iter()
                    .any(|(dx, dy)| !at(x + dx, y + dy));
            if edge {
                img.put_pixel(x as u32, y as u32, colour);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_label_legend_and_outline_land_where_asked() {
        let mut img = RgbImage::from_pixel(64, 64, Rgb([0, 0, 0]));
        let red = Rgb([255, 0, 0]);
        labelled_box(&mut img, [20.0, 30.0, 40.0, 50.0], red, "star 0.93");
        assert_eq!(*img.get_pixel(20, 40), red); // left edge
        assert_eq!(*img.get_pixel(39, 49), red); // bottom-right corner
        assert_eq!(*img.get_pixel(30, 40), Rgb([0, 0, 0])); // inside stays
                                                            // The label tab sits above the box: filled with the box colour, text drawn light on it.
        assert_eq!(*img.get_pixel(21, 29), red);
        let text = (14..30)
            .flat_map(|y| (20..64).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[1] > 128)
            .count();
        assert!(text > 5, "no label text");
        let mut m = vec![false; 64 * 64];
        for y in 10..20 {
            for x in 10..20 {
                m[y * 64 + x] = true;
            }
        }
        let green = Rgb([0, 255, 0]);
        outline(&mut img, &m, green);
        assert_eq!(*img.get_pixel(10, 15), green);
        assert_ne!(*img.get_pixel(15, 15), green);
        legend(&mut img, &[(green, "truth".into())]);
        assert_eq!(*img.get_pixel(8, 8), green);
    }
}
