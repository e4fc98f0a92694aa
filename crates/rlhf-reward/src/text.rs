//! What a policy may write next, as a mask over the byte vocabulary: ASCII (`model.bytes:
//! ascii`, the default and all the built-in task needs) or any UTF-8 text (`utf8`), kept valid
//! byte by byte so that every sampled response is a string that re-tokenises to exactly the
//! sampled bytes. Sampling and scoring use the same mask, so log-probabilities and KL cover
//! exactly what can be sampled.

use crate::data::{EOS, SEP, VOCAB};
use serde::{Deserialize, Serialize};

/// `model.bytes`: which bytes a policy's responses may hold.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TextBytes {
    #[default]
    Ascii,
    Utf8,
}

/// Where a response is inside a UTF-8 character: how many continuation bytes are still due,
/// and the range the next one must be in (the first continuation after E0, ED, F0 and F4 is
/// narrower, so overlong forms and surrogates are never written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf8State {
    need: u8,
    lo: u8,
    hi: u8,
}

/// Between characters.
pub const START: Utf8State = Utf8State {
    need: 0,
    lo: 0,
    hi: 0,
};

impl Utf8State {
    /// The state after writing byte `b`.
    pub fn next(self, b: u8) -> Self {
        let cont = |need, lo, hi| Utf8State { need, lo, hi };
        if self.need > 0 {
            return if self.need == 1 {
                START
            } else {
                cont(self.need - 1, 0x80, 0xBF)
            };
        }
        match b {
            0xC2..=0xDF => cont(1, 0x80, 0xBF),
            0xE0 => cont(2, 0xA0, 0xBF),
            0xED => cont(2, 0x80, 0x9F),
            0xE1..=0xEF => cont(2, 0x80, 0xBF),
            0xF0 => cont(3, 0x90, 0xBF),
            0xF4 => cont(3, 0x80, 0x8F),
            0xF1..=0xF3 => cont(3, 0x80, 0xBF),
            _ => START,
        }
    }

    /// Whether a character is complete (EOS may follow).
    pub fn at_start(self) -> bool {
        self.need == 0
    }
}

impl TextBytes {
    /// Sets `row` (one flag per vocabulary entry) to the tokens allowed next in `state`; with
    /// `eos_only`, a response that must end now ends as soon as its character is complete.
    pub fn allowed(self, state: Utf8State, eos_only: bool, row: &mut [bool]) {
        row.fill(false);
        if !state.at_start() {
            row[state.lo as usize..=state.hi as usize].fill(true);
            return;
        }
        row[EOS as usize] = true;
        if eos_only {
            return;
        }
        row[..0x80].fill(true);
        if self == TextBytes::Utf8 {
            row[0xC2..=0xF4].fill(true);
        }
    }

    /// The allowed-token mask (B·T·V, row-major) for teacher-forced inputs `ids` (B rows of T):
    /// at each position, what may follow given the response bytes written so far (after the
    /// row's SEP); before SEP (the prompt, never scored) every byte and EOS.
    pub fn teacher_mask(self, ids: &[Vec<i64>]) -> Vec<bool> {
        let v = VOCAB as usize;
        let t = ids.first().map_or(0, Vec::len);
        let mut mask = vec![false; ids.len() * t * v];
        for (b, row) in ids.iter().enumerate() {
            let mut state = None;
            for (p, &id) in row.iter().enumerate() {
                match state {
                    None if id == SEP => state = Some(START),
                    Some(s) => state = Some(u8::try_from(id).map_or(START, |byte| s.next(byte))),
                    None => {}
                }
                let out = &mut mask[(b * t + p) * v..(b * t + p + 1) * v];
                match state {
                    Some(s) => self.allowed(s, false, out),
                    None => {
                        out[..256].fill(true);
                        out[EOS as usize] = true;
                    }
                }
            }
        }
        mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every valid UTF-8 string is writable byte by byte, and nothing else: each allowed
    /// continuation of a prefix keeps it a prefix of valid UTF-8.
    #[test]
    fn the_mask_allows_exactly_valid_utf8() {
        let mut row = vec![false; VOCAB as usize];
        for text in [
            "a",
            "é",
            "€",
            "𝄞",
            "ÿ\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}",
            "«12» — ok",
        ] {
            let mut s = START;
            for b in text.bytes() {
                TextBytes::Utf8.allowed(s, false, &mut row);
                assert!(row[b as usize], "{text:?}: byte {b:#x} refused");
                s = s.next(b);
            }
            assert!(s.at_start());
        }
        // Overlong, surrogate, out-of-range and stray continuation bytes are refused.
        for bad in [
            &[0xC0u8][..],
            &[0xE0, 0x80],
            &[0xED, 0xA0],
            &[0xF4, 0x90],
            &[0xF5],
            &[0x80],
        ] {
            let mut s = START;
            let mut ok = true;
            for &b in bad {
                TextBytes::Utf8.allowed(s, false, &mut row);
                ok &= row[b as usize];
                s = s.next(b);
            }
            assert!(!ok, "{bad:x?} allowed");
        }
        // ASCII mode: bytes 0..128 and EOS only.
        TextBytes::Ascii.allowed(START, false, &mut row);
        assert_eq!(row.iter().filter(|&&x| x).count(), 129);
        assert!(row[EOS as usize] && !row[0xC3]);
    }
}
