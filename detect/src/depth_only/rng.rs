//! A small deterministic pseudo-random generator for RANSAC: xorshift64* (Vigna, "An
//! experimental exploration of Marsaglia's xorshift generators, scrambled", 2016). Not for
//! anything secret; chosen so that a given frame always gives the same plane, without a
//! dependency.

/// xorshift64*: 64 bits of state, never zero.
#[derive(Debug, Clone)]
pub struct XorShift64Star {
    state: u64,
}

impl XorShift64Star {
    /// A generator started from `seed` (0 is replaced by a fixed non-zero constant: the state
    /// must never be zero).
    pub fn new(seed: u64) -> Self {
        XorShift64Star {
            state: if seed == 0 {
                0x9E37_79B9_7F4A_7C15
            } else {
                seed
            },
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..bound` (0 when `bound` is 0), by Lemire's multiply-shift on the high
    /// 32 bits: the bias is below `bound / 2^32`, irrelevant here.
    pub fn below(&mut self, bound: usize) -> usize {
        let high = self.next_u64() >> 32;
        ((high * bound as u64) >> 32) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence_and_draws_stay_in_range() {
        let mut a = XorShift64Star::new(42);
        let mut b = XorShift64Star::new(42);
        let mut counts = [0usize; 7];
        for _ in 0..7000 {
            assert_eq!(a.next_u64(), b.next_u64());
            let draw = a.below(7);
            b.below(7);
            counts[draw] += 1;
        }
        // Roughly uniform: each of 7 values about 1000 times.
        assert!(
            counts.iter().all(|&count| (800..1200).contains(&count)),
            "{counts:?}"
        );
        assert_eq!(a.below(0), 0);
        assert_ne!(XorShift64Star::new(0).next_u64(), 0);
    }
}
