#include <iostream>

int main() {
    std::cout << 2 + 3 << "\n";
}
