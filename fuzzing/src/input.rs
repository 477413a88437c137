//! A total decoder of fuzz input: every byte string is a valid sequence of choices, and an
//! exhausted input reads as zeros, so byte 0 always means "the default, well-formed choice".

/// Reads choices from the fuzzer's bytes.
#[derive(Clone, Debug)]
pub(crate) struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether every byte has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, 0 once the input is exhausted.
    pub(crate) fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((first, rest)) => {
                self.data = rest;
                *first
            }
            None => 0,
        }
    }

    /// A number below `bound` (0 when `bound` is 0).
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        usize::from(self.byte()) % bound
    }

    /// One entry of a non-empty table; the first entry for byte 0.
    pub(crate) fn pick<'t, T>(&mut self, table: &'t [T]) -> &'t T {
        let index = self.below(table.len());
        &table[index]
    }

    /// A flag that is `false` for byte 0.
    pub(crate) fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// A chunk of raw bytes: a length byte, then that many bytes (fewer at the end).
    pub(crate) fn chunk(&mut self) -> &'a [u8] {
        let len = usize::from(self.byte());
        self.take(len)
    }

    /// At most `len` raw bytes.
    pub(crate) fn take(&mut self, len: usize) -> &'a [u8] {
        let len = len.min(self.data.len());
        let (head, rest) = self.data.split_at(len);
        self.data = rest;
        head
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhausted_input_reads_zero() {
        let mut input = Input::new(&[7, 3]);
        assert_eq!(input.byte(), 7);
        assert_eq!(input.below(2), 1);
        assert_eq!(input.byte(), 0);
        assert_eq!(*input.pick(&["a", "b"]), "a");
        assert!(input.chunk().is_empty());
        assert!(input.is_empty());
    }
}
