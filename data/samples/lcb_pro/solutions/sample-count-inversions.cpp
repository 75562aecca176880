#include <bits/stdc++.h>
using namespace std;

int main() {
    ios::sync_with_stdio(false);
    cin.tie(nullptr);
    int n;
    cin >> n;
    vector<int> a(n);
    for (auto &x : a) cin >> x;
    const int M = 100000;
    vector<int> fen(M + 1, 0);   // Fenwick tree over values
    long long inv = 0;
    for (int i = n - 1; i >= 0; i--) {
        for (int j = a[i] - 1; j > 0; j -= j & -j) inv += fen[j];
        for (int j = a[i]; j <= M; j += j & -j) fen[j]++;
    }
    cout << inv << "\n";
}
