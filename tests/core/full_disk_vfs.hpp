// SPDX-License-Identifier: Apache-2.0
// A SQLite VFS that runs out of disk space on demand, for tests of what keyward does on a full
// disk on any machine (a real full file system needs a tmpfs mount, which CI may not allow).
// It wraps the default "unix" VFS and registers itself as the default, so the store opens its
// files through it with no hook in production code. Once armed, it fails as the unix VFS does
// on ENOSPC: a write past the byte budget with SQLITE_FULL, and the growth of a -shm file
// beyond the size it already has with SQLITE_IOERR_SHMSIZE and errno ENOSPC (a -shm file that
// exists keeps its blocks: SQLite truncates and regrows it in place when it first maps it).
#pragma once

#include <cstdint>

namespace keyward::test {

class FullDiskVfs {
  public:
    /// Registers as SQLite's default VFS; the destructor makes "unix" the default again.
    /// Connections opened meanwhile must be closed before it ends. One at a time.
    FullDiskVfs();
    ~FullDiskVfs();
    FullDiskVfs(const FullDiskVfs&) = delete;
    FullDiskVfs& operator=(const FullDiskVfs&) = delete;

    /// From now on, writes may take `bytes` more bytes in all; then the disk is full.
    void fill_after(std::int64_t bytes);
    /// Space again: writes succeed.
    void free_space();
    /// Writes and -shm growths failed since construction.
    int failed_writes() const;
    /// Bytes written through it since construction (all files).
    std::int64_t bytes_written() const;
};

}  // namespace keyward::test
