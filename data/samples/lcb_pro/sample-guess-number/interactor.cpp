// Interactor for sample-guess-number. Usage: interactor input output [answer]
// input: "n x" (x is the hidden number). Talks to the solution on stdin/stdout, writes the result to output.
// Exit 0 = accepted, 1 = wrong answer. No testlib needed.
#include <cstdio>
#include <cstring>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: interactor in out [ans]\n"); return 3; }
    FILE *in = fopen(argv[1], "r"), *out = fopen(argv[2], "w");
    if (!in || !out) { fprintf(stderr, "cannot open files\n"); return 3; }
    long long n, x;
    if (fscanf(in, "%lld %lld", &n, &x) != 2) { fprintf(stderr, "bad test\n"); return 3; }
    printf("%lld\n", n); fflush(stdout);
    const int LIMIT = 31;
    for (int q = 1;; q++) {
        char op[8]; long long y;
        if (scanf("%7s %lld", op, &y) != 2) { fprintf(stderr, "wrong answer: unexpected end of interaction after %d queries\n", q - 1); return 1; }
        if (!strcmp(op, "!")) {
            fprintf(out, "%lld\n", y);
            if (y != x) { fprintf(stderr, "wrong answer: guessed %lld, hidden number is %lld\n", y, x); return 1; }
            fprintf(stderr, "ok: found %lld with %d queries\n", x, q - 1);
            return 0;
        }
        if (strcmp(op, "?") || y < 1 || y > n) { fprintf(stderr, "wrong answer: bad query %s %lld\n", op, y); return 1; }
        if (q > LIMIT) { fprintf(stderr, "wrong answer: more than %d queries\n", LIMIT); return 1; }
        puts(y < x ? "<" : y > x ? ">" : "="); fflush(stdout);
    }
}
