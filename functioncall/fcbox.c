/* fcbox: the sandbox-side helper of functioncall.
 *
 * It runs inside the sandbox (under bubblewrap, or after building its own namespaces with --unshare) as a
 * small session server: the judge writes a command on stdin (NUL-separated "key=value" tokens ended by an
 * empty token), fcbox starts one program (or a solution and an interactor wired by pipes) with rlimits,
 * an unprivileged uid, a fresh work dir and a wall-clock limit, kills every process the run left behind,
 * and answers with one line of "key=value" measurements on stdout.
 *
 * Keys of a process (prefix "a." for the program, "b." for the interactor):
 *   arg=S (repeated, argv; argv[0] is also the file executed unless exe= is given), exe=PATH, env=K=V (repeated),
 *   stdin=PATH stdout=PATH stderr=PATH (opened by fcbox before dropping privileges; empty = /dev/null),
 *   fdN=PATH (N in 3..9, opened read-only as fd N), wfdN=PATH (created for writing, owned by uid),
 *   uid=N gid=N (only applied when fcbox is root), cpu_ms wall_ms mem_mb fsize_mb nproc nofile.
 * Global keys: pipe=1 (a.stdout -> b.stdin, b.stdout -> a.stdin).
 * Answer: "a.exit=C a.sig=S a.cpu_ms=T a.wall_ms=W a.rss_kb=R a.walltle=0|1 a.cputle=0|1 a.errno=E [b.…]\n"
 * or "error msg=...\n" for a malformed command.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#define MAXTOK 1024
#define MAXARGS 256
#define MAXENV 64
#define NFD 10

typedef struct {
  char *argv[MAXARGS + 1]; int argc;
  char *envp[MAXENV + 1]; int envc;
  char *exe, *in, *out, *err;
  char *fd_path[NFD]; int fd_write[NFD];
  long uid, gid, cpu_ms, wall_ms, mem_mb, fsize_mb, nproc, nofile;
  int used;
  /* results */
  pid_t pid; int status, reaped, walltle, cputle, exec_errno; clockid_t clk; int has_clk;
  struct rusage ru; double t0, t1, deadline;
  char workdir[PATH_MAX];
} proc_t;

static char *box_dir = "/box";
static const char *level = "none";
static int in_pidns = 0;
static unsigned long run_counter = 0;

static double now(void) {
  struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) {
  va_list ap; va_start(ap, fmt);
  fprintf(stderr, "fcbox: "); vfprintf(stderr, fmt, ap); fprintf(stderr, ": %s\n", strerror(errno));
  va_end(ap); _exit(120);
}

/* ---------- command reading ---------- */
static char buf[1 << 20];
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
    else if (!strcmp(k, "fsize_mb")) p->fsize_mb = n;
    else if (!strcmp(k, "nproc")) p->nproc = n;
    else if (!strcmp(k, "nofile")) p->nofile = n;
    else return -1;
  }
  return 0;
}

static void proc_init(proc_t *p) {
  memset(p, 0, sizeof *p);
  p->uid = p->gid = -1; p->cpu_ms = 1000; p->wall_ms = 2000; p->mem_mb = 256;
  p->fsize_mb = 64; p->nproc = 128; p->nofile = 256; p->pid = -1;
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
  if (!path || !*path) return open("/dev/null", flags & O_WRONLY ? O_WRONLY : O_RDONLY);
  int fd = open(path, flags | O_CLOEXEC, 0644);
  if (fd >= 0 && (flags & O_CREAT) && uid >= 0 && geteuid() == 0) (void)fchown(fd, (uid_t)uid, (gid_t)gid);
  return fd;
}

/* In the child: wire fds, apply limits, drop privileges, exec. Never returns. */
static void child_exec(proc_t *p, int fd_in, int fd_out, int fd_err, int *extra, int exe_fd, int errpipe) {
  sigset_t none; sigemptyset(&none);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  setsid();
  /* move every fd we need above NFD first, then into place */
  int hi[NFD + 3]; int want[NFD + 3]; int n = 0;
  want[n] = 0; hi[n++] = fd_in; want[n] = 1; hi[n++] = fd_out; want[n] = 2; hi[n++] = fd_err;
  for (int i = 3; i < NFD; i++) if (extra[i] >= 0) { want[n] = i; hi[n++] = extra[i]; }
  int base = 64;
  for (int i = 0; i < n; i++) { if (dup3(hi[i], base + i, 0) < 0) goto fail; }
  int keep_exe = base + n, keep_err = base + n + 1;
  if (dup3(exe_fd, keep_exe, O_CLOEXEC) < 0 || dup3(errpipe, keep_err, O_CLOEXEC) < 0) goto fail;
  for (int i = 0; i < n; i++) if (dup2(base + i, want[i]) < 0) goto fail;
  for (int fd = 0; fd < base + n + 2 + 16; fd++) {
    int wanted = 0;
    for (int i = 0; i < n; i++) if (want[i] == fd) wanted = 1;
    if (!wanted && fd != keep_exe && fd != keep_err) close(fd);
  }
  if (syscall(SYS_close_range, (unsigned)(base + n + 2), ~0U, 0) < 0)
    for (int fd = base + n + 2; fd < 4096; fd++) close(fd);
  errpipe = keep_err; exe_fd = keep_exe;

  rlim_t mem = (rlim_t)p->mem_mb << 20, cpu = (rlim_t)(p->cpu_ms / 1000 + 1), fs = ((rlim_t)p->fsize_mb << 20) + 1;
  if (p->mem_mb > 0 && (set_limit(RLIMIT_AS, mem, mem) < 0 || set_limit(RLIMIT_STACK, mem, mem) < 0)) goto fail;
  if (set_limit(RLIMIT_CPU, cpu, cpu + 1) < 0 || set_limit(RLIMIT_FSIZE, fs, fs) < 0 ||
      set_limit(RLIMIT_NPROC, (rlim_t)p->nproc, (rlim_t)p->nproc) < 0 ||
      set_limit(RLIMIT_NOFILE, (rlim_t)p->nofile, (rlim_t)p->nofile) < 0 || set_limit(RLIMIT_CORE, 0, 0) < 0 ||
      set_limit(RLIMIT_MEMLOCK, 0, 0) < 0 || set_limit(RLIMIT_MSGQUEUE, 0, 0) < 0) goto fail;
  if (chdir(p->workdir) < 0) goto fail;
  if (geteuid() == 0 && p->uid >= 0) {
    for (int c = 0; c <= CAP_LAST_CAP; c++) prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
    if (setgroups(0, NULL) < 0) goto fail;
    if (setresgid((gid_t)p->gid, (gid_t)p->gid, (gid_t)p->gid) < 0) goto fail;
    if (setresuid((uid_t)p->uid, (uid_t)p->uid, (uid_t)p->uid) < 0) goto fail;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) goto fail;
  prctl(PR_SET_PDEATHSIG, SIGKILL);   /* after the uid change, which clears it */
  p->envp[p->envc] = NULL; p->argv[p->argc] = NULL;
  fexecve(exe_fd, p->argv, p->envp);
fail: {
    int e = errno; if (write(errpipe, &e, sizeof e) < 0) {}
    _exit(127);
  }
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
    p->pid = fork();
    if (p->pid == 0) { close(ep[0]); child_exec(p, fd_in, fd_out, fd_err, extra, exe_fd, ep[1]); }
    close(ep[1]);
    if (p->pid > 0) p->has_clk = clock_getcpuclockid(p->pid, &p->clk) == 0;
    if (p->pid < 0) { p->exec_errno = errno; p->reaped = 1; p->status = 127 << 8; }
    else {
      int e = 0; ssize_t r;
      do r = read(ep[0], &e, sizeof e); while (r < 0 && errno == EINTR);
      if (r == sizeof e) p->exec_errno = e;
    }
    close(ep[0]);
  }
  if (fd_in >= 0 && pipe_in < 0) close(fd_in);
  if (fd_out >= 0 && pipe_out < 0) close(fd_out);
  if (fd_err >= 0) close(fd_err);
  for (int i = 3; i < NFD; i++) if (extra[i] >= 0) close(extra[i]);
  if (exe_fd >= 0) close(exe_fd);
  return 0;
}

/* CPU seconds used so far by a running process (all its threads), or -1. */
static double cpu_used(proc_t *p) {
  struct timespec c;
  if (!p->has_clk || clock_gettime(p->clk, &c) < 0) return -1;
  return c.tv_sec + c.tv_nsec / 1e9;
}

/* Waits for the started processes, killing each at its CPU limit or at its wall deadline. The CPU clock is only
 * read when the limit could have been reached: a process cannot burn CPU faster than one second per second per
 * thread, so the next look is due after the CPU time it has left. */
static void wait_all(proc_t **ps, int n) {
  sigset_t chld; sigemptyset(&chld); sigaddset(&chld, SIGCHLD);
  for (;;) {
    int pending = 0; double next = 1e18, t = now();
    for (int i = 0; i < n; i++) {
      proc_t *p = ps[i];
      if (p->reaped) continue;
      pid_t r = wait4(p->pid, &p->status, WNOHANG, &p->ru);
      if (r == p->pid) { p->reaped = 1; p->t1 = now(); continue; }
      pending = 1;
      if (p->walltle || p->cputle) continue;
      double limit = p->cpu_ms / 1000.0, used = cpu_used(p);
      if (used >= 0 && used > limit) { p->cputle = 1; kill(-p->pid, SIGKILL); kill(p->pid, SIGKILL); continue; }
      if (t >= p->deadline) { p->walltle = 1; kill(-p->pid, SIGKILL); kill(p->pid, SIGKILL); continue; }
      if (p->deadline < next) next = p->deadline;
      if (used >= 0 && t + (limit - used) + 0.002 < next) next = t + (limit - used) + 0.002;
    }
    if (!pending) return;
    double wait_s = next - now();
    if (next > 1e17) wait_s = 0.05;   /* killed: poll until reaped */
    if (wait_s < 0) wait_s = 0;
    struct timespec ts = {(time_t)wait_s, (long)((wait_s - (time_t)wait_s) * 1e9)};
    sigtimedwait(&chld, NULL, &ts);
  }
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb; (void)flag; (void)ftw; remove(path); return 0;
}

/* Kills every process left in the sandbox and reaps it. */
static void kill_leftovers(proc_t **ps, int n) {
  if (in_pidns) {
    for (;;) {
      kill(-1, SIGKILL);
      pid_t r = waitpid(-1, NULL, 0);
      if (r < 0 && errno == ECHILD) break;
    }
  } else {
    for (int i = 0; i < n; i++) if (ps[i]->pid > 0) kill(-ps[i]->pid, SIGKILL);
    while (waitpid(-1, NULL, WNOHANG) > 0) {}
  }
}

static void make_workdir(proc_t *p, const char *suffix) {
  snprintf(p->workdir, sizeof p->workdir, "%s/r%lu%s", box_dir, run_counter, suffix);
  if (mkdir(p->workdir, 0700) < 0 && errno != EEXIST) die("mkdir %s", p->workdir);
  if (geteuid() == 0 && p->uid >= 0) if (chown(p->workdir, (uid_t)p->uid, (gid_t)p->gid) < 0) die("chown");
}

static void report(FILE *f, const char *pre, proc_t *p) {
  int st = p->status;
  long cpu = (p->ru.ru_utime.tv_sec + p->ru.ru_stime.tv_sec) * 1000L +
             (p->ru.ru_utime.tv_usec + p->ru.ru_stime.tv_usec) / 1000L;
  long wall = p->t1 > p->t0 ? (long)((p->t1 - p->t0) * 1000.0 + 0.5) : 0;
  fprintf(f, "%sexit=%d %ssig=%d %scpu_ms=%ld %swall_ms=%ld %srss_kb=%ld %swalltle=%d %scputle=%d %serrno=%d ",
          pre, WIFEXITED(st) ? WEXITSTATUS(st) : -1, pre, WIFSIGNALED(st) ? WTERMSIG(st) : 0,
          pre, cpu, pre, wall, pre, (long)p->ru.ru_maxrss, pre, p->walltle, pre, p->cputle, pre, p->exec_errno);
}

static void run_command(proc_t *a, proc_t *b, int use_pipe) {
  run_counter++;
  make_workdir(a, "");
  if (b->used) make_workdir(b, "b");
  proc_t *ps[2] = {a, b}; int n = b->used ? 2 : 1;
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
  nftw(a->workdir, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (n == 2) nftw(b->workdir, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  report(stdout, "a.", a);
  if (n == 2) report(stdout, "b.", b);
  fputc('\n', stdout); fflush(stdout);
}

static void session(void) {
  static char store[1 << 20];
  sigset_t chld; sigemptyset(&chld); sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  printf("ready level=%s euid=%d\n", level, (int)geteuid()); fflush(stdout);
  for (;;) {
    proc_t a, b; proc_init(&a); proc_init(&b);
    size_t used = 0; int bad = 0, use_pipe = 0, ntok = 0; char *tok;
    for (;;) {
      if (!read_token(&tok, store, &used, sizeof store)) return;   /* EOF: the judge is gone or done */
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
}

/* ---------- fallback: build our own namespaces (no bubblewrap) ---------- */
#define MAXM 64
static char *mask_paths[MAXM]; static int n_mask = 0;
static char *bind_src[MAXM], *bind_dst[MAXM]; static int bind_ro[MAXM], n_bind = 0;
static char *dir_paths[MAXM]; static int dir_modes[MAXM], n_dir = 0;
static char *tmpfs_path = NULL; static long tmpfs_size = 0;

static void mkdir_p(const char *path, mode_t mode) {
  char tmp[PATH_MAX]; snprintf(tmp, sizeof tmp, "%s", path);
  for (char *s = tmp + 1; *s; s++) if (*s == '/') { *s = 0; mkdir(tmp, 0755); *s = '/'; }
  mkdir(tmp, mode);
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
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die("mount proc");
  if (tmpfs_path) {
    char opts[64]; snprintf(opts, sizeof opts, "mode=0755,size=%ld", tmpfs_size);
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

int main(int argc, char **argv) {
  int do_unshare = 0;
  for (int i = 1; i < argc; i++) {
    char *o = argv[i];
    int more = argc - i - 1;
    if (!strcmp(o, "--box") && more >= 1) box_dir = argv[++i];
    else if (!strcmp(o, "--level") && more >= 1) level = argv[++i];
    else if (!strcmp(o, "--pidns")) in_pidns = 1;
    else if (!strcmp(o, "--unshare")) do_unshare = 1;
    else if (!strcmp(o, "--mask") && more >= 1 && n_mask < MAXM) mask_paths[n_mask++] = argv[++i];
    else if ((!strcmp(o, "--bind") || !strcmp(o, "--ro-bind")) && more >= 2 && n_bind < MAXM) {
      bind_ro[n_bind] = o[2] == 'r'; bind_src[n_bind] = argv[++i]; bind_dst[n_bind++] = argv[++i];
    }
    else if (!strcmp(o, "--dir") && more >= 2 && n_dir < MAXM) { dir_modes[n_dir] = (int)strtol(argv[i + 2], NULL, 8); dir_paths[n_dir++] = argv[++i]; i++; }
    else if (!strcmp(o, "--tmpfs") && more >= 2) { tmpfs_path = argv[++i]; tmpfs_size = atol(argv[++i]); }
    else { fprintf(stderr, "fcbox: bad argument %s\n", o); return 2; }
  }
  signal(SIGPIPE, SIG_DFL);
  if (do_unshare) {
    if (!unshare_and_fork()) die("cannot create namespaces (needs root with CAP_SYS_ADMIN)");
    level = "namespaces"; in_pidns = 1;
  }
  session();
  return 0;
}
