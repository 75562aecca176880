import sys

n = int(sys.stdin.readline())
lo, hi = 1, n
while lo < hi:
    mid = (lo + hi) // 2
    print("?", mid, flush=True)
    r = sys.stdin.readline().strip()
    if r == "=":
        lo = hi = mid
    elif r == "<":
        lo = mid + 1
    else:
        hi = mid - 1
print("!", lo, flush=True)
