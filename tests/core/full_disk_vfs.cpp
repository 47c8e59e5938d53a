// SPDX-License-Identifier: Apache-2.0
// The full-disk VFS (full_disk_vfs.hpp): every call goes to the "unix" VFS, writes through a
// byte budget. SQLite calls a VFS through C function pointers, hence the file-scope state.
#include "full_disk_vfs.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

namespace keyward::test {

namespace {

sqlite3_vfs* real_vfs = nullptr;
sqlite3_vfs shim_vfs{};
std::atomic<std::int64_t> budget{-1};  // bytes writes may still take; -1: unlimited
std::atomic<int> failed{0};
std::atomic<std::int64_t> written{0};
std::atomic<bool> injected_errno{false};  // the last -shm growth failed here, with ENOSPC

struct ShimFile {
    sqlite3_file base;
    sqlite3_file* real;  // allocated right after this struct (szOsFile covers both)
    const char* name;    // SQLite keeps a main database's name valid until xClose
};

std::mutex shm_mutex;
std::map<std::string, sqlite3_int64> shm_sizes;  // largest size each -shm file has had

// -1 when the file does not exist.
sqlite3_int64 size_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<sqlite3_int64>(st.st_size) : -1;
}

sqlite3_file* real_of(sqlite3_file* f) {
    return reinterpret_cast<ShimFile*>(f)->real;
}

// Takes amt from the budget; false when the disk is full.
bool take(int amt) {
    std::int64_t left = budget.load();
    while (left >= 0) {
        if (amt > left) {
            budget.store(0);
            return false;
        }
        if (budget.compare_exchange_weak(left, left - amt)) return true;
    }
    return true;
}

int shim_write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 offset) {
    if (!take(amt)) {
        ++failed;
        return SQLITE_FULL;  // what unixWrite returns for ENOSPC (it keeps no errno)
    }
    written += amt;
    return real_of(f)->pMethods->xWrite(real_of(f), buf, amt, offset);
}

int shim_close(sqlite3_file* f) {
    return real_of(f)->pMethods->xClose(real_of(f));
}
int shim_read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 offset) {
    return real_of(f)->pMethods->xRead(real_of(f), buf, amt, offset);
}
int shim_truncate(sqlite3_file* f, sqlite3_int64 size) {
    return real_of(f)->pMethods->xTruncate(real_of(f), size);
}
int shim_sync(sqlite3_file* f, int flags) {
    return real_of(f)->pMethods->xSync(real_of(f), flags);
}
int shim_file_size(sqlite3_file* f, sqlite3_int64* size) {
    return real_of(f)->pMethods->xFileSize(real_of(f), size);
}
int shim_lock(sqlite3_file* f, int level) {
    return real_of(f)->pMethods->xLock(real_of(f), level);
}
int shim_unlock(sqlite3_file* f, int level) {
    return real_of(f)->pMethods->xUnlock(real_of(f), level);
}
int shim_check_reserved(sqlite3_file* f, int* out) {
    return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
int shim_file_control(sqlite3_file* f, int op, void* arg) {
    return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}
int shim_sector_size(sqlite3_file* f) {
    return real_of(f)->pMethods->xSectorSize(real_of(f));
}
int shim_device_characteristics(sqlite3_file* f) {
    return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}
// Growing a -shm file takes space; regrowing it to a size it had does not (the first
// connection truncates it to 3 bytes and regrows it, which frees the blocks it then takes).
int shim_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
    const char* name = reinterpret_cast<ShimFile*>(f)->name;
    if (name != nullptr) {
        const std::string shm = std::string(name) + "-shm";
        std::lock_guard lock(shm_mutex);
        sqlite3_int64& had = shm_sizes[shm];
        const sqlite3_int64 now = size_of(shm);
        had = now < 0 ? 0 : std::max(had, now);  // a removed file gave its blocks back
        const sqlite3_int64 need = static_cast<sqlite3_int64>(region + 1) * size;
        if (extend != 0 && need > had) {
            if (!take(static_cast<int>(need - had))) {
                ++failed;
                injected_errno = true;
                return SQLITE_IOERR_SHMSIZE;  // what unixShmMap returns when its write fails
            }
            had = need;
        }
    }
    injected_errno = false;
    return real_of(f)->pMethods->xShmMap(real_of(f), region, size, extend, out);
}
int shim_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
    return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}
void shim_shm_barrier(sqlite3_file* f) {
    real_of(f)->pMethods->xShmBarrier(real_of(f));
}
int shim_shm_unmap(sqlite3_file* f, int delete_flag) {
    return real_of(f)->pMethods->xShmUnmap(real_of(f), delete_flag);
}
int shim_fetch(sqlite3_file* f, sqlite3_int64 offset, int amt, void** out) {
    return real_of(f)->pMethods->xFetch(real_of(f), offset, amt, out);
}
int shim_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
    return real_of(f)->pMethods->xUnfetch(real_of(f), offset, p);
}

const sqlite3_io_methods shim_methods = {
    3,
    shim_close,
    shim_read,
    shim_write,
    shim_truncate,
    shim_sync,
    shim_file_size,
    shim_lock,
    shim_unlock,
    shim_check_reserved,
    shim_file_control,
    shim_sector_size,
    shim_device_characteristics,
    shim_shm_map,
    shim_shm_lock,
    shim_shm_barrier,
    shim_shm_unmap,
    shim_fetch,
    shim_unfetch,
};

int shim_open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
    auto* shim = reinterpret_cast<ShimFile*>(f);
    shim->real = reinterpret_cast<sqlite3_file*>(shim + 1);
    shim->name = (flags & SQLITE_OPEN_MAIN_DB) != 0 ? name : nullptr;
    shim->base.pMethods = nullptr;
    const int rc = real_vfs->xOpen(real_vfs, name, shim->real, flags, out_flags);
    // The unix VFS's methods are version 3: ours forward every one of them.
    if (rc == SQLITE_OK && shim->real->pMethods != nullptr) shim->base.pMethods = &shim_methods;
    return rc;
}

int shim_delete(sqlite3_vfs*, const char* name, int sync_dir) {
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}
int shim_access(sqlite3_vfs*, const char* name, int flags, int* out) {
    return real_vfs->xAccess(real_vfs, name, flags, out);
}
int shim_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}
void* shim_dl_open(sqlite3_vfs*, const char* name) {
    return real_vfs->xDlOpen(real_vfs, name);
}
void shim_dl_error(sqlite3_vfs*, int n, char* out) {
    real_vfs->xDlError(real_vfs, n, out);
}
void (*shim_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
    return real_vfs->xDlSym(real_vfs, handle, symbol);
}
void shim_dl_close(sqlite3_vfs*, void* handle) {
    real_vfs->xDlClose(real_vfs, handle);
}
int shim_randomness(sqlite3_vfs*, int n, char* out) {
    return real_vfs->xRandomness(real_vfs, n, out);
}
int shim_sleep(sqlite3_vfs*, int micros) {
    return real_vfs->xSleep(real_vfs, micros);
}
int shim_current_time(sqlite3_vfs*, double* out) {
    return real_vfs->xCurrentTime(real_vfs, out);
}
// SQLite asks for the errno of a failed call here (sqlite3_system_errno), perhaps more than
// once: the injected one stays until the next -shm mapping.
int shim_get_last_error(sqlite3_vfs*, int n, char* out) {
    if (injected_errno) return ENOSPC;
    return real_vfs->xGetLastError(real_vfs, n, out);
}
int shim_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

}  // namespace

FullDiskVfs::FullDiskVfs() {
    real_vfs = sqlite3_vfs_find("unix");
    if (real_vfs == nullptr) throw std::runtime_error("no unix VFS");
    shim_vfs = sqlite3_vfs{};
    shim_vfs.iVersion = 2;
    shim_vfs.szOsFile = static_cast<int>(sizeof(ShimFile)) + real_vfs->szOsFile;
    shim_vfs.mxPathname = real_vfs->mxPathname;
    shim_vfs.zName = "keyward-test-full-disk";
    shim_vfs.xOpen = shim_open;
    shim_vfs.xDelete = shim_delete;
    shim_vfs.xAccess = shim_access;
    shim_vfs.xFullPathname = shim_full_pathname;
    shim_vfs.xDlOpen = shim_dl_open;
    shim_vfs.xDlError = shim_dl_error;
    shim_vfs.xDlSym = shim_dl_sym;
    shim_vfs.xDlClose = shim_dl_close;
    shim_vfs.xRandomness = shim_randomness;
    shim_vfs.xSleep = shim_sleep;
    shim_vfs.xCurrentTime = shim_current_time;
    shim_vfs.xGetLastError = shim_get_last_error;
    shim_vfs.xCurrentTimeInt64 = shim_current_time_int64;
    budget = -1;
    {
        std::lock_guard lock(shm_mutex);
        shm_sizes.clear();
    }
    failed = 0;
    written = 0;
    injected_errno = false;
    if (sqlite3_vfs_register(&shim_vfs, 1) != SQLITE_OK) {
        throw std::runtime_error("cannot register the test VFS");
    }
}

FullDiskVfs::~FullDiskVfs() {
    sqlite3_vfs_unregister(&shim_vfs);
    sqlite3_vfs_register(real_vfs, 1);
}

void FullDiskVfs::fill_after(std::int64_t bytes) {
    budget = bytes;
}

void FullDiskVfs::free_space() {
    budget = -1;
    injected_errno = false;
}

int FullDiskVfs::failed_writes() const {
    return failed.load();
}

std::int64_t FullDiskVfs::bytes_written() const {
    return written.load();
}

}  // namespace keyward::test
