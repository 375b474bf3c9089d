//! A minimal writer of ustar archives, enough for a build context: regular files with short
//! relative paths, built in memory (the engine takes the context as one tar body).

/// An archive being written.
#[derive(Default)]
pub(super) struct Tar {
    buf: Vec<u8>,
}

const BLOCK: usize = 512;

impl Tar {
    /// Adds a regular file; `path` is relative and at most 100 bytes (the ustar name field).
    pub(super) fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> &mut Self {
        assert!(
            path.len() <= 100 && !path.starts_with('/'),
            "tar path {path:?}: relative, at most 100 bytes"
        );
        let mut h = [0u8; BLOCK];
        h[..path.len()].copy_from_slice(path.as_bytes());
        octal(&mut h[100..108], u64::from(mode));
        octal(&mut h[108..116], 0); // uid
        octal(&mut h[116..124], 0); // gid
        octal(&mut h[124..136], data.len() as u64);
        octal(&mut h[136..148], 0); // mtime: fixed, so equal inputs give equal archives
        h[156] = b'0'; // regular file
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        // The checksum is computed with its own field taken as spaces.
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        let field = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(field.as_bytes());
        self.buf.extend_from_slice(&h);
        self.buf.extend_from_slice(data);
        let pad = (BLOCK - data.len() % BLOCK) % BLOCK;
        self.buf.resize(self.buf.len() + pad, 0);
        self
    }

    /// The archive, closed by its two zero blocks.
    pub(super) fn finish(mut self) -> Vec<u8> {
        self.buf.resize(self.buf.len() + 2 * BLOCK, 0);
        self.buf
    }
}

/// Writes `value` as zero-padded octal digits followed by a NUL, filling `field`.
fn octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let s = format!("{value:0digits$o}");
    assert!(
        s.len() == digits,
        "{value} does not fit a {digits}-digit tar field"
    );
    field[..digits].copy_from_slice(s.as_bytes());
    field[digits] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archive_lists_its_files_with_their_sizes_in_system_tar() {
        let mut t = Tar::default();
        t.file("Dockerfile", 0o644, b"FROM scratch\n")
            .file("bin/tool", 0o755, &vec![7u8; 1500]);
        let bytes = t.finish();
        assert_eq!(bytes.len() % BLOCK, 0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctx.tar");
        std::fs::write(&path, &bytes).unwrap();
        let out = std::process::Command::new("tar")
            .arg("-tvf")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listing = String::from_utf8(out.stdout).unwrap();
        assert!(listing.contains("Dockerfile"), "{listing}");
        assert!(
            listing.lines().any(|l| l.starts_with("-rwxr-xr-x")
                && l.contains("1500")
                && l.ends_with("bin/tool")),
            "{listing}"
        );
    }
}
