//! `/proc/self/mountinfo`: where the cgroup hierarchies are mounted, and
//! which part of each hierarchy a mount shows.
//!
//! Format (proc(5)): `id parent major:minor root mount_point options
//! [optional fields...] - fstype source super_options`. `root` and
//! `mount_point` escape space, tab, newline and backslash as octal
//! (`\040`, `\011`, `\012`, `\134`).

use std::path::PathBuf;

/// One line of mountinfo, the fields the cgroup model needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    /// The directory of the mounted filesystem shown at the mount point
    /// (for a cgroup mount: the cgroup path the mount point stands for).
    pub(crate) root: String,
    /// Where it is mounted, unescaped.
    pub(crate) mount_point: PathBuf,
    /// `cgroup`, `cgroup2`, `ext4`...
    pub(crate) fstype: String,
    /// Per-superblock options: for cgroup v1, the controllers (`rw,memory`).
    pub(crate) super_options: String,
}

impl Mount {
    /// A cgroup v1 mount of the memory controller.
    pub(crate) fn is_v1_memory(&self) -> bool {
        self.fstype == "cgroup"
            && self
                .super_options
                .split(',')
                .any(|option| option == "memory")
    }

    /// A cgroup v2 (unified) mount.
    pub(crate) fn is_v2(&self) -> bool {
        self.fstype == "cgroup2"
    }
}

/// Every well-formed line of `text`; malformed lines are skipped.
pub(crate) fn parse(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Mount> {
    let (before, after) = line.split_once(" - ")?;
    let mut fields = before.split(' ');
    let _id = fields.next()?;
    let _parent = fields.next()?;
    let _device = fields.next()?;
    let root = unescape(fields.next()?);
    let mount_point = PathBuf::from(unescape(fields.next()?));
    let mut after = after.split(' ');
    let fstype = after.next()?.to_owned();
    let _source = after.next()?;
    let super_options = after.next().unwrap_or("").to_owned();
    Some(Mount {
        root,
        mount_point,
        fstype,
        super_options,
    })
}

/// Undoes the kernel's octal escapes (`\040` is a space).
pub(crate) fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let octal = bytes.get(index + 1..index + 4).filter(|digits| {
            bytes[index] == b'\\' && digits.iter().all(|digit| (b'0'..=b'7').contains(digit))
        });
        match octal {
            Some(digits) => {
                let value = digits
                    .iter()
                    .fold(0u32, |value, digit| value * 8 + u32::from(digit - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                index += 4;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cgroup_lines_with_optional_fields_and_escapes() {
        let text = "\
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory
41 31 0:38 /docker/abc /my\\040cgroups rw,relatime - cgroup2 cgroup2 rw,nsdelegate
garbage
";
        let mounts = parse(text);
        assert_eq!(mounts.len(), 2);
        assert!(mounts[0].is_v1_memory());
        assert_eq!(
            mounts[0].mount_point,
            PathBuf::from("/sys/fs/cgroup/memory")
        );
        assert!(mounts[1].is_v2());
        assert_eq!(mounts[1].root, "/docker/abc");
        assert_eq!(mounts[1].mount_point, PathBuf::from("/my cgroups"));
    }

    #[test]
    fn unescapes_octal_only() {
        assert_eq!(unescape(r"a\040b\011c\134d\012"), "a b\tc\\d\n");
        assert_eq!(unescape(r"\09x\04"), r"\09x\04");
    }
}
