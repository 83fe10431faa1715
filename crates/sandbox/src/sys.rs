//! Thin wrappers over the raw system calls the sandbox needs. This is the only module with `unsafe`;
//! every block states why it is sound.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn check(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

// Constants of the new mount API (linux/mount.h, linux/fcntl.h), spelled out so we do not depend on
// the libc crate exporting them.
const OPEN_TREE_CLONE: libc::c_uint = 1;
const AT_RECURSIVE: libc::c_uint = 0x8000;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Landlock ABI version of the running kernel (0 = unavailable).
pub fn landlock_abi() -> u32 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a NULL attr, size 0 and the VERSION flag the syscall reads no memory and returns the
    // ABI version or an error.
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if r < 0 { 0 } else { r as u32 }
}

/// seccomp filter mode is available.
pub fn seccomp_available() -> bool {
    // SAFETY: PR_GET_SECCOMP takes no pointer arguments.
    let r = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    if r < 0 {
        return false;
    }
    // SAFETY: SECCOMP_GET_ACTION_AVAIL reads a u32 from the pointer we pass, which is valid.
    let action: u32 = 0x7fff_0000; // SECCOMP_RET_ALLOW
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            2u32, // SECCOMP_GET_ACTION_AVAIL
            0u32,
            &action as *const u32,
        )
    };
    r == 0
}

/// `access(path, W_OK)`.
pub fn writable(path: &Path) -> bool {
    let Ok(c) = cstr(path) else { return false };
    // SAFETY: `c` is a valid NUL-terminated string; access(2) only reads it.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Fork a child that tries what the sandbox needs from user namespaces; returns its exit code
/// (0 = usable; see `support::probe_userns` for the others).
pub fn probe_userns_child() -> i32 {
    // Everything the child needs is prepared before fork: after fork in a possibly multi-threaded
    // process the child may only make async-signal-safe calls (raw syscalls, no allocation).
    // SAFETY: geteuid/getegid cannot fail and have no preconditions.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let uid_map = CString::new(format!("{uid} {uid} 1")).unwrap_or_default();
    let gid_map = CString::new(format!("{gid} {gid} 1")).unwrap_or_default();
    // SAFETY: fork has no preconditions; the child below only performs raw syscalls on data prepared
    // before the fork and ends with _exit, never returning into Rust code that could touch locks.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return 100;
    }
    if pid == 0 {
        // SAFETY: child of fork: only async-signal-safe syscalls on valid NUL-terminated literals and
        // buffers prepared before fork; always terminates with _exit.
        unsafe {
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) != 0 {
                libc::_exit(1);
            }
            let write = |path: &[u8], data: &CString| -> bool {
                let fd = libc::open(path.as_ptr().cast(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return false;
                }
                let b = data.as_bytes();
                let ok = libc::write(fd, b.as_ptr().cast(), b.len()) == b.len() as isize;
                libc::close(fd);
                ok
            };
            let deny = CString::new("deny").unwrap_or_default();
            write(b"/proc/self/setgroups\0", &deny);
            if !write(b"/proc/self/uid_map\0", &uid_map)
                || !write(b"/proc/self/gid_map\0", &gid_map)
            {
                libc::_exit(2);
            }
            if libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                libc::_exit(3);
            }
            let fd = libc::syscall(
                libc::SYS_open_tree,
                libc::AT_FDCWD,
                c"/".as_ptr(),
                OPEN_TREE_CLONE | AT_RECURSIVE | libc::O_CLOEXEC as libc::c_uint,
            );
            if fd < 0 {
                libc::_exit(if *libc::__errno_location() == libc::ENOSYS {
                    4
                } else {
                    3
                });
            }
            let attr = MountAttr {
                attr_set: MOUNT_ATTR_RDONLY,
                attr_clr: 0,
                propagation: 0,
                userns_fd: 0,
            };
            let r = libc::syscall(
                libc::SYS_mount_setattr,
                fd as libc::c_int,
                c"".as_ptr(),
                libc::AT_EMPTY_PATH as libc::c_uint | AT_RECURSIVE,
                &attr as *const MountAttr,
                std::mem::size_of::<MountAttr>(),
            );
            if r < 0 {
                libc::_exit(if *libc::__errno_location() == libc::ENOSYS {
                    4
                } else {
                    3
                });
            }
            libc::_exit(0);
        }
    }
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is a valid out pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    if r != pid || !libc::WIFEXITED(status) {
        return 101;
    }
    libc::WEXITSTATUS(status)
}

/// Mark every fd >= `from` close-on-exec.
pub fn cloexec_from(from: u32) -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range with the CLOEXEC flag only changes fd flags; it touches no memory.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            from as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    check(r).map(drop)
}

/// Close a raw fd we know we own and no longer need (inherited control pipes in the supervisors).
pub fn close_raw(fd: RawFd) {
    // SAFETY: closing an fd number has no memory-safety impact here: the supervisor processes hold no
    // Rust object owning fds 3 and 4 (they were inherited for the final program only).
    unsafe {
        libc::close(fd);
    }
}

pub enum Forked {
    Child,
    Parent(libc::pid_t),
}

/// fork(2). Must only be called while the process is single-threaded (the helper always is).
pub fn fork() -> io::Result<Forked> {
    // SAFETY: the sandbox helper is single-threaded (helper_main documents that it must be called
    // before any thread is started), so the child may continue running ordinary Rust code.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid)),
    }
}

/// fork(2) into new namespaces: `clone(flags | SIGCHLD)` without a new stack, so the child continues
/// here like a forked one, already inside the namespaces `flags` create (user, pid), while the
/// parent stays in its own. Same rule as [`fork`]: single-threaded callers only.
pub fn fork_into(flags: libc::c_int) -> Result<Forked, nix::errno::Errno> {
    // SAFETY: no CLONE_VM and no stack: the child gets a copy of this (single-threaded) process's
    // memory, as with fork(2), and may continue running ordinary Rust code. glibc's own pid/tid
    // bookkeeping is not consulted by anything the child runs (getpid is a syscall; raise() asks the
    // kernel for its tid).
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match pid {
        -1 => Err(nix::errno::Errno::last()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as libc::pid_t)),
    }
}

/// `open_tree(path, OPEN_TREE_CLONE [| AT_RECURSIVE])`: a detached copy of the mount at `path`.
pub fn clone_tree(path: &Path, recursive: bool) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: `c` is a valid NUL-terminated path; the syscall returns a new fd that we own.
    let fd =
        check(unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c.as_ptr(), flags) })?;
    // SAFETY: `fd` was just returned by open_tree and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `mount_setattr` on a detached tree (fd) or on a path, adding `set` flags.
pub fn mount_setattr(
    fd: Option<&OwnedFd>,
    path: &Path,
    set: u64,
    recursive: bool,
) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let mut flags: libc::c_uint = if recursive { AT_RECURSIVE } else { 0 };
    let (dfd, c) = match fd {
        Some(fd) => {
            flags |= libc::AT_EMPTY_PATH as libc::c_uint;
            (fd.as_raw_fd(), CString::default())
        }
        None => (libc::AT_FDCWD, cstr(path)?),
    };
    // SAFETY: `c` is a valid NUL-terminated string, `attr` a valid mount_attr of the size passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dfd,
            c.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    check(r).map(drop)
}

/// `move_mount` a detached tree onto `target`.
pub fn move_mount(fd: &OwnedFd, target: &Path) -> io::Result<()> {
    let t = cstr(target)?;
    // SAFETY: both paths are valid NUL-terminated strings and `fd` is a detached mount fd we own.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    check(r).map(drop)
}

/// `pivot_root(".", ".")` in the current directory, then detach the old root stacked on top.
pub fn pivot_root_here() -> io::Result<()> {
    // SAFETY: the arguments are valid NUL-terminated literals.
    check(unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) })?;
    nix::mount::umount2(".", nix::mount::MntFlags::MNT_DETACH).map_err(io::Error::from)?;
    std::env::set_current_dir("/")
}

/// Drop every capability: bounding set, ambient set, securebits (best effort), then capset to zero,
/// and verify.
pub fn drop_all_capabilities() -> Result<(), String> {
    // Securebits: no root magic at exec, locked. Needs CAP_SETPCAP; not fatal without it (no_new_privs
    // already prevents gaining privileges through exec).
    // NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE with their locks, and KEEP_CAPS locked off.
    let bits: u32 = 0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80;
    // SAFETY: PR_SET_SECUREBITS takes an integer argument only.
    unsafe {
        libc::prctl(libc::PR_SET_SECUREBITS, bits as libc::c_ulong, 0, 0, 0);
    }
    for cap in 0..64 {
        // SAFETY: PR_CAPBSET_READ/DROP take an integer capability number only.
        let present = unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) };
        if present < 0 {
            break; // EINVAL: past the last capability
        }
        if present == 1 {
            // SAFETY: as above.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            if r != 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EPERM) && permitted_is_empty()? {
                    // Without CAP_SETPCAP and with no permitted capabilities, the bounding set can
                    // only matter for file capabilities at exec, which no_new_privs disables.
                    break;
                }
                return Err(format!(
                    "dropping capability {cap} from the bounding set: {e}"
                ));
            }
        }
    }
    // SAFETY: PR_CAP_AMBIENT_CLEAR_ALL takes integer arguments only.
    let r = unsafe {
        libc::prctl(libc::PR_CAP_AMBIENT, 4 /* CLEAR_ALL */, 0, 0, 0)
    };
    if r != 0 {
        return Err(format!(
            "clearing ambient capabilities: {}",
            io::Error::last_os_error()
        ));
    }
    let mut hdr = CapHeader {
        version: 0x2008_0522,
        pid: 0,
    };
    let data = [CapData::default(); 2];
    // SAFETY: `hdr` and `data` are valid for the v3 capability ABI (a header and two data structs).
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if r != 0 {
        return Err(format!("capset: {}", io::Error::last_os_error()));
    }
    let now = capget()?;
    if now
        .iter()
        .any(|d| d.effective != 0 || d.permitted != 0 || d.inheritable != 0)
    {
        return Err("capabilities still present after capset".into());
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

fn capget() -> Result<[CapData; 2], String> {
    let mut hdr = CapHeader {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: `hdr` and `data` are valid, writable v3 capability structures.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(format!("capget: {}", io::Error::last_os_error()));
    }
    Ok(data)
}

fn permitted_is_empty() -> Result<bool, String> {
    Ok(capget()?.iter().all(|d| d.permitted == 0))
}

/// Install a classic BPF seccomp filter (no_new_privs must already be set).
pub fn install_seccomp(prog: &[seccompiler::sock_filter]) -> Result<(), String> {
    seccompiler::apply_filter(prog).map_err(|e| e.to_string())
}

/// Reset every catchable signal to its default disposition (a Rust parent ignores SIGPIPE, and ignored
/// dispositions survive exec).
pub fn reset_signal_dispositions() {
    for sig in 1..32 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: installing SIG_DFL is always sound; it runs no Rust code in signal context.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
}

/// The pids whose parent is `pid`, from `/proc` (zombies included).
pub fn children_of(pid: libc::pid_t) -> Vec<libc::pid_t> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let child: libc::pid_t = e.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
        // `PID (COMM) STATE PPID …`; COMM may hold spaces and parentheses.
        let after = &stat[stat.rfind(')')? + 1..];
        let ppid: libc::pid_t = after.split_whitespace().nth(1)?.parse().ok()?;
        (ppid == pid).then_some(child)
    })
    .collect()
}

/// Consumes `sig` if it is pending for this thread (it must be blocked), without waiting.
pub fn take_pending(sig: libc::c_int) {
    // SAFETY: the sigset is initialised by sigemptyset before use; a zero timeout makes
    // sigtimedwait return at once; a null siginfo pointer is allowed.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        libc::sigtimedwait(&set, std::ptr::null_mut(), &zero);
    }
}

/// Poll `fd` once without waiting; true if the other end of the pipe is closed.
pub fn pipe_hung_up(fd: &OwnedFd) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `p` is a valid pollfd array of length 1.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    r > 0 && (p.revents & libc::POLLHUP) != 0
}

/// Duplicate `fd` to the lowest free descriptor >= `min`, close-on-exec.
pub fn dup_high(fd: &OwnedFd, min: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on a valid fd we borrow; it returns a new descriptor nothing else owns.
    let n = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `n` is a fresh descriptor returned by fcntl, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(n) })
}

/// `ioctl(fd, TIOCSCTTY, 0)`: make the terminal open on `fd` the calling session leader's
/// controlling terminal (without stealing it from another session).
pub fn set_controlling_tty(fd: RawFd) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal), no pointer; on a bad fd or a
    // non-terminal the kernel returns an error.
    let r = unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Take ownership of a raw fd number handed to us (through a plan, or by `SCM_RIGHTS`).
///
/// The caller guarantees that nothing else in this process owns `fd`.
pub fn take_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: by this function's contract the fd is open and owned by no other object, so
    // exactly one `OwnedFd` will close it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Bring the loopback interface of this process's network namespace up (`SIOCSIFFLAGS` on `lo`).
/// A new network namespace has `lo`, down.
pub fn loopback_up() -> io::Result<()> {
    // SAFETY: plain socket(2); the returned fd is checked and owned by `sock` below.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    let sock = take_fd(raw);
    // SAFETY: `ifreq` is a plain C struct for which all-zero bytes are a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name and writes the flags of `req`, which lives for the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just filled `ifru_flags`, the union member SIOCGIFFLAGS writes.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads `req` (name and flags), which lives for the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
