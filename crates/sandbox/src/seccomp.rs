//! Building the seccomp filters of a [`SeccompPlan`] (pure; installing them is in `sys`).

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op,
    SeccompCondition as Cond, SeccompFilter, SeccompRule, TargetArch, sock_filter,
};

use crate::plan::{SeccompPlan, SocketPolicy};

fn syscall_number(name: &str) -> Option<i64> {
    #[cfg(target_arch = "x86_64")]
    let arch_specific = match name {
        "iopl" => Some(libc::SYS_iopl),
        "ioperm" => Some(libc::SYS_ioperm),
        _ => None,
    };
    #[cfg(not(target_arch = "x86_64"))]
    let arch_specific: Option<i64> = None;
    if arch_specific.is_some() {
        return arch_specific;
    }
    Some(match name {
        "ptrace" => libc::SYS_ptrace,
        "process_vm_readv" => libc::SYS_process_vm_readv,
        "process_vm_writev" => libc::SYS_process_vm_writev,
        "io_uring_setup" => libc::SYS_io_uring_setup,
        "io_uring_enter" => libc::SYS_io_uring_enter,
        "io_uring_register" => libc::SYS_io_uring_register,
        "bpf" => libc::SYS_bpf,
        "perf_event_open" => libc::SYS_perf_event_open,
        "userfaultfd" => libc::SYS_userfaultfd,
        "keyctl" => libc::SYS_keyctl,
        "add_key" => libc::SYS_add_key,
        "request_key" => libc::SYS_request_key,
        "kexec_load" => libc::SYS_kexec_load,
        "kexec_file_load" => libc::SYS_kexec_file_load,
        "init_module" => libc::SYS_init_module,
        "finit_module" => libc::SYS_finit_module,
        "delete_module" => libc::SYS_delete_module,
        "mount" => libc::SYS_mount,
        "umount2" => libc::SYS_umount2,
        "pivot_root" => libc::SYS_pivot_root,
        "chroot" => libc::SYS_chroot,
        "unshare" => libc::SYS_unshare,
        "setns" => libc::SYS_setns,
        "mount_setattr" => libc::SYS_mount_setattr,
        "open_tree" => libc::SYS_open_tree,
        "move_mount" => libc::SYS_move_mount,
        "fsopen" => libc::SYS_fsopen,
        "fsconfig" => libc::SYS_fsconfig,
        "fsmount" => libc::SYS_fsmount,
        "fspick" => libc::SYS_fspick,
        "open_by_handle_at" => libc::SYS_open_by_handle_at,
        "name_to_handle_at" => libc::SYS_name_to_handle_at,
        "swapon" => libc::SYS_swapon,
        "swapoff" => libc::SYS_swapoff,
        "reboot" => libc::SYS_reboot,
        "acct" => libc::SYS_acct,
        "syslog" => libc::SYS_syslog,
        _ => return None,
    })
}

/// Syscalls that exist only on x86: elsewhere there is nothing to deny.
const X86_ONLY: &[&str] = &["iopl", "ioperm"];

/// Whether `name` has no number on this architecture because it does not exist here (as opposed
/// to a name this crate does not know, which is an error).
fn absent_on_this_arch(name: &str) -> bool {
    !cfg!(target_arch = "x86_64") && X86_ONLY.contains(&name)
}

const CLONE_NEW_FLAGS: &[u64] = &[
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWCGROUP as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    0x80, // CLONE_NEWTIME
];

fn target_arch() -> TargetArch {
    #[cfg(target_arch = "aarch64")]
    {
        TargetArch::aarch64
    }
    #[cfg(not(target_arch = "aarch64"))]
    {
        TargetArch::x86_64
    }
}

fn cond(arg: u8, len: Len, op: Op, v: u64) -> Cond {
    Cond::new(arg, len, op, v).expect("valid seccomp condition")
}

fn rule(conds: Vec<Cond>) -> SeccompRule {
    SeccompRule::new(conds).expect("valid seccomp rule")
}

/// The main filter: everything in the plan answered with `EPERM`, everything else allowed.
pub fn main_filter(plan: &SeccompPlan) -> Result<BpfProgram, String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for name in &plan.deny {
        match syscall_number(name) {
            Some(n) => {
                rules.insert(n, vec![]);
            }
            None if absent_on_this_arch(name) => {}
            None => return Err(format!("unknown syscall {name:?} in seccomp plan")),
        }
    }
    if plan.sockets == SocketPolicy::None {
        rules.insert(libc::SYS_socket, vec![]);
    }
    if plan.sockets == SocketPolicy::Inet {
        rules.insert(libc::SYS_socket, crate::net::inet_only_socket_rules());
    }
    if plan.deny_tty_injection {
        // The ioctl request is an `unsigned int` in the kernel: compare the low 32 bits only, so
        // garbage in the upper half cannot slip past the filter.
        rules.insert(
            libc::SYS_ioctl,
            vec![
                rule(vec![cond(1, Len::Dword, Op::Eq, libc::TIOCSTI)]),
                rule(vec![cond(1, Len::Dword, Op::Eq, libc::TIOCLINUX)]),
            ],
        );
    }
    if plan.deny_personality {
        rules.insert(
            libc::SYS_personality,
            vec![rule(vec![
                cond(0, Len::Dword, Op::Ne, 0),
                cond(0, Len::Dword, Op::Ne, 0xffff_ffff),
            ])],
        );
    }
    if plan.deny_namespace_clone {
        // x86_64 and aarch64 both take the flags as the first clone(2) argument.
        rules.insert(
            libc::SYS_clone,
            CLONE_NEW_FLAGS
                .iter()
                .map(|f| rule(vec![cond(0, Len::Qword, Op::MaskedEq(*f), *f)]))
                .collect(),
        );
    }
    if plan.deny_unaccounted_memory {
        // MAP_SHARED (1) or MAP_SHARED_VALIDATE (3) together with MAP_ANONYMOUS: the flags are an
        // `int`, so only the low 32 bits count.
        const MAP_TYPE_AND_ANON: u64 = 0x03 | libc::MAP_ANONYMOUS as u64;
        let anon = libc::MAP_ANONYMOUS as u64;
        rules.insert(
            libc::SYS_mmap,
            vec![
                rule(vec![cond(
                    3,
                    Len::Dword,
                    Op::MaskedEq(MAP_TYPE_AND_ANON),
                    libc::MAP_SHARED as u64 | anon,
                )]),
                rule(vec![cond(
                    3,
                    Len::Dword,
                    Op::MaskedEq(MAP_TYPE_AND_ANON),
                    libc::MAP_SHARED_VALIDATE as u64 | anon,
                )]),
            ],
        );
        rules.insert(libc::SYS_memfd_create, vec![]);
        rules.insert(libc::SYS_shmget, vec![]);
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        target_arch(),
    )
    .map_err(|e| e.to_string())?;
    BpfProgram::try_from(filter).map_err(|e| e.to_string())
}

const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const AUDIT_ARCH: u32 = 0;

fn ins(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// A small hand-written prelude filter (seccompiler has a single match action per filter):
/// kill on a foreign architecture (i386 `int 0x80` would bypass a filter written in x86_64 numbers),
/// `EPERM` for x32 syscalls (number bit 30 set), `ENOSYS` for `clone3` (its flags live in memory the
/// filter cannot read, and `ENOSYS` makes libc fall back to `clone`, whose flags are checked).
pub fn prelude_filter(plan: &SeccompPlan) -> BpfProgram {
    let mut p = vec![
        ins(BPF_LD_W_ABS, 0, 0, 4), // seccomp_data.arch
        ins(BPF_JEQ_K, 1, 0, AUDIT_ARCH),
        ins(BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
        ins(BPF_LD_W_ABS, 0, 0, 0), // seccomp_data.nr
    ];
    if plan.deny_foreign_abi && cfg!(target_arch = "x86_64") {
        p.push(ins(BPF_JGE_K, 0, 1, 0x4000_0000));
        p.push(ins(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | libc::EPERM as u32));
    }
    if plan.deny_namespace_clone {
        p.push(ins(BPF_JEQ_K, 0, 1, libc::SYS_clone3 as u32));
        p.push(ins(
            BPF_RET_K,
            0,
            0,
            SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        ));
    }
    p.push(ins(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW));
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::DENIED_SYSCALLS;

    fn plan() -> SeccompPlan {
        SeccompPlan {
            deny: DENIED_SYSCALLS.iter().map(|s| s.to_string()).collect(),
            sockets: SocketPolicy::None,
            deny_tty_injection: true,
            deny_personality: true,
            deny_namespace_clone: true,
            deny_foreign_abi: true,
            deny_unaccounted_memory: true,
        }
    }

    #[test]
    fn every_denied_syscall_has_a_number() {
        for s in DENIED_SYSCALLS {
            assert!(syscall_number(s).is_some() || absent_on_this_arch(s), "{s}");
        }
        // Only the x86-only ones may be missing, and only off x86.
        assert!(!absent_on_this_arch("ptrace"));
        assert_eq!(absent_on_this_arch("iopl"), !cfg!(target_arch = "x86_64"));
        let mut unknown = plan();
        unknown.deny.push("no_such_syscall".into());
        assert!(main_filter(&unknown).is_err());
        assert!(main_filter(&plan()).unwrap().len() > DENIED_SYSCALLS.len());
    }

    #[test]
    fn prelude_checks_arch_first_and_ends_with_allow() {
        let p = prelude_filter(&plan());
        assert_eq!(p[0].k, 4);
        assert_eq!(p[1].k, AUDIT_ARCH);
        assert_eq!(p[2].k, SECCOMP_RET_KILL_PROCESS);
        assert_eq!(p.last().unwrap().k, SECCOMP_RET_ALLOW);
        assert!(p.iter().any(|i| i.k == libc::SYS_clone3 as u32));
    }
}
