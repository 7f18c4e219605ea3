// The program that holds a precompiled header (cmake/precompile_headers.cmake).
int main() { return 0; }
