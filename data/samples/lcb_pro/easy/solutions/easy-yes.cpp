#include <iostream>

int main() {
    std::cout << "YES" << "\n";
}
