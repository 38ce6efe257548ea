//! Texts that many records of a run repeat (the group keys' servers, methods, peers and
//! paths; the groups' fix texts), each kept once and shared.

use std::collections::HashSet;
use std::sync::Arc;

use super::incidents::FastHash;

#[derive(Debug, Default)]
pub(crate) struct Texts(HashSet<Arc<str>, FastHash>);

impl Texts {
    /// The shared copy of `s`, made on first use.
    pub(crate) fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(t) = self.0.get(s) {
            return Arc::clone(t);
        }
        let t: Arc<str> = Arc::from(s);
        self.0.insert(Arc::clone(&t));
        t
    }
}
