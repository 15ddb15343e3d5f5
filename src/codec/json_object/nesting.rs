//! Which open levels are objects and which arrays: a bit stack, so that nesting costs
//! neither recursion (no stack overflow, however deep) nor, up to [`INLINE_LEVELS`],
//! allocation. The depth itself is the caller's (a local, kept in a register).

/// Levels tracked inline; a body nested deeper (never a Kea command) grows a `Vec`.
pub(super) const INLINE_LEVELS: usize = 512;
const INLINE_WORDS: usize = INLINE_LEVELS / 64;

/// One bit a level: 1 an object, 0 an array.
#[derive(Default)]
pub(super) struct Nesting {
    inline: [u64; INLINE_WORDS],
    deeper: Vec<u64>,
}

impl Nesting {
    /// Records what level `level` is, as it opens (levels open one at a time).
    #[inline(always)]
    pub(super) fn open(&mut self, level: usize, object: bool) {
        let (word, bit) = (level / 64, 1u64 << (level % 64));
        if word >= INLINE_WORDS + self.deeper.len() {
            self.deeper.push(0);
        }
        let Nesting { inline, deeper } = self;
        if let Some(w) = inline.get_mut(word).or_else(|| deeper.get_mut(word - INLINE_WORDS)) {
            if object {
                *w |= bit;
            } else {
                *w &= !bit;
            }
        }
    }

    /// Whether level `level`, open, is an object.
    #[inline(always)]
    pub(super) fn is_object(&self, level: usize) -> bool {
        match self.inline.get(level / 64) {
            Some(w) => w >> (level % 64) & 1 != 0,
            None => self.is_object_deeper(level),
        }
    }

    #[cold]
    #[inline(never)]
    fn is_object_deeper(&self, level: usize) -> bool {
        let w = self.deeper.get(level / 64 - INLINE_WORDS);
        w.is_some_and(|w| w >> (level % 64) & 1 != 0)
    }
}
