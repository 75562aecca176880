// Checker for sample-proper-divisor: accepts any proper divisor (not only the one in the answer file).
// Usage: chk input output answer; exit 0 = accepted, 1 = wrong answer. No testlib needed.
#include <cstdio>
#include <cstdlib>
#include <cstring>

static int verdict(int code, const char *msg, long long x) {
    fprintf(stderr, msg, x);
    fprintf(stderr, "\n");
    return code;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: chk in out ans\n"); return 3; }
    FILE *in = fopen(argv[1], "r"), *out = fopen(argv[2], "r"), *ans = fopen(argv[3], "r");
    if (!in || !out || !ans) { fprintf(stderr, "cannot open files\n"); return 3; }
    long long n, expected, got;
    if (fscanf(in, "%lld", &n) != 1 || fscanf(ans, "%lld", &expected) != 1) { fprintf(stderr, "bad test\n"); return 3; }
    char tok[64];
    if (fscanf(out, "%63s", tok) != 1) { fprintf(stderr, "wrong answer: empty output\n"); return 1; }
    char *end; got = strtoll(tok, &end, 10);
    if (*end) { fprintf(stderr, "wrong answer: not an integer: %s\n", tok); return 1; }
    if (fscanf(out, "%63s", tok) == 1) { fprintf(stderr, "wrong answer: extra output after the answer\n"); return 1; }
    if (expected == -1) {
        if (got == -1) return verdict(0, "ok: %lld is prime", n);
        return verdict(1, "wrong answer: n is prime, expected -1, got %lld", got);
    }
    if (got == -1) return verdict(1, "wrong answer: printed -1 but %lld has a proper divisor", n);
    if (got <= 1 || got >= n || n % got != 0) return verdict(1, "wrong answer: %lld is not a proper divisor of n", got);
    return verdict(0, "ok: %lld divides n", got);
}
