/* fcbox: the sandbox-side helper of functioncall.
 *
 * It runs inside the sandbox (under bubblewrap, or after building its own namespaces with --unshare) as a
 * small session server: the judge writes a command on stdin (NUL-separated "key=value" tokens ended by an
 * empty token), fcbox starts one program (or a solution and an interactor wired by pipes) in a fresh cgroup
 * (memory incl. tmpfs/memfd/children, no swap, pids, CPU of the whole tree), with rlimits, an unprivileged uid,
 * a seccomp filter, a fresh work dir and a wall-clock limit, kills everything the run left behind through its
 * cgroup, and answers with one line of "key=value" measurements on stdout.
 *
 * Keys of a process (prefix "a." for the program, "b." for the interactor):
 *   arg=S (repeated, argv; argv[0] is also the file executed unless exe= is given), exe=PATH, env=K=V (repeated),
 *   stdin=PATH stdout=PATH stderr=PATH (opened by fcbox before dropping privileges; empty = /dev/null),
 *   fdN=PATH (N in 3..9, opened read-only as fd N), wfdN=PATH (created for writing, owned by uid),
 *   uid=N gid=N (only applied when fcbox is root), cpu_ms wall_ms mem_mb stack_mb fsize_mb nproc nofile.
 *   mem_mb is the cgroup memory limit when the session has cgroups, else the address-space limit.
 * Global keys: pipe=1 (a.stdout -> b.stdin, b.stdout -> a.stdin).
 * Answer: "a.exit=C a.sig=S a.cpu_ms=T a.wall_ms=W a.rss_kb=R a.mem_kb=M a.oom=K a.memhit=H a.cg=0|1 a.walltle=0|1
 *          a.cputle=0|1 a.errno=E [b.…]\n" or "error msg=...\n".
 *
 * Session options: --box DIR, --level NAME, --pidns, --cgroup1 MEM,PIDS,CPUACCT,FREEZER (directory fds of this
 * session's cgroups, -1 for a missing one), --cgroup2 FD, --hidepid (remount /proc so that programs see only their
 * own processes; remove the terminals from /dev), --unshare and the mount options of the fallback (--mask, --bind,
 * --ro-bind, --dir, --tmpfs, --dev).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#define MAXARGS 256
#define MAXENV 64
#define NFD 10
#define MAXPIDS 4096

enum { CG_MEM, CG_PIDS, CG_CPU, CG_FRZ, CG_N };

typedef struct {
  char name[32];
  int dir[CG_N];     /* run cgroup dir per hierarchy (v2: only [0]); -1 if absent */
  int procs[CG_N];   /* its cgroup.procs, for the child to join */
  int cpu_fd;        /* cpuacct.usage (v1) or cpu.stat (v2) */
  int f[8];          /* control and counter files, opened when the cgroup is made (before the run needs them) */
  int ok;
} runcg_t;
enum { F_LIMIT, F_MEMSW, F_PIDS, F_PEAK, F_FAIL, F_MFAIL, F_EVENTS, F_LIST, F_N };

typedef struct {
  char *argv[MAXARGS + 1]; int argc;
  char *envp[MAXENV + 1]; int envc;
  char *exe, *in, *out, *err;
  char *fd_path[NFD]; int fd_write[NFD];
  long uid, gid, cpu_ms, wall_ms, mem_mb, stack_mb, fsize_mb, nproc, nofile;
  int used;
  /* results */
  pid_t pid; int status, reaped, walltle, cputle, exec_errno; clockid_t clk; int has_clk;
  struct rusage ru; double t0, t1, deadline;
  long cg_cpu_ms, cg_peak_kb, cg_oom, cg_memhit;
  int errfd;
  runcg_t cg;
  char workdir[PATH_MAX];
} proc_t;

static char *box_dir = "/box";
static const char *level = "none";
static int in_pidns = 0, hidepid = 0;
static unsigned long run_counter = 0, cg_counter = 0;
static int cg_mode = 0;                    /* 0 none, 1 cgroup v1, 2 cgroup v2 */
static int cg_base[CG_N] = {-1, -1, -1, -1};
static long ncpu = 1;

static double now(void) {
  struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) {
  va_list ap; va_start(ap, fmt);
  fprintf(stderr, "fcbox: "); vfprintf(stderr, fmt, ap); fprintf(stderr, ": %s\n", strerror(errno));
  va_end(ap); _exit(120);
}

static void sleep_ms(double ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)((ms - 1000 * (long)(ms / 1000)) * 1e6)};
  nanosleep(&ts, NULL);
}

/* ---------- seccomp: a deny list compiled into a BPF filter ---------- */
#if defined(__x86_64__)
#define FC_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FC_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef FC_ARCH
static const int denied[] = {
#define D(x) __NR_##x,
#ifdef __NR_unshare
  D(unshare)
#endif
#ifdef __NR_setns
  D(setns)
#endif
#ifdef __NR_mount
  D(mount)
#endif
#ifdef __NR_umount2
  D(umount2)
#endif
#ifdef __NR_umount
  D(umount)
#endif
#ifdef __NR_pivot_root
  D(pivot_root)
#endif
#ifdef __NR_chroot
  D(chroot)
#endif
#ifdef __NR_move_mount
  D(move_mount)
#endif
#ifdef __NR_open_tree
  D(open_tree)
#endif
#ifdef __NR_fsopen
  D(fsopen)
#endif
#ifdef __NR_fsconfig
  D(fsconfig)
#endif
#ifdef __NR_fsmount
  D(fsmount)
#endif
#ifdef __NR_fspick
  D(fspick)
#endif
#ifdef __NR_mount_setattr
  D(mount_setattr)
#endif
#ifdef __NR_keyctl
  D(keyctl)
#endif
#ifdef __NR_add_key
  D(add_key)
#endif
#ifdef __NR_request_key
  D(request_key)
#endif
#ifdef __NR_ptrace
  D(ptrace)
#endif
#ifdef __NR_process_vm_readv
  D(process_vm_readv)
#endif
#ifdef __NR_process_vm_writev
  D(process_vm_writev)
#endif
#ifdef __NR_pidfd_getfd
  D(pidfd_getfd)
#endif
#ifdef __NR_process_madvise
  D(process_madvise)
#endif
#ifdef __NR_kcmp
  D(kcmp)
#endif
#ifdef __NR_perf_event_open
  D(perf_event_open)
#endif
#ifdef __NR_userfaultfd
  D(userfaultfd)
#endif
#ifdef __NR_io_uring_setup
  D(io_uring_setup)
#endif
#ifdef __NR_io_uring_enter
  D(io_uring_enter)
#endif
#ifdef __NR_io_uring_register
  D(io_uring_register)
#endif
#ifdef __NR_bpf
  D(bpf)
#endif
#ifdef __NR_memfd_secret
  D(memfd_secret)
#endif
#ifdef __NR_kexec_load
  D(kexec_load)
#endif
#ifdef __NR_kexec_file_load
  D(kexec_file_load)
#endif
#ifdef __NR_init_module
  D(init_module)
#endif
#ifdef __NR_finit_module
  D(finit_module)
#endif
#ifdef __NR_delete_module
  D(delete_module)
#endif
#ifdef __NR_reboot
  D(reboot)
#endif
#ifdef __NR_swapon
  D(swapon)
#endif
#ifdef __NR_swapoff
  D(swapoff)
#endif
#ifdef __NR_acct
  D(acct)
#endif
#ifdef __NR_quotactl
  D(quotactl)
#endif
#ifdef __NR_quotactl_fd
  D(quotactl_fd)
#endif
#ifdef __NR_syslog
  D(syslog)
#endif
#ifdef __NR_lookup_dcookie
  D(lookup_dcookie)
#endif
#ifdef __NR_open_by_handle_at
  D(open_by_handle_at)
#endif
#ifdef __NR_name_to_handle_at
  D(name_to_handle_at)
#endif
#ifdef __NR_iopl
  D(iopl)
#endif
#ifdef __NR_ioperm
  D(ioperm)
#endif
#ifdef __NR_uselib
  D(uselib)
#endif
#ifdef __NR_vhangup
  D(vhangup)
#endif
#ifdef __NR_fanotify_init
  D(fanotify_init)
#endif
#ifdef __NR_settimeofday
  D(settimeofday)
#endif
#ifdef __NR_clock_settime
  D(clock_settime)
#endif
#ifdef __NR_clock_adjtime
  D(clock_adjtime)
#endif
#ifdef __NR_adjtimex
  D(adjtimex)
#endif
#ifdef __NR_sethostname
  D(sethostname)
#endif
#ifdef __NR_setdomainname
  D(setdomainname)
#endif
#ifdef __NR__sysctl
  D(_sysctl)
#endif
#undef D
};

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | \
                  CLONE_NEWCGROUP | 0x00000080 /* CLONE_NEWTIME */)
#define RET_ERR(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))   /* low 32 bits on little-endian */

static struct sock_filter filt[256];
static int nfilt = 0;
static void F(unsigned short code, unsigned k, unsigned char jt, unsigned char jf) {
  filt[nfilt++] = (struct sock_filter){code, jt, jf, k};
}

/* The filter: wrong architecture (or the x32 ABI) -> kill; denied syscalls -> EPERM; clone with namespace flags
 * -> EPERM; clone3 -> ENOSYS (its flags cannot be inspected; glibc falls back to clone); sockets other than
 * AF_UNIX -> EAFNOSUPPORT; ioctl TIOCSTI/TIOCLINUX -> EPERM; everything else allowed. */
static void build_filter(void) {
  F(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
  F(BPF_JMP | BPF_JEQ | BPF_K, FC_ARCH, 1, 0);
  F(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
  F(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
#ifdef __x86_64__
  F(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);            /* x32 */
  F(BPF_RET | BPF_K, RET_ERR(EPERM), 0, 0);
#endif
  for (size_t i = 0; i < sizeof denied / sizeof *denied; i++) {
    F(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)denied[i], 0, 1);
    F(BPF_RET | BPF_K, RET_ERR(EPERM), 0, 0);
  }
#ifdef __NR_clone3
  F(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1);
  F(BPF_RET | BPF_K, RET_ERR(ENOSYS), 0, 0);
#endif
  F(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4);
  F(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
  F(BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 0, 1);
  F(BPF_RET | BPF_K, RET_ERR(EPERM), 0, 0);
  F(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
#ifdef __NR_socket
  F(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 1, 0);
  F(BPF_JMP | BPF_JEQ | BPF_K, __NR_socketpair, 0, 4);
  F(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
  F(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 1, 0);
  F(BPF_RET | BPF_K, RET_ERR(EAFNOSUPPORT), 0, 0);
  F(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
#endif
  F(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 5);
  F(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1), 0, 0);
  F(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 1, 0);
  F(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 0, 1);
  F(BPF_RET | BPF_K, RET_ERR(EPERM), 0, 0);
  F(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
  F(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
}

static int install_filter(void) {
  struct sock_fprog prog = {(unsigned short)nfilt, filt};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}
#else
static void build_filter(void) {}
static int install_filter(void) { errno = ENOSYS; return -1; }   /* unknown architecture: refuse to run */
#endif

/* ---------- cgroups ---------- */
static int cg_write(int dfd, const char *file, const char *val) {
  int fd = openat(dfd, file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t r = write(fd, val, strlen(val));
  int e = errno; close(fd); errno = e;
  return r < 0 ? -1 : 0;
}

static ssize_t cg_read(int dfd, const char *file, char *buf, size_t cap) {
  int fd = openat(dfd, file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = 0, r;
  while (n < (ssize_t)cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0) n += r;
  close(fd);
  buf[n < 0 ? 0 : n] = 0;
  return n;
}

/* The value of "key N" in a flat-keyed cgroup file (memory.events, cpu.stat, memory.oom_control), or -1. */
static long long kv_get(const char *text, const char *key) {
  size_t k = strlen(key);
  for (const char *s = text; s && *s; s = strchr(s, '\n'), s = s ? s + 1 : NULL)
    if (!strncmp(s, key, k) && s[k] == ' ') return atoll(s + k + 1);
  return -1;
}

static void cg_init(runcg_t *c) {
  memset(c, 0, sizeof *c); c->cpu_fd = -1;
  for (int i = 0; i < CG_N; i++) c->dir[i] = c->procs[i] = -1;
  for (int i = 0; i < F_N; i++) c->f[i] = -1;
}

static void cg_close_fds(runcg_t *c) {
  for (int i = 0; i < CG_N; i++) {
    if (c->dir[i] >= 0) close(c->dir[i]);
    if (c->procs[i] >= 0) close(c->procs[i]);
    c->dir[i] = c->procs[i] = -1;
  }
  if (c->cpu_fd >= 0) close(c->cpu_fd);
  c->cpu_fd = -1;
  for (int i = 0; i < F_N; i++) { if (c->f[i] >= 0) close(c->f[i]); c->f[i] = -1; }
}

/* A fresh, empty cgroup (one per hierarchy) for one run. */
static int cg_create(runcg_t *c) {
  cg_init(c);
  if (!cg_mode) return 0;
  snprintf(c->name, sizeof c->name, "r%lu", ++cg_counter);
  for (int i = 0; i < CG_N; i++) {
    if (cg_base[i] < 0) continue;
    if (mkdirat(cg_base[i], c->name, 0755) < 0 && errno != EEXIST) return -1;
    c->dir[i] = openat(cg_base[i], c->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c->dir[i] < 0) return -1;
    c->procs[i] = openat(c->dir[i], "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (c->procs[i] < 0) return -1;
  }
  c->cpu_fd = cg_mode == 1 ? openat(c->dir[CG_CPU], "cpuacct.usage", O_RDONLY | O_CLOEXEC)
                           : openat(c->dir[0], "cpu.stat", O_RDONLY | O_CLOEXEC);
  if (c->cpu_fd < 0) return -1;
  static const char *v1[F_N] = {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "pids.max",
                                "memory.max_usage_in_bytes", "memory.failcnt", "memory.memsw.failcnt",
                                "memory.oom_control", "cgroup.procs"};
  static const char *v2[F_N] = {"memory.max", "memory.swap.max", "pids.max", "memory.peak", NULL, NULL,
                                "memory.events", "cgroup.procs"};
  for (int i = 0; i < F_N; i++) {
    const char *name = cg_mode == 1 ? v1[i] : v2[i];
    if (!name) continue;
    int d = cg_mode == 2 ? c->dir[0] : i == F_PIDS ? c->dir[CG_PIDS] : i == F_LIST ? (c->dir[CG_FRZ] >= 0 ? c->dir[CG_FRZ] : c->dir[CG_MEM]) : c->dir[CG_MEM];
    if (d >= 0) c->f[i] = openat(d, name, (i <= F_PIDS ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
  }
  c->ok = 1;
  return 0;
}

static int fd_write(int fd, const char *v) {
  if (fd < 0) { errno = ENOENT; return -1; }
  return pwrite(fd, v, strlen(v), 0) < 0 ? -1 : 0;
}

static ssize_t fd_read(int fd, char *buf, size_t cap) {
  if (fd < 0) return -1;
  ssize_t n = 0, r;
  while (n < (ssize_t)cap - 1 && (r = pread(fd, buf + n, cap - 1 - n, n)) > 0) n += r;
  buf[n < 0 ? 0 : n] = 0;
  return n;
}

static int cg_limits(runcg_t *c, long mem_mb, long pids) {
  char v[32];
  if (!c->ok) return 0;
  if (mem_mb > 0) snprintf(v, sizeof v, "%lld", (long long)mem_mb << 20); else snprintf(v, sizeof v, cg_mode == 1 ? "-1" : "max");
  if (cg_mode == 1) {
    if (fd_write(c->f[F_LIMIT], v) < 0) return -1;
    if (fd_write(c->f[F_MEMSW], v) < 0 && errno != ENOENT) return -1;          /* no swap either */
    snprintf(v, sizeof v, "%ld", pids);
    if (c->dir[CG_PIDS] >= 0 && fd_write(c->f[F_PIDS], v) < 0) return -1;
  } else {
    if (fd_write(c->f[F_LIMIT], v) < 0 && errno != ENOENT) return -1;
    if (fd_write(c->f[F_MEMSW], "0") < 0 && errno != ENOENT) return -1;
    cg_write(c->dir[0], "memory.oom.group", "1");
    snprintf(v, sizeof v, "%ld", pids);
    if (fd_write(c->f[F_PIDS], v) < 0 && errno != ENOENT) return -1;
  }
  return 0;
}

/* CPU nanoseconds used by every process of the run so far. */
static long long cg_cpu_ns(runcg_t *c) {
  char b[512];
  if (!c->ok || c->cpu_fd < 0) return -1;
  ssize_t n = pread(c->cpu_fd, b, sizeof b - 1, 0);
  if (n <= 0) return -1;
  b[n] = 0;
  if (cg_mode == 1) return atoll(b);
  long long us = kv_get(b, "usage_usec");
  return us < 0 ? -1 : us * 1000;
}

/* Process ids in the run's cgroup (in our pid namespace). */
static int cg_pids(runcg_t *c, pid_t *out, int cap) {
  static char b[MAXPIDS * 12];
  int d = cg_mode == 1 ? (c->dir[CG_FRZ] >= 0 ? c->dir[CG_FRZ] : c->dir[CG_MEM]) : c->dir[0];
  if ((c->f[F_LIST] >= 0 ? fd_read(c->f[F_LIST], b, sizeof b) : cg_read(d, "cgroup.procs", b, sizeof b)) < 0) return -1;
  int n = 0;
  for (char *s = b; *s && n < cap;) {
    long v = strtol(s, &s, 10);
    if (v > 0) out[n++] = (pid_t)v;
    while (*s == '\n' || *s == ' ') s++;
  }
  return n;
}

static void reap_all(void) { while (waitpid(-1, NULL, WNOHANG) > 0) {} }

/* Kills every process of the run through its cgroup (v2: cgroup.kill; v1: freeze, kill each, thaw) and waits
 * until the cgroup is empty (bounded: a process stuck in the kernel cannot hold the session forever). */
static void cg_kill(runcg_t *c, int wait_empty) {
  static pid_t pids[MAXPIDS];
  if (!c->ok) return;
  for (int iter = 0; iter < 400; iter++) {
    int n = cg_pids(c, pids, MAXPIDS);
    if (n <= 0) return;
    if (cg_mode == 2) {
      if (cg_write(c->dir[0], "cgroup.kill", "1") < 0) for (int i = 0; i < n; i++) kill(pids[i], SIGKILL);
    } else {
      int frz = c->dir[CG_FRZ];
      if (frz >= 0 && cg_write(frz, "freezer.state", "FROZEN") == 0) {
        char st[32];
        for (int k = 0; k < 100; k++) {
          if (cg_read(frz, "freezer.state", st, sizeof st) > 0 && !strncmp(st, "FROZEN", 6)) break;
          sleep_ms(0.2);
        }
        n = cg_pids(c, pids, MAXPIDS);
      }
      for (int i = 0; i < n; i++) kill(pids[i], SIGKILL);
      if (frz >= 0) cg_write(frz, "freezer.state", "THAWED");
    }
    if (!wait_empty) return;      /* the caller still waits for its own child: do not reap it here */
    reap_all();
    if (cg_pids(c, pids, 1) == 0) return;
    sleep_ms(iter < 20 ? 0.5 : 5);
    reap_all();
  }
}

static void cg_stats(runcg_t *c, proc_t *p) {
  char b[1024];
  p->cg_cpu_ms = p->cg_peak_kb = p->cg_oom = p->cg_memhit = -1;
  if (!c->ok) return;
  long long ns = cg_cpu_ns(c);
  if (ns >= 0) p->cg_cpu_ms = ns / 1000000;
  char n[64];
  long long peak = fd_read(c->f[F_PEAK], n, sizeof n) > 0 ? atoll(n) : -1;
  if (peak >= 0) p->cg_peak_kb = peak >> 10;
  if (cg_mode == 1) {
    long long fail = fd_read(c->f[F_FAIL], n, sizeof n) > 0 ? atoll(n) : -1;
    long long mfail = fd_read(c->f[F_MFAIL], n, sizeof n) > 0 ? atoll(n) : -1;
    p->cg_memhit = (fail > 0 || mfail > 0) ? 1 : 0;
    if (fd_read(c->f[F_EVENTS], b, sizeof b) > 0) p->cg_oom = kv_get(b, "oom_kill");
  } else {
    if (fd_read(c->f[F_EVENTS], b, sizeof b) > 0) {
      long long mx = kv_get(b, "max"), oomk = kv_get(b, "oom_kill");
      p->cg_memhit = mx > 0 ? 1 : 0;
      p->cg_oom = oomk;
    }
  }
}

static void cg_destroy(runcg_t *c) {
  if (!c->name[0]) return;
  cg_close_fds(c);
  for (int i = 0; i < CG_N; i++) {
    if (cg_base[i] < 0) continue;
    if (unlinkat(cg_base[i], c->name, AT_REMOVEDIR) < 0 && errno == EBUSY) {
      runcg_t t; cg_init(&t); memcpy(t.name, c->name, sizeof t.name);
      for (int j = 0; j < CG_N; j++) if (cg_base[j] >= 0) t.dir[j] = openat(cg_base[j], t.name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      t.ok = 1; cg_kill(&t, 1); cg_close_fds(&t);
      unlinkat(cg_base[i], c->name, AT_REMOVEDIR);
    }
  }
  c->name[0] = 0; c->ok = 0;
}

static runcg_t spare; static int have_spare = 0;
static int cg_take(runcg_t *c) {
  if (have_spare) { *c = spare; have_spare = 0; return 0; }
  return cg_create(c);
}

/* ---------- command reading ---------- */
static char buf[1 << 16];
static size_t buf_len = 0, buf_pos = 0;

/* Reads one NUL-terminated token from stdin into *tok; returns 0 at EOF. */
static int read_token(char **tok, char *store, size_t *store_used, size_t store_cap) {
  size_t start = *store_used;
  for (;;) {
    if (buf_pos == buf_len) {
      ssize_t r = read(0, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return 0;
      buf_len = (size_t)r; buf_pos = 0;
    }
    char c = buf[buf_pos++];
    if (*store_used >= store_cap - 1) return 0;
    store[(*store_used)++] = c;
    if (c == 0) { *tok = store + start; return 1; }
  }
}

static int set_proc_key(proc_t *p, const char *k, char *v) {
  p->used = 1;
  if (!strcmp(k, "arg")) { if (p->argc >= MAXARGS) return -1; p->argv[p->argc++] = v; }
  else if (!strcmp(k, "env")) { if (p->envc >= MAXENV) return -1; p->envp[p->envc++] = v; }
  else if (!strcmp(k, "exe")) p->exe = v;
  else if (!strcmp(k, "stdin")) p->in = v;
  else if (!strcmp(k, "stdout")) p->out = v;
  else if (!strcmp(k, "stderr")) p->err = v;
  else if (!strncmp(k, "fd", 2) && k[2] >= '3' && k[2] <= '9' && !k[3]) { p->fd_path[k[2] - '0'] = v; p->fd_write[k[2] - '0'] = 0; }
  else if (!strncmp(k, "wfd", 3) && k[3] >= '3' && k[3] <= '9' && !k[4]) { p->fd_path[k[3] - '0'] = v; p->fd_write[k[3] - '0'] = 1; }
  else {
    char *end; long n = strtol(v, &end, 10);
    if (*v == 0 || *end) return -1;
    if (!strcmp(k, "uid")) p->uid = n;
    else if (!strcmp(k, "gid")) p->gid = n;
    else if (!strcmp(k, "cpu_ms")) p->cpu_ms = n;
    else if (!strcmp(k, "wall_ms")) p->wall_ms = n;
    else if (!strcmp(k, "mem_mb")) p->mem_mb = n;
    else if (!strcmp(k, "stack_mb")) p->stack_mb = n;
    else if (!strcmp(k, "fsize_mb")) p->fsize_mb = n;
    else if (!strcmp(k, "nproc")) p->nproc = n;
    else if (!strcmp(k, "nofile")) p->nofile = n;
    else return -1;
  }
  return 0;
}

static void proc_init(proc_t *p) {
  memset(p, 0, sizeof *p);
  p->uid = p->gid = -1; p->cpu_ms = 1000; p->wall_ms = 2000; p->mem_mb = 256; p->stack_mb = 64;
  p->fsize_mb = 64; p->nproc = 128; p->nofile = 256; p->pid = -1; p->errfd = -1;
  cg_init(&p->cg);
}

/* ---------- running ---------- */
/* Sets a resource limit; without privileges it cannot rise above the current hard limit, so it is clamped. */
static int set_limit(int res, rlim_t soft, rlim_t hard) {
  struct rlimit cur, rl = {soft, hard};
  if (geteuid() != 0 && getrlimit(res, &cur) == 0 && cur.rlim_max != RLIM_INFINITY) {
    if (rl.rlim_max > cur.rlim_max) rl.rlim_max = cur.rlim_max;
    if (rl.rlim_cur > rl.rlim_max) rl.rlim_cur = rl.rlim_max;
  }
  return setrlimit(res, &rl);
}

static int open_at_root(const char *path, int flags, long uid, long gid) {
  if (!path || !*path) return open("/dev/null", (flags & O_WRONLY ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
  int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd >= 0 && (flags & O_CREAT) && uid >= 0 && geteuid() == 0) (void)fchown(fd, (uid_t)uid, (gid_t)gid);
  return fd;
}

/* In the child: join the run's cgroup, wire fds, apply limits, drop privileges, filter syscalls, exec. */
static void child_exec(proc_t *p, int fd_in, int fd_out, int fd_err, int *extra, int exe_fd, int errpipe) {
  sigset_t none; sigemptyset(&none);
  signal(SIGPIPE, SIG_DFL);            /* fcbox installs no handler: the other dispositions are the defaults */
  sigprocmask(SIG_SETMASK, &none, NULL);
  setsid();
  for (int i = 0; i < CG_N; i++)
    if (p->cg.procs[i] >= 0 && write(p->cg.procs[i], "0", 1) < 0) goto fail;
  if (p->cg.ok && geteuid() == 0) (void)unshare(CLONE_NEWCGROUP);    /* the run's cgroup is its "/" */
  /* move every fd we need above NFD first, then into place */
  int hi[NFD + 3]; int want[NFD + 3]; int n = 0;
  want[n] = 0; hi[n++] = fd_in; want[n] = 1; hi[n++] = fd_out; want[n] = 2; hi[n++] = fd_err;
  for (int i = 3; i < NFD; i++) if (extra[i] >= 0) { want[n] = i; hi[n++] = extra[i]; }
  int base = 1000;
  for (int i = 0; i < n; i++) { if (dup3(hi[i], base + i, 0) < 0) goto fail; }
  int keep_exe = base + n, keep_err = base + n + 1;
  if (dup3(exe_fd, keep_exe, O_CLOEXEC) < 0 || dup3(errpipe, keep_err, O_CLOEXEC) < 0) goto fail;
  for (int i = 0; i < n; i++) if (dup2(base + i, want[i]) < 0) goto fail;
  errpipe = keep_err; exe_fd = keep_exe;
  {
    int used[NFD] = {0};
    for (int i = 0; i < n; i++) used[want[i]] = 1;
    for (int fd = 0; fd < NFD; fd++) if (!used[fd]) close(fd);
    if (syscall(SYS_close_range, (unsigned)NFD, (unsigned)(base + n - 1), 0) < 0)
      for (int fd = NFD; fd < base + n; fd++) close(fd);
    if (syscall(SYS_close_range, (unsigned)(base + n + 2), ~0U, 0) < 0)
      for (int fd = base + n + 2; fd < 4096; fd++) close(fd);
  }

  rlim_t cpu = (rlim_t)(p->cpu_ms / 1000 + 1), fs = ((rlim_t)p->fsize_mb << 20) + 1;
  rlim_t stack = (rlim_t)p->stack_mb << 20;
  if (!p->cg.ok && p->mem_mb > 0) {                     /* no cgroup: the old address-space limit */
    rlim_t mem = (rlim_t)p->mem_mb << 20;
    if (set_limit(RLIMIT_AS, mem, mem) < 0) goto fail;
    if (p->stack_mb <= 0 || stack > mem) stack = mem;
  }
  if (p->stack_mb > 0 || !p->cg.ok) { if (set_limit(RLIMIT_STACK, stack, stack) < 0) goto fail; }
  if (set_limit(RLIMIT_CPU, cpu, cpu + 1) < 0 || set_limit(RLIMIT_FSIZE, fs, fs) < 0 ||
      set_limit(RLIMIT_NPROC, (rlim_t)p->nproc, (rlim_t)p->nproc) < 0 ||
      set_limit(RLIMIT_NOFILE, (rlim_t)p->nofile, (rlim_t)p->nofile) < 0 || set_limit(RLIMIT_CORE, 0, 0) < 0 ||
      set_limit(RLIMIT_MEMLOCK, 0, 0) < 0 || set_limit(RLIMIT_MSGQUEUE, 0, 0) < 0) goto fail;
  if (chdir(p->workdir) < 0) goto fail;
  if (geteuid() == 0) {
    if (p->uid < 0 || p->uid == 0) { errno = EPERM; goto fail; }      /* never run a program as root */
    for (int c = 0; c <= CAP_LAST_CAP; c++) prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
    if (setgroups(0, NULL) < 0) goto fail;
    if (setresgid((gid_t)p->gid, (gid_t)p->gid, (gid_t)p->gid) < 0) goto fail;
    if (setresuid((uid_t)p->uid, (uid_t)p->uid, (uid_t)p->uid) < 0) goto fail;
  }
  if (getuid() == 0 || geteuid() == 0) { errno = EPERM; goto fail; }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) goto fail;
  prctl(PR_SET_PDEATHSIG, SIGKILL);   /* after the uid change, which clears it */
  if (install_filter() < 0) goto fail;
  p->envp[p->envc] = NULL; p->argv[p->argc] = NULL;
  fexecve(exe_fd, p->argv, p->envp);
fail: {
    int e = errno; if (write(errpipe, &e, sizeof e) < 0) {}
    _exit(127);
  }
}

typedef struct { proc_t *p; int in, out, err; int *extra; int exe, errpipe; } spawn_args;
static char child_stack[256 * 1024] __attribute__((aligned(64)));
static int spawn_child(void *arg) {
  spawn_args *a = arg;
  child_exec(a->p, a->in, a->out, a->err, a->extra, a->exe, a->errpipe);
  return 127;
}

static int spawn(proc_t *p, int pipe_in, int pipe_out) {
  int fd_in = pipe_in >= 0 ? pipe_in : open_at_root(p->in, O_RDONLY, -1, -1);
  int fd_out = pipe_out >= 0 ? pipe_out : open_at_root(p->out, O_WRONLY | O_CREAT | O_TRUNC, p->uid, p->gid);
  int fd_err = open_at_root(p->err, O_WRONLY | O_CREAT | O_TRUNC, p->uid, p->gid);
  int extra[NFD];
  for (int i = 0; i < NFD; i++) extra[i] = -1;
  for (int i = 3; i < NFD; i++) if (p->fd_path[i])
    extra[i] = open_at_root(p->fd_path[i], p->fd_write[i] ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY, p->uid, p->gid);
  const char *exe = p->exe ? p->exe : p->argv[0];
  int exe_fd = open(exe, O_RDONLY | O_CLOEXEC);
  int ep[2]; int ok = fd_in >= 0 && fd_out >= 0 && fd_err >= 0 && exe_fd >= 0 && pipe2(ep, O_CLOEXEC) == 0;
  for (int i = 3; i < NFD; i++) if (p->fd_path[i] && extra[i] < 0) ok = 0;
  if (!ok) {
    p->exec_errno = errno ? errno : EIO; p->reaped = 1; p->status = 127 << 8;
  } else {
    p->t0 = now(); p->deadline = p->t0 + p->wall_ms / 1000.0;
    /* vfork-like: the child borrows our memory until it execs (no page-table copy), we wait for that moment */
    spawn_args sa = {p, fd_in, fd_out, fd_err, extra, exe_fd, ep[1]};
    p->pid = clone(spawn_child, child_stack + sizeof child_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &sa);
    close(ep[1]);
    if (p->pid > 0) p->has_clk = clock_getcpuclockid(p->pid, &p->clk) == 0;
    if (p->pid < 0) { p->exec_errno = errno; p->reaped = 1; p->status = 127 << 8; close(ep[0]); }
    else p->errfd = ep[0];        /* read once the child is gone: no wake-up at exec time */
  }
  if (fd_in >= 0 && pipe_in < 0) close(fd_in);
  if (fd_out >= 0 && pipe_out < 0) close(fd_out);
  if (fd_err >= 0) close(fd_err);
  for (int i = 3; i < NFD; i++) if (extra[i] >= 0) close(extra[i]);
  if (exe_fd >= 0) close(exe_fd);
  return 0;
}

/* CPU seconds used so far by the run: its whole cgroup, else the main process (all its threads); -1 if unknown. */
static double cpu_used(proc_t *p) {
  if (p->cg.ok) {
    long long ns = cg_cpu_ns(&p->cg);
    if (ns >= 0) return ns / 1e9;
  }
  struct timespec c;
  if (!p->has_clk || clock_gettime(p->clk, &c) < 0) return -1;
  return c.tv_sec + c.tv_nsec / 1e9;
}

static void kill_run(proc_t *p) {
  if (p->cg.ok) cg_kill(&p->cg, 0);
  kill(-p->pid, SIGKILL); kill(p->pid, SIGKILL);
}

/* Waits for the started processes, killing each run at its CPU limit or at its wall deadline. The CPU clock is
 * only read when the limit could have been reached: a run cannot burn CPU faster than one second per second per
 * core, so the next look is due after the CPU time it has left divided by the cores. */
static void wait_all(proc_t **ps, int n) {
  sigset_t chld; sigemptyset(&chld); sigaddset(&chld, SIGCHLD);
  for (;;) {
    int pending = 0; double next = 1e18, t = now();
    for (int i = 0; i < n; i++) {
      proc_t *p = ps[i];
      if (p->reaped) continue;
      pid_t r = wait4(p->pid, &p->status, WNOHANG, &p->ru);
      if (r == p->pid) {
        p->reaped = 1; p->t1 = now();
        if (p->errfd >= 0) {      /* the exec failed: the child wrote its errno before exiting */
          int e = 0;
          if (read(p->errfd, &e, sizeof e) == (ssize_t)sizeof e) p->exec_errno = e;
          close(p->errfd); p->errfd = -1;
        }
        continue;
      }
      if (r < 0 && errno == ECHILD) {
        p->reaped = 1; p->t1 = now(); if (!p->status) p->status = SIGKILL;
        if (p->errfd >= 0) { close(p->errfd); p->errfd = -1; }
        continue;
      }
      pending = 1;
      if (p->walltle || p->cputle) continue;
      double limit = p->cpu_ms / 1000.0, used = cpu_used(p);
      if (used >= 0 && used > limit) { p->cputle = 1; kill_run(p); continue; }
      if (t >= p->deadline) { p->walltle = 1; kill_run(p); continue; }
      if (p->deadline < next) next = p->deadline;
      double par = p->cg.ok ? (double)ncpu : 1.0;
      if (used >= 0 && t + (limit - used) / par + 0.002 < next) next = t + (limit - used) / par + 0.002;
    }
    if (!pending) return;
    double wait_s = next - now();
    if (next > 1e17) wait_s = 0.05;   /* killed: poll until reaped */
    if (wait_s < 0) wait_s = 0;
    struct timespec ts = {(time_t)wait_s, (long)((wait_s - (time_t)wait_s) * 1e9)};
    sigtimedwait(&chld, NULL, &ts);
  }
}

/* Removes a directory tree without recursion or path-length limits, holding one directory fd at a time: go down to
 * a directory without subdirectories, empty it, go up through "..", remove it (found again by its inode). */
static void rm_tree(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) { unlink(path); return; }
  struct stat top; fstat(fd, &top);
  ino_t child = 0; long steps = 0;
  for (;;) {
    if (++steps > 50000000) break;
    int dfd = dup(fd);
    DIR *d = fdopendir(dfd);
    if (!d) { close(dfd); break; }
    struct dirent *e; char sub[NAME_MAX + 1]; sub[0] = 0;
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      if (child && e->d_ino == child) { unlinkat(fd, e->d_name, AT_REMOVEDIR); continue; }
      struct stat st;
      if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
      if (S_ISDIR(st.st_mode)) { if (!sub[0]) snprintf(sub, sizeof sub, "%s", e->d_name); }
      else unlinkat(fd, e->d_name, 0);
    }
    closedir(d);
    child = 0;
    if (sub[0]) {
      fchmodat(fd, sub, 0700, 0);
      int nfd = openat(fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (nfd < 0) { unlinkat(fd, sub, AT_REMOVEDIR); continue; }
      close(fd); fd = nfd; continue;
    }
    struct stat here; fstat(fd, &here);
    if (here.st_ino == top.st_ino && here.st_dev == top.st_dev) break;
    int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(fd);
    if (up < 0) { fd = -1; break; }
    fd = up; child = here.st_ino;
  }
  if (fd >= 0) close(fd);
  rmdir(path);
}

static void make_workdir(proc_t *p, const char *suffix) {
  snprintf(p->workdir, sizeof p->workdir, "%s/r%lu%s", box_dir, run_counter, suffix);
  rm_tree(p->workdir);                 /* a name already there (it cannot be): start empty anyway */
  if (mkdir(p->workdir, 0700) < 0) die("mkdir %s", p->workdir);
  if (geteuid() == 0 && p->uid >= 0) if (chown(p->workdir, (uid_t)p->uid, (gid_t)p->gid) < 0) die("chown");
}

static void drop_workdir(proc_t *p) { rm_tree(p->workdir); }

static void report(FILE *f, const char *pre, proc_t *p) {
  int st = p->status;
  long cpu = (p->ru.ru_utime.tv_sec + p->ru.ru_stime.tv_sec) * 1000L +
             (p->ru.ru_utime.tv_usec + p->ru.ru_stime.tv_usec) / 1000L;
  if (p->cg_cpu_ms >= 0 && p->cg_cpu_ms > cpu) cpu = p->cg_cpu_ms;
  long wall = p->t1 > p->t0 ? (long)((p->t1 - p->t0) * 1000.0 + 0.5) : 0;
  long mem = p->cg_peak_kb >= 0 ? p->cg_peak_kb : (long)p->ru.ru_maxrss;
  fprintf(f, "%sexit=%d %ssig=%d %scpu_ms=%ld %swall_ms=%ld %srss_kb=%ld %smem_kb=%ld %soom=%ld %smemhit=%ld %scg=%d "
             "%swalltle=%d %scputle=%d %serrno=%d ",
          pre, WIFEXITED(st) ? WEXITSTATUS(st) : -1, pre, WIFSIGNALED(st) ? WTERMSIG(st) : 0,
          pre, cpu, pre, wall, pre, (long)p->ru.ru_maxrss, pre, mem, pre, p->cg_oom > 0 ? p->cg_oom : 0,
          pre, p->cg_memhit > 0 ? 1L : 0L, pre, p->cg.ok, pre, p->walltle, pre, p->cputle, pre, p->exec_errno);
}

static void kill_leftovers(proc_t **ps, int n) {
  for (int i = 0; i < n; i++) if (ps[i]->cg.ok) cg_kill(&ps[i]->cg, 1);
  if (in_pidns) {
    for (;;) {
      kill(-1, SIGKILL);
      pid_t r = waitpid(-1, NULL, 0);
      if (r < 0 && errno == ECHILD) break;
    }
  } else {
    for (int i = 0; i < n; i++) if (ps[i]->pid > 0) kill(-ps[i]->pid, SIGKILL);
    reap_all();
  }
}

static void run_command(proc_t *a, proc_t *b, int use_pipe) {
  run_counter++;
  proc_t *ps[2] = {a, b}; int n = b->used ? 2 : 1;
  for (int i = 0; i < n; i++) {
    if (cg_take(&ps[i]->cg) < 0 || cg_limits(&ps[i]->cg, ps[i]->mem_mb, ps[i]->nproc) < 0) {
      int e = errno;
      for (int j = 0; j <= i; j++) cg_destroy(&ps[j]->cg);
      printf("error msg=cgroup-setup-failed errno=%d\n", e); fflush(stdout);
      return;
    }
  }
  make_workdir(a, "");
  if (n == 2) make_workdir(b, "b");
  if (use_pipe && n == 2) {
    int ab[2], ba[2];
    if (pipe2(ab, O_CLOEXEC) < 0 || pipe2(ba, O_CLOEXEC) < 0) die("pipe");
    spawn(b, ab[0], ba[1]);
    spawn(a, ba[0], ab[1]);
    close(ab[0]); close(ab[1]); close(ba[0]); close(ba[1]);
  } else {
    for (int i = 0; i < n; i++) spawn(ps[i], -1, -1);
  }
  wait_all(ps, n);
  kill_leftovers(ps, n);
  for (int i = 0; i < n; i++) { cg_stats(&ps[i]->cg, ps[i]); drop_workdir(ps[i]); }
  report(stdout, "a.", a);
  if (n == 2) report(stdout, "b.", b);
  fputc('\n', stdout); fflush(stdout);
  /* after the answer, while the judge reads it: drop this run's cgroups, prepare the next run's */
  for (int i = 0; i < n; i++) cg_destroy(&ps[i]->cg);
  if (cg_mode && !have_spare && cg_create(&spare) == 0) have_spare = 1;
}

static void session(void) {
  static char store[1 << 20];
  sigset_t chld; sigemptyset(&chld); sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  if (cg_mode && cg_create(&spare) == 0) have_spare = 1;
  else if (cg_mode) die("cannot create a cgroup");
  printf("ready level=%s euid=%d cgroup=%s\n", level, (int)geteuid(), cg_mode == 1 ? "v1" : cg_mode == 2 ? "v2" : "none");
  fflush(stdout);
  for (;;) {
    proc_t a, b; proc_init(&a); proc_init(&b);
    size_t used = 0; int bad = 0, use_pipe = 0, ntok = 0; char *tok;
    for (;;) {
      if (!read_token(&tok, store, &used, sizeof store)) goto out;   /* EOF: the judge is gone or done */
      if (!*tok) break;
      ntok++;
      char *eq = strchr(tok, '=');
      if (!eq) { bad = 1; continue; }
      *eq = 0; char *v = eq + 1;
      if (!strcmp(tok, "pipe")) use_pipe = atoi(v);
      else if (!strncmp(tok, "a.", 2)) { if (set_proc_key(&a, tok + 2, v)) bad = 1; }
      else if (!strncmp(tok, "b.", 2)) { if (set_proc_key(&b, tok + 2, v)) bad = 1; }
      else bad = 1;
    }
    if (bad || !ntok || a.argc == 0 || (b.used && b.argc == 0)) { printf("error msg=bad-command\n"); fflush(stdout); continue; }
    run_command(&a, &b, use_pipe);
  }
out:
  if (have_spare) cg_destroy(&spare);
}

/* ---------- fallback: build our own namespaces (no bubblewrap) ---------- */
#define MAXM 64
static char *mask_paths[MAXM]; static int n_mask = 0;
static char *bind_src[MAXM], *bind_dst[MAXM]; static int bind_ro[MAXM], n_bind = 0;
static char *dir_paths[MAXM]; static int dir_modes[MAXM], n_dir = 0;
static char *tmpfs_path = NULL; static long tmpfs_size = 0;
static int fresh_dev = 0;

static void mkdir_p(const char *path, mode_t mode) {
  char tmp[PATH_MAX]; snprintf(tmp, sizeof tmp, "%s", path);
  for (char *s = tmp + 1; *s; s++) if (*s == '/') { *s = 0; mkdir(tmp, 0755); *s = '/'; }
  mkdir(tmp, mode);
}

/* A minimal /dev like bubblewrap's: null, zero, full, random, urandom, and the fd links; no ptmx, pts, tty. */
static void setup_dev(void) {
  static const char *nodes[] = {"null", "zero", "full", "random", "urandom"};
  int fds[5];
  for (int i = 0; i < 5; i++) {
    char p[64]; snprintf(p, sizeof p, "/dev/%s", nodes[i]);
    if ((fds[i] = open(p, O_PATH | O_CLOEXEC)) < 0) die("open %s", p);
  }
  if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0) die("mount /dev");
  for (int i = 0; i < 5; i++) {
    char p[64], src[64]; snprintf(p, sizeof p, "/dev/%s", nodes[i]); snprintf(src, sizeof src, "/proc/self/fd/%d", fds[i]);
    int f = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0666); if (f >= 0) close(f);
    if (mount(src, p, NULL, MS_BIND, NULL) < 0) die("bind %s", p);
    close(fds[i]);
  }
  if (symlink("/proc/self/fd", "/dev/fd") < 0 || symlink("/proc/self/fd/0", "/dev/stdin") < 0 ||
      symlink("/proc/self/fd/1", "/dev/stdout") < 0 || symlink("/proc/self/fd/2", "/dev/stderr") < 0) die("dev links");
  mkdir("/dev/shm", 0755);
}

static void setup_mounts(void) {
  int fds[MAXM];
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("make / private");
  for (int i = 0; i < n_bind; i++) if ((fds[i] = open(bind_src[i], O_PATH | O_CLOEXEC)) < 0) die("open %s", bind_src[i]);
  for (int i = 0; i < n_mask; i++) {
    struct stat st;
    if (lstat(mask_paths[i], &st) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (mount("tmpfs", mask_paths[i], "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0) die("mask %s", mask_paths[i]);
    } else if (S_ISREG(st.st_mode)) {
      if (mount("/dev/null", mask_paths[i], NULL, MS_BIND, NULL) < 0) die("mask %s", mask_paths[i]);
    }
  }
  if (fresh_dev) setup_dev();
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0 &&
      mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die("mount proc");
  if (tmpfs_path) {
    char opts[64]; snprintf(opts, sizeof opts, "mode=0711,size=%ld", tmpfs_size);
    mkdir_p(tmpfs_path, 0755);
    if (mount("tmpfs", tmpfs_path, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) die("tmpfs %s", tmpfs_path);
  }
  for (int i = 0; i < n_dir; i++) { mkdir_p(dir_paths[i], (mode_t)dir_modes[i]); chmod(dir_paths[i], (mode_t)dir_modes[i]); }
  for (int i = 0; i < n_bind; i++) {
    struct stat st; char src[64];
    if (fstat(fds[i], &st) < 0) die("stat %s", bind_src[i]);
    if (S_ISDIR(st.st_mode)) mkdir_p(bind_dst[i], 0755);
    else {
      char parent[PATH_MAX]; snprintf(parent, sizeof parent, "%s", bind_dst[i]);
      char *slash = strrchr(parent, '/'); if (slash && slash != parent) { *slash = 0; mkdir_p(parent, 0755); }
      int f = open(bind_dst[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644); if (f >= 0) close(f);
    }
    snprintf(src, sizeof src, "/proc/self/fd/%d", fds[i]);
    if (mount(src, bind_dst[i], NULL, MS_BIND | MS_REC, NULL) < 0) die("bind %s", bind_dst[i]);
    unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (bind_ro[i] ? MS_RDONLY : 0);
    if (mount(NULL, bind_dst[i], NULL, fl, NULL) < 0) die("remount %s", bind_dst[i]);
    close(fds[i]);
  }
  for (int i = 0; i < n_mask; i++) {
    struct stat st;
    if (lstat(mask_paths[i], &st) == 0 && S_ISDIR(st.st_mode))
      mount(NULL, mask_paths[i], NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_RDONLY, "mode=0755,size=1m");
  }
}

static int unshare_and_fork(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (geteuid() != 0 || unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID) < 0) return 0;
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid > 0) {   /* outer: wait for the namespace's init, pass on its status */
    int st; while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  setup_mounts();
  return 1;
}

static int parse_fd(const char *s) {
  char *end; long v = strtol(s, &end, 10);
  if (end == s || v < 0 || v > 1 << 20) return -1;
  if (fcntl((int)v, F_SETFD, FD_CLOEXEC) < 0) return -1;
  return (int)v;
}

int main(int argc, char **argv) {
  int do_unshare = 0;
  for (int i = 1; i < argc; i++) {
    char *o = argv[i];
    int more = argc - i - 1;
    if (!strcmp(o, "--box") && more >= 1) box_dir = argv[++i];
    else if (!strcmp(o, "--level") && more >= 1) level = argv[++i];
    else if (!strcmp(o, "--pidns")) in_pidns = 1;
    else if (!strcmp(o, "--unshare")) do_unshare = 1;
    else if (!strcmp(o, "--hidepid")) hidepid = 1;
    else if (!strcmp(o, "--dev")) fresh_dev = 1;
    else if (!strcmp(o, "--cgroup1") && more >= 1) {
      char *s = argv[++i];
      for (int k = 0; k < CG_N; k++) {
        char *comma = strchr(s, ',');
        if (comma) *comma = 0;
        cg_base[k] = strcmp(s, "-1") ? parse_fd(s) : -1;
        if (!comma) break;
        s = comma + 1;
      }
      if (cg_base[CG_MEM] < 0 || cg_base[CG_CPU] < 0) { fprintf(stderr, "fcbox: --cgroup1 needs memory and cpuacct\n"); return 2; }
      cg_mode = 1;
    }
    else if (!strcmp(o, "--cgroup2") && more >= 1) {
      if ((cg_base[0] = parse_fd(argv[++i])) < 0) { fprintf(stderr, "fcbox: bad --cgroup2 fd\n"); return 2; }
      cg_mode = 2;
    }
    else if (!strcmp(o, "--mask") && more >= 1 && n_mask < MAXM) mask_paths[n_mask++] = argv[++i];
    else if ((!strcmp(o, "--bind") || !strcmp(o, "--ro-bind")) && more >= 2 && n_bind < MAXM) {
      bind_ro[n_bind] = o[2] == 'r'; bind_src[n_bind] = argv[++i]; bind_dst[n_bind++] = argv[++i];
    }
    else if (!strcmp(o, "--dir") && more >= 2 && n_dir < MAXM) { dir_modes[n_dir] = (int)strtol(argv[i + 2], NULL, 8); dir_paths[n_dir++] = argv[++i]; i++; }
    else if (!strcmp(o, "--tmpfs") && more >= 2) { tmpfs_path = argv[++i]; tmpfs_size = atol(argv[++i]); }
    else { fprintf(stderr, "fcbox: bad argument %s\n", o); return 2; }
  }
  signal(SIGPIPE, SIG_DFL);
  ncpu = sysconf(_SC_NPROCESSORS_ONLN); if (ncpu < 1) ncpu = 1;
  build_filter();
#ifndef FC_ARCH
  fprintf(stderr, "fcbox: no seccomp filter for this architecture\n"); return 2;
#endif
  if (do_unshare) {
    if (!unshare_and_fork()) die("cannot create namespaces (needs root with CAP_SYS_ADMIN)");
    level = "namespaces"; in_pidns = 1;
  } else if (hidepid) {
    /* /proc of this pid namespace: programs (other uids) see only their own processes, not pid 1's command line */
    if (mount(NULL, "/proc", NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0 &&
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0) die("remount /proc with hidepid");
    /* no terminals: a pty master (/dev/ptmx, /dev/pts) blocks a reader forever, e.g. `#include </dev/ptmx>` */
    umount2("/dev/pts", MNT_DETACH);
    unlink("/dev/ptmx"); unlink("/dev/tty"); unlink("/dev/console");
  }
  if (geteuid() == 0) chmod(box_dir, 0711);     /* the runs' dirs cannot be listed */
  session();
  return 0;
}
