//! A list that grows by fixed chunks instead of doubling one buffer.
//!
//! `diagnose` keeps tens of thousands of records of a few hundred bytes (the scan's groups,
//! the grouper's accumulators): in one doubling buffer they would sit in up to twice their
//! size, and each doubling holds the old and the new buffer at once. Taken by value, the list
//! frees each chunk as its items are moved out.

#[derive(Debug)]
pub(crate) struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    pub(crate) const CHUNK: usize = 1024;

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < Self::CHUNK => c.push(value),
            _ => {
                let mut c = Vec::with_capacity(Self::CHUNK);
                c.push(value);
                self.chunks.push(c);
            }
        }
        self.len += 1;
    }

    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / Self::CHUNK)?.get(i % Self::CHUNK)
    }

    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.chunks
            .get_mut(i / Self::CHUNK)?
            .get_mut(i % Self::CHUNK)
    }

    /// One vector of exactly the items, each chunk freed as it is moved.
    pub(crate) fn into_vec(self) -> Vec<T> {
        let mut all = Vec::with_capacity(self.len);
        for c in self.chunks {
            all.extend(c);
        }
        all
    }
}

impl<T> IntoIterator for Chunked<T> {
    type Item = T;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Vec<T>>>;

    /// The items in order; each chunk is freed once its last item is taken.
    fn into_iter(self) -> Self::IntoIter {
        self.chunks.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_keeps_order_and_indexes_across_chunks() {
        let mut c = Chunked::default();
        let n = Chunked::<usize>::CHUNK * 2 + 3;
        for i in 0..n {
            c.push(i);
        }
        assert_eq!(c.len(), n);
        assert_eq!(
            c.get(Chunked::<usize>::CHUNK),
            Some(&Chunked::<usize>::CHUNK)
        );
        assert_eq!(c.get(n), None);
        if let Some(v) = c.get_mut(n - 1) {
            *v = 0;
        }
        let by_value: Vec<usize> = {
            let mut again = Chunked::default();
            for i in 0..n {
                again.push(i);
            }
            again.into_iter().collect()
        };
        assert_eq!(by_value, (0..n).collect::<Vec<_>>());
        let v = c.into_vec();
        assert_eq!(v.len(), n);
        assert_eq!(v.capacity(), n);
        assert!(v[..n - 1].iter().enumerate().all(|(i, x)| *x == i));
        assert_eq!(v[n - 1], 0);
    }
}
