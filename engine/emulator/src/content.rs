//! Block content of volumes, snapshots and backups.
//!
//! A volume is `size_gb` GiB of 4 KiB blocks; only written (non-zero) blocks
//! are stored, each behind an `Arc`, so cloning a content (a snapshot, a
//! backup, a replica) shares the blocks: copy-on-write for free. The checksum
//! is a SHA-256 over the stored blocks in index order plus the logical size, so
//! two contents with the same bytes have the same checksum.

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

pub const BLOCK_SIZE: usize = 4096;

/// Sparse block content. Blocks absent from the map read as zeros.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Content {
    blocks: BTreeMap<u64, Arc<Vec<u8>>>,
}

impl Content {
    pub fn new() -> Self {
        Self::default()
    }

    /// Write one block (`data` shorter than a block is zero-padded, longer is cut).
    pub fn write(&mut self, index: u64, data: &[u8]) {
        let mut block = vec![0u8; BLOCK_SIZE];
        let n = data.len().min(BLOCK_SIZE);
        block[..n].copy_from_slice(&data[..n]);
        if block.iter().all(|b| *b == 0) {
            self.blocks.remove(&index);
        } else {
            self.blocks.insert(index, Arc::new(block));
        }
    }

    pub fn read(&self, index: u64) -> Option<&[u8]> {
        self.blocks.get(&index).map(|b| b.as_slice())
    }

    /// Number of stored (non-zero) blocks.
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// Blocks whose bytes differ from `base` (written, changed or zeroed).
    pub fn changed_since(&self, base: &Content) -> usize {
        let mut n = 0;
        for (i, b) in &self.blocks {
            match base.blocks.get(i) {
                Some(o) if Arc::ptr_eq(o, b) || o == b => {}
                _ => n += 1,
            }
        }
        n + base
            .blocks
            .keys()
            .filter(|i| !self.blocks.contains_key(i))
            .count()
    }

    /// Drop blocks beyond `size_gb` (for shrinking copies; a no-op normally).
    pub fn truncate_to(&mut self, size_gb: u64) {
        let max = size_gb.saturating_mul(1024 * 1024 * 1024) / BLOCK_SIZE as u64;
        self.blocks.retain(|i, _| *i < max);
    }

    /// SHA-256 hex of the content (block index + bytes of each stored block).
    pub fn checksum(&self) -> String {
        let mut h = Sha256::new();
        for (i, b) in &self.blocks {
            h.update(i.to_le_bytes());
            h.update(b.as_slice());
        }
        hex::encode(h.finalize())
    }

    /// Seed deterministic pseudo-random content: `blocks` blocks from `seed`.
    pub fn seeded(seed: &str, blocks: u64) -> Content {
        let mut c = Content::new();
        for i in 0..blocks {
            let mut data = Vec::with_capacity(BLOCK_SIZE);
            let mut ctr = 0u32;
            while data.len() < BLOCK_SIZE {
                let mut h = Sha256::new();
                h.update(seed.as_bytes());
                h.update(i.to_le_bytes());
                h.update(ctr.to_le_bytes());
                data.extend_from_slice(&h.finalize());
                ctr += 1;
            }
            // Leave block 0 for the workload record; seed from block 16 up.
            c.write(16 + i, &data);
        }
        c
    }

    /// Stored blocks, for encoding a backup.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.blocks.iter().map(|(i, b)| (*i, b.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_shares_and_diverges() {
        let mut a = Content::seeded("x", 4);
        let snap = a.clone();
        assert_eq!(a.checksum(), snap.checksum());
        a.write(0, b"hello");
        assert_ne!(a.checksum(), snap.checksum());
        assert_eq!(a.changed_since(&snap), 1);
        a.write(0, &[]);
        assert_eq!(a.checksum(), snap.checksum());
        assert_eq!(a.changed_since(&snap), 0);
    }

    #[test]
    fn zero_writes_are_sparse() {
        let mut a = Content::new();
        a.write(5, &[0u8; 10]);
        assert_eq!(a.block_count(), 0);
        a.write(5, &[1]);
        assert_eq!(a.block_count(), 1);
        assert_eq!(a.read(5).map(|b| b[0]), Some(1));
    }
}
