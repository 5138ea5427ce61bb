//! RVL: run-length and variable-length coding of 16-bit depth (A. D. Wilson, "Fast Lossless
//! Depth Image Compression", ISS 2017), bit for bit as ROS's `compressed_depth_image_transport`
//! writes it.
//!
//! The pixels are coded as alternating runs: the number of zeros (no reading), the number of
//! non-zeros that follow, then each non-zero as the zig-zag coded difference to the previous
//! non-zero pixel (the first one to 0). Every number is a variable-length code of 4-bit
//! nibbles: 3 value bits (least significant first) and a continuation bit (0x8). Nibbles fill
//! 32-bit words from the most significant end; the words are stored little-endian, the last
//! one padded with zero nibbles. An image of n pixels codes in at most about 1.5 n + 4 bytes.

use crate::error::DepthCodecError;

/// Nibbles per 32-bit word.
const NIBBLES_PER_WORD: u32 = 8;

/// The longest code a number may take: 11 nibbles carry 33 bits, enough for any `u32` run
/// length. The encoder never writes more; a longer one is hostile input.
const MAX_NIBBLES_PER_VALUE: u32 = 11;

/// Codes `depth` (row-major Z16 units) and appends the RVL words to `out`.
pub fn encode(depth: &[u16], out: &mut Vec<u8>) {
    out.reserve(depth.len() / 2 + 8);
    let mut writer = NibbleWriter {
        out,
        word: 0,
        nibbles: 0,
    };
    let mut previous: u16 = 0;
    let mut rest = depth;
    while !rest.is_empty() {
        let zeros = rest.iter().take_while(|&&unit| unit == 0).count();
        rest = &rest[zeros..];
        let nonzeros = rest.iter().take_while(|&&unit| unit != 0).count();
        writer.put(zeros as u64);
        writer.put(nonzeros as u64);
        for &current in &rest[..nonzeros] {
            let delta = i32::from(current) - i32::from(previous);
            writer.put(u64::from(zigzag(delta)));
            previous = current;
        }
        rest = &rest[nonzeros..];
    }
    writer.finish();
}

/// Decodes RVL words into `out`, whose length is the number of pixels the image has.
///
/// Bytes after the last word the image needs are ignored (as ROS does). Hostile input (a run
/// longer than the pixels left, a truncated stream, an overlong code) is an error, never a
/// panic; `out` is then partly written.
pub fn decode(rvl: &[u8], out: &mut [u16]) -> Result<(), DepthCodecError> {
    let mut reader = NibbleReader {
        words: rvl.chunks_exact(4),
        word: 0,
        nibbles: 0,
    };
    let mut previous: u16 = 0;
    let mut position = 0usize;
    while position < out.len() {
        let left = out.len() - position;
        let zeros = reader.run_length(left)?;
        out[position..position + zeros].fill(0);
        position += zeros;
        let nonzeros = reader.run_length(out.len() - position)?;
        for unit in &mut out[position..position + nonzeros] {
            let coded = reader.value()?;
            // Deltas of 16-bit values zig-zag into 17 bits; wrap like the reference decoder.
            let delta = unzigzag(coded);
            previous = (i64::from(previous) + delta) as u16;
            *unit = previous;
        }
        position += nonzeros;
    }
    Ok(())
}

/// The worst-case size of `encode`'s output for `pixels` pixels, in bytes.
pub fn max_encoded_len(pixels: usize) -> usize {
    // One run pair (2 nibbles at most per short run) plus up to 6 nibbles per pixel delta.
    pixels.saturating_mul(3) + 16
}

/// Maps signed to unsigned so that small magnitudes get short codes: 0, -1, 1, -2, ... → 0, 1,
/// 2, 3, ...
fn zigzag(delta: i32) -> u32 {
    ((delta << 1) ^ (delta >> 31)) as u32
}

fn unzigzag(coded: u64) -> i64 {
    let coded = coded as i64;
    (coded >> 1) ^ -(coded & 1)
}

struct NibbleWriter<'a> {
    out: &'a mut Vec<u8>,
    word: u32,
    nibbles: u32,
}

impl NibbleWriter<'_> {
    fn put(&mut self, mut value: u64) {
        loop {
            let mut nibble = (value & 0x7) as u32;
            value >>= 3;
            if value != 0 {
                nibble |= 0x8;
            }
            self.word = (self.word << 4) | nibble;
            self.nibbles += 1;
            if self.nibbles == NIBBLES_PER_WORD {
                self.out.extend_from_slice(&self.word.to_le_bytes());
                self.word = 0;
                self.nibbles = 0;
            }
            if value == 0 {
                return;
            }
        }
    }

    fn finish(self) {
        if self.nibbles > 0 {
            let padded = self.word << (4 * (NIBBLES_PER_WORD - self.nibbles));
            self.out.extend_from_slice(&padded.to_le_bytes());
        }
    }
}

struct NibbleReader<'a> {
    words: std::slice::ChunksExact<'a, u8>,
    word: u32,
    nibbles: u32,
}

impl NibbleReader<'_> {
    fn value(&mut self) -> Result<u64, DepthCodecError> {
        let mut value = 0u64;
        for index in 0..MAX_NIBBLES_PER_VALUE {
            if self.nibbles == 0 {
                let Some(bytes) = self.words.next() else {
                    return Err(DepthCodecError::Truncated);
                };
                let mut word = [0u8; 4];
                word.copy_from_slice(bytes);
                self.word = u32::from_le_bytes(word);
                self.nibbles = NIBBLES_PER_WORD;
            }
            let nibble = self.word >> 28;
            self.word <<= 4;
            self.nibbles -= 1;
            value |= u64::from(nibble & 0x7) << (3 * index);
            if nibble & 0x8 == 0 {
                return Ok(value);
            }
        }
        Err(DepthCodecError::OverlongCode)
    }

    /// A run length, which must fit in the `left` pixels still to decode.
    fn run_length(&mut self, left: usize) -> Result<usize, DepthCodecError> {
        let run = self.value()?;
        match usize::try_from(run) {
            Ok(run) if run <= left => Ok(run),
            _ => Err(DepthCodecError::RunTooLong { run, left }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(depth: &[u16]) -> Vec<u8> {
        let mut encoded = Vec::new();
        encode(depth, &mut encoded);
        assert!(encoded.len() <= max_encoded_len(depth.len()));
        assert_eq!(encoded.len() % 4, 0, "whole words only");
        let mut decoded = vec![0xABCD; depth.len()];
        decode(&encoded, &mut decoded).unwrap();
        assert_eq!(decoded, depth);
        encoded
    }

    #[test]
    fn empty_image_codes_to_nothing() {
        assert!(round_trip(&[]).is_empty());
    }

    #[test]
    fn all_zero_image_is_one_run() {
        let encoded = round_trip(&[0; 640 * 480]);
        // 307200 zeros: 7 nibbles, then a zero count of non-zeros: 1 nibble: one word.
        assert_eq!(encoded.len(), 4);
    }

    #[test]
    fn extremes_and_alternations_round_trip() {
        round_trip(&[u16::MAX]);
        round_trip(&[1]);
        round_trip(&[u16::MAX, 1, u16::MAX, 0, 1, u16::MAX, 0, 0]);
        round_trip(&[0, u16::MAX, 0, u16::MAX, 0]);
        let alternating: Vec<u16> = (0..1001)
            .map(|i| if i % 2 == 0 { 0 } else { 40000 })
            .collect();
        round_trip(&alternating);
        let every_value: Vec<u16> = (0..=u16::MAX).collect();
        round_trip(&every_value);
        let reversed: Vec<u16> = (0..=u16::MAX).rev().collect();
        round_trip(&reversed);
    }

    #[test]
    fn worst_case_stays_within_the_bound() {
        // Large alternating jumps: every delta takes 6 nibbles.
        let depth: Vec<u16> = (0..10_000)
            .map(|i| if i % 2 == 0 { 1 } else { u16::MAX })
            .collect();
        let encoded = round_trip(&depth);
        assert!(
            encoded.len() > depth.len() * 2,
            "this input does not compress"
        );
    }

    #[test]
    fn smooth_depth_compresses_well() {
        let depth: Vec<u16> = (0..640 * 480)
            .map(|i| 1000 + (i % 640 / 8) as u16)
            .collect();
        let encoded = round_trip(&depth);
        assert!(
            encoded.len() * 3 < depth.len() * 2,
            "{} bytes",
            encoded.len()
        );
    }

    /// The layout the reference writes, worked out by hand: pixels [0, 0, 5, 3].
    /// zeros=2 → 0x2; nonzeros=2 → 0x2; 5 → zigzag 10 = 0b1010 → nibbles 0xA (010 | more),
    /// 0x1; 3 - 5 = -2 → zigzag 3 → 0x3. Nibbles 2 2 A 1 3, padded: 0x22A13000.
    #[test]
    fn layout_matches_the_reference_bit_for_bit() {
        let mut encoded = Vec::new();
        encode(&[0, 0, 5, 3], &mut encoded);
        assert_eq!(encoded, 0x22A1_3000u32.to_le_bytes());
    }

    #[test]
    fn hostile_input_is_an_error() {
        let mut out = vec![0u16; 4];
        assert_eq!(decode(&[], &mut out), Err(DepthCodecError::Truncated));
        // A zero run of 7 for 4 pixels.
        assert_eq!(
            decode(&0x7000_0000u32.to_le_bytes(), &mut out),
            Err(DepthCodecError::RunTooLong { run: 7, left: 4 })
        );
        // Continuation bits forever.
        assert_eq!(
            decode(&[0xFF; 64], &mut out),
            Err(DepthCodecError::OverlongCode)
        );
        // A partial word is not read.
        let mut encoded = Vec::new();
        encode(&[0, 0, 5, 3], &mut encoded);
        assert_eq!(
            decode(&encoded[..3], &mut out),
            Err(DepthCodecError::Truncated)
        );
        // Stops short: 2 pixels' worth, 4 expected.
        assert_eq!(
            decode(&0x2000_0000u32.to_le_bytes(), &mut out),
            Err(DepthCodecError::Truncated)
        );
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut out = vec![0u16; 97];
        for length in 0..400 {
            let bytes: Vec<u8> = (0..length)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let _ = decode(&bytes, &mut out);
        }
    }
}
